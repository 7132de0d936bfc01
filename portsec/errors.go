package portsec

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
	// Inconsistent: the value clashes with the rest of the state after
	// the whole change set (SNMP inconsistentValue).
	Inconsistent
	// NoSuchEntry: a delete names an address the port does not have.
	NoSuchEntry
)

func (k Kind) String() string {
	switch k {
	case WrongValue:
		return "wrong value"
	case Inconsistent:
		return "inconsistent value"
	case NoSuchEntry:
		return "no such entry"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

var (
	// ErrWrongValue matches (errors.Is) every *RuleError of kind WrongValue.
	ErrWrongValue = errors.New("wrong value")
	// ErrInconsistent matches every *RuleError of kind Inconsistent.
	ErrInconsistent = errors.New("inconsistent value")
	// ErrNoSuchEntry matches every *RuleError of kind NoSuchEntry.
	ErrNoSuchEntry = errors.New("no such entry")
	// ErrStopped is returned by calls made after Close.
	ErrStopped = errors.New("portsec: engine stopped")
)

// RuleError says which change of a change set broke which rule.
type RuleError struct {
	Index   int // position of the offending Change in the change set
	Ifindex int // port concerned (0 for global settings)
	Field   string
	Kind    Kind
	Msg     string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("portsec: change %d: port %d: %s: %s: %s", e.Index, e.Ifindex, e.Field, e.Kind, e.Msg)
}

// Is makes errors.Is work with ErrWrongValue, ErrInconsistent and ErrNoSuchEntry.
func (e *RuleError) Is(target error) bool {
	switch target {
	case ErrWrongValue:
		return e.Kind == WrongValue
	case ErrInconsistent:
		return e.Kind == Inconsistent
	case ErrNoSuchEntry:
		return e.Kind == NoSuchEntry
	}
	return false
}

// Field names used in RuleError.Field: PortConfig field names, plus these.
const (
	FieldMAC     = "MAC"
	FieldVLAN    = "VLAN"
	FieldIfindex = "Ifindex"
	// FieldVLANLimit is a per-VLAN maximum (SetVLANLimit).
	FieldVLANLimit = "VLANLimit"
)
