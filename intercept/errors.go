package intercept

import (
	"errors"
	"fmt"
)

// Kind is the class of a rule violation; a binding maps it to an SNMP
// error status.
type Kind uint8

const (
	// WrongValue: the value can never be accepted (SNMP wrongValue).
	WrongValue Kind = iota + 1
	// Inconsistent: the value clashes with other fields, other objects or
	// the clock (SNMP inconsistentValue).
	Inconsistent
)

func (k Kind) String() string {
	switch k {
	case WrongValue:
		return "wrong value"
	case Inconsistent:
		return "inconsistent value"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

var (
	// ErrWrongValue matches (errors.Is) every *RuleError of kind WrongValue.
	ErrWrongValue = errors.New("wrong value")
	// ErrInconsistent matches every *RuleError of kind Inconsistent.
	ErrInconsistent = errors.New("inconsistent value")
	// ErrStopped is returned by calls made after Run has returned.
	ErrStopped = errors.New("intercept: engine stopped")
)

// RuleError says which change of a change set broke which rule.
type RuleError struct {
	Index int    // position of the offending Change in the change set
	Field string // struct field name of the offending value (Field… constants)
	Kind  Kind
	Msg   string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("intercept: change %d: %s: %s: %s", e.Index, e.Field, e.Kind, e.Msg)
}

// Is makes errors.Is(err, ErrWrongValue) and errors.Is(err, ErrInconsistent) work.
func (e *RuleError) Is(target error) bool {
	switch target {
	case ErrWrongValue:
		return e.Kind == WrongValue
	case ErrInconsistent:
		return e.Kind == Inconsistent
	}
	return false
}

// Field names used in RuleError.Field: the Go struct field names. FieldActive
// stands for the row status (creation, activation, deletion).
const (
	FieldActive             = "Active"
	FieldContentID          = "ContentID"
	FieldIndex              = "Index"
	FieldDestAddr           = "DestAddr"
	FieldDestPort           = "DestPort"
	FieldSrcInterface       = "SrcInterface"
	FieldDSCP               = "DSCP"
	FieldDataType           = "DataType"
	FieldRetransmitType     = "RetransmitType"
	FieldTimeout            = "Timeout"
	FieldTransport          = "Transport"
	FieldNotificationEnable = "NotificationEnable"
	FieldType               = "Type"
	FieldEnable             = "Enable"
	FieldInterface          = "Interface"
	FieldAddrFamily         = "AddrFamily"
	FieldDst                = "Dst"    // IP: the destination address; MAC: the destination MAC
	FieldDstLen             = "DstLen" // IP: the destination prefix length
	FieldSrc                = "Src"
	FieldSrcLen             = "SrcLen"
	FieldTOS                = "TOS"
	FieldTOSMask            = "TOSMask"
	FieldFlowID             = "FlowID"
	FieldProtocol           = "Protocol"
	FieldDstPortMin         = "DstPortMin"
	FieldDstPortMax         = "DstPortMax"
	FieldSrcPortMin         = "SrcPortMin"
	FieldSrcPortMax         = "SrcPortMax"
	FieldVRF                = "VRF"
	FieldFields             = "Fields"
	FieldEtherType          = "EtherType"
	FieldDstLLCSAP          = "DstLLCSAP"
	FieldSrcLLCSAP          = "SrcLLCSAP"
)

func wrong(field, format string, args ...any) *RuleError {
	return &RuleError{Field: field, Kind: WrongValue, Msg: fmt.Sprintf(format, args...)}
}

func inconsistent(field, format string, args ...any) *RuleError {
	return &RuleError{Field: field, Kind: Inconsistent, Msg: fmt.Sprintf(format, args...)}
}
