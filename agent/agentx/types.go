package agentx

import (
	"fmt"
	"strconv"
	"strings"
)

// OID is an object identifier as a list of sub-identifiers. Hot paths build
// OIDs once and reuse them; methods never modify the receiver.
type OID []uint32

// ParseOID parses a dotted OID ("1.3.6.1" or ".1.3.6.1").
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return OID{}, nil
	}
	parts := strings.Split(s, ".")
	o := make(OID, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse OID %q: sub-identifier %d: %w", s, i+1, err)
		}
		o[i] = uint32(v)
	}
	return o, nil
}

// MustParseOID is ParseOID for constants; it panics on a malformed OID.
func MustParseOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String renders the OID in dotted form without a leading dot.
func (o OID) String() string {
	var b strings.Builder
	for i, v := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// Compare orders OIDs lexicographically: -1, 0 or +1.
func (o OID) Compare(p OID) int {
	n := min(len(o), len(p))
	for i := 0; i < n; i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	switch {
	case len(o) < len(p):
		return -1
	case len(o) > len(p):
		return 1
	}
	return 0
}

// Equal reports whether both OIDs have the same sub-identifiers.
func (o OID) Equal(p OID) bool { return o.Compare(p) == 0 }

// HasPrefix reports whether prefix is o or an ancestor of o.
func (o OID) HasPrefix(prefix OID) bool {
	if len(prefix) > len(o) {
		return false
	}
	for i, v := range prefix {
		if o[i] != v {
			return false
		}
	}
	return true
}

// Append returns a new OID made of o followed by subs; o is not modified.
func (o OID) Append(subs ...uint32) OID {
	r := make(OID, 0, len(o)+len(subs))
	r = append(r, o...)
	return append(r, subs...)
}

// Clone returns a copy that does not share memory with o.
func (o OID) Clone() OID {
	if o == nil {
		return nil
	}
	return append(OID{}, o...)
}

// VarType is the AgentX/SNMP value type tag (RFC 2741 §5.4).
type VarType uint16

// Value types.
const (
	TypeInteger          VarType = 2
	TypeOctetString      VarType = 4
	TypeNull             VarType = 5
	TypeObjectIdentifier VarType = 6
	TypeIPAddress        VarType = 64
	TypeCounter32        VarType = 65
	TypeGauge32          VarType = 66
	TypeTimeTicks        VarType = 67
	TypeOpaque           VarType = 68
	TypeCounter64        VarType = 70
	TypeNoSuchObject     VarType = 128
	TypeNoSuchInstance   VarType = 129
	TypeEndOfMibView     VarType = 130
)

var typeNames = map[VarType]string{
	TypeInteger: "Integer", TypeOctetString: "OctetString", TypeNull: "Null",
	TypeObjectIdentifier: "ObjectIdentifier", TypeIPAddress: "IpAddress",
	TypeCounter32: "Counter32", TypeGauge32: "Gauge32", TypeTimeTicks: "TimeTicks",
	TypeOpaque: "Opaque", TypeCounter64: "Counter64", TypeNoSuchObject: "noSuchObject",
	TypeNoSuchInstance: "noSuchInstance", TypeEndOfMibView: "endOfMibView",
}

func (t VarType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("VarType(%d)", uint16(t))
}

// Known reports whether t is a type RFC 2741 defines.
func (t VarType) Known() bool { _, ok := typeNames[t]; return ok }

// Value is one typed SNMP value. Which field carries the data depends on Type:
// Integer → Int (int32 range); Counter32, Gauge32, TimeTicks → Uint (uint32
// range); Counter64 → Uint; OctetString, Opaque, IpAddress (4 bytes) → Bytes;
// ObjectIdentifier → OID; Null and the three exceptions carry nothing.
type Value struct {
	Type  VarType
	Int   int64
	Uint  uint64
	Bytes []byte
	OID   OID
}

// Constructors for the common types.
func Integer(v int32) Value      { return Value{Type: TypeInteger, Int: int64(v)} }
func OctetString(b []byte) Value { return Value{Type: TypeOctetString, Bytes: b} }
func ObjectID(o OID) Value       { return Value{Type: TypeObjectIdentifier, OID: o} }
func IPAddress(b [4]byte) Value  { return Value{Type: TypeIPAddress, Bytes: b[:]} }
func Counter32(v uint32) Value   { return Value{Type: TypeCounter32, Uint: uint64(v)} }
func Gauge32(v uint32) Value     { return Value{Type: TypeGauge32, Uint: uint64(v)} }
func TimeTicks(v uint32) Value   { return Value{Type: TypeTimeTicks, Uint: uint64(v)} }
func Counter64(v uint64) Value   { return Value{Type: TypeCounter64, Uint: v} }
func Null() Value                { return Value{Type: TypeNull} }
func NoSuchObject() Value        { return Value{Type: TypeNoSuchObject} }
func NoSuchInstance() Value      { return Value{Type: TypeNoSuchInstance} }
func EndOfMibView() Value        { return Value{Type: TypeEndOfMibView} }

// IsException reports whether v is noSuchObject, noSuchInstance or endOfMibView.
func (v Value) IsException() bool {
	return v.Type == TypeNoSuchObject || v.Type == TypeNoSuchInstance || v.Type == TypeEndOfMibView
}

// Equal compares type and payload.
func (v Value) Equal(w Value) bool {
	if v.Type != w.Type {
		return false
	}
	switch v.Type {
	case TypeInteger:
		return v.Int == w.Int
	case TypeCounter32, TypeGauge32, TypeTimeTicks, TypeCounter64:
		return v.Uint == w.Uint
	case TypeOctetString, TypeOpaque, TypeIPAddress:
		return string(v.Bytes) == string(w.Bytes)
	case TypeObjectIdentifier:
		return v.OID.Equal(w.OID)
	}
	return true
}

// Clone returns a deep copy.
func (v Value) Clone() Value {
	if v.Bytes != nil {
		v.Bytes = append([]byte{}, v.Bytes...)
	}
	v.OID = v.OID.Clone()
	return v
}

func (v Value) String() string {
	switch v.Type {
	case TypeInteger:
		return fmt.Sprintf("%s: %d", v.Type, v.Int)
	case TypeCounter32, TypeGauge32, TypeTimeTicks, TypeCounter64:
		return fmt.Sprintf("%s: %d", v.Type, v.Uint)
	case TypeOctetString, TypeOpaque, TypeIPAddress:
		return fmt.Sprintf("%s: %x", v.Type, v.Bytes)
	case TypeObjectIdentifier:
		return fmt.Sprintf("%s: %s", v.Type, v.OID)
	}
	return v.Type.String()
}

// VarBind is a name and its value.
type VarBind struct {
	Name  OID
	Value Value
}

// SearchRange is a Get/GetNext/GetBulk search range (RFC 2741 §5.2).
// An empty End means "no upper bound".
type SearchRange struct {
	Start   OID
	Include bool // the start OID itself may be returned (GetNext/GetBulk)
	End     OID
}

// PDUType is the AgentX PDU type (RFC 2741 §6.1).
type PDUType uint8

// PDU types.
const (
	PDUOpen            PDUType = 1
	PDUClose           PDUType = 2
	PDURegister        PDUType = 3
	PDUUnregister      PDUType = 4
	PDUGet             PDUType = 5
	PDUGetNext         PDUType = 6
	PDUGetBulk         PDUType = 7
	PDUTestSet         PDUType = 8
	PDUCommitSet       PDUType = 9
	PDUUndoSet         PDUType = 10
	PDUCleanupSet      PDUType = 11
	PDUNotify          PDUType = 12
	PDUPing            PDUType = 13
	PDUIndexAllocate   PDUType = 14
	PDUIndexDeallocate PDUType = 15
	PDUAddAgentCaps    PDUType = 16
	PDURemoveAgentCaps PDUType = 17
	PDUResponse        PDUType = 18
)

var pduNames = [...]string{"", "Open", "Close", "Register", "Unregister", "Get", "GetNext",
	"GetBulk", "TestSet", "CommitSet", "UndoSet", "CleanupSet", "Notify", "Ping",
	"IndexAllocate", "IndexDeallocate", "AddAgentCaps", "RemoveAgentCaps", "Response"}

func (t PDUType) String() string {
	if t >= 1 && int(t) < len(pduNames) {
		return pduNames[t]
	}
	return fmt.Sprintf("PDUType(%d)", uint8(t))
}

// Flags is the header flags octet (RFC 2741 §6.1).
type Flags uint8

// Header flags.
const (
	FlagInstanceRegistration Flags = 0x01
	FlagNewIndex             Flags = 0x02
	FlagAnyIndex             Flags = 0x04
	FlagNonDefaultContext    Flags = 0x08
	FlagNetworkByteOrder     Flags = 0x10
)

// HeaderSize is the fixed AgentX header length.
const HeaderSize = 20

// Version is the only AgentX protocol version.
const Version = 1

// Header is the 20-byte AgentX header. PayloadLength is filled by the encoder.
type Header struct {
	Version       uint8
	Type          PDUType
	Flags         Flags
	SessionID     uint32
	TransactionID uint32
	PacketID      uint32
	PayloadLength uint32
}

// CloseReason is the reason octet of a Close PDU (RFC 2741 §6.2.2).
type CloseReason uint8

// Close reasons.
const (
	ReasonOther         CloseReason = 1
	ReasonParseError    CloseReason = 2
	ReasonProtocolError CloseReason = 3
	ReasonTimeouts      CloseReason = 4
	ReasonShutdown      CloseReason = 5
	ReasonByManager     CloseReason = 6
)

// ErrorStatus is the res.error field of a Response: an SNMP error-status
// (0–18, RFC 3416) or an AgentX administrative error (256–268).
type ErrorStatus uint16

// SNMP error-status values (RFC 3416).
const (
	NoError             ErrorStatus = 0
	TooBig              ErrorStatus = 1
	NoSuchName          ErrorStatus = 2
	BadValue            ErrorStatus = 3
	ReadOnly            ErrorStatus = 4
	GenErr              ErrorStatus = 5
	NoAccess            ErrorStatus = 6
	WrongType           ErrorStatus = 7
	WrongLength         ErrorStatus = 8
	WrongEncoding       ErrorStatus = 9
	WrongValue          ErrorStatus = 10
	NoCreation          ErrorStatus = 11
	InconsistentValue   ErrorStatus = 12
	ResourceUnavailable ErrorStatus = 13
	CommitFailed        ErrorStatus = 14
	UndoFailed          ErrorStatus = 15
	AuthorizationError  ErrorStatus = 16
	NotWritable         ErrorStatus = 17
	InconsistentName    ErrorStatus = 18
)

// AgentX administrative errors (RFC 2741 §6.2.16).
const (
	OpenFailed            ErrorStatus = 256
	NotOpen               ErrorStatus = 257
	IndexWrongType        ErrorStatus = 258
	IndexAlreadyAllocated ErrorStatus = 259
	IndexNoneAvailable    ErrorStatus = 260
	IndexNotAllocated     ErrorStatus = 261
	UnsupportedContext    ErrorStatus = 262
	DuplicateRegistration ErrorStatus = 263
	UnknownRegistration   ErrorStatus = 264
	UnknownAgentCaps      ErrorStatus = 265
	ParseError            ErrorStatus = 266
	RequestDenied         ErrorStatus = 267
	ProcessingError       ErrorStatus = 268
)

var errorNames = map[ErrorStatus]string{
	NoError: "noError", TooBig: "tooBig", NoSuchName: "noSuchName", BadValue: "badValue",
	ReadOnly: "readOnly", GenErr: "genErr", NoAccess: "noAccess", WrongType: "wrongType",
	WrongLength: "wrongLength", WrongEncoding: "wrongEncoding", WrongValue: "wrongValue",
	NoCreation: "noCreation", InconsistentValue: "inconsistentValue",
	ResourceUnavailable: "resourceUnavailable", CommitFailed: "commitFailed",
	UndoFailed: "undoFailed", AuthorizationError: "authorizationError",
	NotWritable: "notWritable", InconsistentName: "inconsistentName",
	OpenFailed: "openFailed", NotOpen: "notOpen", IndexWrongType: "indexWrongType",
	IndexAlreadyAllocated: "indexAlreadyAllocated", IndexNoneAvailable: "indexNoneAvailable",
	IndexNotAllocated: "indexNotAllocated", UnsupportedContext: "unsupportedContext",
	DuplicateRegistration: "duplicateRegistration", UnknownRegistration: "unknownRegistration",
	UnknownAgentCaps: "unknownAgentCaps", ParseError: "parseError",
	RequestDenied: "requestDenied", ProcessingError: "processingError",
}

func (e ErrorStatus) String() string {
	if s, ok := errorNames[e]; ok {
		return s
	}
	return fmt.Sprintf("ErrorStatus(%d)", uint16(e))
}

// PDU is any AgentX PDU. Which fields are meaningful depends on Header.Type:
//
//	Open:            Timeout, ID, Descr
//	Close:           Reason
//	Register:        Timeout, Priority, RangeSubID, Subtree, UpperBound
//	Unregister:      Priority, RangeSubID, Subtree, UpperBound
//	Get, GetNext:    Ranges
//	GetBulk:         NonRepeaters, MaxRepetitions, Ranges
//	TestSet, Notify, IndexAllocate, IndexDeallocate: VarBinds
//	CommitSet, UndoSet, CleanupSet, Ping: nothing
//	AddAgentCaps:    ID, Descr
//	RemoveAgentCaps: ID
//	Response:        SysUpTime, Error, Index, VarBinds
//
// Context is present (and FlagNonDefaultContext set) for the PDU types that
// may carry one. The subtree's include byte is always 0 on the wire; for
// Register the instance-registration flag lives in Header.Flags.
type PDU struct {
	Header
	Context []byte

	Timeout    uint8
	Priority   uint8
	RangeSubID uint8
	UpperBound uint32
	ID         OID
	Descr      []byte
	Subtree    OID
	Reason     CloseReason

	Ranges         []SearchRange
	NonRepeaters   uint16
	MaxRepetitions uint16

	SysUpTime uint32
	Error     ErrorStatus
	Index     uint16
	VarBinds  []VarBind
}
