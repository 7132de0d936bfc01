package portsec

import (
	"fmt"
	"net"
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
	// AccessVLAN is the VLAN untagged frames belong to (entries carry it).
	AccessVLAN uint16
	// VoiceVLAN, when not 0, needs Maximum ≥ 2 (phone + PC).
	VoiceVLAN uint16
}

// DefaultPortConfig is a port nobody configured: off, maximum 1, shutdown,
// no aging (as on the switches the MIB comes from).
func DefaultPortConfig() PortConfig {
	return PortConfig{Maximum: 1, Violation: Shutdown, AgingType: AgingAbsolute, AccessVLAN: 1}
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
	Entries    []Entry // sorted by MAC
	Violations uint64  // since the port was last enabled
	LastMAC    MAC     // the last offending source
	LastVLAN   uint16
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
