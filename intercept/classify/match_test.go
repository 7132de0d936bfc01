package classify

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"tapagent/intercept"
)

type matchCase struct {
	name string
	taps []intercept.Tap
	cfg  Config // Taps is filled from taps
	pkt  Packet
	want []hit
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Taps = tt.taps
			c := Build(cfg)
			got := hitsOf(c.Match(&tt.pkt, MakeHits(4)))
			if !equalHits(got, tt.want) {
				t.Errorf("Match:\n got %+v\nwant %+v", got, tt.want)
			}
			// The indexes must find exactly what checking every tap finds.
			if ref := hitsOf(bruteForce(c, &tt.pkt)); !equalHits(got, ref) {
				t.Errorf("Match differs from checking every tap:\n got %+v\n ref %+v", got, ref)
			}
		})
	}
}

// bruteForce checks every compiled tap: the reference for the indexes.
func bruteForce(c *Classifier, p *Packet) []Hit {
	var f frame
	var hits []Hit
	if !f.decode(p.Data) {
		return nil
	}
	for i := range c.ip {
		if c.ip[i].match(p, &f, c.vrfOf) {
			hits = addHit(hits, 0, c.ip[i].md, c.ip[i].key, LayerIP, f.l3)
		}
	}
	for i := range c.mac {
		if c.mac[i].match(p, &f) {
			hits = addHit(hits, 0, c.mac[i].md, c.mac[i].key, LayerEthernet, 0)
		}
	}
	sortHits(hits)
	return hits
}

func one(cid intercept.ContentID, stream uint32, l Layer, off int) []hit {
	return []hit{{cid, []uint32{stream}, l, off}}
}

func TestMatchIPAddresses(t *testing.T) {
	dstHost := armIP(1, 1, func(f *intercept.IPFilter) { f.Dst = pfx("198.18.0.2/32") })
	// Host bits beyond the length are ignored: .77/24 is 198.18.0.0/24.
	srcNet := armIP(2, 1, func(f *intercept.IPFilter) { f.Src = pfx("198.18.0.77/24") })
	anyUDP4 := armIP(3, 1, func(f *intercept.IPFilter) { f.Protocol = 17 })
	v6Host := armIP(4, 1, func(f *intercept.IPFilter) {
		f.AddrFamily = intercept.AddrIPv6
		f.Dst = pfx("2001:db8::2/128")
	})
	v6Net := armIP(5, 1, func(f *intercept.IPFilter) {
		f.AddrFamily = intercept.AddrIPv6
		f.Src = pfx("2001:db8:1::/48")
	})
	both := armIP(6, 1, func(f *intercept.IPFilter) {
		f.Dst = pfx("198.18.4.0/22")
		f.Src = pfx("198.18.9.9/32")
	})
	mcast := armIP(7, 1, func(f *intercept.IPFilter) { f.Dst = pfx("224.0.0.0/4") })
	v6mcast := armIP(8, 1, func(f *intercept.IPFilter) {
		f.AddrFamily = intercept.AddrIPv6
		f.Dst = pfx("ff02::1/128")
	})
	runMatchCases(t, []matchCase{
		{name: "IPv4 destination host", taps: []intercept.Tap{dstHost},
			pkt: Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 1000, 2000)}, want: one(1, 1, LayerIP, 14)},
		{name: "IPv4 destination host, other address", taps: []intercept.Tap{dstHost},
			pkt: Packet{Data: udp4(t, "198.18.0.2", "198.18.0.3", 1000, 2000)}},
		{name: "IPv4 source prefix", taps: []intercept.Tap{srcNet},
			pkt: Packet{Data: udp4(t, "198.18.0.200", "198.18.7.1", 1, 2)}, want: one(2, 1, LayerIP, 14)},
		{name: "IPv4 source prefix, outside", taps: []intercept.Tap{srcNet},
			pkt: Packet{Data: udp4(t, "198.18.1.1", "198.18.0.2", 1, 2)}},
		{name: "no address: any IPv4 UDP", taps: []intercept.Tap{anyUDP4},
			pkt: Packet{Data: udp4(t, "198.19.5.5", "198.19.6.6", 1, 2)}, want: one(3, 1, LayerIP, 14)},
		{name: "an IPv4 tap without address ignores IPv6", taps: []intercept.Tap{anyUDP4},
			pkt: Packet{Data: udp6(t, "2001:db8::1", "2001:db8::2", 1, 2)}},
		{name: "IPv6 destination host", taps: []intercept.Tap{v6Host, dstHost},
			pkt: Packet{Data: udp6(t, "2001:db8::1", "2001:db8::2", 1, 2)}, want: one(4, 1, LayerIP, 14)},
		{name: "IPv6 source /48", taps: []intercept.Tap{v6Net},
			pkt: Packet{Data: udp6(t, "2001:db8:1:ffff::9", "2001:db8::2", 1, 2)}, want: one(5, 1, LayerIP, 14)},
		{name: "IPv6 source /48, outside", taps: []intercept.Tap{v6Net},
			pkt: Packet{Data: udp6(t, "2001:db8:2::9", "2001:db8::2", 1, 2)}},
		{name: "destination prefix and source host both", taps: []intercept.Tap{both},
			pkt: Packet{Data: udp4(t, "198.18.9.9", "198.18.6.1", 1, 2)}, want: one(6, 1, LayerIP, 14)},
		{name: "destination prefix matches, source host does not", taps: []intercept.Tap{both},
			pkt: Packet{Data: udp4(t, "198.18.9.8", "198.18.6.1", 1, 2)}},
		{name: "IPv4 multicast to the broadcast MAC", taps: []intercept.Tap{mcast},
			pkt: Packet{Data: serialize(t, eth(macA, bcast, layers.EthernetTypeIPv4),
				ip4("198.18.0.1", "224.0.0.251", layers.IPProtocolUDP), udp(5353, 5353))},
			want: one(7, 1, LayerIP, 14)},
		{name: "IPv6 all-nodes multicast", taps: []intercept.Tap{v6mcast},
			pkt: Packet{Data: serialize(t, eth(macA, "33:33:00:00:00:01", layers.EthernetTypeIPv6),
				ip6("fe80::1", "ff02::1", layers.IPProtocolUDP), udp(1, 2))},
			want: one(8, 1, LayerIP, 14)},
	})
}

// Hand-built IPv6 packets with extension headers.
func ipv6WithExt(t *testing.T, first byte, ext []byte) []byte {
	t.Helper()
	return cat(macsBA, []byte{0x86, 0xdd},
		[]byte{0x60, 0x00, 0x00, 0x00, 0x00, byte(len(ext) + 12), first, 0x40}, // v6, payload length, next header, hop limit
		netip.MustParseAddr("2001:db8::1").AsSlice(),
		netip.MustParseAddr("2001:db8::2").AsSlice(),
		ext, udpSIP)
}

func TestMatchIPProtocolsAndPorts(t *testing.T) {
	proto := func(id intercept.ContentID, p int32, fam intercept.AddrFamily) intercept.Tap {
		return armIP(id, 1, func(f *intercept.IPFilter) { f.Protocol, f.AddrFamily = p, fam })
	}
	v4, v6 := intercept.AddrIPv4, intercept.AddrIPv6
	udpRange := armIP(1, 1, func(f *intercept.IPFilter) { f.Protocol, f.DstPortMin, f.DstPortMax = 17, 5060, 5070 })
	srcPort := armIP(2, 1, func(f *intercept.IPFilter) { f.SrcPortMin, f.SrcPortMax = 80, 80 })
	fullUDP := armIP(3, 1, func(f *intercept.IPFilter) { f.Dst, f.Protocol = pfx("198.18.0.2/32"), 17 })
	hbh := []byte{0x11, 0x00, 0x01, 0x04, 0, 0, 0, 0} // Hop-by-Hop: next 17, 8 octets, PadN
	laterFrag := cat(macsBA, []byte{0x08, 0x00},
		[]byte{0x45, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x00, 0xb9, 0x40, 0x11, 0x00, 0x00}, // offset 185, UDP
		[]byte{198, 18, 0, 1, 198, 18, 0, 2},
		[]byte{0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 0}) // data that would read as ports 5060 -> 5061
	sctp := serialize(t, eth(macA, macB, layers.EthernetTypeIPv4), ip4("198.18.0.1", "198.18.0.2", layers.IPProtocolSCTP),
		payload("\x0b\x59\x13\xc4\x00\x00\x00\x01\x00\x00\x00\x00")) // SCTP 2905 -> 5060, vtag 1, checksum 0
	icmp := serialize(t, eth(macA, macB, layers.EthernetTypeIPv4), ip4("198.18.0.1", "198.18.0.2", layers.IPProtocolICMPv4),
		payload("\x08\x00\x13\xc4\x13\xc4\x00\x01")) // echo request whose id/seq look like port 5060
	runMatchCases(t, []matchCase{
		{name: "protocol TCP, packet UDP", taps: []intercept.Tap{proto(1, 6, v4)},
			pkt: Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)}},
		{name: "protocol TCP", taps: []intercept.Tap{proto(1, 6, v4)},
			pkt: Packet{Data: serialize(t, eth(macA, macB, layers.EthernetTypeIPv4),
				ip4("198.18.0.1", "198.18.0.2", layers.IPProtocolTCP), tcp(1, 2))},
			want: one(1, 1, LayerIP, 14)},
		{name: "protocol 0 is HOPOPT: IPv6 with Hop-by-Hop", taps: []intercept.Tap{proto(1, 0, v6)},
			pkt: Packet{Data: ipv6WithExt(t, 0, hbh)}, want: one(1, 1, LayerIP, 14)},
		{name: "protocol 0 is not any: IPv6 without Hop-by-Hop", taps: []intercept.Tap{proto(1, 0, v6)},
			pkt: Packet{Data: udp6(t, "2001:db8::1", "2001:db8::2", 1, 2)}},
		{name: "IPv6 upper-layer protocol after extension headers", taps: []intercept.Tap{proto(1, 17, v6)},
			pkt: Packet{Data: ipv6WithExt(t, 0, hbh)}, want: one(1, 1, LayerIP, 14)},
		{name: "UDP port range, inside", taps: []intercept.Tap{udpRange},
			pkt: Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 40000, 5070)}, want: one(1, 1, LayerIP, 14)},
		{name: "UDP port range, above", taps: []intercept.Tap{udpRange},
			pkt: Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 40000, 5071)}},
		{name: "UDP port range behind Hop-by-Hop", taps: []intercept.Tap{armIP(1, 1, func(f *intercept.IPFilter) {
			f.AddrFamily, f.DstPortMin, f.DstPortMax = v6, 5061, 5061
		})}, pkt: Packet{Data: ipv6WithExt(t, 0, hbh)}, want: one(1, 1, LayerIP, 14)},
		{name: "TCP source port", taps: []intercept.Tap{srcPort},
			pkt: Packet{Data: serialize(t, eth(macA, macB, layers.EthernetTypeIPv4),
				ip4("198.18.0.1", "198.18.0.2", layers.IPProtocolTCP), tcp(80, 50000))},
			want: one(2, 1, LayerIP, 14)},
		{name: "SCTP ports", taps: []intercept.Tap{udpRange, srcPort, armIP(3, 1, func(f *intercept.IPFilter) {
			f.Protocol, f.SrcPortMin, f.SrcPortMax = 132, 2905, 2905
		})}, pkt: Packet{Data: sctp}, want: one(3, 1, LayerIP, 14)},
		{name: "no ports in ICMP: a port range never matches", taps: []intercept.Tap{udpRange, srcPort,
			armIP(3, 1, func(f *intercept.IPFilter) { f.DstPortMin, f.DstPortMax = 5060, 5060 })},
			pkt: Packet{Data: icmp}},
		{name: "later fragment: only taps with full port ranges", taps: []intercept.Tap{udpRange, fullUDP},
			pkt: Packet{Data: laterFrag}, want: one(3, 1, LayerIP, 14)},
	})
}

func TestMatchIPTOSFlowInterfaceVRF(t *testing.T) {
	ef := func(id intercept.ContentID, fam intercept.AddrFamily) intercept.Tap {
		return armIP(id, 1, func(f *intercept.IPFilter) { f.AddrFamily, f.TOS, f.TOSMask = fam, 0xb8, 0xfc })
	}
	tos := func(b byte) []byte {
		d := udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)
		d[14+1] = b
		return d
	}
	tclass := func(b byte) []byte {
		d := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2)
		d[14] = 0x60 | b>>4
		d[15] = b << 4
		return d
	}
	flowTap := armIP(1, 1, func(f *intercept.IPFilter) { f.AddrFamily, f.FlowID = intercept.AddrIPv6, 0x12345 })
	flow := func(label uint32) []byte {
		d := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2)
		d[15], d[16], d[17] = byte(label>>16), byte(label>>8), byte(label)
		return d
	}
	onIf := armIP(1, 1, func(f *intercept.IPFilter) { f.Dst, f.Interface = pfx("198.18.0.2/32"), 3 })
	ifOnly := armIP(2, 1, func(f *intercept.IPFilter) { f.Interface, f.Protocol = 3, 17 })
	routed := armIP(1, 1, func(f *intercept.IPFilter) { f.Dst, f.Interface = pfx("198.18.0.9/24"), -1 })
	var asked netip.Prefix
	route := Config{RouteIfIndex: func(p netip.Prefix) int { asked = p; return 5 }}
	unknownRoute := Config{RouteIfIndex: func(netip.Prefix) int { return 0 }}
	voip := armIP(1, 1, func(f *intercept.IPFilter) {
		f.Src, f.Interface, f.SrcPortMin, f.SrcPortMax = pfx("198.18.0.1/32"), -2, 1, 1
	})
	red := armIP(1, 1, func(f *intercept.IPFilter) { f.Dst, f.VRF = pfx("198.18.0.2/32"), "red" })
	global := armIP(2, 1, func(f *intercept.IPFilter) { f.Dst = pfx("198.18.0.2/32") })
	vrfs := Config{VRFOf: func(i int) string {
		if i == 7 {
			return "red"
		}
		return ""
	}}
	pkt := udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)
	runMatchCases(t, []matchCase{
		{name: "TOS under mask", taps: []intercept.Tap{ef(1, intercept.AddrIPv4)},
			pkt: Packet{Data: tos(0xb9)}, want: one(1, 1, LayerIP, 14)}, // EF + ECN bit
		{name: "TOS differs", taps: []intercept.Tap{ef(1, intercept.AddrIPv4)}, pkt: Packet{Data: tos(0x88)}},
		{name: "IPv6 traffic class", taps: []intercept.Tap{ef(1, intercept.AddrIPv6)},
			pkt: Packet{Data: tclass(0xb8)}, want: one(1, 1, LayerIP, 14)},
		{name: "IPv6 traffic class differs", taps: []intercept.Tap{ef(1, intercept.AddrIPv6)}, pkt: Packet{Data: tclass(0)}},
		{name: "flow label", taps: []intercept.Tap{flowTap}, pkt: Packet{Data: flow(0x12345)}, want: one(1, 1, LayerIP, 14)},
		{name: "flow label differs", taps: []intercept.Tap{flowTap}, pkt: Packet{Data: flow(0x12346)}},
		{name: "interface 3, seen on 3", taps: []intercept.Tap{onIf, ifOnly},
			pkt:  Packet{Data: pkt, IfIndex: 3, Outgoing: true},
			want: []hit{{1, []uint32{1}, LayerIP, 14}, {2, []uint32{1}, LayerIP, 14}}},
		{name: "interface 3, seen on 4", taps: []intercept.Tap{onIf, ifOnly}, pkt: Packet{Data: pkt, IfIndex: 4}},
		{name: "interface -1: routing's interface", taps: []intercept.Tap{routed}, cfg: route,
			pkt: Packet{Data: pkt, IfIndex: 5}, want: one(1, 1, LayerIP, 14)},
		{name: "interface -1: another interface", taps: []intercept.Tap{routed}, cfg: route,
			pkt: Packet{Data: pkt, IfIndex: 4}},
		{name: "interface -1, route unknown: any interface", taps: []intercept.Tap{routed}, cfg: unknownRoute,
			pkt: Packet{Data: pkt, IfIndex: 4}, want: one(1, 1, LayerIP, 14)},
		{name: "interface -2 (VoIP): any interface, source and port", taps: []intercept.Tap{voip},
			pkt: Packet{Data: pkt, IfIndex: 12}, want: one(1, 1, LayerIP, 14)},
		{name: "VRF red on a red interface", taps: []intercept.Tap{red, global}, cfg: vrfs,
			pkt: Packet{Data: pkt, IfIndex: 7}, want: one(1, 1, LayerIP, 14)},
		{name: "global table on a global interface", taps: []intercept.Tap{red, global}, cfg: vrfs,
			pkt: Packet{Data: pkt, IfIndex: 8}, want: one(2, 1, LayerIP, 14)},
		{name: "no VRF information: named VRFs never match", taps: []intercept.Tap{red, global},
			pkt: Packet{Data: pkt, IfIndex: 7}, want: one(2, 1, LayerIP, 14)},
	})
	if asked != pfx("198.18.0.0/24") {
		t.Errorf("RouteIfIndex asked for %v, want the masked destination 198.18.0.0/24", asked)
	}
}

func TestMatchEncapsulations(t *testing.T) {
	tap := armIP(1, 1, func(f *intercept.IPFilter) { f.Dst = pfx("198.18.0.2/32") })
	v6tap := armIP(2, 1, func(f *intercept.IPFilter) {
		f.AddrFamily = intercept.AddrIPv6
		f.Dst = pfx("2001:db8::2/128")
	})
	ip := func() []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{ip4("198.18.0.1", "198.18.0.2", layers.IPProtocolUDP), udp(1, 2)}
	}
	withL2 := func(l2 ...gopacket.SerializableLayer) []byte { return serialize(t, append(l2, ip()...)...) }
	runMatchCases(t, []matchCase{
		{name: "one 802.1Q tag", taps: []intercept.Tap{tap},
			pkt:  Packet{Data: withL2(eth(macA, macB, layers.EthernetTypeDot1Q), tag(10, layers.EthernetTypeIPv4))},
			want: one(1, 1, LayerIP, 18)},
		{name: "802.1ad and 802.1Q tags", taps: []intercept.Tap{tap},
			pkt: Packet{Data: withL2(eth(macA, macB, layers.EthernetTypeQinQ), tag(10, layers.EthernetTypeDot1Q),
				tag(20, layers.EthernetTypeIPv4))},
			want: one(1, 1, LayerIP, 22)},
		{name: "IPv6 behind a tag", taps: []intercept.Tap{v6tap},
			pkt: Packet{Data: serialize(t, eth(macA, macB, layers.EthernetTypeDot1Q), tag(10, layers.EthernetTypeIPv6),
				ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolUDP), udp(1, 2))},
			want: one(2, 1, LayerIP, 18)},
		{name: "three tags: not followed", taps: []intercept.Tap{tap},
			pkt: Packet{Data: withL2(eth(macA, macB, layers.EthernetTypeQinQ), tag(10, layers.EthernetTypeDot1Q),
				tag(20, layers.EthernetTypeDot1Q), tag(30, layers.EthernetTypeIPv4))}},
		{name: "tag stripped by the kernel", taps: []intercept.Tap{tap},
			pkt:  Packet{Data: withL2(eth(macA, macB, layers.EthernetTypeIPv4)), VLAN: 10, HasVLAN: true},
			want: one(1, 1, LayerIP, 14)},
		{name: "IPv4 in LLC/SNAP", taps: []intercept.Tap{tap},
			pkt: Packet{Data: cat(macsBA, []byte{0x00, 0x2c, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00},
				ipv4UDP, udpSIP)},
			want: one(1, 1, LayerIP, 22)},
		{name: "ARP is not IP", taps: []intercept.Tap{armIP(1, 1, func(f *intercept.IPFilter) { f.Protocol = -1; f.TOSMask = 0 })},
			pkt: Packet{Data: serialize(t, eth(macA, bcast, layers.EthernetTypeARP), &layers.ARP{
				AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: 1, SourceHwAddress: mustMAC(macA), SourceProtAddress: []byte{198, 18, 0, 1},
				DstHwAddress: make([]byte, 6), DstProtAddress: []byte{198, 18, 0, 2}})}},
	})
}

func TestMatch802(t *testing.T) {
	A, B, C, M := mustMAC(macA), mustMAC(macB), mustMAC(macC), mustMAC(macM)
	e := LayerEthernet
	dstB := armMAC(1, 1, func(f *intercept.MACFilter) { f.Fields, f.Dst = intercept.MatchDstMAC, B })
	srcA := armMAC(2, 1, func(f *intercept.MACFilter) { f.Fields, f.Src = intercept.MatchSrcMAC, A })
	aToB := armMAC(3, 1, func(f *intercept.MACFilter) {
		f.Fields, f.Dst, f.Src = intercept.MatchDstMAC|intercept.MatchSrcMAC, B, A
	})
	eitherC := armMAC(4, 1, func(f *intercept.MACFilter) {
		f.Fields, f.Dst, f.Src = intercept.MatchDstMAC|intercept.MatchSrcMAC, C, C
	})
	lldp := armMAC(5, 1, func(f *intercept.MACFilter) { f.Fields, f.EtherType = intercept.MatchEtherType, 0x88cc })
	ipv4Type := armMAC(5, 2, func(f *intercept.MACFilter) { f.Fields, f.EtherType = intercept.MatchEtherType, 0x0800 })
	stp := armMAC(6, 1, func(f *intercept.MACFilter) {
		f.Fields, f.DstLLCSAP, f.SrcLLCSAP = intercept.MatchDstLLCSAP|intercept.MatchSrcLLCSAP, 0x42, 0x42
	})
	onIf3 := armMAC(7, 1, func(f *intercept.MACFilter) {
		f.Fields, f.Interface, f.Src = intercept.MatchInterface|intercept.MatchSrcMAC, 3, A
	})
	learned := armMAC(8, 1, func(f *intercept.MACFilter) {
		f.Fields, f.Interface, f.Src = intercept.MatchInterface|intercept.MatchSrcMAC, -1, A
	})
	// The seed's cable modem tap: -o 62 = dstMac, srcMac, cmMacAddress.
	modem := armMAC(9, 1, func(f *intercept.MACFilter) {
		f.Fields, f.Dst, f.Src = intercept.MatchDstMAC|intercept.MatchSrcMAC|intercept.MatchCMMAC, M, M
	})
	modemIPv4 := armMAC(10, 1, func(f *intercept.MACFilter) {
		f.Fields, f.Src, f.EtherType = intercept.MatchCMMAC|intercept.MatchEtherType, M, 0x0800
	})
	broadcast := armMAC(11, 1, func(f *intercept.MACFilter) { f.Fields, f.Dst = intercept.MatchDstMAC, mustMAC(bcast) })

	ports := Config{LearnedPort: func(mac net.HardwareAddr) int {
		switch mac.String() {
		case macA:
			return 6
		case macM:
			return 9
		}
		return 0
	}}
	frame := func(src, dst string) []byte {
		return serialize(t, eth(src, dst, layers.EthernetTypeIPv4), ip4("198.18.0.1", "198.18.0.2", layers.IPProtocolUDP), udp(1, 2))
	}
	lldpFrame := serialize(t, eth(macA, "01:80:c2:00:00:0e", layers.EthernetTypeDot1Q), tag(5, layers.EthernetTypeLinkLayerDiscovery),
		payload("\x02\x07\x04\x02\x00\x00\x00\x00\x0a"))
	bpdu := func(ssap byte) []byte {
		return cat([]byte{0x01, 0x80, 0xc2, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x0a}, // STP group address <- A
			[]byte{0x00, 0x07, 0x42, ssap, 0x03, 0, 0, 0, 0}) // length 7, DSAP 0x42, SSAP, UI, BPDU
	}
	runMatchCases(t, []matchCase{
		{name: "destination MAC", taps: []intercept.Tap{dstB}, pkt: Packet{Data: frame(macA, macB)}, want: one(1, 1, e, 0)},
		{name: "destination MAC is the source", taps: []intercept.Tap{dstB}, pkt: Packet{Data: frame(macB, macA)}},
		{name: "source MAC", taps: []intercept.Tap{srcA}, pkt: Packet{Data: frame(macA, macC)}, want: one(2, 1, e, 0)},
		{name: "different source and destination: both needed", taps: []intercept.Tap{aToB},
			pkt: Packet{Data: frame(macA, macB)}, want: one(3, 1, e, 0)},
		{name: "different source and destination: one is not enough", taps: []intercept.Tap{aToB},
			pkt: Packet{Data: frame(macA, macC)}},
		{name: "same MAC both ways: from it", taps: []intercept.Tap{eitherC},
			pkt: Packet{Data: frame(macC, macB)}, want: one(4, 1, e, 0)},
		{name: "same MAC both ways: to it", taps: []intercept.Tap{eitherC},
			pkt: Packet{Data: frame(macA, macC)}, want: one(4, 1, e, 0)},
		{name: "same MAC both ways: neither", taps: []intercept.Tap{eitherC}, pkt: Packet{Data: frame(macA, macB)}},
		{name: "same MAC both ways: to itself, one hit", taps: []intercept.Tap{eitherC},
			pkt: Packet{Data: frame(macC, macC)}, want: one(4, 1, e, 0)},
		{name: "EtherType after a VLAN tag", taps: []intercept.Tap{lldp, ipv4Type},
			pkt: Packet{Data: lldpFrame}, want: one(5, 1, e, 0)},
		{name: "EtherType from LLC/SNAP", taps: []intercept.Tap{lldp, ipv4Type},
			pkt:  Packet{Data: cat(macsBA, []byte{0x00, 0x2c, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00}, ipv4UDP, udpSIP)},
			want: one(5, 2, e, 0)},
		{name: "LLC SAPs, command", taps: []intercept.Tap{stp}, pkt: Packet{Data: bpdu(0x42)}, want: one(6, 1, e, 0)},
		{name: "LLC SAPs, response bit ignored", taps: []intercept.Tap{stp}, pkt: Packet{Data: bpdu(0x43)}, want: one(6, 1, e, 0)},
		{name: "LLC SAPs need an 802.3 frame", taps: []intercept.Tap{stp}, pkt: Packet{Data: frame(macA, macB)}},
		{name: "interface 3 and source, on 3", taps: []intercept.Tap{onIf3},
			pkt: Packet{Data: frame(macA, macB), IfIndex: 3}, want: one(7, 1, e, 0)},
		{name: "interface 3 and source, on 4", taps: []intercept.Tap{onIf3}, pkt: Packet{Data: frame(macA, macB), IfIndex: 4}},
		{name: "interface -1: the learned port", taps: []intercept.Tap{learned}, cfg: ports,
			pkt: Packet{Data: frame(macA, macB), IfIndex: 6}, want: one(8, 1, e, 0)},
		{name: "interface -1: another port", taps: []intercept.Tap{learned}, cfg: ports,
			pkt: Packet{Data: frame(macA, macB), IfIndex: 2}},
		{name: "interface -1, not learned: any port", taps: []intercept.Tap{learned},
			pkt: Packet{Data: frame(macA, macB), IfIndex: 2}, want: one(8, 1, e, 0)},
		{name: "modem port: a device behind the modem", taps: []intercept.Tap{modem}, cfg: ports,
			pkt: Packet{Data: frame(macC, macB), IfIndex: 9}, want: one(9, 1, e, 0)},
		{name: "modem port: traffic to the device", taps: []intercept.Tap{modem}, cfg: ports,
			pkt: Packet{Data: frame(macB, macC), IfIndex: 9, Outgoing: true}, want: one(9, 1, e, 0)},
		{name: "modem port: the modem's MAC on another port", taps: []intercept.Tap{modem}, cfg: ports,
			pkt: Packet{Data: frame(macM, macB), IfIndex: 2}},
		{name: "modem not learned: from the modem", taps: []intercept.Tap{modem},
			pkt: Packet{Data: frame(macM, macB), IfIndex: 2}, want: one(9, 1, e, 0)},
		{name: "modem not learned: to the modem", taps: []intercept.Tap{modem},
			pkt: Packet{Data: frame(macB, macM), IfIndex: 2}, want: one(9, 1, e, 0)},
		{name: "modem not learned: a device behind it is unknown", taps: []intercept.Tap{modem},
			pkt: Packet{Data: frame(macC, macB), IfIndex: 9}},
		{name: "modem port and EtherType", taps: []intercept.Tap{modemIPv4}, cfg: ports,
			pkt: Packet{Data: frame(macC, macB), IfIndex: 9}, want: one(10, 1, e, 0)},
		{name: "modem port, other EtherType", taps: []intercept.Tap{modemIPv4}, cfg: ports,
			pkt: Packet{Data: lldpFrame, IfIndex: 9}},
		{name: "broadcast destination", taps: []intercept.Tap{broadcast},
			pkt: Packet{Data: frame(macA, bcast)}, want: one(11, 1, e, 0)},
	})
}

func TestMatchOneHitPerDevice(t *testing.T) {
	host := func(id intercept.ContentID, idx uint32) intercept.Tap {
		return armIP(id, idx, func(f *intercept.IPFilter) { f.Dst = pfx("198.18.0.2/32") })
	}
	udpAny := func(id intercept.ContentID, idx uint32) intercept.Tap {
		return armIP(id, idx, func(f *intercept.IPFilter) { f.Protocol = 17 })
	}
	srcNet := func(id intercept.ContentID, idx uint32) intercept.Tap {
		return armIP(id, idx, func(f *intercept.IPFilter) { f.Src = pfx("198.18.0.0/16") })
	}
	srcA := func(id intercept.ContentID, idx uint32) intercept.Tap {
		return armMAC(id, idx, func(f *intercept.MACFilter) { f.Fields, f.Src = intercept.MatchSrcMAC, mustMAC(macA) })
	}
	pkt := Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)}
	runMatchCases(t, []matchCase{
		{name: "three streams of one device: one hit lists them all",
			taps: []intercept.Tap{host(1, 3), udpAny(1, 1), srcNet(1, 2)}, pkt: pkt,
			want: []hit{{1, []uint32{1, 2, 3}, LayerIP, 14}}},
		{name: "two devices with identical taps: two hits",
			taps: []intercept.Tap{host(2, 1), host(1, 1)}, pkt: pkt,
			want: []hit{{1, []uint32{1}, LayerIP, 14}, {2, []uint32{1}, LayerIP, 14}}},
		{name: "IP and 802 streams of one device: the whole frame",
			taps: []intercept.Tap{host(1, 1), srcA(1, 2)}, pkt: pkt,
			want: []hit{{1, []uint32{1, 2}, LayerEthernet, 0}}},
		{name: "an IP device and an 802 device",
			taps: []intercept.Tap{host(1, 1), srcA(2, 1)}, pkt: pkt,
			want: []hit{{1, []uint32{1}, LayerIP, 14}, {2, []uint32{1}, LayerEthernet, 0}}},
		{name: "a stream key given twice counts once",
			taps: []intercept.Tap{host(1, 1), udpAny(1, 1)}, pkt: pkt,
			want: []hit{{1, []uint32{1}, LayerIP, 14}}},
		{name: "six streams of one device",
			taps: []intercept.Tap{host(1, 1), udpAny(1, 2), srcNet(1, 3), srcA(1, 4), host(1, 5), udpAny(1, 6)}, pkt: pkt,
			want: []hit{{1, []uint32{1, 2, 3, 4, 5, 6}, LayerEthernet, 0}}},
	})
}

func TestMatchAppendsAndKeepsEarlierHits(t *testing.T) {
	c := Build(Config{Taps: []intercept.Tap{armIP(1, 1, func(f *intercept.IPFilter) { f.Protocol = 17 })}})
	p := Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)}
	hits := c.Match(&p, MakeHits(1))
	hits = c.Match(&p, hits) // beyond MakeHits' room: append
	if len(hits) != 2 || hits[0].MD != hits[1].MD || &hits[0].Streams[0] == &hits[1].Streams[0] {
		t.Fatalf("two Matches into one slice: %+v", hits)
	}
	if got := c.Match(&Packet{Data: []byte{1, 2, 3}}, hits[:0]); len(got) != 0 {
		t.Errorf("a runt frame matched: %+v", got)
	}
}

func TestBuildSkipsTapsThatCannotMatch(t *testing.T) {
	wrongFamily := armIP(1, 1, func(f *intercept.IPFilter) { f.Dst = pfx("2001:db8::/32") }) // IPv4 tap, IPv6 address
	noFields := armMAC(1, 2, nil)
	missingMAC := armMAC(1, 3, func(f *intercept.MACFilter) { f.Fields = intercept.MatchDstMAC })
	contradiction := armMAC(1, 4, func(f *intercept.MACFilter) {
		f.Fields, f.Interface, f.Src = intercept.MatchInterface|intercept.MatchCMMAC, 3, mustMAC(macM)
	})
	good := armIP(2, 1, func(f *intercept.IPFilter) { f.Protocol = 6 })
	noFilter := intercept.Tap{Mediation: mediation(3)}
	c := Build(Config{
		Taps:        []intercept.Tap{wrongFamily, noFields, missingMAC, contradiction, good, noFilter},
		LearnedPort: func(net.HardwareAddr) int { return 9 }, // modem on 9, interface flagged 3
	})
	if c.Len() != 1 || len(c.MDs()) != 1 || c.MDs()[0].Mediation.ContentID != 2 || c.MDs()[0].Index != 0 {
		t.Fatalf("Len %d, MDs %+v: want only device 2's tap", c.Len(), c.MDs())
	}
	if got := c.MDs()[0].Streams; len(got) != 1 || got[0] != (intercept.StreamKey{ContentID: 2, Index: 1}) {
		t.Errorf("MD streams %v", got)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	var taps []intercept.Tap
	for i := range 6 { // six streams of one device match: more than MakeHits' room per hit
		taps = append(taps, armIP(1, uint32(i+1), func(f *intercept.IPFilter) { f.Protocol = 17 }))
	}
	taps = append(taps, armMAC(2, 1, func(f *intercept.MACFilter) { f.Fields, f.Src = intercept.MatchSrcMAC, mustMAC(macA) }))
	c := Build(Config{Taps: taps, VRFOf: func(int) string { return "" }})
	p := Packet{Data: udp4(t, "198.18.0.1", "198.18.0.2", 1, 2)}
	hits := c.Match(&p, MakeHits(4)) // the first Match grows the six-stream slot
	if len(hits) != 2 || len(hits[0].Streams) != 6 {
		t.Fatalf("hits %+v", hitsOf(hits))
	}
	if n := testing.AllocsPerRun(100, func() { hits = c.Match(&p, hits[:0]) }); n != 0 {
		t.Errorf("Match allocates %v times per packet", n)
	}
}
