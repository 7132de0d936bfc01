package table

import (
	"encoding/binary"
	"errors"
	"fmt"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

// target is one varbind of a SET after the static checks.
type target struct {
	vb     int // 1-based PDU index
	value  agentx.Value
	scalar *Scalar
	table  *Table
	col    *Column
	key    agentx.OID
	index  []agentx.Value
}

// rowPlan gathers what one PDU asks of one row.
type rowPlan struct {
	table   *Table
	key     agentx.OID
	index   []agentx.Value
	firstVB int
	ops     []statusOp        // status varbinds in PDU order
	sets    map[uint32]target // column ID → last varbind setting it
	setVB   map[uint32]int    // column ID → its varbind index
	order   []uint32          // columns in order of first appearance
}

type statusOp struct {
	op RowStatus
	vb int
}

// TestSet implements agent.Handler. It checks every varbind on its own
// (RFC 3416 §4.2.5 steps in order: notWritable, wrongType, wrongLength,
// wrongValue, noCreation), then the rows and scalars the whole PDU would
// produce (inconsistentName, inconsistentValue, RFC 2579 RowStatus rules),
// then the Check hook. It never changes the tables.
func (g *Group) TestSet(vbs []agent.SetVarBind) (agent.SetTx, *agent.SetError) {
	if len(vbs) == 0 {
		return &Tx{g: g, state: txTested}, nil
	}
	targets := make([]target, 0, len(vbs))
	for _, vb := range vbs {
		t, st, err := g.resolve(vb)
		if st != agentx.NoError {
			return nil, &agent.SetError{Status: st, Index: vb.Index, Err: err}
		}
		targets = append(targets, t)
	}
	tx := &Tx{g: g, first: vbs[0].Index, byKey: map[txKey]*Change{}}
	plans, scalars := groupTargets(targets)
	g.mu.RLock()
	tx.version = g.version
	var firstErr *agent.SetError
	for _, p := range plans {
		ch, serr := p.evaluate()
		if serr != nil {
			if firstErr == nil || serr.Index < firstErr.Index {
				firstErr = serr
			}
			continue
		}
		if ch != nil {
			tx.add(ch)
		}
	}
	g.mu.RUnlock()
	if firstErr != nil {
		return nil, firstErr
	}
	for _, sc := range scalars {
		sc.Old = sc.Scalar.Get() // outside the lock: a scalar may ask the engine
		tx.Scalars = append(tx.Scalars, sc)
	}
	if g.hooks.Check != nil {
		if err := g.hooks.Check(tx); err != nil {
			return nil, tx.mapError(err, agentx.InconsistentValue)
		}
	}
	tx.state = txTested
	return tx, nil
}

// resolve finds what a varbind names and runs the checks that need no
// state. Objects are fixed after NewGroup, so no lock is needed.
func (g *Group) resolve(vb agent.SetVarBind) (target, agentx.ErrorStatus, error) {
	oid, v := vb.Name, vb.Value
	for _, t := range g.tables {
		if len(oid) <= len(t.Entry) || !oid.HasPrefix(t.Entry) {
			continue
		}
		c, ok := t.column(oid[len(t.Entry)])
		if !ok || !c.Access.writable() {
			return target{}, agentx.NotWritable, fmt.Errorf("%s: not a writable column of %s", oid, t.Name)
		}
		if st := c.Syntax.Validate(v); st != agentx.NoError {
			return target{}, st, fmt.Errorf("%s.%s: value %v", t.Name, c.Name, v)
		}
		key := oid[len(t.Entry)+1:]
		index, ok := decodeIndex(t.Index, key)
		if !ok {
			return target{}, agentx.NoCreation, fmt.Errorf("%s: malformed index %s", c.Name, key)
		}
		return target{vb: vb.Index, value: v.Clone(), table: t, col: c, key: key.Clone(), index: index}, agentx.NoError, nil
	}
	for _, s := range g.scalars {
		if !oid.HasPrefix(s.OID) {
			continue
		}
		if !s.Access.writable() {
			return target{}, agentx.NotWritable, fmt.Errorf("%s: scalar is not writable", s.Name)
		}
		if st := s.Syntax.Validate(v); st != agentx.NoError {
			return target{}, st, fmt.Errorf("%s: value %v", s.Name, v)
		}
		if len(oid) != len(s.OID)+1 || oid[len(s.OID)] != 0 {
			return target{}, agentx.NoCreation, fmt.Errorf("%s: scalar instance is .0, not %s", s.Name, oid)
		}
		return target{vb: vb.Index, value: v.Clone(), scalar: s}, agentx.NoError, nil
	}
	return target{}, agentx.NotWritable, fmt.Errorf("%s: no such object", oid)
}

// groupTargets sorts the varbinds by row and scalar; a repeated OID keeps
// its last value (as native snmpd does).
func groupTargets(targets []target) ([]*rowPlan, []*ScalarChange) {
	var plans []*rowPlan
	byRow := map[txKey]*rowPlan{}
	var scalars []*ScalarChange
	byScalar := map[*Scalar]*ScalarChange{}
	for _, t := range targets {
		if t.scalar != nil {
			if sc := byScalar[t.scalar]; sc != nil {
				sc.New, sc.vb = t.value, t.vb
				continue
			}
			sc := &ScalarChange{Scalar: t.scalar, New: t.value, vb: t.vb}
			byScalar[t.scalar] = sc
			scalars = append(scalars, sc)
			continue
		}
		k := txKey{t.table, keyString(t.key)}
		p := byRow[k]
		if p == nil {
			p = &rowPlan{table: t.table, key: t.key, index: t.index, firstVB: t.vb,
				sets: map[uint32]target{}, setVB: map[uint32]int{}}
			byRow[k] = p
			plans = append(plans, p)
		}
		if t.col.ID == t.table.Status {
			p.ops = append(p.ops, statusOp{RowStatus(t.value.Int), t.vb})
			continue
		}
		if _, seen := p.sets[t.col.ID]; !seen {
			p.order = append(p.order, t.col.ID)
		}
		p.sets[t.col.ID] = t
		p.setVB[t.col.ID] = t.vb
	}
	return plans, scalars
}

// evaluate applies the RFC 2579 state table to one row. The caller holds
// the group lock for reading. The result is nil when the row neither exists
// before nor after the PDU (destroying a row that does not exist is fine).
func (p *rowPlan) evaluate() (*Change, *agent.SetError) {
	t := p.table
	pre := t.lookup(p.key)
	start := pre
	op, opVB := RowStatus(0), 0
	if n := len(p.ops); n > 0 {
		// The same status OID twice: the last value wins, as in native
		// snmpd; an earlier destroy does not clear the row for a later
		// create (that would bypass the rules that protect active rows).
		op, opVB = p.ops[n-1].op, p.ops[n-1].vb
	}
	fail := func(st agentx.ErrorStatus, vb int, format string, args ...any) (*Change, *agent.SetError) {
		return nil, &agent.SetError{Status: st, Index: vb,
			Err: fmt.Errorf("%s row %s: %s", t.Name, p.key, fmt.Sprintf(format, args...))}
	}
	if op == CreateAndGo && start != nil && t.CreateAndGoActivates {
		op = Active
	}
	var row *Row
	switch op {
	case Destroy:
		if pre == nil {
			return nil, nil
		}
	case CreateAndGo, CreateAndWait:
		if start != nil {
			return fail(agentx.InconsistentValue, opVB, "%s: row exists", op)
		}
		row = t.newRow(p.index, p.key)
		p.apply(row)
		missing := row.missingRequired()
		switch {
		case op == CreateAndWait && missing != 0:
			row.Status = NotReady
		case op == CreateAndWait:
			row.Status = NotInService
		case missing != 0:
			return fail(agentx.InconsistentValue, opVB, "createAndGo: required column %d has no value", missing)
		default:
			row.Status = Active
		}
	case Active, NotInService:
		if start == nil {
			return fail(agentx.InconsistentValue, opVB, "%s: no such row", op)
		}
		row = start.clone()
		p.apply(row)
		if missing := row.missingRequired(); missing != 0 {
			return fail(agentx.InconsistentValue, opVB, "%s: required column %d has no value", op, missing)
		}
		if start.Status == Active && op == Active {
			if ch, err := p.checkMutable(start, fail); err != nil {
				return ch, err
			}
		}
		row.Status = op
	default: // only non-status columns
		if start == nil {
			vb := p.setVB[p.order[0]]
			if t.Status == 0 {
				return fail(agentx.NoCreation, vb, "rows of this table are not created by SET")
			}
			return fail(agentx.InconsistentName, vb, "no such row and the PDU does not create it")
		}
		row = start.clone()
		p.apply(row)
		if start.Status == Active {
			if ch, err := p.checkMutable(start, fail); err != nil {
				return ch, err
			}
		}
		if row.Status == NotReady && row.missingRequired() == 0 {
			row.Status = NotInService // RFC 2579: notReady becomes notInService once complete
		}
	}
	ch := &Change{Table: t, Index: p.index, Old: pre, New: row, Op: op, Set: p.order,
		key: p.key, firstVB: p.firstVB, statusVB: opVB, setVB: p.setVB}
	if row == nil && pre != nil {
		ch.Index = pre.Index
	}
	return ch, nil
}

// apply copies the PDU's column values into row.
func (p *rowPlan) apply(row *Row) {
	for _, id := range p.order {
		row.vals[p.table.colPos[id]] = p.sets[id].value
	}
}

// checkMutable refuses changing a column that may not change while the row
// stays active (same value is no change and is accepted).
func (p *rowPlan) checkMutable(start *Row, fail func(agentx.ErrorStatus, int, string, ...any) (*Change, *agent.SetError)) (*Change, *agent.SetError) {
	for _, id := range p.order {
		c, _ := p.table.column(id)
		if c.MutableWhenActive {
			continue
		}
		if old, ok := start.Get(id); ok && old.Equal(p.sets[id].value) {
			continue
		}
		return fail(agentx.InconsistentValue, p.setVB[id], "%s cannot change while the row is active", c.Name)
	}
	return nil, nil
}

// txKey names a row across tables.
type txKey struct {
	table *Table
	key   string
}

// keyString turns an encoded index into a map key.
func keyString(o agentx.OID) string {
	b := make([]byte, 4*len(o))
	for i, v := range o {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return string(b)
}

// CheckError is how Hooks.Check (or Apply) names what is wrong: the row
// and column at fault. The framework reports it on the varbind that set
// that column; else on the row's status varbind; else on the row's first
// varbind; else on the PDU's first varbind.
type CheckError struct {
	Status agentx.ErrorStatus // 0: inconsistentValue (commitFailed in Apply)
	Table  *Table
	Index  []agentx.Value
	Column uint32
	Scalar *Scalar // instead of Table/Index/Column for a scalar
	Err    error
}

func (e *CheckError) Error() string {
	name := "transaction"
	switch {
	case e.Scalar != nil:
		name = e.Scalar.Name
	case e.Table != nil:
		name = fmt.Sprintf("%s%v column %d", e.Table.Name, e.Index, e.Column)
	}
	if e.Err == nil {
		return name + ": rejected"
	}
	return name + ": " + e.Err.Error()
}

func (e *CheckError) Unwrap() error { return e.Err }

// Reject returns an inconsistentValue CheckError for column col of row r.
func Reject(r *Row, col uint32, err error) *CheckError {
	return &CheckError{Table: r.Table, Index: r.Index, Column: col, Err: err}
}

// mapError turns a hook error into a SetError with a PDU index.
func (tx *Tx) mapError(err error, status agentx.ErrorStatus) *agent.SetError {
	var ce *CheckError
	if !errors.As(err, &ce) {
		return &agent.SetError{Status: status, Index: tx.first, Err: err}
	}
	if ce.Status != 0 && status != agentx.CommitFailed {
		status = ce.Status
	}
	return &agent.SetError{Status: status, Index: tx.vbFor(ce), Err: err}
}

func (tx *Tx) vbFor(ce *CheckError) int {
	if ce.Scalar != nil {
		for _, sc := range tx.Scalars {
			if sc.Scalar == ce.Scalar {
				return sc.vb
			}
		}
		return tx.first
	}
	if ce.Table == nil {
		return tx.first
	}
	key, err := encodeIndex(ce.Table.Index, ce.Index)
	if err != nil {
		return tx.first
	}
	ch := tx.byKey[txKey{ce.Table, keyString(key)}]
	switch {
	case ch == nil:
		return tx.first
	case ch.setVB[ce.Column] != 0:
		return ch.setVB[ce.Column]
	case ch.statusVB != 0:
		return ch.statusVB
	}
	return ch.firstVB
}
