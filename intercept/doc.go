// Package intercept is the control plane of the lawful-intercept engine.
//
// It holds the intercept configuration as plain typed Go values — mediation
// devices (where intercepted copies go), generic streams and their IP or
// IEEE 802 filters (what is intercepted) — enforces the rules that keep that
// configuration meaningful, removes mediation devices whose timeout has
// passed, and tells a future data plane which taps are armed. It knows
// nothing of SNMP, OIDs or AgentX: a MIB binding translates table rows into
// Changes and maps a *RuleError (Field, Kind) back to a column and an SNMP
// error status.
//
// # Ownership
//
// One goroutine (Engine.Run) owns all state. Every API call is a closure
// run on that goroutine, so the model has no locks and each call costs
// microseconds. Calls block until Run is running and fail with ErrStopped
// once it has returned.
//
// # Changes are transactions
//
// Validate and Apply take an ordered list of upserts and deletes of any
// object kind, the shape of one SNMP SET PDU. Per-change rules (values,
// what may change while an object is active) are checked in order against
// the state as the earlier changes left it; cross-object rules (parents,
// children, filter kinds) are checked against the state the whole list
// produces. Apply is all or nothing; ApplyRevertible additionally returns
// what Revert needs to restore the previous state exactly (SNMP UndoSet).
//
// # Zero values mean "not set"
//
// Rows are built column by column, so an inactive object may be incomplete.
// Mediation.DestAddr (invalid Addr), DestPort 0, Transport 0, Timeout (zero
// time), Stream.Type 0 and MACFilter.Fields 0 mean "not set yet": they are
// accepted while the object is inactive and rejected (ErrInconsistent) when
// it becomes active. Use NewMediation, NewStream, NewIPFilter and
// NewMACFilter to start from the MIB defaults.
//
// # Rule classes
//
// A value that can never be accepted is ErrWrongValue (DSCP 64, an unknown
// transport, an unsupported transport or stream type — only what really
// works is accepted). A value that is fine in itself but clashes with other
// columns, other objects or the clock is ErrInconsistent (RFC 3416 and RFC
// 4001: an address that does not match its address type, a TOS byte with
// bits outside its mask, port min > max, a timeout in the past, a change to
// an active object, a stream without a mediation device). Checks that
// relate several columns of one object run when the object is active, so
// managers may fill a notInService row in any column order.
//
// Prefixes keep the address as written (a read-back returns what was set);
// host bits beyond the prefix length are ignored when matching, i.e. the
// data plane matches on Prefix.Masked(). A /0 prefix means "any address"
// whatever its address bytes.
//
// # Armed taps
//
// A tap is armed — the data plane intercepts for it — only when its
// mediation device is active, its stream is active and enabled, and the
// filter whose kind matches the stream type (IP or MAC) is active. Filter
// and stream rows may be created in either order.
//
// # Logging
//
// Intercept targets (addresses, MACs, ports) are never logged above Debug.
package intercept
