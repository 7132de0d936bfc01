package table

import (
	"testing"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

func TestSet(t *testing.T) {
	const (
		p1 = "p.1 active 2=p1 3=1 4=60 7=1"
		c1 = "c.1.1 active 2=c8fb26a55598 3=00 5=2"
	)
	withParent := func(y *toy, tb testing.TB) { y.addParent(tb, 1) }
	withChild := func(y *toy, tb testing.TB) { y.addParent(tb, 1); y.addChild(tb, 1, 1) }
	withNotReady := func(y *toy, tb testing.TB) {
		y.mustSet(tb, vbs(pOID(pStatus, 1), status(CreateAndWait)))
	}
	withNotInService := func(y *toy, tb testing.TB) {
		y.mustSet(tb, vbs(pOID(pStatus, 1), status(CreateAndWait), pOID(pName, 1), str("p1")))
	}
	withLimit1 := func(y *toy, tb testing.TB) {
		y.addParent(tb, 1)
		y.mustSet(tb, vbs(limitOID.Append(0), integer(1)))
	}
	tests := []struct {
		name    string
		setup   func(*toy, testing.TB)
		pdu     []agent.SetVarBind
		wantErr agentx.ErrorStatus
		wantIdx int
		want    string // rows after a successful SET
	}{
		// RowStatus: creation.
		{name: "createAndGo, values after status",
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("p1")),
			want: p1},
		{name: "createAndGo, values before status",
			pdu:  vbs(pOID(pName, 1), str("p1"), pOID(pMode, 1), integer(3), pOID(pStatus, 1), status(CreateAndGo)),
			want: "p.1 active 2=p1 3=3 4=60 7=1"},
		{name: "createAndGo without a required column",
			pdu:     vbs(pOID(pMode, 1), integer(2), pOID(pStatus, 1), status(CreateAndGo)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "createAndWait without a required column is notReady",
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndWait)),
			want: "p.1 notReady 3=1 4=60 7=1"},
		{name: "createAndWait complete is notInService",
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndWait), pOID(pName, 1), str("p1")),
			want: "p.1 notInService 2=p1 3=1 4=60 7=1"},
		{name: "createAndGo on an existing row", setup: withParent,
			pdu:     vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("x")),
			wantErr: agentx.InconsistentValue, wantIdx: 1},
		{name: "createAndGo activates an existing row where the table allows it (Cisco TAP style)",
			setup: func(y *toy, tb testing.TB) {
				y.addParent(tb, 1)
				y.mustSet(tb, vbs(cOID(cStatus, 1, 1), status(CreateAndWait), cOID(cMac, 1, 1), mac1, cOID(cEnable, 1, 1), integer(1)))
			},
			pdu:  vbs(cOID(cStatus, 1, 1), status(CreateAndGo)),
			want: p1 + "\nc.1.1 active 2=c8fb26a55598 3=00 5=1"},
		{name: "createAndGo on an existing incomplete row that the table lets activate",
			setup: func(y *toy, tb testing.TB) {
				y.addParent(tb, 1)
				y.mustSet(tb, vbs(cOID(cStatus, 1, 1), status(CreateAndWait)))
			},
			pdu:     vbs(cOID(cStatus, 1, 1), status(CreateAndGo)),
			wantErr: agentx.InconsistentValue, wantIdx: 1},
		{name: "createAndWait on an existing row", setup: withParent,
			pdu:     vbs(pOID(pStatus, 1), status(CreateAndWait)),
			wantErr: agentx.InconsistentValue, wantIdx: 1},
		{name: "defaults fill a created child",
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("p1"), cOID(cStatus, 1, 1), status(CreateAndGo), cOID(cMac, 1, 1), mac1),
			want: p1 + "\n" + c1},

		// RowStatus: other transitions.
		{name: "active on a row that does not exist",
			pdu:     vbs(pOID(pName, 1), str("p1"), pOID(pStatus, 1), status(Active)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "notInService on a row that does not exist",
			pdu:     vbs(pOID(pStatus, 1), status(NotInService)),
			wantErr: agentx.InconsistentValue, wantIdx: 1},
		{name: "notReady cannot be written",
			pdu:     vbs(pOID(pStatus, 1), status(NotReady)),
			wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "status 7 is no RowStatus", setup: withParent,
			pdu:     vbs(pOID(pStatus, 1), integer(7)),
			wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "active on notReady without the missing column", setup: withNotReady,
			pdu:     vbs(pOID(pMode, 1), integer(2), pOID(pStatus, 1), status(Active)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "active on notReady with the missing column in the PDU", setup: withNotReady,
			pdu:  vbs(pOID(pStatus, 1), status(Active), pOID(pName, 1), str("p1")),
			want: p1},
		{name: "notInService on notReady without the missing column", setup: withNotReady,
			pdu:     vbs(pOID(pStatus, 1), status(NotInService)),
			wantErr: agentx.InconsistentValue, wantIdx: 1},
		{name: "notReady row completed by a column becomes notInService", setup: withNotReady,
			pdu:  vbs(pOID(pName, 1), str("p1")),
			want: "p.1 notInService 2=p1 3=1 4=60 7=1"},
		{name: "notInService to active", setup: withNotInService,
			pdu:  vbs(pOID(pStatus, 1), status(Active)),
			want: p1},
		{name: "active to notInService", setup: withParent,
			pdu:  vbs(pOID(pStatus, 1), status(NotInService)),
			want: "p.1 notInService 2=p1 3=1 4=60 7=1"},
		{name: "destroy of a row that does not exist is not an error",
			pdu:  vbs(pOID(pStatus, 5), status(Destroy)),
			want: ""},
		{name: "destroy", setup: withParent,
			pdu:  vbs(pOID(pStatus, 1), status(Destroy)),
			want: ""},
		{name: "destroy and createAndGo of different rows at limit 1", setup: withLimit1,
			pdu:  vbs(pOID(pStatus, 1), status(Destroy), pOID(pStatus, 2), status(CreateAndGo), pOID(pName, 2), str("p2")),
			want: "p.2 active 2=p2 3=1 4=60 7=1"},
		{name: "createAndGo beyond the limit", setup: withLimit1,
			pdu:     vbs(pOID(pName, 2), str("p2"), pOID(pStatus, 2), status(CreateAndGo)),
			wantErr: agentx.ResourceUnavailable, wantIdx: 2},
		{name: "destroy then createAndGo of the same row: the last value wins (row exists)",
			setup: func(y *toy, tb testing.TB) {
				y.mustSet(tb, vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("old"), pOID(pMode, 1), integer(3)))
			},
			pdu:     vbs(pOID(pStatus, 1), status(Destroy), pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("new")),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "createAndGo then destroy of the same row: destroy wins", setup: withParent,
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pStatus, 1), status(Destroy)),
			want: ""},
		{name: "createAndGo then destroy of a new row creates nothing",
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("p1"), pOID(pStatus, 1), status(Destroy)),
			want: ""},
		{name: "same column twice: the last value wins",
			pdu:  vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("first"), pOID(pName, 1), str("p1")),
			want: p1},

		// Columns of rows.
		{name: "column of a row that does not exist and is not created",
			pdu:     vbs(pOID(pTimeout, 1), agentx.Gauge32(5)),
			wantErr: agentx.InconsistentName, wantIdx: 1},
		{name: "immutable column of an active row", setup: withParent,
			pdu:     vbs(pOID(pTimeout, 1), agentx.Gauge32(5), pOID(pMode, 1), integer(2)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "immutable column of an active row, same value", setup: withParent,
			pdu:  vbs(pOID(pMode, 1), integer(1)),
			want: p1},
		{name: "immutable column with active restated", setup: withParent,
			pdu:     vbs(pOID(pStatus, 1), status(Active), pOID(pMode, 1), integer(2)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "mutable column of an active row", setup: withParent,
			pdu:  vbs(pOID(pTimeout, 1), agentx.Gauge32(5)),
			want: "p.1 active 2=p1 3=1 4=5 7=1"},
		{name: "immutable column with notInService in the same PDU", setup: withParent,
			pdu:  vbs(pOID(pMode, 1), integer(2), pOID(pStatus, 1), status(NotInService)),
			want: "p.1 notInService 2=p1 3=2 4=60 7=1"},
		{name: "column change and activation of a notInService row", setup: withNotInService,
			pdu:  vbs(pOID(pMode, 1), integer(3), pOID(pStatus, 1), status(Active)),
			want: "p.1 active 2=p1 3=3 4=60 7=1"},

		// Value checks, RFC 3416 order.
		{name: "wrong type", pdu: vbs(pOID(pName, 1), integer(1)), wantErr: agentx.WrongType, wantIdx: 1},
		{name: "status as a string", pdu: vbs(pOID(pStatus, 1), str("x")), wantErr: agentx.WrongType, wantIdx: 1},
		{name: "string too long", pdu: vbs(pOID(pName, 1), str("012345678901234567890123456789012")),
			wantErr: agentx.WrongLength, wantIdx: 1},
		{name: "MAC of 5 octets", pdu: vbs(cOID(cMac, 1, 1), agentx.OctetString([]byte{1, 2, 3, 4, 5})),
			wantErr: agentx.WrongLength, wantIdx: 1},
		{name: "not an enum", pdu: vbs(pOID(pMode, 1), integer(4)), wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "unsigned out of range", pdu: vbs(pOID(pTimeout, 1), agentx.Gauge32(3601)),
			wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "DisplayString control character", pdu: vbs(pOID(pName, 1), str("a\x01")),
			wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "undefined BIT", pdu: vbs(cOID(cFields, 1, 1), agentx.OctetString([]byte{0x01})),
			wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "BITS too long", pdu: vbs(cOID(cFields, 1, 1), agentx.OctetString([]byte{0x80, 0})),
			wantErr: agentx.WrongLength, wantIdx: 1},
		{name: "DateAndTime month 13", pdu: vbs(cOID(cWhen, 1, 1), agentx.OctetString([]byte{7, 232, 13, 1, 0, 0, 0, 0})),
			wantErr: agentx.WrongValue, wantIdx: 1},
		{name: "DateAndTime of 9 octets", pdu: vbs(cOID(cWhen, 1, 1), agentx.OctetString(make([]byte, 9))),
			wantErr: agentx.WrongLength, wantIdx: 1},
		{name: "InetAddressType 5", pdu: vbs(pOID(pAddrType, 1), integer(5)), wantErr: agentx.WrongValue, wantIdx: 1},

		// Objects that cannot be written, and malformed names.
		{name: "read-only computed column", pdu: vbs(pOID(pPackets, 1), agentx.Counter32(1)),
			wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "read-only stored column", setup: withChild, pdu: vbs(cOID(cOwner, 1, 1), str("x")),
			wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "not-accessible index column", pdu: vbs(pOID(pID, 1), integer(1)),
			wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "accessible-for-notify column", pdu: vbs(pOID(pNotify, 1), str("x")),
			wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "unknown column", pdu: vbs(pOID(99, 1), integer(1)), wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "no object at all", pdu: vbs(toyBase.Append(9, 0), integer(1)), wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "read-only scalar", pdu: vbs(newIndexOID.Append(0), integer(1)), wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "read-only beats wrong type", pdu: vbs(pOID(pPackets, 1), str("x")),
			wantErr: agentx.NotWritable, wantIdx: 1},
		{name: "index out of range", pdu: vbs(pOID(pStatus, 1001), status(CreateAndGo)),
			wantErr: agentx.NoCreation, wantIdx: 1},
		{name: "index 0", pdu: vbs(cOID(cStatus, 1, 0), status(CreateAndGo)), wantErr: agentx.NoCreation, wantIdx: 1},
		{name: "index missing", pdu: vbs(parentEntry.Append(pStatus), status(CreateAndGo)),
			wantErr: agentx.NoCreation, wantIdx: 1},
		{name: "index too long", pdu: vbs(pOID(pStatus, 1).Append(1), status(CreateAndGo)),
			wantErr: agentx.NoCreation, wantIdx: 1},
		{name: "scalar instance other than .0", pdu: vbs(limitOID.Append(1), integer(1)),
			wantErr: agentx.NoCreation, wantIdx: 1},
		{name: "wrong type beats malformed index", pdu: vbs(pOID(pName, 1001), integer(1)),
			wantErr: agentx.WrongType, wantIdx: 1},
		{name: "first failing varbind in PDU order",
			pdu:     vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), integer(1), pOID(pPackets, 1), agentx.Counter32(1)),
			wantErr: agentx.WrongType, wantIdx: 2},
		{name: "value checks come before state checks",
			pdu:     vbs(pOID(pTimeout, 1), agentx.Gauge32(5), pOID(pMode, 2), integer(9)),
			wantErr: agentx.WrongValue, wantIdx: 2},

		// Check hook: post-PDU state and varbind mapping.
		{name: "child under a missing parent: on the child's status",
			pdu:     vbs(cOID(cMac, 1, 1), mac1, cOID(cStatus, 1, 1), status(CreateAndGo)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "child created before its parent in one PDU",
			pdu:  vbs(cOID(cStatus, 1, 1), status(CreateAndGo), cOID(cMac, 1, 1), mac1, pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("p1")),
			want: p1 + "\n" + c1},
		{name: "parent destroy while a child exists", setup: withChild,
			pdu:     vbs(pOID(pStatus, 1), status(Destroy)),
			wantErr: agentx.InconsistentValue, wantIdx: 1},
		{name: "parent notInService while a child exists", setup: withChild,
			pdu:     vbs(pOID(pTimeout, 1), agentx.Gauge32(1), pOID(pStatus, 1), status(NotInService)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "parent and child destroyed together", setup: withChild,
			pdu:  vbs(pOID(pStatus, 1), status(Destroy), cOID(cStatus, 1, 1), status(Destroy)),
			want: ""},
		{name: "address does not fit its type: on the address",
			pdu: vbs(pOID(pStatus, 1), status(CreateAndGo), pOID(pName, 1), str("p1"),
				pOID(pAddrType, 1), integer(InetIPv6), pOID(pAddr, 1), agentx.OctetString([]byte{192, 0, 2, 1})),
			wantErr: agentx.InconsistentValue, wantIdx: 4},
		{name: "address checked against the stored type", setup: withParent,
			pdu:     vbs(pOID(pTimeout, 1), agentx.Gauge32(1), pOID(pAddr, 1), agentx.OctetString(make([]byte, 16))),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "limit below the row count: on the scalar", setup: withChild,
			pdu:     vbs(pOID(pTimeout, 1), agentx.Gauge32(1), limitOID.Append(0), integer(0)),
			wantErr: agentx.InconsistentValue, wantIdx: 2},
		{name: "scalar and row in one PDU", setup: withParent,
			pdu:  vbs(limitOID.Append(0), integer(1), pOID(pTimeout, 1), agentx.Gauge32(9)),
			want: "p.1 active 2=p1 3=1 4=9 7=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := newToy(t)
			if tc.setup != nil {
				tc.setup(y, t)
			}
			before := y.dump()
			serr := y.set(tc.pdu)
			if tc.wantErr != agentx.NoError {
				if serr == nil {
					t.Fatalf("SET succeeded, want %s on %d; rows:\n%s", tc.wantErr, tc.wantIdx, y.dump())
				}
				if serr.Status != tc.wantErr || serr.Index != tc.wantIdx {
					t.Fatalf("SET = %v, want %s on varbind %d", serr, tc.wantErr, tc.wantIdx)
				}
				if after := y.dump(); after != before {
					t.Fatalf("failed SET changed rows:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				return
			}
			if serr != nil {
				t.Fatalf("SET = %v, want success", serr)
			}
			if got := y.dump(); got != tc.want {
				t.Fatalf("rows:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestSetScalar(t *testing.T) {
	y := newToy(t)
	y.mustSet(t, vbs(limitOID.Append(0), integer(7), limitOID.Append(0), integer(5)))
	if got := y.g.Get(limitOID.Append(0)); !got.Equal(integer(5)) {
		t.Fatalf("limit = %v, want 5 (last of two varbinds)", got)
	}
}

func TestSetTableWithoutStatus(t *testing.T) {
	tbl := &Table{Name: "ifTable", Entry: agentx.MustParseOID("1.3.6.1.4.1.99999.7.1"),
		Index: []IndexPart{{Name: "ifIndex", Syntax: InterfaceIndex(), Column: 1}},
		Columns: []Column{
			{ID: 1, Name: "ifIndex", Syntax: InterfaceIndex(), Access: ReadOnly},
			{ID: 2, Name: "ifAlias", Syntax: DisplayString(0, 64), Access: ReadWrite},
		}}
	g := NewGroup(nil, []*Table{tbl}, nil, Hooks{})
	if err := g.PutRow(tbl, []agentx.Value{integer(3)}, nil, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		oid     agentx.OID
		wantErr agentx.ErrorStatus
	}{
		{"existing row", tbl.Entry.Append(2, 3), agentx.NoError},
		{"rows are not created by SET", tbl.Entry.Append(2, 4), agentx.NoCreation},
		{"readable index column", tbl.Entry.Append(1, 3), agentx.NotWritable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, serr := g.TestSet(vbs(tc.oid, str("uplink")))
			if tc.wantErr != agentx.NoError {
				if serr == nil || serr.Status != tc.wantErr {
					t.Fatalf("TestSet = %v, want %s", serr, tc.wantErr)
				}
				return
			}
			if serr != nil {
				t.Fatal(serr)
			}
			if serr := tx.Commit(); serr != nil {
				t.Fatal(serr)
			}
			tx.Cleanup()
			if got := g.Get(tc.oid); !got.Equal(str("uplink")) {
				t.Fatalf("after SET %s = %v", tc.oid, got)
			}
			if got := g.Get(tbl.Entry.Append(1, 3)); !got.Equal(integer(3)) {
				t.Fatalf("index column = %v, want 3", got)
			}
		})
	}
}
