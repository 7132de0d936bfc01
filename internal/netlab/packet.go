package netlab

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// IP protocol numbers the builders use.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// IPHeader describes the IP header of a packet to build. Src and Dst
// decide the version (both IPv4 or both IPv6).
type IPHeader struct {
	Src, Dst netip.Addr
	// TOS is the IPv4 TOS byte or the IPv6 traffic class (DSCP<<2 | ECN).
	TOS uint8
	// FlowLabel is the IPv6 flow label (20 bits); ignored for IPv4.
	FlowLabel uint32
	// TTL is the IPv4 TTL or IPv6 hop limit; 0 means 64.
	TTL uint8
	// ID is the IPv4 identification; ignored for IPv6.
	ID uint16
}

// check rejects headers whose addresses are missing or of two families.
func (h IPHeader) check() error {
	if !h.Src.IsValid() || !h.Dst.IsValid() || h.Src.Is4() != h.Dst.Is4() || h.Src.Is4In6() || h.Dst.Is4In6() {
		return fmt.Errorf("build IP: source %v and destination %v are not of one family", h.Src, h.Dst)
	}
	return nil
}

// BuildIP returns a complete IP packet carrying payload as protocol proto,
// with a correct header checksum (IPv4; DF set, like Linux sends).
func BuildIP(h IPHeader, proto uint8, payload []byte) ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	ttl := h.TTL
	if ttl == 0 {
		ttl = 64
	}
	if h.Src.Is4() {
		total := 20 + len(payload)
		if total > 0xffff {
			return nil, fmt.Errorf("build IPv4: %d bytes is too long", total)
		}
		p := make([]byte, total)
		p[0] = 0x45
		p[1] = h.TOS
		binary.BigEndian.PutUint16(p[2:], uint16(total))
		binary.BigEndian.PutUint16(p[4:], h.ID)
		binary.BigEndian.PutUint16(p[6:], 0x4000)
		p[8], p[9] = ttl, proto
		src, dst := h.Src.As4(), h.Dst.As4()
		copy(p[12:], src[:])
		copy(p[16:], dst[:])
		binary.BigEndian.PutUint16(p[10:], checksum(p[:20], 0))
		copy(p[20:], payload)
		return p, nil
	}
	if len(payload) > 0xffff {
		return nil, fmt.Errorf("build IPv6: payload of %d bytes is too long", len(payload))
	}
	p := make([]byte, 40+len(payload))
	binary.BigEndian.PutUint32(p, 6<<28|uint32(h.TOS)<<20|h.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6], p[7] = proto, ttl
	src, dst := h.Src.As16(), h.Dst.As16()
	copy(p[8:], src[:])
	copy(p[24:], dst[:])
	copy(p[40:], payload)
	return p, nil
}

// BuildUDP returns an IP packet with a UDP datagram (checksum included).
func BuildUDP(h IPHeader, srcPort, dstPort uint16, payload []byte) ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], srcPort)
	binary.BigEndian.PutUint16(u[2:], dstPort)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	sum := checksum(u, pseudoHeaderSum(h, ProtoUDP, len(u)))
	if sum == 0 {
		sum = 0xffff // 0 means "no checksum" in UDP
	}
	binary.BigEndian.PutUint16(u[6:], sum)
	return BuildIP(h, ProtoUDP, u)
}

// TCP flag bits.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
)

// TCPHeader describes a TCP segment without options.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16 // 0 means 64240
}

// BuildTCP returns an IP packet with a TCP segment (checksum included).
func BuildTCP(h IPHeader, t TCPHeader, payload []byte) ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	s := make([]byte, 20+len(payload))
	binary.BigEndian.PutUint16(s[0:], t.SrcPort)
	binary.BigEndian.PutUint16(s[2:], t.DstPort)
	binary.BigEndian.PutUint32(s[4:], t.Seq)
	binary.BigEndian.PutUint32(s[8:], t.Ack)
	s[12] = 5 << 4
	s[13] = t.Flags
	win := t.Window
	if win == 0 {
		win = 64240
	}
	binary.BigEndian.PutUint16(s[14:], win)
	copy(s[20:], payload)
	binary.BigEndian.PutUint16(s[16:], checksum(s, pseudoHeaderSum(h, ProtoTCP, len(s))))
	return BuildIP(h, ProtoTCP, s)
}

// BuildEcho returns an ICMP (IPv4) or ICMPv6 echo request.
func BuildEcho(h IPHeader, id, seq uint16, payload []byte) ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	m := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	copy(m[8:], payload)
	if h.Src.Is4() {
		m[0] = 8
		binary.BigEndian.PutUint16(m[2:], checksum(m, 0))
		return BuildIP(h, ProtoICMP, m)
	}
	m[0] = 128
	binary.BigEndian.PutUint16(m[2:], checksum(m, pseudoHeaderSum(h, ProtoICMPv6, len(m))))
	return BuildIP(h, ProtoICMPv6, m)
}

// Forwarded returns pkt as a router forwards it: TTL or hop limit one
// lower and, for IPv4, the header checksum updated. pkt is not changed.
func Forwarded(pkt []byte) []byte {
	out := append([]byte(nil), pkt...)
	switch {
	case len(out) >= 20 && out[0]>>4 == 4:
		out[8]--
		ihl := int(out[0]&0x0f) * 4
		out[10], out[11] = 0, 0
		binary.BigEndian.PutUint16(out[10:], checksum(out[:ihl], 0))
	case len(out) >= 40 && out[0]>>4 == 6:
		out[7]--
	}
	return out
}

// pseudoHeaderSum is the unfolded one's complement sum of the IPv4 or
// IPv6 pseudo header for an upper-layer checksum.
func pseudoHeaderSum(h IPHeader, proto uint8, length int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	if h.Src.Is4() {
		s, d := h.Src.As4(), h.Dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := h.Src.As16(), h.Dst.As16()
		add(s[:])
		add(d[:])
	}
	return sum + uint32(proto) + uint32(length)
}

// checksum is the Internet checksum of b, starting from an initial sum.
func checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// EtherTypes the frame builder and tests use.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100
	EtherTypeIPv6 = 0x86dd
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Frame describes an Ethernet frame to build (no FCS).
type Frame struct {
	Dst, Src net.HardwareAddr
	// VLAN adds an 802.1Q tag when set: TCI = Priority<<13 | VLANID.
	VLAN     bool
	VLANID   uint16
	Priority uint8
	// EtherType follows the MAC addresses (and tag) unless LLC is set.
	EtherType uint16
	// LLC makes an 802.3 frame: a length field, then DSAP, SSAP, Control.
	LLC     *LLC
	Payload []byte
}

// LLC is an 802.2 header.
type LLC struct {
	DSAP, SSAP, Control uint8
}

// Bytes returns the frame as it goes on the wire, without padding or FCS.
func (f Frame) Bytes() ([]byte, error) {
	if len(f.Dst) != 6 || len(f.Src) != 6 {
		return nil, fmt.Errorf("frame: MACs must be 6 bytes (dst %v, src %v)", f.Dst, f.Src)
	}
	b := make([]byte, 0, 22+len(f.Payload))
	b = append(b, f.Dst...)
	b = append(b, f.Src...)
	if f.VLAN {
		b = binary.BigEndian.AppendUint16(b, EtherTypeVLAN)
		b = binary.BigEndian.AppendUint16(b, uint16(f.Priority&7)<<13|f.VLANID&0x0fff)
	}
	if f.LLC == nil {
		if f.EtherType < 0x0600 {
			return nil, fmt.Errorf("frame: EtherType %#04x is a length; set LLC for 802.3 frames", f.EtherType)
		}
		b = binary.BigEndian.AppendUint16(b, f.EtherType)
		return append(b, f.Payload...), nil
	}
	n := 3 + len(f.Payload)
	if n > 1500 {
		return nil, fmt.Errorf("frame: 802.3 payload of %d bytes exceeds 1500", n)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, f.LLC.DSAP, f.LLC.SSAP, f.LLC.Control)
	return append(b, f.Payload...), nil
}
