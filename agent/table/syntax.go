package table

import (
	"math"
	"unicode/utf8"

	"tapagent/agent/agentx"
)

// Access is an object's MAX-ACCESS clause.
type Access int

// MAX-ACCESS values. The zero value is invalid so a forgotten Access is
// caught by NewGroup instead of silently hiding a column.
const (
	NotAccessible Access = iota + 1
	AccessibleForNotify
	ReadOnly
	ReadWrite
	ReadCreate
)

func (a Access) readable() bool { return a == ReadOnly || a == ReadWrite || a == ReadCreate }
func (a Access) writable() bool { return a == ReadWrite || a == ReadCreate }

// Range is an inclusive range of integer values or of OCTET STRING sizes.
type Range struct{ Min, Max int64 }

// Syntax says what a value must look like: the base type on the wire and the
// sub-typing of its SYNTAX clause.
type Syntax struct {
	Type agentx.VarType
	// Ranges: allowed values for integer types, allowed sizes for
	// OCTET STRING; empty means the whole range of the base type.
	Ranges []Range
	// Enums: allowed values of an enumerated INTEGER (empty: any).
	Enums []int64
	// Bits is the number of named bits of a BITS value (0: not BITS). A set
	// bit beyond them is wrongValue, an octet beyond them wrongLength.
	Bits int
	// Check is an extra per-value check (e.g. DateAndTime fields) run after
	// the others; it returns 0 when the value is fine.
	Check func(v agentx.Value) agentx.ErrorStatus

	tc tcKind // textual conventions the framework treats specially
}

type tcKind uint8

const (
	tcNone tcKind = iota
	tcInetAddressType
	tcInetAddress
)

// Validate runs the RFC 3416 value checks in their order: wrongType,
// wrongLength, wrongValue. It returns 0 (noError) for a good value.
func (s Syntax) Validate(v agentx.Value) agentx.ErrorStatus {
	if v.Type != s.Type {
		return agentx.WrongType
	}
	switch v.Type {
	case agentx.TypeInteger:
		if v.Int < math.MinInt32 || v.Int > math.MaxInt32 || !s.allows(v.Int) {
			return agentx.WrongValue
		}
	case agentx.TypeCounter32, agentx.TypeGauge32, agentx.TypeTimeTicks:
		if v.Uint > math.MaxUint32 || !s.allows(int64(v.Uint)) {
			return agentx.WrongValue
		}
	case agentx.TypeCounter64:
		if len(s.Ranges) > 0 && (v.Uint > math.MaxInt64 || !s.inRanges(int64(v.Uint))) {
			return agentx.WrongValue
		}
	case agentx.TypeIPAddress:
		if len(v.Bytes) != 4 {
			return agentx.WrongLength
		}
	case agentx.TypeOctetString, agentx.TypeOpaque:
		if st := s.validateOctets(v.Bytes); st != agentx.NoError {
			return st
		}
	case agentx.TypeObjectIdentifier:
		if len(v.OID) > 128 { // RFC 2578 §3.5: at most 128 sub-identifiers
			return agentx.WrongLength
		}
	}
	if s.Check != nil {
		return s.Check(v)
	}
	return agentx.NoError
}

func (s Syntax) validateOctets(b []byte) agentx.ErrorStatus {
	if len(b) > 65535 {
		return agentx.WrongLength
	}
	if s.Bits > 0 {
		octets := (s.Bits + 7) / 8
		if len(b) > octets {
			return agentx.WrongLength
		}
		for n := s.Bits; n < len(b)*8; n++ {
			if b[n/8]&(0x80>>(n%8)) != 0 {
				return agentx.WrongValue
			}
		}
		return agentx.NoError
	}
	if len(s.Ranges) > 0 && !s.inRanges(int64(len(b))) {
		return agentx.WrongLength
	}
	return agentx.NoError
}

func (s Syntax) allows(n int64) bool {
	if len(s.Enums) > 0 {
		for _, e := range s.Enums {
			if e == n {
				return true
			}
		}
		return false
	}
	return len(s.Ranges) == 0 || s.inRanges(n)
}

func (s Syntax) inRanges(n int64) bool {
	for _, r := range s.Ranges {
		if n >= r.Min && n <= r.Max {
			return true
		}
	}
	return false
}

// fixedSize returns the size of an OCTET STRING that has exactly one
// allowed size (MacAddress, SIZE(4)), which changes its index encoding.
func (s Syntax) fixedSize() (int, bool) {
	if s.Type == agentx.TypeIPAddress {
		return 4, true
	}
	if s.Type != agentx.TypeOctetString || s.Bits > 0 || len(s.Ranges) != 1 {
		return 0, false
	}
	r := s.Ranges[0]
	return int(r.Min), r.Min == r.Max
}

// Base types and textual conventions. Each call returns a fresh Syntax, so a
// binding may extend one (e.g. add a Check) without affecting others.

// Integer32 is INTEGER (min..max).
func Integer32(min, max int64) Syntax {
	return Syntax{Type: agentx.TypeInteger, Ranges: []Range{{min, max}}}
}

// Enum is an enumerated INTEGER with the given values.
func Enum(values ...int64) Syntax { return Syntax{Type: agentx.TypeInteger, Enums: values} }

// Unsigned32 is Unsigned32 (min..max); it travels as Gauge32.
func Unsigned32(min, max int64) Syntax {
	return Syntax{Type: agentx.TypeGauge32, Ranges: []Range{{min, max}}}
}

// Gauge32 is Gauge32 (min..max).
func Gauge32(min, max int64) Syntax { return Unsigned32(min, max) }

// OctetString is OCTET STRING (SIZE(min..max)).
func OctetString(min, max int64) Syntax {
	return Syntax{Type: agentx.TypeOctetString, Ranges: []Range{{min, max}}}
}

// DisplayString is RFC 2579 DisplayString (SIZE(min..max)): NVT ASCII, a CR
// only before LF or NUL.
func DisplayString(min, max int64) Syntax {
	s := OctetString(min, max)
	s.Check = checkDisplayString
	return s
}

// SnmpAdminString is SNMP-FRAMEWORK-MIB SnmpAdminString (SIZE(min..max)):
// UTF-8 text; other octets are wrongValue (RFC 3411).
func SnmpAdminString(min, max int64) Syntax {
	s := OctetString(min, max)
	s.Check = func(v agentx.Value) agentx.ErrorStatus {
		if !utf8.Valid(v.Bytes) {
			return agentx.WrongValue
		}
		return agentx.NoError
	}
	return s
}

// TruthValue is true(1) / false(2).
func TruthValue() Syntax { return Enum(1, 2) }

// StorageType is other(1) volatile(2) nonVolatile(3) permanent(4) readOnly(5).
func StorageType() Syntax { return Enum(1, 2, 3, 4, 5) }

// DateAndTime is RFC 2579 DateAndTime: 8 or 11 octets with field ranges.
func DateAndTime() Syntax {
	return Syntax{Type: agentx.TypeOctetString, Ranges: []Range{{8, 8}, {11, 11}},
		Check: checkDateAndTime}
}

// InetAddressType is RFC 4001 InetAddressType.
func InetAddressType() Syntax {
	s := Enum(InetUnknown, InetIPv4, InetIPv6, InetIPv4z, InetIPv6z, InetDNS)
	s.tc = tcInetAddressType
	return s
}

// InetAddress is RFC 4001 InetAddress (SIZE(0..255)). Whether its length
// fits its InetAddressType is checked for index pairs by the framework and
// elsewhere by the binding (see InetAddressFits).
func InetAddress() Syntax {
	s := OctetString(0, 255)
	s.tc = tcInetAddress
	return s
}

// InetPortNumber is RFC 4001 InetPortNumber, Unsigned32 (0..65535).
func InetPortNumber() Syntax { return Unsigned32(0, 65535) }

// MacAddress is SNMPv2-TC MacAddress, exactly 6 octets.
func MacAddress() Syntax { return OctetString(6, 6) }

// Bits is a BITS value with n named bits (0..n-1).
func Bits(n int) Syntax { return Syntax{Type: agentx.TypeOctetString, Bits: n} }

// Counter32 is Counter32.
func Counter32() Syntax { return Syntax{Type: agentx.TypeCounter32} }

// Counter64 is Counter64.
func Counter64() Syntax { return Syntax{Type: agentx.TypeCounter64} }

// TimeTicks is TimeTicks.
func TimeTicks() Syntax { return Syntax{Type: agentx.TypeTimeTicks} }

// IpAddress is IpAddress (4 octets).
func IpAddress() Syntax { return Syntax{Type: agentx.TypeIPAddress} }

// ObjectIdentifier is OBJECT IDENTIFIER.
func ObjectIdentifier() Syntax { return Syntax{Type: agentx.TypeObjectIdentifier} }

// InterfaceIndex is IF-MIB InterfaceIndex (1..2147483647).
func InterfaceIndex() Syntax { return Integer32(1, math.MaxInt32) }

// InterfaceIndexOrZero is IF-MIB InterfaceIndexOrZero (0..2147483647).
func InterfaceIndexOrZero() Syntax { return Integer32(0, math.MaxInt32) }

// statusSyntax is RowStatus as a SET may carry it: notReady(3) can only be
// read, so writing it is wrongValue (RFC 2579).
func statusSyntax() Syntax {
	return Enum(int64(Active), int64(NotInService), int64(CreateAndGo),
		int64(CreateAndWait), int64(Destroy))
}

// InetAddressType values (RFC 4001).
const (
	InetUnknown = 0
	InetIPv4    = 1
	InetIPv6    = 2
	InetIPv4z   = 3
	InetIPv6z   = 4
	InetDNS     = 16
)

// InetAddressFits reports whether addr has a length RFC 4001 allows for
// addrType. Bindings use it for address/type column pairs.
func InetAddressFits(addrType int64, addr []byte) bool {
	switch addrType {
	case InetUnknown:
		return len(addr) == 0
	case InetIPv4:
		return len(addr) == 4
	case InetIPv6:
		return len(addr) == 16
	case InetIPv4z:
		return len(addr) == 8
	case InetIPv6z:
		return len(addr) == 20
	case InetDNS:
		return len(addr) >= 1 && len(addr) <= 255
	}
	return false
}

// checkDisplayString accepts printable ASCII and the NVT control characters
// RFC 854 defines; CR must be followed by LF or NUL.
func checkDisplayString(v agentx.Value) agentx.ErrorStatus {
	b := v.Bytes
	for i, c := range b {
		switch {
		case c >= 32 && c <= 126:
		case c == 0, c == 7, c == 8, c == 9, c == 10, c == 11, c == 12:
		case c == 13:
			if i+1 >= len(b) || (b[i+1] != 10 && b[i+1] != 0) {
				return agentx.WrongValue
			}
		default:
			return agentx.WrongValue
		}
	}
	return agentx.NoError
}

// checkDateAndTime checks the RFC 2579 field ranges; the length was checked.
func checkDateAndTime(v agentx.Value) agentx.ErrorStatus {
	b := v.Bytes
	ok := b[2] >= 1 && b[2] <= 12 && // month
		b[3] >= 1 && b[3] <= 31 && // day
		b[4] <= 23 && b[5] <= 59 && b[6] <= 60 && b[7] <= 9 // h m s(leap) deci
	if ok && len(b) == 11 {
		ok = (b[8] == '+' || b[8] == '-') && b[9] <= 13 && b[10] <= 59
	}
	if !ok {
		return agentx.WrongValue
	}
	return agentx.NoError
}
