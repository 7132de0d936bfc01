package table

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

// Hooks connect a group to its engine. Every hook runs without the group's
// lock held, so it may call Group methods; it must still be quick (the
// master agent waits for the answer).
type Hooks struct {
	// Check sees the state the whole PDU would produce and may reject it,
	// preferably with a *CheckError naming the row and column at fault.
	// Other errors count as inconsistentValue on the PDU's first varbind.
	Check func(tx *Tx) error
	// Apply pushes a checked transaction to the engine at CommitSet. It
	// runs after the framework installed the new rows; on error it must
	// leave the engine as it was, and the framework restores its rows and
	// answers commitFailed.
	Apply func(tx *Tx) error
	// Revert undoes a successful Apply at UndoSet; an error is undoFailed.
	Revert func(tx *Tx) error
}

// Group is a set of tables and scalars sharing one SET transaction. It
// implements agent.Handler.
type Group struct {
	subtrees []agentx.OID
	tables   []*Table
	scalars  []*Scalar
	hooks    Hooks
	objects  []object // readable objects sorted by OID, for Next

	mu      sync.RWMutex // guards the rows of every table and version
	version uint64       // bumped by every change to any row
}

// object is a readable column or scalar.
type object struct {
	oid    agentx.OID // column OID (Entry.ID) or scalar OID
	inst   agentx.OID // scalars: OID.0
	table  *Table
	pos    int // column position
	scalar *Scalar
}

var _ agent.Handler = (*Group)(nil)

// NewGroup checks the declarations and returns a group serving them. When
// subtrees is empty the group registers each table (Entry without its last
// sub-identifier) and each scalar. A malformed declaration is a programming
// error: NewGroup panics with a message naming it.
func NewGroup(subtrees []agentx.OID, tables []*Table, scalars []*Scalar, hooks Hooks) *Group {
	g, err := newGroup(subtrees, tables, scalars, hooks)
	if err != nil {
		panic("table.NewGroup: " + err.Error())
	}
	return g
}

func newGroup(subtrees []agentx.OID, tables []*Table, scalars []*Scalar, hooks Hooks) (*Group, error) {
	g := &Group{tables: tables, scalars: scalars, hooks: hooks}
	var all []object // every object, for the overlap check
	for _, t := range tables {
		if err := g.initTable(t); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		for i := range t.Columns {
			o := object{oid: t.Entry.Append(t.Columns[i].ID), table: t, pos: i}
			all = append(all, o)
			if t.Columns[i].Access.readable() {
				g.objects = append(g.objects, o)
			}
		}
	}
	for _, s := range scalars {
		if err := checkScalar(s); err != nil {
			return nil, fmt.Errorf("scalar %s: %w", s.Name, err)
		}
		o := object{oid: s.OID.Clone(), inst: s.InstanceOID(), scalar: s}
		all = append(all, o)
		if s.Access.readable() {
			g.objects = append(g.objects, o)
		}
	}
	sortObjects(all)
	for i := 1; i < len(all); i++ {
		if all[i].oid.HasPrefix(all[i-1].oid) {
			return nil, fmt.Errorf("objects %s and %s overlap", all[i-1].oid, all[i].oid)
		}
	}
	sortObjects(g.objects)
	g.subtrees = make([]agentx.OID, 0, len(subtrees))
	for _, s := range subtrees {
		g.subtrees = append(g.subtrees, s.Clone())
	}
	if len(g.subtrees) == 0 {
		for _, t := range tables {
			g.subtrees = append(g.subtrees, t.Entry[:len(t.Entry)-1].Clone())
		}
		for _, s := range scalars {
			g.subtrees = append(g.subtrees, s.OID.Clone())
		}
	}
	return g, nil
}

func sortObjects(objs []object) {
	slices.SortFunc(objs, func(a, b object) int { return a.oid.Compare(b.oid) })
}

func (g *Group) initTable(t *Table) error {
	if t.group != nil {
		return fmt.Errorf("already in a group")
	}
	if len(t.Entry) < 2 {
		return fmt.Errorf("entry OID %q too short", t.Entry)
	}
	if err := checkIndexParts(t.Index); err != nil {
		return err
	}
	t.colPos = make(map[uint32]int, len(t.Columns))
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.ID == 0 {
			return fmt.Errorf("column %s: ID 0", c.Name)
		}
		if _, dup := t.colPos[c.ID]; dup {
			return fmt.Errorf("column %s: duplicate ID %d", c.Name, c.ID)
		}
		t.colPos[c.ID] = i
		if c.Access < NotAccessible || c.Access > ReadCreate {
			return fmt.Errorf("column %s: no Access", c.Name)
		}
		if c.ID == t.Status {
			if !c.Access.writable() || c.Get != nil || c.Default != nil {
				return fmt.Errorf("status column %s must be writable, stored and without default", c.Name)
			}
			c.Syntax = statusSyntax()
			continue
		}
		if !c.Syntax.Type.Known() && c.Access != NotAccessible {
			return fmt.Errorf("column %s: no Syntax", c.Name)
		}
		if c.Get != nil && (c.Access.writable() || c.Default != nil || c.Required) {
			return fmt.Errorf("column %s: a computed column is read-only", c.Name)
		}
		if c.Default != nil && c.Syntax.Validate(*c.Default) != agentx.NoError {
			return fmt.Errorf("column %s: default %v: %s", c.Name, *c.Default, c.Syntax.Validate(*c.Default))
		}
		if c.Required && !c.Access.writable() {
			return fmt.Errorf("column %s: required but not writable", c.Name)
		}
	}
	if t.Status != 0 {
		if _, ok := t.colPos[t.Status]; !ok {
			return fmt.Errorf("status column %d not declared", t.Status)
		}
	}
	for _, p := range t.Index {
		if p.Column == 0 {
			continue
		}
		c, ok := t.column(p.Column)
		if !ok || c.Access.writable() || c.Get != nil || (c.Access.readable() && c.Syntax.Type != p.Syntax.Type) {
			return fmt.Errorf("index %s: column %d must be a stored, non-writable column of its type", p.Name, p.Column)
		}
	}
	t.group = g
	return nil
}

func checkScalar(s *Scalar) error {
	switch {
	case len(s.OID) == 0:
		return fmt.Errorf("no OID")
	case s.Access < NotAccessible || s.Access > ReadCreate:
		return fmt.Errorf("no Access")
	case !s.Syntax.Type.Known():
		return fmt.Errorf("no Syntax")
	case s.Access.readable() && s.Get == nil:
		return fmt.Errorf("readable without Get")
	case s.Access.writable() && s.Set == nil:
		return fmt.Errorf("writable without Set")
	}
	return nil
}

// Subtrees implements agent.Handler.
func (g *Group) Subtrees() []agentx.OID { return g.subtrees }

// Get implements agent.Handler: the value of exactly oid, noSuchInstance
// for an instance of one of our objects that does not exist, noSuchObject
// for anything else (including not-accessible and accessible-for-notify
// objects).
func (g *Group) Get(oid agentx.OID) agentx.Value {
	for _, t := range g.tables {
		if len(oid) > len(t.Entry) && oid.HasPrefix(t.Entry) {
			return g.getCell(t, oid)
		}
	}
	for _, s := range g.scalars {
		if !oid.HasPrefix(s.OID) {
			continue
		}
		if !s.Access.readable() {
			return agentx.NoSuchObject()
		}
		if len(oid) != len(s.OID)+1 || oid[len(s.OID)] != 0 {
			return agentx.NoSuchInstance()
		}
		return present(s.Get())
	}
	return agentx.NoSuchObject()
}

func (g *Group) getCell(t *Table, oid agentx.OID) agentx.Value {
	c, ok := t.column(oid[len(t.Entry)])
	if !ok || !c.Access.readable() {
		return agentx.NoSuchObject()
	}
	key := oid[len(t.Entry)+1:]
	g.mu.RLock()
	r := t.lookup(key)
	var v agentx.Value
	if r != nil && c.Get == nil {
		v, _ = r.Get(c.ID)
	}
	g.mu.RUnlock()
	if r == nil {
		return agentx.NoSuchInstance()
	}
	if c.Get != nil {
		v = c.Get(r) // outside the lock: it may reach into the engine
	}
	return present(v)
}

// present maps "no value" to noSuchInstance.
func present(v agentx.Value) agentx.Value {
	if v.Type == 0 || v.Type == agentx.TypeNoSuchObject || v.Type == agentx.TypeEndOfMibView {
		return agentx.NoSuchInstance()
	}
	return v
}

// Next implements agent.Handler: instances are ordered by (object, encoded
// index); an instance whose column holds no value (a notReady row's unset
// column, a computed column answering noSuchInstance) is skipped. Finding
// the next row is a binary search.
func (g *Group) Next(start agentx.OID, include bool, end agentx.OID) (agentx.VarBind, bool) {
	for {
		c, ok := g.nextCandidate(start, include, end)
		if !ok {
			return agentx.VarBind{}, false
		}
		v := c.value
		switch {
		case c.scalar != nil:
			v = c.scalar.Get()
		case c.compute != nil:
			v = c.compute(c.row)
		}
		if v.Type != 0 && !v.IsException() {
			return agentx.VarBind{Name: c.name, Value: v}, true
		}
		start, include = c.name, false
	}
}

type candidate struct {
	name    agentx.OID
	value   agentx.Value // stored value
	scalar  *Scalar      // or: read the scalar
	row     *Row
	compute func(*Row) agentx.Value // or: compute from row
}

// nextCandidate finds the first instance in range whose value is stored or
// must be computed; values to compute are left to the caller, outside the
// lock.
func (g *Group) nextCandidate(start agentx.OID, include bool, end agentx.OID) (candidate, bool) {
	objs := g.objects
	i := sort.Search(len(objs), func(i int) bool {
		return objs[i].oid.Compare(start) > 0 || start.HasPrefix(objs[i].oid)
	})
	g.mu.RLock()
	defer g.mu.RUnlock()
	for ; i < len(objs); i++ {
		o := &objs[i]
		if len(end) > 0 && o.oid.Compare(end) >= 0 {
			return candidate{}, false
		}
		if o.scalar != nil {
			if c := o.inst.Compare(start); c < 0 || (c == 0 && !include) {
				continue
			}
			if len(end) > 0 && o.inst.Compare(end) >= 0 {
				return candidate{}, false
			}
			return candidate{name: o.inst, scalar: o.scalar}, true
		}
		t, col := o.table, &o.table.Columns[o.pos]
		j := 0
		if start.HasPrefix(o.oid) {
			j = t.after(start[len(o.oid):], include)
		}
		for ; j < len(t.rows); j++ {
			r := t.rows[j]
			if len(end) > 0 && compareJoined(o.oid, r.key, end) >= 0 {
				return candidate{}, false
			}
			if col.Get != nil {
				return candidate{name: o.oid.Append(r.key...), row: r, compute: col.Get}, true
			}
			if v, ok := r.Get(col.ID); ok {
				return candidate{name: o.oid.Append(r.key...), value: v}, true
			}
		}
	}
	return candidate{}, false
}

// compareJoined compares the OID a followed by b with c, without building it.
func compareJoined(a, b, c agentx.OID) int {
	if len(c) <= len(a) {
		if r := a[:len(c)].Compare(c); r != 0 || len(c) == len(a) && len(b) == 0 {
			return r
		}
		return 1
	}
	if r := a.Compare(c[:len(a)]); r != 0 {
		return r
	}
	return b.Compare(c[len(a):])
}

// Row returns the row with that index.
func (g *Group) Row(t *Table, index ...agentx.Value) (*Row, bool) {
	key, err := encodeIndex(t.Index, index)
	if err != nil || len(index) != len(t.Index) {
		return nil, false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	r := t.lookup(key)
	return r, r != nil
}

// Rows returns the rows whose index starts with prefix (all rows when no
// prefix is given), in index order. The slice is a snapshot; the rows are
// immutable.
func (g *Group) Rows(t *Table, prefix ...agentx.Value) []*Row {
	key, err := encodeIndex(t.Index, prefix)
	if err != nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.Clone(t.prefixRange(key))
}

// Len returns the number of rows of t.
func (g *Group) Len(t *Table) int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(t.rows)
}

// DeleteRow removes a row on the engine's behalf (e.g. an intercept timed
// out); it reports whether the row existed.
func (g *Group) DeleteRow(t *Table, index []agentx.Value) bool {
	key, err := encodeIndex(t.Index, index)
	if err != nil || len(index) != len(t.Index) || t.group != g {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !t.remove(key) {
		return false
	}
	g.version++
	return true
}

// PutRow creates or replaces a row on the engine's behalf (rows the engine
// owns, such as a debug table). values are by column ID and must fit their
// syntax; status must be 0 for tables without a status column, else
// Active, NotInService or NotReady (Active needs every Required column).
// Defaults fill absent columns; a replaced row keeps its Data.
func (g *Group) PutRow(t *Table, index []agentx.Value, values map[uint32]agentx.Value, status RowStatus) error {
	if t.group != g {
		return fmt.Errorf("put row: table %s is not in this group", t.Name)
	}
	if len(index) != len(t.Index) {
		return fmt.Errorf("put row in %s: index has %d values, want %d", t.Name, len(index), len(t.Index))
	}
	key, err := t.EncodeIndex(index...)
	if err != nil {
		return fmt.Errorf("put row: %w", err)
	}
	switch {
	case t.Status == 0 && status != 0:
		return fmt.Errorf("put row in %s: table has no status column", t.Name)
	case t.Status != 0 && (status < Active || status > NotReady):
		return fmt.Errorf("put row in %s: status %s is not a row state", t.Name, status)
	}
	r := t.newRow(cloneValues(index), key)
	r.Status = status
	for id, v := range values {
		c, ok := t.column(id)
		if !ok || id == t.Status || c.Get != nil {
			return fmt.Errorf("put row in %s: column %d is not a stored column", t.Name, id)
		}
		if st := c.Syntax.Validate(v); st != agentx.NoError {
			return fmt.Errorf("put row in %s: column %s: value %v: %s", t.Name, c.Name, v, st)
		}
		r.vals[t.colPos[id]] = v.Clone()
	}
	if missing := r.missingRequired(); status == Active && missing != 0 {
		return fmt.Errorf("put row in %s: active row lacks required column %d", t.Name, missing)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if old := t.lookup(key); old != nil {
		r.data = old.data
	}
	t.put(r)
	g.version++
	return nil
}

func cloneValues(vals []agentx.Value) []agentx.Value {
	out := make([]agentx.Value, len(vals))
	for i, v := range vals {
		out[i] = v.Clone()
	}
	return out
}

// Tables lists the group's tables in declaration order.
func (g *Group) Tables() []*Table { return append([]*Table(nil), g.tables...) }

// Scalars lists the group's scalars in declaration order.
func (g *Group) Scalars() []*Scalar { return append([]*Scalar(nil), g.scalars...) }
