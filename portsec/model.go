package portsec

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MAC is an Ethernet address, usable as a map key.
type MAC [6]byte

// ParseMAC reads "02:00:5e:00:00:01" and the other forms net.ParseMAC knows.
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return MAC{}, fmt.Errorf("portsec: %q is not a 6-byte MAC address", s)
	}
	return MAC(hw), nil
}

func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// ViolationMode is what happens to a port when a violation occurs; the
// values are those of cpsIfViolationAction.
type ViolationMode int

const (
	// Shutdown err-disables the port (link down) until ShutdownTimeout or re-enable.
	Shutdown ViolationMode = 1
	// Restrict (dropNotify) drops, counts and reports every offending frame.
	Restrict ViolationMode = 2
	// Protect (drop) drops silently: no counter, no event.
	Protect ViolationMode = 3
)

func (v ViolationMode) String() string {
	switch v {
	case Shutdown:
		return "shutdown"
	case Restrict:
		return "restrict"
	case Protect:
		return "protect"
	}
	return fmt.Sprintf("violation(%d)", int(v))
}

// AgingType says how secure addresses age (cpsIfSecureMacAddrAgingType).
type AgingType int

const (
	// AgingAbsolute removes an address AgingTime after it was learned.
	AgingAbsolute AgingType = 1
	// AgingInactivity removes an address AgingTime after its last frame.
	AgingInactivity AgingType = 2
)

// EntryType is how a secure address came to be.
type EntryType int

const (
	// Static addresses are configured by the administrator.
	Static EntryType = 1
	// Dynamic addresses were learned and are lost on restart of the port.
	Dynamic EntryType = 2
	// Sticky addresses were learned with sticky on; they persist.
	Sticky EntryType = 3
)

func (t EntryType) String() string {
	switch t {
	case Static:
		return "static"
	case Dynamic:
		return "dynamic"
	case Sticky:
		return "sticky"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// PortStatus is cpsIfPortSecurityStatus.
type PortStatus int

const (
	StatusSecureUp   PortStatus = 1
	StatusSecureDown PortStatus = 2
	StatusShutdown   PortStatus = 3
)

func (s PortStatus) String() string {
	switch s {
	case StatusSecureUp:
		return "secure-up"
	case StatusSecureDown:
		return "secure-down"
	case StatusShutdown:
		return "secure-shutdown"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MaxPerPort bounds Maximum (cpsIfMaxSecureMacAddr is 1..max in the MIB;
// the bound here keeps kernel sets small).
const MaxPerPort = 4096

// PortConfig is what an administrator sets on one port.
type PortConfig struct {
	Enabled   bool
	Maximum   int // 1..MaxPerPort
	Violation ViolationMode
	// AgingTime is in minutes (the engine's Minute option); 0 means no aging.
	AgingTime   int
	AgingType   AgingType
	StaticAging bool // static addresses age too
	Sticky      bool
	// ShutdownTimeout is in minutes; 0 means a shut-down port stays down
	// until it is disabled and enabled again.
	ShutdownTimeout int
}

// DefaultPortConfig is a port nobody configured: off, maximum 1, shutdown,
// no aging (as on the switches the MIB comes from).
func DefaultPortConfig() PortConfig {
	return PortConfig{Maximum: 1, Violation: Shutdown, AgingType: AgingAbsolute}
}

// Entry is one secure MAC address of a port.
type Entry struct {
	MAC  MAC
	VLAN uint16
	Type EntryType
	// Remaining is the age left; 0 means the address does not age.
	Remaining time.Duration
}

// PortState is everything known about one port.
type PortState struct {
	Ifindex    int
	Config     PortConfig
	Status     PortStatus
	Entries    []Entry // sorted by MAC, then VLAN
	Violations uint64  // since the port was last enabled
	LastMAC    MAC     // the last offending source
	LastVLAN   uint16
	// VLANLimits are the per-VLAN maximums an administrator set
	// (cpsIfMultiVlanTable); 0 means a VLAN row without a limit of its own.
	VLANLimits map[uint16]int
	// VLANs is the port's VLAN membership on the bridge.
	VLANs Membership
	// ShutVLANs are the VLANs err-disabled on the port ("shutdown vlan").
	ShutVLANs []VLANShutdown
	// ShutdownUntil is when an err-disabled port comes back (zero: only
	// by disabling and enabling it).
	ShutdownUntil time.Time
}

// VLANShutdown is one VLAN err-disabled on a multi-VLAN port.
type VLANShutdown struct {
	VLAN  uint16
	Until time.Time // zero: until the port is disabled and enabled again
}

// Membership is what the bridge says about a port's VLANs. Untagged (and
// priority-tagged) frames belong to PVID; tagged frames to their VLAN.
type Membership struct {
	// Filtering says the port's VLANs are known: the bridge filters VLANs
	// (vlan_filtering), or they were declared (Options.PortVLANs, for
	// kernels without bridge VLAN filtering). Tagged frames of VLANs the
	// port does not carry are then dropped before port security looks at
	// them. Without it every VLAN passes and untagged frames count as
	// VLAN 1.
	Filtering bool
	// Declared: the VLANs were declared, the bridge does not filter.
	Declared bool
	// PVID is the VLAN of untagged frames (the access VLAN); 0 on a
	// filtering port without one, whose untagged frames the bridge drops.
	PVID uint16
	// Tagged are the other VLANs the port carries, sorted.
	Tagged []uint16
}

// UnfilteredMembership is a port of a bridge that does not filter VLANs.
func UnfilteredMembership() Membership { return Membership{PVID: 1} }

// Carries reports whether frames of vlan may enter the port.
func (m Membership) Carries(vlan uint16) bool {
	return !m.Filtering || vlan == m.PVID || slices.Contains(m.Tagged, vlan)
}

// MultiVLAN reports whether the port carries more than one VLAN (a trunk,
// or an access port with a voice VLAN): violations of one VLAN's limit
// shut that VLAN, not the port.
func (m Membership) MultiVLAN() bool { return m.Filtering && len(m.Tagged)+min(int(m.PVID), 1) > 1 }

// VoiceVLAN is the voice VLAN of an access port: a port with an access
// VLAN (PVID) and exactly one tagged VLAN, as IOS "switchport access vlan
// A; switchport voice vlan V" maps onto a Linux bridge. 0 otherwise.
func (m Membership) VoiceVLAN() uint16 {
	if m.Filtering && m.PVID != 0 && len(m.Tagged) == 1 {
		return m.Tagged[0]
	}
	return 0
}

// ParsePortVLANs reads a declared membership, NAME=PVID[,VLAN...]: the
// port's access VLAN (0: none) and the VLANs it carries tagged, e.g.
// "p1=10,20" for access VLAN 10 with voice VLAN 20.
func ParsePortVLANs(s string) (name string, m Membership, err error) {
	name, list, ok := strings.Cut(s, "=")
	if !ok || name == "" || list == "" {
		return "", m, fmt.Errorf("portsec: %q is not NAME=PVID[,VLAN...]", s)
	}
	m.Filtering, m.Declared = true, true
	for i, f := range strings.Split(list, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil || v > 4094 || (v == 0 && i > 0) {
			return "", Membership{}, fmt.Errorf("portsec: %q: VLAN %q outside 1..4094", s, f)
		}
		if i == 0 {
			m.PVID = uint16(v)
		} else if uint16(v) != m.PVID {
			m.Tagged = append(m.Tagged, uint16(v))
		}
	}
	slices.Sort(m.Tagged)
	m.Tagged = slices.Compact(m.Tagged)
	return name, m, nil
}

func (m Membership) equal(o Membership) bool {
	return m.Filtering == o.Filtering && m.Declared == o.Declared && m.PVID == o.PVID && slices.Equal(m.Tagged, o.Tagged)
}

// Global holds the device-wide settings.
type Global struct {
	Enabled bool
	// NotifRate caps violation events per second (0 = no cap), kept for the
	// caller's trap rate limiter.
	NotifRate    int
	NotifControl bool // violation notifications on
}

// DefaultGlobal is the state of a fresh engine: port security available,
// notifications off until an admin turns them on (as on IOS, and as the
// MIB module says), no cap.
func DefaultGlobal() Global { return Global{Enabled: true} }
