package lb

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tapagent/internal/netlab"
)

var update = flag.Bool("update", false, "rewrite testdata/*.nft from the kernel")

// newTestEngine starts an engine on a fresh namespace with small slot
// maps so that golden rulesets stay readable.
func newTestEngine(t *testing.T, ns *netlab.NS, store Store, slots int) *Engine {
	t.Helper()
	e, err := New(Options{NetNS: "/var/run/netns/" + ns.Name, Store: store, Slots: slots})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func listTable(t *testing.T, ns *netlab.NS) string {
	t.Helper()
	out, err := ns.Command("nft", "list", "table", "inet", TableName).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	return regexp.MustCompile(` # handle \d+`).ReplaceAllString(string(out), "")
}

func mustUpdate(t *testing.T, e *Engine, f func(*Config) error) {
	t.Helper()
	if err := e.Update(f); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// groupWith creates group name with servers at addrs (enabled).
func groupWith(name string, ports PortRange, addrs ...string) func(*Config) error {
	return func(c *Config) error {
		if err := c.CreateGroup(name); err != nil {
			return err
		}
		for _, a := range addrs {
			if _, err := c.AddServer(name, Server{Addr: addr(a), Ports: ports, Enabled: true}); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestGoldenRulesets(t *testing.T) {
	cases := []struct {
		name   string
		change []func(*Config) error
	}{
		{"empty", nil},
		{"halfnat_rr", []func(*Config) error{
			groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"),
			func(c *Config) error {
				r := NewRule("Web1")
				r.VIP, r.Ports, r.Topology, r.ServerGroup, r.Enabled = addr("198.18.9.1"), PortRange{Min: 80}, HalfNAT, "web", true
				return c.CreateRule(r)
			},
			func(c *Config) error { return c.SetServerEnabled("_web.1", false) },
		}},
		{"nat_hash_persist_udp", []func(*Config) error{
			groupWith("dns", PortRange{}, "198.18.2.2", "198.18.3.2", "198.18.4.2"),
			func(c *Config) error {
				r := NewRule("dns")
				r.VIP, r.Protocol, r.Ports, r.Topology, r.ServerGroup, r.Enabled = addr("198.18.9.2"), UDP, PortRange{Min: 53, Max: 54}, NAT, "dns", true
				r.Algorithm, r.ProxySrc = HashIPPort, AddrRange{First: addr("198.18.8.1"), Last: addr("198.18.8.10")}
				r.Persist, r.PersistMask, r.PersistTimeout, r.NATTimeout = true, 24, 30, 10
				return c.CreateRule(r)
			},
		}},
		{"disabled_v6_hashipvip", []func(*Config) error{
			groupWith("v6", PortRange{}, "2001:db8:2::2"),
			func(c *Config) error {
				r := NewRule("v6")
				r.VIP, r.Topology, r.ServerGroup, r.Algorithm = addr("2001:db8:9::1"), HalfNAT, "v6", HashIPVIP
				return c.CreateRule(r)
			},
		}},
	}
	lab := netlab.New(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := lab.AddNS("g-" + strings.ReplaceAll(tc.name, "_", ""))
			e := newTestEngine(t, ns, nil, 4)
			for _, f := range tc.change {
				mustUpdate(t, e, f)
			}
			got := listTable(t, ns)
			path := filepath.Join("testdata", tc.name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("ruleset differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}
