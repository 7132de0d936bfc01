package table

import (
	"fmt"
	"slices"
	"sync/atomic"

	"tapagent/agent/agentx"
)

// RowStatus is the RFC 2579 RowStatus value. Rows only ever hold Active,
// NotInService or NotReady; the others are actions a SET may request.
type RowStatus int

// RowStatus values.
const (
	Active        RowStatus = 1
	NotInService  RowStatus = 2
	NotReady      RowStatus = 3
	CreateAndGo   RowStatus = 4
	CreateAndWait RowStatus = 5
	Destroy       RowStatus = 6
)

func (s RowStatus) String() string {
	names := [...]string{"", "active", "notInService", "notReady", "createAndGo", "createAndWait", "destroy"}
	if s >= 1 && int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("RowStatus(%d)", int(s))
}

// Column is one columnar object of a table.
type Column struct {
	ID     uint32
	Name   string
	Syntax Syntax // ignored for the status column: the framework supplies RowStatus
	Access Access
	// Default is the value a row gets at creation (DEFVAL); nil: none.
	Default *agentx.Value
	// Required columns must hold a value before the row may become active.
	Required bool
	// MutableWhenActive columns may change while the row stays active;
	// others need the row taken to notInService first (inconsistentValue).
	MutableWhenActive bool
	// Get computes the value at read time (counters, engine state) instead
	// of storing it. It runs without the table lock held; return
	// NoSuchInstance when the row has no such value.
	Get func(r *Row) agentx.Value
}

// Table is a conceptual table. Declare it, then hand it to NewGroup; after
// that its fields must not change.
type Table struct {
	Name    string
	Entry   agentx.OID // the xxxEntry OID; columns are Entry.ID
	Index   []IndexPart
	Columns []Column
	// Status is the ID of the RowStatus column; 0 when managers cannot
	// create or destroy rows (the engine does, with PutRow/DeleteRow).
	Status uint32
	// CreateAndGoActivates makes createAndGo on an existing row mean
	// active instead of inconsistentValue (RFC 2579). Cisco's TAP agents
	// behave so, and provisioning scripts rely on it: createAndWait, fill
	// in, then createAndGo.
	CreateAndGoActivates bool

	group  *Group
	colPos map[uint32]int // column ID → position in Columns and Row.vals
	rows   []*Row         // sorted by key; guarded by group.mu
}

// column returns the column with that ID.
func (t *Table) column(id uint32) (*Column, bool) {
	i, ok := t.colPos[id]
	if !ok {
		return nil, false
	}
	return &t.Columns[i], true
}

// EncodeIndex returns the instance sub-identifiers of an index, or of its
// first parts when fewer values are given.
func (t *Table) EncodeIndex(index ...agentx.Value) (agentx.OID, error) {
	key, err := encodeIndex(t.Index, index)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.Name, err)
	}
	return key, nil
}

// InstanceOID returns the OID of column col in the row with that index, e.g.
// for the varbinds of a notification.
func (t *Table) InstanceOID(col uint32, index ...agentx.Value) (agentx.OID, error) {
	if len(index) != len(t.Index) {
		return nil, fmt.Errorf("table %s: index has %d values, want %d", t.Name, len(index), len(t.Index))
	}
	key, err := t.EncodeIndex(index...)
	if err != nil {
		return nil, err
	}
	return t.Entry.Append(col).Append(key...), nil
}

// find returns the position of key in t.rows and whether it is there.
func (t *Table) find(key agentx.OID) (int, bool) {
	return slices.BinarySearchFunc(t.rows, key, func(r *Row, k agentx.OID) int {
		return r.key.Compare(k)
	})
}

// after returns the position of the first row whose key is after key
// (at or after it when include is set).
func (t *Table) after(key agentx.OID, include bool) int {
	i, found := t.find(key)
	if found && !include {
		i++
	}
	return i
}

// lookup returns the row stored under key, or nil.
func (t *Table) lookup(key agentx.OID) *Row {
	if i, ok := t.find(key); ok {
		return t.rows[i]
	}
	return nil
}

// put stores r, replacing a row with the same key.
func (t *Table) put(r *Row) {
	i, found := t.find(r.key)
	if found {
		t.rows[i] = r
		return
	}
	t.rows = slices.Insert(t.rows, i, r)
}

// remove deletes the row stored under key; it reports whether one was.
func (t *Table) remove(key agentx.OID) bool {
	i, found := t.find(key)
	if found {
		t.rows = slices.Delete(t.rows, i, i+1)
	}
	return found
}

// prefixRange returns the rows whose key starts with prefix.
func (t *Table) prefixRange(prefix agentx.OID) []*Row {
	i, _ := t.find(prefix)
	j := i
	for j < len(t.rows) && t.rows[j].key.HasPrefix(prefix) {
		j++
	}
	return t.rows[i:j]
}

// Row is one conceptual row. A Row is never modified once the table holds
// it: every change makes a new Row, so a *Row may be read without locks and
// compared by identity. Treat its fields as read-only.
type Row struct {
	Table  *Table
	Index  []agentx.Value
	Status RowStatus // 0 in tables without a status column

	key  agentx.OID     // encoded Index, computed once
	vals []agentx.Value // by column position; Type 0 = no value
	data *dataCell      // shared by every version of the row
}

// dataCell holds the binding's attachment; it is shared by the versions of
// a row so an attachment set at commit time survives later modifications.
type dataCell struct{ p atomic.Pointer[any] }

// Data returns the binding's attachment (e.g. the engine object behind the
// row), nil when none was set.
func (r *Row) Data() any {
	if p := r.data.p.Load(); p != nil {
		return *p
	}
	return nil
}

// SetData attaches v to the row and to every later version of it (a SET
// modifying the row keeps it; destroy or re-creation starts afresh). Safe
// for concurrent use; typically called from Hooks.Apply.
func (r *Row) SetData(v any) { r.data.p.Store(&v) }

// Key returns the encoded index (the instance part of the row's OIDs).
func (r *Row) Key() agentx.OID { return r.key }

// Get returns the stored value of a column; the status column reads as the
// row's Status. Computed columns (Column.Get) are not stored.
func (r *Row) Get(col uint32) (agentx.Value, bool) {
	if col != 0 && col == r.Table.Status {
		return agentx.Integer(int32(r.Status)), true
	}
	i, ok := r.Table.colPos[col]
	if !ok || r.vals[i].Type == 0 {
		return agentx.Value{}, false
	}
	return r.vals[i], true
}

// Int returns an INTEGER column's value, 0 when absent.
func (r *Row) Int(col uint32) int64 { v, _ := r.Get(col); return v.Int }

// Uint returns an unsigned column's value, 0 when absent.
func (r *Row) Uint(col uint32) uint64 { v, _ := r.Get(col); return v.Uint }

// Bytes returns an OCTET STRING column's value, nil when absent.
func (r *Row) Bytes(col uint32) []byte { v, _ := r.Get(col); return v.Bytes }

// Truth returns a TruthValue column as a bool (true(1)).
func (r *Row) Truth(col uint32) bool { v, _ := r.Get(col); return v.Int == 1 }

// Values returns a copy of the stored values by column ID (without the
// status column), e.g. to PutRow a modified row.
func (r *Row) Values() map[uint32]agentx.Value {
	m := make(map[uint32]agentx.Value, len(r.vals))
	for i, v := range r.vals {
		if v.Type != 0 {
			m[r.Table.Columns[i].ID] = v
		}
	}
	return m
}

// OID returns the instance OID of column col in this row.
func (r *Row) OID(col uint32) agentx.OID {
	return r.Table.Entry.Append(col).Append(r.key...)
}

// missingRequired returns the first Required column without a value, or 0.
func (r *Row) missingRequired() uint32 {
	for i := range r.Table.Columns {
		c := &r.Table.Columns[i]
		if c.Required && c.ID != r.Table.Status && r.vals[i].Type == 0 {
			return c.ID
		}
	}
	return 0
}

// newRow makes an empty row with defaults and index columns filled.
func (t *Table) newRow(index []agentx.Value, key agentx.OID) *Row {
	r := &Row{Table: t, Index: index, key: key, vals: make([]agentx.Value, len(t.Columns)),
		data: &dataCell{}}
	for i := range t.Columns {
		if d := t.Columns[i].Default; d != nil {
			r.vals[i] = *d
		}
	}
	for i, p := range t.Index {
		if p.Column != 0 {
			r.vals[t.colPos[p.Column]] = index[i]
		}
	}
	return r
}

// clone returns a modifiable copy of r (not yet in any table).
func (r *Row) clone() *Row {
	c := *r
	c.vals = slices.Clone(r.vals)
	return &c
}

// Scalar is a scalar object; its instance is OID.0.
type Scalar struct {
	Name   string
	OID    agentx.OID // without the .0
	Syntax Syntax
	Access Access
	// Get reads the current value (required unless not readable). It runs
	// without the group lock held.
	Get func() agentx.Value
	// Set applies a value at CommitSet and restores the old one at UndoSet
	// (required when writable). An error makes the SET fail with
	// commitFailed (or undoFailed).
	Set func(v agentx.Value) error
}

// InstanceOID returns OID.0.
func (s *Scalar) InstanceOID() agentx.OID { return s.OID.Append(0) }
