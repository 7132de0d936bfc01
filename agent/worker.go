package agent

import (
	"runtime/debug"

	"github.com/sirupsen/logrus"

	"tapagent/agent/agentx"
)

// worker is the state only the worker goroutine touches: SET transactions
// and reused answer buffers.
type worker struct {
	txs   map[txKey]*setTransaction
	resp  agentx.PDU
	vbs   []agentx.VarBind
	batch []work
	bulk  []agentx.SearchRange
}

// workLoop answers the master's requests one at a time, in arrival order.
// On the way out it frees every transaction: the session is gone.
func (ss *session) workLoop() {
	defer ss.wg.Done()
	defer ss.releaseAll("session ended")
	for {
		select {
		case <-ss.done:
			return
		case <-ss.queue.signal:
		}
		ss.w.batch = ss.queue.swap(ss.w.batch)
		for i := range ss.w.batch {
			select {
			case <-ss.done:
				return
			default:
			}
			w := &ss.w.batch[i]
			ss.serve(w)
		}
		clear(ss.w.batch) // drop references to served PDUs
	}
}

// serve answers one request; a panicking handler costs that request a
// genErr, not the whole agent.
func (ss *session) serve(w *work) {
	defer func() {
		if r := recover(); r != nil {
			ss.log().WithFields(logrus.Fields{"type": w.hdr.Type.String(), "panic": r,
				"stack": string(debug.Stack())}).Error("AgentX handler panicked")
			if w.hdr.Type != agentx.PDUCleanupSet {
				ss.respond(&w.hdr, agentx.GenErr, 1, nil)
			}
		}
	}()
	if w.pdu == nil {
		ss.respond(&w.hdr, w.status, 1, nil)
		return
	}
	p := w.pdu
	if p.SessionID != ss.id.Load() {
		ss.respond(&p.Header, agentx.NotOpen, 1, nil)
		return
	}
	switch p.Type {
	case agentx.PDUGet:
		ss.get(p)
	case agentx.PDUGetNext:
		ss.getNext(p)
	case agentx.PDUGetBulk:
		ss.getBulk(p)
	case agentx.PDUTestSet:
		ss.testSet(p)
	case agentx.PDUCommitSet:
		ss.commitSet(p)
	case agentx.PDUUndoSet:
		ss.undoSet(p)
	case agentx.PDUCleanupSet:
		ss.cleanupSet(p)
	case agentx.PDUPing:
		ss.respond(&p.Header, agentx.NoError, 0, nil)
	default:
		// Open, Register, Notify, index and caps PDUs are for a master.
		ss.log().WithField("type", p.Type.String()).Warn("AgentX request a subagent does not serve")
		ss.respond(&p.Header, agentx.ProcessingError, 1, nil)
	}
}

// respond answers the request req in the byte order the request used. An
// answer that cannot be encoded (a handler produced a bad value) becomes a
// genErr so the master is not left waiting.
func (ss *session) respond(req *agentx.Header, status agentx.ErrorStatus, index uint16, vbs []agentx.VarBind) {
	r := &ss.w.resp
	*r = agentx.PDU{
		Header: agentx.Header{
			Version:       agentx.Version,
			Type:          agentx.PDUResponse,
			Flags:         req.Flags & agentx.FlagNetworkByteOrder,
			SessionID:     req.SessionID,
			TransactionID: req.TransactionID,
			PacketID:      req.PacketID,
		},
		Error:    status,
		Index:    index,
		VarBinds: vbs,
	}
	err := ss.send(r)
	if err != nil && len(vbs) > 0 {
		ss.log().WithError(err).WithField("type", req.Type.String()).Error("AgentX answer not encodable: sending genErr")
		r.VarBinds, r.Error, r.Index = nil, agentx.GenErr, 1
		err = ss.send(r)
	}
	if err != nil {
		ss.log().WithError(err).Debug("AgentX answer not sent")
	}
	r.VarBinds = nil
}

// answerVarBinds sends vbs (the worker's reused slice) and keeps the storage.
func (ss *session) answerVarBinds(p *agentx.PDU, vbs []agentx.VarBind) {
	ss.respond(&p.Header, agentx.NoError, 0, vbs)
	clear(vbs)
	ss.w.vbs = vbs[:0]
}

func (ss *session) get(p *agentx.PDU) {
	vbs := ss.w.vbs[:0]
	for _, r := range p.Ranges {
		vbs = append(vbs, agentx.VarBind{Name: r.Start, Value: ss.sa.mux.Get(r.Start)})
	}
	ss.answerVarBinds(p, vbs)
}

// next answers one search range: endOfMibView named after the start when
// the range holds nothing (RFC 2741 §7.2.3.2).
func (ss *session) next(r agentx.SearchRange) agentx.VarBind {
	if vb, ok := ss.sa.mux.Next(r.Start, r.Include, r.End); ok {
		return vb
	}
	return agentx.VarBind{Name: r.Start, Value: agentx.EndOfMibView()}
}

func (ss *session) getNext(p *agentx.PDU) {
	vbs := ss.w.vbs[:0]
	for _, r := range p.Ranges {
		vbs = append(vbs, ss.next(r))
	}
	ss.answerVarBinds(p, vbs)
}

// getBulk follows RFC 2741 §7.2.3.3: the first NonRepeaters ranges once,
// then up to MaxRepetitions rounds over the others, each round continuing
// after the previous round's answer. It stops early when every repeater
// has run out, or at MaxBulkVarBinds.
func (ss *session) getBulk(p *agentx.PDU) {
	vbs := ss.w.vbs[:0]
	nonRep := min(int(p.NonRepeaters), len(p.Ranges))
	for _, r := range p.Ranges[:nonRep] {
		vbs = append(vbs, ss.next(r))
	}
	reps := append(ss.w.bulk[:0], p.Ranges[nonRep:]...)
	limit := ss.cfg.MaxBulkVarBinds
	for round := 0; round < int(p.MaxRepetitions) && len(reps) > 0 && len(vbs)+len(reps) <= limit; round++ {
		anyLeft := false
		for i := range reps {
			r := &reps[i]
			vb := ss.next(*r)
			if vb.Value.Type != agentx.TypeEndOfMibView {
				r.Start, r.Include = vb.Name, false
				anyLeft = true
			}
			vbs = append(vbs, vb)
		}
		if !anyLeft {
			break
		}
	}
	ss.w.bulk = reps[:0]
	ss.answerVarBinds(p, vbs)
}

// sanitizeStatus keeps a handler's SET error within the SNMP error-status
// values snmpd passes on (1–18); anything else would reach the manager as a
// raw or genErr code.
func sanitizeStatus(s agentx.ErrorStatus) agentx.ErrorStatus {
	if s >= agentx.TooBig && s <= agentx.InconsistentName {
		return s
	}
	return agentx.GenErr
}

// sanitizeIndex keeps an error index within 1..n: snmpd turns index 0 (or
// one out of range) into genErr on varbind 1.
func sanitizeIndex(idx, n, fallback int) uint16 {
	if idx >= 1 && idx <= n {
		return uint16(idx)
	}
	if fallback >= 1 && fallback <= n {
		return uint16(fallback)
	}
	return 1
}

func setErrorFields(e *SetError) logrus.Fields {
	f := logrus.Fields{"status": e.Status.String(), "index": e.Index}
	if e.Err != nil {
		f["detail"] = e.Err.Error()
	}
	return f
}

func txFields(p *agentx.PDU) logrus.Fields {
	return logrus.Fields{"transaction": p.TransactionID, "packet": p.PacketID}
}
