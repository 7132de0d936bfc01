package classify

import (
	"fmt"
	"net/netip"
	"testing"

	"tapagent/intercept"
)

func TestTable64(t *testing.T) {
	var tab table64
	if _, ok := tab.get(0); ok {
		t.Fatal("empty table finds key 0")
	}
	// Keys 0..9999 spaced like MACs and IPv4 hosts, each pushed twice:
	// chains of two, heads the later taps.
	next := make([]int32, 20000)
	for i := range next {
		next[i] = -1
	}
	key := func(i int) uint64 { return uint64(i) << 8 }
	for i := range 20000 {
		tab.push(key(i%10000), int32(i), &next[i])
	}
	if tab.len() != 10000 || len(tab.slots) < 20000 {
		t.Fatalf("len %d, %d slots", tab.len(), len(tab.slots))
	}
	for i := range 10000 {
		h, ok := tab.get(key(i))
		if !ok || h != int32(i+10000) || next[h] != int32(i) || next[i] != -1 {
			t.Fatalf("key %d: head %d ok %v, chain %d -> %d", i, h, ok, h, next[max(h, 0)])
		}
	}
	for _, k := range []uint64{1, 10000 << 8, ^uint64(0)} {
		if _, ok := tab.get(k); ok {
			t.Errorf("absent key %#x found", k)
		}
	}
}

// TestManyPrefixesOfOneLength crosses the size where a prefix length's
// slice becomes a map.
func TestManyPrefixesOfOneLength(t *testing.T) {
	for _, n := range []int{smallPrefixIndex, smallPrefixIndex + 1, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var taps []intercept.Tap
			for i := range n {
				taps = append(taps,
					armIP(1, uint32(2*i+1), func(f *intercept.IPFilter) {
						f.Dst = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24)
					}),
					armIP(2, uint32(2*i+2), func(f *intercept.IPFilter) {
						f.AddrFamily = intercept.AddrIPv6
						f.Src = netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", i))
					}))
			}
			c := Build(Config{Taps: taps})
			hits := MakeHits(2)
			for i := range n {
				p := Packet{Data: udp4(t, "198.19.0.1", fmt.Sprintf("198.18.%d.9", i), 1, 2)}
				if got := hitsOf(c.Match(&p, hits[:0])); !equalHits(got, one(1, uint32(2*i+1), LayerIP, 14)) {
					t.Fatalf("IPv4 into prefix %d: %+v", i, got)
				}
				p = Packet{Data: udp6(t, fmt.Sprintf("2001:db8:%x::5", i), "2001:db8:ffff::1", 1, 2)}
				if got := hitsOf(c.Match(&p, hits[:0])); !equalHits(got, one(2, uint32(2*i+2), LayerIP, 14)) {
					t.Fatalf("IPv6 from prefix %d: %+v", i, got)
				}
			}
			p := Packet{Data: udp4(t, "198.19.0.1", fmt.Sprintf("198.18.%d.9", n), 1, 2)}
			if got := c.Match(&p, hits[:0]); len(got) != 0 {
				t.Fatalf("outside every prefix: %+v", hitsOf(got))
			}
		})
	}
}
