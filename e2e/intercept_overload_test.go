package e2e

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/netlab"
)

// TestInterceptOverload floods a tapped flow through the router while the
// path to the MD is throttled to 1 Mbit/s (tbf on the router's MD-facing
// interface). It asserts, with N sent, R arrived at h2, D received by the
// MD, I and X the stream's InterceptedPackets and InterceptDrops, and L
// the frames the capture ring lost as the agent reports them in
// cTap2DebugTable:
//
//   - X > 0: the drops are counted, not silent (and the HC columns agree);
//   - D = I: every copy counted as delivered reached the MD;
//   - I + X <= N: no packet is counted twice;
//   - I + X + L >= R: every packet that crossed the router was either
//     delivered, counted as a drop, or lost in the ring and reported;
//   - the agent stays up and answers every SNMP GET during the flood
//     within a second.
//
// Not parallel: a flood fills the kernel's shared receive backlog and
// would make exact-count tests of other labs lose packets.
func TestInterceptOverload(t *testing.T) {
	b, lab := startRouterBed(t)
	md := mdSpec{id: 81, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort)}
	cap := b.capture(mdPort)
	const port = 6000
	arrived, err := lab.H2.ListenUDP(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arrived.Close() })
	lab.Exec(lab.Router, "tc", "qdisc", "add", "dev", lab.RouterMD.Name, "root", "tbf", "rate", "1mbit", "burst", "4k", "latency", "5ms")
	h2 := lab.H2.If.IPv4()
	b.provision(1, ipTap(md, ipFilter{dst: host(h2), proto: netlab.ProtoUDP, dstPorts: [2]uint16{port, port}})...)

	// GETs of the stream's counters (served by tapagent) during the flood.
	probe, err := b.snmpd.Client(b.snmpd.LI)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Conn.Close()
	type getResult struct {
		took time.Duration
		err  error
	}
	stop := make(chan struct{})
	results := make(chan []getResult, 1)
	go func() {
		var rs []getResult
		for {
			select {
			case <-stop:
				results <- rs
				return
			default:
			}
			start := time.Now()
			r, err := probe.Get([]string{oid(streamEntry, stPackets, md.id, 1), oid(streamEntry, stInterceptDrops, md.id, 1)})
			if err == nil && (r.Error != gosnmp.NoError || len(r.Variables) != 2 || r.Variables[0].Type != gosnmp.Counter32) {
				err = fmt.Errorf("GET answered %v %v", r.Error, r.Variables)
			}
			rs = append(rs, getResult{time.Since(start), err})
			time.Sleep(50 * time.Millisecond)
		}
	}()

	payload := bytes.Repeat([]byte("overload "), 20)
	started := time.Now()
	sent, err := lab.H1.FloodUDP(netlab.UDPFlow{Dst: netip.AddrPortFrom(h2, port), Payload: payload,
		Pace: netlab.Pace{Count: 100_000, MaxDuration: 3 * time.Second}})
	flood := time.Since(started)
	if err != nil {
		t.Errorf("flood: %v (sent %d)", err, sent)
	}
	time.Sleep(200 * time.Millisecond) // GETs right after the flood, while the agent catches up
	close(stop)
	gets := <-results

	c := b.settledCounters(md.id, 1)
	_ = cap.Receiver.WaitCount(int64(c.packets), 3*time.Second)
	time.Sleep(quiet)
	received := cap.Receiver.Count()
	lost := b.ringLost()
	var slowest time.Duration
	for _, g := range gets {
		slowest = max(slowest, g.took)
	}
	t.Logf("flood: %d datagrams in %v; h2 got %d; MD got %d; counters %+v; ring lost %d; %d GETs during the flood, slowest %v",
		sent, flood.Round(time.Millisecond), arrived.Count(), received, c, lost, len(gets), slowest.Round(time.Millisecond))

	select {
	case <-b.agent.Exited():
		t.Fatal("tapagent died during the flood")
	default:
	}
	if c.drops == 0 {
		t.Errorf("InterceptDrops = 0 after %d matching datagrams through a 1 Mbit/s MD path", sent)
	}
	if c.hcDrops != c.drops || c.hcPackets != c.packets {
		t.Errorf("32-bit and HC counters differ: %+v", c)
	}
	if uint64(received) != c.packets {
		t.Errorf("MD received %d copies, InterceptedPackets says %d", received, c.packets)
	}
	if c.packets+c.drops > uint64(sent) {
		t.Errorf("delivered %d + dropped %d > %d sent: counted twice", c.packets, c.drops, sent)
	}
	if c.packets+c.drops+lost < uint64(arrived.Count()) {
		t.Errorf("delivered %d + dropped %d + ring lost %d < %d forwarded to h2: matched packets unaccounted for",
			c.packets, c.drops, lost, arrived.Count())
	}
	if len(gets) < 3 {
		t.Errorf("only %d GETs during a %v flood", len(gets), flood)
	}
	for i, g := range gets {
		if g.err != nil || g.took > time.Second {
			t.Errorf("GET %d during the flood: %v after %v", i+1, g.err, g.took)
		}
	}
	// Still serving after the flood.
	if got := b.counters(md.id, 1); got.packets < c.packets {
		t.Errorf("counters went back: %+v after %+v", got, c)
	}

	// What arrived is well-formed PacketCable: CCCID, DSCP, the flood's packet.
	ds, err := cap.Decode("ip")
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		if d.CCCID != md.id || d.DSCP != defaultDSCP || !bytes.Equal(d.Inner, ds[0].Inner) ||
			!bytes.HasSuffix(d.Inner, payload) {
			t.Errorf("datagram %d: CCCID %d DSCP %d inner %x", i+1, d.CCCID, d.DSCP, d.Inner)
			break
		}
	}
}

// settledCounters reads a stream's counters until two reads 300 ms apart
// agree (the agent may still be working through its ring), for up to 5 s.
func (b *dpBed) settledCounters(id, idx uint32) streamCounters {
	b.t.Helper()
	last := b.counters(id, idx)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		c := b.counters(id, idx)
		if c == last {
			return c
		}
		last = c
	}
	b.t.Errorf("stream %d.%d counters still moving 5 s after the flood: %+v", id, idx, last)
	return last
}

var ringOverrun = regexp.MustCompile(`capture ring overrun: (\d+) frames`)

// ringLost adds up the frames the agent reported lost in its capture ring
// (cTap2DebugMessage rows).
func (b *dpBed) ringLost() uint64 {
	b.t.Helper()
	var n uint64
	for _, p := range b.walkLI(debugEntry + "." + strconv.Itoa(dbgMessage)) {
		raw, _ := p.Value.([]byte)
		if m := ringOverrun.FindSubmatch(raw); m != nil {
			v, _ := strconv.ParseUint(string(m[1]), 10, 64)
			n += v
		}
	}
	return n
}
