package e2e

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tapagent/internal/netlab"
	"tapagent/internal/testbed"
)

// The ILB data plane end to end: tapagent --ilb runs in the load
// balancer's namespace behind snmpd, everything is configured with the
// ilbadm binary over SNMPv3, and real TCP and UDP traffic goes from a
// client namespace through the VIP to two backend namespaces.
//
//	client eth0 198.18.1.2/24 (and .3) — eth1 198.18.1.1  lb (forwarding)
//	b1     eth0 198.18.2.2/24          — eth2 198.18.2.1  lb
//	b2     eth0 198.18.3.2/24          — eth3 198.18.3.1  lb
//
// Everybody routes via lb, so the VIP and the proxy-src addresses reach
// it without lb owning them. Backends answer TCP 8080 and UDP 5353 with
// "NAME PEER-ADDRESS"; a TCP backend keeps the connection until the
// client closes it (show-nat needs live connections).

const ilbVIP = "198.18.9.1"

type ilbTrafficLab struct {
	lab      *netlab.Lab
	lb       *netlab.NS
	client   *netlab.NS
	backends []*ilbBackend
}

// ilbBackend is one backend namespace with a TCP listener that the test
// can take away and bring back.
type ilbBackend struct {
	name string
	ns   *netlab.NS
	mu   sync.Mutex
	ln   net.Listener
}

func newILBTrafficLab(t *testing.T) *ilbTrafficLab {
	t.Helper()
	l := &ilbTrafficLab{lab: netlab.New(t)}
	l.lb = l.lab.AddNS("lb")
	l.lab.EnableForwarding(l.lb)
	link := func(role string, net int, extra ...string) *netlab.NS {
		ns := l.lab.AddNS(role)
		h, g := l.lab.Veth(ns, "eth0", l.lb, fmt.Sprintf("eth%d", net))
		l.lab.AddAddr(g, fmt.Sprintf("198.18.%d.1/24", net))
		l.lab.AddAddr(h, append([]string{fmt.Sprintf("198.18.%d.2/24", net)}, extra...)...)
		l.lab.LinkUp(h, g)
		for _, p := range h.Addrs {
			l.lab.AddNeighbor(g, p.Addr(), h.MAC)
		}
		l.lab.AddNeighbor(h, g.IPv4(), g.MAC)
		l.lab.AddRoute(ns, "0.0.0.0/0", g.IPv4())
		return ns
	}
	l.client = link("client", 1, "198.18.1.3/24")
	for i := range 2 {
		b := &ilbBackend{name: fmt.Sprintf("b%d", i+1), ns: link(fmt.Sprintf("b%d", i+1), i+2)}
		b.listen(t)
		ilbServeUDP(t, b)
		t.Cleanup(b.stop)
		l.backends = append(l.backends, b)
	}
	for _, ns := range []*netlab.NS{l.lb, l.client, l.backends[0].ns, l.backends[1].ns} {
		ilbWaitLinksUp(t, ns)
	}
	return l
}

// ilbWaitLinksUp waits until every veth of ns is up: before that their
// queue discards what is sent.
func ilbWaitLinksUp(t *testing.T, ns *netlab.NS) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := ns.Command("ip", "-o", "link", "show", "type", "veth").CombinedOutput()
		if err != nil {
			t.Fatalf("ip link in %s: %v: %s", ns.Name, err, out)
		}
		s := string(out)
		if !strings.Contains(s, "state DOWN") && !strings.Contains(s, "state UNKNOWN") && !strings.Contains(s, "state LOWERLAYERDOWN") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("links of %s not up: %s", ns.Name, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *ilbBackend) listen(t *testing.T) {
	t.Helper()
	var ln net.Listener
	if err := b.ns.Do(func() (err error) { ln, err = net.Listen("tcp4", ":8080"); return }); err != nil {
		t.Fatalf("%s: listen: %v", b.name, err)
	}
	b.mu.Lock()
	b.ln = ln
	b.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s %s\n", b.name, c.RemoteAddr().(*net.TCPAddr).IP)
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				buf := make([]byte, 64)
				for {
					if _, err := c.Read(buf); err != nil {
						return // the client closed (or the test is over)
					}
				}
			}()
		}
	}()
}

// stop closes the listener: new connections are refused.
func (b *ilbBackend) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ln != nil {
		b.ln.Close()
		b.ln = nil
	}
}

func ilbServeUDP(t *testing.T, b *ilbBackend) {
	t.Helper()
	var pc net.PacketConn
	if err := b.ns.Do(func() (err error) { pc, err = net.ListenPacket("udp4", ":5353"); return }); err != nil {
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
			pc.WriteTo([]byte(fmt.Sprintf("%s %s\n", b.name, from.(*net.UDPAddr).IP)), from)
		}
	}()
}

type ilbAnswer struct{ backend, peer string }

func parseAnswer(t *testing.T, line string) ilbAnswer {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("odd answer %q", line)
	}
	return ilbAnswer{f[0], f[1]}
}

// dial opens a TCP connection from src to the VIP port and reads the
// answer; the caller closes the connection.
func (l *ilbTrafficLab) dial(t *testing.T, src string, port int) (net.Conn, ilbAnswer) {
	t.Helper()
	var c net.Conn
	var line string
	err := l.client.Do(func() (err error) {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err = d.Dial("tcp4", net.JoinHostPort(ilbVIP, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		if err != nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("connect %s:%d from %s: %v", ilbVIP, port, src, err)
	}
	return c, parseAnswer(t, line)
}

// spread makes n connections from src to the VIP port, one after the
// other, and counts answers per backend; peerOK checks the source each
// backend saw.
func (l *ilbTrafficLab) spread(t *testing.T, n int, src string, port int, peerOK func(string) bool) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		c, a := l.dial(t, src, port)
		c.Close()
		if !peerOK(a.peer) {
			t.Errorf("port %d: backend %s saw source %s", port, a.backend, a.peer)
		}
		got[a.backend]++
	}
	return got
}

func (l *ilbTrafficLab) udpAsk(t *testing.T, port int) ilbAnswer {
	t.Helper()
	var line string
	err := l.client.Do(func() error {
		c, err := net.Dial("udp4", net.JoinHostPort(ilbVIP, strconv.Itoa(port)))
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
		t.Fatalf("udp %s:%d: %v", ilbVIP, port, err)
	}
	return parseAnswer(t, line)
}

func is(addr string) func(string) bool { return func(s string) bool { return s == addr } }

func sameSplit(a, b map[string]int) bool {
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

// startILBTapagent runs tapagent --ilb in ns with its configuration in
// stateDir and waits until the ILB tree answers through snmpd.
func startILBTapagent(t *testing.T, s *testbed.Snmpd, bin string, ns *netlab.NS, stateDir string) *testbed.Agent {
	t.Helper()
	return testbed.StartAgent(t, s, testbed.AgentOptions{
		Bin:        bin,
		Args:       []string{"--log-level", "info", "--capture", "none", "--ilb", "--ilb-state", stateDir},
		WaitPrefix: ilbTree,
		NetNS:      ns.Name,
	})
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestILBTraffic(t *testing.T) {
	start := time.Now()
	s := testbed.StartSnmpd(t, testbed.Options{})
	l := newILBTrafficLab(t)
	bin := testbed.Build(t, "./cmd/tapagent")
	state := filepath.Join(t.TempDir(), "ilb")
	agent := startILBTapagent(t, s, bin, l.lb, state)
	adm := newIlbadm(t, s)

	const hcTimeout, hcCount, hcInterval = 1, 2, 2
	adm.must(t, "create-servergroup", "-s", "server=198.18.2.2:8080,198.18.3.2:8080", "web")
	adm.must(t, "create-servergroup", "-s", "server=198.18.2.2:5353,198.18.3.2:5353", "dns")
	adm.must(t, "create-healthcheck", "-h", fmt.Sprintf("hc-test=tcp,hc-timeout=%d,hc-count=%d,hc-interval=%d", hcTimeout, hcCount, hcInterval), "hc1")
	adm.must(t, "create-rule", "-e", "-i", "vip="+ilbVIP+",port=80", "-m", "lbalg=rr,type=HALF-NAT",
		"-h", "hc-name=hc1", "-o", "servergroup=web", "rr1")
	adm.must(t, "create-rule", "-e", "-i", "vip="+ilbVIP+",port=81", "-m", "lbalg=hash-ip,type=h", "-o", "servergroup=web", "hip1")
	adm.must(t, "create-rule", "-e", "-i", "vip="+ilbVIP+",port=82", "-m", "lbalg=rr,type=NAT,proxy-src=198.18.8.1-198.18.8.2",
		"-o", "servergroup=web", "nat1")
	adm.must(t, "create-rule", "-e", "-i", "vip="+ilbVIP+",port=53,protocol=udp", "-m", "lbalg=rr,type=HALF-NAT", "-o", "servergroup=dns", "udp1")

	client := "198.18.1.2"
	split := map[string]int{"b1": 5, "b2": 5}
	if got := l.spread(t, 10, client, 80, is(client)); !sameSplit(got, split) {
		t.Errorf("HALF-NAT rr: connections per backend %v, want %v", got, split)
	}
	adm.must(t, "disable-server", "_web.1")
	if got := l.spread(t, 10, client, 80, is(client)); !sameSplit(got, map[string]int{"b1": 10}) {
		t.Errorf("after disable-server _web.1: %v, want all to b1", got)
	}
	adm.must(t, "enable-server", "_web.1")
	if got := l.spread(t, 10, client, 80, is(client)); !sameSplit(got, split) {
		t.Errorf("after enable-server _web.1: %v, want %v", got, split)
	}

	// hash-ip: each client address stays on one backend.
	for _, src := range []string{"198.18.1.2", "198.18.1.3"} {
		if got := l.spread(t, 6, src, 81, is(src)); len(got) != 1 {
			t.Errorf("hash-ip: client %s spread over %v, want one backend", src, got)
		}
	}

	// NAT: backends see a proxy-src address, never the client.
	proxy := func(a string) bool { return a == "198.18.8.1" || a == "198.18.8.2" }
	if got := l.spread(t, 4, client, 82, proxy); !sameSplit(got, map[string]int{"b1": 2, "b2": 2}) {
		t.Errorf("NAT rr: %v, want 2/2", got)
	}

	// show-stats counts what was sent: 4 UDP flows of one datagram each
	// way ("hello" out, "bN 198.18.1.2\n" back; 28 bytes of IPv4 and UDP
	// headers each).
	for range 4 {
		if a := l.udpAsk(t, 53); a.peer != client {
			t.Errorf("UDP: backend %s saw %s, want the client", a.backend, a.peer)
		}
	}
	wantStats := fmt.Sprintf("%d:%d", 8, 4*(28+5)+4*(28+14))
	var stats string
	if !waitFor(3*time.Second, func() bool {
		stats = strings.TrimSpace(adm.must(t, "show-stats", "-A", "-r", "udp1", "-p", "-o", "PKT_P,BYTES_P"))
		return stats == wantStats
	}) {
		t.Errorf("show-stats -r udp1 PKT_P:BYTES_P = %q, want %q", stats, wantStats)
	}

	// show-persist lists the /24 a persistent rule remembers.
	adm.must(t, "create-rule", "-e", "-p", "-i", "vip="+ilbVIP+",port=83", "-m", "lbalg=rr,type=h,pmask=24", "-o", "servergroup=web", "pers1")
	first := l.spread(t, 1, "198.18.1.3", 83, is("198.18.1.3"))
	if got := l.spread(t, 3, client, 83, is(client)); len(got) != 1 || len(first) != 1 || got[firstKey(first)] != 3 {
		t.Errorf("persistence: first connection went to %v, the next of the /24 to %v", first, got)
	}
	wantPersist := "pers1: 198.18.1.0/24 --> 198.18.2.2\n"
	if first["b2"] == 1 {
		wantPersist = "pers1: 198.18.1.0/24 --> 198.18.3.2\n"
	}
	var persist string
	if !waitFor(3*time.Second, func() bool { persist = adm.must(t, "show-persist"); return persist == wantPersist }) {
		t.Errorf("show-persist: %q, want %q", persist, wantPersist)
	}

	// show-nat lists live connections.
	var held []net.Conn
	var heldAns []ilbAnswer
	for range 3 {
		c, a := l.dial(t, client, 80)
		held = append(held, c)
		heldAns = append(heldAns, a)
	}
	var nat string
	missing := func() []string {
		var out []string
		for i, c := range held {
			cl := c.LocalAddr().(*net.TCPAddr).AddrPort()
			srv := "198.18.2.2:8080"
			if heldAns[i].backend == "b2" {
				srv = "198.18.3.2:8080"
			}
			line := fmt.Sprintf("TCP: %s > %s:80 >>> %s > %s", cl, ilbVIP, cl, srv)
			if !strings.Contains(nat, line+"\n") {
				out = append(out, line)
			}
		}
		return out
	}
	if !waitFor(3*time.Second, func() bool { nat = adm.must(t, "show-nat"); return len(missing()) == 0 }) {
		t.Errorf("show-nat lacks %q:\n%s", missing(), nat)
	}
	for _, c := range held {
		c.Close()
	}

	// Health check: b2's listener goes away; the TCP check finds it dead
	// within hc-count × hc-timeout plus an interval (jittered up to 1.5×),
	// and rr1 stops sending it connections.
	l.backends[1].stop()
	killed := time.Now()
	limit := time.Duration(hcCount*hcTimeout)*time.Second + time.Duration(hcInterval)*1500*time.Millisecond + time.Second
	var hc string
	if !waitFor(limit, func() bool { hc = adm.must(t, "show-hc-result", "rr1"); return hcState(hc, "_web.1") == "dead" }) {
		t.Fatalf("show-hc-result after %v says _web.1 is %q, want dead:\n%s", time.Since(killed).Round(time.Millisecond), hcState(hc, "_web.1"), hc)
	}
	t.Logf("_web.1 dead %v after its listener closed (limit %v)", time.Since(killed).Round(time.Millisecond), limit)
	// _web.0 may not have had its first check yet (uninit, still used).
	if !waitFor(limit, func() bool { hc = adm.must(t, "show-hc-result", "rr1"); return hcState(hc, "_web.0") == "alive" }) {
		t.Errorf("show-hc-result: _web.0 is %q, want alive:\n%s", hcState(hc, "_web.0"), hc)
	}
	if got := l.spread(t, 6, client, 80, is(client)); !sameSplit(got, map[string]int{"b1": 6}) {
		t.Errorf("with _web.1 dead: %v, want all to b1", got)
	}
	l.backends[1].listen(t)
	if !waitFor(limit, func() bool { hc = adm.must(t, "show-hc-result", "rr1"); return hcState(hc, "_web.1") == "alive" }) {
		t.Fatalf("show-hc-result: _web.1 is %q after its listener came back, want alive:\n%s", hcState(hc, "_web.1"), hc)
	}

	// A restart of tapagent keeps the rules, and traffic is split again.
	rules := adm.must(t, "show-rule", "-p", "-o", "rulename,status,type,vip,port,servers")
	if err := agent.Stop(); err != nil {
		t.Fatalf("stop tapagent: %v", err)
	}
	startILBTapagent(t, s, bin, l.lb, state)
	if got := adm.must(t, "show-rule", "-p", "-o", "rulename,status,type,vip,port,servers"); got != rules {
		t.Errorf("rules after a restart:\n%s\nbefore:\n%s", got, rules)
	}
	if got := l.spread(t, 10, client, 80, is(client)); !sameSplit(got, split) {
		t.Errorf("after a restart: %v, want %v", got, split)
	}
	t.Logf("ILB traffic e2e took %v", time.Since(start).Round(time.Millisecond))
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// hcState is the STATUS column of server id in show-hc-result output.
func hcState(out, id string) string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == id {
			return f[3]
		}
	}
	return ""
}
