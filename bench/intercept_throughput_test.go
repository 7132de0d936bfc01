package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/intercept"
	"tapagent/intercept/capture"
	"tapagent/intercept/classify"
	"tapagent/intercept/dataplane"
	"tapagent/intercept/deliver"
	"tapagent/internal/netlab"
	"tapagent/internal/testbed"
)

// Workload of the throughput figure.
var (
	flagInterceptPackets = flag.Int("intercept-packets", 300_000, "packets per run of the intercept throughput figure (at most 1,000,000)")
	flagInterceptRounds  = flag.Int("intercept-rounds", 3, "rounds of the throughput figure, each a bare-reader run then a tapagent run")
	flagInterceptDrain   = flag.Int("intercept-drain", 50_000, "packets queued in tapagent's ring while it is stopped, for its drain rate")
	flagInterceptGen     = flag.String("intercept-generator", "auto", "traffic generator: trafgen, flood (netlab.FloodUDP) or auto (trafgen when installed)")
)

// The tap of the throughput figure: MD row and stream 1 of this ContentId.
const (
	throughputCCCID = 7
	// captureIf is where both readers capture: the router's link to h1,
	// where the flow arrives. Each packet is read once; with every
	// interface it would also be read leaving towards h2.
	captureIf = "eth1"
	// flowPayload makes 60-byte frames (64 with FCS): the most packets
	// per second a link carries.
	flowPayload = 18
	// settleQuiet is how long no datagram may arrive before a run ends.
	settleQuiet = 500 * time.Millisecond
)

// BenchmarkInterceptThroughput measures, in a netlab RouterLab, how many
// packets per second tapagent intercepts and delivers to the mediation
// device against a bare AF_PACKET reader that only counts, on the same
// traffic: one UDP flow h1 → router → h2 from the same generator, the
// same count, both readers on the router's eth1 with the same kernel
// pre-filter (the one tapagent builds for the tap). Rounds alternate a
// bare run (tapagent's stream disabled, so its filter takes nothing) and
// a tapagent run, so that both see the same machine load. Around them it
// measures the MD path alone (a deliver.Sender in the router sending to
// the MD receiver, no capture) and tapagent's own capacity: it is stopped
// (SIGSTOP) while its ring fills, then timed draining it, a rate no
// generator limits.
func BenchmarkInterceptThroughput(b *testing.B) {
	recordLoad("intercept")
	packets, rounds := *flagInterceptPackets, *flagInterceptRounds
	if packets < 1000 || packets > netlab.MaxCount || rounds < 1 {
		b.Fatalf("-intercept-packets %d, -intercept-rounds %d: need 1,000 to %d packets and a round", packets, rounds, netlab.MaxCount)
	}
	r := netlab.NewRouterLab(b)
	flow := udpFlow{
		srcMAC: r.H1.If.MAC, dstMAC: r.RouterH1.MAC,
		src:     netip.AddrPortFrom(r.H1.If.IPv4(), 40000),
		dst:     netip.AddrPortFrom(r.H2.If.IPv4(), 9), // discard
		payload: flowPayload,
	}
	gen := chooseGenerator(b, r, flow)
	fig := throughputFigure{generator: gen.name(), packets: packets, rounds: rounds, flow: flow, captureIf: captureIf}
	pkt, err := flow.ipPacket()
	if err != nil {
		b.Fatal(err)
	}
	fig.frameLen = len(pkt) + 14

	// The generator's first start and cold caches are not part of a figure.
	if _, _, err := gen.send(1000); err != nil {
		b.Fatal(err)
	}
	fig.mdPath = measureMDPath(b, r, len(pkt), packets)
	ta := startThroughputTapagent(b, r, flow)
	for round := 1; round <= rounds; round++ {
		ta.enable(b, false)
		bare := measureBare(b, r, gen, flow, packets)
		if n := ta.recv.Count() - ta.delivered; n != 0 {
			b.Fatalf("tapagent delivered %d copies while its stream was disabled", n)
		}
		ta.enable(b, true)
		atMD, counter := ta.measure(b, gen, packets)
		for _, run := range []*readerRun{&bare, &atMD, &counter} {
			run.round = round
			fig.runs = append(fig.runs, *run)
		}
	}
	fig.drain = ta.measureDrain(b, gen)
	ta.enable(b, false)
	fig.bareDrain = measureBareDrain(b, r, gen, flow, *flagInterceptDrain)
	recordThroughput(fig)

	for _, name := range []string{"bare", "tapagent-md", "tapagent-counter"} {
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(fig.median(name), "pkts/s")
		})
	}
}

// chooseGenerator picks the traffic generator for -intercept-generator.
func chooseGenerator(b *testing.B, r *netlab.RouterLab, flow udpFlow) generator {
	b.Helper()
	flood := &flooder{ns: r.H1.NS, flow: flow}
	use := *flagInterceptGen
	if use == "auto" {
		use = "trafgen"
		if _, err := exec.LookPath("trafgen"); err != nil {
			recordNote("trafgen (Debian netsniff-ng) is not installed: intercept traffic comes from netlab.FloodUDP, a slower generator")
			use = "flood"
		}
	}
	switch use {
	case "flood":
		return flood
	case "trafgen":
		t, err := newTrafgen(r.H1.NS, r.H1.If.Name, b.TempDir(), flow)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	b.Fatalf("-intercept-generator %q: %v", use, errNoGenerator)
	return nil
}

// flowTap is the tap of the figure as the engine arms it: every IPv4
// packet to h2, delivered to the MD receiver.
func flowTap(flow udpFlow, md netip.AddrPort) intercept.Tap {
	t := armedIPTap(throughputCCCID, 1, func(f *intercept.IPFilter) { f.Dst = netip.PrefixFrom(flow.dst.Addr(), 32) })
	t.Mediation.DestAddr, t.Mediation.DestPort = md.Addr(), md.Port()
	return t
}

// measureMDPath sends count copies of pktLen bytes from the router to a
// receiver in the MD namespace as fast as one deliver.Sender goes: what
// the path behind tapagent carries at most.
func measureMDPath(b *testing.B, r *netlab.RouterLab, pktLen, count int) mdPathFigure {
	b.Helper()
	recv := listenMD(b, r)
	var s *deliver.Sender
	err := r.Router.Do(func() (err error) {
		s, err = deliver.NewSender(deliver.Target{ContentID: throughputCCCID,
			Dest: netip.AddrPortFrom(r.MD.If.IPv4(), recv.Port()), DSCP: intercept.DefaultDSCP}, deliver.Options{})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := make([]byte, pktLen)
	watch := watchArrivals(recv)
	fig := mdPathFigure{copies: count}
	start := time.Now()
	for range count {
		switch err := s.Send(payload); {
		case err == nil:
			fig.accepted++
		case errors.Is(err, deliver.ErrDropped):
			fig.dropped++
		default:
			b.Fatalf("MD path: %v", err)
		}
	}
	fig.sendTime = time.Since(start)
	n, first, last := watch.settle(context.Background(), int64(fig.accepted), settleQuiet, 30*time.Second)
	fig.received, fig.recvRate = uint64(n), rateBetween(uint64(n), first, last)
	return fig
}

// listenMD opens a UDP receiver in the MD namespace, closed at the end.
func listenMD(b *testing.B, r *netlab.RouterLab) *netlab.UDPReceiver {
	b.Helper()
	recv, err := r.MD.ListenUDP(0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := recv.Close(); err != nil {
			b.Errorf("MD receiver: %v", err)
		}
	})
	return recv
}

// measureBare counts the flow with capture.BareReader in the router,
// filtered by the BPF program tapagent would install for the tap.
func measureBare(b *testing.B, r *netlab.RouterLab, gen generator, flow udpFlow, packets int) readerRun {
	b.Helper()
	br := openBare(b, r, flow)
	defer br.Close()

	type result struct {
		c   capture.BareCount
		err error
	}
	genDone := make(chan struct{})
	counted := make(chan result, 1)
	go func() {
		var total capture.BareCount
		deadline := time.Now().Add(generatorBound + 10*time.Second)
		for total.Packets < uint64(packets) && time.Now().Before(deadline) {
			c, err := br.Count(uint64(packets) - total.Packets)
			if err != nil {
				counted <- result{total, err}
				return
			}
			if c.Packets == 0 {
				select {
				case <-genDone: // the generator is done and nothing came for a poll
					counted <- result{total, nil}
					return
				default:
					continue
				}
			}
			if total.Packets == 0 {
				total.First = c.First
			}
			total.Packets += c.Packets
			total.Last = c.Last
		}
		counted <- result{total, nil}
	}()
	sent, elapsed, err := gen.send(packets)
	close(genDone)
	res := <-counted
	if err != nil {
		b.Fatal(err)
	}
	if res.err != nil {
		b.Fatalf("bare reader: %v", res.err)
	}
	st, err := br.Stats()
	if err != nil {
		b.Fatal(err)
	}
	return readerRun{
		reader: "bare AF_PACKET reader, counts only", metricName: "bare",
		sent: sent, genTime: elapsed, handled: res.c.Packets, ringDrops: st.Drops,
		first: res.c.First, last: res.c.Last,
	}
}

// openBare opens a BareReader in the router with tapagent's ring, kernel
// prologue (which leaves out its own deliveries by mark) and the BPF
// program tapagent would install for the flow's tap.
func openBare(b *testing.B, r *netlab.RouterLab, flow udpFlow) *capture.BareReader {
	b.Helper()
	cls := classify.Build(classify.Config{Taps: []intercept.Tap{flowTap(flow, netip.AddrPortFrom(r.MD.If.IPv4(), 9000))}})
	prog, err := cls.BPF(classify.BPFOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var br *capture.BareReader
	err = r.Router.Do(func() (err error) {
		br, err = capture.OpenBare(capture.Options{Interfaces: []string{captureIf},
			IgnoreMark: dataplane.DefaultMark, PollTimeout: 100 * time.Millisecond})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.SetBPF(prog); err != nil {
		br.Close()
		b.Fatal(err)
	}
	return br
}

// throughputTapagent is the tapagent binary with its snmpd in the router,
// the figure's tap provisioned over SNMPv3, and the MD receiver.
type throughputTapagent struct {
	r         *netlab.RouterLab
	flow      udpFlow
	agent     *testbed.Agent
	li        *gosnmp.GoSNMP
	recv      *netlab.UDPReceiver
	delivered int64 // copies the receiver had after the last tapagent step
}

func startThroughputTapagent(b *testing.B, r *netlab.RouterLab, flow udpFlow) *throughputTapagent {
	b.Helper()
	ta := &throughputTapagent{r: r, flow: flow, recv: listenMD(b, r)}
	md := netip.AddrPortFrom(r.MD.If.IPv4(), ta.recv.Port())
	s := testbed.StartSnmpd(b, testbed.Options{NetNS: r.Router.Name, Listen: r.RouterMgmt.IPv4().String()})
	ta.agent = testbed.StartAgent(b, s, testbed.AgentOptions{
		Bin:        testbed.Build(b, "./cmd/tapagent"),
		Args:       []string{"--capture", captureIf},
		WaitPrefix: testbed.Tap2MIB,
	})
	ta.li = s.LIClient()
	if err := set(ta.li, throughputMDPDU(md)); err != nil {
		b.Fatalf("provision the MD row: %v", err)
	}
	if err := set(ta.li, throughputTapPDU(flow.dst.Addr())); err != nil {
		b.Fatalf("provision the tap: %v", err)
	}
	ta.waitArmed(b)
	return ta
}

// enable sets cTap2StreamInterceptEnable of the tap. Disabled, tapagent's
// kernel filter takes no frame; enabled, copies reach the MD again.
func (ta *throughputTapagent) enable(b *testing.B, on bool) {
	b.Helper()
	v := 2 // false
	if on {
		v = 1
	}
	oid := fmt.Sprintf("%s.%d.%d.1", streamEntry, stInterceptEnable, throughputCCCID)
	if err := set(ta.li, []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: v}}); err != nil {
		b.Fatalf("intercept enable %v: %v", on, err)
	}
	if on {
		ta.waitArmed(b)
		return
	}
	// The data plane takes the change a moment after the SET.
	time.Sleep(200 * time.Millisecond)
	ta.delivered = ta.recv.Count()
}

// waitArmed sends the flow a few packets at a time until copies reach the
// MD: the data plane arms a tap shortly after the SET that enabled it.
func (ta *throughputTapagent) waitArmed(b *testing.B) {
	b.Helper()
	const bound = 10 * time.Second
	deadline := time.Now().Add(bound)
	base := ta.recv.Count()
	for ta.recv.Count()-base < 5 {
		if time.Now().After(deadline) {
			b.Fatalf("tapagent delivers nothing for the tap: %d copies at the MD within %v\n%s", ta.recv.Count()-base, bound, ta.agent.Log())
		}
		f := ta.flow
		if _, err := ta.r.H1.SendUDP(netlab.UDPFlow{Src: f.src.Addr(), SrcPort: f.src.Port(), Dst: f.dst,
			Payload: make([]byte, f.payload), Pace: netlab.Pace{Count: 5, Gap: time.Millisecond}}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the probe's last copies
	ta.delivered = ta.recv.Count()
}

// measure runs the generator once and reads the flow at the MD receiver
// and in the stream counters.
func (ta *throughputTapagent) measure(b *testing.B, gen generator, packets int) (atMD, counter readerRun) {
	b.Helper()
	before := streamCounts(b, ta.li)
	watch := watchArrivals(ta.recv)
	sent, elapsed, err := gen.send(packets)
	if err != nil {
		b.Fatal(err)
	}
	n, first, last := watch.settle(context.Background(), int64(sent), settleQuiet, 30*time.Second)
	after := streamCounts(b, ta.li)
	ta.delivered = ta.recv.Count()
	atMD = readerRun{reader: "tapagent, at the MD receiver", metricName: "tapagent-md",
		sent: sent, genTime: elapsed, handled: uint64(n), first: first, last: last}
	counter = readerRun{reader: "tapagent, stream counter", metricName: "tapagent-counter",
		sent: sent, genTime: elapsed, handled: after.intercepted - before.intercepted,
		counterDrops: after.drops - before.drops, first: first, last: last, counter: true}
	return atMD, counter
}

// measureDrain stops tapagent, lets the flow fill its capture ring, and
// times the delivery of what the ring held once it continues.
func (ta *throughputTapagent) measureDrain(b *testing.B, gen generator) drainFigure {
	b.Helper()
	pid := ta.agent.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		b.Fatalf("stop tapagent: %v", err)
	}
	stopped := true
	resume := func() {
		if stopped {
			stopped = false
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				b.Errorf("continue tapagent: %v", err)
			}
		}
	}
	defer resume()
	sent, _, err := gen.send(*flagInterceptDrain)
	if err != nil {
		b.Fatal(err)
	}
	// Let the kernel retire the last, partly filled ring block.
	time.Sleep(50 * time.Millisecond)
	watch := watchArrivals(ta.recv)
	resume()
	n, first, last := watch.settle(context.Background(), int64(sent), settleQuiet, 30*time.Second)
	ta.delivered = ta.recv.Count()
	return drainFigure{sent: sent, delivered: uint64(n), rate: rateBetween(uint64(n), first, last)}
}

// streamCounters are the 64-bit counters of the figure's stream.
type streamCounters struct{ intercepted, drops uint64 }

func streamCounts(b *testing.B, c *gosnmp.GoSNMP) streamCounters {
	b.Helper()
	oid := func(col int) string { return fmt.Sprintf("%s.%d.%d.1", streamEntry, col, throughputCCCID) }
	res, err := c.Get([]string{oid(stInterceptedHCPackets), oid(stInterceptHCDrops)})
	if err != nil {
		b.Fatalf("read the stream counters: %v", err)
	}
	var out [2]uint64
	for i, vb := range res.Variables {
		v, ok := vb.Value.(uint64)
		if vb.Type != gosnmp.Counter64 || !ok {
			b.Fatalf("%s: %v %v, want Counter64", vb.Name, vb.Type, vb.Value)
		}
		out[i] = v
	}
	return streamCounters{intercepted: out[0], drops: out[1]}
}

// Columns of cTap2StreamEntry read by the throughput figure.
const (
	stInterceptedHCPackets = 7
	stInterceptHCDrops     = 8
)

// throughputMDPDU creates MD row throughputCCCID delivering to md.
func throughputMDPDU(md netip.AddrPort) []gosnmp.SnmpPDU {
	col := func(c int) string { return fmt.Sprintf("%s.%d.%d", mdEntry, c, throughputCCCID) }
	addr := md.Addr().As4()
	return []gosnmp.SnmpPDU{
		{Name: col(mdStatus), Type: gosnmp.Integer, Value: createAndGo},
		{Name: col(mdDestAddressType), Type: gosnmp.Integer, Value: 1}, // ipv4
		{Name: col(mdDestAddress), Type: gosnmp.OctetString, Value: addr[:]},
		{Name: col(mdDestPort), Type: gosnmp.Gauge32, Value: uint(md.Port())},
		{Name: col(mdSrcInterface), Type: gosnmp.Integer, Value: 0},
		{Name: col(mdTimeout), Type: gosnmp.OctetString, Value: timeoutIn(time.Hour)},
		{Name: col(mdTransport), Type: gosnmp.Integer, Value: 1}, // udp
	}
}

// throughputTapPDU creates stream 1 (ip, enabled) with an IP filter on
// destination dst/32, any interface.
func throughputTapPDU(dst netip.Addr) []gosnmp.SnmpPDU {
	st := func(c int) string { return fmt.Sprintf("%s.%d.%d.1", streamEntry, c, throughputCCCID) }
	ip := func(c int) string { return fmt.Sprintf("%s.%d.%d.1", ipEntry, c, throughputCCCID) }
	addr := dst.As4()
	return []gosnmp.SnmpPDU{
		{Name: st(stStatus), Type: gosnmp.Integer, Value: createAndGo},
		{Name: st(stType), Type: gosnmp.Integer, Value: 1}, // ip
		{Name: st(stInterceptEnable), Type: gosnmp.Integer, Value: 1},
		{Name: ip(ipStatus), Type: gosnmp.Integer, Value: createAndGo},
		{Name: ip(ipInterface), Type: gosnmp.Integer, Value: 0},
		{Name: ip(ipDstAddress), Type: gosnmp.OctetString, Value: addr[:]},
		{Name: ip(ipDstLength), Type: gosnmp.Gauge32, Value: uint(32)},
	}
}
