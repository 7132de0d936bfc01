package table

import (
	"math/rand"
	"testing"

	"tapagent/agent/agentx"
)

// readToy has parents 1 and 3 (3 has 42 packets), a notReady parent 2,
// children (1,1) and (1,2).
func readToy(t *testing.T) *toy {
	t.Helper()
	y := newToy(t)
	y.addParent(t, 3)
	y.addParent(t, 1)
	y.mustSet(t, vbs(pOID(pStatus, 2), status(CreateAndWait)))
	y.addChild(t, 1, 2)
	y.addChild(t, 1, 1)
	y.packets[3] = 42
	return y
}

func TestGet(t *testing.T) {
	y := readToy(t)
	tests := []struct {
		name string
		oid  agentx.OID
		want agentx.Value
	}{
		{"stored column", pOID(pName, 1), str("p1")},
		{"default", pOID(pTimeout, 3), agentx.Gauge32(60)},
		{"status column", pOID(pStatus, 2), status(NotReady)},
		{"child column", cOID(cMac, 1, 2), mac1},
		{"computed column", pOID(pPackets, 3), agentx.Counter32(42)},
		{"computed column without value", pOID(pPackets, 1), agentx.NoSuchInstance()},
		{"unset column of a notReady row", pOID(pName, 2), agentx.NoSuchInstance()},
		{"no such row", pOID(pName, 9), agentx.NoSuchInstance()},
		{"malformed index", pOID(pName, 1).Append(5), agentx.NoSuchInstance()},
		{"column without index", parentEntry.Append(pName), agentx.NoSuchInstance()},
		{"not-accessible column", pOID(pID, 1), agentx.NoSuchObject()},
		{"accessible-for-notify column", pOID(pNotify, 1), agentx.NoSuchObject()},
		{"unknown column", pOID(99, 1), agentx.NoSuchObject()},
		{"entry itself", parentEntry, agentx.NoSuchObject()},
		{"table itself", toyBase.Append(1), agentx.NoSuchObject()},
		{"outside every object", toyBase.Append(9, 0), agentx.NoSuchObject()},
		{"scalar", limitOID.Append(0), integer(100)},
		{"scalar without .0", limitOID, agentx.NoSuchInstance()},
		{"scalar .1", limitOID.Append(1), agentx.NoSuchInstance()},
		{"accessible-for-notify scalar", notifyOID.Append(0), agentx.NoSuchObject()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := y.g.Get(tc.oid); !got.Equal(tc.want) {
				t.Fatalf("Get(%s) = %v, want %v", tc.oid, got, tc.want)
			}
		})
	}
}

func TestGetNewIndexFreshOnEveryRead(t *testing.T) {
	y := newToy(t)
	a, b := y.g.Get(newIndexOID.Append(0)), y.g.Get(newIndexOID.Append(0))
	if a.Type != agentx.TypeInteger || a.Equal(b) {
		t.Fatalf("two reads gave %v and %v, want two different integers", a, b)
	}
}

func TestNext(t *testing.T) {
	y := readToy(t)
	tests := []struct {
		name    string
		start   agentx.OID
		include bool
		end     agentx.OID
		want    agentx.OID // nil: no instance
	}{
		{"from the group start", toyBase, false, nil, pOID(pName, 1)},
		{"skips the not-accessible first column", parentEntry.Append(pID), false, nil, pOID(pName, 1)},
		{"next row of a column", pOID(pName, 1), false, nil, pOID(pName, 3)},
		{"skips a row without the value", pOID(pName, 1).Append(0), false, nil, pOID(pName, 3)},
		{"include returns the start", pOID(pName, 3), true, nil, pOID(pName, 3)},
		{"include of a missing instance", pOID(pName, 2), true, nil, pOID(pName, 3)},
		{"last row goes to the next column", pOID(pName, 3), false, nil, pOID(pMode, 1)},
		{"notReady row has its defaults", pOID(pMode, 1), false, nil, pOID(pMode, 2)},
		{"computed column only where it has a value", pOID(pTimeout, 3), false, nil, pOID(pPackets, 3)},
		{"status column", pOID(pPackets, 3), false, nil, pOID(pStatus, 1)},
		{"skips the accessible-for-notify column", pOID(pAddrType, 3), false, nil, cOID(cMac, 1, 1)},
		{"into the child table", toyBase.Append(1, 2), false, nil, cOID(cMac, 1, 1)},
		{"child rows in index order", cOID(cMac, 1, 1), false, nil, cOID(cMac, 1, 2)},
		{"start between rows of two index parts", childEntry.Append(cMac, 1), false, nil, cOID(cMac, 1, 1)},
		{"start past a row", childEntry.Append(cMac, 1, 1, 7), false, nil, cOID(cMac, 1, 2)},
		{"child to scalar", cOID(cStatus, 1, 2), false, nil, limitOID.Append(0)},
		{"scalar to scalar", limitOID.Append(0), false, nil, newIndexOID.Append(0)},
		{"scalar include", limitOID.Append(0), true, nil, limitOID.Append(0)},
		{"from the scalar object", limitOID, false, nil, limitOID.Append(0)},
		{"past the last readable object", newIndexOID.Append(0), false, nil, nil},
		{"end excludes", pOID(pName, 1), false, pOID(pName, 3), nil},
		{"end after", pOID(pName, 1), false, pOID(pName, 3).Append(0), pOID(pName, 3)},
		{"end at a column", pOID(pName, 3), false, parentEntry.Append(pMode), nil},
		{"end in the middle of a column", pOID(pName, 3), false, pOID(pMode, 2), pOID(pMode, 1)},
		{"end at the instance of a scalar", cOID(cStatus, 1, 2), false, limitOID.Append(0), nil},
		{"start before everything", agentx.MustParseOID("1.3"), false, nil, pOID(pName, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vb, ok := y.g.Next(tc.start, tc.include, tc.end)
			if tc.want == nil {
				if ok {
					t.Fatalf("Next = %s, want nothing", vb.Name)
				}
				return
			}
			if !ok || !vb.Name.Equal(tc.want) {
				t.Fatalf("Next = %s (%v), want %s", vb.Name, ok, tc.want)
			}
			if want := y.g.Get(vb.Name); vb.Name.HasPrefix(parentEntry) && !want.Equal(vb.Value) {
				t.Fatalf("Next value %v, Get says %v", vb.Value, want)
			}
		})
	}
}

// TestWalkOrder walks the whole group and checks the names strictly grow
// and every name answers the same value to Get.
func TestWalkOrder(t *testing.T) {
	y := newToy(t)
	ids := rand.New(rand.NewSource(1)).Perm(200)
	for _, id := range ids {
		if err := y.g.PutRow(y.parent, []agentx.Value{integer(id + 1)},
			map[uint32]agentx.Value{pName: str("x")}, Active); err != nil {
			t.Fatal(err)
		}
	}
	var prev agentx.OID
	n := 0
	for start := toyBase; ; {
		vb, ok := y.g.Next(start, false, nil)
		if !ok {
			break
		}
		if prev != nil && vb.Name.Compare(prev) <= 0 {
			t.Fatalf("walk went from %s back to %s", prev, vb.Name)
		}
		if vb.Name.HasPrefix(parentEntry) {
			if got := y.g.Get(vb.Name); !got.Equal(vb.Value) {
				t.Fatalf("Get(%s) = %v, walk said %v", vb.Name, got, vb.Value)
			}
		}
		prev, start = vb.Name, vb.Name
		n++
	}
	// 200 rows × (name, mode, timeout, status, addrType) + limit + newIndex.
	if want := 200*5 + 2; n != want {
		t.Fatalf("walk returned %d instances, want %d", n, want)
	}
}

func TestReadAPI(t *testing.T) {
	y := readToy(t)
	if n := y.g.Len(y.parent); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	rows := y.g.Rows(y.child, integer(1))
	if len(rows) != 2 || rows[0].Key().String() != "1.1" || rows[1].Key().String() != "1.2" {
		t.Fatalf("Rows(child, 1) = %v", rows)
	}
	if rows := y.g.Rows(y.child, integer(2)); len(rows) != 0 {
		t.Fatalf("Rows(child, 2) has %d rows", len(rows))
	}
	r, ok := y.g.Row(y.parent, integer(1))
	if !ok || r.Status != Active || string(r.Bytes(pName)) != "p1" || r.Int(pMode) != 1 || r.Uint(pTimeout) != 60 {
		t.Fatalf("Row(parent, 1) = %+v, %v", r, ok)
	}
	if got := r.OID(pName); !got.Equal(pOID(pName, 1)) {
		t.Fatalf("OID = %s", got)
	}
	if got, err := y.child.InstanceOID(cMac, integer(1), integer(2)); err != nil || !got.Equal(cOID(cMac, 1, 2)) {
		t.Fatalf("InstanceOID = %s, %v", got, err)
	}
	if _, err := y.child.InstanceOID(cMac, integer(1)); err == nil {
		t.Fatal("InstanceOID with half an index succeeded")
	}
	if c, _ := y.g.Row(y.child, integer(1), integer(1)); c.Truth(cEnable) {
		t.Fatal("childEnable default false reads as true")
	}
	if _, ok := y.g.Row(y.parent, integer(7)); ok {
		t.Fatal("Row(parent, 7) exists")
	}
}

func TestEngineRows(t *testing.T) {
	y := newToy(t)
	tests := []struct {
		name   string
		table  *Table
		index  []agentx.Value
		values map[uint32]agentx.Value
		status RowStatus
		ok     bool
	}{
		{"active row", y.parent, []agentx.Value{integer(5)}, map[uint32]agentx.Value{pName: str("e")}, Active, true},
		{"notReady row without required", y.parent, []agentx.Value{integer(6)}, nil, NotReady, true},
		{"active row without required", y.parent, []agentx.Value{integer(7)}, nil, Active, false},
		{"status that is an action", y.parent, []agentx.Value{integer(8)}, map[uint32]agentx.Value{pName: str("e")}, CreateAndGo, false},
		{"bad index", y.parent, []agentx.Value{integer(0)}, map[uint32]agentx.Value{pName: str("e")}, Active, false},
		{"short index", y.child, []agentx.Value{integer(1)}, map[uint32]agentx.Value{cMac: mac1}, Active, false},
		{"bad value", y.parent, []agentx.Value{integer(9)}, map[uint32]agentx.Value{pName: integer(1)}, Active, false},
		{"computed column", y.parent, []agentx.Value{integer(9)}, map[uint32]agentx.Value{pName: str("e"), pPackets: agentx.Counter32(1)}, Active, false},
		{"unknown column", y.parent, []agentx.Value{integer(9)}, map[uint32]agentx.Value{pName: str("e"), 77: integer(1)}, Active, false},
		{"read-only column", y.child, []agentx.Value{integer(1), integer(1)}, map[uint32]agentx.Value{cMac: mac1, cOwner: str("eng")}, NotInService, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := y.g.PutRow(tc.table, tc.index, tc.values, tc.status)
			if (err == nil) != tc.ok {
				t.Fatalf("PutRow = %v, want ok=%v", err, tc.ok)
			}
			_, exists := y.g.Row(tc.table, tc.index...)
			if exists != tc.ok {
				t.Fatalf("row exists = %v after PutRow", exists)
			}
		})
	}
	if got := y.g.Get(cOID(cOwner, 1, 1)); !got.Equal(str("eng")) {
		t.Fatalf("engine-written read-only column = %v", got)
	}
	r, _ := y.g.Row(y.parent, integer(5))
	r.SetData("engine object")
	if err := y.g.PutRow(y.parent, r.Index, map[uint32]agentx.Value{pName: str("f")}, NotInService); err != nil {
		t.Fatal(err)
	}
	r2, _ := y.g.Row(y.parent, integer(5))
	if r2.Data() != "engine object" || r2.Status != NotInService || r2.Int(pMode) != 1 {
		t.Fatalf("replaced row: data %v status %s mode %d", r2.Data(), r2.Status, r2.Int(pMode))
	}
	if !y.g.DeleteRow(y.parent, []agentx.Value{integer(5)}) || y.g.DeleteRow(y.parent, []agentx.Value{integer(5)}) {
		t.Fatal("DeleteRow: want true once, then false")
	}
	if got := y.g.Get(pOID(pName, 5)); got.Type != agentx.TypeNoSuchInstance {
		t.Fatalf("deleted row reads %v", got)
	}
}

func TestCompareJoined(t *testing.T) {
	o := agentx.MustParseOID
	tests := []struct{ a, b, c string }{
		{"1.2", "3", "1.2.3"},
		{"1.2", "3", "1.2"},
		{"1.2", "", "1.2"},
		{"1.2", "3", "1"},
		{"1.2", "3", "1.3"},
		{"1.2", "3", "1.1.9"},
		{"1.2", "3.4", "1.2.3"},
		{"1.2", "3", "1.2.3.0"},
		{"1.2", "3", "1.2.4"},
		{"1.2", "3", "1.2.2.9"},
		{"1.2", "", "1.2.0"},
	}
	for _, tc := range tests {
		a, b, c := o(tc.a), o(tc.b), o(tc.c)
		if got, want := compareJoined(a, b, c), a.Append(b...).Compare(c); got != want {
			t.Errorf("compareJoined(%s, %s, %s) = %d, want %d", a, b, c, got, want)
		}
	}
}
