package bench

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"tapagent/internal/netlab"
	"tapagent/lb"
)

// Workload of the ILB figures.
var (
	flagILBServers   = flag.Int("ilb-servers", 10_000, "servers programmed in one ILB update (groups of at most 1,000, one rule each)")
	flagILBRequests  = flag.Int("ilb-requests", 3000, "short TCP connections per ILB / plain dnat run (at most 4,000: client ports)")
	flagILBRounds    = flag.Int("ilb-rounds", 3, "rounds of the request figure, each an ILB run then a plain dnat run")
	flagILBClients   = flag.Int("ilb-clients", 4, "concurrent clients of the request figure")
	flagILBHCServers = flag.Int("ilb-hc-servers", 1000, "servers health-checked for the CPU figure")
	flagILBHCWindow  = flag.Duration("ilb-hc-window", 3*time.Second, "CPU measurement window of the health check figure")
)

// ilbRunLimit bounds one request run however slow the machine is.
const ilbRunLimit = 30 * time.Second

// BenchmarkILBProgram times one lb.Engine.Update that creates
// -ilb-servers servers in groups of 1,000 with one HALF-NAT roundrobin
// rule each (one nftables transaction), then the Update that deletes
// them all again, in a namespace of its own.
func BenchmarkILBProgram(b *testing.B) {
	recordLoad("ilb-program")
	n := *flagILBServers
	if n < 1 || n > 100*lb.MaxServersInGroup {
		b.Fatalf("-ilb-servers %d: need 1 to %d", n, 100*lb.MaxServersInGroup)
	}
	l := &ilbLab{Lab: netlab.New(b)}
	l.lb = l.AddNS("lb")
	e := l.engine(b)
	groups := groupsFor(serverAddrs(netip.MustParseAddr("198.18.64.1"), n))
	create := func(c *lb.Config) error {
		for i, g := range groups {
			name := fmt.Sprintf("g%d", i)
			if err := c.CreateGroup(name); err != nil {
				return err
			}
			for _, a := range g {
				if _, err := c.AddServer(name, lb.Server{Addr: a, Ports: lb.PortRange{Min: ilbBackendPort}, Enabled: true}); err != nil {
					return err
				}
			}
			r := lb.NewRule(name)
			r.VIP, r.Ports, r.Topology, r.ServerGroup, r.Enabled = ilbVIP, lb.PortRange{Min: uint16(1000 + i)}, lb.HalfNAT, name, true
			if err := c.CreateRule(r); err != nil {
				return err
			}
		}
		return nil
	}
	remove := func(c *lb.Config) error {
		for i := range groups {
			name := fmt.Sprintf("g%d", i)
			if err := c.DeleteRule(name); err != nil {
				return err
			}
			if err := c.DeleteGroup(name); err != nil {
				return err
			}
		}
		return nil
	}
	fig := ilbProgramFigure{servers: n, groups: len(groups)}
	start := time.Now()
	if err := e.Update(create); err != nil {
		b.Fatalf("program %d servers: %v", n, err)
	}
	fig.program = time.Since(start)
	stats, err := e.Stats()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range stats {
		fig.usable += s.Servers
	}
	start = time.Now()
	fig.removeErr = e.Update(remove)
	fig.remove = time.Since(start)
	recordILBProgram(fig)
	if fig.removeErr != nil {
		b.Errorf("remove %d servers: %v", n, fig.removeErr)
	}
	if fig.usable != n {
		b.Errorf("the kernel counts %d usable servers after programming %d", fig.usable, n)
	}
	b.ReportMetric(fig.program.Seconds(), "s-program")
}

// BenchmarkILBRequests compares short TCP connections per second from a
// client namespace to a VIP through the lb namespace, balanced over two
// backends: by the engine's HALF-NAT roundrobin rule, and by a plain
// nft dnat rule (numgen over the same two backends) in the same
// namespace. Both are in place all along, on two VIPs, so that each
// variant's packets also pass the other's nat chain (one lookup that
// misses); rounds alternate an ILB run and a plain run.
func BenchmarkILBRequests(b *testing.B) {
	recordLoad("ilb-requests")
	total, rounds, clients := *flagILBRequests, *flagILBRounds, *flagILBClients
	if total < clients || total > 4000 || rounds < 1 || rounds > 50 || clients < 1 || clients > 64 {
		b.Fatalf("-ilb-requests %d, -ilb-rounds %d, -ilb-clients %d: need 1 to 64 clients, clients to 4,000 requests and 1 to 50 rounds", total, rounds, clients)
	}
	// A source address per run, warm-ups included (see runRequests).
	l := newILBLab(b, 2, 2*(rounds+1))
	srcs := l.clientIPs
	for i, ns := range l.backends {
		serveName(b, ns, fmt.Sprintf("b%d", i+1), ilbBackendPort)
	}
	e := l.engine(b)
	if err := e.Update(func(c *lb.Config) error {
		if err := c.CreateGroup("web"); err != nil {
			return err
		}
		for _, a := range l.backendIPs {
			if _, err := c.AddServer("web", lb.Server{Addr: a, Ports: lb.PortRange{Min: ilbBackendPort}, Enabled: true}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := e.Update(func(c *lb.Config) error {
		r := lb.NewRule("web")
		r.VIP, r.Ports, r.Topology, r.ServerGroup, r.Enabled = ilbVIP, lb.PortRange{Min: ilbVIPPort}, lb.HalfNAT, "web", true
		return c.CreateRule(r)
	}); err != nil {
		b.Fatal(err)
	}
	if err := nft(l.lb, plainDNATRuleset(plainVIP, ilbVIPPort, l.backendIPs, ilbBackendPort), "-f", "-"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nft(l.lb, "", "delete", "table", "ip", plainDNATTable) })

	variants := []struct {
		name string
		dst  netip.AddrPort
	}{
		{"ILB HALF-NAT", netip.AddrPortFrom(ilbVIP, ilbVIPPort)},
		{"plain dnat", netip.AddrPortFrom(plainVIP, ilbVIPPort)},
	}
	// Warm-up: first connections, neighbour and route caches.
	for _, v := range variants {
		var src netip.Addr
		src, srcs = srcs[0], srcs[1:]
		if w := l.runRequests(2*clients, clients, src, v.dst, ilbRunLimit); w.ok != w.sent {
			b.Fatalf("warm-up through %s: %d of %d connections answered: %v", v.name, w.ok, w.sent, w.firstErr)
		}
	}
	fig := ilbRequestFigure{requests: total, clients: clients}
	for round := 1; round <= rounds; round++ {
		for _, v := range variants {
			var src netip.Addr
			src, srcs = srcs[0], srcs[1:]
			run := l.runRequests(total, clients, src, v.dst, ilbRunLimit)
			fig.runs = append(fig.runs, ilbRequestRun{round: round, variant: v.name, requestRun: run})
			if run.failed > 0 {
				b.Errorf("round %d, %s: %d of %d connections failed, first: %v", round, v.name, run.failed, run.sent, run.firstErr)
			}
			if len(run.perBackend) != len(l.backends) {
				b.Errorf("round %d, %s: answers per backend %v, want all %d backends", round, v.name, run.perBackend, len(l.backends))
			}
		}
	}
	recordILBRequests(fig)
	for _, v := range []string{"ILB HALF-NAT", "plain dnat"} {
		b.Run(strings.ReplaceAll(v, " ", "-"), func(b *testing.B) { b.ReportMetric(fig.median(v), "req/s") })
	}
}

// BenchmarkILBHealthCheckCPU measures the CPU the engine spends health
// checking -ilb-hc-servers servers at a 1 s interval: TCP connects
// alone, then with the default ping first. The servers are addresses on
// one backend's loopback, answered by an acceptor in another process
// (this binary, see ilbAcceptorEnv); the figure is the CPU of this
// process, which only runs the engine, over the window. In a veth lab
// the kernel runs the servers' side of each probe (SYN-ACK, echo reply)
// in the prober's context: an upper bound of the engine's cost.
func BenchmarkILBHealthCheckCPU(b *testing.B) {
	recordLoad("ilb-hc")
	n, window := *flagILBHCServers, *flagILBHCWindow
	if n < 1 || n > lb.MaxServersInGroup || window < 1500*time.Millisecond || window > time.Minute {
		b.Fatalf("-ilb-hc-servers %d, -ilb-hc-window %v: need 1 to %d servers and 1.5 s to 1 min", n, window, lb.MaxServersInGroup)
	}
	l := newILBLab(b, 1, 1)
	be := l.backends[0]
	servers := serverAddrs(netip.MustParseAddr("198.18.16.1"), n)
	var batch strings.Builder
	for _, a := range servers {
		fmt.Fprintf(&batch, "addr add %s/32 dev lo\n", a)
	}
	cmd := be.Command("ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("server addresses: %v: %s", err, out)
	}
	l.AddRoute(l.lb, netip.PrefixFrom(servers[0], 32-bitsFor(n)).Masked().String(), l.backendIPs[0])
	acc := be.Command(os.Args[0])
	acc.Env = append(os.Environ(), fmt.Sprintf("%s=%d", ilbAcceptorEnv, ilbBackendPort))
	if err := acc.Start(); err != nil {
		b.Fatalf("acceptor: %v", err)
	}
	b.Cleanup(func() { acc.Process.Kill(); acc.Wait() })
	waitUntil(b, 5*time.Second, "the acceptor", func() bool {
		out, _ := be.Command("ss", "-Hltn", fmt.Sprintf("sport = :%d", ilbBackendPort)).Output()
		return strings.Contains(string(out), fmt.Sprint(ilbBackendPort))
	})

	e := l.engine(b)
	if err := e.Update(func(c *lb.Config) error {
		if err := c.CreateGroup("big"); err != nil {
			return err
		}
		for _, a := range servers {
			if _, err := c.AddServer("big", lb.Server{Addr: a, Ports: lb.PortRange{Min: ilbBackendPort}, Enabled: true}); err != nil {
				return err
			}
		}
		hc := lb.NewHealthCheck("hc", lb.HCTCP)
		hc.Interval, hc.Count, hc.DefaultPing = 1, 3, false
		if err := c.CreateHealthCheck(hc); err != nil {
			return err
		}
		r := lb.NewRule("big")
		r.VIP, r.Ports, r.Topology, r.ServerGroup, r.Enabled, r.HCName = ilbVIP, lb.PortRange{Min: ilbVIPPort}, lb.HalfNAT, "big", true, "hc"
		return c.CreateRule(r)
	}); err != nil {
		b.Fatal(err)
	}
	for _, ping := range []bool{false, true} {
		if ping {
			if err := e.Update(func(c *lb.Config) error { c.HealthCheck("hc").DefaultPing = true; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		waitUntil(b, 15*time.Second, fmt.Sprintf("%d servers alive", n), func() bool { return countAlive(e, "big", time.Time{}) == n })
		w0, c0 := time.Now(), processCPU()
		time.Sleep(window)
		c1, w1 := processCPU(), time.Now()
		fig := ilbHCFigure{servers: n, ping: ping, window: w1.Sub(w0), cpu: c1 - c0,
			checked: countAlive(e, "big", w0), alive: countAlive(e, "big", time.Time{})}
		recordILBHC(fig)
		if fig.alive != n {
			b.Errorf("%d of %d servers alive after the window", fig.alive, n)
		}
		b.Run(fig.test(), func(b *testing.B) { b.ReportMetric(100*fig.share(), "%-core") })
	}
}

// bitsFor is the number of host bits a prefix needs to hold n addresses
// counted from a multiple of its size plus one.
func bitsFor(n int) int {
	bits := 0
	for 1<<bits < n+1 {
		bits++
	}
	return bits
}

// countAlive counts the rule's servers alive with a check ended after since.
func countAlive(e *lb.Engine, rule string, since time.Time) int {
	k := 0
	for _, r := range e.HealthResults(rule) {
		if r.State == lb.HealthAlive && r.LastCheck.After(since) {
			k++
		}
	}
	return k
}

func waitUntil(b *testing.B, timeout time.Duration, what string, ok func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
