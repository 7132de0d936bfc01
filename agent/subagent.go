package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent/agentx"
)

// Subagent is one AgentX subagent: it keeps a session with the master open
// (reconnecting as needed), registers the handlers' subtrees and serves the
// master's requests from them.
type Subagent struct {
	cfg     Config
	log     *logrus.Entry
	mux     *Mux
	running atomic.Bool

	mu    sync.Mutex
	live  *session      // the registered session, nil between sessions
	ready chan struct{} // closed while a session is registered

	connected atomic.Bool
	liveTxs   atomic.Int64
}

// ErrNotConnected is returned by Notify while no session is registered.
var ErrNotConnected = errors.New("agent: not connected to the AgentX master")

// New returns a subagent for cfg; zero fields take the documented defaults.
func New(cfg Config) *Subagent {
	cfg = cfg.withDefaults()
	return &Subagent{
		cfg:   cfg,
		log:   cfg.Logger.WithField("component", "agentx"),
		mux:   NewMux(),
		ready: make(chan struct{}),
	}
}

// Register adds a handler; its subtrees are registered with the master at
// every (re)connect. Call it before Run; a handler added while a session is
// live is registered on that session at once.
func (s *Subagent) Register(h Handler) error {
	s.mu.Lock()
	if err := s.mux.Handle(h); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("agent: register handler: %w", err)
	}
	live := s.live
	s.mu.Unlock()
	if live != nil {
		live.registerSubtrees(context.Background(), h.Subtrees())
	}
	return nil
}

// Mux returns the router the session answers from (for tests and tools).
func (s *Subagent) Mux() *Mux { return s.mux }

// Connected reports whether a session is open and registered.
func (s *Subagent) Connected() bool { return s.connected.Load() }

// Ready returns a channel that is closed once the current session is open
// and registered. After the session ends, Ready returns a fresh channel for
// the next one.
func (s *Subagent) Ready() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// LiveTransactions counts SET transactions the session holds (tested or
// committed, not yet cleaned up or undone). It is 0 between sessions.
func (s *Subagent) LiveTransactions() int { return int(s.liveTxs.Load()) }

// Run connects to the master and serves it until ctx is done, reconnecting
// with exponential backoff whenever the session ends. On ctx's end it
// unregisters, closes the session (reason shutdown) and returns nil. Errors
// that no retry can fix (a bad address) are returned at once.
func (s *Subagent) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("agent: Run is already running")
	}
	defer s.running.Store(false)
	ep, err := parseAddress(ctx, s.cfg.Address, s.cfg.AllowRemoteTCP)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	log := s.log.WithField("master", ep.String())
	backoff := s.cfg.ReconnectMin
	for {
		registered, err := s.runSession(ctx, ep, log)
		if ctx.Err() != nil {
			return nil
		}
		if registered {
			backoff = s.cfg.ReconnectMin // it worked: retry quickly
		}
		wait := jitter(backoff)
		log.WithError(err).WithField("retry_in", wait.Round(time.Millisecond)).Warn("AgentX session ended")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, s.cfg.ReconnectMax)
	}
}

// jitter spreads reconnects of several subagents by ±20 %.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

// runSession runs one connection from dial to end. registered reports
// whether the session got as far as registering.
func (s *Subagent) runSession(ctx context.Context, ep endpoint, log *logrus.Entry) (registered bool, err error) {
	dialer := net.Dialer{Timeout: s.cfg.RequestTimeout}
	conn, err := dialer.DialContext(ctx, ep.network, ep.address)
	if err != nil {
		return false, fmt.Errorf("connect to AgentX master: %w", err)
	}
	ss := newSession(s, conn, log)
	ss.start()
	defer ss.stop()

	if err := ss.open(ctx); err != nil {
		return false, err
	}
	ss.registerSubtrees(ctx, s.mux.Subtrees())
	if ctx.Err() != nil {
		ss.shutdown()
		return true, ctx.Err()
	}
	s.setLive(ss)
	defer s.clearLive(ss)
	ss.startPing()

	// A subtree the master refused (another subagent holds it) is asked
	// for again now and then, so it is served once it is free.
	retry := time.NewTicker(registerRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			ss.shutdown()
			return true, ctx.Err()
		case <-ss.done:
			return true, ss.err()
		case <-retry.C:
			if missing := ss.unregistered(s.mux.Subtrees()); len(missing) > 0 {
				ss.registerSubtrees(ctx, missing)
			}
		}
	}
}

// registerRetry is how often refused registrations are tried again.
var registerRetry = 5 * time.Second

// setLive publishes ss and registers what Register added meanwhile.
func (s *Subagent) setLive(ss *session) {
	s.mu.Lock()
	missing := ss.unregistered(s.mux.Subtrees())
	s.live = ss
	s.connected.Store(true)
	close(s.ready)
	s.mu.Unlock()
	if len(missing) > 0 {
		ss.registerSubtrees(context.Background(), missing)
	}
	ss.log().Info("AgentX session registered")
}

func (s *Subagent) clearLive(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != ss {
		return
	}
	s.live = nil
	s.connected.Store(false)
	s.ready = make(chan struct{})
}

func (s *Subagent) liveSession() *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Well-known notification objects (SNMPv2-MIB).
var (
	SysUpTime0    = agentx.OID{1, 3, 6, 1, 2, 1, 1, 3, 0}
	SnmpTrapOID0  = agentx.OID{1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0}
	errNotifyForm = errors.New("agent: a notification starts with sysUpTime.0 (TimeTicks) then snmpTrapOID.0, or with snmpTrapOID.0 (ObjectIdentifier)")
)

// Notify sends a notification through the master to its trap sinks. vbs
// starts with sysUpTime.0 then snmpTrapOID.0, or with snmpTrapOID.0 alone
// (snmpd adds sysUpTime); any other order is refused here, before sending,
// as snmpd would refuse it (processingError).
func (s *Subagent) Notify(ctx context.Context, vbs []agentx.VarBind) error {
	if err := checkNotifyOrder(vbs); err != nil {
		return err
	}
	ss := s.liveSession()
	if ss == nil {
		return ErrNotConnected
	}
	resp, err := ss.request(ctx, &agentx.PDU{Header: agentx.Header{Type: agentx.PDUNotify}, VarBinds: vbs})
	if err != nil {
		return fmt.Errorf("agent: notify: %w", err)
	}
	if resp.Error != agentx.NoError {
		return fmt.Errorf("agent: notify refused by the master: %s (varbind %d)", resp.Error, resp.Index)
	}
	return nil
}

func checkNotifyOrder(vbs []agentx.VarBind) error {
	trap := 0
	if len(vbs) > 0 && vbs[0].Name.Equal(SysUpTime0) {
		if vbs[0].Value.Type != agentx.TypeTimeTicks {
			return fmt.Errorf("%w: sysUpTime.0 is %s", errNotifyForm, vbs[0].Value.Type)
		}
		trap = 1
	}
	if len(vbs) <= trap || !vbs[trap].Name.Equal(SnmpTrapOID0) {
		return errNotifyForm
	}
	if vbs[trap].Value.Type != agentx.TypeObjectIdentifier {
		return fmt.Errorf("%w: snmpTrapOID.0 is %s", errNotifyForm, vbs[trap].Value.Type)
	}
	return nil
}
