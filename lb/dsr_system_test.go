package lb

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// dsrBackend gives backend ns the VIP on its loopback (without answering
// ARP for it) and a TCP server on port that answers "NAME PEER LOCAL".
func dsrBackend(t *testing.T, l *lbLab, ns *netlab.NS, name string, port int) {
	t.Helper()
	l.Exec(ns, "ip", "addr", "add", vip.String()+"/32", "dev", "lo")
	l.Exec(ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port)); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s %s\n", name, c.RemoteAddr().(*net.TCPAddr).IP, c.LocalAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
}

// dsrAsk connects from src to dst and returns the three answer fields.
func (l *lbLab) dsrAsk(t *testing.T, src netip.Addr, dst netip.AddrPort) []string {
	t.Helper()
	var line string
	err := l.client.Do(func() error {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.Dial("tcp4", dst.String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	if err != nil {
		t.Fatalf("connect %s from %s: %v", dst, src, err)
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		t.Fatalf("odd answer %q", line)
	}
	return f
}

func dsrPolicyRules(t *testing.T, l *lbLab) int {
	t.Helper()
	return strings.Count(l.Exec(l.lb, "ip", "-4", "rule", "show"), fmt.Sprintf("%d:", dsrRulePriority))
}

// A DSR rule forwards packets unchanged: the backend sees the client and
// the VIP, hash-ip keeps each client on one backend, and the policy
// routes live exactly as long as the rule.
func TestSystemDSRHashIP(t *testing.T) {
	l := newLBLab(t)
	for i, b := range l.backends {
		dsrBackend(t, l, b, fmt.Sprintf("b%d", i+1), 80)
	}
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Topology, r.Algorithm = DSR, HashIP }))
	if n := dsrPolicyRules(t, l); n != 2 {
		t.Errorf("%d DSR policy rules, want one per server (2)", n)
	}
	dst := netip.AddrPortFrom(vip, 80)
	used := map[string]bool{}
	for _, src := range []string{"198.18.1.2", "198.18.1.3"} {
		got := map[string]int{}
		for range 6 {
			a := l.dsrAsk(t, addr(src), dst)
			if a[1] != src || a[2] != vip.String() {
				t.Errorf("backend %s saw %s → %s, want %s → %s", a[0], a[1], a[2], src, vip)
			}
			got[a[0]]++
			used[a[0]] = true
		}
		if len(got) != 1 {
			t.Errorf("client %s spread over %v, want one backend", src, got)
		}
	}

	stats, err := e.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for _, ss := range stats[0].PerServer {
		b := map[string]string{"_web.0": "b1", "_web.1": "b2"}[ss.ID]
		// A connection sends SYN, ACK, FIN and ACK at least.
		if used[b] && (ss.TotalConns < 4 || ss.Processed.Packets < 4) {
			t.Errorf("server %s: %d packets chosen, %d forwarded; want ≥ 4", ss.ID, ss.TotalConns, ss.Processed.Packets)
		}
	}
	// notrack, both ways: conntrack on the LB holds nothing of the VIP.
	if out := l.Exec(l.lb, "cat", "/proc/net/nf_conntrack"); strings.Contains(out, vip.String()) {
		t.Errorf("conntrack saw DSR flows:\n%s", out)
	}

	mustUpdate(t, e, func(c *Config) error { return c.DeleteRule("web") })
	if n := dsrPolicyRules(t, l); n != 0 {
		t.Errorf("%d DSR policy rules left after the rule went", n)
	}
}

func TestDSRRefusesRoundRobin(t *testing.T) {
	ns := netlab.New(t).AddNS("lb")
	e := newTestEngine(t, ns, nil, 0)
	mustUpdate(t, e, groupWith("web", PortRange{}, "198.18.2.2"))
	err := e.Update(webRule("web", 80, func(r *Rule) { r.Topology = DSR }))
	if !errors.Is(err, ErrInconsistent) {
		t.Errorf("DSR with round robin: %v, want ErrInconsistent", err)
	}
}

// Persistence works per packet too: with a /24 mask both client
// addresses stay on the backend the first connection got.
func TestSystemDSRPersistence(t *testing.T) {
	l := newLBLab(t)
	for i, b := range l.backends {
		dsrBackend(t, l, b, fmt.Sprintf("b%d", i+1), 80)
	}
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) {
		r.Topology, r.Algorithm, r.Persist, r.PersistMask = DSR, HashIPPort, true, 24
	}))
	dst := netip.AddrPortFrom(vip, 80)
	first := l.dsrAsk(t, addr("198.18.1.2"), dst)[0]
	for _, src := range []string{"198.18.1.2", "198.18.1.3", "198.18.1.2", "198.18.1.3"} {
		if got := l.dsrAsk(t, addr(src), dst)[0]; got != first {
			t.Errorf("client %s went to %s, want the remembered %s", src, got, first)
		}
	}
}
