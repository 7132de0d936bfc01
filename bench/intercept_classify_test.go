package bench

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"tapagent/intercept"
	"tapagent/intercept/classify"
	"tapagent/internal/netlab"
)

// Classifier workload: frames rotate over classifyFrames distinct packets
// so that the tables are not all in the cache; every round matches
// classifyMatches frames and the figure is the median round.
const (
	classifyFrames  = 4096
	classifyRounds  = 5
	classifyMatches = 1_000_000
)

var classifyTapCounts = []int{1, 10_000, 100_000}

// classifyCase is one classifier figure: a tap set and frames that all
// match (wantHits) or all miss.
type classifyCase struct {
	kind     string // "ipv4 match", "ipv4 miss", "802 match"
	taps     int
	cls      *classify.Classifier
	frames   []classify.Packet
	wantHits bool
}

// BenchmarkInterceptClassify times classify.Classifier.Match in this
// process with 1, 10,000 and 100,000 armed taps: IPv4 frames hitting a
// host tap, IPv4 frames no tap wants, and Ethernet frames hitting a
// source-MAC tap. It runs its own timed rounds (testing.Benchmark would
// follow -benchtime 1x) and counts allocations from the runtime's malloc
// counter over the same rounds; each sub-benchmark reports one case.
func BenchmarkInterceptClassify(b *testing.B) {
	recordLoad("classify")
	for _, n := range classifyTapCounts {
		ipCls := classify.Build(classify.Config{Taps: ipTapSet(n)})
		macCls := classify.Build(classify.Config{Taps: macTapSet(n)})
		if ipCls.Len() != n || macCls.Len() != n {
			b.Fatalf("%d taps built into classifiers of %d (IP) and %d (802) taps", n, ipCls.Len(), macCls.Len())
		}
		for _, c := range []classifyCase{
			{kind: "ipv4 match", taps: n, cls: ipCls, frames: ipv4Frames(b, n, true), wantHits: true},
			{kind: "ipv4 miss", taps: n, cls: ipCls, frames: ipv4Frames(b, n, false)},
			{kind: "802 match", taps: n, cls: macCls, frames: macFrames(b, n), wantHits: true},
		} {
			fig, err := timeClassifier(c)
			if err != nil {
				b.Fatal(err)
			}
			recordClassify(fig)
			b.Run(fmt.Sprintf("%s/taps=%d", c.kind, n), func(b *testing.B) {
				b.ReportMetric(fig.nsPerOp, "ns/op")
				b.ReportMetric(fig.allocsPerOp, "allocs/op")
			})
		}
	}
}

// timeClassifier checks that every frame of c matches (or misses) as it
// should, then times classifyRounds rounds of classifyMatches matches.
func timeClassifier(c classifyCase) (classifyFigure, error) {
	fig := classifyFigure{kind: c.kind, taps: c.taps, matches: classifyMatches, rounds: classifyRounds}
	hits := classify.MakeHits(8)
	for i := range c.frames {
		hits = c.cls.Match(&c.frames[i], hits[:0])
		if (len(hits) > 0) != c.wantHits {
			return fig, fmt.Errorf("classifier %s, %d taps: frame %d gives %d hits", c.kind, c.taps, i, len(hits))
		}
	}
	var perRound []float64
	var mallocs uint64
	var before, after runtime.MemStats
	for range classifyRounds {
		runtime.ReadMemStats(&before)
		hitCount := 0
		start := time.Now()
		for i := range classifyMatches {
			hits = c.cls.Match(&c.frames[i%len(c.frames)], hits[:0])
			hitCount += len(hits)
		}
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if (hitCount > 0) != c.wantHits {
			return fig, fmt.Errorf("classifier %s, %d taps: %d hits in a timed round", c.kind, c.taps, hitCount)
		}
		fig.hitsPerOp = float64(hitCount) / classifyMatches
		mallocs += after.Mallocs - before.Mallocs
		perRound = append(perRound, float64(elapsed.Nanoseconds())/classifyMatches)
	}
	slices.Sort(perRound)
	fig.nsPerOp = perRound[len(perRound)/2]
	fig.minNsPerOp = perRound[0]
	fig.allocsPerOp = float64(mallocs) / float64(classifyRounds*classifyMatches)
	return fig, nil
}

// Addresses of the classifier workload (RFC 2544 and documentation space).
var (
	classifySrc   = netip.MustParseAddr("198.51.100.7") // source of every IPv4 frame, in no tap
	classifyMAC1  = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}
	classifyMAC2  = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02}
	classifyExtra = []func(*intercept.IPFilter){
		// What a deployment carries besides host taps: a destination and a
		// source prefix and an address-less protocol tap (checked for every
		// IPv4 frame).
		func(f *intercept.IPFilter) { f.Dst = netip.MustParsePrefix("203.0.113.0/24") },
		func(f *intercept.IPFilter) { f.Src = netip.MustParsePrefix("100.64.0.0/10") },
		func(f *intercept.IPFilter) { f.Protocol = 47 },
	}
)

// tapHost is the address of host tap i: 198.18.0.0/15 holds 131,072.
func tapHost(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// tapMAC is the MAC of 802 tap i.
func tapMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x00, 0x00, byte(i >> 16), byte(i >> 8), byte(i)}
}

// ipTapSet is n armed IPv4 taps over up to 1,000 mediation devices: host
// taps on destination addresses, and from 10 taps on the three extras.
func ipTapSet(n int) []intercept.Tap {
	var taps []intercept.Tap
	hosts := n
	if n >= 10 {
		hosts = n - len(classifyExtra)
		for i, set := range classifyExtra {
			taps = append(taps, armedIPTap(intercept.ContentID(5000+i), 1, set))
		}
	}
	for i := range hosts {
		dst := netip.PrefixFrom(tapHost(i), 32)
		taps = append(taps, armedIPTap(intercept.ContentID(1+i%1000), uint32(1+i/1000), func(f *intercept.IPFilter) { f.Dst = dst }))
	}
	return taps
}

// macTapSet is n armed 802 taps on source MACs, every third one "from or
// to" the MAC (both fields flagged with one address, as the seed does).
func macTapSet(n int) []intercept.Tap {
	taps := make([]intercept.Tap, 0, n)
	for i := range n {
		k := intercept.StreamKey{ContentID: intercept.ContentID(1 + i%1000), Index: uint32(1 + i/1000)}
		f := intercept.NewMACFilter(k)
		f.Active, f.Fields, f.Src = true, intercept.MatchSrcMAC, tapMAC(i)
		if i%3 == 0 {
			f.Fields, f.Dst = intercept.MatchSrcMAC|intercept.MatchDstMAC, tapMAC(i)
		}
		taps = append(taps, intercept.Tap{Mediation: activeMediation(k.ContentID),
			Stream: intercept.Stream{Key: k, Type: intercept.StreamMAC, Enable: true, Active: true}, MAC: &f})
	}
	return taps
}

func armedIPTap(id intercept.ContentID, idx uint32, set func(*intercept.IPFilter)) intercept.Tap {
	k := intercept.StreamKey{ContentID: id, Index: idx}
	f := intercept.NewIPFilter(k)
	f.Active = true
	set(&f)
	return intercept.Tap{Mediation: activeMediation(id),
		Stream: intercept.Stream{Key: k, Type: intercept.StreamIP, Enable: true, Active: true}, IP: &f}
}

func activeMediation(id intercept.ContentID) intercept.Mediation {
	m := intercept.NewMediation(id)
	m.DestAddr, m.DestPort, m.Transport, m.Active = netip.MustParseAddr("198.18.3.2"), 9000, intercept.TransportUDP, true
	return m
}

// ipv4Frames are classifyFrames UDP frames: to host taps spread over the
// table (match), or to addresses in no tap (miss).
func ipv4Frames(b *testing.B, taps int, match bool) []classify.Packet {
	b.Helper()
	hosts := taps
	if taps >= 10 {
		hosts = taps - len(classifyExtra)
	}
	frames := make([]classify.Packet, classifyFrames)
	for i := range frames {
		dst := netip.AddrFrom4([4]byte{203, 0, 114 + byte(i>>8&1), byte(i)})
		if match {
			dst = tapHost(i * 7919 % hosts) // a prime step: spread, not sequential
		}
		frames[i] = classify.Packet{IfIndex: 2, Data: classifyFrame(b, classifyMAC1, classifyMAC2, classifySrc, dst)}
	}
	return frames
}

// macFrames are classifyFrames IPv4 frames from the MACs of 802 taps.
func macFrames(b *testing.B, taps int) []classify.Packet {
	b.Helper()
	frames := make([]classify.Packet, classifyFrames)
	for i := range frames {
		src := tapMAC(i * 7919 % taps)
		frames[i] = classify.Packet{IfIndex: 2, Data: classifyFrame(b, src, classifyMAC2, classifySrc, netip.MustParseAddr("203.0.114.1"))}
	}
	return frames
}

// classifyFrame is an Ethernet frame carrying a small UDP datagram.
func classifyFrame(b *testing.B, src, dst net.HardwareAddr, from, to netip.Addr) []byte {
	b.Helper()
	pkt, err := netlab.BuildUDP(netlab.IPHeader{Src: from, Dst: to, ID: 1}, 40000, 443, make([]byte, 18))
	if err != nil {
		b.Fatal(err)
	}
	frame, err := netlab.Frame{Dst: dst, Src: src, EtherType: netlab.EtherTypeIPv4, Payload: pkt}.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	return frame
}
