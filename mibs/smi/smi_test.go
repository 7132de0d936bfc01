package smi

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"tapagent/agent/agentx"
)

const exampleRoot = "1.3.6.1.4.1.99999"

func loadFixtures(t *testing.T) *Tree {
	t.Helper()
	tree, err := Load(os.DirFS("testdata"), "base", "modules")
	if err != nil {
		t.Fatalf("Load fixtures: %v", err)
	}
	return tree
}

func TestLoadResolvesOIDsAndKinds(t *testing.T) {
	tree := loadFixtures(t)
	tests := []struct {
		name string
		oid  string
		kind Kind
	}{
		{"SNMPv2-SMI::zeroDotZero", "0.0", KindObjectIdentity},
		{"org", "1.3", KindNode},
		{"enterprises", "1.3.6.1.4.1", KindNode},
		{"exampleTapMIB", exampleRoot, KindModuleIdentity},
		{"exampleNotifs", exampleRoot + ".0", KindNode},
		{"exampleTimedOut", exampleRoot + ".0.2", KindNotification},
		{"exampleCount", exampleRoot + ".1.1", KindScalar},
		{"exampleStreamTable", exampleRoot + ".1.2", KindTable},
		{"exampleStreamEntry", exampleRoot + ".1.2.1", KindRow},
		{"exampleStreamStatus", exampleRoot + ".1.2.1.3", KindColumn},
		{"exampleStreamKind", exampleRoot + ".1.2.1.16", KindColumn},
		{"exampleStatsEntry", exampleRoot + ".1.3.1", KindRow},
		{"exampleStatsBytes", exampleRoot + ".1.3.1.1", KindColumn},
		{"exampleDebugText", exampleRoot + ".1.4", KindScalar},
		{"exampleKind", exampleRoot + ".1.8", KindObjectIdentity},
		{"exampleInline", exampleRoot + ".1.9", KindNode}, // value after a "-- … --" comment
		{"exampleMidLine", exampleRoot + ".7", KindNode},  // text between two comments
		{"exampleOldStyle", "1.3.6.1.4.99998", KindNode},  // iso(1) org(3) … form
		{"exampleGroup", exampleRoot + ".2.1", KindGroup},
		{"exampleNotifGroup", exampleRoot + ".2.2", KindGroup},
		{"exampleCompliance", exampleRoot + ".2.3", KindCompliance},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tree.Lookup(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.OID.String(); got != tc.oid {
				t.Errorf("OID = %s, want %s", got, tc.oid)
			}
			if o.Kind != tc.kind {
				t.Errorf("kind = %s, want %s", o.Kind, tc.kind)
			}
		})
	}
	// Words inside DESCRIPTION text and MACRO bodies define nothing.
	for _, name := range []string{"Syntax", "NamedBit", "value"} {
		if _, err := tree.Lookup(name); err == nil {
			t.Errorf("Lookup(%q) succeeded; text inside a MACRO body was read as a definition", name)
		}
	}
}

func TestObjectTypeDetails(t *testing.T) {
	tree := loadFixtures(t)
	tests := []struct {
		name   string
		base   BaseType
		tc     string
		tcMod  string
		hint   string
		enums  []NamedNumber
		bits   []NamedNumber
		ranges []Range
		sizes  []Range
		access string
		defval string
		units  string
	}{
		{name: "exampleCount", base: BaseCounter64, access: "read-only", units: "packets"},
		{name: "exampleStreamId", base: BaseInteger, tc: "ExampleIndex", tcMod: "EXAMPLE-TAP-MIB",
			hint: "d", ranges: []Range{{1, 2147483647}}, access: "not-accessible"},
		// A plain type assignment refines DisplayString: its SIZE wins, the hint is inherited.
		{name: "exampleStreamName", base: BaseOctetString, tc: "ExampleShortText",
			tcMod: "EXAMPLE-TAP-MIB", hint: "255a", sizes: []Range{{0, 32}}, access: "not-accessible"},
		{name: "exampleStreamStatus", base: BaseInteger, tc: "RowStatus", tcMod: "SNMPv2-TC",
			enums: []NamedNumber{{"active", 1}, {"notInService", 2}, {"notReady", 3},
				{"createAndGo", 4}, {"createAndWait", 5}, {"destroy", 6}}, access: "read-create"},
		{name: "exampleStreamFields", base: BaseBits, tc: "ExampleFields", tcMod: "EXAMPLE-TAP-MIB",
			bits:   []NamedNumber{{"interface", 0}, {"dstMac", 1}, {"srcMac", 2}, {"cmMacAddress", 6}},
			access: "read-create", defval: "{dstMac, srcMac}"},
		{name: "exampleStreamMac", base: BaseOctetString, tc: "MacAddress", tcMod: "SNMPv2-TC",
			hint: "1x:", sizes: []Range{{6, 6}}, access: "read-create", defval: "'000000000000'H"},
		{name: "exampleStreamPort", base: BaseInteger, ranges: []Range{{-2, -2}, {0, 65535}},
			access: "read-create", defval: "-2"},
		{name: "exampleStreamMode", base: BaseInteger,
			enums:  []NamedNumber{{"off", 0}, {"on", 1}, {"auto", -1}},
			access: "read-create", defval: "auto"},
		{name: "exampleStreamEnable", base: BaseInteger, tc: "TruthValue", tcMod: "SNMPv2-TC",
			enums: []NamedNumber{{"true", 1}, {"false", 2}}, access: "read-create", defval: "false"},
		{name: "exampleStreamAddr", base: BaseIPAddress, access: "read-create"},
		{name: "exampleStreamTime", base: BaseOctetString, tc: "DateAndTime", tcMod: "SNMPv2-TC",
			hint: "2d-1d-1d,1d:1d:1d.1d,1a1d:1d", sizes: []Range{{8, 8}, {11, 11}}, access: "read-create"},
		{name: "exampleStreamRate", base: BaseGauge32, ranges: []Range{{0, 1000}}, access: "read-only", units: "pps"},
		{name: "exampleStreamDrops", base: BaseCounter32, access: "read-only"},
		{name: "exampleStreamBits", base: BaseBits, bits: []NamedNumber{{"a", 0}, {"b", 1}, {"c", 9}},
			access: "read-create", defval: "{}"},
		{name: "exampleStreamVlan", base: BaseUnsigned32, ranges: []Range{{1, 4094}}, access: "read-create", defval: "1"},
		{name: "exampleStreamSince", base: BaseTimeTicks, tc: "TimeStamp", tcMod: "SNMPv2-TC", access: "read-only"},
		{name: "exampleStreamKind", base: BaseObjectIdentifier, access: "read-create", defval: "exampleKind"},
		{name: "exampleDebugText", base: BaseOctetString, tc: "DisplayString", tcMod: "SNMPv2-TC",
			hint: "255a", sizes: []Range{{0, 255}}, access: "accessible-for-notify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tree.Lookup(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			s := o.Syntax
			if s == nil {
				t.Fatal("no syntax")
			}
			if s.Base != tc.base || s.TC != tc.tc || s.TCModule != tc.tcMod || s.Hint != tc.hint {
				t.Errorf("syntax = %s/%q/%q/%q, want %s/%q/%q/%q", s.Base, s.TC, s.TCModule, s.Hint,
					tc.base, tc.tc, tc.tcMod, tc.hint)
			}
			if !slices.Equal(s.Enums, tc.enums) || !slices.Equal(s.Bits, tc.bits) {
				t.Errorf("enums/bits = %v/%v, want %v/%v", s.Enums, s.Bits, tc.enums, tc.bits)
			}
			if !slices.Equal(s.Ranges, tc.ranges) || !slices.Equal(s.Sizes, tc.sizes) {
				t.Errorf("ranges/sizes = %v/%v, want %v/%v", s.Ranges, s.Sizes, tc.ranges, tc.sizes)
			}
			if o.Access != tc.access || o.DefVal != tc.defval || o.Units != tc.units {
				t.Errorf("access/defval/units = %q/%q/%q, want %q/%q/%q", o.Access, o.DefVal, o.Units,
					tc.access, tc.defval, tc.units)
			}
			if o.Status != "current" {
				t.Errorf("status = %q", o.Status)
			}
		})
	}
}

func TestIndexAugmentsAndObjects(t *testing.T) {
	tree := loadFixtures(t)
	row, _ := tree.Lookup("exampleStreamEntry")
	if want := []string{"exampleStreamId", "exampleStreamName"}; !slices.Equal(row.Index, want) || !row.Implied {
		t.Errorf("stream row index = %v implied=%v, want %v implied", row.Index, row.Implied, want)
	}
	stats, _ := tree.Lookup("exampleStatsEntry")
	if stats.Augments != "exampleStreamEntry" || !slices.Equal(stats.Index, row.Index) || !stats.Implied {
		t.Errorf("augmenting row: augments=%q index=%v implied=%v", stats.Augments, stats.Index, stats.Implied)
	}
	table, _ := tree.Lookup("exampleStreamTable")
	if table.Syntax.Entry != "ExampleStreamEntry" {
		t.Errorf("table entry type = %q", table.Syntax.Entry)
	}
	n, _ := tree.Lookup("exampleTimedOut")
	if want := []string{"exampleStreamStatus", "exampleDebugText"}; !slices.Equal(n.Objects, want) {
		t.Errorf("notification objects = %v, want %v", n.Objects, want)
	}
	g, _ := tree.Lookup("exampleNotifGroup")
	if want := []string{"exampleTimedOut"}; !slices.Equal(g.Objects, want) {
		t.Errorf("notification group = %v, want %v", g.Objects, want)
	}
	status, _ := tree.Lookup("exampleStreamStatus")
	if !status.Writable() || table.Writable() {
		t.Errorf("Writable: status=%v table=%v", status.Writable(), table.Writable())
	}
	if v, ok := status.Syntax.EnumValue("destroy"); !ok || v != 6 {
		t.Errorf("EnumValue(destroy) = %d, %v", v, ok)
	}
	if name, ok := status.Syntax.EnumName(4); !ok || name != "createAndGo" {
		t.Errorf("EnumName(4) = %q, %v", name, ok)
	}
	fields, _ := tree.Lookup("exampleStreamFields")
	if name, ok := fields.Syntax.BitName(6); !ok || name != "cmMacAddress" {
		t.Errorf("BitName(6) = %q, %v", name, ok)
	}
}

func TestResolve(t *testing.T) {
	tree := loadFixtures(t)
	tests := []struct {
		in, object, oid, suffix string
	}{
		{"exampleStreamStatus", "exampleStreamStatus", exampleRoot + ".1.2.1.3", ""},
		{"exampleStreamStatus.1.2", "exampleStreamStatus", exampleRoot + ".1.2.1.3.1.2", "1.2"},
		{"EXAMPLE-TAP-MIB::exampleStreamStatus.1.2", "exampleStreamStatus", exampleRoot + ".1.2.1.3.1.2", "1.2"},
		{" exampleCount.0 ", "exampleCount", exampleRoot + ".1.1.0", "0"},
		{".1.3.6.1.4.1.99999.1.2.1.3.7.4294967295", "exampleStreamStatus", exampleRoot + ".1.2.1.3.7.4294967295", "7.4294967295"},
		{"1.3.6.1.4.1.99999.1.2.1.3", "exampleStreamStatus", exampleRoot + ".1.2.1.3", ""},
		{"1.3.6.1.4.1.42.1", "enterprises", "1.3.6.1.4.1.42.1", "42.1"},
		{"2.25.7", "", "2.25.7", "2.25.7"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			ref, err := tree.Resolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if ref.Object != nil {
				got = ref.Object.Name
			}
			if got != tc.object || ref.OID.String() != tc.oid || ref.Suffix.String() != tc.suffix {
				t.Errorf("Resolve = %q %s suffix %q, want %q %s suffix %q", got, ref.OID, ref.Suffix,
					tc.object, tc.oid, tc.suffix)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tree := loadFixtures(t)
	tests := []struct {
		in      string
		unknown bool // wraps ErrUnknownName
		want    string
	}{
		{"", false, "empty"},
		{"noSuchThing", true, `"noSuchThing"`},
		{"noSuchThing.1", true, `"noSuchThing"`},
		{"NO-SUCH-MIB::exampleCount", true, "module NO-SUCH-MIB is not loaded"},
		{"SNMPv2-TC::exampleCount", true, "does not define exampleCount"},
		{"exampleCount.x", false, "malformed instance suffix"},
		{"exampleCount.", false, "malformed instance suffix"},
		{"exampleCount.1..2", false, "malformed instance suffix"},
		{"1.3.6.x", false, "malformed numeric OID"},
		{".", false, "malformed numeric OID"},
		{"1.3.6.99999999999", false, "malformed numeric OID"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := tree.Resolve(tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnknownName) != tc.unknown || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want it to contain %q (unknown name: %v)", err, tc.want, tc.unknown)
			}
		})
	}
}

func TestFormatAndName(t *testing.T) {
	tree := loadFixtures(t)
	tests := []struct {
		oid, formatted, name, suffix string
	}{
		{exampleRoot + ".1.2.1.3.1.2", "exampleStreamStatus.1.2", "exampleStreamStatus", "1.2"},
		{exampleRoot + ".1.1", "exampleCount", "exampleCount", ""},
		{exampleRoot + ".0.2", "exampleTimedOut", "exampleTimedOut", ""},
		{exampleRoot + ".5.5", "exampleTapMIB.5.5", "exampleTapMIB", "5.5"},
		{"1.3", "org", "org", ""},
		{"1", "1", "", "1"},
		{"2.25.7", "2.25.7", "", "2.25.7"},
	}
	for _, tc := range tests {
		t.Run(tc.oid, func(t *testing.T) {
			oid := agentx.MustParseOID(tc.oid)
			if got := tree.Format(oid); got != tc.formatted {
				t.Errorf("Format = %q, want %q", got, tc.formatted)
			}
			name, suffix := tree.Name(oid)
			if name != tc.name || suffix.String() != tc.suffix {
				t.Errorf("Name = %q, %q; want %q, %q", name, suffix, tc.name, tc.suffix)
			}
		})
	}
}

func TestObjectsAreOrderedByOID(t *testing.T) {
	tree := loadFixtures(t)
	objs := tree.Objects()
	if len(objs) < 40 {
		t.Fatalf("only %d objects", len(objs))
	}
	for i := 1; i < len(objs); i++ {
		if objs[i-1].OID.Compare(objs[i].OID) > 0 {
			t.Fatalf("%s before %s", objs[i-1], objs[i])
		}
	}
	if got := tree.Modules(); !slices.Equal(got, []string{"SNMPv2-CONF", "SNMPv2-SMI", "SNMPv2-TC", "EXAMPLE-TAP-MIB"}) {
		t.Errorf("Modules = %v", got)
	}
}
