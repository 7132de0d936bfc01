package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent/agentx"
)

// writeTimeout bounds one write to the master; a master that stops reading
// for this long is treated as dead.
const writeTimeout = 5 * time.Second

// shutdownTimeout bounds the goodbye (Unregister, Close) on ctx's end.
const shutdownTimeout = time.Second

// errSessionStopped ends a session we stopped ourselves.
var errSessionStopped = errors.New("session stopped")

// MasterClosedError reports that the master closed the session.
type MasterClosedError struct{ Reason agentx.CloseReason }

func (e *MasterClosedError) Error() string {
	return fmt.Sprintf("master closed the session (reason %d)", e.Reason)
}

// session is one connection to the master. One reader goroutine frames and
// decodes PDUs; one worker goroutine answers the master's requests in order;
// writes from any goroutine are serialised by wmu.
type session struct {
	sa   *Subagent
	cfg  *Config
	logp atomic.Pointer[logrus.Entry] // gains the session id after Open
	conn net.Conn
	br   *bufio.Reader

	id       atomic.Uint32 // h.sessionID the master assigned in Open's answer
	packetID atomic.Uint32 // last packet id of our own requests

	wmu  sync.Mutex
	wbuf []byte

	pmu     sync.Mutex
	pending map[uint32]chan *agentx.PDU // our requests awaiting an answer

	regMu      sync.Mutex
	registered []agentx.OID

	queue workQueue

	done     chan struct{}
	doneOnce sync.Once
	doneErr  error

	wg sync.WaitGroup

	w worker // state owned by the worker goroutine
}

func newSession(sa *Subagent, conn net.Conn, log *logrus.Entry) *session {
	ss := &session{
		sa:      sa,
		cfg:     &sa.cfg,
		conn:    conn,
		br:      bufio.NewReaderSize(conn, 16<<10),
		pending: make(map[uint32]chan *agentx.PDU),
		queue:   workQueue{signal: make(chan struct{}, 1)},
		done:    make(chan struct{}),
	}
	ss.logp.Store(log)
	ss.w.txs = make(map[txKey]*setTransaction)
	return ss
}

func (ss *session) log() *logrus.Entry { return ss.logp.Load() }

func (ss *session) start() {
	ss.wg.Add(2)
	go ss.readLoop()
	go ss.workLoop()
}

// stop ends the session and waits until the reader and the worker are gone
// (the worker frees every transaction on its way out).
func (ss *session) stop() {
	ss.fail(errSessionStopped)
	ss.wg.Wait()
}

// fail ends the session with err (the first error wins) and closes the
// connection, which unblocks the reader.
func (ss *session) fail(err error) {
	ss.doneOnce.Do(func() {
		ss.doneErr = err
		close(ss.done)
		_ = ss.conn.Close()
	})
}

func (ss *session) err() error {
	<-ss.done
	return ss.doneErr
}

// send encodes p and writes it in one piece.
func (ss *session) send(p *agentx.PDU) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	b, err := agentx.Encode(ss.wbuf[:0], p)
	if err != nil {
		return fmt.Errorf("encode %s: %w", p.Type, err)
	}
	ss.wbuf = b
	_ = ss.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := ss.conn.Write(b); err != nil {
		err = fmt.Errorf("write %s: %w", p.Type, err)
		ss.fail(err)
		return err
	}
	return nil
}

// ourHeader fills the header of a PDU we originate.
func (ss *session) ourHeader(p *agentx.PDU) {
	p.Version = agentx.Version
	p.SessionID = ss.id.Load()
	p.PacketID = ss.packetID.Add(1)
	if ss.cfg.NetworkByteOrder {
		p.Flags |= agentx.FlagNetworkByteOrder
	}
	if ss.cfg.Context != nil && p.Type.CarriesContext() {
		p.Flags |= agentx.FlagNonDefaultContext
		p.Context = ss.cfg.Context
	}
}

// request sends one of our PDUs and waits for the master's Response with the
// same packet id.
func (ss *session) request(ctx context.Context, p *agentx.PDU) (*agentx.PDU, error) {
	ss.ourHeader(p)
	ch := make(chan *agentx.PDU, 1)
	ss.pmu.Lock()
	ss.pending[p.PacketID] = ch
	ss.pmu.Unlock()
	defer func() {
		ss.pmu.Lock()
		delete(ss.pending, p.PacketID)
		ss.pmu.Unlock()
	}()
	if err := ss.send(p); err != nil {
		return nil, err
	}
	t := time.NewTimer(ss.cfg.RequestTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-t.C:
		return nil, fmt.Errorf("%s: no answer from the master within %s", p.Type, ss.cfg.RequestTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", p.Type, ctx.Err())
	case <-ss.done:
		return nil, fmt.Errorf("%s: session ended: %w", p.Type, ss.doneErr)
	}
}

// deliver hands a Response to the request waiting for it.
func (ss *session) deliver(p *agentx.PDU) {
	ss.pmu.Lock()
	ch := ss.pending[p.PacketID]
	ss.pmu.Unlock()
	if ch == nil {
		ss.log().WithField("packet", p.PacketID).Debug("AgentX response to no pending request dropped")
		return
	}
	select {
	case ch <- p:
	default: // a second answer to the same packet: the first one counts
	}
}

// open sends the Open PDU and adopts the session id the master assigns.
func (ss *session) open(ctx context.Context) error {
	resp, err := ss.request(ctx, &agentx.PDU{
		Header:  agentx.Header{Type: agentx.PDUOpen},
		Timeout: ss.cfg.openTimeout(),
		ID:      ss.cfg.ID,
		Descr:   []byte(ss.cfg.Descr),
	})
	if err != nil {
		return fmt.Errorf("open AgentX session: %w", err)
	}
	if resp.Error != agentx.NoError {
		return fmt.Errorf("open AgentX session: master answered %s", resp.Error)
	}
	ss.id.Store(resp.SessionID)
	ss.logp.Store(ss.log().WithField("session", resp.SessionID))
	return nil
}

// registerSubtrees registers each subtree; a refusal (duplicateRegistration
// from another subagent, say) is logged and the others still go ahead.
func (ss *session) registerSubtrees(ctx context.Context, subtrees []agentx.OID) {
	for _, st := range subtrees {
		log := ss.log().WithField("subtree", st.String())
		resp, err := ss.request(ctx, &agentx.PDU{
			Header:   agentx.Header{Type: agentx.PDURegister},
			Priority: ss.cfg.Priority,
			Subtree:  st,
		})
		switch {
		case err != nil:
			log.WithError(err).Error("AgentX register failed")
		case resp.Error != agentx.NoError:
			log.WithField("error", resp.Error.String()).Error("AgentX master refused the registration")
		default:
			ss.regMu.Lock()
			ss.registered = append(ss.registered, st)
			ss.regMu.Unlock()
			log.Debug("AgentX subtree registered")
		}
	}
}

// unregistered returns the subtrees of want not registered on this session.
func (ss *session) unregistered(want []agentx.OID) []agentx.OID {
	ss.regMu.Lock()
	defer ss.regMu.Unlock()
	var missing []agentx.OID
next:
	for _, st := range want {
		for _, r := range ss.registered {
			if r.Equal(st) {
				continue next
			}
		}
		missing = append(missing, st)
	}
	return missing
}

// shutdown says goodbye: Unregister everything, then Close (shutdown). The
// master may answer or just hang up; either way we are done.
func (ss *session) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	ss.regMu.Lock()
	subtrees := append([]agentx.OID(nil), ss.registered...)
	ss.regMu.Unlock()
	for _, st := range subtrees {
		if _, err := ss.request(ctx, &agentx.PDU{
			Header:   agentx.Header{Type: agentx.PDUUnregister},
			Priority: ss.cfg.Priority,
			Subtree:  st,
		}); err != nil {
			ss.log().WithError(err).WithField("subtree", st.String()).Debug("AgentX unregister failed")
			break
		}
	}
	if _, err := ss.request(ctx, &agentx.PDU{
		Header: agentx.Header{Type: agentx.PDUClose},
		Reason: agentx.ReasonShutdown,
	}); err != nil {
		ss.log().WithError(err).Debug("AgentX close not acknowledged")
	}
	ss.log().Info("AgentX session closed (shutdown)")
	ss.fail(errSessionStopped)
}

// closeWith sends a Close PDU without waiting and ends the session.
func (ss *session) closeWith(reason agentx.CloseReason, err error) {
	p := &agentx.PDU{Header: agentx.Header{Type: agentx.PDUClose}, Reason: reason}
	ss.ourHeader(p)
	_ = ss.send(p)
	ss.fail(err)
}

// startPing checks the master's liveness every PingInterval: a master that
// stopped answering (hung, or gone without closing the socket) ends the
// session so Run reconnects.
func (ss *session) startPing() {
	if ss.cfg.PingInterval < 0 {
		return
	}
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		t := time.NewTicker(ss.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-ss.done:
				return
			case <-t.C:
			}
			resp, err := ss.request(context.Background(), &agentx.PDU{Header: agentx.Header{Type: agentx.PDUPing}})
			if err == nil && resp.Error != agentx.NoError {
				err = fmt.Errorf("master answered %s", resp.Error)
			}
			if err != nil {
				ss.fail(fmt.Errorf("ping: %w", err))
				return
			}
		}
	}()
}

// readLoop frames and decodes everything the master sends. Answers to our
// requests go to their waiters; requests go to the worker's queue, minus
// resends of requests already seen. Decode copies out of the frame, so one
// buffer serves the connection's lifetime.
func (ss *session) readLoop() {
	defer ss.wg.Done()
	recent := newRecentRequests(recentRequestsSize)
	buf := make([]byte, 0, 4096)
	for {
		frame, err := agentx.ReadFrame(ss.br, buf, maxPayload)
		if err != nil {
			ss.readFailed(err)
			return
		}
		buf = frame[:0] // keep a grown buffer
		hdr, herr := agentx.DecodeHeader(frame)
		if herr != nil {
			if hdr.Version == agentx.Version && !hdr.Type.Valid() {
				// Framing is intact: answer the unknown type, keep going.
				ss.log().WithField("type", uint8(hdr.Type)).Warn("unknown AgentX PDU type")
				ss.enqueue(work{hdr: hdr, status: agentx.ParseError})
				continue
			}
			ss.readFailed(herr)
			return
		}
		switch hdr.Type {
		case agentx.PDUResponse:
			if p, err := agentx.Decode(frame); err == nil {
				ss.deliver(p)
			} else {
				ss.log().WithError(err).Warn("undecodable AgentX response dropped")
			}
			continue
		case agentx.PDUClose:
			reason := agentx.ReasonOther
			if p, err := agentx.Decode(frame); err == nil {
				reason = p.Reason
			}
			ss.fail(&MasterClosedError{Reason: reason})
			return
		}
		if !recent.firstTime(keyOf(&hdr)) {
			if ss.log().Logger.IsLevelEnabled(logrus.DebugLevel) {
				ss.log().WithFields(logrus.Fields{"type": hdr.Type.String(), "packet": hdr.PacketID,
					"transaction": hdr.TransactionID}).Debug("AgentX resend of a request already seen: dropped")
			}
			continue
		}
		p, err := agentx.Decode(frame)
		if err != nil {
			ss.log().WithError(err).WithField("type", hdr.Type.String()).Warn("undecodable AgentX request")
			ss.enqueue(work{hdr: hdr, status: agentx.ParseError})
			continue
		}
		ss.enqueue(work{hdr: hdr, pdu: p})
	}
}

// readFailed ends the session after a read error. A malformed frame means
// the stream can no longer be trusted: tell the master (Close parseError)
// before hanging up.
func (ss *session) readFailed(err error) {
	select {
	case <-ss.done:
		return // we closed the connection ourselves
	default:
	}
	if errors.Is(err, agentx.ErrParse) {
		ss.log().WithError(err).Error("malformed AgentX frame: closing the session")
		ss.closeWith(agentx.ReasonParseError, fmt.Errorf("malformed frame from the master: %w", err))
		return
	}
	ss.fail(fmt.Errorf("read from the master: %w", err))
}

func (ss *session) enqueue(w work) {
	if !ss.queue.push(w) {
		ss.log().WithField("type", w.hdr.Type.String()).Warn("AgentX request queue full: request dropped")
	}
}

// work is one request for the worker. pdu is nil when the request could
// not be decoded; status then says what to answer.
type work struct {
	hdr    agentx.Header
	pdu    *agentx.PDU
	status agentx.ErrorStatus
}

// maxQueued bounds the backlog; snmpd keeps only a handful of requests
// outstanding, so hitting this means the worker is wedged.
const maxQueued = 4096

// workQueue hands requests from the reader to the worker without ever
// blocking the reader.
type workQueue struct {
	mu     sync.Mutex
	items  []work
	signal chan struct{}
}

func (q *workQueue) push(w work) bool {
	q.mu.Lock()
	if len(q.items) >= maxQueued {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, w)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// swap takes every queued item, giving spare back as the new queue storage.
func (q *workQueue) swap(spare []work) []work {
	q.mu.Lock()
	items := q.items
	q.items = spare[:0]
	q.mu.Unlock()
	return items
}
