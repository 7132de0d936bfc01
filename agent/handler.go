package agent

import (
	"strconv"

	"tapagent/agent/agentx"
)

// Handler serves one or more subtrees the subagent registers with the master.
// The session calls a handler from one goroutine, in PDU order; a handler must
// still be safe against its own background goroutines (engine events).
// Every call must return quickly: snmpd waits at most agentxTimeout (1 s) and
// a SET stalls the whole master, so never block on engine or network I/O here.
type Handler interface {
	// Subtrees lists the OIDs to register for this handler.
	Subtrees() []agentx.OID
	// Get returns the value of exactly oid, or noSuchObject / noSuchInstance.
	Get(oid agentx.OID) agentx.Value
	// Next returns the first instance after start (at or after it when
	// include is set) and before end (end empty = unbounded). ok is false
	// when the handler has no such instance.
	Next(start agentx.OID, include bool, end agentx.OID) (vb agentx.VarBind, ok bool)
	// TestSet validates the handler's share of a SET PDU against the state
	// the whole PDU would produce. On success it returns a transaction that
	// holds everything needed to commit; on failure a *SetError naming the
	// failing varbind by its PDU index, and no transaction.
	TestSet(vbs []SetVarBind) (SetTx, *SetError)
}

// SetVarBind is one varbind of a TestSet with its 1-based index in the PDU.
type SetVarBind struct {
	Index int
	agentx.VarBind
}

// SetTx is a validated, not yet applied, SET transaction of one handler.
type SetTx interface {
	// Commit applies the transaction. An error means nothing of it is left
	// applied, or Undo is required to remove what is.
	Commit() *SetError
	// Undo reverts a committed transaction exactly.
	Undo() *SetError
	// Cleanup releases the transaction (after a commit, or after another
	// handler's TestSet failed). It is called at most once and never after Undo.
	Cleanup()
}

// SetError is an SNMP error-status with the 1-based PDU index of the varbind
// it concerns.
type SetError struct {
	Status agentx.ErrorStatus
	Index  int
	Err    error // detail for logs; never sent
}

func (e *SetError) Error() string {
	if e.Err != nil {
		return e.Status.String() + " on varbind " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
	}
	return e.Status.String() + " on varbind " + strconv.Itoa(e.Index)
}

func (e *SetError) Unwrap() error { return e.Err }
