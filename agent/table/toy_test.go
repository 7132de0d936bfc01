package table

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

// The toy group: a parent table (index parentId, RowStatus), a child table
// indexed by (parentId, childId) and three scalars, with hooks that mimic a
// binding: children need an active parent, a parent with children cannot
// be destroyed or taken out of service, the parent count is limited by a
// scalar, and the address must fit its type.

var (
	toyBase     = agentx.MustParseOID("1.3.6.1.4.1.99999.1")
	parentEntry = toyBase.Append(1, 1)
	childEntry  = toyBase.Append(2, 1)
	limitOID    = toyBase.Append(3)
	newIndexOID = toyBase.Append(4)
	notifyOID   = toyBase.Append(5)
)

// Parent columns.
const (
	pID       = 1
	pName     = 2
	pMode     = 3
	pTimeout  = 4
	pPackets  = 5
	pStatus   = 6
	pAddrType = 7
	pAddr     = 8
	pNotify   = 9
)

// Child columns.
const (
	cID     = 1
	cMac    = 2
	cFields = 3
	cWhen   = 4
	cEnable = 5
	cStatus = 6
	cOwner  = 7
)

func ptr(v agentx.Value) *agentx.Value { return &v }

type toy struct {
	g      *Group
	parent *Table
	child  *Table
	limit  *Scalar
	newIdx *Scalar

	mu        sync.Mutex
	limitVal  int64
	nextIndex int32
	packets   map[int64]uint32 // parentId → counter, as an engine would keep
	applied   []string         // log of Apply/Revert calls
	applyErr  error            // Apply fails with this
	revertErr error
	setErr    error // the limit scalar's Set fails with this
	checks    int   // Check calls
}

func newToy(tb testing.TB) *toy {
	tb.Helper()
	y := &toy{limitVal: 100, nextIndex: 1, packets: map[int64]uint32{}}
	y.parent = &Table{
		Name:  "parentTable",
		Entry: parentEntry,
		Index: []IndexPart{{Name: "parentId", Syntax: Integer32(1, 1000)}},
		Columns: []Column{
			{ID: pID, Name: "parentId", Syntax: Integer32(1, 1000), Access: NotAccessible},
			{ID: pName, Name: "parentName", Syntax: DisplayString(0, 32), Access: ReadCreate, Required: true},
			{ID: pMode, Name: "parentMode", Syntax: Enum(1, 2, 3), Access: ReadCreate, Default: ptr(agentx.Integer(1))},
			{ID: pTimeout, Name: "parentTimeout", Syntax: Unsigned32(0, 3600), Access: ReadCreate,
				Default: ptr(agentx.Gauge32(60)), MutableWhenActive: true},
			{ID: pPackets, Name: "parentPackets", Syntax: Counter32(), Access: ReadOnly, Get: y.packetCount},
			{ID: pStatus, Name: "parentStatus", Access: ReadCreate},
			{ID: pAddrType, Name: "parentAddrType", Syntax: InetAddressType(), Access: ReadCreate,
				Default: ptr(agentx.Integer(InetIPv4))},
			{ID: pAddr, Name: "parentAddr", Syntax: InetAddress(), Access: ReadCreate},
			{ID: pNotify, Name: "parentNotify", Syntax: OctetString(0, 8), Access: AccessibleForNotify},
		},
		Status: pStatus,
	}
	y.child = &Table{
		Name:  "childTable",
		Entry: childEntry,
		Index: []IndexPart{
			{Name: "parentId", Syntax: Integer32(1, 1000)},
			{Name: "childId", Syntax: Integer32(1, 100)},
		},
		Columns: []Column{
			{ID: cID, Name: "childId", Syntax: Integer32(1, 100), Access: NotAccessible},
			{ID: cMac, Name: "childMac", Syntax: MacAddress(), Access: ReadCreate, Required: true},
			{ID: cFields, Name: "childFields", Syntax: Bits(7), Access: ReadCreate, Default: ptr(agentx.OctetString([]byte{0}))},
			{ID: cWhen, Name: "childWhen", Syntax: DateAndTime(), Access: ReadCreate},
			{ID: cEnable, Name: "childEnable", Syntax: TruthValue(), Access: ReadCreate,
				Default: ptr(agentx.Integer(2)), MutableWhenActive: true},
			{ID: cStatus, Name: "childStatus", Access: ReadCreate},
			{ID: cOwner, Name: "childOwner", Syntax: DisplayString(0, 16), Access: ReadOnly},
		},
		Status:               cStatus,
		CreateAndGoActivates: true,
	}
	y.limit = &Scalar{Name: "limit", OID: limitOID, Syntax: Integer32(0, 100), Access: ReadWrite,
		Get: func() agentx.Value {
			y.mu.Lock()
			defer y.mu.Unlock()
			return agentx.Integer(int32(y.limitVal))
		},
		Set: func(v agentx.Value) error {
			y.mu.Lock()
			defer y.mu.Unlock()
			if y.setErr != nil {
				return y.setErr
			}
			y.limitVal = v.Int
			return nil
		},
	}
	y.newIdx = &Scalar{Name: "newIndex", OID: newIndexOID, Syntax: Integer32(1, 1000), Access: ReadOnly,
		Get: func() agentx.Value {
			y.mu.Lock()
			defer y.mu.Unlock()
			y.nextIndex++
			return agentx.Integer(y.nextIndex - 1)
		},
	}
	notify := &Scalar{Name: "notifyOnly", OID: notifyOID, Syntax: Integer32(0, 10), Access: AccessibleForNotify}
	y.g = NewGroup(nil, []*Table{y.parent, y.child}, []*Scalar{y.limit, y.newIdx, notify},
		Hooks{Check: y.check, Apply: y.apply, Revert: y.revert})
	return y
}

func (y *toy) packetCount(r *Row) agentx.Value {
	y.mu.Lock()
	defer y.mu.Unlock()
	n, ok := y.packets[r.Index[0].Int]
	if !ok {
		return agentx.NoSuchInstance()
	}
	return agentx.Counter32(n)
}

func (y *toy) check(tx *Tx) error {
	y.mu.Lock()
	y.checks++
	y.mu.Unlock()
	for _, ch := range tx.Changes {
		switch ch.Table {
		case y.child:
			if r := ch.New; r != nil && r.Status == Active {
				if p, ok := tx.Lookup(y.parent, r.Index[0]); !ok || p.Status != Active {
					return Reject(r, 0, errors.New("parent is not active"))
				}
			}
		case y.parent:
			if r := ch.New; r == nil || r.Status != Active {
				if len(tx.Rows(y.child, ch.Index[0])) > 0 {
					return &CheckError{Table: y.parent, Index: ch.Index, Column: pStatus,
						Err: errors.New("children exist")}
				}
			}
			if r := ch.New; r != nil {
				if a, ok := r.Get(pAddr); ok && !InetAddressFits(r.Int(pAddrType), a.Bytes) {
					return Reject(r, pAddr, errors.New("address does not fit type"))
				}
			}
		}
	}
	if n := tx.Len(y.parent); int64(n) > tx.ScalarValue(y.limit).Int {
		for _, ch := range tx.Changes {
			if ch.Table == y.parent && ch.Created() {
				return &CheckError{Status: agentx.ResourceUnavailable, Table: y.parent, Index: ch.Index,
					Err: fmt.Errorf("%d parents exceed the limit", n)}
			}
		}
		return &CheckError{Scalar: y.limit, Err: errors.New("limit below the parent count")}
	}
	return nil
}

func (y *toy) apply(tx *Tx) error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.applyErr != nil {
		return y.applyErr
	}
	y.applied = append(y.applied, "apply "+describe(tx))
	for _, ch := range tx.Changes {
		if ch.Table == y.parent && ch.New != nil {
			ch.New.SetData("engine-" + ch.New.Key().String())
		}
	}
	return nil
}

func (y *toy) revert(tx *Tx) error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.revertErr != nil {
		return y.revertErr
	}
	y.applied = append(y.applied, "revert "+describe(tx))
	return nil
}

func describe(tx *Tx) string {
	var parts []string
	for _, ch := range tx.Changes {
		state := "gone"
		if ch.New != nil {
			state = ch.New.Status.String()
		}
		parts = append(parts, fmt.Sprintf("%s%s=%s", ch.Table.Name[:1], keyOf(ch.Table, ch.Index), state))
	}
	for _, sc := range tx.Scalars {
		parts = append(parts, fmt.Sprintf("%s=%d", sc.Scalar.Name, sc.New.Int))
	}
	return strings.Join(parts, " ")
}

// keyOf renders an index as dotted sub-identifiers.
func keyOf(t *Table, index []agentx.Value) string {
	k, err := t.EncodeIndex(index...)
	if err != nil {
		return "?"
	}
	return k.String()
}

// dump renders every row of the group in a compact form:
// "p.3 active 2=name 3=1 …" (table initial, index, status, column=value).
func (y *toy) dump() string {
	var lines []string
	for _, t := range []*Table{y.parent, y.child} {
		for _, r := range y.g.Rows(t) {
			line := fmt.Sprintf("%s.%s %s", t.Name[:1], r.Key(), r.Status)
			vals := r.Values()
			ids := make([]uint32, 0, len(vals))
			for id := range vals {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				line += fmt.Sprintf(" %d=%s", id, short(vals[id]))
			}
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

func short(v agentx.Value) string {
	switch v.Type {
	case agentx.TypeInteger:
		return fmt.Sprint(v.Int)
	case agentx.TypeGauge32, agentx.TypeCounter32, agentx.TypeTimeTicks, agentx.TypeCounter64:
		return fmt.Sprint(v.Uint)
	case agentx.TypeOctetString:
		for _, c := range v.Bytes {
			if c < 32 || c > 126 {
				return fmt.Sprintf("%x", v.Bytes)
			}
		}
		return string(v.Bytes)
	}
	return v.String()
}

// Varbind helpers.

func pOID(col uint32, id uint32) agentx.OID   { return parentEntry.Append(col, id) }
func cOID(col uint32, p, c uint32) agentx.OID { return childEntry.Append(col, p, c) }

func vbs(pairs ...any) []agent.SetVarBind {
	var out []agent.SetVarBind
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, agent.SetVarBind{Index: len(out) + 1,
			VarBind: agentx.VarBind{Name: pairs[i].(agentx.OID), Value: pairs[i+1].(agentx.Value)}})
	}
	return out
}

func integer(v int) agentx.Value { return agentx.Integer(int32(v)) }
func str(s string) agentx.Value  { return agentx.OctetString([]byte(s)) }
func status(s RowStatus) agentx.Value {
	return agentx.Integer(int32(s))
}

var mac1 = agentx.OctetString([]byte{0xc8, 0xfb, 0x26, 0xa5, 0x55, 0x98})

// set runs a whole successful SET cycle as snmpd does: TestSet, then
// CommitSet and CleanupSet, or CleanupSet alone after a TestSet error, or
// UndoSet alone after a CommitSet error.
func (y *toy) set(v []agent.SetVarBind) *agent.SetError {
	tx, serr := y.g.TestSet(v)
	if serr != nil {
		return serr
	}
	if serr := tx.Commit(); serr != nil {
		if uerr := tx.Undo(); uerr != nil {
			return uerr
		}
		return serr
	}
	tx.Cleanup()
	return nil
}

// mustSet fails the test unless the SET succeeds.
func (y *toy) mustSet(tb testing.TB, v []agent.SetVarBind) {
	tb.Helper()
	if serr := y.set(v); serr != nil {
		tb.Fatalf("setup SET failed: %v", serr)
	}
}

// addParent creates an active parent row.
func (y *toy) addParent(tb testing.TB, id uint32) {
	tb.Helper()
	y.mustSet(tb, vbs(pOID(pStatus, id), status(CreateAndGo), pOID(pName, id), str(fmt.Sprint("p", id))))
}

// addChild creates an active child row.
func (y *toy) addChild(tb testing.TB, p, c uint32) {
	tb.Helper()
	y.mustSet(tb, vbs(cOID(cStatus, p, c), status(CreateAndGo), cOID(cMac, p, c), mac1))
}
