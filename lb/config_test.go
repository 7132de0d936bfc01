package lb

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// baseConfig has group web (two servers) and health check hc1.
func baseConfig(t *testing.T) *Config {
	t.Helper()
	c := &Config{}
	if err := groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2")(c); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateHealthCheck(NewHealthCheck("hc1", HCTCP)); err != nil {
		t.Fatal(err)
	}
	return c
}

func rule(name string, mod func(*Rule)) Rule {
	r := NewRule(name)
	r.VIP, r.Topology, r.ServerGroup, r.Ports = addr("198.18.9.1"), HalfNAT, "web", PortRange{Min: 80}
	if mod != nil {
		mod(&r)
	}
	return r
}

func createRule(name string, mod func(*Rule)) func(*Config) error {
	return func(c *Config) error { return c.CreateRule(rule(name, mod)) }
}

func TestConfigChanges(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config) error
		kind   error  // nil: accepted
		field  string // expected Error.Field
	}{
		{"plain rule", createRule("r1", nil), nil, ""},
		{"rule name of 19", createRule(strings.Repeat("a", 19), nil), nil, ""},
		{"rule name of 20", createRule(strings.Repeat("a", 20), nil), ErrWrongValue, "name"},
		{"rule name with space", createRule("a b", nil), ErrWrongValue, "name"},
		{"group name of 14", func(c *Config) error { return c.CreateGroup(strings.Repeat("g", 14)) }, nil, ""},
		{"group name of 15", func(c *Config) error { return c.CreateGroup(strings.Repeat("g", 15)) }, ErrWrongValue, "name"},
		{"group names are case-sensitive", func(c *Config) error { return c.CreateGroup("WEB") }, nil, ""},
		{"duplicate group", func(c *Config) error { return c.CreateGroup("web") }, ErrExists, ""},
		{"hc name of 20", func(c *Config) error { return c.CreateHealthCheck(NewHealthCheck(strings.Repeat("h", 20), HCPing)) }, ErrWrongValue, "name"},
		{"hc names ignore case", func(c *Config) error { return c.CreateHealthCheck(NewHealthCheck("HC1", HCPing)) }, ErrExists, ""},
		{"rule names ignore case", func(c *Config) error {
			if err := createRule("Web", nil)(c); err != nil {
				return err
			}
			return createRule("WEB", func(r *Rule) { r.Ports.Min = 81 })(c)
		}, ErrExists, ""},
		{"unknown server group", createRule("r1", func(r *Rule) { r.ServerGroup = "nope" }), ErrNotFound, "servergroup"},
		{"unknown health check", createRule("r1", func(r *Rule) { r.HCName = "nope" }), ErrNotFound, "hc-name"},
		{"health check name ignores case", createRule("r1", func(r *Rule) { r.HCName = "HC1" }), nil, ""},
		{"topology missing", createRule("r1", func(r *Rule) { r.Topology = 0 }), ErrWrongValue, "type"},
		{"same VIP other port", func(c *Config) error {
			createRule("r1", nil)(c)
			return createRule("r2", func(r *Rule) { r.Ports.Min = 81 })(c)
		}, nil, ""},
		{"same VIP same port other protocol", func(c *Config) error {
			createRule("r1", nil)(c)
			return createRule("r2", func(r *Rule) { r.Protocol = UDP })(c)
		}, nil, ""},
		{"duplicate VIP and port", func(c *Config) error {
			createRule("r1", nil)(c)
			return createRule("r2", nil)(c)
		}, ErrInconsistent, ""},
		{"overlapping port range", func(c *Config) error {
			createRule("r1", func(r *Rule) { r.Ports = PortRange{Min: 70, Max: 90} })(c)
			return createRule("r2", func(r *Rule) { r.Ports = PortRange{Min: 90, Max: 95} })(c)
		}, ErrInconsistent, ""},
		{"all ports overlaps one port", func(c *Config) error {
			createRule("r1", nil)(c)
			return createRule("r2", func(r *Rule) { r.Ports = PortRange{} })(c)
		}, ErrInconsistent, ""},
		{"port range backwards", createRule("r1", func(r *Rule) { r.Ports = PortRange{Min: 90, Max: 80} }), ErrWrongValue, "port"},
		{"proxy-src of 10", createRule("r1", func(r *Rule) {
			r.Topology, r.ProxySrc = NAT, AddrRange{First: addr("198.18.8.1"), Last: addr("198.18.8.10")}
		}), nil, ""},
		{"proxy-src of 11", createRule("r1", func(r *Rule) {
			r.Topology, r.ProxySrc = NAT, AddrRange{First: addr("198.18.8.1"), Last: addr("198.18.8.11")}
		}), ErrInconsistent, "proxy-src"},
		{"NAT without proxy-src", createRule("r1", func(r *Rule) { r.Topology = NAT }), ErrInconsistent, "proxy-src"},
		{"proxy-src on half-NAT", createRule("r1", func(r *Rule) { r.ProxySrc = AddrRange{First: addr("198.18.8.1")} }), ErrInconsistent, "proxy-src"},
		{"proxy-src of other family", createRule("r1", func(r *Rule) {
			r.Topology, r.ProxySrc = NAT, AddrRange{First: addr("2001:db8::1")}
		}), ErrInconsistent, "proxy-src"},
		{"pmask without persistence", createRule("r1", func(r *Rule) { r.PersistMask = 24 }), ErrInconsistent, "pmask"},
		{"pmask with persistence", createRule("r1", func(r *Rule) { r.Persist, r.PersistMask = true, 24 }), nil, ""},
		{"pmask too long", createRule("r1", func(r *Rule) { r.Persist, r.PersistMask = true, 33 }), ErrWrongValue, "pmask"},
		{"servers of other family", createRule("r1", func(r *Rule) { r.VIP = addr("2001:db8:9::1") }), ErrInconsistent, "servergroup"},
		{"server range must match rule range", createRule("r1", func(r *Rule) { r.Ports = PortRange{Min: 80, Max: 81} }), nil, ""},
		{"fixed hc-port needs a port", createRule("r1", func(r *Rule) { r.HCName, r.HCPortMode = "hc1", HCPortFixed }), ErrInconsistent, "hc-port"},
		{"tcp hc for a udp rule", createRule("r1", func(r *Rule) { r.HCName, r.Protocol = "hc1", UDP }), ErrInconsistent, "hc-name"},
		{"hc-port all over a narrow range", createRule("r1", func(r *Rule) {
			r.HCName, r.HCPortMode, r.Ports = "hc1", HCPortAll, PortRange{Min: 80, Max: 81}
		}), nil, ""},
		{"hc-port all over every port", createRule("r1", func(r *Rule) { r.HCName, r.HCPortMode, r.Ports = "hc1", HCPortAll, PortRange{} }), ErrInconsistent, "hc-port"},
		{"delete group in use", func(c *Config) error {
			createRule("r1", nil)(c)
			return c.DeleteGroup("web")
		}, ErrInUse, ""},
		{"delete hc in use", func(c *Config) error {
			createRule("r1", func(r *Rule) { r.HCName = "hc1" })(c)
			return c.DeleteHealthCheck("HC1")
		}, ErrInUse, ""},
		{"duplicate server address", func(c *Config) error {
			_, err := c.AddServer("web", Server{Addr: addr("198.18.2.2"), Enabled: true})
			return err
		}, ErrExists, "address"},
		{"server in unknown group", func(c *Config) error {
			_, err := c.AddServer("nope", Server{Addr: addr("198.18.4.2")})
			return err
		}, ErrNotFound, ""},
		{"server ID of another group", func(c *Config) error {
			_, err := c.AddServer("web", Server{ID: "_db.3", Addr: addr("198.18.4.2")})
			return err
		}, ErrWrongValue, "id"},
		{"server ID with leading zero", func(c *Config) error {
			_, err := c.AddServer("web", Server{ID: "_web.03", Addr: addr("198.18.4.2")})
			return err
		}, ErrWrongValue, "id"},
		{"unknown server", func(c *Config) error { return c.SetServerEnabled("_web.7", false) }, ErrNotFound, ""},
		{"external hc without program", func(c *Config) error { return c.CreateHealthCheck(NewHealthCheck("ext", HCExternal)) }, ErrInconsistent, "hc-test"},
		{"udp hc without ping", func(c *Config) error {
			h := NewHealthCheck("u", HCUDP)
			h.DefaultPing = false
			return c.CreateHealthCheck(h)
		}, ErrInconsistent, "default-ping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig(t)
			err := tc.change(c)
			if err == nil {
				err = c.Validate()
			}
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want kind %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != tc.field {
				t.Fatalf("error %#v, want field %q", err, tc.field)
			}
		})
	}
}

func TestServerIDsReuseLowestFree(t *testing.T) {
	c := baseConfig(t) // _web.0, _web.1
	steps := []struct {
		op   string // "add" or "rm ID"
		want string // ID added
	}{
		{"add", "_web.2"},
		{"rm _web.0", ""},
		{"add", "_web.0"},
		{"rm _web.1", ""},
		{"rm _web.2", ""},
		{"add", "_web.1"},
		{"add", "_web.2"},
		{"add", "_web.3"},
	}
	next := 10
	for _, s := range steps {
		if id, ok := strings.CutPrefix(s.op, "rm "); ok {
			if err := c.RemoveServer(id); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got := c.Group("web").NextServerID(); got != s.want {
			t.Errorf("NextServerID %s, want %s", got, s.want)
		}
		next++
		id, err := c.AddServer("web", Server{Addr: addr(fmt.Sprintf("198.18.5.%d", next)), Enabled: true})
		if err != nil || id != s.want {
			t.Fatalf("AddServer = %s, %v; want %s", id, err, s.want)
		}
	}
}

func TestGroupHoldsAtMost1000Servers(t *testing.T) {
	c := &Config{}
	if err := c.CreateGroup("big"); err != nil {
		t.Fatal(err)
	}
	a := addr("10.0.0.1")
	for i := range MaxServersInGroup {
		if _, err := c.AddServer("big", Server{Addr: a}); err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		a = a.Next()
	}
	if got := c.Group("big").NextServerID(); got != "" {
		t.Errorf("NextServerID of a full group = %q", got)
	}
	if _, err := c.AddServer("big", Server{Addr: a}); !errors.Is(err, ErrNoResources) {
		t.Errorf("1001st server: %v, want ErrNoResources", err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("full group: %v", err)
	}
}

func TestParseServerID(t *testing.T) {
	cases := []struct {
		id    string
		group string
		n     int
		ok    bool
	}{
		{"_web.0", "web", 0, true},
		{"_web.999", "web", 999, true},
		{"_a.b.12", "a.b", 12, true},
		{"_web.1000", "", 0, false},
		{"_web.01", "", 0, false},
		{"web.1", "", 0, false},
		{"_.1", "", 0, false},
		{"_web.", "", 0, false},
		{"_web.-1", "", 0, false},
	}
	for _, tc := range cases {
		g, n, ok := ParseServerID(tc.id)
		if g != tc.group || n != tc.n || ok != tc.ok {
			t.Errorf("ParseServerID(%q) = %q, %d, %v; want %q, %d, %v", tc.id, g, n, ok, tc.group, tc.n, tc.ok)
		}
	}
}

func TestParseEnums(t *testing.T) {
	cases := []struct {
		in   string
		f    func(string) (any, error)
		want any
	}{
		{"hash-ip-port", func(s string) (any, error) { return ParseAlgorithm(s) }, HashIPPort},
		{"RoundRobin", func(s string) (any, error) { return ParseAlgorithm(s) }, RoundRobin},
		{"half-nat", func(s string) (any, error) { return ParseTopology(s) }, HalfNAT},
		{"HALF_NAT", func(s string) (any, error) { return ParseTopology(s) }, HalfNAT},
		{"udp", func(s string) (any, error) { return ParseProtocol(s) }, UDP},
		{"external", func(s string) (any, error) { return ParseHCTest(s) }, HCExternal},
	}
	for _, tc := range cases {
		got, err := tc.f(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parse %q = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseAlgorithm("random"); !errors.Is(err, ErrWrongValue) {
		t.Errorf("unknown algorithm: %v", err)
	}
}
