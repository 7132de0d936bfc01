package portsec

import (
	"maps"
	"slices"
	"time"
)

// entry is a secure address as the engine keeps it.
type entry struct {
	vlan uint16
	typ  EntryType
	// expires is when the kernel drops the address; zero = never.
	expires time.Time
}

// port is the engine's view of one port.
type port struct {
	cfg      PortConfig
	entries  map[MAC]entry
	shutdown bool      // err-disabled by a violation
	until    time.Time // automatic recovery; zero = none
	operUp   bool      // link state seen at the last poll
	lastMAC  MAC
	lastVLAN uint16
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
	return &c
}

func (p *port) count(t EntryType) int {
	n := 0
	for _, e := range p.entries {
		if e.typ == t {
			n++
		}
	}
	return n
}

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
}

func newState() *state { return &state{global: DefaultGlobal(), ports: map[int]*port{}} }

func (s *state) clone() *state {
	c := &state{global: s.global, ports: make(map[int]*port, len(s.ports))}
	for i, p := range s.ports {
		c.ports[i] = p.clone()
	}
	return c
}

// port returns the port, creating an unconfigured one.
func (s *state) port(ifindex int) *port {
	p := s.ports[ifindex]
	if p == nil {
		p = &port{cfg: DefaultPortConfig(), entries: map[MAC]entry{}}
		s.ports[ifindex] = p
	}
	return p
}

// enforced reports whether the kernel must guard the port.
func (s *state) enforced(p *port) bool { return s.global.Enabled && p.cfg.Enabled }

func (s *state) portState(ifindex int, now time.Time) PortState {
	p := s.ports[ifindex]
	ps := PortState{Ifindex: ifindex, Config: p.cfg, Status: p.status(), Violations: p.violations,
		LastMAC: p.lastMAC, LastVLAN: p.lastVLAN}
	if !s.enforced(p) {
		ps.Status = StatusSecureDown
	}
	macs := slices.SortedFunc(maps.Keys(p.entries), func(a, b MAC) int { return slices.Compare(a[:], b[:]) })
	for _, m := range macs {
		e := p.entries[m]
		var left time.Duration
		if !e.expires.IsZero() {
			left = max(e.expires.Sub(now), time.Nanosecond)
		}
		ps.Entries = append(ps.Entries, Entry{MAC: m, VLAN: e.vlan, Type: e.typ, Remaining: left})
	}
	return ps
}
