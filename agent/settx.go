package agent

import (
	"tapagent/agent/agentx"
)

// txKey names a SET transaction of the master.
type txKey struct{ session, transaction uint32 }

type txState uint8

const (
	txTested       txState = iota // TestSet succeeded, waiting for CommitSet
	txCommitted                   // every part committed, waiting for CleanupSet
	txCommitFailed                // a part failed to commit, waiting for UndoSet
)

var txStateNames = [...]string{"tested", "committed", "commitFailed"}

func (s txState) String() string { return txStateNames[s] }

// setTransaction is one SET PDU split by handler.
type setTransaction struct {
	parts []txPart
	n     int // varbinds in the PDU, to keep error indexes in range
	state txState
}

// txPart is one handler's share of a SET.
type txPart struct {
	tx        SetTx
	firstIdx  int  // the share's first PDU index, for a handler's bad index
	committed bool // Commit succeeded
	failed    bool // Commit failed: what it left applied needs Undo
}

// setGroup collects one handler's varbinds during TestSet.
type setGroup struct {
	h   Handler
	id  int
	vbs []SetVarBind
}

// testSet splits the varbinds by handler, keeping their PDU index, and asks
// each handler to validate its share. The first refusal cleans up the shares
// already accepted and is answered with its index; otherwise the transaction
// is kept for CommitSet.
func (ss *session) testSet(p *agentx.PDU) {
	// One SET at a time per session: whatever this session left pending is
	// superseded (snmpd would have sent CleanupSet had it wanted it).
	for k, t := range ss.w.txs {
		ss.release(k, t, "superseded by a new TestSet")
	}
	n := len(p.VarBinds)
	var groups []setGroup
	for i, vb := range p.VarBinds {
		h, id := ss.sa.mux.lookup(vb.Name)
		if h == nil {
			// Nothing under this name can be created or written.
			ss.respond(&p.Header, agentx.NotWritable, uint16(i+1), nil)
			return
		}
		g := -1
		for j := range groups {
			if groups[j].id == id {
				g = j
				break
			}
		}
		if g < 0 {
			groups = append(groups, setGroup{h: h, id: id})
			g = len(groups) - 1
		}
		groups[g].vbs = append(groups[g].vbs, SetVarBind{Index: i + 1, VarBind: vb})
	}

	t := &setTransaction{n: n}
	settled := false
	defer func() {
		if !settled { // a handler panicked: release what was accepted
			cleanupParts(t.parts)
		}
	}()
	for _, g := range groups {
		tx, serr := g.h.TestSet(g.vbs)
		if serr != nil {
			settled = true
			cleanupParts(t.parts) // before answering: the master may go on at once
			status, idx := sanitizeStatus(serr.Status), sanitizeIndex(serr.Index, n, g.vbs[0].Index)
			ss.log().WithFields(txFields(p)).WithFields(setErrorFields(serr)).Debug("AgentX TestSet refused")
			ss.respond(&p.Header, status, idx, nil)
			return
		}
		if tx != nil {
			t.parts = append(t.parts, txPart{tx: tx, firstIdx: g.vbs[0].Index})
		}
	}
	settled = true
	ss.w.txs[txKey{p.SessionID, p.TransactionID}] = t
	ss.sa.liveTxs.Add(1)
	ss.respond(&p.Header, agentx.NoError, 0, nil)
}

// commitSet applies every share in order. A failure is answered with
// commitFailed; snmpd then sends UndoSet (and no CleanupSet).
func (ss *session) commitSet(p *agentx.PDU) {
	t := ss.w.txs[txKey{p.SessionID, p.TransactionID}]
	switch {
	case t == nil:
		ss.log().WithFields(txFields(p)).Warn("AgentX CommitSet for an unknown transaction")
		ss.respond(&p.Header, agentx.CommitFailed, 1, nil)
		return
	case t.state == txCommitted:
		ss.respond(&p.Header, agentx.NoError, 0, nil) // already applied: never twice
		return
	case t.state == txCommitFailed:
		ss.respond(&p.Header, agentx.CommitFailed, 1, nil)
		return
	}
	for i := range t.parts {
		part := &t.parts[i]
		if serr := part.tx.Commit(); serr != nil {
			part.failed = true
			t.state = txCommitFailed
			ss.log().WithFields(txFields(p)).WithFields(setErrorFields(serr)).Warn("AgentX CommitSet failed")
			ss.respond(&p.Header, agentx.CommitFailed, sanitizeIndex(serr.Index, t.n, part.firstIdx), nil)
			return
		}
		part.committed = true
	}
	t.state = txCommitted
	ss.respond(&p.Header, agentx.NoError, 0, nil)
}

// undoSet reverts a transaction, last share first, and forgets it. Shares
// that never committed are only released.
func (ss *session) undoSet(p *agentx.PDU) {
	k := txKey{p.SessionID, p.TransactionID}
	t := ss.w.txs[k]
	if t == nil {
		ss.log().WithFields(txFields(p)).Warn("AgentX UndoSet for an unknown transaction")
		ss.respond(&p.Header, agentx.UndoFailed, 1, nil)
		return
	}
	ss.forget(k)
	var failed *SetError
	failedIdx := 0
	for i := len(t.parts) - 1; i >= 0; i-- {
		part := &t.parts[i]
		if !part.committed && !part.failed {
			part.tx.Cleanup()
			continue
		}
		if serr := part.tx.Undo(); serr != nil && failed == nil {
			failed, failedIdx = serr, part.firstIdx
		}
	}
	if failed != nil {
		ss.log().WithFields(txFields(p)).WithFields(setErrorFields(failed)).Error("AgentX UndoSet failed: state may differ from before the SET")
		ss.respond(&p.Header, agentx.UndoFailed, sanitizeIndex(failed.Index, t.n, failedIdx), nil)
		return
	}
	ss.respond(&p.Header, agentx.NoError, 0, nil)
}

// cleanupSet releases a transaction. CleanupSet has no answer.
func (ss *session) cleanupSet(p *agentx.PDU) {
	k := txKey{p.SessionID, p.TransactionID}
	t := ss.w.txs[k]
	if t == nil {
		return // e.g. after our TestSet refusal: nothing was kept
	}
	if t.state == txCommitFailed {
		ss.log().WithFields(txFields(p)).Warn("AgentX CleanupSet after a failed commit: no undo was asked")
	}
	ss.forget(k)
	for _, part := range t.parts {
		part.tx.Cleanup()
	}
}

func cleanupParts(parts []txPart) {
	for _, part := range parts {
		part.tx.Cleanup()
	}
}

func (ss *session) forget(k txKey) {
	delete(ss.w.txs, k)
	ss.sa.liveTxs.Add(-1)
}

// release frees a transaction the master will never finish. Tested shares
// are simply dropped; committed ones stay applied, which is logged.
func (ss *session) release(k txKey, t *setTransaction, why string) {
	log := ss.log().WithField("transaction", k.transaction).WithField("reason", why)
	switch t.state {
	case txCommitted:
		log.Warn("AgentX SET committed but never cleaned up: its changes stay applied")
	case txCommitFailed:
		log.Error("AgentX SET failed to commit and was never undone: part of it may stay applied")
	default:
		log.Debug("AgentX tested SET released")
	}
	ss.forget(k)
	for _, part := range t.parts {
		part.tx.Cleanup()
	}
}

// releaseAll frees every transaction when the session ends.
func (ss *session) releaseAll(why string) {
	for k, t := range ss.w.txs {
		func() {
			defer func() {
				if r := recover(); r != nil {
					ss.log().WithField("panic", r).Error("AgentX transaction cleanup panicked")
				}
			}()
			ss.release(k, t, why)
		}()
	}
}
