package intercept

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// MaxIndex is the largest ContentID or stream index (Integer32 1..2147483647).
const MaxIndex = 1<<31 - 1

// ContentID identifies a mediation device session; it is also the CCCID
// carried in every delivered packet.
type ContentID uint32

// StreamKey identifies a stream and the filter attached to it.
type StreamKey struct {
	ContentID ContentID
	Index     uint32
}

func (k StreamKey) String() string { return fmt.Sprintf("%d.%d", k.ContentID, k.Index) }

func (k StreamKey) less(o StreamKey) bool {
	if k.ContentID != o.ContentID {
		return k.ContentID < o.ContentID
	}
	return k.Index < o.Index
}

// Transport is how intercepted packets are delivered to a mediation device.
type Transport int32

const (
	TransportUDP     Transport = 1 // PacketCable UDP format; the only one implemented
	TransportRTPNack Transport = 2
	TransportTCP     Transport = 3
	TransportSCTP    Transport = 4
	TransportRTP     Transport = 5
)

// Supported reports whether deliveries over t really work.
func (t Transport) Supported() bool { return t == TransportUDP }

// StreamType says which kind of filter belongs to a stream.
type StreamType int32

const (
	StreamIP             StreamType = 1
	StreamMAC            StreamType = 2
	StreamUserConnection StreamType = 3
	StreamMSPDSN         StreamType = 4
	StreamMobility       StreamType = 5
)

// Supported reports whether streams of type t can be armed by this engine.
func (t StreamType) Supported() bool { return t == StreamIP || t == StreamMAC }

// AddrFamily is the address family of an IP filter, numbered like
// InetAddressType. Only IPv4 and IPv6 are supported.
type AddrFamily int32

const (
	AddrIPv4 AddrFamily = 1
	AddrIPv6 AddrFamily = 2
)

func (f AddrFamily) bitLen() int {
	switch f {
	case AddrIPv4:
		return 32
	case AddrIPv6:
		return 128
	}
	return 0
}

func (f AddrFamily) String() string {
	switch f {
	case AddrIPv4:
		return "ipv4"
	case AddrIPv6:
		return "ipv6"
	}
	return fmt.Sprintf("family(%d)", int32(f))
}

// DefaultDSCP is the DSCP of delivered packets unless set (AF41, TOS 0x88).
const DefaultDSCP = 34

// Mediation is a mediation device session: where and how intercepted
// packets of its streams are delivered.
type Mediation struct {
	ContentID ContentID
	DestAddr  netip.Addr // invalid = not set
	DestPort  uint16     // 0 = not set
	// SrcInterface is the ifIndex whose address is the source of deliveries;
	// 0 lets routing decide.
	SrcInterface int32
	DSCP         uint8 // 0..63
	// DataType and RetransmitType are RTP payload types (0..127); they only
	// matter for rtpNack, which is not supported, but are kept as written.
	DataType       int32
	RetransmitType int32
	// Timeout is when the session and all its streams are removed, active or
	// not. Zero = not set.
	Timeout            time.Time
	Transport          Transport // 0 = not set
	NotificationEnable bool
	Active             bool
}

// NewMediation returns a mediation device with the MIB defaults.
func NewMediation(id ContentID) Mediation {
	return Mediation{ContentID: id, DSCP: DefaultDSCP, NotificationEnable: true}
}

// Stream is the generic part of an intercept stream.
type Stream struct {
	Key    StreamKey
	Type   StreamType // 0 = not set
	Enable bool       // intercept matching traffic
	Active bool
}

// NewStream returns a stream with the MIB defaults (not enabled).
func NewStream(k StreamKey) Stream { return Stream{Key: k} }

// Interface values with a special meaning in filters.
const (
	AnyInterface     int32 = 0  // match on every interface
	RoutedInterface  int32 = -1 // IP: the interface routing picks for the prefix; MAC: the bridge port that learned the MAC
	VoIPInterface    int32 = -2 // IP only: the VoIP session given by source address and source port
	UnusedFlowID     int32 = -1
	AnyProtocol      int32 = -1
	MaxFlowID        int32 = 0xFFFFF
	minEtherTypeFlag       = 0x0600 // smaller values are 802.3 lengths, not EtherTypes
	maxVRFLen              = 15     // a Linux VRF is a device: IFNAMSIZ-1
)

// IPFilter selects IP packets for a stream of type StreamIP.
type IPFilter struct {
	Key StreamKey
	// Interface: >0 ifIndex, 0 any, -1 the interface routing picks for
	// Dst/Src, -2 the VoIP session given by Src and SrcPortMin.
	Interface  int32
	AddrFamily AddrFamily
	// Dst and Src: an invalid Prefix or length 0 matches any address. The
	// address is kept as written; matching uses Masked().
	Dst, Src netip.Prefix
	// TOS must equal the packet's TOS byte ANDed with TOSMask.
	TOS, TOSMask uint8
	FlowID       int32 // -1 unused, else the 20-bit IPv6 flow label
	Protocol     int32 // -1 any, else the IP protocol (0 is HOPOPT)
	// Port ranges; 0..65535 matches any port.
	DstPortMin, DstPortMax uint16
	SrcPortMin, SrcPortMax uint16
	VRF                    string // "" = global routing table
	Active                 bool
}

// NewIPFilter returns an IP filter with the MIB defaults: IPv4, any
// address, any protocol, any port, no flow label.
func NewIPFilter(k StreamKey) IPFilter {
	return IPFilter{Key: k, AddrFamily: AddrIPv4, FlowID: UnusedFlowID, Protocol: AnyProtocol,
		DstPortMax: 65535, SrcPortMax: 65535}
}

// Fields is the set of MAC filter fields a frame must match (all of them).
// Bit n is BITS bit n of c802tapStreamFields.
type Fields uint32

const (
	MatchInterface Fields = 1 << iota
	MatchDstMAC
	MatchSrcMAC
	MatchEtherType
	MatchDstLLCSAP
	MatchSrcLLCSAP
	// MatchCMMAC (cable extension): all traffic of the bridge port where the
	// cable modem's MAC (Src, else Dst) is learned — the modem and everything
	// behind it.
	MatchCMMAC

	knownFields = MatchInterface | MatchDstMAC | MatchSrcMAC | MatchEtherType |
		MatchDstLLCSAP | MatchSrcLLCSAP | MatchCMMAC
)

// Has reports whether every field of g is flagged in f.
func (f Fields) Has(g Fields) bool { return f&g == g }

// MACFilter selects Ethernet frames for a stream of type StreamMAC.
type MACFilter struct {
	Key    StreamKey
	Fields Fields
	// Interface: >0 ifIndex, 0 any, -1 the bridge port that learned Dst/Src.
	// Only used when MatchInterface is flagged.
	Interface int32
	Dst, Src  net.HardwareAddr // nil = not set; 6 octets otherwise
	EtherType uint16
	DstLLCSAP uint8
	SrcLLCSAP uint8
	Active    bool
}

// NewMACFilter returns a MAC filter with nothing flagged.
func NewMACFilter(k StreamKey) MACFilter { return MACFilter{Key: k} }

// EitherDirection reports the seed's "traffic from or to this MAC" idiom:
// both directions flagged with the same address. A classifier matches such
// a filter on source or destination instead of requiring both.
func (f MACFilter) EitherDirection() bool {
	return f.Fields.Has(MatchDstMAC|MatchSrcMAC) && len(f.Dst) == 6 && bytes.Equal(f.Dst, f.Src)
}

// CMMAC returns the cable modem MAC used by MatchCMMAC: Src, else Dst.
func (f MACFilter) CMMAC() net.HardwareAddr {
	if f.Src != nil {
		return f.Src
	}
	return f.Dst
}

func (f MACFilter) clone() MACFilter {
	f.Dst = cloneMAC(f.Dst)
	f.Src = cloneMAC(f.Src)
	return f
}

func cloneMAC(a net.HardwareAddr) net.HardwareAddr {
	if a == nil {
		return nil
	}
	return append(net.HardwareAddr(nil), a...)
}

// Tap is an armed intercept: everything the data plane needs to classify
// and deliver packets of one stream. Exactly one of IP and MAC is set.
type Tap struct {
	Mediation Mediation
	Stream    Stream
	IP        *IPFilter
	MAC       *MACFilter
}

// State is a copy of the whole configuration, each list sorted by key.
type State struct {
	Version    uint64 // increases with every change, including timeouts
	Mediations []Mediation
	Streams    []Stream
	IPFilters  []IPFilter
	MACFilters []MACFilter
}
