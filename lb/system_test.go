package lb

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// lbLab is client — lb — backends b1 and b2, each on its own /24:
//
//	client eth0 198.18.1.2/24 (and .3) — eth1 198.18.1.1  lb (forwarding)
//	b1     eth0 198.18.2.2/24          — eth2 198.18.2.1  lb
//	b2     eth0 198.18.3.2/24          — eth3 198.18.3.1  lb
//
// Everybody routes via lb, so the VIP (198.18.9.1) and proxy-src
// addresses (198.18.8.0/24) reach lb without lb owning them. Each
// backend answers TCP on 8080 and UDP on 5353 with "NAME PEER-ADDRESS".
type lbLab struct {
	*netlab.Lab
	client, lb *netlab.NS
	backends   []*netlab.NS
}

var vip = addr("198.18.9.1")

func newLBLab(t *testing.T) *lbLab {
	t.Helper()
	l := &lbLab{Lab: netlab.New(t)}
	l.lb = l.AddNS("lb")
	l.EnableForwarding(l.lb)
	link := func(role string, net int, extra ...string) *netlab.NS {
		ns := l.AddNS(role)
		h, g := l.Veth(ns, "eth0", l.lb, fmt.Sprintf("eth%d", net))
		l.AddAddr(g, fmt.Sprintf("198.18.%d.1/24", net))
		l.AddAddr(h, append([]string{fmt.Sprintf("198.18.%d.2/24", net)}, extra...)...)
		l.LinkUp(h, g)
		for _, p := range h.Addrs {
			l.AddNeighbor(g, p.Addr(), h.MAC)
		}
		l.AddNeighbor(h, g.IPv4(), g.MAC)
		l.AddRoute(ns, "0.0.0.0/0", g.IPv4())
		return ns
	}
	l.client = link("client", 1, "198.18.1.3/24")
	for i := range 2 {
		name := fmt.Sprintf("b%d", i+1)
		b := link(name, i+2)
		serveTCP(t, b, name, 8080)
		serveUDP(t, b, name, 5353)
		l.backends = append(l.backends, b)
	}
	for _, ns := range append([]*netlab.NS{l.lb, l.client}, l.backends...) {
		waitLinksUp(t, ns)
	}
	return l
}

// waitLinksUp waits until the kernel's link watcher has activated every
// veth of ns: before that their queue discards what is sent, which
// would lose the first UDP datagram of a test.
func waitLinksUp(t *testing.T, ns *netlab.NS) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := ns.Command("ip", "-o", "link", "show", "type", "veth").CombinedOutput()
		if err != nil {
			t.Fatalf("ip link in %s: %v: %s", ns.Name, err, out)
		}
		if !strings.Contains(string(out), "state DOWN") && !strings.Contains(string(out), "state UNKNOWN") && !strings.Contains(string(out), "state LOWERLAYERDOWN") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("links of %s not up: %s", ns.Name, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serveTCP(t *testing.T, ns *netlab.NS, name string, port int) {
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
			peer := c.RemoteAddr().(*net.TCPAddr).IP
			fmt.Fprintf(c, "%s %s\n", name, peer)
			c.Close()
		}
	}()
}

func serveUDP(t *testing.T, ns *netlab.NS, name string, port int) {
	t.Helper()
	var pc net.PacketConn
	if err := ns.Do(func() (err error) { pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port)); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(fmt.Sprintf("%s %s\n", name, from.(*net.UDPAddr).IP)), from)
		}
	}()
}

// answer is what a backend said: its name and the source it saw.
type answer struct{ backend, peer string }

// tcpAsk opens one connection from src to dst and reads the answer.
func (l *lbLab) tcpAsk(t *testing.T, src netip.Addr, dst netip.AddrPort) answer {
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
	if len(f) != 2 {
		t.Fatalf("odd answer %q", line)
	}
	return answer{f[0], f[1]}
}

func (l *lbLab) udpAsk(t *testing.T, dst netip.AddrPort) answer {
	t.Helper()
	var line string
	err := l.client.Do(func() error {
		c, err := net.Dial("udp4", dst.String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			return err
		}
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		line = string(buf[:n])
		return err
	})
	if err != nil {
		t.Fatalf("udp %s: %v", dst, err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("odd answer %q", line)
	}
	return answer{f[0], f[1]}
}

// spread makes n connections and counts answers per backend; every
// answer must show peer as the source.
func (l *lbLab) spread(t *testing.T, n int, src netip.Addr, dst netip.AddrPort, peer string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		a := l.tcpAsk(t, src, dst)
		if a.peer != peer {
			t.Errorf("backend %s saw source %s, want %s", a.backend, a.peer, peer)
		}
		got[a.backend]++
	}
	return got
}

func (l *lbLab) engine(t *testing.T) *Engine {
	return newTestEngine(t, l.lb, nil, 0)
}

func webRule(name string, port uint16, mod func(*Rule)) func(*Config) error {
	return func(c *Config) error {
		r := NewRule(name)
		r.VIP, r.Ports, r.Topology, r.ServerGroup, r.Enabled = vip, PortRange{Min: port}, HalfNAT, "web", true
		if mod != nil {
			mod(&r)
		}
		return c.CreateRule(r)
	}
}

func sameCounts(a, b map[string]int) bool {
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

func TestSystemHalfNATRoundRobin(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, nil))
	client := addr("198.18.1.2")
	dst := netip.AddrPortFrom(vip, 80)

	steps := []struct {
		name   string
		change func(*Config) error
		want   map[string]int
	}{
		{"both enabled", nil, map[string]int{"b1": 5, "b2": 5}},
		{"b2 disabled", func(c *Config) error { return c.SetServerEnabled("_web.1", false) }, map[string]int{"b1": 10}},
		{"b2 enabled again", func(c *Config) error { return c.SetServerEnabled("_web.1", true) }, map[string]int{"b1": 5, "b2": 5}},
		{"b1 unhealthy", nil, map[string]int{"b2": 10}},
	}
	for _, s := range steps {
		if s.change != nil {
			mustUpdate(t, e, s.change)
		}
		if s.name == "b1 unhealthy" {
			if err := e.SetServerHealth("WEB", "_web.0", false); err != nil {
				t.Fatal(err)
			}
		}
		if got := l.spread(t, 10, client, dst, "198.18.1.2"); !sameCounts(got, s.want) {
			t.Errorf("%s: connections per backend %v, want %v", s.name, got, s.want)
		}
	}

	stats, err := e.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 {
		t.Fatalf("stats for %d rules, want 1", len(stats))
	}
	st := stats[0]
	if st.TotalConns != 40 || st.Servers != 1 {
		t.Errorf("rule stats: %d connections, %d usable servers; want 40, 1", st.TotalConns, st.Servers)
	}
	wantConns := map[string]uint64{"_web.0": 20, "_web.1": 20}
	for _, ss := range st.PerServer {
		if ss.TotalConns != wantConns[ss.ID] {
			t.Errorf("server %s: %d connections, want %d", ss.ID, ss.TotalConns, wantConns[ss.ID])
		}
		// A TCP exchange is at least SYN, ACK, data, FIN, ACK one way and
		// SYN-ACK, ACK, data, FIN the other.
		if ss.Processed.Packets < 8*ss.TotalConns || ss.Processed.Bytes == 0 {
			t.Errorf("server %s: %d packets for %d connections", ss.ID, ss.Processed.Packets, ss.TotalConns)
		}
	}
	if st.Processed.Packets != st.PerServer[0].Processed.Packets+st.PerServer[1].Processed.Packets {
		t.Errorf("rule packets %d are not the sum of its servers'", st.Processed.Packets)
	}
}

func TestSystemHashIPKeepsClient(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Algorithm = HashIP }))
	for _, src := range []string{"198.18.1.2", "198.18.1.3"} {
		got := l.spread(t, 8, addr(src), netip.AddrPortFrom(vip, 80), src)
		if len(got) != 1 {
			t.Errorf("client %s spread over %v, want one backend", src, got)
		}
	}
}

func TestSystemPersistence(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	// Round robin would alternate; persistence with /24 keeps both client
	// addresses on the backend the first connection got.
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Persist, r.PersistMask = true, 24 }))
	dst := netip.AddrPortFrom(vip, 80)
	first := l.tcpAsk(t, addr("198.18.1.2"), dst).backend
	got := l.spread(t, 5, addr("198.18.1.2"), dst, "198.18.1.2")
	for k, v := range l.spread(t, 5, addr("198.18.1.3"), dst, "198.18.1.3") {
		got[k] += v
	}
	if !sameCounts(got, map[string]int{first: 10}) {
		t.Errorf("connections of the /24 went to %v, want all to %s", got, first)
	}
	// Disabling the remembered server moves the prefix, and it stays moved.
	id := "_web.0"
	other := "b2"
	if first == "b2" {
		id, other = "_web.1", "b1"
	}
	mustUpdate(t, e, func(c *Config) error { return c.SetServerEnabled(id, false) })
	if got := l.spread(t, 4, addr("198.18.1.2"), dst, "198.18.1.2"); !sameCounts(got, map[string]int{other: 4}) {
		t.Errorf("after disabling %s: %v, want all to %s", id, got, other)
	}
	mustUpdate(t, e, func(c *Config) error { return c.SetServerEnabled(id, true) })
	if got := l.spread(t, 4, addr("198.18.1.2"), dst, "198.18.1.2"); !sameCounts(got, map[string]int{other: 4}) {
		t.Errorf("after enabling %s again: %v, want the new server %s kept", id, got, other)
	}
}

func TestSystemNATProxySource(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) {
		r.Topology, r.ProxySrc = NAT, AddrRange{First: addr("198.18.8.1")}
	}))
	got := l.spread(t, 4, addr("198.18.1.2"), netip.AddrPortFrom(vip, 80), "198.18.8.1")
	if !sameCounts(got, map[string]int{"b1": 2, "b2": 2}) {
		t.Errorf("connections per backend %v, want 2/2", got)
	}
}

func TestSystemUDPRule(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 5353}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("dns", 53, func(r *Rule) { r.Protocol = UDP }))
	got := map[string]int{}
	for range 4 {
		a := l.udpAsk(t, netip.AddrPortFrom(vip, 53))
		if a.peer != "198.18.1.2" {
			t.Errorf("backend saw %s, want the client", a.peer)
		}
		got[a.backend]++
	}
	if !sameCounts(got, map[string]int{"b1": 2, "b2": 2}) {
		t.Errorf("datagrams per backend %v, want 2/2", got)
	}
	stats, err := e.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// Each flow: one datagram each way.
	if st := stats[0]; st.TotalConns != 4 || st.Processed.Packets != 8 {
		t.Errorf("UDP rule: %d flows, %d packets; want 4, 8", st.TotalConns, st.Processed.Packets)
	}
}

// TestSystemPersistenceExpires: the /24 stays on its backend while the
// persistence entry lives and the entry is gone once persist-timeout has
// passed without traffic.
func TestSystemPersistenceExpires(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Persist, r.PersistMask, r.PersistTimeout = true, 24, 2 }))
	dst := netip.AddrPortFrom(vip, 80)
	first := l.tcpAsk(t, addr("198.18.1.2"), dst).backend
	if got := l.spread(t, 4, addr("198.18.1.3"), dst, "198.18.1.3"); !sameCounts(got, map[string]int{first: 4}) {
		t.Fatalf("within persist-timeout the /24 went to %v, want all to %s", got, first)
	}
	entries, err := e.PersistEntries("web")
	if err != nil || len(entries) != 1 || entries[0].Prefix != netip.MustParsePrefix("198.18.1.0/24") || entries[0].Remaining > 2*time.Second {
		t.Fatalf("persistence entries %+v (%v), want one for 198.18.1.0/24 with at most 2 s left", entries, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err = e.PersistEntries("web")
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("persistence entry still there 5 s after a 2 s persist-timeout: %+v", entries)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
