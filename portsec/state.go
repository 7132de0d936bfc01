package portsec

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// addr names a secure address: the same MAC may be secure in several
// VLANs of a port (a phone in the voice VLAN and its PC port's data).
type addr struct {
	mac  MAC
	vlan uint16
}

func compareAddr(a, b addr) int {
	if c := compareMAC(a.mac, b.mac); c != 0 {
		return c
	}
	return cmp.Compare(a.vlan, b.vlan)
}

// entry is a secure address as the engine keeps it.
type entry struct {
	typ EntryType
	// expires is when the kernel drops the address; zero = never.
	expires time.Time
}

// port is the engine's view of one port.
type port struct {
	cfg      PortConfig
	entries  map[addr]entry
	limits   map[uint16]int // per-VLAN maximums (0: a row without a limit)
	vlans    Membership     // from the bridge, refreshed by the engine
	shutdown bool           // err-disabled by a violation
	until    time.Time      // automatic recovery; zero = none
	// shutVLANs are VLANs err-disabled on the port, with their recovery
	// time (zero: none).
	shutVLANs map[uint16]time.Time
	operUp    bool // link state seen at the last poll
	lastMAC   MAC
	lastVLAN  uint16
	// gen names the port's current kernel incarnation. It changes
	// whenever the port's set is reset (enabled, addresses removed) and
	// is part of the nflog prefix, so a message logged before the reset
	// but read after it is recognised as stale: it must not bring back an
	// address or a violation that no longer exists in the kernel.
	gen uint32
	// violations is read from the port's kernel counter.
	violations uint64
}

func (p *port) clone() *port {
	c := *p
	c.entries = maps.Clone(p.entries)
	c.limits = maps.Clone(p.limits)
	c.shutVLANs = maps.Clone(p.shutVLANs)
	c.vlans.Tagged = slices.Clone(p.vlans.Tagged)
	return &c
}

// inVLAN counts the port's addresses in vlan.
func (p *port) inVLAN(vlan uint16) int {
	n := 0
	for a := range p.entries {
		if a.vlan == vlan {
			n++
		}
	}
	return n
}

// limited are the VLANs whose own limit is below the port's (others are
// bounded by the port's maximum alone), sorted.
func (p *port) limited() []uint16 {
	var out []uint16
	for v, n := range p.limits {
		if n > 0 && n < p.cfg.Maximum {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// untaggedVLAN is the VLAN untagged frames of the port belong to.
func (p *port) untaggedVLAN() uint16 { return p.vlans.PVID }

func (p *port) status() PortStatus {
	switch {
	case p.shutdown:
		return StatusShutdown
	case p.operUp:
		return StatusSecureUp
	}
	return StatusSecureDown
}

// state is the whole model, owned by the engine loop.
type state struct {
	global Global
	ports  map[int]*port
	// members is the VLAN membership of every bridge port as last read
	// (read-only; shared by clones): a port configured for the first
	// time starts with it.
	members map[int]Membership
}

func newState() *state { return &state{global: DefaultGlobal(), ports: map[int]*port{}} }

func (s *state) clone() *state {
	c := &state{global: s.global, ports: make(map[int]*port, len(s.ports)), members: s.members}
	for i, p := range s.ports {
		c.ports[i] = p.clone()
	}
	return c
}

// port returns the port, creating an unconfigured one.
func (s *state) port(ifindex int) *port {
	p := s.ports[ifindex]
	if p == nil {
		p = &port{cfg: DefaultPortConfig(), entries: map[addr]entry{}, limits: map[uint16]int{},
			shutVLANs: map[uint16]time.Time{}, vlans: UnfilteredMembership()}
		if m, ok := s.members[ifindex]; ok {
			p.vlans = m
		}
		s.ports[ifindex] = p
	}
	return p
}

// enforced reports whether the kernel must guard the port.
func (s *state) enforced(p *port) bool { return s.global.Enabled && p.cfg.Enabled }

func (s *state) portState(ifindex int, now time.Time) PortState {
	p := s.ports[ifindex]
	ps := PortState{Ifindex: ifindex, Config: p.cfg, Status: p.status(), Violations: p.violations,
		LastMAC: p.lastMAC, LastVLAN: p.lastVLAN, VLANLimits: maps.Clone(p.limits), VLANs: p.vlans,
		ShutdownUntil: p.until}
	ps.VLANs.Tagged = slices.Clone(p.vlans.Tagged)
	if !s.enforced(p) {
		ps.Status = StatusSecureDown
	}
	for _, a := range slices.SortedFunc(maps.Keys(p.entries), compareAddr) {
		e := p.entries[a]
		var left time.Duration
		if !e.expires.IsZero() {
			left = max(e.expires.Sub(now), time.Nanosecond)
		}
		ps.Entries = append(ps.Entries, Entry{MAC: a.mac, VLAN: a.vlan, Type: e.typ, Remaining: left})
	}
	for _, v := range slices.Sorted(maps.Keys(p.shutVLANs)) {
		ps.ShutVLANs = append(ps.ShutVLANs, VLANShutdown{VLAN: v, Until: p.shutVLANs[v]})
	}
	return ps
}
