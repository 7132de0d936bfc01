package portsec

import (
	"time"

	"github.com/florianl/go-nflog/v2"
)

// EventKind says what happened.
type EventKind int

const (
	// EventLearned: the kernel learned a new address on the port.
	EventLearned EventKind = iota + 1
	// EventViolation: a frame broke the port's limit (Restrict and
	// Shutdown ports; Protect ports drop silently).
	EventViolation
	// EventAged: an address expired or was flushed (link down).
	EventAged
	// EventShutdown: the port was err-disabled (link set down).
	EventShutdown
	// EventRecovered: a shut-down port came back after ShutdownTimeout.
	EventRecovered
	// EventVLANShutdown: one VLAN of a multi-VLAN port was err-disabled
	// ("shutdown vlan"); the port stays up for its other VLANs.
	EventVLANShutdown
	// EventVLANRecovered: an err-disabled VLAN came back after
	// ShutdownTimeout.
	EventVLANRecovered
)

func (k EventKind) String() string {
	switch k {
	case EventLearned:
		return "learned"
	case EventViolation:
		return "violation"
	case EventAged:
		return "aged"
	case EventShutdown:
		return "shutdown"
	case EventRecovered:
		return "recovered"
	case EventVLANShutdown:
		return "vlan-shutdown"
	case EventVLANRecovered:
		return "vlan-recovered"
	}
	return "event"
}

// Event is something the caller may turn into a notification or a log line.
type Event struct {
	Kind    EventKind
	Ifindex int
	MAC     MAC
	VLAN    uint16
	At      time.Time
	// Violations is the port's counter after a violation.
	Violations uint64
	// VLANOnly: the violation broke a per-VLAN limit while the port had
	// room (a VLAN-only violation).
	VLANOnly bool
}

// logEvent is a parsed nflog message.
type logEvent struct {
	violation bool
	vlanOnly  bool   // a per-VLAN limit was hit
	gen       uint32 // the port's generation when the frame was logged
	ifindex   int    // the bridge port (PhysInDev)
	mac       MAC
	vlan      uint16 // 0: untagged
	at        time.Time
}

// parseLog turns an nflog message of our table into a logEvent. In the
// bridge family the in-device is the bridge; the port is PhysInDev. The
// source MAC is in the link-layer header. go-nflog hands the VLAN TCI over
// byte-swapped.
func parseLog(a nflog.Attribute, now time.Time) (logEvent, bool) {
	var ev logEvent
	if a.Prefix == nil {
		return ev, false
	}
	kind, gen, ok := parsePrefix(*a.Prefix)
	if !ok {
		return ev, false
	}
	ev.violation, ev.vlanOnly, ev.gen = kind != prefixLearn, kind == prefixVLANViolation, gen
	switch {
	case a.PhysInDev != nil:
		ev.ifindex = int(*a.PhysInDev)
	case a.InDev != nil:
		ev.ifindex = int(*a.InDev)
	default:
		return ev, false
	}
	switch {
	case a.HwHeader != nil && len(*a.HwHeader) >= 12:
		copy(ev.mac[:], (*a.HwHeader)[6:12])
	case a.HwAddr != nil && len(*a.HwAddr) >= 6:
		copy(ev.mac[:], (*a.HwAddr)[:6])
	default:
		return ev, false
	}
	// Only an 802.1Q tag names the VLAN; the kernel rules treat other
	// tags (802.1ad) as untagged frames, and so must the model.
	if a.VLAN != nil && a.VLAN.Proto>>8|a.VLAN.Proto<<8 == 0x8100 {
		tci := a.VLAN.TCI>>8 | a.VLAN.TCI<<8
		ev.vlan = tci & 0x0fff
	}
	ev.at = now
	if a.Timestamp != nil {
		ev.at = *a.Timestamp
	}
	return ev, true
}
