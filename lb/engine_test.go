package lb

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// A refused change set leaves configuration, store and kernel as they
// were, whatever part of it failed.
func TestUpdateAllOrNothing(t *testing.T) {
	ns := netlab.New(t).AddNS("lb")
	store := FileStore{Dir: t.TempDir()}
	e := newTestEngine(t, ns, store, 4)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, nil))
	before, table := e.Config(), listTable(t, ns)
	stored, _ := os.ReadFile(filepath.Join(store.Dir, storeFile))

	cases := []struct {
		name   string
		change func(*Config) error
		kind   error
	}{
		{"group then overlapping rule", func(c *Config) error {
			if err := c.CreateGroup("db"); err != nil {
				return err
			}
			return c.CreateRule(rule("other", nil)) // same VIP and port as web
		}, ErrInconsistent},
		{"server then unknown group", func(c *Config) error {
			if _, err := c.AddServer("web", Server{Addr: addr("198.18.4.2"), Enabled: true}); err != nil {
				return err
			}
			return c.CreateRule(rule("r2", func(r *Rule) { r.Ports.Min, r.ServerGroup = 81, "nope" }))
		}, ErrNotFound},
		{"disable then eleven proxy-src", func(c *Config) error {
			c.SetRuleEnabled("web", false)
			return c.CreateRule(rule("r3", func(r *Rule) {
				r.Ports.Min, r.Topology = 82, NAT
				r.ProxySrc = AddrRange{First: addr("198.18.8.1"), Last: addr("198.18.8.11")}
			}))
		}, ErrInconsistent},
		{"DSR with round robin, refused by the data plane", func(c *Config) error {
			return c.CreateRule(rule("dsr", func(r *Rule) { r.Ports.Min, r.Topology = 83, DSR }))
		}, ErrInconsistent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.Check(tc.change); !errors.Is(err, tc.kind) {
				t.Errorf("Check: %v, want %v", err, tc.kind)
			}
			if err := e.Update(tc.change); !errors.Is(err, tc.kind) {
				t.Errorf("Update: %v, want %v", err, tc.kind)
			}
			if got := e.Config(); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Errorf("configuration changed:\n%v\nwas\n%v", got, before)
			}
			if got := listTable(t, ns); got != table {
				t.Errorf("table changed:\n%s", got)
			}
			if got, _ := os.ReadFile(filepath.Join(store.Dir, storeFile)); string(got) != string(stored) {
				t.Errorf("store changed:\n%s", got)
			}
		})
	}
}

// A new engine on the same store and namespace (an agent restart)
// rebuilds the same table from the stored configuration, replacing the
// old one in one transaction.
func TestRestartKeepsConfiguration(t *testing.T) {
	ns := netlab.New(t).AddNS("lb")
	store := FileStore{Dir: t.TempDir()}
	e, err := New(Options{NetNS: "/var/run/netns/" + ns.Name, Store: store, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Persist = true }))
	mustUpdate(t, e, func(c *Config) error { return c.SetServerEnabled("_web.0", false) })
	want, table := e.Config(), listTable(t, ns)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := newTestEngine(t, ns, store, 4)
	if got := e2.Config(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("configuration after restart:\n%v\nwant\n%v", got, want)
	}
	if got := listTable(t, ns); got != table {
		t.Errorf("table after restart:\n%s\nwant\n%s", got, table)
	}
	if err := e2.Remove(); err != nil {
		t.Fatal(err)
	}
	if out, err := ns.Command("nft", "list", "table", "inet", TableName).CombinedOutput(); err == nil {
		t.Errorf("table still there after Remove:\n%s", out)
	}
}

// Enabling and disabling servers while clients connect loses no
// connection: every change is one transaction.
func TestSystemChangesDoNotDisturbTraffic(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, nil))
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		on := false
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := e.Update(func(c *Config) error { return c.SetServerEnabled("_web.1", on) }); err != nil {
				done <- err
				return
			}
			on = !on
		}
	}()
	dst := netip.AddrPortFrom(vip, 80)
	deadline := time.Now().Add(500 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		l.tcpAsk(t, addr("198.18.1.2"), dst) // fails the test on any error
		n++
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := e.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st[0].TotalConns != uint64(n) || st[0].Dropped.Packets != 0 {
		t.Errorf("%d connections made, rule counted %d and dropped %d", n, st[0].TotalConns, st[0].Dropped.Packets)
	}
}

// Programming 10,000 servers (10 groups of 1000, one rule each) must take
// well under a second; the acceptance target is < 1 s.
func TestProgramTenThousandServers(t *testing.T) {
	ns := netlab.New(t).AddNS("lb")
	e := newTestEngine(t, ns, nil, 0)
	start := time.Now()
	mustUpdate(t, e, func(c *Config) error {
		for g := range 10 {
			name := fmt.Sprintf("g%d", g)
			if err := c.CreateGroup(name); err != nil {
				return err
			}
			a := netip.AddrFrom4([4]byte{10, byte(g), 0, 1})
			for range MaxServersInGroup {
				if _, err := c.AddServer(name, Server{Addr: a, Enabled: true}); err != nil {
					return err
				}
				a = a.Next()
			}
			r := rule(name, func(r *Rule) { r.ServerGroup, r.Ports.Min = name, uint16(1000+g) })
			if g%2 == 1 {
				r.Algorithm = HashIP
			}
			if err := c.CreateRule(r); err != nil {
				return err
			}
		}
		return nil
	})
	took := time.Since(start)
	t.Logf("programmed 10,000 servers in %v", took)
	start = time.Now()
	mustUpdate(t, e, func(c *Config) error { return c.SetServerEnabled("_g3.500", false) })
	t.Logf("disabled one of them in %v", time.Since(start))
	if took > 3*time.Second { // generous: shared CI machines
		t.Errorf("programming 10,000 servers took %v", took)
	}
	st, err := e.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 10 || len(st[3].PerServer) != 1000 || st[3].Servers != 999 {
		t.Errorf("stats: %d rules; rule 3 has %d servers, %d usable", len(st), len(st[3].PerServer), st[3].Servers)
	}
}

// TestDeleteRuleAndGroup: rules and groups come out of the kernel again
// (ilbadm delete-rule, delete-servergroup), leaving the table as it was
// before they were made.
func TestDeleteRuleAndGroup(t *testing.T) {
	ns := netlab.New(t).AddNS("lb")
	e := newTestEngine(t, ns, &MemStore{}, 4)
	empty := listTable(t, ns)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Persist = true }))
	mustUpdate(t, e, webRule("web2", 81, func(r *Rule) { r.Algorithm = HashIP }))
	for _, rule := range []string{"web", "web2"} {
		mustUpdate(t, e, func(c *Config) error { return c.DeleteRule(rule) })
	}
	mustUpdate(t, e, func(c *Config) error { return c.DeleteGroup("web") })
	if got := listTable(t, ns); got != empty {
		t.Fatalf("table after deleting everything:\n%s\nwant\n%s", got, empty)
	}
}
