package portsec

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	psec "tapagent/portsec"
)

// origin says which part of a PDU an engine change came from, so that a
// RuleError (which names a change by position) maps back to a varbind.
type origin struct {
	ch     *table.Change
	sc     *table.ScalarChange
	column uint32 // the column at fault unless the rule names another
}

// plan is a PDU as an engine change set.
type plan struct {
	changes []psec.Change
	origins []origin
	before  map[int]psec.PortState // touched ports before the PDU
	global  psec.Global
}

func (p *plan) add(c psec.Change, o origin) {
	p.changes = append(p.changes, c)
	p.origins = append(p.origins, o)
}

func (b *Binding) check(tx *table.Tx) error {
	p, err := b.plan(tx)
	if err != nil || len(p.changes) == 0 {
		return err
	}
	return p.mapRuleError(b.eng.Validate(p.changes))
}

func (b *Binding) apply(tx *table.Tx) error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	p, err := b.plan(tx)
	if err != nil {
		return err
	}
	if len(p.changes) > 0 {
		if err := b.eng.Apply(p.changes); err != nil {
			return p.mapRuleError(err)
		}
	}
	b.mu.Lock()
	b.undo, b.undoTx = p.inverse(), tx
	b.mu.Unlock()
	b.invalidate()
	// Rows follow at once: action columns read done again, cleared
	// addresses go.
	if err := b.syncLocked(); err != nil {
		b.log.WithError(err).Warn("port security: sync after SET")
	}
	return nil
}

// revert undoes the last applied PDU in the engine (snmpd sends UndoSet
// only for the PDU whose commit failed elsewhere). Learned addresses the
// PDU removed cannot come back as learned; they are relearned by traffic.
func (b *Binding) revert(tx *table.Tx) error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.Lock()
	undo, same := b.undo, b.undoTx == tx
	b.undo, b.undoTx = nil, nil
	b.mu.Unlock()
	if !same {
		return errors.New("port security: undo of a transaction that is not the last one committed")
	}
	if len(undo) > 0 {
		if err := b.eng.Apply(undo); err != nil {
			return fmt.Errorf("port security: undo: %w", err)
		}
	}
	b.invalidate()
	return nil
}

// plan turns the rows and scalars a PDU touches into engine changes.
func (b *Binding) plan(tx *table.Tx) (*plan, error) {
	states, err := b.eng.Ports()
	if err != nil {
		return nil, fmt.Errorf("port security engine: %w", err)
	}
	g, err := b.eng.Global()
	if err != nil {
		return nil, fmt.Errorf("port security engine: %w", err)
	}
	p := &plan{before: map[int]psec.PortState{}, global: g}
	for _, s := range states {
		p.before[s.Ifindex] = s
	}
	current := func(ifindex int) psec.PortState {
		if s, ok := p.before[ifindex]; ok {
			return s
		}
		return unconfigured(ifindex)
	}

	// Global settings: one SetGlobal carrying every scalar of the PDU.
	ng, changed := g, false
	var first *table.ScalarChange
	for _, sc := range tx.Scalars {
		switch sc.Scalar {
		case b.scEnable:
			ng.Enabled = sc.New.Int == truthTrue
		case b.scRate:
			ng.NotifRate = int(sc.New.Int)
		case b.scControl:
			ng.NotifControl = sc.New.Int == truthTrue
		case b.scClear:
			if sc.New.Int != clearDone {
				t, _ := clearType(sc.New.Int)
				for _, r := range tx.Rows(b.config) {
					p.add(psec.ClearAddresses(rowIfindex(r), t), origin{sc: sc})
				}
			}
			continue
		}
		changed = true
		if first == nil {
			first = sc
		}
	}
	if changed {
		p.add(psec.SetGlobal(ng), origin{sc: first})
	}

	for _, ch := range tx.Changes {
		switch ch.Table {
		case b.config:
			if err := b.planConfig(p, ch, current(rowIfindex(ch.New))); err != nil {
				return nil, err
			}
		case b.vlanMAC, b.mac:
			if err := b.planAddress(p, tx, ch, current); err != nil {
				return nil, err
			}
		case b.multi:
			if err := b.planMulti(p, tx, ch, current); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func wrongValue(ch *table.Change, col uint32, format string, a ...any) error {
	return &table.CheckError{Status: agentx.WrongValue, Table: ch.Table, Index: ch.Index, Column: col, Err: fmt.Errorf(format, a...)}
}

func inconsistent(ch *table.Change, col uint32, format string, a ...any) error {
	return &table.CheckError{Status: agentx.InconsistentValue, Table: ch.Table, Index: ch.Index, Column: col, Err: fmt.Errorf(format, a...)}
}

// planConfig maps a modified cpsIfConfigEntry to SetPort and clear changes.
func (b *Binding) planConfig(p *plan, ch *table.Change, cur psec.PortState) error {
	r := ch.New
	ifindex := rowIfindex(r)
	// Features the Linux data plane lacks accept only what it does.
	switch {
	case ch.WasSet(ifUnicastFlooding) && r.Int(ifUnicastFlooding) != truthTrue:
		return wrongValue(ch, ifUnicastFlooding, "flooded unicast cannot be blocked on a Linux bridge port")
	case ch.WasSet(ifRateLimitEnable) && r.Int(ifRateLimitEnable) != truthFalse:
		return wrongValue(ch, ifRateLimitEnable, "invalid-source rate limiting is not supported")
	case ch.WasSet(ifRateLimitValue) && r.Int(ifRateLimitValue) != -1:
		return wrongValue(ch, ifRateLimitValue, "invalid-source rate limiting is not supported")
	case r.Uint(ifShutdownTimeout) > 1440:
		return wrongValue(ch, ifShutdownTimeout, "%d minutes outside 0..1440", r.Uint(ifShutdownTimeout))
	}
	cfg := cur.Config
	cfg.Enabled = r.Int(ifEnable) == truthTrue
	cfg.Maximum = int(r.Int(ifMax))
	cfg.AgingTime = int(r.Int(ifAgingTime))
	cfg.AgingType = psec.AgingType(r.Int(ifAgingType))
	cfg.StaticAging = r.Int(ifStaticAging) == truthTrue
	cfg.Violation = psec.ViolationMode(r.Int(ifViolationAction))
	cfg.ShutdownTimeout = int(r.Uint(ifShutdownTimeout))
	cfg.Sticky = r.Int(ifSticky) == truthTrue
	col := firstSet(ch, ifMax, ifEnable, ifViolationAction, ifAgingTime, ifAgingType, ifStaticAging, ifShutdownTimeout, ifSticky)
	// Writing true to an enabled port that security shut down brings it
	// back: the engine does that on a disable/enable transition.
	if ch.WasSet(ifEnable) && cfg.Enabled && cur.Config.Enabled && cur.Status == psec.StatusShutdown {
		off := cur.Config
		off.Enabled = false
		p.add(psec.SetPort(ifindex, off), origin{ch: ch, column: ifEnable})
		p.add(psec.SetPort(ifindex, cfg), origin{ch: ch, column: col})
	} else if cfg != cur.Config {
		p.add(psec.SetPort(ifindex, cfg), origin{ch: ch, column: col})
	}
	if ch.WasSet(ifClear) && r.Int(ifClear) != clearDone {
		t, _ := clearType(r.Int(ifClear))
		p.add(psec.ClearAddresses(ifindex, t), origin{ch: ch, column: ifClear})
	}
	if ch.WasSet(ifClearAll) && r.Int(ifClearAll) == truthTrue {
		p.add(psec.ClearAddresses(ifindex, 0), origin{ch: ch, column: ifClearAll})
	}
	return nil
}

// firstSet returns the first of cols the PDU set (the varbind to blame
// for a configuration rule), else the first one.
func firstSet(ch *table.Change, cols ...uint32) uint32 {
	for _, c := range cols {
		if ch.WasSet(c) {
			return c
		}
	}
	return cols[0]
}

// clearType maps ClearSecureMacAddrType to the engine's entry type (0:
// every type).
func clearType(v int64) (psec.EntryType, bool) {
	switch v {
	case clearDynamic:
		return psec.Dynamic, false
	case clearStatic:
		return psec.Static, false
	case clearSticky:
		return psec.Sticky, false
	}
	return 0, true
}

// planAddress maps a row of either address table: createAndGo adds a
// static address (in the PVID for the deprecated VLAN-less table),
// destroy removes an address of any type: that (MAC, VLAN), or the MAC in
// every VLAN for the deprecated table.
func (b *Binding) planAddress(p *plan, tx *table.Tx, ch *table.Change, current func(int) psec.PortState) error {
	status := ch.Table.Status
	ifindex := int(ch.Index[0].Int)
	var mac psec.MAC
	copy(mac[:], ch.Index[1].Bytes)
	var vlan uint16 // 0: every VLAN of the MAC (deprecated table)
	if ch.Table == b.vlanMAC {
		if ch.Index[2].Uint > 4094 {
			return wrongValue(ch, status, "VLAN %d outside 1..4094", ch.Index[2].Uint)
		}
		vlan = uint16(ch.Index[2].Uint)
	}
	switch {
	case ch.Op == table.CreateAndWait || ch.Op == table.NotInService:
		return wrongValue(ch, status, "only createAndGo, active and destroy are supported")
	case ch.Created():
		if _, ok := tx.Lookup(b.config, ch.Index[0]); !ok {
			return &table.CheckError{Status: agentx.NoCreation, Table: ch.Table, Index: ch.Index, Column: status,
				Err: fmt.Errorf("ifIndex %d is not a bridge port", ifindex)}
		}
		if ch.Old != nil {
			p.add(psec.RemoveAddress(ifindex, mac, vlan), origin{ch: ch, column: status})
		}
		p.add(psec.AddStatic(ifindex, mac, vlan), origin{ch: ch, column: status})
	case ch.Destroyed():
		for _, e := range current(ifindex).Entries {
			// Gone already (aged, flushed): destroying it is done.
			if e.MAC == mac && (vlan == 0 || e.VLAN == vlan) {
				p.add(psec.RemoveAddress(ifindex, mac, vlan), origin{ch: ch, column: status})
				break
			}
		}
	}
	return nil
}

// planMulti handles cpsIfMultiVlanTable. createAndGo sets a limit for the
// VLAN (DEFVAL 1 unless the PDU gives the maximum), writing the maximum of
// a row sets the limit, destroy removes it (refused while the VLAN still
// holds addresses after the PDU: the row would come back at once), and
// the clear column removes the VLAN's addresses of a type.
func (b *Binding) planMulti(p *plan, tx *table.Tx, ch *table.Change, current func(int) psec.PortState) error {
	ifindex := int(ch.Index[0].Int)
	if ch.Index[1].Uint > 4094 {
		return wrongValue(ch, multiStatus, "VLAN %d outside 1..4094", ch.Index[1].Uint)
	}
	vlan := uint16(ch.Index[1].Uint)
	cur := current(ifindex)
	switch {
	case ch.Op == table.CreateAndWait || ch.Op == table.NotInService:
		return wrongValue(ch, multiStatus, "only createAndGo, active and destroy are supported")
	case ch.Destroyed():
		if n := b.heldAfter(tx, cur, vlan); n > 0 {
			return inconsistent(ch, multiStatus, "VLAN %d still holds %d secure addresses", vlan, n)
		}
		if _, ok := cur.VLANLimits[vlan]; ok {
			p.add(psec.RemoveVLANLimit(ifindex, vlan), origin{ch: ch, column: multiStatus})
		}
		return nil
	case ch.Created():
		if _, ok := tx.Lookup(b.config, ch.Index[0]); !ok {
			return &table.CheckError{Status: agentx.NoCreation, Table: ch.Table, Index: ch.Index, Column: multiStatus,
				Err: fmt.Errorf("ifIndex %d is not a bridge port", ifindex)}
		}
		p.add(psec.SetVLANLimit(ifindex, vlan, vlanLimit(ch.New)), origin{ch: ch, column: multiStatus})
	case ch.WasSet(multiMax):
		p.add(psec.SetVLANLimit(ifindex, vlan, vlanLimit(ch.New)), origin{ch: ch, column: multiMax})
	}
	if v := ch.New.Int(multiClear); ch.WasSet(multiClear) && v != clearDone {
		t, _ := clearType(v)
		p.add(psec.ClearVLANAddresses(ifindex, vlan, t), origin{ch: ch, column: multiClear})
	}
	return nil
}

// vlanLimit reads cpsIfMultiVlanMaxSecureMacAddr; values beyond what an
// int holds stay out of range for the engine.
func vlanLimit(r *table.Row) int {
	return int(min(r.Uint(multiMax), math.MaxInt32))
}

// heldAfter counts the addresses the port holds in vlan after the PDU,
// as far as the PDU's own address rows and clears tell (the engine's
// learning in between is not foreseen).
func (b *Binding) heldAfter(tx *table.Tx, cur psec.PortState, vlan uint16) int {
	held := map[psec.MAC]psec.EntryType{}
	for _, e := range cur.Entries {
		if e.VLAN == vlan {
			held[e.MAC] = e.Type
		}
	}
	clearOf := func(v int64) {
		if v == clearDone {
			return
		}
		t, all := clearType(v)
		for m, et := range held {
			if all || et == t {
				delete(held, m)
			}
		}
	}
	for _, sc := range tx.Scalars {
		if sc.Scalar == b.scClear {
			clearOf(sc.New.Int)
		}
	}
	for _, ch := range tx.Changes {
		if int(ch.Index[0].Int) != cur.Ifindex {
			continue
		}
		switch ch.Table {
		case b.vlanMAC, b.mac:
			var mac psec.MAC
			copy(mac[:], ch.Index[1].Bytes)
			in := cur.VLANs.PVID == vlan // the deprecated table's VLAN
			if ch.Table == b.vlanMAC {
				in = ch.Index[2].Uint == uint64(vlan)
			}
			switch {
			case ch.Destroyed() && (in || ch.Table == b.mac):
				delete(held, mac)
			case ch.Created() && in:
				held[mac] = psec.Static
			}
		case b.config:
			if ch.New == nil {
				continue
			}
			if ch.WasSet(ifClear) {
				clearOf(ch.New.Int(ifClear))
			}
			if ch.WasSet(ifClearAll) && ch.New.Int(ifClearAll) == truthTrue {
				clearOf(clearAll)
			}
		}
	}
	return len(held)
}

// mapRuleError turns an engine verdict into a CheckError on the varbind
// whose change broke the rule.
func (p *plan) mapRuleError(err error) error {
	if err == nil {
		return nil
	}
	var re *psec.RuleError
	if !errors.As(err, &re) || re.Index < 0 || re.Index >= len(p.origins) {
		return err
	}
	status := agentx.InconsistentValue
	if re.Kind == psec.WrongValue {
		status = agentx.WrongValue
	}
	o := p.origins[re.Index]
	if o.sc != nil {
		return &table.CheckError{Status: status, Scalar: o.sc.Scalar, Err: err}
	}
	col := o.column
	// The column the rule names, when the PDU set it.
	if c, ok := fieldColumns[o.ch.Table.Name][re.Field]; ok && o.ch.WasSet(c) {
		col = c
	}
	return &table.CheckError{Status: status, Table: o.ch.Table, Index: o.ch.Index, Column: col, Err: err}
}

// fieldColumns maps a RuleError's Field to a column, per table.
var fieldColumns = map[string]map[string]uint32{
	configTableName: {
		"Maximum": ifMax, "Violation": ifViolationAction, "AgingTime": ifAgingTime, "AgingType": ifAgingType,
		"ShutdownTimeout": ifShutdownTimeout,
	},
	multiTableName: {
		psec.FieldVLANLimit: multiMax, psec.FieldVLAN: multiStatus,
	},
}

// inverse is the change set that takes the engine back to p.before (as
// far as configuration, per-VLAN limits and static addresses go).
func (p *plan) inverse() []psec.Change {
	var out []psec.Change
	touched := map[int]map[uint16]bool{} // port → VLANs whose limit the PDU may have changed
	globalChanged := false
	for _, o := range p.origins {
		switch {
		case o.sc != nil:
			globalChanged = true
		case o.ch != nil:
			ifindex := int(o.ch.Index[0].Int)
			if touched[ifindex] == nil {
				touched[ifindex] = map[uint16]bool{}
			}
			if o.ch.Table.Name == multiTableName {
				touched[ifindex][uint16(o.ch.Index[1].Uint)] = true
			}
		}
	}
	if globalChanged {
		out = append(out, psec.SetGlobal(p.global))
	}
	for _, ifindex := range slices.Sorted(maps.Keys(touched)) {
		before, ok := p.before[ifindex]
		if !ok {
			before = unconfigured(ifindex)
		}
		// Remove what the PDU may have added, then restore config, limits
		// and statics.
		out = append(out, psec.ClearAddresses(ifindex, psec.Static), psec.SetPort(ifindex, before.Config))
		for _, v := range slices.Sorted(maps.Keys(touched[ifindex])) {
			if _, had := before.VLANLimits[v]; !had {
				out = append(out, psec.RemoveVLANLimit(ifindex, v))
			}
		}
		for _, v := range slices.Sorted(maps.Keys(before.VLANLimits)) {
			out = append(out, psec.SetVLANLimit(ifindex, v, before.VLANLimits[v]))
		}
		for _, e := range before.Entries {
			if e.Type == psec.Static {
				out = append(out, psec.AddStatic(ifindex, e.MAC, e.VLAN))
			}
		}
	}
	return out
}
