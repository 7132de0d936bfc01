package agent

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent/agentx"
	"tapagent/agent/internal/fakemaster"
)

const wait = fakemaster.DefaultWait

// rig is a subagent running against a fake master, connected and registered.
type rig struct {
	t  testing.TB
	m  *fakemaster.Master
	sa *Subagent
	c  *fakemaster.Conn
	// registrations are the Register PDUs of the first connection.
	registrations []*agentx.PDU
	cancel        context.CancelFunc
	done          chan error
}

// testLogger logs through t while the test runs and drops lines afterwards.
func testLogger(t testing.TB) *logrus.Entry {
	var over atomic.Bool
	t.Cleanup(func() { over.Store(true) })
	l := logrus.New()
	l.SetLevel(logrus.DebugLevel)
	l.SetOutput(writerFunc(func(b []byte) (int, error) {
		if !over.Load() && os.Getenv("AGENT_TEST_LOG") != "" {
			t.Logf("%s", b)
		}
		return len(b), nil
	}))
	return logrus.NewEntry(l)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// startRig runs a subagent with handlers against a fresh fake master and
// waits until every subtree is registered. cfg's Address and unset backoff
// and logger fields are filled in.
func startRig(t testing.TB, cfg Config, masterNBO bool, handlers ...Handler) *rig {
	t.Helper()
	dir, err := os.MkdirTemp("", "agentx") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m, err := fakemaster.Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.NetworkByteOrder = masterNBO
	t.Cleanup(func() { m.Close() })

	cfg.Address = m.Address()
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 5*time.Millisecond, 20*time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	sa := New(cfg)
	n := 0
	for _, h := range handlers {
		if err := sa.Register(h); err != nil {
			t.Fatal(err)
		}
		n += len(h.Subtrees())
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, m: m, sa: sa, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- sa.Run(ctx) }()
	t.Cleanup(r.stop)
	r.c, r.registrations = r.accept(n)
	return r
}

// accept takes the subagent's next connection and waits for n registrations
// and readiness.
func (r *rig) accept(n int) (*fakemaster.Conn, []*agentx.PDU) {
	r.t.Helper()
	c, err := r.m.Accept(wait)
	if err != nil {
		r.t.Fatal(err)
	}
	regs, err := c.Registrations(n)
	if err != nil {
		r.t.Fatal(err)
	}
	select {
	case <-r.sa.Ready():
	case <-time.After(wait):
		r.t.Fatal("subagent not ready")
	}
	return c, regs
}

// stop cancels Run and waits for it.
func (r *rig) stop() {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run returned %v", err)
		}
		r.done <- nil // later stop calls return at once
	case <-time.After(wait):
		r.t.Error("Run did not return after cancel")
	}
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Handlers used by most session tests.
var (
	subtreeA = oid("1.3.6.1.4.1.99")
	subtreeB = oid("1.3.6.1.4.1.200")
)

func handlersAB() (*mapHandler, *mapHandler) {
	a := newMapHandler([]agentx.OID{subtreeA}, map[string]agentx.Value{
		"1.3.6.1.4.1.99.1.0": agentx.OctetString([]byte("alpha")),
		"1.3.6.1.4.1.99.2.1": agentx.Integer(21),
		"1.3.6.1.4.1.99.2.2": agentx.Integer(22),
		"1.3.6.1.4.1.99.3.0": agentx.Counter64(1 << 40),
	})
	b := newMapHandler([]agentx.OID{subtreeB}, map[string]agentx.Value{
		"1.3.6.1.4.1.200.1.0": agentx.Gauge32(7),
	})
	return a, b
}

func expectVarBinds(t testing.TB, got *agentx.PDU, want []agentx.VarBind) {
	t.Helper()
	if got.Error != agentx.NoError {
		t.Fatalf("answer error %s index %d", got.Error, got.Index)
	}
	if len(got.VarBinds) != len(want) {
		t.Fatalf("got %d varbinds %v, want %d %v", len(got.VarBinds), got.VarBinds, len(want), want)
	}
	for i := range want {
		if !got.VarBinds[i].Name.Equal(want[i].Name) || !got.VarBinds[i].Value.Equal(want[i].Value) {
			t.Errorf("varbind %d: got %s = %v, want %s = %v", i+1, got.VarBinds[i].Name,
				got.VarBinds[i].Value, want[i].Name, want[i].Value)
		}
	}
}

func expectError(t testing.TB, got *agentx.PDU, status agentx.ErrorStatus, index uint16) {
	t.Helper()
	if got.Error != status || got.Index != index {
		t.Fatalf("answer %s index %d, want %s index %d", got.Error, got.Index, status, index)
	}
}

func vb(name string, v agentx.Value) agentx.VarBind { return agentx.VarBind{Name: oid(name), Value: v} }
