package classify

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/bpf"

	"tapagent/intercept"
)

// A small world of addresses, so random taps and random packets meet often.
var (
	pool4 = []string{"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.1.1", "198.18.1.2",
		"198.19.0.1", "198.19.200.7", "224.0.0.251", "255.255.255.255"}
	pool6 = []string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8:1::1", "2001:db8:1:2::1",
		"2001:db8:ffff::9", "fe80::1", "ff02::1"}
	poolMAC = []string{macA, macB, macC, macM, "02:00:00:01:00:0a", "00:00:00:00:00:00", bcast, "01:80:c2:00:00:00"}
	tpids   = []uint16{tpid8021Q, tpid8021AD, tpidQinQOld}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// world holds the facts Config asks for, as deterministic functions.
func world() Config {
	return Config{
		RouteIfIndex: func(p netip.Prefix) int { return int(p.Addr().AsSlice()[len(p.Addr().AsSlice())-1] % 4) },
		LearnedPort:  func(m net.HardwareAddr) int { return int(m[5] % 4) },
		VRFOf: func(i int) string {
			if i == 2 {
				return "red"
			}
			return ""
		},
	}
}

func randPrefix(r *rand.Rand, family intercept.AddrFamily) netip.Prefix {
	if r.IntN(3) == 0 {
		return netip.Prefix{}
	}
	pool, max := pool4, 32
	if family == intercept.AddrIPv6 {
		pool, max = pool6, 128
	}
	a := netip.MustParseAddr(pick(r, pool))
	bits := max
	if r.IntN(2) == 0 {
		bits = 1 + r.IntN(max)
	}
	return netip.PrefixFrom(a, bits)
}

func randRange(r *rand.Rand) (uint16, uint16) {
	switch r.IntN(5) {
	case 0:
		return 5060, 5070
	case 1:
		return 80, 80
	case 2:
		return 1, 1024
	}
	return 0, 65535
}

func randIPTap(r *rand.Rand, id intercept.ContentID, idx uint32) intercept.Tap {
	return armIP(id, idx, func(f *intercept.IPFilter) {
		if r.IntN(2) == 0 {
			f.AddrFamily = intercept.AddrIPv6
			if r.IntN(5) == 0 {
				f.FlowID = int32(r.IntN(3))
			}
		}
		f.Dst, f.Src = randPrefix(r, f.AddrFamily), randPrefix(r, f.AddrFamily)
		f.Protocol = pick(r, []int32{-1, -1, -1, 6, 17, 17, 0, 44, 58, 132})
		f.DstPortMin, f.DstPortMax = randRange(r)
		f.SrcPortMin, f.SrcPortMax = randRange(r)
		if r.IntN(5) == 0 {
			f.TOSMask = 0xfc
			f.TOS = pick(r, []uint8{0, 0xb8, 0x88})
		}
		f.Interface = pick(r, []int32{0, 0, 0, 1, 2, 3, -1, -2})
		if r.IntN(6) == 0 {
			f.VRF = "red"
		}
	})
}

func randMACTap(r *rand.Rand, id intercept.ContentID, idx uint32) intercept.Tap {
	return armMAC(id, idx, func(f *intercept.MACFilter) {
		f.Fields = intercept.Fields(1 + r.IntN(127))
		f.Dst, f.Src = mustMAC(pick(r, poolMAC)), mustMAC(pick(r, poolMAC))
		if r.IntN(3) == 0 {
			f.Src = f.Dst // "from or to"
		}
		f.Interface = pick(r, []int32{0, 1, 2, 3, -1})
		f.EtherType = pick(r, []uint16{0x0800, 0x86dd, 0x88cc, 0x0806})
		f.DstLLCSAP = pick(r, []uint8{0x42, 0xaa, 0x06})
		f.SrcLLCSAP = pick(r, []uint8{0x42, 0x43, 0xaa})
	})
}

func randTaps(r *rand.Rand, n int) []intercept.Tap {
	var taps []intercept.Tap
	for i := range n {
		id := intercept.ContentID(1 + r.IntN(4)) // few devices: many shared hits
		if r.IntN(2) == 0 {
			taps = append(taps, randIPTap(r, id, uint32(i+1)))
		} else {
			taps = append(taps, randMACTap(r, id, uint32(i+1)))
		}
	}
	return taps
}

// randFrame builds a frame byte by byte: random MACs, 0-3 VLAN tags, then
// IPv4, IPv6 (with extension headers), ARP, LLDP, an STP BPDU or IPv4 in
// LLC/SNAP; sometimes cut short.
func randFrame(r *rand.Rand) []byte {
	b := append(mustMAC(pick(r, poolMAC)), mustMAC(pick(r, poolMAC))...)
	for range r.IntN(4) * r.IntN(2) {
		b = binary.BigEndian.AppendUint16(b, pick(r, tpids))
		b = binary.BigEndian.AppendUint16(b, uint16(r.IntN(4096)))
	}
	l4 := func(proto uint8) []byte {
		if proto == 58 { // ICMPv6 echo
			return []byte{128, 0, 0, 0, 0, 1, 0, 1}
		}
		return binary.BigEndian.AppendUint32(nil, uint32(pick(r, []uint16{80, 5060, 5065, 40000}))<<16|
			uint32(pick(r, []uint16{80, 5060, 5065, 40000})))
	}
	switch r.IntN(7) {
	case 0, 1:
		proto := pick(r, []uint8{6, 17, 132, 1})
		frag := uint16(0)
		if r.IntN(5) == 0 {
			frag = 185
		}
		src, dst := netip.MustParseAddr(pick(r, pool4)).As4(), netip.MustParseAddr(pick(r, pool4)).As4()
		b = binary.BigEndian.AppendUint16(b, etherIPv4)
		b = append(b, 0x45, pick(r, []uint8{0, 0xb8, 0xb9, 0x88}), 0, 40, 0, 1, byte(frag>>8), byte(frag), 64, proto, 0, 0)
		b = append(append(append(b, src[:]...), dst[:]...), l4(proto)...)
	case 2, 3:
		proto := pick(r, []uint8{6, 17, 132, 58})
		src, dst := netip.MustParseAddr(pick(r, pool6)).As16(), netip.MustParseAddr(pick(r, pool6)).As16()
		var ext []byte
		first := proto
		switch r.IntN(4) {
		case 0: // Hop-by-Hop
			first, ext = 0, []byte{proto, 0, 1, 4, 0, 0, 0, 0}
		case 1: // Fragment, first or later
			off := uint16(r.IntN(2)) * 185 << 3
			first, ext = 44, []byte{proto, 0, byte(off >> 8), byte(off), 0, 0, 0, 7}
		}
		b = binary.BigEndian.AppendUint16(b, etherIPv6)
		b = append(b, 0x60|uint8(r.IntN(2))*0xb, 0x80, 0, byte(r.IntN(3)), 0, 20, first, 64)
		b = append(append(append(append(b, src[:]...), dst[:]...), ext...), l4(proto)...)
	case 4: // LLDP
		b = append(binary.BigEndian.AppendUint16(b, 0x88cc), 2, 7, 4, 0, 0, 0, 0, 0, 1)
	case 5: // STP BPDU, 802.3
		b = append(b, 0, 7, 0x42, pick(r, []uint8{0x42, 0x43}), 3, 0, 0, 0, 0)
	case 6: // IPv4 in LLC/SNAP
		b = append(b, 0, 40, 0xaa, 0xaa, 3, 0, 0, pick(r, []uint8{0, 0xf8, 0x0c}), 8, 0)
		src, dst := netip.MustParseAddr(pick(r, pool4)).As4(), netip.MustParseAddr(pick(r, pool4)).As4()
		b = append(b, 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0)
		b = append(append(append(b, src[:]...), dst[:]...), l4(17)...)
	}
	if r.IntN(8) == 0 {
		b = b[:r.IntN(len(b)+1)]
	}
	return b
}

func randPacket(r *rand.Rand) Packet {
	return Packet{Data: randFrame(r), IfIndex: r.IntN(5), Outgoing: r.IntN(2) == 0}
}

func runVM(t *testing.T, prog []bpf.Instruction, data []byte) bool {
	t.Helper()
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("bpf program rejected by the VM: %v", err)
	}
	n, err := vm.Run(data)
	if err != nil {
		t.Fatalf("bpf run: %v", err)
	}
	return n > 0
}

// TestRandomTapsAndPackets: for random taps and frames, Match finds
// exactly what checking every tap finds, and every BPF variant accepts
// every frame Match matches.
func TestRandomTapsAndPackets(t *testing.T) {
	hitsSeen, rejected := 0, 0
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 7))
		cfg := world()
		cfg.Taps = randTaps(r, 1+r.IntN(40))
		c := Build(cfg)
		progs := map[string][]bpf.Instruction{}
		for _, mc := range []int{0, 1, 3, 12} {
			prog, err := c.BPFProgram(BPFOptions{MaxCompares: mc})
			if err != nil {
				t.Fatalf("seed %d: BPFProgram: %v", seed, err)
			}
			progs[fmt.Sprintf("max %d", mc)] = prog
		}
		perIf := map[int][]bpf.Instruction{}
		for i := range 5 {
			perIf[i], _ = c.BPFProgram(BPFOptions{IfIndex: i})
		}
		hits := MakeHits(8)
		for range 400 {
			p := randPacket(r)
			hits = c.Match(&p, hits[:0])
			got := hitsOf(hits)
			if ref := hitsOf(bruteForce(c, &p)); !equalHits(got, ref) {
				t.Fatalf("seed %d frame %x if %d:\nMatch %+v\n  ref %+v", seed, p.Data, p.IfIndex, got, ref)
			}
			if len(got) == 0 {
				if !runVM(t, progs["max 0"], p.Data) {
					rejected++
				}
				continue
			}
			hitsSeen++
			for name, prog := range progs {
				if !runVM(t, prog, p.Data) {
					t.Fatalf("seed %d: BPF (%s) rejects a frame Match matches: %x if %d hits %+v", seed, name, p.Data, p.IfIndex, got)
				}
			}
			if p.IfIndex != 0 && !runVM(t, perIf[p.IfIndex], p.Data) {
				t.Fatalf("seed %d: BPF for ifindex %d rejects a frame Match matches: %x hits %+v", seed, p.IfIndex, p.Data, got)
			}
		}
	}
	// The run must exercise both sides.
	if hitsSeen < 1000 || rejected < 1000 {
		t.Errorf("weak run: %d matching frames, %d non-matching frames rejected by BPF", hitsSeen, rejected)
	}
	t.Logf("%d matching frames accepted; %d non-matching frames rejected by the exact program", hitsSeen, rejected)
}

// TestMatchConcurrently: a Classifier is read-only after Build, so several
// capture goroutines may share it (run with -race).
func TestMatchConcurrently(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cfg := world()
	cfg.Taps = randTaps(r, 60)
	c := Build(cfg)
	packets := make([]Packet, 300)
	want := make([][]hit, len(packets))
	for i := range packets {
		packets[i] = randPacket(r)
		want[i] = hitsOf(c.Match(&packets[i], nil))
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			hits := MakeHits(4)
			for i := range packets {
				j := (i + g*75) % len(packets)
				hits = c.Match(&packets[j], hits[:0])
				if got := hitsOf(hits); !equalHits(got, want[j]) {
					errs <- fmt.Errorf("goroutine %d packet %d: %+v, want %+v", g, j, got, want[j])
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
