package classify

import (
	"net/netip"
	"slices"
	"testing"
)

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// Reusable header pieces, field by field.
var (
	// Ethernet: destination 02:00:00:00:00:0b, source 02:00:00:00:00:0a.
	macsBA = []byte{0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a}

	// IPv4 header without options, protocol UDP, 198.18.0.1 -> 198.18.0.2.
	ipv4UDP = []byte{
		0x45,       // version 4, IHL 5 (20 octets)
		0xb8,       // TOS: DSCP 46 (EF), ECN 0
		0x00, 0x20, // total length 32 = 20 + 8 UDP + 4 data
		0x12, 0x34, // identification
		0x00, 0x00, // flags 0, fragment offset 0
		0x40,       // TTL 64
		0x11,       // protocol 17 UDP
		0x00, 0x00, // header checksum (not checked)
		198, 18, 0, 1, // source
		198, 18, 0, 2, // destination
	}
	// UDP 5060 -> 5061, length 12, checksum 0, then 4 data octets.
	udpSIP = []byte{0x13, 0xc4, 0x13, 0xc5, 0x00, 0x0c, 0x00, 0x00, 'd', 'a', 't', 'a'}
)

func TestDecode(t *testing.T) {
	ip := func(s string) addr128 { return addrOf(netip.MustParseAddr(s)) }
	tests := []struct {
		name  string
		data  []byte
		want  frame
		valid bool
	}{{
		name: "IPv4 UDP behind 802.1ad and 802.1Q tags",
		data: cat(macsBA,
			[]byte{0x88, 0xa8, 0x00, 0x64}, // S-tag TPID 0x88A8, PCP 0, VID 100
			[]byte{0x81, 0x00, 0x00, 0xc8}, // C-tag TPID 0x8100, VID 200
			[]byte{0x08, 0x00},             // EtherType IPv4
			ipv4UDP, udpSIP),
		valid: true,
		want: frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasType: true, etherType: 0x0800, l3: 22,
			family: 4, src: ip("198.18.0.1"), dst: ip("198.18.0.2"), tos: 0xb8,
			chain: [9]uint8{17}, nchain: 1, hasPorts: true, sport: 5060, dport: 5061},
	}, {
		name: "IPv4 with options and TCP",
		data: cat(macsBA, []byte{0x08, 0x00},
			[]byte{
				0x46, 0x00, 0x00, 0x2c, // version 4, IHL 6 (24 octets), TOS 0, length 44
				0x00, 0x01, 0x40, 0x00, // id 1, DF, offset 0
				0x40, 0x06, 0x00, 0x00, // TTL 64, protocol 6 TCP, checksum
				198, 18, 1, 1, // source
				198, 18, 1, 2, // destination
				0x01, 0x01, 0x01, 0x00, // options: NOP NOP NOP EOL
			},
			[]byte{0x00, 0x50, 0xc3, 0x50}, // TCP source port 80, destination 50000
			make([]byte, 16)),              // rest of the TCP header
		valid: true,
		want: frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasType: true, etherType: 0x0800, l3: 14,
			family: 4, src: ip("198.18.1.1"), dst: ip("198.18.1.2"),
			chain: [9]uint8{6}, nchain: 1, hasPorts: true, sport: 80, dport: 50000},
	}, {
		name: "IPv4 later fragment: protocol, no ports",
		data: cat(macsBA, []byte{0x08, 0x00},
			[]byte{
				0x45, 0x00, 0x00, 0x1c, // version 4, IHL 5, TOS 0, length 28
				0x00, 0x02, 0x00, 0xb9, // id 2, MF 0, offset 185 (1480 octets)
				0x40, 0x11, 0x00, 0x00, // TTL 64, protocol UDP, checksum
				198, 18, 0, 1, 198, 18, 0, 2, // source, destination
			},
			[]byte{0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 0}), // payload bytes, not a UDP header
		valid: true,
		want: frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasType: true, etherType: 0x0800, l3: 14,
			family: 4, src: ip("198.18.0.1"), dst: ip("198.18.0.2"), chain: [9]uint8{17}, nchain: 1},
	}, {
		name: "IPv6 Hop-by-Hop, first Fragment, UDP",
		data: cat(macsBA, []byte{0x86, 0xdd},
			[]byte{
				0x6b, 0x81, 0x23, 0x45, // version 6, traffic class 0xb8, flow label 0x12345
				0x00, 0x1c, 0x00, 0x40, // payload length 28, next header 0 (Hop-by-Hop), hop limit 64
			},
			netip.MustParseAddr("2001:db8::1").AsSlice(), // source
			netip.MustParseAddr("2001:db8::2").AsSlice(), // destination
			[]byte{0x2c, 0x00, 0x01, 0x04, 0, 0, 0, 0},   // HBH: next 44, length 0 (8 octets), PadN
			[]byte{0x11, 0x00, 0x00, 0x01, 0, 0, 0, 9},   // Fragment: next 17, offset 0, M=1, id 9
			udpSIP),
		valid: true,
		want: frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasType: true, etherType: 0x86dd, l3: 14,
			family: 6, src: ip("2001:db8::1"), dst: ip("2001:db8::2"), tos: 0xb8, flow: 0x12345,
			chain: [9]uint8{0, 44, 17}, nchain: 3, hasPorts: true, sport: 5060, dport: 5061},
	}, {
		name: "IPv6 later fragment: protocol, no ports",
		data: cat(macsBA, []byte{0x86, 0xdd},
			[]byte{0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x2c, 0x40}, // v6, next header 44, hop limit 64
			netip.MustParseAddr("2001:db8::1").AsSlice(),
			netip.MustParseAddr("2001:db8::2").AsSlice(),
			[]byte{0x06, 0x00, 0x05, 0xc8, 0, 0, 0, 9}, // Fragment: next 6 TCP, offset 185, M=0
			[]byte{0x00, 0x50, 0xc3, 0x50}),            // payload bytes, not a TCP header
		valid: true,
		want: frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasType: true, etherType: 0x86dd, l3: 14,
			family: 6, src: ip("2001:db8::1"), dst: ip("2001:db8::2"), chain: [9]uint8{44, 6}, nchain: 2},
	}, {
		name: "IPv4 in 802.2 LLC/SNAP",
		data: cat(macsBA,
			[]byte{0x00, 0x2c},                   // 802.3 length 44
			[]byte{0xaa, 0xaa, 0x03},             // LLC: DSAP SNAP, SSAP SNAP, control UI
			[]byte{0x00, 0x00, 0x00, 0x08, 0x00}, // SNAP: OUI 00-00-00, type IPv4
			ipv4UDP, udpSIP),
		valid: true,
		want: frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasLLC: true, dsap: 0xaa, ssap: 0xaa,
			hasType: true, etherType: 0x0800, l3: 22,
			family: 4, src: ip("198.18.0.1"), dst: ip("198.18.0.2"), tos: 0xb8,
			chain: [9]uint8{17}, nchain: 1, hasPorts: true, sport: 5060, dport: 5061},
	}, {
		name: "802.3 spanning tree BPDU",
		data: cat(
			[]byte{0x01, 0x80, 0xc2, 0, 0, 0}, // destination: STP group address
			[]byte{0x02, 0, 0, 0, 0, 0x0a},    // source
			[]byte{0x00, 0x26},                // 802.3 length 38
			[]byte{0x42, 0x42, 0x03},          // LLC: DSAP 0x42, SSAP 0x42, UI
			[]byte{0x00, 0x00, 0x00, 0x00}),   // BPDU: protocol 0, version 0, type config
		valid: true,
		want:  frame{dstMAC: 0x0180c2000000, srcMAC: 0x02000000000a, hasLLC: true, dsap: 0x42, ssap: 0x42},
	}, {
		name:  "VLAN tag cut short: MACs only",
		data:  cat(macsBA, []byte{0x81, 0x00, 0x00}),
		valid: true,
		want:  frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a},
	}, {
		name:  "IPv4 header cut short: EtherType only",
		data:  cat(macsBA, []byte{0x08, 0x00}, ipv4UDP[:19]),
		valid: true,
		want:  frame{dstMAC: 0x02000000000b, srcMAC: 0x02000000000a, hasType: true, etherType: 0x0800, l3: 14},
	}, {
		name: "shorter than an Ethernet header",
		data: macsBA,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f frame
			if got := f.decode(tt.data); got != tt.valid {
				t.Fatalf("decode = %v, want %v", got, tt.valid)
			}
			if f != tt.want {
				t.Errorf("decode:\n got %+v\nwant %+v", f, tt.want)
			}
		})
	}
}

func TestMaskOf(t *testing.T) {
	tests := []struct {
		bits int
		want addr128
	}{
		{0, addr128{}},
		{8, addr128{hi: 0xff00000000000000}},
		{32, addr128{hi: 0xffffffff00000000}},
		{64, addr128{hi: ^uint64(0)}},
		{65, addr128{hi: ^uint64(0), lo: 0x8000000000000000}},
		{128, addr128{^uint64(0), ^uint64(0)}},
	}
	for _, tt := range tests {
		if got := maskOf(tt.bits); got != tt.want {
			t.Errorf("maskOf(%d) = %x, want %x", tt.bits, got, tt.want)
		}
	}
}
