package classify

import "encoding/binary"

// EtherTypes and IP protocol numbers the decoder knows.
const (
	etherIPv4    = 0x0800
	etherIPv6    = 0x86DD
	tpid8021Q    = 0x8100
	tpid8021AD   = 0x88A8
	tpidQinQOld  = 0x9100 // pre-802.1ad QinQ, still seen
	minEtherType = 0x0600 // below: an 802.3 length, an LLC header follows

	ethHeaderLen = 14
	vlanTagLen   = 4
	maxVLANTags  = 2 // in-frame tags skipped; the BPF program skips as many
	snapLen      = 8 // LLC (DSAP, SSAP, control) + SNAP (OUI, type)
	llcSNAP      = 0xAA
	llcUI        = 0x03

	protoHOPOPT   = 0
	protoTCP      = 6
	protoUDP      = 17
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoDstOpts  = 60
	protoMobility = 135
	protoHIP      = 139
	protoShim6    = 140
	protoSCTP     = 132

	// maxChain bounds the IPv6 header chain we follow, so a crafted packet
	// cannot make classification cost grow.
	maxChain = 8
)

// addr128 is an IP address as two big-endian halves; IPv4 addresses sit in
// the top 32 bits of hi so one prefix test serves both families.
type addr128 struct{ hi, lo uint64 }

func (a addr128) and(m addr128) addr128 { return addr128{a.hi & m.hi, a.lo & m.lo} }

// maskOf returns the mask of a prefix length 0..128, left-aligned.
func maskOf(bits int) addr128 {
	switch {
	case bits <= 0:
		return addr128{}
	case bits < 64:
		return addr128{hi: ^uint64(0) << (64 - bits)}
	case bits < 128:
		return addr128{hi: ^uint64(0), lo: ^uint64(0) << (128 - bits)}
	}
	return addr128{^uint64(0), ^uint64(0)}
}

// frame is what the classifier reads from one captured frame. It lives on
// the stack of Match: decode fills it once, every candidate tap reads it.
type frame struct {
	dstMAC, srcMAC uint64 // 48-bit MACs in the low bits

	hasType   bool   // an EtherType is known (Ethernet II, or SNAP with a type)
	etherType uint16 // after at most maxVLANTags in-frame tags
	l3        int    // offset of the payload the EtherType describes

	hasLLC     bool // an 802.3 frame with at least DSAP and SSAP
	dsap, ssap uint8

	family   uint8 // 0 not IP, 4, 6
	src, dst addr128
	tos      uint8  // IPv4 TOS or IPv6 traffic class
	flow     uint32 // IPv6 flow label
	// chain lists the protocol numbers of the packet: the IPv4 protocol, or
	// every IPv6 next-header value from the fixed header on. The last one
	// is the upper-layer protocol when the chain could be followed.
	chain    [maxChain + 1]uint8
	nchain   uint8
	hasPorts bool // TCP, UDP or SCTP with its ports present (first fragment)
	sport    uint16
	dport    uint16

	// vrf caches Config.VRFOf of the packet's interface, looked up at most
	// once and only when a candidate tap needs it.
	vrfKnown bool
	vrf      string
}

func isTPID(t uint16) bool { return t == tpid8021Q || t == tpid8021AD || t == tpidQinQOld }

func mac48(b []byte) uint64 {
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

// decode reads b, an Ethernet frame. It returns false when b is too short
// for an Ethernet header; everything it cannot read further is left unset,
// so only taps that need nothing more can match.
func (f *frame) decode(b []byte) bool {
	if len(b) < ethHeaderLen {
		return false
	}
	f.dstMAC = mac48(b[0:6])
	f.srcMAC = mac48(b[6:12])
	et := binary.BigEndian.Uint16(b[12:14])
	off := ethHeaderLen
	for range maxVLANTags {
		if !isTPID(et) {
			break
		}
		if len(b) < off+vlanTagLen {
			return true // tag cut off: L2 fields only
		}
		et = binary.BigEndian.Uint16(b[off+2 : off+4])
		off += vlanTagLen
	}
	if et < minEtherType {
		if len(b) < off+2 {
			return true
		}
		f.hasLLC, f.dsap, f.ssap = true, b[off], b[off+1]
		if !isSNAPWithType(b[off:]) {
			return true
		}
		et = binary.BigEndian.Uint16(b[off+6 : off+8])
		off += snapLen
	}
	f.hasType, f.etherType, f.l3 = true, et, off
	switch et {
	case etherIPv4:
		f.decodeIPv4(b[off:])
	case etherIPv6:
		f.decodeIPv6(b[off:])
	}
	return true
}

// isSNAPWithType reports an LLC UI frame with a SNAP header whose OUI says
// the protocol ID is an EtherType (RFC 1042 00-00-00, 802.1H 00-00-F8).
func isSNAPWithType(llc []byte) bool {
	if len(llc) < snapLen || llc[0] != llcSNAP || llc[1] != llcSNAP || llc[2] != llcUI {
		return false
	}
	return llc[3] == 0 && llc[4] == 0 && (llc[5] == 0 || llc[5] == 0xF8)
}

func (f *frame) decodeIPv4(b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0F) * 4
	if ihl < 20 {
		return
	}
	f.family = 4
	f.tos = b[1]
	f.src = addr128{hi: uint64(binary.BigEndian.Uint32(b[12:16])) << 32}
	f.dst = addr128{hi: uint64(binary.BigEndian.Uint32(b[16:20])) << 32}
	proto := b[9]
	f.chain[0], f.nchain = proto, 1
	firstFragment := binary.BigEndian.Uint16(b[6:8])&0x1FFF == 0
	if firstFragment {
		f.ports(b, ihl, proto)
	}
}

func (f *frame) decodeIPv6(b []byte) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return
	}
	f.family = 6
	f.tos = b[0]<<4 | b[1]>>4
	f.flow = uint32(b[1]&0x0F)<<16 | uint32(b[2])<<8 | uint32(b[3])
	f.src = addr128{binary.BigEndian.Uint64(b[8:16]), binary.BigEndian.Uint64(b[16:24])}
	f.dst = addr128{binary.BigEndian.Uint64(b[24:32]), binary.BigEndian.Uint64(b[32:40])}
	nh, off := b[6], 40
	f.chain[0], f.nchain = nh, 1
	for range maxChain {
		var hdrLen int
		switch nh {
		case protoHOPOPT, protoRouting, protoDstOpts, protoMobility, protoHIP, protoShim6:
			if len(b) < off+2 {
				return
			}
			hdrLen = (int(b[off+1]) + 1) * 8
		case protoAH:
			if len(b) < off+2 {
				return
			}
			hdrLen = (int(b[off+1]) + 2) * 4
		case protoFragment:
			if len(b) < off+8 {
				return
			}
			hdrLen = 8
			if binary.BigEndian.Uint16(b[off+2:off+4])>>3 != 0 {
				// A later fragment: its protocol is known, its ports are not.
				f.chain[f.nchain], f.nchain = b[off], f.nchain+1
				return
			}
		default:
			f.ports(b, off, nh)
			return
		}
		nh = b[off]
		f.chain[f.nchain], f.nchain = nh, f.nchain+1
		off += hdrLen
	}
}

// ports reads the L4 ports of TCP, UDP and SCTP, which all start with
// source port, destination port.
func (f *frame) ports(b []byte, off int, proto uint8) {
	if proto != protoTCP && proto != protoUDP && proto != protoSCTP {
		return
	}
	if len(b) < off+4 {
		return
	}
	f.hasPorts = true
	f.sport = binary.BigEndian.Uint16(b[off : off+2])
	f.dport = binary.BigEndian.Uint16(b[off+2 : off+4])
}

// hasProto reports whether p is the packet's protocol or one of its IPv6
// extension headers.
func (f *frame) hasProto(p uint8) bool {
	for _, c := range f.chain[:f.nchain] {
		if c == p {
			return true
		}
	}
	return false
}
