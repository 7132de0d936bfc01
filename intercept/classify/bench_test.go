package classify

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"

	"tapagent/intercept"
)

var benchSizes = []int{1, 10_000, 100_000}

// hostAddr is the i-th address of 198.18.0.0/15 (131072 addresses).
func hostAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// benchIPTaps: n taps, mostly /32 destination hosts spread over 1000
// devices, plus (from 10 taps on) the few prefixes of four lengths and two
// address-less taps a real deployment also carries.
func benchIPTaps(n int) []intercept.Tap {
	var taps []intercept.Tap
	extra := []func(f *intercept.IPFilter){
		func(f *intercept.IPFilter) { f.Dst = pfx("203.0.113.0/24") },
		func(f *intercept.IPFilter) { f.Src = pfx("192.0.2.0/25") },
		func(f *intercept.IPFilter) { f.Dst = pfx("198.51.100.0/26") },
		func(f *intercept.IPFilter) { f.Src = pfx("100.64.0.0/10") },
		func(f *intercept.IPFilter) { f.Protocol, f.DstPortMin, f.DstPortMax = 17, 5060, 5061 },
		func(f *intercept.IPFilter) { f.Protocol = 47 },
	}
	hosts := n
	if n >= 10 {
		hosts = n - len(extra)
		for i, set := range extra {
			taps = append(taps, armIP(intercept.ContentID(5000+i), 1, set))
		}
	}
	for i := range hosts {
		a := hostAddr(i)
		taps = append(taps, armIP(intercept.ContentID(1+i%1000), uint32(1+i/1000), func(f *intercept.IPFilter) {
			f.Dst = netip.PrefixFrom(a, 32)
		}))
	}
	return taps
}

// benchMACTaps: n taps on source MACs, a third of them "from or to".
func benchMACTaps(n int) []intercept.Tap {
	var taps []intercept.Tap
	for i := range n {
		m := benchMAC(i)
		taps = append(taps, armMAC(intercept.ContentID(1+i%1000), uint32(1+i/1000), func(f *intercept.MACFilter) {
			f.Fields, f.Src = intercept.MatchSrcMAC, m
			if i%3 == 0 {
				f.Fields, f.Dst = intercept.MatchSrcMAC|intercept.MatchDstMAC, m
			}
		}))
	}
	return taps
}

func benchMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
}

// packets rotates over many frames so the maps are not always hot in cache.
const benchFrames = 4096

func benchIPv4Frames(b *testing.B, n int, match bool) []Packet {
	ps := make([]Packet, benchFrames)
	for i := range ps {
		dst := netip.AddrFrom4([4]byte{203, 0, 114 + byte(i>>8&1), byte(i)}) // in no tap
		if match {
			dst = hostAddr((i * 7919) % max(n-6, 1))
		}
		ps[i] = Packet{IfIndex: 2, Data: serialize(b, eth(macA, macB, layers.EthernetTypeIPv4),
			ip4("198.19.255.1", dst.String(), layers.IPProtocolUDP), udp(40000, 443), payload("bench"))}
	}
	return ps
}

func bench802Frames(b *testing.B, n int, match bool) []Packet {
	ps := make([]Packet, benchFrames)
	for i := range ps {
		src := net.HardwareAddr{2, 9, 9, 9, byte(i >> 8), byte(i)} // in no tap
		if match {
			src = benchMAC((i * 7919) % n)
		}
		ps[i] = Packet{IfIndex: 2, Data: serialize(b, eth(src.String(), macB, layers.EthernetTypeIPv4),
			ip4("198.19.255.1", "198.19.255.2", layers.IPProtocolUDP), udp(40000, 443), payload("bench"))}
	}
	return ps
}

func BenchmarkMatch(b *testing.B) {
	kinds := []struct {
		name   string
		taps   func(int) []intercept.Tap
		frames func(*testing.B, int, bool) []Packet
	}{
		{"ipv4", benchIPTaps, benchIPv4Frames},
		{"802", benchMACTaps, bench802Frames},
	}
	for _, k := range kinds {
		for _, n := range benchSizes {
			c := Build(Config{Taps: k.taps(n)})
			for _, match := range []bool{true, false} {
				name := fmt.Sprintf("%s/taps=%d/miss", k.name, n)
				if match {
					name = fmt.Sprintf("%s/taps=%d/match", k.name, n)
				}
				b.Run(name, func(b *testing.B) {
					ps := k.frames(b, n, match)
					hits := MakeHits(4)
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						hits = c.Match(&ps[i%benchFrames], hits[:0])
						if (len(hits) > 0) != match {
							b.Fatalf("frame %d: %d hits, want match=%v", i%benchFrames, len(hits), match)
						}
					}
				})
			}
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes {
		taps := benchIPTaps(n)
		b.Run(fmt.Sprintf("ipv4/taps=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if c := Build(Config{Taps: taps}); c.Len() != n {
					b.Fatalf("Len %d", c.Len())
				}
			}
		})
	}
	taps := benchMACTaps(100_000)
	b.Run("802/taps=100000", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			Build(Config{Taps: taps})
		}
	})
}

func BenchmarkBPF(b *testing.B) {
	for _, n := range benchSizes {
		c := Build(Config{Taps: benchIPTaps(n)})
		b.Run(fmt.Sprintf("ipv4/taps=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := c.BPF(BPFOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
