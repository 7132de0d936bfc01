package portsec

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

type changeOp uint8

const (
	opGlobal changeOp = iota + 1
	opPort
	opAddStatic
	opRemove
	opClear
	opVLANLimit
	opRemoveVLANLimit
)

// Change is one step of a change set (one SNMP SET PDU may hold several).
type Change struct {
	op      changeOp
	ifindex int
	global  Global
	cfg     PortConfig
	mac     MAC
	vlan    uint16
	typ     EntryType
	limit   int
}

// SetGlobal replaces the global settings.
func SetGlobal(g Global) Change { return Change{op: opGlobal, global: g} }

// SetPort replaces a port's configuration (start from Engine.Port's
// Config or DefaultPortConfig and change fields).
func SetPort(ifindex int, cfg PortConfig) Change {
	return Change{op: opPort, ifindex: ifindex, cfg: cfg}
}

// AddStatic makes mac a static secure address of the port in vlan; vlan
// 0 means the port's access VLAN (PVID). A learned entry of the same
// address becomes static.
func AddStatic(ifindex int, mac MAC, vlan uint16) Change {
	return Change{op: opAddStatic, ifindex: ifindex, mac: mac, vlan: vlan}
}

// RemoveAddress deletes a secure address of any type from the port; vlan
// 0 removes the MAC from every VLAN of the port.
func RemoveAddress(ifindex int, mac MAC, vlan uint16) Change {
	return Change{op: opRemove, ifindex: ifindex, mac: mac, vlan: vlan}
}

// ClearAddresses deletes the port's addresses of type t (0: all types).
func ClearAddresses(ifindex int, t EntryType) Change {
	return Change{op: opClear, ifindex: ifindex, typ: t}
}

// ClearVLANAddresses deletes the port's addresses of type t (0: all
// types) in one VLAN.
func ClearVLANAddresses(ifindex int, vlan uint16, t EntryType) Change {
	return Change{op: opClear, ifindex: ifindex, vlan: vlan, typ: t}
}

// SetVLANLimit bounds how many secure addresses the port may hold in vlan
// (0: the VLAN has a row but no limit of its own; the port's maximum
// bounds all VLANs together).
func SetVLANLimit(ifindex int, vlan uint16, limit int) Change {
	return Change{op: opVLANLimit, ifindex: ifindex, vlan: vlan, limit: limit}
}

// RemoveVLANLimit deletes the port's limit for vlan.
func RemoveVLANLimit(ifindex int, vlan uint16) Change {
	return Change{op: opRemoveVLANLimit, ifindex: ifindex, vlan: vlan}
}

// blame remembers which change last touched a port and how, so a
// post-state rule can name it.
type blame struct {
	index  int
	field  string
	config bool // a SetPort of the set touched the port
}

// applyAll applies cs to s (a clone) and checks the result. now and
// minute place the expiry of entries whose aging changes.
func applyAll(s *state, cs []Change, now time.Time, minute time.Duration) error {
	touched := map[int]blame{}
	for i, c := range cs {
		if err := c.apply(s, now, minute); err != nil {
			err.Index = i
			return err
		}
		switch c.op {
		case opGlobal:
		case opPort:
			touched[c.ifindex] = blame{i, "Maximum", true}
		case opVLANLimit, opRemoveVLANLimit:
			touched[c.ifindex] = blame{i, FieldVLANLimit, touched[c.ifindex].config}
		default:
			touched[c.ifindex] = blame{i, FieldMAC, touched[c.ifindex].config}
		}
	}
	return checkPost(s, touched)
}

func wrong(ifindex int, field, format string, a ...any) *RuleError {
	return &RuleError{Ifindex: ifindex, Field: field, Kind: WrongValue, Msg: fmt.Sprintf(format, a...)}
}

func inconsistent(ifindex int, field, format string, a ...any) *RuleError {
	return &RuleError{Ifindex: ifindex, Field: field, Kind: Inconsistent, Msg: fmt.Sprintf(format, a...)}
}

func (c Change) apply(s *state, now time.Time, minute time.Duration) *RuleError {
	if c.op != opGlobal && c.ifindex <= 0 {
		return wrong(c.ifindex, FieldIfindex, "ifindex must be positive")
	}
	switch c.op {
	case opGlobal:
		if c.global.NotifRate < 0 || c.global.NotifRate > 1000 {
			return wrong(0, "NotifRate", "%d outside 0..1000", c.global.NotifRate)
		}
		s.global = c.global
	case opPort:
		if err := checkConfig(c.ifindex, c.cfg); err != nil {
			return err
		}
		setConfig(s.port(c.ifindex), c.cfg, now, minute)
	case opAddStatic:
		p := s.port(c.ifindex)
		if c.mac[0]&1 != 0 || c.mac == (MAC{}) {
			return wrong(c.ifindex, FieldMAC, "%s is not a unicast address", c.mac)
		}
		vlan := c.vlan
		if vlan == 0 {
			vlan = p.untaggedVLAN()
		}
		if vlan < 1 || vlan > 4094 {
			return wrong(c.ifindex, FieldVLAN, "VLAN %d outside 1..4094", vlan)
		}
		if !p.vlans.Carries(vlan) {
			return inconsistent(c.ifindex, FieldVLAN, "the port does not carry VLAN %d", vlan)
		}
		p.entries[addr{c.mac, vlan}] = entry{typ: Static, expires: entryExpiry(p.cfg, Static, now, minute)}
	case opRemove:
		p := s.ports[c.ifindex]
		if p == nil {
			return &RuleError{Ifindex: c.ifindex, Field: FieldMAC, Kind: NoSuchEntry, Msg: "port has no secure addresses"}
		}
		found := false
		for a := range p.entries {
			if a.mac == c.mac && (c.vlan == 0 || a.vlan == c.vlan) {
				delete(p.entries, a)
				found = true
			}
		}
		if !found {
			return &RuleError{Ifindex: c.ifindex, Field: FieldMAC, Kind: NoSuchEntry, Msg: c.mac.String() + " is not secure on the port"}
		}
	case opClear:
		if p := s.ports[c.ifindex]; p != nil {
			for a, e := range p.entries {
				if (c.typ == 0 || e.typ == c.typ) && (c.vlan == 0 || a.vlan == c.vlan) {
					delete(p.entries, a)
				}
			}
		}
	case opVLANLimit:
		p := s.port(c.ifindex)
		switch {
		case c.vlan < 1 || c.vlan > 4094:
			return wrong(c.ifindex, FieldVLAN, "VLAN %d outside 1..4094", c.vlan)
		case c.limit < 0 || c.limit > MaxPerPort:
			return wrong(c.ifindex, FieldVLANLimit, "%d outside 0..%d", c.limit, MaxPerPort)
		case !p.vlans.Carries(c.vlan):
			return inconsistent(c.ifindex, FieldVLAN, "the port does not carry VLAN %d", c.vlan)
		}
		p.limits[c.vlan] = c.limit
	case opRemoveVLANLimit:
		if p := s.ports[c.ifindex]; p != nil {
			delete(p.limits, c.vlan)
		}
	default:
		return wrong(c.ifindex, "", "empty change")
	}
	return nil
}

func checkConfig(ifindex int, c PortConfig) *RuleError {
	switch {
	case c.Maximum < 1 || c.Maximum > MaxPerPort:
		return wrong(ifindex, "Maximum", "%d outside 1..%d", c.Maximum, MaxPerPort)
	case c.Violation < Shutdown || c.Violation > Protect:
		return wrong(ifindex, "Violation", "unknown mode %d", int(c.Violation))
	case c.AgingTime < 0 || c.AgingTime > 1440:
		return wrong(ifindex, "AgingTime", "%d minutes outside 0..1440", c.AgingTime)
	case c.AgingType != AgingAbsolute && c.AgingType != AgingInactivity:
		return wrong(ifindex, "AgingType", "unknown aging type %d", int(c.AgingType))
	case c.ShutdownTimeout < 0 || c.ShutdownTimeout > 1440:
		return wrong(ifindex, "ShutdownTimeout", "%d minutes outside 0..1440", c.ShutdownTimeout)
	}
	return nil
}

// setConfig moves a port to a new configuration and carries out what the
// transition implies for its addresses and shutdown state.
func setConfig(p *port, c PortConfig, now time.Time, minute time.Duration) {
	old := p.cfg
	p.cfg = c
	if old.Enabled != c.Enabled {
		// Enabling and disabling both end an err-disabled state.
		p.shutdown, p.until = false, time.Time{}
		clear(p.shutVLANs)
		if !c.Enabled {
			p.dropDynamic()
		} else {
			p.violations = 0
		}
	}
	for m, e := range p.entries {
		switch {
		case c.Sticky && e.typ == Dynamic:
			e.typ = Sticky
		case !c.Sticky && e.typ == Sticky:
			e.typ = Dynamic
		}
		if old.AgingTime != c.AgingTime || old.AgingType != c.AgingType || old.StaticAging != c.StaticAging ||
			old.Sticky != c.Sticky {
			e.expires = entryExpiry(c, e.typ, now, minute)
		}
		p.entries[m] = e
	}
}

func (p *port) dropDynamic() {
	for a, e := range p.entries {
		if e.typ == Dynamic {
			delete(p.entries, a)
		}
	}
}

// agingTimeout is the kernel timeout for an address of type t; 0 = none.
func agingTimeout(c PortConfig, t EntryType, minute time.Duration) time.Duration {
	switch {
	case c.AgingTime == 0, t == Sticky, t == Static && !c.StaticAging:
		return 0
	}
	return time.Duration(c.AgingTime) * minute
}

func entryExpiry(c PortConfig, t EntryType, now time.Time, minute time.Duration) time.Time {
	if d := agingTimeout(c, t, minute); d > 0 {
		return now.Add(d)
	}
	return time.Time{}
}

// checkPost enforces the rules that concern the state after the whole
// change set.
func checkPost(s *state, touched map[int]blame) error {
	for ifindex, b := range touched {
		p := s.ports[ifindex]
		if p == nil {
			continue
		}
		fail := func(field, format string, a ...any) error {
			e := inconsistent(ifindex, field, format, a...)
			e.Index = b.index
			return e
		}
		if n := len(p.entries); n > p.cfg.Maximum {
			return fail(b.field, "%d secure addresses exceed maximum %d", n, p.cfg.Maximum)
		}
		for _, v := range slices.Sorted(maps.Keys(p.limits)) {
			if l, n := p.limits[v], p.inVLAN(v); l > 0 && n > l {
				return fail(b.field, "%d secure addresses in VLAN %d exceed its maximum %d", n, v, l)
			}
		}
		if v := p.vlans.VoiceVLAN(); v != 0 && p.cfg.Enabled && p.cfg.Maximum < 2 && b.config {
			return fail("Maximum", "voice VLAN %d needs maximum ≥ 2 (phone and PC), not %d", v, p.cfg.Maximum)
		}
		for a, e := range p.entries {
			if e.typ != Static {
				continue
			}
			for other, q := range s.ports {
				if other == ifindex {
					continue
				}
				if _, ok := q.entries[a]; ok {
					return fail(FieldMAC, "%s is already secure on port %d in VLAN %d", a.mac, other, a.vlan)
				}
			}
		}
	}
	return nil
}
