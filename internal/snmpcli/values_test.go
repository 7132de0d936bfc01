package snmpcli

import (
	"bytes"
	"strings"
	"testing"

	"tapagent/agent/agentx"
	"tapagent/mibs"
	"tapagent/mibs/smi"
)

func testTree(t *testing.T) *smi.Tree {
	t.Helper()
	tree, err := mibs.Tree()
	if err != nil {
		t.Fatalf("load embedded MIB modules: %v", err)
	}
	return tree
}

func lookup(t *testing.T, tree *smi.Tree, name string) *smi.Object {
	t.Helper()
	o, err := tree.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestParseOctets(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
	}{
		// The seed's forms.
		{"07:E0:04:01:B:15:1A:0", []byte{0x07, 0xE0, 0x04, 0x01, 0x0B, 0x15, 0x1A, 0x00}},
		{"c8 fb 26 a5 55 98", []byte{0xc8, 0xfb, 0x26, 0xa5, 0x55, 0x98}},
		{"62", []byte{0x62}},
		{"0a:0a:00:35", []byte{10, 10, 0, 0x35}},
		// Other reasonable spellings.
		{"0a0a0035", []byte{10, 10, 0, 0x35}},
		{"0x0A0B", []byte{10, 11}},
		{"  c8\tfb  26 ", []byte{0xc8, 0xfb, 0x26}},
		{"a : b", []byte{10, 11}},
		{"F", nil}, // odd: error, below
		{"", []byte{}},
	}
	for _, tc := range tests {
		if tc.want == nil {
			continue
		}
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOctets(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got % x, want % x", got, tc.want)
			}
		})
	}
	bad := []struct{ in, want string }{
		{"623", "odd number of digits"},
		{"F", "odd number of digits"},
		{"0xABC", "odd number of digits"},
		{"zz", `"z" is not a hex digit`},
		{"0a:0g", `byte 2 "0g" is not hex`},
		{"0a::0b", `byte 2 is ""`},
		{"0a:0b:", `byte 3 is ""`},
		{"0a:123", `byte 2 is "123"`},
		{"c8 fb0 26", `byte 2 is "fb0"`},
		{"c8 x 26", `byte 2 "x" is not hex`},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			_, err := ParseOctets(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	tree := testTree(t)
	status := lookup(t, tree, "cTap2MediationStatus")
	port := lookup(t, tree, "cTap2MediationDestPort")
	tests := []struct {
		name   string
		obj    *smi.Object
		letter string
		text   string
		want   agentx.Value
	}{
		{"integer", port, "i", "42", agentx.Integer(42)},
		{"negative integer", port, "i", "-1", agentx.Integer(-1)},
		{"integer min", nil, "i", "-2147483648", agentx.Integer(-2147483648)},
		{"integer max", nil, "i", "2147483647", agentx.Integer(2147483647)},
		{"enum label", status, "i", "createAndWait", agentx.Integer(5)},
		{"enum label(n)", status, "i", "destroy(6)", agentx.Integer(6)},
		{"octets", nil, "o", "0a:0a:00:35", agentx.OctetString([]byte{10, 10, 0, 0x35})},
		{"empty octets", nil, "o", "", agentx.OctetString([]byte{})},
		{"string", nil, "s", "-not a flag-", agentx.OctetString([]byte("-not a flag-"))},
		{"gauge", port, "g", "63", agentx.Gauge32(63)},
		{"gauge max", nil, "g", "4294967295", agentx.Gauge32(4294967295)},
		{"counter", nil, "c", "7", agentx.Counter32(7)},
		{"timeticks", nil, "t", "100", agentx.TimeTicks(100)},
		{"ip address", nil, "a", "10.12.0.34", agentx.IPAddress([4]byte{10, 12, 0, 34})},
		{"oid by name", nil, "d", "cTap2MediationStatus", agentx.ObjectID(status.OID)},
		{"oid numeric", nil, "d", ".1.3.6.1.4.1.9", agentx.ObjectID(agentx.OID{1, 3, 6, 1, 4, 1, 9})},
		{"oid zeroDotZero", nil, "d", "0.0", agentx.ObjectID(agentx.OID{0, 0})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseValue(tree, tc.obj, tc.letter, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	bad := []struct {
		name        string
		obj         *smi.Object
		letter      string
		text, wants string
	}{
		{"integer overflow", nil, "i", "2147483648", "not a 32-bit integer"},
		{"integer word", port, "i", "four", "not a 32-bit integer"},
		{"unknown label lists labels", status, "i", "enable", "createAndGo(4)"},
		{"label with wrong number", status, "i", "destroy(5)", "not a 32-bit integer"},
		{"negative gauge", nil, "g", "-1", "not a number from 0 to 4294967295"},
		{"gauge overflow", nil, "g", "4294967296", "not a number"},
		{"counter word", nil, "c", "x", "not a number"},
		{"timeticks negative", nil, "t", "-5", "not a number"},
		{"ipv6 for IpAddress", nil, "a", "2001:db8::1", "not an IPv4 address"},
		{"bad ip", nil, "a", "10.12.0", "not an IPv4 address"},
		{"unknown oid name", nil, "d", "noSuchObjectName", "unknown object name"},
		{"short oid", nil, "d", "1", "at least two sub-identifiers"},
		{"bad hex", nil, "o", "0a:zz", "is not hex"},
		{"bad letter", nil, "x", "1", "unknown type -x"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseValue(tree, tc.obj, tc.letter, tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Errorf("error %v, want it to contain %q", err, tc.wants)
			}
		})
	}
}

func TestFormatVarBind(t *testing.T) {
	tree := testTree(t)
	oid := func(name string, suffix ...uint32) agentx.OID {
		return lookup(t, tree, name).OID.Append(suffix...)
	}
	tests := []struct {
		name string
		vb   agentx.VarBind
		want string
	}{
		{"enum", agentx.VarBind{Name: oid("cTap2MediationStatus", 1), Value: agentx.Integer(1)},
			"cTap2MediationStatus.1 = active(1)"},
		{"enum value without label", agentx.VarBind{Name: oid("cTap2MediationStatus", 1), Value: agentx.Integer(9)},
			"cTap2MediationStatus.1 = 9"},
		{"counter", agentx.VarBind{Name: oid("cTap2StreamInterceptedPackets", 1, 2), Value: agentx.Counter32(17)},
			"cTap2StreamInterceptedPackets.1.2 = 17"},
		{"counter64", agentx.VarBind{Name: oid("cTap2StreamInterceptedHCPackets", 1, 2), Value: agentx.Counter64(1 << 40)},
			"cTap2StreamInterceptedHCPackets.1.2 = 1099511627776"},
		{"address octets in hex", agentx.VarBind{Name: oid("cTap2MediationDestAddress", 1),
			Value: agentx.OctetString([]byte{0x41, 0x42, 0x43, 0x44})},
			"cTap2MediationDestAddress.1 = 41 42 43 44"},
		{"date and time in hex", agentx.VarBind{Name: oid("cTap2MediationTimeout", 1),
			Value: agentx.OctetString([]byte{0x07, 0xE0, 0x04, 0x01, 0x0B, 0x15, 0x1A, 0x00})},
			"cTap2MediationTimeout.1 = 07 E0 04 01 0B 15 1A 00"},
		{"bits with names", agentx.VarBind{Name: oid("c802tapStreamFields", 1, 2), Value: agentx.OctetString([]byte{0x62})},
			"c802tapStreamFields.1.2 = 62 (dstMacAddress(1), srcMacAddress(2), cmMacAddress(6))"},
		{"admin string as text", agentx.VarBind{Name: oid("cTap2DebugMessage", 3), Value: agentx.OctetString([]byte("timed out"))},
			`cTap2DebugMessage.3 = "timed out"`},
		{"empty octets", agentx.VarBind{Name: oid("cTap2MediationDestAddress", 1), Value: agentx.OctetString(nil)},
			`cTap2MediationDestAddress.1 = ""`},
		{"unknown object, text", agentx.VarBind{Name: agentx.OID{1, 3, 6, 1, 2, 1, 1, 1, 0},
			Value: agentx.OctetString([]byte("Linux"))}, `mib-2.1.1.0 = "Linux"`},
		{"unknown object, binary", agentx.VarBind{Name: agentx.OID{1, 3, 6, 1, 2, 1, 1, 1, 0},
			Value: agentx.OctetString([]byte{0, 1, 0xff})}, `mib-2.1.1.0 = 00 01 FF`},
		{"oid value", agentx.VarBind{Name: agentx.OID{1, 3, 6, 1, 2, 1, 1, 2, 0},
			Value: agentx.ObjectID(oid("ciscoTap2MIB"))}, "mib-2.1.2.0 = ciscoTap2MIB"},
		{"ip address", agentx.VarBind{Name: agentx.OID{2, 99}, Value: agentx.IPAddress([4]byte{10, 0, 0, 1})},
			"2.99 = 10.0.0.1"},
		{"exception", agentx.VarBind{Name: oid("cTap2StreamStatus", 9, 9), Value: agentx.NoSuchInstance()},
			"cTap2StreamStatus.9.9 = noSuchInstance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatVarBind(tree, tc.vb); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
