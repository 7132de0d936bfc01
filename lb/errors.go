package lb

import (
	"errors"
	"fmt"
)

// Sentinel classes of refused changes. Every *Error matches exactly one of
// them with errors.Is, so a binding can map it to an SNMP error status
// (wrongValue, inconsistentValue, inconsistentName, noCreation,
// resourceUnavailable) without parsing messages.
var (
	// ErrWrongValue: the value can never be accepted (too long, out of
	// range, malformed).
	ErrWrongValue = errors.New("wrong value")
	// ErrInconsistent: the value clashes with the rest of the
	// configuration as the whole change set leaves it.
	ErrInconsistent = errors.New("inconsistent value")
	// ErrNotFound: a name refers to an object that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: an object of that name (or that address) already exists.
	ErrExists = errors.New("already exists")
	// ErrInUse: the object cannot go away while others refer to it.
	ErrInUse = errors.New("in use")
	// ErrNoResources: a limit such as 1000 servers per group is reached.
	ErrNoResources = errors.New("no resources")
)

// Error is a refused change: which object, which field, and why.
type Error struct {
	Kind   error  // one of the sentinels above
	Object string // "rule web1", "server group web", "server _web.3", ...
	Field  string // "name", "vip", "proxy-src", ... ("" for the object itself)
	Msg    string
}

func (e *Error) Error() string {
	s := e.Object
	if e.Field != "" {
		s += " " + e.Field
	}
	if s != "" {
		s += ": "
	}
	return s + e.Msg
}

// Unwrap makes errors.Is(err, ErrWrongValue) and friends work.
func (e *Error) Unwrap() error { return e.Kind }

func errf(kind error, object, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Object: object, Field: field, Msg: fmt.Sprintf(format, args...)}
}
