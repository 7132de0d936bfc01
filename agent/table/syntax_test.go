package table

import (
	"math"
	"testing"

	"tapagent/agent/agentx"
)

func TestSyntaxValidate(t *testing.T) {
	oct := func(b ...byte) agentx.Value { return agentx.OctetString(b) }
	even := Integer32(0, 10)
	even.Check = func(v agentx.Value) agentx.ErrorStatus {
		if v.Int%2 != 0 {
			return agentx.WrongValue
		}
		return agentx.NoError
	}
	tests := []struct {
		name   string
		syntax Syntax
		value  agentx.Value
		want   agentx.ErrorStatus
	}{
		{"integer in range", Integer32(-5, 5), integer(-5), agentx.NoError},
		{"integer above range", Integer32(-5, 5), integer(6), agentx.WrongValue},
		{"integer as gauge", Integer32(0, 5), agentx.Gauge32(1), agentx.WrongType},
		{"integer beyond int32", Integer32(math.MinInt32, math.MaxInt32), agentx.Value{Type: agentx.TypeInteger, Int: math.MaxInt32 + 1}, agentx.WrongValue},
		{"several ranges", Syntax{Type: agentx.TypeInteger, Ranges: []Range{{-2, -1}, {1, 3}}}, integer(0), agentx.WrongValue},
		{"several ranges ok", Syntax{Type: agentx.TypeInteger, Ranges: []Range{{-2, -1}, {1, 3}}}, integer(-2), agentx.NoError},
		{"enum", Enum(1, 2, 4), integer(4), agentx.NoError},
		{"not an enum", Enum(1, 2, 4), integer(3), agentx.WrongValue},
		{"unsigned", Unsigned32(0, 65535), agentx.Gauge32(65535), agentx.NoError},
		{"unsigned too big", InetPortNumber(), agentx.Gauge32(65536), agentx.WrongValue},
		{"unsigned beyond uint32", Gauge32(0, math.MaxUint32), agentx.Value{Type: agentx.TypeGauge32, Uint: math.MaxUint32 + 1}, agentx.WrongValue},
		{"unsigned as integer", Unsigned32(0, 5), integer(1), agentx.WrongType},
		{"counter32", Counter32(), agentx.Counter32(7), agentx.NoError},
		{"counter64", Counter64(), agentx.Counter64(1 << 40), agentx.NoError},
		{"timeticks", TimeTicks(), agentx.TimeTicks(5), agentx.NoError},
		{"octets in size", OctetString(1, 3), oct(1, 2, 3), agentx.NoError},
		{"octets too short", OctetString(1, 3), oct(), agentx.WrongLength},
		{"octets as integer", OctetString(1, 3), integer(1), agentx.WrongType},
		{"display string", DisplayString(0, 255), str("eth0 uplink\r\n"), agentx.NoError},
		{"display string lone CR", DisplayString(0, 255), str("a\rb"), agentx.WrongValue},
		{"display string CR at end", DisplayString(0, 255), str("a\r"), agentx.WrongValue},
		{"display string 8-bit", DisplayString(0, 255), oct('a', 0xe9), agentx.WrongValue},
		{"display string too long", DisplayString(0, 2), str("abc"), agentx.WrongLength},
		{"truth value", TruthValue(), integer(2), agentx.NoError},
		{"truth value 0", TruthValue(), integer(0), agentx.WrongValue},
		{"storage type 5", StorageType(), integer(5), agentx.NoError},
		{"storage type 6", StorageType(), integer(6), agentx.WrongValue},
		{"RowStatus notReady", statusSyntax(), integer(3), agentx.WrongValue},
		{"RowStatus destroy", statusSyntax(), integer(6), agentx.NoError},
		{"date and time 8", DateAndTime(), oct(0x07, 0xe8, 2, 29, 23, 59, 60, 9), agentx.NoError},
		{"date and time 11", DateAndTime(), oct(0x07, 0xe8, 12, 31, 0, 0, 0, 0, '-', 13, 59), agentx.NoError},
		{"date and time day 0", DateAndTime(), oct(0x07, 0xe8, 1, 0, 0, 0, 0, 0), agentx.WrongValue},
		{"date and time hour 24", DateAndTime(), oct(0x07, 0xe8, 1, 1, 24, 0, 0, 0), agentx.WrongValue},
		{"date and time deci 10", DateAndTime(), oct(0x07, 0xe8, 1, 1, 0, 0, 0, 10), agentx.WrongValue},
		{"date and time bad direction", DateAndTime(), oct(0x07, 0xe8, 1, 1, 0, 0, 0, 0, '*', 0, 0), agentx.WrongValue},
		{"date and time offset 14h", DateAndTime(), oct(0x07, 0xe8, 1, 1, 0, 0, 0, 0, '+', 14, 0), agentx.WrongValue},
		{"date and time 10 octets", DateAndTime(), oct(0x07, 0xe8, 1, 1, 0, 0, 0, 0, '+', 1), agentx.WrongLength},
		{"inet address type dns", InetAddressType(), integer(16), agentx.NoError},
		{"inet address type 5", InetAddressType(), integer(5), agentx.WrongValue},
		{"inet address 256 octets", InetAddress(), agentx.OctetString(make([]byte, 256)), agentx.WrongLength},
		{"mac address", MacAddress(), mac1, agentx.NoError},
		{"mac address 7", MacAddress(), agentx.OctetString(make([]byte, 7)), agentx.WrongLength},
		{"bits", Bits(7), oct(0xfe), agentx.NoError},
		{"bits empty", Bits(7), oct(), agentx.NoError},
		{"bits undefined bit 7", Bits(7), oct(0x01), agentx.WrongValue},
		{"bits 9 in 2 octets", Bits(9), oct(0xff, 0x80), agentx.NoError},
		{"bits undefined bit 9", Bits(9), oct(0x00, 0x40), agentx.WrongValue},
		{"bits too many octets", Bits(8), oct(0, 0), agentx.WrongLength},
		{"ip address", IpAddress(), agentx.IPAddress([4]byte{192, 0, 2, 1}), agentx.NoError},
		{"ip address 3 octets", IpAddress(), agentx.Value{Type: agentx.TypeIPAddress, Bytes: []byte{1, 2, 3}}, agentx.WrongLength},
		{"oid", ObjectIdentifier(), agentx.ObjectID(agentx.OID{1, 3, 6}), agentx.NoError},
		{"oid of 129", ObjectIdentifier(), agentx.ObjectID(make(agentx.OID, 129)), agentx.WrongLength},
		{"interface index 0", InterfaceIndex(), integer(0), agentx.WrongValue},
		{"interface index or zero 0", InterfaceIndexOrZero(), integer(0), agentx.NoError},
		{"extra check", even, integer(3), agentx.WrongValue},
		{"extra check after range", even, integer(12), agentx.WrongValue},
		{"extra check ok", even, integer(4), agentx.NoError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.syntax.Validate(tc.value); got != tc.want {
				t.Fatalf("Validate(%v) = %s, want %s", tc.value, got, tc.want)
			}
		})
	}
}

func TestInetAddressFits(t *testing.T) {
	tests := []struct {
		typ  int64
		n    int
		want bool
	}{
		{InetUnknown, 0, true}, {InetUnknown, 4, false},
		{InetIPv4, 4, true}, {InetIPv4, 16, false},
		{InetIPv6, 16, true}, {InetIPv6, 4, false},
		{InetIPv4z, 8, true}, {InetIPv6z, 20, true},
		{InetDNS, 0, false}, {InetDNS, 12, true},
		{9, 4, false},
	}
	for _, tc := range tests {
		if got := InetAddressFits(tc.typ, make([]byte, tc.n)); got != tc.want {
			t.Errorf("InetAddressFits(%d, %d octets) = %v, want %v", tc.typ, tc.n, got, tc.want)
		}
	}
}

func TestSnmpAdminStringIsUTF8(t *testing.T) {
	s := SnmpAdminString(0, 255)
	for _, c := range []struct {
		in   []byte
		want agentx.ErrorStatus
	}{
		{[]byte("vrf-blue"), agentx.NoError},
		{[]byte("m\xc3\xbcnchen"), agentx.NoError},
		{[]byte{0xff, 0x00}, agentx.WrongValue},
		{make([]byte, 256), agentx.WrongLength},
	} {
		if got := s.Validate(agentx.OctetString(c.in)); got != c.want {
			t.Errorf("%q: %s, want %s", c.in, got, c.want)
		}
	}
}
