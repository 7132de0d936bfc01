package classify

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"

	"tapagent/intercept"
)

type bpfCase struct {
	name   string
	data   []byte
	accept bool
}

func checkBPF(t *testing.T, prog []bpf.Instruction, cases []bpfCase) {
	t.Helper()
	for _, tt := range cases {
		if got := runVM(t, prog, tt.data); got != tt.accept {
			t.Errorf("%s: accepted %v, want %v", tt.name, got, tt.accept)
		}
	}
}

func mustProgram(t testing.TB, c *Classifier, opts BPFOptions) []bpf.Instruction {
	t.Helper()
	prog, err := c.BPFProgram(opts)
	if err != nil {
		t.Fatalf("BPFProgram: %v", err)
	}
	if len(prog) > maxInstructions {
		t.Fatalf("program of %d instructions", len(prog))
	}
	if _, err := c.BPF(opts); err != nil {
		t.Fatalf("BPF: %v", err)
	}
	return prog
}

func TestBPFNoTapsRejectsAll(t *testing.T) {
	prog := mustProgram(t, Build(Config{}), BPFOptions{})
	checkBPF(t, prog, []bpfCase{{"IPv4", udp4(t, "198.18.0.1", "198.18.0.2", 1, 2), false}})
	if len(prog) != 1 {
		t.Errorf("empty classifier: %d instructions, want a single return", len(prog))
	}
}

func TestBPFExactKeys(t *testing.T) {
	c := Build(Config{Taps: []intercept.Tap{
		armIP(1, 1, func(f *intercept.IPFilter) { f.Dst, f.Protocol = pfx("198.18.0.2/32"), 17 }),
		armIP(1, 2, func(f *intercept.IPFilter) { f.Src = pfx("198.18.64.0/18") }),
		armIP(2, 1, func(f *intercept.IPFilter) { f.AddrFamily, f.Dst = intercept.AddrIPv6, pfx("2001:db8:5::/48") }),
		armMAC(3, 1, func(f *intercept.MACFilter) { f.Fields, f.Src = intercept.MatchSrcMAC, mustMAC(macC) }),
		armMAC(3, 2, func(f *intercept.MACFilter) { f.Fields, f.EtherType = intercept.MatchEtherType, 0x88cc }),
	}})
	prog := mustProgram(t, c, BPFOptions{})
	v4 := func(src, dst string, l2 ...byte) []byte {
		return serialize(t, eth(macA, macB, layers.EthernetTypeIPv4), ip4(src, dst, layers.IPProtocolUDP), udp(1, 2))
	}
	checkBPF(t, prog, []bpfCase{
		{"IPv4 to the host", v4("198.19.0.1", "198.18.0.2"), true},
		{"IPv4 to another host", v4("198.19.0.1", "198.18.0.3"), false},
		{"IPv4 from the /18", v4("198.18.127.255", "198.19.0.1"), true},
		{"IPv4 from just outside the /18", v4("198.18.128.0", "198.19.0.1"), false},
		{"IPv4 to the host behind two tags", serialize(t, eth(macA, macB, layers.EthernetTypeQinQ),
			tag(1, layers.EthernetTypeDot1Q), tag(2, layers.EthernetTypeIPv4),
			ip4("198.19.0.1", "198.18.0.2", layers.IPProtocolUDP), udp(1, 2)), true},
		{"IPv4 to the host in LLC/SNAP", cat(macsBA, []byte{0x00, 0x2c, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00},
			[]byte{0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 198, 19, 0, 1, 198, 18, 0, 2}, udpSIP), true},
		{"IPv6 into the /48", udp6(t, "2001:db8::1", "2001:db8:5:1::1", 1, 2), true},
		{"IPv6 elsewhere", udp6(t, "2001:db8::1", "2001:db8:6::1", 1, 2), false},
		{"frame from the MAC", serialize(t, eth(macC, macB, layers.EthernetTypeARP), payload("arp")), true},
		{"frame from another MAC", serialize(t, eth(macA, macB, layers.EthernetTypeARP), payload("arp")), false},
		{"LLDP", serialize(t, eth(macA, "01:80:c2:00:00:0e", layers.EthernetTypeLinkLayerDiscovery), payload("lldp")), true},
		{"STP BPDU", cat([]byte{1, 0x80, 0xc2, 0, 0, 0, 2, 0, 0, 0, 0, 0xa, 0, 7, 0x42, 0x42, 3, 0, 0, 0, 0}), false},
		{"runt", []byte{1, 2, 3}, false},
	})
}

func TestBPFExcludeMark(t *testing.T) {
	c := Build(Config{Taps: []intercept.Tap{armIP(1, 1, func(f *intercept.IPFilter) { f.Dst = pfx("198.18.0.2/32") })}})
	plain := mustProgram(t, c, BPFOptions{})
	marked := mustProgram(t, c, BPFOptions{ExcludeMark: 0x7a9})
	wantPrefix := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtMark},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x7a9, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	}
	if !slices.Equal(marked[:3], wantPrefix) || !slices.Equal(marked[3:], plain) {
		t.Errorf("marked program is not the mark check followed by the plain program:\n%v", marked)
	}
}

func TestBPFCoarsening(t *testing.T) {
	hosts := func(n int, addr func(i int) string) []intercept.Tap {
		var taps []intercept.Tap
		for i := range n {
			a := addr(i)
			taps = append(taps, armIP(intercept.ContentID(1+i%50), uint32(i+1), func(f *intercept.IPFilter) {
				f.Dst = netip.PrefixFrom(netip.MustParseAddr(a), 32)
			}))
		}
		return taps
	}
	v4 := func(dst string) []byte { return udp4(t, "198.19.0.1", dst, 1, 2) }
	t.Run("1000 hosts in four /24s compare the /24s", func(t *testing.T) {
		c := Build(Config{Taps: hosts(1000, func(i int) string { return fmt.Sprintf("198.18.%d.%d", i%4, 1+i/4) })})
		prog := mustProgram(t, c, BPFOptions{})
		checkBPF(t, prog, []bpfCase{
			{"a tapped host", v4("198.18.3.250"), true},
			{"an untapped host in a tapped /24", v4("198.18.2.255"), true},
			{"outside", v4("198.18.4.1"), false},
			{"IPv6", udp6(t, "2001:db8::1", "2001:db8::2", 1, 2), false},
		})
		if len(prog) > 40 {
			t.Errorf("%d instructions for four /24s", len(prog))
		}
	})
	t.Run("100,000 scattered hosts: all IPv4, nothing else", func(t *testing.T) {
		c := Build(Config{Taps: hosts(100_000, func(i int) string {
			return netip.AddrFrom4([4]byte{byte(i * 7), byte(i >> 8), byte(i), 1}).String()
		})})
		prog := mustProgram(t, c, BPFOptions{})
		checkBPF(t, prog, []bpfCase{
			{"any IPv4", v4("203.0.113.1"), true},
			{"IPv6", udp6(t, "2001:db8::1", "2001:db8::2", 1, 2), false},
			{"ARP", serialize(t, eth(macA, bcast, layers.EthernetTypeARP), payload("arp")), false},
		})
	})
	t.Run("300 MACs of one OUI compare the OUI", func(t *testing.T) {
		var taps []intercept.Tap
		for i := range 300 {
			m := mustMAC(fmt.Sprintf("02:00:5e:00:%02x:%02x", i>>8, i&0xff))
			taps = append(taps, armMAC(1, uint32(i+1), func(f *intercept.MACFilter) { f.Fields, f.Dst = intercept.MatchDstMAC, m }))
		}
		prog := mustProgram(t, Build(Config{Taps: taps}), BPFOptions{})
		frame := func(dst string) []byte { return serialize(t, eth(macA, dst, layers.EthernetTypeARP), payload("arp")) }
		checkBPF(t, prog, []bpfCase{
			{"a tapped MAC", frame("02:00:5e:00:01:2b"), true},
			{"same OUI", frame("02:00:5e:ff:ff:ff"), true},
			{"other OUI", frame("02:00:5f:00:00:01"), false},
		})
	})
	t.Run("instruction limit", func(t *testing.T) {
		exact := Build(Config{Taps: hosts(3500, func(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250) })})
		prog := mustProgram(t, exact, BPFOptions{MaxCompares: 100_000})
		if len(prog) < 3500 {
			t.Errorf("3500 exact compares fit, got %d instructions", len(prog))
		}
		checkBPF(t, prog, []bpfCase{{"last host", v4("198.18.13.250"), true}, {"no host", v4("198.18.13.251"), false}})

		tooMany := Build(Config{Taps: hosts(5000, func(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250) })})
		prog = mustProgram(t, tooMany, BPFOptions{MaxCompares: 100_000})
		checkBPF(t, prog, []bpfCase{{"last host", v4("198.18.19.250"), true}, {"outside the /24s", v4("198.18.20.1"), false}})
	})
}

func TestBPFPerInterface(t *testing.T) {
	c := Build(Config{Taps: []intercept.Tap{
		armIP(1, 1, func(f *intercept.IPFilter) { f.Interface, f.Protocol = 3, 17 }),
		armMAC(2, 1, func(f *intercept.MACFilter) {
			f.Fields, f.Interface, f.EtherType = intercept.MatchInterface|intercept.MatchEtherType, 4, 0x88cc
		}),
	}})
	udp := udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)
	lldp := serialize(t, eth(macA, "01:80:c2:00:00:0e", layers.EthernetTypeLinkLayerDiscovery), payload("lldp"))
	checkBPF(t, mustProgram(t, c, BPFOptions{IfIndex: 3}), []bpfCase{{"UDP on 3", udp, true}, {"LLDP on 3", lldp, false}})
	checkBPF(t, mustProgram(t, c, BPFOptions{IfIndex: 4}), []bpfCase{{"UDP on 4", udp, false}, {"LLDP on 4", lldp, true}})
	checkBPF(t, mustProgram(t, c, BPFOptions{}), []bpfCase{{"UDP anywhere", udp, true}, {"LLDP anywhere", lldp, true}})
}
