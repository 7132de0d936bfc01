package lb

import (
	"fmt"
	"net/netip"
	"strings"
)

// Limits and defaults of ilbadm(1M).
const (
	MaxRuleNameLen    = 19
	MaxHCNameLen      = 19
	MaxGroupNameLen   = 14
	MaxServersInGroup = 1000 // server numbers 0..999
	MaxProxySrc       = 10

	DefaultHCTimeout      = 5  // seconds
	DefaultHCCount        = 3  // failures in a row
	DefaultHCInterval     = 30 // seconds
	DefaultNATTimeoutTCP  = 120
	DefaultNATTimeoutUDP  = 60
	DefaultPersistTimeout = 60
)

// Protocol is the transport a rule balances; values are IP protocol numbers.
type Protocol uint8

const (
	TCP Protocol = 6
	UDP Protocol = 17
)

// Algorithm picks a server for a new connection.
type Algorithm uint8

const (
	RoundRobin Algorithm = iota + 1
	HashIP               // client address
	HashIPPort           // client address and port
	HashIPVIP            // client address and VIP
	Maglev               // consistent hash of client address, port and VIP
)

// Topology says how packets reach a server and come back.
type Topology uint8

const (
	DSR     Topology = iota + 1 // forwarded unchanged, server answers directly
	NAT                         // destination and source rewritten (proxy-src)
	HalfNAT                     // destination rewritten only
)

// HCTest is what a health check does.
type HCTest uint8

const (
	HCPing HCTest = iota + 1
	HCTCP
	HCUDP
	HCExternal
)

// HCPortMode says which server port a health check tests.
type HCPortMode uint8

const (
	HCPortAny HCPortMode = iota + 1
	HCPortAll
	HCPortFixed
)

// enumNames are the ilbadm spellings, compared without regard to case.
var (
	protocolNames   = map[Protocol]string{TCP: "TCP", UDP: "UDP"}
	algorithmNames  = map[Algorithm]string{RoundRobin: "roundrobin", HashIP: "hash-ip", HashIPPort: "hash-ip-port", HashIPVIP: "hash-ip-vip", Maglev: "maglev"}
	topologyNames   = map[Topology]string{DSR: "DSR", NAT: "NAT", HalfNAT: "HALF-NAT"}
	hcTestNames     = map[HCTest]string{HCPing: "PING", HCTCP: "TCP", HCUDP: "UDP", HCExternal: "external"}
	hcPortModeNames = map[HCPortMode]string{HCPortAny: "ANY", HCPortAll: "ALL", HCPortFixed: "fixed"}
)

func enumString[T comparable](names map[T]string, v T) string {
	if s, ok := names[v]; ok {
		return s
	}
	return fmt.Sprintf("%v?", any(v))
}

func parseEnum[T comparable](names map[T]string, what, s string) (T, error) {
	for v, n := range names {
		if strings.EqualFold(n, s) {
			return v, nil
		}
	}
	var zero T
	return zero, errf(ErrWrongValue, "", what, "unknown value %q", s)
}

func (p Protocol) String() string   { return enumString(protocolNames, p) }
func (a Algorithm) String() string  { return enumString(algorithmNames, a) }
func (t Topology) String() string   { return enumString(topologyNames, t) }
func (t HCTest) String() string     { return enumString(hcTestNames, t) }
func (m HCPortMode) String() string { return enumString(hcPortModeNames, m) }

// ParseProtocol, ParseAlgorithm, ... accept the ilbadm spellings in any
// case ("tcp", "hash-ip", "half-nat"; "HALF_NAT" too, as the external
// health check contract writes it).
func ParseProtocol(s string) (Protocol, error)   { return parseEnum(protocolNames, "protocol", s) }
func ParseAlgorithm(s string) (Algorithm, error) { return parseEnum(algorithmNames, "lbalg", s) }
func ParseTopology(s string) (Topology, error) {
	return parseEnum(topologyNames, "type", strings.ReplaceAll(s, "_", "-"))
}
func ParseHCTest(s string) (HCTest, error)         { return parseEnum(hcTestNames, "hc-test", s) }
func ParseHCPortMode(s string) (HCPortMode, error) { return parseEnum(hcPortModeNames, "hc-port", s) }

// Text forms keep the stored configuration readable.
func (p Protocol) MarshalText() ([]byte, error)   { return []byte(p.String()), nil }
func (a Algorithm) MarshalText() ([]byte, error)  { return []byte(a.String()), nil }
func (t Topology) MarshalText() ([]byte, error)   { return []byte(t.String()), nil }
func (t HCTest) MarshalText() ([]byte, error)     { return []byte(t.String()), nil }
func (m HCPortMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (p *Protocol) UnmarshalText(b []byte) (err error)  { *p, err = ParseProtocol(string(b)); return }
func (a *Algorithm) UnmarshalText(b []byte) (err error) { *a, err = ParseAlgorithm(string(b)); return }
func (t *Topology) UnmarshalText(b []byte) (err error)  { *t, err = ParseTopology(string(b)); return }
func (t *HCTest) UnmarshalText(b []byte) (err error)    { *t, err = ParseHCTest(string(b)); return }
func (m *HCPortMode) UnmarshalText(b []byte) (err error) {
	*m, err = ParseHCPortMode(string(b))
	return
}

// PortRange is Min..Max inclusive. The zero value means "none given": for
// a rule every port 1-65535, for a server no port translation. Max 0 (or
// Max == Min) is the single port Min.
type PortRange struct {
	Min uint16 `json:",omitempty"`
	Max uint16 `json:",omitempty"`
}

// Bounds returns the first and last port; an unset range is 1-65535.
func (p PortRange) Bounds() (lo, hi uint16) {
	if p.Min == 0 {
		return 1, 65535
	}
	if p.Max == 0 {
		return p.Min, p.Min
	}
	return p.Min, p.Max
}

// Width is the number of ports (65535 for an unset range).
func (p PortRange) Width() int {
	lo, hi := p.Bounds()
	return int(hi) - int(lo) + 1
}

func (p PortRange) String() string {
	lo, hi := p.Bounds()
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// AddrRange is First..Last inclusive; Last unset means First alone.
type AddrRange struct {
	First netip.Addr `json:",omitzero"`
	Last  netip.Addr `json:",omitzero"`
}

// IsSet reports whether a range was given.
func (r AddrRange) IsSet() bool { return r.First.IsValid() }

// End is the last address of the range.
func (r AddrRange) End() netip.Addr {
	if r.Last.IsValid() {
		return r.Last
	}
	return r.First
}

// Server is one back end of a server group.
type Server struct {
	ID      string     // _GROUP.N, assigned by the group
	Addr    netip.Addr // unicast
	Ports   PortRange  // zero: the port the client addressed
	Enabled bool
}

// ServerGroup is a named set of servers, kept in server-number order.
type ServerGroup struct {
	Name    string // case-sensitive
	Servers []Server
}

// HealthCheck says how to test servers.
type HealthCheck struct {
	Name           string // case-insensitive
	Test           HCTest
	ExternalMethod string `json:",omitempty"` // absolute path, Test == HCExternal only
	Timeout        uint32 // seconds per probe
	Count          uint32 // failures in a row before dead
	Interval       uint32 // mean seconds between checks
	DefaultPing    bool   // ping first; false only for tcp and external tests
}

// Rule is one virtual service.
type Rule struct {
	Name        string // case-insensitive
	VIP         netip.Addr
	Protocol    Protocol
	Ports       PortRange // zero: every port
	Enabled     bool
	Algorithm   Algorithm
	Topology    Topology
	ProxySrc    AddrRange `json:",omitzero"` // NAT only, at most 10 addresses
	Persist     bool
	PersistMask int // prefix length; 0: full address
	ServerGroup string
	HCName      string     `json:",omitempty"`
	HCPortMode  HCPortMode `json:",omitempty"`
	HCPort      uint16     `json:",omitempty"`
	// Timers in seconds; 0 means the default (conn-drain: wait for the
	// connection to end). They read back as written.
	ConnDrain      uint32 `json:",omitempty"`
	NATTimeout     uint32 `json:",omitempty"`
	PersistTimeout uint32 `json:",omitempty"`
}

// EffectiveNATTimeout is the nat-timeout with the default applied.
func (r *Rule) EffectiveNATTimeout() uint32 {
	switch {
	case r.NATTimeout != 0:
		return r.NATTimeout
	case r.Protocol == UDP:
		return DefaultNATTimeoutUDP
	}
	return DefaultNATTimeoutTCP
}

// EffectivePersistTimeout is the persist-timeout with the default applied.
func (r *Rule) EffectivePersistTimeout() uint32 {
	if r.PersistTimeout != 0 {
		return r.PersistTimeout
	}
	return DefaultPersistTimeout
}

// EffectivePersistMask is the persistence prefix length with the default
// (the full address) applied.
func (r *Rule) EffectivePersistMask() int {
	if r.PersistMask != 0 {
		return r.PersistMask
	}
	return r.VIP.BitLen()
}

// NewRule returns a rule with the ilbadm defaults (TCP, every port,
// roundrobin, disabled); the caller sets name, VIP, topology and group.
func NewRule(name string) Rule {
	return Rule{Name: name, Protocol: TCP, Algorithm: RoundRobin, HCPortMode: HCPortAny}
}

// NewHealthCheck returns a check with the ilbadm defaults (timeout 5 s,
// count 3, interval 30 s, ping first).
func NewHealthCheck(name string, test HCTest) HealthCheck {
	return HealthCheck{Name: name, Test: test, Timeout: DefaultHCTimeout, Count: DefaultHCCount,
		Interval: DefaultHCInterval, DefaultPing: true}
}
