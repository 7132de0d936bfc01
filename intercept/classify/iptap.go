package classify

import (
	"net/netip"

	"tapagent/intercept"
)

// ipTap is a compiled citapStreamTable filter. Everything match reads
// before the verdict sits in the first 64 bytes, so a candidate that fails
// costs one cache line.
type ipTap struct {
	family           uint8 // 4 or 6
	tos, tosMask     uint8
	needPorts        bool  // a port range is narrower than 0..65535
	proto            int16 // -1 any, else a protocol number or IPv6 extension header
	dstBits, srcBits uint8 // 0 = any address
	ifIndex          int32 // 0 any interface, else the ifIndex the packet is seen on
	flow             int32 // -1 unused

	dst, src addr128 // masked

	dportMin, dportMax uint16
	sportMin, sportMax uint16
	next               int32 // next tap in the same index bucket, -1 at the end

	vrf string
	md  *MDTarget
	key intercept.StreamKey
}

// compileIP turns an IP filter into an ipTap; ok is false when the filter
// can never match (an address of the other family).
func compileIP(f *intercept.IPFilter, cfg *Config) (t ipTap, ok bool) {
	t = ipTap{key: f.Key, next: -1, proto: int16(f.Protocol), flow: f.FlowID,
		tos: f.TOS, tosMask: f.TOSMask, vrf: f.VRF,
		dportMin: f.DstPortMin, dportMax: f.DstPortMax,
		sportMin: f.SrcPortMin, sportMax: f.SrcPortMax}
	switch f.AddrFamily {
	case intercept.AddrIPv4:
		t.family = 4
	case intercept.AddrIPv6:
		t.family = 6
	default:
		return t, false
	}
	if f.Protocol < -1 || f.Protocol > 255 {
		return t, false
	}
	t.needPorts = f.DstPortMin != 0 || f.DstPortMax != 65535 || f.SrcPortMin != 0 || f.SrcPortMax != 65535
	dst, dstOK := compilePrefix(f.Dst, t.family)
	src, srcOK := compilePrefix(f.Src, t.family)
	if !dstOK || !srcOK {
		return t, false
	}
	t.dst, t.dstBits = prefixAddr(dst), uint8(bitsOf(dst))
	t.src, t.srcBits = prefixAddr(src), uint8(bitsOf(src))

	switch {
	case f.Interface > 0:
		t.ifIndex = f.Interface
	case f.Interface == intercept.RoutedInterface && cfg.RouteIfIndex != nil:
		// Routing's choice for the target: Dst when set, else Src.
		p := dst
		if t.dstBits == 0 {
			p = src
		}
		if p.IsValid() && p.Bits() > 0 {
			t.ifIndex = int32(max(cfg.RouteIfIndex(p), 0))
		}
	}
	// AnyInterface and VoIPInterface: any interface (see doc.go).
	return t, true
}

// compilePrefix normalises p for family (4 or 6): an invalid prefix or a /0
// becomes the zero Prefix ("any"); ok is false for the other family.
func compilePrefix(p netip.Prefix, family uint8) (netip.Prefix, bool) {
	if !p.IsValid() || p.Bits() == 0 {
		return netip.Prefix{}, true
	}
	a := p.Addr()
	if family == 4 && a.Is4In6() {
		a = a.Unmap()
		bits := p.Bits() - 96
		if bits <= 0 {
			return netip.Prefix{}, true
		}
		p = netip.PrefixFrom(a, bits)
	}
	if a.Is4() != (family == 4) {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

func bitsOf(p netip.Prefix) int {
	if !p.IsValid() {
		return 0
	}
	return p.Bits()
}

// prefixAddr converts a masked prefix's address to addr128 (IPv4 in the top
// 32 bits).
func prefixAddr(p netip.Prefix) addr128 {
	if !p.IsValid() {
		return addr128{}
	}
	return addrOf(p.Addr())
}

func addrOf(a netip.Addr) addr128 {
	if a.Is4() {
		b := a.As4()
		return addr128{hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32}
	}
	b := a.As16()
	var r addr128
	for i := range 8 {
		r.hi = r.hi<<8 | uint64(b[i])
		r.lo = r.lo<<8 | uint64(b[8+i])
	}
	return r
}

// match checks every field of the filter against the decoded packet.
func (t *ipTap) match(p *Packet, f *frame, vrfOf func(int) string) bool {
	if f.family != t.family ||
		f.dst.and(maskOf(int(t.dstBits))) != t.dst || f.src.and(maskOf(int(t.srcBits))) != t.src ||
		f.tos&t.tosMask != t.tos ||
		(t.ifIndex != 0 && int(t.ifIndex) != p.IfIndex) {
		return false
	}
	if t.proto >= 0 && !f.hasProto(uint8(t.proto)) {
		return false
	}
	if t.flow >= 0 && (f.family != 6 || f.flow != uint32(t.flow)) {
		return false
	}
	if t.needPorts {
		if !f.hasPorts ||
			f.dport < t.dportMin || f.dport > t.dportMax ||
			f.sport < t.sportMin || f.sport > t.sportMax {
			return false
		}
	}
	return t.vrf == f.vrfOf(p, vrfOf)
}

// vrfOf returns the VRF of the packet's interface, asking at most once per
// packet. Without a VRFOf function every interface is in the global table.
func (f *frame) vrfOf(p *Packet, vrfOf func(int) string) string {
	if !f.vrfKnown {
		f.vrfKnown = true
		if vrfOf != nil {
			f.vrf = vrfOf(p.IfIndex)
		}
	}
	return f.vrf
}
