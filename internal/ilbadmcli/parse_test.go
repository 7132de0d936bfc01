package ilbadmcli

import (
	"net/netip"
	"strings"
	"testing"

	"tapagent/lb"
)

func TestParseGood(t *testing.T) {
	cases := []struct {
		line  string
		check func(t *testing.T, c *Command)
	}{
		{"create-rule -e -p -i vip=81.0.0.10,port=5000-5009,protocol=tcp -m lbalg=rr,type=NAT,proxy-src=60.0.0.101-60.0.0.104,pmask=24 -h hc-name=hc1 -t conn-drain=180,nat-timeout=180,persist-timeout=180 -o servergroup=sg1 rule1",
			func(t *testing.T, c *Command) {
				r := c.Rule
				want := lb.Rule{Name: "rule1", VIP: netip.MustParseAddr("81.0.0.10"), Protocol: lb.TCP,
					Ports: lb.PortRange{Min: 5000, Max: 5009}, Enabled: true, Algorithm: lb.RoundRobin, Topology: lb.NAT,
					ProxySrc: lb.AddrRange{First: netip.MustParseAddr("60.0.0.101"), Last: netip.MustParseAddr("60.0.0.104")},
					Persist:  true, PersistMask: 24, ServerGroup: "sg1", HCName: "hc1", HCPortMode: lb.HCPortAny,
					ConnDrain: 180, NATTimeout: 180, PersistTimeout: 180}
				if r != want {
					t.Errorf("rule\n%+v\nwant\n%+v", r, want)
				}
			}},
		{"create-rl -i vip=2001:db8::1,port=http,protocol=UDP -m lbalg=hipv,type=h -h hc-name=x,hc-port=8080 -o servergroup=g r", func(t *testing.T, c *Command) {
			if c.Verb != "create-rule" || c.Rule.Protocol != lb.UDP || c.Rule.Ports.Min != 80 || c.Rule.Algorithm != lb.HashIPVIP ||
				c.Rule.Topology != lb.HalfNAT || c.Rule.HCPortMode != lb.HCPortFixed || c.Rule.HCPort != 8080 || c.Rule.Enabled {
				t.Errorf("%+v", c.Rule)
			}
		}},
		{"create-rule -i VIP=10.0.0.1 -m lbalg=maglev,type=dsr -o servergroup=g m", func(t *testing.T, c *Command) {
			if c.Rule.Algorithm != lb.Maglev || c.Rule.Topology != lb.DSR || c.Rule.Ports.Min != 0 {
				t.Errorf("%+v", c.Rule)
			}
		}},
		{"delete-rule -a", func(t *testing.T, c *Command) {
			if !c.All {
				t.Error("-a not seen")
			}
		}},
		{"delete-rl r1 r2", func(t *testing.T, c *Command) {
			if len(c.Names) != 2 {
				t.Error(c.Names)
			}
		}},
		{"enable-rule", func(t *testing.T, c *Command) {}},
		{"disable-rl r1", func(t *testing.T, c *Command) {}},
		{"show-rule -f r1", func(t *testing.T, c *Command) {
			if !c.Full {
				t.Error("-f")
			}
		}},
		{"show-rl -e -p -o rulename,vip", func(t *testing.T, c *Command) {
			if !c.Enabled || !c.Parseable || strings.Join(c.Fields, ",") != "RULENAME,VIP" {
				t.Errorf("%+v", c)
			}
		}},
		{"show-stats -A -r r1 -it 1 3", func(t *testing.T, c *Command) {
			s := c.Stats
			if !s.Absolute || !s.Itemize || !s.Timestamp || s.Rule != "r1" || s.Interval != 1 || s.Count != 3 {
				t.Errorf("%+v", s)
			}
		}},
		{"show-statistics -p -o BYTES_D,time -s _sg1.0 5", func(t *testing.T, c *Command) {
			if c.Stats.Server != "_sg1.0" || c.Stats.Interval != 5 || c.Stats.Count != 0 || !c.Parseable {
				t.Errorf("%+v", c)
			}
		}},
		{"create-servergroup -s server=60.0.0.10:6000-6009,60.0.0.11:7000-7009,[2001:db8::5]:80 sg1", func(t *testing.T, c *Command) {
			if len(c.Servers) != 3 || c.Servers[0].Ports != (lb.PortRange{Min: 6000, Max: 6009}) ||
				c.Servers[2].Addr != netip.MustParseAddr("2001:db8::5") || c.Servers[2].Ports.Min != 80 {
				t.Errorf("%+v", c.Servers)
			}
		}},
		{"create-sg sg2", func(t *testing.T, c *Command) {
			if len(c.Servers) != 0 || c.Names[0] != "sg2" {
				t.Errorf("%+v", c)
			}
		}},
		{"add-srv -s server=10.1.1.3 g", func(t *testing.T, c *Command) {}},
		{"remove-server -s server=_g.0,10.1.1.4 g", func(t *testing.T, c *Command) {
			if c.Servers[0].ID != "_g.0" || !c.Servers[1].Addr.IsValid() {
				t.Errorf("%+v", c.Servers)
			}
		}},
		{"delete-sg g", func(t *testing.T, c *Command) {}},
		{"show-sg -p -o sgname,serverid g", func(t *testing.T, c *Command) {}},
		{"enable-srv _g.0 10.0.0.1", func(t *testing.T, c *Command) {}},
		{"disable-server _g.0", func(t *testing.T, c *Command) {}},
		{"show-srv -p -o serverid,status r1", func(t *testing.T, c *Command) {}},
		{"create-healthcheck -n -h hc-test=tcp,hc-timeout=2,hc-count=3,hc-interval=10 hc1", func(t *testing.T, c *Command) {
			want := lb.HealthCheck{Name: "hc1", Test: lb.HCTCP, Timeout: 2, Count: 3, Interval: 10}
			if c.HC != want {
				t.Errorf("%+v", c.HC)
			}
		}},
		{"create-hc -h hc-test=/usr/local/bin/probe hc2", func(t *testing.T, c *Command) {
			if c.HC.Test != lb.HCExternal || c.HC.ExternalMethod != "/usr/local/bin/probe" || c.HC.Timeout != 5 || !c.HC.DefaultPing {
				t.Errorf("%+v", c.HC)
			}
		}},
		{"delete-hc hc1 hc2", func(t *testing.T, c *Command) {}},
		{"show-hc", func(t *testing.T, c *Command) {}},
		{"show-hc-res rule1", func(t *testing.T, c *Command) {}},
		{"show-nat 5", func(t *testing.T, c *Command) {
			if c.Count != 5 {
				t.Error(c.Count)
			}
		}},
		{"show-pt", func(t *testing.T, c *Command) {}},
		{"export-cf /tmp/x", func(t *testing.T, c *Command) {
			if c.File != "/tmp/x" {
				t.Error(c.File)
			}
		}},
		{"import-config -p", func(t *testing.T, c *Command) {
			if !c.Preserve || c.File != "" {
				t.Errorf("%+v", c)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			c, err := Parse(strings.Fields(tc.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct{ line, want string }{
		{"", "missing subcommand"},
		{"frobnicate", "unknown subcommand"},
		{"create-rule -i vip=1.2.3.4 -m type=h -o servergroup=g abcdefghijklmnopqrst", "too long"},
		{"create-rule -i vip=1.2.3.4 -m type=h r", "-o is required"},
		{"create-rule -i port=80 -m type=h -o servergroup=g r", "vip=... is required"},
		{"create-rule -i vip=1.2.3.4 -m type=x -o servergroup=g r", "type \"x\""},
		{"create-rule -i vip=1.2.3.4 -m type=h,lbalg=fast -o servergroup=g r", "lbalg \"fast\""},
		{"create-rule -i vip=1.2.3.4 -m type=h,pmask=24 -o servergroup=g r", "pmask needs a persistent rule (-p)"},
		{"create-rule -i vip=1.2.3.4,colour=red -m type=h -o servergroup=g r", "key of"},
		{"create-rule -i vip=1.2.3.4,port=90-80 -m type=h -o servergroup=g r", "ends before it starts"},
		{"create-rule -i vip=1.2.3.4 -m type=h -o servergroup=abcdefghijklmno r", "server group name"},
		{"create-rule -x -i vip=1.2.3.4 -m type=h -o servergroup=g r", "unknown option -x"},
		{"delete-rule", "give rule names or -a"},
		{"show-rule -e -d", "exclude"},
		{"show-rule -f -o vip", "exclude"},
		{"show-rule -p", "-p needs -o"},
		{"show-rule -o colour", "unknown field"},
		{"show-stats -A -d", "exclude"},
		{"show-stats -i", "-i needs -r or -s"},
		{"show-stats -r a -s _g.0", "exclude"},
		{"show-stats 0", "not a positive number"},
		{"create-servergroup -s server=1.2.3.4 abcdefghijklmno", "too long"},
		{"add-server g", "-s server=... is required"},
		{"add-server -s server=not_an_address!! g", "not an address"},
		{"remove-server -s server=_x g", "not a server ID"},
		{"create-healthcheck hc", "-h hc-test=... is required"},
		{"create-healthcheck -h hc-test=smtp hc", "hc-test \"smtp\""},
		{"create-healthcheck -h hc-test=tcp,hc-count=0 hc", "hc-count"},
		{"show-nat x", "not a positive number"},
		{"enable-server", "give one or more servers"},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			_, err := Parse(strings.Fields(tc.line))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseImport(t *testing.T) {
	in := "# exported\ncreate-servergroup g\nadd-server -s server=10.0.0.1:80 g\ncreate-rule -e -i vip=10.0.0.9,port=80 \\\n  -m lbalg=rr,type=h -o servergroup=g r1\n\ncreate-hc -h hc-test=\"/opt/my probe\" hc\n"
	cmds, err := ParseImport(strings.NewReader(in), "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 4 || cmds[2].Rule.Name != "r1" || cmds[3].HC.ExternalMethod != "/opt/my probe" {
		t.Fatalf("%d commands: %+v", len(cmds), cmds)
	}
	for _, bad := range []string{"show-rule\n", "create-rule -i\n", "create-sg \"g\n"} {
		if _, err := ParseImport(strings.NewReader(bad), "t"); err == nil || !strings.Contains(err.Error(), "t:1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestGlobals(t *testing.T) {
	g, rest, err := parseGlobals([]string{"--agent", "10.0.0.1:1161", "-u", "admin", "-level=authPriv", "-timeout", "3", "show-rule"})
	if err != nil || g.agent != "10.0.0.1:1161" || g.user != "admin" || len(g.snmp) != 4 || rest[0] != "show-rule" {
		t.Errorf("%+v %v %v", g, rest, err)
	}
	if _, _, err := parseGlobals([]string{"--bogus", "show-rule"}); err == nil {
		t.Error("unknown option accepted")
	}
}
