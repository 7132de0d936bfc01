package agent

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"tapagent/agent/agentx"
)

// mapHandler is a tiny Handler over a map of OIDs, with knobs to make SET
// phases fail or stall, and counters of every call.
type mapHandler struct {
	subtrees []agentx.OID

	mu   sync.Mutex
	vals map[string]agentx.Value
	oids []agentx.OID // sorted keys of vals

	failTest   map[string]agentx.ErrorStatus // TestSet refuses these OIDs
	failCommit bool
	failUndo   bool
	gate       chan struct{} // when set, TestSet waits for it
	panicOn    string        // Get of this OID panics

	tests, commits, undos, cleanups atomic.Int32
}

func newMapHandler(subtrees []agentx.OID, vals map[string]agentx.Value) *mapHandler {
	h := &mapHandler{subtrees: subtrees, vals: map[string]agentx.Value{}, failTest: map[string]agentx.ErrorStatus{}}
	for k, v := range vals {
		h.set(agentx.MustParseOID(k), v)
	}
	return h
}

func (h *mapHandler) set(o agentx.OID, v agentx.Value) {
	k := o.String()
	if _, ok := h.vals[k]; !ok {
		i, _ := slices.BinarySearchFunc(h.oids, o, agentx.OID.Compare)
		h.oids = slices.Insert(h.oids, i, o)
	}
	h.vals[k] = v
}

func (h *mapHandler) value(s string) agentx.Value {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.vals[s]
}

func (h *mapHandler) Subtrees() []agentx.OID { return h.subtrees }

func (h *mapHandler) Get(o agentx.OID) agentx.Value {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.panicOn != "" && o.String() == h.panicOn {
		panic("test handler asked to panic")
	}
	if v, ok := h.vals[o.String()]; ok {
		return v
	}
	return agentx.NoSuchInstance()
}

func (h *mapHandler) Next(start agentx.OID, include bool, end agentx.OID) (agentx.VarBind, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i, found := slices.BinarySearchFunc(h.oids, start, agentx.OID.Compare)
	if found && !include {
		i++
	}
	if i >= len(h.oids) || (len(end) > 0 && h.oids[i].Compare(end) >= 0) {
		return agentx.VarBind{}, false
	}
	o := h.oids[i]
	return agentx.VarBind{Name: o, Value: h.vals[o.String()]}, true
}

func (h *mapHandler) TestSet(vbs []SetVarBind) (SetTx, *SetError) {
	h.tests.Add(1)
	if h.gate != nil {
		<-h.gate
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, vb := range vbs {
		if st, ok := h.failTest[vb.Name.String()]; ok {
			return nil, &SetError{Status: st, Index: vb.Index, Err: errors.New("refused by test")}
		}
	}
	return &mapTx{h: h, vbs: slices.Clone(vbs)}, nil
}

type mapTx struct {
	h   *mapHandler
	vbs []SetVarBind
	old map[string]agentx.Value
}

func (t *mapTx) Commit() *SetError {
	t.h.commits.Add(1)
	if t.h.failCommit {
		return &SetError{Status: agentx.CommitFailed, Index: t.vbs[0].Index, Err: errors.New("commit refused by test")}
	}
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	t.old = map[string]agentx.Value{}
	for _, vb := range t.vbs {
		t.old[vb.Name.String()] = t.h.vals[vb.Name.String()]
		t.h.set(vb.Name, vb.Value)
	}
	return nil
}

func (t *mapTx) Undo() *SetError {
	t.h.undos.Add(1)
	if t.h.failUndo {
		return &SetError{Status: agentx.UndoFailed, Index: 0}
	}
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	for k, v := range t.old {
		t.h.vals[k] = v
	}
	return nil
}

func (t *mapTx) Cleanup() { t.h.cleanups.Add(1) }
