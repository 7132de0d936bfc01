package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tapagent/internal/netlab"
	"tapagent/lb"
)

// The ILB lab's addresses: the engine's VIP, the plain dnat baseline's
// VIP and the backends' service port.
var (
	ilbVIP   = netip.MustParseAddr("198.18.9.1")
	plainVIP = netip.MustParseAddr("198.18.9.2")
)

const (
	ilbVIPPort     = 80
	ilbBackendPort = 8080
)

// ilbLab is client — lb — backends b1 and b2, each on its own /24:
//
//	client eth0 198.18.1.2/24 — eth1 198.18.1.1  lb (forwarding)
//	b1     eth0 198.18.2.2/24 — eth2 198.18.2.1  lb
//	b2     eth0 198.18.3.2/24 — eth3 198.18.3.1  lb
//
// Everybody routes via lb, so the VIP reaches lb without lb owning it.
type ilbLab struct {
	*netlab.Lab
	client, lb *netlab.NS
	backends   []*netlab.NS
	backendIPs []netip.Addr
	clientIPs  []netip.Addr // the client's addresses, the first its own
}

// newILBLab builds the lab with the client holding clientIPs addresses
// (198.18.1.2 and up; at most 200).
func newILBLab(b *testing.B, backends, clientIPs int) *ilbLab {
	b.Helper()
	l := &ilbLab{Lab: netlab.New(b)}
	l.lb = l.AddNS("lb")
	l.EnableForwarding(l.lb)
	link := func(role string, net, addrs int) (*netlab.NS, []netip.Addr) {
		ns := l.AddNS(role)
		h, g := l.Veth(ns, "eth0", l.lb, fmt.Sprintf("eth%d", net))
		l.AddAddr(g, fmt.Sprintf("198.18.%d.1/24", net))
		var prefixes []string
		for i := range addrs {
			prefixes = append(prefixes, fmt.Sprintf("198.18.%d.%d/24", net, 2+i))
		}
		l.AddAddr(h, prefixes...)
		l.LinkUp(h, g)
		var ips []netip.Addr
		for _, p := range h.Addrs {
			l.AddNeighbor(g, p.Addr(), h.MAC)
			ips = append(ips, p.Addr())
		}
		l.AddNeighbor(h, g.IPv4(), g.MAC)
		l.AddRoute(ns, "0.0.0.0/0", g.IPv4())
		return ns, ips
	}
	l.client, l.clientIPs = link("client", 1, max(clientIPs, 1))
	for i := range backends {
		ns, ips := link(fmt.Sprintf("b%d", i+1), i+2, 1)
		l.backends = append(l.backends, ns)
		l.backendIPs = append(l.backendIPs, ips[0])
	}
	return l
}

// engine starts the lb engine in-process on the lab's lb namespace.
func (l *ilbLab) engine(b *testing.B) *lb.Engine {
	b.Helper()
	e, err := lb.New(lb.Options{NetNS: "/var/run/netns/" + l.lb.Name})
	if err != nil {
		b.Fatalf("lb.New: %v", err)
	}
	b.Cleanup(func() {
		e.Remove()
		e.Close()
	})
	return e
}

// serveName answers every TCP connection on port in ns with the
// backend's name and closes it; it runs until the benchmark ends.
func serveName(b *testing.B, ns *netlab.NS, name string, port int) {
	b.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port)); return }); err != nil {
		b.Fatalf("listen in %s: %v", ns.Name, err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, name)
			c.Close()
		}
	}()
}

// requestRun is one run of short TCP connections to the VIP.
type requestRun struct {
	sent, ok, failed int
	elapsed          time.Duration
	perBackend       map[string]int
	firstErr         error
}

func (r requestRun) rate() float64 { return PerSecond(r.ok, r.elapsed) }

// requestTimeout bounds one connection: connect, read the answer, close.
const requestTimeout = 2 * time.Second

// runRequests makes total connections from src to dst in the client
// namespace, over workers concurrent clients, and stops early after
// limit. Each run should have a source address of its own: the backends
// keep the closed connections in TIME_WAIT, and a run from the same
// address to another VIP picks client ports independently, so it would
// meet them (a SYN refused by a TIME_WAIT socket waits a second).
func (l *ilbLab) runRequests(total, workers int, src netip.Addr, dst netip.AddrPort, limit time.Duration) requestRun {
	var next atomic.Int64
	var mu sync.Mutex
	run := requestRun{perBackend: map[string]int{}}
	start := time.Now()
	stopAt := start.Add(limit)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			counts := map[string]int{}
			var sent, failed int
			var firstErr error
			err := l.client.Do(func() error {
				for next.Add(1) <= int64(total) && time.Now().Before(stopAt) {
					sent++
					name, err := askName(src, dst)
					if err != nil {
						failed++
						if firstErr == nil {
							firstErr = err
						}
						continue
					}
					counts[name]++
				}
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			run.sent += sent
			run.failed += failed
			for k, v := range counts {
				run.perBackend[k] += v
				run.ok += v
			}
			run.firstErr = errors.Join(run.firstErr, err, firstErr)
		})
	}
	wg.Wait()
	run.elapsed = time.Since(start)
	return run
}

// askName makes one connection and reads the backend's one-line answer.
func askName(src netip.Addr, dst netip.AddrPort) (string, error) {
	d := net.Dialer{Timeout: requestTimeout, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := d.Dial("tcp4", dst.String())
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", dst, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(requestTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", dst, err)
	}
	return strings.TrimSpace(line), nil
}

// plainDNATTable is the baseline's nftables table.
const plainDNATTable = "bench_plain_dnat"

// plainDNATRuleset is the hand-written baseline: one nat prerouting rule
// that sends new connections to vip:vport round robin (numgen inc) over
// the backends, like the ILB rule's roundrobin, without its counters,
// connection marks or slot maps.
func plainDNATRuleset(vip netip.Addr, vport uint16, backends []netip.Addr, port uint16) string {
	var elems []string
	for i, a := range backends {
		elems = append(elems, fmt.Sprintf("%d : %s", i, a))
	}
	return fmt.Sprintf(`table ip %s {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr %s tcp dport %d dnat to numgen inc mod %d map { %s } : %d
	}
}
`, plainDNATTable, vip, vport, len(backends), strings.Join(elems, ", "), port)
}

// nft runs nft in ns with stdin.
func nft(ns *netlab.NS, stdin string, args ...string) error {
	cmd := ns.Command("nft", args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft %s in %s: %w: %s", strings.Join(args, " "), ns.Name, err, out)
	}
	return nil
}

// ilbAcceptorEnv makes the bench test binary a bare TCP acceptor on the
// port it names (see init): the health check figure runs the servers'
// side in another process so that it is not charged to the engine.
const ilbAcceptorEnv = "TAPAGENT_BENCH_ILB_ACCEPTOR_PORT"

func init() {
	port := os.Getenv(ilbAcceptorEnv)
	if port == "" {
		return
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptor:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	}
}

// serverAddrs are n consecutive IPv4 addresses from first.
func serverAddrs(first netip.Addr, n int) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	for a := first; len(out) < n; a = a.Next() {
		out = append(out, a)
	}
	return out
}

// groupsFor spreads servers over groups of at most lb.MaxServersInGroup.
func groupsFor(servers []netip.Addr) [][]netip.Addr {
	var out [][]netip.Addr
	for len(servers) > 0 {
		k := min(len(servers), lb.MaxServersInGroup)
		out = append(out, servers[:k])
		servers = servers[k:]
	}
	return out
}
