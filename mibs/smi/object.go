package smi

import (
	"fmt"

	"tapagent/agent/agentx"
)

// Kind says how a node was declared and, for OBJECT-TYPEs, what role it
// plays in the tree.
type Kind uint8

// Node kinds.
const (
	KindNode           Kind = iota // OBJECT IDENTIFIER assignment (or a built-in root)
	KindModuleIdentity             // MODULE-IDENTITY
	KindObjectIdentity             // OBJECT-IDENTITY
	KindScalar                     // OBJECT-TYPE outside a table
	KindTable                      // OBJECT-TYPE with SYNTAX SEQUENCE OF …
	KindRow                        // OBJECT-TYPE: the conceptual row (…Entry)
	KindColumn                     // OBJECT-TYPE below a row
	KindNotification               // NOTIFICATION-TYPE (or SMIv1 TRAP-TYPE)
	KindGroup                      // OBJECT-GROUP or NOTIFICATION-GROUP
	KindCompliance                 // MODULE-COMPLIANCE
	KindCapabilities               // AGENT-CAPABILITIES
)

var kindNames = [...]string{"node", "module-identity", "object-identity", "scalar", "table",
	"row", "column", "notification", "group", "compliance", "capabilities"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// IsObjectType reports whether the node was declared with OBJECT-TYPE.
func (k Kind) IsObjectType() bool {
	return k == KindScalar || k == KindTable || k == KindRow || k == KindColumn
}

// BaseType is the SMIv2 base type a syntax reduces to once textual
// conventions are followed.
type BaseType uint8

// Base types. Gauge32 and Unsigned32 share one wire encoding but stay
// distinct here so a reader can tell what the module said.
const (
	BaseNone             BaseType = iota
	BaseInteger                   // INTEGER, Integer32
	BaseOctetString               // OCTET STRING
	BaseObjectIdentifier          // OBJECT IDENTIFIER
	BaseBits                      // BITS (an OCTET STRING on the wire)
	BaseIPAddress                 // IpAddress
	BaseCounter32                 // Counter32
	BaseGauge32                   // Gauge32
	BaseUnsigned32                // Unsigned32
	BaseTimeTicks                 // TimeTicks
	BaseCounter64                 // Counter64
	BaseOpaque                    // Opaque
	BaseSequenceOf                // SEQUENCE OF (a table)
	BaseSequence                  // SEQUENCE { … } (a row type)
)

var baseNames = [...]string{"", "INTEGER", "OCTET STRING", "OBJECT IDENTIFIER", "BITS",
	"IpAddress", "Counter32", "Gauge32", "Unsigned32", "TimeTicks", "Counter64", "Opaque",
	"SEQUENCE OF", "SEQUENCE"}

func (b BaseType) String() string {
	if int(b) < len(baseNames) {
		return baseNames[b]
	}
	return fmt.Sprintf("BaseType(%d)", uint8(b))
}

// VarType is the SNMP wire type that carries values of this base type;
// 0 for the structural types.
func (b BaseType) VarType() agentx.VarType {
	switch b {
	case BaseInteger:
		return agentx.TypeInteger
	case BaseOctetString, BaseBits:
		return agentx.TypeOctetString
	case BaseObjectIdentifier:
		return agentx.TypeObjectIdentifier
	case BaseIPAddress:
		return agentx.TypeIPAddress
	case BaseCounter32:
		return agentx.TypeCounter32
	case BaseGauge32, BaseUnsigned32:
		return agentx.TypeGauge32
	case BaseTimeTicks:
		return agentx.TypeTimeTicks
	case BaseCounter64:
		return agentx.TypeCounter64
	case BaseOpaque:
		return agentx.TypeOpaque
	}
	return 0
}

// NamedNumber is an enumeration label or a BITS bit name.
type NamedNumber struct {
	Name  string
	Value int64
}

// Range is one alternative of a value or SIZE constraint, bounds included.
// Bounds above math.MaxInt64 (only Counter64-sized ranges) saturate.
type Range struct {
	Min, Max int64
}

func (r Range) String() string {
	if r.Min == r.Max {
		return fmt.Sprint(r.Min)
	}
	return fmt.Sprintf("%d..%d", r.Min, r.Max)
}

// Syntax describes the values of an OBJECT-TYPE after textual conventions
// have been followed. Constraints written on the object refine those of its
// convention; the innermost ones are kept when the object adds none.
type Syntax struct {
	Base     BaseType
	TC       string        // type named in SYNTAX (a textual convention or a row's SEQUENCE type), "" for a base type
	TCModule string        // module that defines TC
	Hint     string        // DISPLAY-HINT of the convention chain, if any
	Enums    []NamedNumber // INTEGER labels
	Bits     []NamedNumber // BITS names
	Ranges   []Range       // value ranges
	Sizes    []Range       // SIZE ranges
	Entry    string        // row type named by SEQUENCE OF
}

// EnumName returns the label of v, if the syntax has one.
func (s *Syntax) EnumName(v int64) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, e := range s.Enums {
		if e.Value == v {
			return e.Name, true
		}
	}
	return "", false
}

// EnumValue returns the number behind an enumeration label.
func (s *Syntax) EnumValue(name string) (int64, bool) {
	if s == nil {
		return 0, false
	}
	for _, e := range s.Enums {
		if e.Name == name {
			return e.Value, true
		}
	}
	return 0, false
}

// BitName returns the name of bit n, if the syntax has one.
func (s *Syntax) BitName(n int64) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, b := range s.Bits {
		if b.Value == n {
			return b.Name, true
		}
	}
	return "", false
}

// Object is one named node of the OID tree.
type Object struct {
	Name   string
	Module string
	OID    agentx.OID
	Kind   Kind
	Line   int // where the definition starts in its file

	// OBJECT-TYPE only.
	Syntax   *Syntax
	Access   string   // MAX-ACCESS (or SMIv1 ACCESS) as written: read-create, …
	Index    []string // INDEX objects of a row; an AUGMENTS row gets its base row's
	Implied  bool     // the last INDEX object is IMPLIED
	Augments string   // row this row augments
	DefVal   string   // DEFVAL contents as written, without the outer braces
	Units    string

	Status  string   // current, deprecated, obsolete (mandatory in SMIv1)
	Objects []string // OBJECTS of a notification or group, NOTIFICATIONS of a group
}

// QualifiedName is "MODULE::name".
func (o *Object) QualifiedName() string { return o.Module + "::" + o.Name }

func (o *Object) String() string { return fmt.Sprintf("%s (%s)", o.QualifiedName(), o.OID) }

// Writable reports whether MAX-ACCESS allows a SET.
func (o *Object) Writable() bool {
	return o.Access == "read-write" || o.Access == "read-create" || o.Access == "write-only"
}

// Ref is the result of resolving a textual object reference.
type Ref struct {
	Object *Object    // the longest known node at or above OID; nil if none is known
	OID    agentx.OID // the full OID
	Suffix agentx.OID // the part of OID below Object (the instance), empty if exact
}

// String renders the reference as name.suffix, or numerically without an object.
func (r Ref) String() string {
	if r.Object == nil {
		return r.OID.String()
	}
	return joinSuffix(r.Object.Name, r.Suffix)
}

func joinSuffix(name string, suffix agentx.OID) string {
	if len(suffix) == 0 {
		return name
	}
	return name + "." + suffix.String()
}

// isTypeName reports whether an identifier names a type (upper case first).
func isTypeName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// macroKinds maps the macros whose invocations give an OID to a node kind.
var macroKinds = map[string]Kind{
	"MODULE-IDENTITY":    KindModuleIdentity,
	"OBJECT-IDENTITY":    KindObjectIdentity,
	"OBJECT-TYPE":        KindScalar, // refined after resolution
	"NOTIFICATION-TYPE":  KindNotification,
	"TRAP-TYPE":          KindNotification,
	"OBJECT-GROUP":       KindGroup,
	"NOTIFICATION-GROUP": KindGroup,
	"MODULE-COMPLIANCE":  KindCompliance,
	"AGENT-CAPABILITIES": KindCapabilities,
}

// builtinSymbols are names modules import from the SMI modules that are
// macros or ASN.1 types rather than definitions a base module must spell out.
// Accepting them keeps Load working with trimmed base modules.
var builtinSymbols = map[string]bool{
	"MODULE-IDENTITY": true, "OBJECT-IDENTITY": true, "OBJECT-TYPE": true,
	"NOTIFICATION-TYPE": true, "TRAP-TYPE": true, "TEXTUAL-CONVENTION": true,
	"OBJECT-GROUP": true, "NOTIFICATION-GROUP": true, "MODULE-COMPLIANCE": true,
	"AGENT-CAPABILITIES": true,
	"Integer32":          true, "Unsigned32": true, "Gauge32": true, "Counter32": true,
	"Counter64": true, "TimeTicks": true, "IpAddress": true, "Opaque": true,
	"ObjectName": true, "NotificationName": true, "ObjectSyntax": true,
	"ExtUTCTime": true, "NetworkAddress": true, "Counter": true, "Gauge": true,
}

// applicationTypes are the SMI types with their own wire tag.
var applicationTypes = map[string]BaseType{
	"Integer32": BaseInteger, "Unsigned32": BaseUnsigned32, "Gauge32": BaseGauge32,
	"Counter32": BaseCounter32, "Counter64": BaseCounter64, "TimeTicks": BaseTimeTicks,
	"IpAddress": BaseIPAddress, "Opaque": BaseOpaque,
	// SMIv1 spellings (RFC 1155).
	"Counter": BaseCounter32, "Gauge": BaseGauge32, "NetworkAddress": BaseIPAddress,
}

// smiModules define the application types; a type of that name from one of
// them is taken as the built-in type whatever its text says.
var smiModules = map[string]bool{"SNMPv2-SMI": true, "RFC1155-SMI": true, "RFC1065-SMI": true}

// roots are the OID arcs every module may use without importing them.
var roots = map[string]uint32{"ccitt": 0, "itu-t": 0, "iso": 1, "joint-iso-ccitt": 2,
	"joint-iso-itu-t": 2}
