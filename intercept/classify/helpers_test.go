package classify

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"tapagent/intercept"
)

// Test addresses: RFC 2544 benchmarking space and the IPv6 documentation
// prefix; MACs are locally administered.
const (
	macA  = "02:00:00:00:00:0a"
	macB  = "02:00:00:00:00:0b"
	macC  = "02:00:00:00:00:0c"
	macM  = "02:00:00:00:00:cc" // a cable modem
	bcast = "ff:ff:ff:ff:ff:ff"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// serialize builds a frame from gopacket layers, lengths fixed, no checksums
// (the classifier reads none).
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return slices.Clone(buf.Bytes())
}

func eth(src, dst string, et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: mustMAC(src), DstMAC: mustMAC(dst), EthernetType: et}
}

func tag(vid uint16, next layers.EthernetType) *layers.Dot1Q {
	return &layers.Dot1Q{VLANIdentifier: vid, Type: next}
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ip6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next,
		SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

func udp(sport, dport uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
}

func tcp(sport, dport uint16) *layers.TCP {
	return &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Window: 1024}
}

func payload(s string) gopacket.Payload { return gopacket.Payload(s) }

// udp4 is the common case: an untagged IPv4/UDP frame A -> B.
func udp4(t testing.TB, src, dst string, sport, dport uint16) []byte {
	return serialize(t, eth(macA, macB, layers.EthernetTypeIPv4), ip4(src, dst, layers.IPProtocolUDP),
		udp(sport, dport), payload("hello"))
}

func udp6(t testing.TB, src, dst string, sport, dport uint16) []byte {
	return serialize(t, eth(macA, macB, layers.EthernetTypeIPv6), ip6(src, dst, layers.IPProtocolUDP),
		udp(sport, dport), payload("hello"))
}

func mediation(id intercept.ContentID) intercept.Mediation {
	m := intercept.NewMediation(id)
	m.DestAddr = netip.MustParseAddr("198.19.0.1")
	m.DestPort = 9000
	m.Transport = intercept.TransportUDP
	m.Active = true
	return m
}

// armIP is an armed IP tap of stream (id, idx) with the MIB defaults
// changed by set.
func armIP(id intercept.ContentID, idx uint32, set func(f *intercept.IPFilter)) intercept.Tap {
	k := intercept.StreamKey{ContentID: id, Index: idx}
	f := intercept.NewIPFilter(k)
	f.Active = true
	if set != nil {
		set(&f)
	}
	return intercept.Tap{Mediation: mediation(id),
		Stream: intercept.Stream{Key: k, Type: intercept.StreamIP, Enable: true, Active: true}, IP: &f}
}

func armMAC(id intercept.ContentID, idx uint32, set func(f *intercept.MACFilter)) intercept.Tap {
	k := intercept.StreamKey{ContentID: id, Index: idx}
	f := intercept.NewMACFilter(k)
	f.Active = true
	if set != nil {
		set(&f)
	}
	return intercept.Tap{Mediation: mediation(id),
		Stream: intercept.Stream{Key: k, Type: intercept.StreamMAC, Enable: true, Active: true}, MAC: &f}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// hit is a Hit in comparable form: "cid:stream,stream/layer@offset".
type hit struct {
	cid     intercept.ContentID
	streams []uint32
	layer   Layer
	offset  int
}

func hitsOf(hs []Hit) []hit {
	var out []hit
	for _, h := range hs {
		var ss []uint32
		for _, k := range h.Streams {
			if k.ContentID != h.MD.Mediation.ContentID {
				panic("stream of another device in a hit")
			}
			ss = append(ss, k.Index)
		}
		out = append(out, hit{h.MD.Mediation.ContentID, ss, h.Layer, h.Offset})
	}
	return out
}

func equalHits(a, b []hit) bool {
	return slices.EqualFunc(a, b, func(x, y hit) bool {
		return x.cid == y.cid && slices.Equal(x.streams, y.streams) && x.layer == y.layer && x.offset == y.offset
	})
}
