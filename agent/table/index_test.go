package table

import (
	"testing"

	"tapagent/agent/agentx"
)

func TestIndexRoundTrip(t *testing.T) {
	ip4 := agentx.OctetString([]byte{198, 18, 0, 1})
	tests := []struct {
		name  string
		parts []IndexPart
		vals  []agentx.Value
		want  string
	}{
		{"integer", []IndexPart{{Syntax: Integer32(0, 100)}}, []agentx.Value{integer(7)}, "7"},
		{"two integers", []IndexPart{{Syntax: Integer32(1, 9)}, {Syntax: Integer32(1, 9)}},
			[]agentx.Value{integer(1), integer(2)}, "1.2"},
		{"unsigned", []IndexPart{{Syntax: Unsigned32(0, 1<<32-1)}}, []agentx.Value{agentx.Gauge32(4000000000)}, "4000000000"},
		{"mac address: fixed, no length", []IndexPart{{Syntax: MacAddress()}}, []agentx.Value{mac1}, "200.251.38.165.85.152"},
		{"ifIndex, mac, vlan (port-security)",
			[]IndexPart{{Syntax: InterfaceIndex()}, {Syntax: MacAddress()}, {Syntax: Integer32(1, 4094)}},
			[]agentx.Value{integer(3), mac1, integer(10)}, "3.200.251.38.165.85.152.10"},
		{"variable octets: length first", []IndexPart{{Syntax: OctetString(0, 19)}, {Syntax: Integer32(0, 9)}},
			[]agentx.Value{str("ab"), integer(1)}, "2.97.98.1"},
		{"empty octets", []IndexPart{{Syntax: OctetString(0, 19)}}, []agentx.Value{str("")}, "0"},
		{"implied octets", []IndexPart{{Syntax: Integer32(0, 9)}, {Syntax: OctetString(1, 19), Implied: true}},
			[]agentx.Value{integer(1), str("rule1")}, "1.114.117.108.101.49"},
		{"inet address pair", []IndexPart{{Syntax: InetAddressType()}, {Syntax: InetAddress()}},
			[]agentx.Value{integer(InetIPv4), ip4}, "1.4.198.18.0.1"},
		{"ip address", []IndexPart{{Syntax: IpAddress()}}, []agentx.Value{agentx.IPAddress([4]byte{10, 0, 0, 1})}, "10.0.0.1"},
		{"oid", []IndexPart{{Syntax: ObjectIdentifier()}}, []agentx.Value{agentx.ObjectID(agentx.OID{1, 3, 6})}, "3.1.3.6"},
		{"implied oid", []IndexPart{{Syntax: ObjectIdentifier(), Implied: true}}, []agentx.Value{agentx.ObjectID(agentx.OID{1, 3})}, "1.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkIndexParts(tc.parts); err != nil {
				t.Fatal(err)
			}
			key, err := encodeIndex(tc.parts, tc.vals)
			if err != nil {
				t.Fatal(err)
			}
			if key.String() != tc.want {
				t.Fatalf("encoded %s, want %s", key, tc.want)
			}
			got, ok := decodeIndex(tc.parts, key)
			if !ok {
				t.Fatalf("decode of %s failed", key)
			}
			for i := range got {
				if !got[i].Equal(tc.vals[i]) {
					t.Fatalf("decoded %v, want %v", got, tc.vals)
				}
			}
		})
	}
}

func TestIndexMalformed(t *testing.T) {
	inet := []IndexPart{{Syntax: InetAddressType()}, {Syntax: InetAddress()}}
	tests := []struct {
		name   string
		parts  []IndexPart
		subids string
	}{
		{"empty", []IndexPart{{Syntax: Integer32(0, 9)}}, ""},
		{"out of range", []IndexPart{{Syntax: Integer32(0, 9)}}, "10"},
		{"beyond int32", []IndexPart{{Syntax: Integer32(0, 2147483647)}}, "2147483648"},
		{"trailing sub-identifier", []IndexPart{{Syntax: Integer32(0, 9)}}, "1.1"},
		{"mac too short", []IndexPart{{Syntax: MacAddress()}}, "1.2.3.4.5"},
		{"octet above 255", []IndexPart{{Syntax: MacAddress()}}, "1.2.3.4.5.256"},
		{"length beyond the OID", []IndexPart{{Syntax: OctetString(0, 19)}}, "3.97.98"},
		{"length beyond the size", []IndexPart{{Syntax: OctetString(0, 1)}}, "2.97.98"},
		{"ipv4 with 16 octets", inet, "1.16.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"},
		{"ipv6 with 4 octets", inet, "2.4.198.18.0.1"},
		{"unknown address type", inet, "7.0"},
		{"oid length too big", []IndexPart{{Syntax: ObjectIdentifier()}}, "4.1.3.6"},
		{"enum value", []IndexPart{{Syntax: Enum(1, 2)}}, "3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if vals, ok := decodeIndex(tc.parts, agentx.MustParseOID(tc.subids)); ok {
				t.Fatalf("decoded %q as %v, want malformed", tc.subids, vals)
			}
		})
	}
}

func TestIndexEncodeRejects(t *testing.T) {
	inet := []IndexPart{{Syntax: InetAddressType()}, {Syntax: InetAddress()}}
	tests := []struct {
		name  string
		parts []IndexPart
		vals  []agentx.Value
	}{
		{"wrong type", []IndexPart{{Syntax: Integer32(0, 9)}}, []agentx.Value{str("a")}},
		{"out of range", []IndexPart{{Syntax: Integer32(0, 9)}}, []agentx.Value{integer(10)}},
		{"too many values", []IndexPart{{Syntax: Integer32(0, 9)}}, []agentx.Value{integer(1), integer(2)}},
		{"address of the wrong length", inet, []agentx.Value{integer(InetIPv6), agentx.OctetString([]byte{1, 2, 3, 4})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if key, err := encodeIndex(tc.parts, tc.vals); err == nil {
				t.Fatalf("encoded %v as %s, want an error", tc.vals, key)
			}
		})
	}
}

func TestNewGroupRejects(t *testing.T) {
	entry := agentx.MustParseOID("1.3.6.1.4.1.99999.9.1")
	idx := []IndexPart{{Name: "i", Syntax: Integer32(1, 9)}}
	col := func(id uint32, a Access) Column { return Column{ID: id, Name: "c", Syntax: Integer32(0, 9), Access: a} }
	tests := []struct {
		name    string
		tables  []*Table
		scalars []*Scalar
	}{
		{"no index", []*Table{{Name: "t", Entry: entry, Columns: []Column{col(1, ReadOnly)}}}, nil},
		{"negative integer index", []*Table{{Name: "t", Entry: entry,
			Index: []IndexPart{{Name: "i", Syntax: Integer32(-1, 9)}}, Columns: []Column{col(1, ReadOnly)}}}, nil},
		{"implied not last", []*Table{{Name: "t", Entry: entry,
			Index:   []IndexPart{{Name: "s", Syntax: OctetString(0, 9), Implied: true}, idx[0]},
			Columns: []Column{col(1, ReadOnly)}}}, nil},
		{"implied fixed size", []*Table{{Name: "t", Entry: entry,
			Index: []IndexPart{{Name: "m", Syntax: MacAddress(), Implied: true}}, Columns: []Column{col(1, ReadOnly)}}}, nil},
		{"duplicate column", []*Table{{Name: "t", Entry: entry, Index: idx, Columns: []Column{col(1, ReadOnly), col(1, ReadOnly)}}}, nil},
		{"column without access", []*Table{{Name: "t", Entry: entry, Index: idx, Columns: []Column{col(1, 0)}}}, nil},
		{"column without syntax", []*Table{{Name: "t", Entry: entry, Index: idx, Columns: []Column{{ID: 1, Name: "c", Access: ReadOnly}}}}, nil},
		{"status column missing", []*Table{{Name: "t", Entry: entry, Index: idx, Columns: []Column{col(1, ReadOnly)}, Status: 2}}, nil},
		{"read-only status column", []*Table{{Name: "t", Entry: entry, Index: idx, Columns: []Column{col(1, ReadOnly)}, Status: 1}}, nil},
		{"default out of range", []*Table{{Name: "t", Entry: entry, Index: idx,
			Columns: []Column{{ID: 1, Name: "c", Syntax: Integer32(0, 9), Access: ReadCreate, Default: ptr(integer(10))}}}}, nil},
		{"writable computed column", []*Table{{Name: "t", Entry: entry, Index: idx,
			Columns: []Column{{ID: 1, Name: "c", Syntax: Counter32(), Access: ReadWrite, Get: func(*Row) agentx.Value { return agentx.Counter32(0) }}}}}, nil},
		{"required read-only column", []*Table{{Name: "t", Entry: entry, Index: idx,
			Columns: []Column{{ID: 1, Name: "c", Syntax: Integer32(0, 9), Access: ReadOnly, Required: true}}}}, nil},
		{"index column of another type", []*Table{{Name: "t", Entry: entry,
			Index:   []IndexPart{{Name: "i", Syntax: Integer32(1, 9), Column: 1}},
			Columns: []Column{{ID: 1, Name: "c", Syntax: OctetString(0, 9), Access: ReadOnly}}}}, nil},
		{"readable scalar without Get", nil, []*Scalar{{Name: "s", OID: entry, Syntax: Integer32(0, 1), Access: ReadOnly}}},
		{"writable scalar without Set", nil, []*Scalar{{Name: "s", OID: entry, Syntax: Integer32(0, 1), Access: ReadWrite,
			Get: func() agentx.Value { return integer(0) }}}},
		{"scalar inside a table", []*Table{{Name: "t", Entry: entry, Index: idx, Columns: []Column{col(1, ReadOnly)}}},
			[]*Scalar{{Name: "s", OID: entry.Append(1, 5), Syntax: Integer32(0, 1), Access: ReadOnly,
				Get: func() agentx.Value { return integer(0) }}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newGroup(nil, tc.tables, tc.scalars, Hooks{}); err == nil {
				t.Fatal("newGroup accepted a malformed declaration")
			}
		})
	}
	t.Run("table in two groups", func(t *testing.T) {
		tbl := &Table{Name: "t", Entry: entry, Index: idx, Columns: []Column{col(1, ReadOnly)}}
		NewGroup(nil, []*Table{tbl}, nil, Hooks{})
		defer func() {
			if recover() == nil {
				t.Fatal("NewGroup did not panic")
			}
		}()
		NewGroup(nil, []*Table{tbl}, nil, Hooks{})
	})
}

func TestSubtrees(t *testing.T) {
	y := newToy(t)
	got := y.g.Subtrees()
	want := []string{toyBase.Append(1).String(), toyBase.Append(2).String(),
		limitOID.String(), newIndexOID.String(), notifyOID.String()}
	if len(got) != len(want) {
		t.Fatalf("Subtrees = %v", got)
	}
	for i := range got {
		if got[i].String() != want[i] {
			t.Fatalf("Subtrees = %v, want %v", got, want)
		}
	}
	explicit := []agentx.OID{toyBase}
	tbl := &Table{Name: "t", Entry: toyBase.Append(1, 1), Index: []IndexPart{{Name: "i", Syntax: Integer32(1, 9)}},
		Columns: []Column{{ID: 2, Name: "c", Syntax: Integer32(0, 9), Access: ReadOnly}}}
	if g := NewGroup(explicit, []*Table{tbl}, nil, Hooks{}); len(g.Subtrees()) != 1 || !g.Subtrees()[0].Equal(toyBase) {
		t.Fatalf("explicit Subtrees = %v", g.Subtrees())
	}
}

func TestNotAccessibleColumnNeedsNoSyntax(t *testing.T) {
	tbl := &Table{Name: "t", Entry: agentx.MustParseOID("1.3.6.1.4.1.99999.8.1"),
		Index: []IndexPart{{Name: "i", Syntax: Integer32(1, 9), Column: 1}},
		Columns: []Column{{ID: 1, Name: "i", Access: NotAccessible},
			{ID: 2, Name: "v", Syntax: Integer32(0, 9), Access: ReadOnly}}}
	g, err := newGroup(nil, []*Table{tbl}, nil, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.PutRow(tbl, []agentx.Value{integer(4)}, map[uint32]agentx.Value{2: integer(5)}, 0); err != nil {
		t.Fatal(err)
	}
	if got := g.Get(tbl.Entry.Append(2, 4)); !got.Equal(integer(5)) {
		t.Fatalf("Get = %v", got)
	}
	if got := g.Get(tbl.Entry.Append(1, 4)); got.Type != agentx.TypeNoSuchObject {
		t.Fatalf("not-accessible index column reads %v", got)
	}
}
