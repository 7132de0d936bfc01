package lb

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// closableTCP answers like serveTCP on ns until the returned func closes
// the listener.
func closableTCP(t *testing.T, ns *netlab.NS, name string, port int) (stop func()) {
	t.Helper()
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
			fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
	return func() { ln.Close() }
}

func hcUpdate(name string, test HCTest, mod func(*HealthCheck)) func(*Config) error {
	return func(c *Config) error {
		h := NewHealthCheck(name, test)
		h.Interval, h.Timeout, h.Count = 1, 1, 2
		if mod != nil {
			mod(&h)
		}
		return c.CreateHealthCheck(h)
	}
}

func states(e *Engine, rule string) map[string]HealthState {
	m := map[string]HealthState{}
	for _, r := range e.HealthResults(rule) {
		m[r.ServerID] = r.State
	}
	return m
}

func waitStates(t *testing.T, e *Engine, rule string, timeout time.Duration, want map[string]HealthState) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("states %v of rule %s", want, rule), func() bool {
		return sameStates(states(e, rule), want)
	})
}

func sameStates(a, b map[string]HealthState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A TCP health check takes a backend whose listener went away out of
// the rule within hc-count × timeout (plus one interval) and puts it
// back when it listens again.
func TestSystemHealthCheckTCP(t *testing.T) {
	l := newLBLab(t)
	stop := closableTCP(t, l.backends[0], "b1", 8082)
	closableTCP(t, l.backends[1], "b2", 8082)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8082}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, hcUpdate("hc1", HCTCP, nil))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.HCName = "hc1" }))
	client, dst := addr("198.18.1.2"), netip.AddrPortFrom(vip, 80)
	alive := map[string]HealthState{"_web.0": HealthAlive, "_web.1": HealthAlive}
	waitStates(t, e, "web", 4*time.Second, alive)
	r, _ := e.HealthResult("WEB", "_web.0")
	if r.RTT == 0 || r.HCName != "hc1" || r.Server != addr("198.18.2.2") || r.LastCheck.IsZero() {
		t.Errorf("result %+v: want RTT, hc1, the server address, a last check", r)
	}

	stop()
	start := time.Now()
	// hc-count 2 × timeout 1 s, after at most 1.5 intervals.
	waitStates(t, e, "web", 4*time.Second, map[string]HealthState{"_web.0": HealthDead, "_web.1": HealthAlive})
	t.Logf("dead after %v", time.Since(start))
	waitUsable(t, e, "web", 1)
	if got := l.spread(t, 10, client, dst, "198.18.1.2"); !sameCounts(got, map[string]int{"b2": 10}) {
		t.Errorf("with b1 dead: %v, want all to b2", got)
	}
	if st, err := e.Stats(); err != nil || st[0].Servers != 1 {
		t.Errorf("stats: %v servers usable (%v), want 1", st[0].Servers, err)
	}

	closableTCP(t, l.backends[0], "b1", 8082)
	waitStates(t, e, "web", 4*time.Second, alive)
	waitUsable(t, e, "web", 2)
	if got := l.spread(t, 10, client, dst, "198.18.1.2"); !sameCounts(got, map[string]int{"b1": 5, "b2": 5}) {
		t.Errorf("with b1 back: %v, want 5/5", got)
	}

	// Disabling a server stops its checks.
	mustUpdate(t, e, func(c *Config) error { return c.SetServerEnabled("_web.1", false) })
	waitStates(t, e, "web", time.Second, map[string]HealthState{"_web.0": HealthAlive, "_web.1": HealthDisabled})
	if r, _ := e.HealthResult("web", "_web.1"); !r.NextCheck.IsZero() {
		t.Errorf("disabled server has a next check at %v", r.NextCheck)
	}
}

// A server that does not answer pings is unreach; the UDP test calls a
// server dead on ICMP port unreachable and alive on silence or answer.
func TestSystemHealthCheckPingAndUDP(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	// 198.18.2.99 is on b1's link but nobody has it.
	mustUpdate(t, e, groupWith("web", PortRange{Min: 5353}, "198.18.2.2", "198.18.3.2", "198.18.2.99"))
	mustUpdate(t, e, hcUpdate("udp", HCUDP, func(h *HealthCheck) { h.Count, h.Interval = 1, 2 }))
	mustUpdate(t, e, webRule("dns", 53, func(r *Rule) { r.Protocol, r.HCName = UDP, "udp" }))
	mustUpdate(t, e, webRule("closed", 54, func(r *Rule) {
		r.Protocol, r.HCName, r.HCPortMode, r.HCPort = UDP, "udp", HCPortFixed, 5354
	}))
	waitStates(t, e, "dns", 5*time.Second, map[string]HealthState{"_web.0": HealthAlive, "_web.1": HealthAlive, "_web.2": HealthUnreach})
	waitStates(t, e, "closed", 5*time.Second, map[string]HealthState{"_web.0": HealthDead, "_web.1": HealthDead, "_web.2": HealthUnreach})
	// Both live backends answer the empty datagram: a round trip.
	if r, _ := e.HealthResult("dns", "_web.1"); r.RTT == 0 {
		t.Errorf("UDP result %+v has no round trip", r)
	}
	// udpAsk fails the test if a datagram goes to the missing server.
	waitUsable(t, e, "dns", 2)
	for range 6 {
		l.udpAsk(t, netip.AddrPortFrom(vip, 53))
	}
}

// waitUsable waits until the data plane of rule has n usable servers
// (verdicts reach it just after show-hc-result shows them).
func waitUsable(t *testing.T, e *Engine, rule string, n int) {
	t.Helper()
	waitFor(t, time.Second, fmt.Sprintf("%d usable servers in rule %s", n, rule), func() bool {
		st, err := e.Stats()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if strings.EqualFold(s.Rule, rule) {
				return s.Servers == n
			}
		}
		return false
	})
}

// The external method gets the illumos arguments in the load balancer's
// namespace; -1 is dead, a number is the round trip, 0 or text is alive,
// and a program still running at the timeout is killed and dead.
func TestSystemHealthCheckExternal(t *testing.T) {
	l := newLBLab(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "check")
	// Answers by server: b1 1234, b2 -1, .4 text, .5 0, .6 hangs.
	body := `#!/bin/sh
echo "$# $* $(readlink /proc/self/ns/net)" >> ` + dir + `/args
case "$2" in
198.18.2.2) echo 1234 ;;
198.18.3.2) echo -1 ;;
198.18.4.2) echo fine ;;
198.18.5.2) echo 0 ;;
*) echo $$ > ` + dir + `/hung; sleep 30; echo 1 ;;
esac
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2", "198.18.4.2", "198.18.5.2", "198.18.6.2"))
	mustUpdate(t, e, hcUpdate("ext", HCExternal, func(h *HealthCheck) { h.ExternalMethod, h.DefaultPing, h.Count = script, false, 1 }))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.HCName = "ext" }))
	waitStates(t, e, "web", 5*time.Second, map[string]HealthState{"_web.0": HealthAlive, "_web.1": HealthDead,
		"_web.2": HealthAlive, "_web.3": HealthAlive, "_web.4": HealthDead})
	rtts := map[string]uint32{}
	for _, r := range e.HealthResults("web") {
		rtts[r.ServerID] = r.RTT
	}
	// 1234 at first, then ilbd's integer smoothing (3/4 old + 1/4 new,
	// each divided first) settles at 1232.
	if r := rtts["_web.0"]; r != 1234 && r != 1232 || rtts["_web.2"] != 0 || rtts["_web.3"] != 0 {
		t.Errorf("round trips %v, want 1234 (or 1232) for _web.0 and 0 for the text and 0 answers", rtts)
	}

	out, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/var/run/netns/"+l.lb.Name, &st); err != nil {
		t.Fatal(err)
	}
	wantNS := fmt.Sprintf("net:[%d]", st.Ino)
	want := "6 198.18.9.1 198.18.2.2 TCP HALF_NAT 8080 1 " + wantNS
	if first := strings.SplitN(string(out), "\n", 2)[0]; !strings.Contains(string(out), want) {
		t.Errorf("arguments %q (first of them), want a line %q", first, want)
	}

	pid, err := os.ReadFile(filepath.Join(dir, "hung"))
	if err != nil {
		t.Fatal(err)
	}
	// Killed at the timeout (with its process group: sleep too).
	waitFor(t, 2*time.Second, "the hung method to be gone", func() bool {
		_, err := os.Stat("/proc/" + strings.TrimSpace(string(pid)))
		return os.IsNotExist(err)
	})
}

// holdTCP answers each line with "NAME LINE" until the client closes.
func holdTCP(t *testing.T, ns *netlab.NS, name string, port int) {
	t.Helper()
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
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s %s\n", name, sc.Text())
				}
			}()
		}
	}()
}

type heldConn struct {
	c net.Conn
	r *bufio.Reader
}

func (l *lbLab) hold(t *testing.T, src netip.Addr, dst netip.AddrPort) *heldConn {
	t.Helper()
	var h *heldConn
	err := l.client.Do(func() error {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.Dial("tcp4", dst.String())
		if err != nil {
			return err
		}
		h = &heldConn{c: c, r: bufio.NewReader(c)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.c.Close() })
	return h
}

// ask sends a line and returns the backend that answered ("" on error).
func (h *heldConn) ask() string {
	h.c.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprintln(h.c, "ping"); err != nil {
		return ""
	}
	line, err := h.r.ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.Fields(line)[0]
}

func (h *heldConn) port() uint16 { return uint16(h.c.LocalAddr().(*net.TCPAddr).Port) }

// show-nat lists live connections; with conn-drain a disabled server's
// connections go on until the drain time and are then cut, without it
// they go on.
func TestSystemNATEntriesAndDrain(t *testing.T) {
	l := newLBLab(t)
	holdTCP(t, l.backends[0], "b1", 8083)
	holdTCP(t, l.backends[1], "b2", 8083)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8083}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("drain", 80, func(r *Rule) { r.ConnDrain = 1 }))
	mustUpdate(t, e, webRule("nodrain", 81, func(r *Rule) {
		r.Topology, r.ProxySrc = NAT, AddrRange{First: addr("198.18.8.1")}
	}))
	client := addr("198.18.1.2")
	d1 := l.hold(t, client, netip.AddrPortFrom(vip, 80)) // round robin: b1, then b2
	d2 := l.hold(t, client, netip.AddrPortFrom(vip, 80))
	n1 := l.hold(t, client, netip.AddrPortFrom(vip, 81))
	for _, h := range []*heldConn{d1, d2, n1} {
		if h.ask() == "" {
			t.Fatal("held connection does not answer")
		}
	}

	nat, err := e.NATEntries("")
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint16]NATEntry{}
	for _, n := range nat {
		got[n.Client.Port()] = n
	}
	wantServer := map[uint16]string{d1.port(): "198.18.2.2:8083", d2.port(): "198.18.3.2:8083", n1.port(): "198.18.2.2:8083"}
	if len(nat) != 3 {
		t.Fatalf("%d entries %+v, want 3", len(nat), nat)
	}
	for port, srv := range wantServer {
		n := got[port]
		wantProxy := netip.AddrPortFrom(client, port)
		rule := "drain"
		if port == n1.port() {
			wantProxy, rule = netip.AddrPortFrom(addr("198.18.8.1"), 0), "nodrain"
		}
		if n.Rule != rule || n.Server.String() != srv || n.Client.Addr() != client || n.VIP.Addr() != vip ||
			n.Protocol != TCP || n.Remaining <= 0 || n.Remaining > 120*time.Second {
			t.Errorf("entry of client port %d: %+v, want rule %s, server %s", port, n, rule, srv)
		}
		if wantProxy.Port() == 0 && n.Proxy.Addr() != wantProxy.Addr() || wantProxy.Port() != 0 && n.Proxy != wantProxy {
			t.Errorf("entry of client port %d: proxy %v, want %v", port, n.Proxy, wantProxy)
		}
		if n.ServerID == "" {
			t.Errorf("entry of client port %d has no server ID", port)
		}
	}
	if only, err := e.NATEntries("NODRAIN"); err != nil || len(only) != 1 {
		t.Errorf("entries of one rule: %v, %v; want 1", only, err)
	}
	if _, err := e.NATEntries("nope"); err == nil {
		t.Error("entries of an unknown rule: no error")
	}

	// b1 disabled: d1 (drain 1 s) keeps working for now, then is cut; n1
	// (no drain) keeps working.
	mustUpdate(t, e, func(c *Config) error { return c.SetServerEnabled("_web.0", false) })
	if d1.ask() != "b1" || n1.ask() != "b1" {
		t.Fatal("connections to a disabled server stopped before the drain time")
	}
	waitFor(t, 3*time.Second, "d1's entry to go", func() bool {
		nat, _ := e.NATEntries("drain")
		return len(nat) == 1 && nat[0].Client.Port() == d2.port()
	})
	if got := d1.ask(); got == "b1" {
		t.Error("drained connection still reaches b1")
	}
	if d2.ask() != "b2" || n1.ask() != "b1" {
		t.Error("connections that were not drained stopped")
	}
}

// show-persist lists the prefix → server entries with their time left.
func TestSystemPersistEntries(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Persist, r.PersistMask = true, 24 }))
	mustUpdate(t, e, webRule("plain", 81, nil))
	first := l.tcpAsk(t, addr("198.18.1.2"), netip.AddrPortFrom(vip, 80))
	l.tcpAsk(t, addr("198.18.1.3"), netip.AddrPortFrom(vip, 80))
	ps, err := e.PersistEntries("")
	if err != nil {
		t.Fatal(err)
	}
	wantAddr := map[string]string{"b1": "198.18.2.2", "b2": "198.18.3.2"}[first.backend]
	if len(ps) != 1 || ps[0].Rule != "web" || ps[0].Prefix.String() != "198.18.1.0/24" ||
		ps[0].Server.String() != wantAddr || ps[0].ServerID == "" ||
		ps[0].Remaining < 50*time.Second || ps[0].Remaining > 60*time.Second {
		t.Errorf("entries %+v, want one for 198.18.1.0/24 → %s with under 60 s left", ps, wantAddr)
	}
	if ps, err := e.PersistEntries("plain"); err != nil || len(ps) != 0 {
		t.Errorf("rule without persistence: %v, %v", ps, err)
	}
	if _, err := e.PersistEntries("nope"); err == nil {
		t.Error("unknown rule: no error")
	}
}
