package fakemaster

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"tapagent/agent/agentx"
)

// DefaultWait bounds every wait of the helpers.
const DefaultWait = 3 * time.Second

// Master listens for subagents.
type Master struct {
	ln    net.Listener
	path  string
	conns chan net.Conn

	// NetworkByteOrder selects the byte order of the master's own PDUs on
	// connections accepted afterwards.
	NetworkByteOrder bool

	// RefuseRegistrations answers that many Register PDUs (on any
	// connection) with duplicateRegistration before accepting again.
	RefuseRegistrations atomic.Int32

	nextSession atomic.Uint32
	closeOnce   sync.Once
}

// Listen starts a master on dir/agentx.sock.
func Listen(dir string) (*Master, error) {
	path := filepath.Join(dir, "agentx.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("fakemaster: listen on %s: %w", path, err)
	}
	m := &Master{ln: ln, path: path, conns: make(chan net.Conn, 16)}
	m.nextSession.Store(100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(m.conns)
				return
			}
			m.conns <- c
		}
	}()
	return m, nil
}

// Address is the subagent's Config.Address for this master.
func (m *Master) Address() string { return "unix:" + m.path }

// Close stops listening; accepted connections stay open.
func (m *Master) Close() error {
	var err error
	m.closeOnce.Do(func() { err = m.ln.Close() })
	return err
}

// Accept waits for the next subagent, reads its Open and answers it with a
// fresh session id. Later PDUs are read by a background goroutine.
func (m *Master) Accept(wait time.Duration) (*Conn, error) {
	var nc net.Conn
	select {
	case c, ok := <-m.conns:
		if !ok {
			return nil, errors.New("fakemaster: listener closed")
		}
		nc = c
	case <-time.After(wait):
		return nil, errors.New("fakemaster: no subagent connected in time")
	}
	c := &Conn{
		refuse:    &m.RefuseRegistrations,
		nc:        nc,
		br:        bufio.NewReader(nc),
		NBO:       m.NetworkByteOrder,
		SessionID: m.nextSession.Add(1),
		responses: make(chan *agentx.PDU, 64),
		requests:  make(chan *agentx.PDU, 64),
		done:      make(chan struct{}),
	}
	c.answerPings.Store(true)
	_ = nc.SetReadDeadline(time.Now().Add(wait))
	frame, err := agentx.ReadFrame(c.br, nil, 1<<20)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("fakemaster: read Open: %w", err)
	}
	_ = nc.SetReadDeadline(time.Time{})
	open, err := agentx.Decode(frame)
	if err != nil || open.Type != agentx.PDUOpen {
		nc.Close()
		return nil, fmt.Errorf("fakemaster: first PDU is not an Open (%v): %w", open, err)
	}
	c.Open = open
	if err := c.answer(&open.Header, agentx.NoError); err != nil {
		nc.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// Conn is the master's side of one subagent session.
type Conn struct {
	nc net.Conn
	br *bufio.Reader

	// NBO is the byte order of the master's PDUs on this connection.
	NBO       bool
	SessionID uint32
	// Open is the subagent's Open PDU.
	Open *agentx.PDU

	refuse      *atomic.Int32
	packetID    atomic.Uint32
	answerPings atomic.Bool
	wmu         sync.Mutex
	wbuf        []byte

	responses chan *agentx.PDU // answers to the master's requests
	requests  chan *agentx.PDU // PDUs the subagent originated
	done      chan struct{}    // closed when the subagent's side is gone
	readErr   error
}

// SetAnswerPings turns the automatic answer to the subagent's Pings on or off.
func (c *Conn) SetAnswerPings(on bool) { c.answerPings.Store(on) }

func (c *Conn) readLoop() {
	defer close(c.done)
	var buf []byte // Decode copies out of the frame: one buffer will do
	for {
		frame, err := agentx.ReadFrame(c.br, buf, 1<<20)
		if err != nil {
			c.readErr = err
			return
		}
		buf = frame[:0]
		p, err := agentx.Decode(frame)
		if err != nil {
			c.readErr = fmt.Errorf("fakemaster: undecodable PDU from the subagent: %w", err)
			return
		}
		if p.Type == agentx.PDUResponse {
			c.responses <- p
			continue
		}
		switch p.Type {
		case agentx.PDURegister:
			status := agentx.NoError
			if c.refuse.Add(-1) >= 0 {
				status = agentx.DuplicateRegistration
			} else {
				c.refuse.Store(0)
			}
			_ = c.answer(&p.Header, status)
		case agentx.PDUUnregister, agentx.PDUNotify, agentx.PDUClose:
			_ = c.answer(&p.Header, agentx.NoError)
		case agentx.PDUPing:
			if c.answerPings.Load() {
				_ = c.answer(&p.Header, agentx.NoError)
			}
		}
		select {
		case c.requests <- p:
		default: // nobody is looking; keep the reader going
		}
	}
}

// answer sends a Response to a subagent PDU in that PDU's byte order.
func (c *Conn) answer(h *agentx.Header, status agentx.ErrorStatus) error {
	sid := h.SessionID
	if h.Type == agentx.PDUOpen {
		sid = c.SessionID
	}
	return c.write(&agentx.PDU{
		Header: agentx.Header{Version: agentx.Version, Type: agentx.PDUResponse,
			Flags: h.Flags & agentx.FlagNetworkByteOrder, SessionID: sid,
			TransactionID: h.TransactionID, PacketID: h.PacketID},
		Error: status,
	})
}

func (c *Conn) write(p *agentx.PDU) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := agentx.Encode(c.wbuf[:0], p)
	if err != nil {
		return fmt.Errorf("fakemaster: %w", err)
	}
	c.wbuf = b
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("fakemaster: write: %w", err)
	}
	return nil
}

// WriteRaw writes bytes as they are (garbage frames, split frames).
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("fakemaster: write: %w", err)
	}
	return nil
}

// Send completes p's header (version, this session, byte order, a fresh
// packet id unless one is set) and writes it. It returns the packet id.
func (c *Conn) Send(p *agentx.PDU) (uint32, error) {
	p.Version = agentx.Version
	if p.SessionID == 0 {
		p.SessionID = c.SessionID
	}
	if p.PacketID == 0 {
		p.PacketID = c.packetID.Add(1)
	}
	if c.NBO {
		p.Flags |= agentx.FlagNetworkByteOrder
	}
	return p.PacketID, c.write(p)
}

// Response waits for the subagent's next answer.
func (c *Conn) Response(wait time.Duration) (*agentx.PDU, error) {
	select {
	case r := <-c.responses:
		return r, nil
	case <-time.After(wait):
		return nil, errors.New("fakemaster: no response in time")
	case <-c.done:
		select {
		case r := <-c.responses:
			return r, nil
		default:
		}
		return nil, fmt.Errorf("fakemaster: subagent gone: %w", c.readErr)
	}
}

// NoResponse reports an error if the subagent answers within wait.
func (c *Conn) NoResponse(wait time.Duration) error {
	select {
	case r := <-c.responses:
		return fmt.Errorf("fakemaster: unexpected response to packet %d (error %s)", r.PacketID, r.Error)
	case <-time.After(wait):
		return nil
	}
}

// Roundtrip sends p and waits for the answer with its packet id.
func (c *Conn) Roundtrip(p *agentx.PDU) (*agentx.PDU, error) {
	id, err := c.Send(p)
	if err != nil {
		return nil, err
	}
	r, err := c.Response(DefaultWait)
	if err != nil {
		return nil, fmt.Errorf("%s packet %d: %w", p.Type, id, err)
	}
	if r.PacketID != id {
		return nil, fmt.Errorf("fakemaster: answer for packet %d, want %d", r.PacketID, id)
	}
	return r, nil
}

// Request waits for the next PDU the subagent originated (Register, Notify,
// Ping, Unregister, Close…), already answered where the type needs it.
func (c *Conn) Request(wait time.Duration) (*agentx.PDU, error) {
	select {
	case p := <-c.requests:
		return p, nil
	case <-time.After(wait):
		return nil, errors.New("fakemaster: no PDU from the subagent in time")
	case <-c.done:
		select {
		case p := <-c.requests:
			return p, nil
		default:
		}
		return nil, fmt.Errorf("fakemaster: subagent gone: %w", c.readErr)
	}
}

// Registrations reads n Register PDUs.
func (c *Conn) Registrations(n int) ([]*agentx.PDU, error) {
	var out []*agentx.PDU
	for len(out) < n {
		p, err := c.Request(DefaultWait)
		if err != nil {
			return out, err
		}
		if p.Type != agentx.PDURegister {
			return out, fmt.Errorf("fakemaster: got %s while waiting for Register", p.Type)
		}
		out = append(out, p)
	}
	return out, nil
}

// WaitGone waits until the subagent's side of the connection is closed.
func (c *Conn) WaitGone(wait time.Duration) error {
	select {
	case <-c.done:
		return nil
	case <-time.After(wait):
		return errors.New("fakemaster: subagent still connected")
	}
}

// Close drops the connection without a Close PDU (a crashed master).
func (c *Conn) Close() error { return c.nc.Close() }

// CloseSession sends a Close PDU with reason, then drops the connection.
func (c *Conn) CloseSession(reason agentx.CloseReason) error {
	_, err := c.Send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUClose}, Reason: reason})
	c.nc.Close()
	return err
}

// Get asks for the exact OIDs.
func (c *Conn) Get(oids ...agentx.OID) (*agentx.PDU, error) {
	p := &agentx.PDU{Header: agentx.Header{Type: agentx.PDUGet}}
	for _, o := range oids {
		p.Ranges = append(p.Ranges, agentx.SearchRange{Start: o})
	}
	return c.Roundtrip(p)
}

// GetNext asks for the first instance of each range.
func (c *Conn) GetNext(ranges ...agentx.SearchRange) (*agentx.PDU, error) {
	return c.Roundtrip(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUGetNext}, Ranges: ranges})
}

// GetBulk sends a GetBulk PDU.
func (c *Conn) GetBulk(nonRepeaters, maxRepetitions uint16, ranges ...agentx.SearchRange) (*agentx.PDU, error) {
	return c.Roundtrip(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUGetBulk},
		NonRepeaters: nonRepeaters, MaxRepetitions: maxRepetitions, Ranges: ranges})
}

// TestSet sends the first SET phase of transaction tid.
func (c *Conn) TestSet(tid uint32, vbs ...agentx.VarBind) (*agentx.PDU, error) {
	return c.Roundtrip(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUTestSet, TransactionID: tid}, VarBinds: vbs})
}

// CommitSet sends the commit phase of transaction tid.
func (c *Conn) CommitSet(tid uint32) (*agentx.PDU, error) {
	return c.Roundtrip(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUCommitSet, TransactionID: tid}})
}

// UndoSet sends the undo phase of transaction tid.
func (c *Conn) UndoSet(tid uint32) (*agentx.PDU, error) {
	return c.Roundtrip(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUUndoSet, TransactionID: tid}})
}

// CleanupSet sends the last phase of transaction tid; it has no answer.
func (c *Conn) CleanupSet(tid uint32) error {
	_, err := c.Send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUCleanupSet, TransactionID: tid}})
	return err
}
