package netlab

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// serialize builds the reference bytes with gopacket, an independent
// implementation of the same headers and checksums.
func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBuildersMatchGopacket(t *testing.T) {
	src4, dst4 := netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.2.2")
	src6, dst6 := netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddr("2001:db8:2::2")
	ip4 := func(proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TOS: 0x88, Id: 4321, Flags: layers.IPv4DontFragment, TTL: 64,
			Protocol: proto, SrcIP: src4.AsSlice(), DstIP: dst4.AsSlice()}
	}
	ip6 := func(proto layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, TrafficClass: 0xb8, FlowLabel: 0xabcde, HopLimit: 64,
			NextHeader: proto, SrcIP: src6.AsSlice(), DstIP: dst6.AsSlice()}
	}
	h4 := IPHeader{Src: src4, Dst: dst4, TOS: 0x88, ID: 4321}
	h6 := IPHeader{Src: src6, Dst: dst6, TOS: 0xb8, FlowLabel: 0xabcde}
	payload := []byte("odd-length payload!")

	tests := []struct {
		name  string
		build func() ([]byte, error)
		want  func(t *testing.T) []byte
	}{
		{"UDP over IPv4", func() ([]byte, error) { return BuildUDP(h4, 1234, 5678, payload) },
			func(t *testing.T) []byte {
				ip := ip4(layers.IPProtocolUDP)
				u := &layers.UDP{SrcPort: 1234, DstPort: 5678}
				u.SetNetworkLayerForChecksum(ip)
				return serialize(t, ip, u, gopacket.Payload(payload))
			}},
		{"UDP over IPv6", func() ([]byte, error) { return BuildUDP(h6, 1234, 5678, payload) },
			func(t *testing.T) []byte {
				ip := ip6(layers.IPProtocolUDP)
				u := &layers.UDP{SrcPort: 1234, DstPort: 5678}
				u.SetNetworkLayerForChecksum(ip)
				return serialize(t, ip, u, gopacket.Payload(payload))
			}},
		{"TCP SYN over IPv4", func() ([]byte, error) {
			return BuildTCP(h4, TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 7, Flags: TCPSyn}, nil)
		}, func(t *testing.T) []byte {
			ip := ip4(layers.IPProtocolTCP)
			tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 7, SYN: true, Window: 64240}
			tcp.SetNetworkLayerForChecksum(ip)
			return serialize(t, ip, tcp)
		}},
		{"TCP data over IPv6", func() ([]byte, error) {
			return BuildTCP(h6, TCPHeader{SrcPort: 40000, DstPort: 443, Seq: 9, Ack: 3, Flags: TCPPsh | TCPAck, Window: 512}, payload)
		}, func(t *testing.T) []byte {
			ip := ip6(layers.IPProtocolTCP)
			tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 9, Ack: 3, PSH: true, ACK: true, Window: 512}
			tcp.SetNetworkLayerForChecksum(ip)
			return serialize(t, ip, tcp, gopacket.Payload(payload))
		}},
		{"ICMP echo", func() ([]byte, error) { return BuildEcho(h4, 0x4e4c, 3, payload) },
			func(t *testing.T) []byte {
				icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x4e4c, Seq: 3}
				return serialize(t, ip4(layers.IPProtocolICMPv4), icmp, gopacket.Payload(payload))
			}},
		{"ICMPv6 echo", func() ([]byte, error) { return BuildEcho(h6, 0x4e4c, 3, payload) },
			func(t *testing.T) []byte {
				ip := ip6(layers.IPProtocolICMPv6)
				icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
				icmp.SetNetworkLayerForChecksum(ip)
				echo := &layers.ICMPv6Echo{Identifier: 0x4e4c, SeqNumber: 3}
				return serialize(t, ip, icmp, echo, gopacket.Payload(payload))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want(t); !bytes.Equal(got, want) {
				t.Fatalf("built\n% x\ngopacket\n% x", got, want)
			}
		})
	}
}

func TestBuildersRejectBadAddresses(t *testing.T) {
	v4, v6 := netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("2001:db8::1")
	for _, h := range []IPHeader{
		{Src: v4, Dst: v6},
		{Src: v6, Dst: v4},
		{Dst: v4},
		{Src: netip.MustParseAddr("::ffff:198.18.1.2"), Dst: v6},
	} {
		for name, build := range map[string]func() ([]byte, error){
			"IP":   func() ([]byte, error) { return BuildIP(h, ProtoUDP, nil) },
			"UDP":  func() ([]byte, error) { return BuildUDP(h, 1, 2, nil) },
			"TCP":  func() ([]byte, error) { return BuildTCP(h, TCPHeader{}, nil) },
			"echo": func() ([]byte, error) { return BuildEcho(h, 1, 1, nil) },
		} {
			if p, err := build(); err == nil {
				t.Errorf("%s from %v to %v built % x", name, h.Src, h.Dst, p)
			}
		}
	}
}

func TestForwarded(t *testing.T) {
	h4 := IPHeader{Src: netip.MustParseAddr("198.18.1.2"), Dst: netip.MustParseAddr("198.18.2.2"), ID: 1, TTL: 9}
	h6 := IPHeader{Src: netip.MustParseAddr("2001:db8:1::2"), Dst: netip.MustParseAddr("2001:db8:2::2"), TTL: 9}
	for _, h := range []IPHeader{h4, h6} {
		pkt, err := BuildUDP(h, 1, 2, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		h.TTL = 8
		want, _ := BuildUDP(h, 1, 2, []byte("x"))
		if got := Forwarded(pkt); !bytes.Equal(got, want) {
			t.Errorf("%v: forwarded\n% x\nwant\n% x", h.Src, got, want)
		}
		if pkt[0]>>4 == 4 && pkt[8] != 9 || pkt[0]>>4 == 6 && pkt[7] != 9 {
			t.Errorf("Forwarded changed its argument")
		}
	}
}

func TestFrameBytes(t *testing.T) {
	dst := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	src := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	// Long enough that gopacket adds no padding to reach 60 bytes.
	payload := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 12)
	tests := []struct {
		name  string
		frame Frame
		want  func(t *testing.T) []byte
	}{
		{"Ethernet II", Frame{Dst: dst, Src: src, EtherType: EtherTypeIPv6, Payload: payload},
			func(t *testing.T) []byte {
				return serialize(t, &layers.Ethernet{DstMAC: dst, SrcMAC: src, EthernetType: layers.EthernetTypeIPv6}, gopacket.Payload(payload))
			}},
		{"802.1Q", Frame{Dst: dst, Src: src, VLAN: true, VLANID: 100, Priority: 5, EtherType: 0x88b5, Payload: payload},
			func(t *testing.T) []byte {
				return serialize(t, &layers.Ethernet{DstMAC: dst, SrcMAC: src, EthernetType: layers.EthernetTypeDot1Q},
					&layers.Dot1Q{Priority: 5, VLANIdentifier: 100, Type: 0x88b5}, gopacket.Payload(payload))
			}},
		{"802.3 LLC", Frame{Dst: dst, Src: src, LLC: &LLC{DSAP: 0xe0, SSAP: 0x42, Control: 0x03}, Payload: payload},
			func(t *testing.T) []byte {
				return serialize(t, &layers.Ethernet{DstMAC: dst, SrcMAC: src, EthernetType: layers.EthernetTypeLLC},
					&layers.LLC{DSAP: 0xe0, SSAP: 0x42, Control: 0x03}, gopacket.Payload(payload))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.frame.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want(t); !bytes.Equal(got, want) {
				t.Fatalf("built\n% x\ngopacket\n% x", got, want)
			}
		})
	}
	bad := []Frame{
		{Dst: dst[:5], Src: src, EtherType: EtherTypeIPv4},
		{Dst: dst, Src: src, EtherType: 0x05dc}, // a length, not a type
		{Dst: dst, Src: src, LLC: &LLC{}, Payload: make([]byte, 1500)},
	}
	for _, f := range bad {
		if b, err := f.Bytes(); err == nil {
			t.Errorf("Bytes accepted %+v: % x", f, b)
		}
	}
}
