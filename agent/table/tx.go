package table

import (
	"errors"
	"slices"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

// Tx is a checked SET transaction of one group: the rows and scalars one
// PDU changes. Hooks read it; it also offers the post-PDU view of every
// table (Lookup, Rows).
type Tx struct {
	// Changes lists every row the PDU touches, in the order the PDU first
	// names them. A row destroyed that did not exist is left out.
	Changes []*Change
	// Scalars lists the scalars the PDU sets.
	Scalars []*ScalarChange

	g       *Group
	first   int    // index of the first varbind of our share of the PDU
	version uint64 // group version TestSet saw
	byKey   map[txKey]*Change
	state   txState
}

type txState int

const (
	txTested txState = iota + 1
	txCommitted
	txFailed // commit failed: nothing left applied
	txUndone
	txDone
)

// Change is what a PDU does to one row.
type Change struct {
	Table *Table
	Index []agentx.Value
	Old   *Row      // before the PDU; nil: the PDU creates the row
	New   *Row      // after the PDU; nil: the PDU destroys the row
	Op    RowStatus // status the PDU set (the last one), 0 if none
	Set   []uint32  // non-status columns the PDU set

	key      agentx.OID
	firstVB  int
	statusVB int
	setVB    map[uint32]int
}

// Created reports whether the row is new (including a destroy and re-create
// of an existing row in one PDU).
func (c *Change) Created() bool {
	return c.New != nil && (c.Old == nil || c.Op == CreateAndGo || c.Op == CreateAndWait)
}

// Destroyed reports whether the row is gone after the PDU.
func (c *Change) Destroyed() bool { return c.New == nil }

// WasSet reports whether the PDU set column col (the status column counts
// when the PDU set a status).
func (c *Change) WasSet(col uint32) bool {
	if col != 0 && col == c.Table.Status {
		return c.Op != 0
	}
	_, ok := c.setVB[col]
	return ok
}

// ScalarChange is a scalar a PDU sets.
type ScalarChange struct {
	Scalar *Scalar
	Old    agentx.Value // read at TestSet, read again just before Set at commit
	New    agentx.Value
	vb     int
}

func (tx *Tx) add(ch *Change) {
	tx.Changes = append(tx.Changes, ch)
	tx.byKey[txKey{ch.Table, keyString(ch.key)}] = ch
}

func (tx *Tx) change(t *Table, key agentx.OID) *Change {
	return tx.byKey[txKey{t, keyString(key)}]
}

// Lookup returns the row with that index as it is after the PDU.
func (tx *Tx) Lookup(t *Table, index ...agentx.Value) (*Row, bool) {
	key, err := encodeIndex(t.Index, index)
	if err != nil || len(index) != len(t.Index) {
		return nil, false
	}
	if ch := tx.change(t, key); ch != nil {
		return ch.New, ch.New != nil
	}
	return tx.g.Row(t, index...)
}

// Rows returns, in index order, the rows of t after the PDU whose index
// starts with prefix (all rows without a prefix).
func (tx *Tx) Rows(t *Table, prefix ...agentx.Value) []*Row {
	pk, err := encodeIndex(t.Index, prefix)
	if err != nil {
		return nil
	}
	g := tx.g
	g.mu.RLock()
	base := slices.Clone(t.prefixRange(pk))
	g.mu.RUnlock()
	out := base[:0]
	seen := map[*Change]bool{}
	for _, r := range base {
		ch := tx.change(t, r.key)
		switch {
		case ch == nil:
			out = append(out, r)
		case ch.New != nil:
			seen[ch] = true
			out = append(out, ch.New)
		default:
			seen[ch] = true
		}
	}
	added := false
	for _, ch := range tx.Changes {
		if ch.Table == t && ch.New != nil && !seen[ch] && ch.key.HasPrefix(pk) {
			out = append(out, ch.New)
			added = true
		}
	}
	if added {
		slices.SortFunc(out, func(a, b *Row) int { return a.key.Compare(b.key) })
	}
	return out
}

// Len returns the number of rows of t after the PDU, without copying them.
func (tx *Tx) Len(t *Table) int {
	g := tx.g
	g.mu.RLock()
	n := len(t.rows)
	for _, ch := range tx.Changes {
		if ch.Table != t {
			continue
		}
		// Rows already installed (during Apply) are counted by t.rows.
		switch cur := t.lookup(ch.key); {
		case cur == nil && ch.New != nil:
			n++
		case cur != nil && ch.New == nil:
			n--
		}
	}
	g.mu.RUnlock()
	return n
}

// ScalarValue returns the value of s after the PDU.
func (tx *Tx) ScalarValue(s *Scalar) agentx.Value {
	for _, sc := range tx.Scalars {
		if sc.Scalar == s {
			return sc.New
		}
	}
	return s.Get()
}

// Commit implements agent.SetTx. If an engine goroutine changed the group
// since TestSet, Commit re-runs the Check hook, and it fails with
// commitFailed (changing nothing) when a row the PDU touches was changed
// or removed meanwhile: it never resurrects a row the engine deleted. The
// new rows are installed before Apply, so an engine that deletes a row
// while Apply runs deletes the installed row.
func (tx *Tx) Commit() *agent.SetError {
	if tx.state != txTested {
		return &agent.SetError{Status: agentx.CommitFailed, Index: tx.first,
			Err: errors.New("commit of a transaction that is not tested")}
	}
	g := tx.g
	if len(tx.Changes) == 0 && len(tx.Scalars) == 0 {
		tx.state = txCommitted
		return nil
	}
	g.mu.RLock()
	moved := g.version != tx.version
	g.mu.RUnlock()
	if moved && g.hooks.Check != nil {
		if err := g.hooks.Check(tx); err != nil {
			tx.state = txFailed
			return tx.mapError(err, agentx.CommitFailed)
		}
	}
	if serr := tx.install(); serr != nil {
		tx.state = txFailed
		return serr
	}
	for i, sc := range tx.Scalars {
		sc.Old = sc.Scalar.Get()
		if err := sc.Scalar.Set(sc.New); err != nil {
			tx.undoScalars(tx.Scalars[:i])
			tx.uninstall()
			tx.state = txFailed
			return &agent.SetError{Status: agentx.CommitFailed, Index: sc.vb, Err: err}
		}
	}
	if g.hooks.Apply != nil {
		if err := g.hooks.Apply(tx); err != nil {
			tx.undoScalars(tx.Scalars)
			tx.uninstall()
			tx.state = txFailed
			return tx.mapError(err, agentx.CommitFailed)
		}
	}
	tx.state = txCommitted
	return nil
}

// install puts the new rows in place if the old ones are still there.
func (tx *Tx) install() *agent.SetError {
	g := tx.g
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, ch := range tx.Changes {
		if cur := ch.Table.lookup(ch.key); cur != ch.Old {
			return &agent.SetError{Status: agentx.CommitFailed, Index: ch.firstVB,
				Err: errors.New(ch.Table.Name + " row " + ch.key.String() + " changed since TestSet")}
		}
	}
	for _, ch := range tx.Changes {
		if ch.New != nil {
			ch.Table.put(ch.New)
		} else {
			ch.Table.remove(ch.key)
		}
	}
	g.version++
	return nil
}

// uninstall puts the old rows back where our new rows still are; a row the
// engine changed since is left as the engine made it.
func (tx *Tx) uninstall() {
	g := tx.g
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(tx.Changes) - 1; i >= 0; i-- {
		ch := tx.Changes[i]
		if cur := ch.Table.lookup(ch.key); cur != ch.New {
			continue
		}
		if ch.Old != nil {
			ch.Table.put(ch.Old)
		} else {
			ch.Table.remove(ch.key)
		}
	}
	g.version++
}

// undoScalars restores scalars in reverse order; it returns the first
// failure.
func (tx *Tx) undoScalars(done []*ScalarChange) *agent.SetError {
	var first *agent.SetError
	for i := len(done) - 1; i >= 0; i-- {
		sc := done[i]
		if err := sc.Scalar.Set(sc.Old); err != nil && first == nil {
			first = &agent.SetError{Status: agentx.UndoFailed, Index: sc.vb, Err: err}
		}
	}
	return first
}

// Undo implements agent.SetTx: Revert, then the scalars' old values, then
// the old rows. After a failed Commit there is nothing to undo. If Revert
// fails the rows stay as committed (they describe what the engine runs) and
// Undo answers undoFailed, on the first varbind rather than index 0, which
// snmpd would turn into genErr.
func (tx *Tx) Undo() *agent.SetError {
	if tx.state != txCommitted {
		return nil
	}
	tx.state = txUndone
	g := tx.g
	if g.hooks.Revert != nil && (len(tx.Changes) > 0 || len(tx.Scalars) > 0) {
		if err := g.hooks.Revert(tx); err != nil {
			if serr := tx.undoScalars(tx.Scalars); serr != nil {
				return serr
			}
			return &agent.SetError{Status: agentx.UndoFailed, Index: tx.first, Err: err}
		}
	}
	serr := tx.undoScalars(tx.Scalars)
	if len(tx.Changes) > 0 {
		tx.uninstall()
	}
	return serr
}

// Cleanup implements agent.SetTx. TestSet changes nothing, so there is
// nothing to release beyond the transaction itself.
func (tx *Tx) Cleanup() {
	tx.state = txDone
}
