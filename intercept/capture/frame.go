package capture

import (
	"strconv"
	"time"
)

// PacketType is where a frame was going, from the kernel's sll_pkttype
// (linux/if_packet.h).
type PacketType uint8

const (
	Host      PacketType = 0 // to this host
	Broadcast PacketType = 1 // link-layer broadcast
	Multicast PacketType = 2 // link-layer multicast
	OtherHost PacketType = 3 // to another host (promiscuous, bridged)
	Outgoing  PacketType = 4 // sent by this host or forwarded out of it
)

func (t PacketType) String() string {
	switch t {
	case Host:
		return "host"
	case Broadcast:
		return "broadcast"
	case Multicast:
		return "multicast"
	case OtherHost:
		return "otherhost"
	case Outgoing:
		return "outgoing"
	}
	return "pkttype(" + strconv.Itoa(int(t)) + ")"
}

// VLAN is an 802.1Q/802.1ad tag the kernel or the NIC removed from the
// frame (VLAN offload). When Present is false the frame carries any tag in
// Data itself.
type VLAN struct {
	Present bool
	TPID    uint16 // 0x8100 (802.1Q) or 0x88a8 (802.1ad)
	TCI     uint16 // PCP (3 bits), DEI (1 bit), VLAN ID (12 bits)
}

// ID is the VLAN identifier.
func (v VLAN) ID() uint16 { return v.TCI & 0x0fff }

// Frame is one captured frame. Data points into the ring: it is valid
// until the next call of Next (or Close) and must not be kept or written.
type Frame struct {
	// Data starts at the MAC header (Ethernet on Ethernet interfaces; see
	// HwType). A VLAN tag removed by offload is in VLAN, not here.
	Data []byte
	// WireLen is the frame's length on the wire; len(Data) is smaller when
	// the frame was truncated (a filter's snap length, a frame larger than
	// a ring block).
	WireLen int
	// NetOffset is where the kernel put the network header inside Data (14
	// for untagged Ethernet; it stays 14 for a tag left in Data).
	NetOffset int
	IfIndex   int
	// HwType is the interface's ARPHRD_* type: 1 Ethernet, 772 loopback,
	// 65534 no link-layer header (tun, WireGuard).
	HwType uint16
	Type   PacketType
	VLAN   VLAN
	// Timestamp is when the kernel saw the frame.
	Timestamp time.Time
	// ChecksumPending marks a frame this host sent whose L4 checksum a
	// later stage (NIC offload) fills in: Data holds a partial checksum.
	ChecksumPending bool
}

// Outgoing reports whether the frame was leaving through IfIndex.
func (f *Frame) Outgoing() bool { return f.Type == Outgoing }

// Truncated reports whether Data is shorter than the frame on the wire.
func (f *Frame) Truncated() bool { return len(f.Data) < f.WireLen }
