package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"tapagent/agent/agentx"
)

func TestOpenAndRegister(t *testing.T) {
	a, b := handlersAB()
	b.subtrees = append(b.subtrees, oid("1.3.6.1.4.1.201"))
	r := startRig(t, Config{Timeout: 3 * time.Second, Descr: "unit test", ID: oid("1.3.6.1.4.1.8072.9999")}, false, a, b)
	o := r.c.Open
	if o.Timeout != 3 || string(o.Descr) != "unit test" || !o.ID.Equal(oid("1.3.6.1.4.1.8072.9999")) {
		t.Errorf("Open: timeout %d descr %q id %s", o.Timeout, o.Descr, o.ID)
	}
	if o.Flags&agentx.FlagNetworkByteOrder != 0 {
		t.Error("Open sent in network byte order by default")
	}
	if !r.sa.Connected() {
		t.Error("Connected() false after registration")
	}
	var subtrees []string
	for _, p := range r.registrations {
		subtrees = append(subtrees, p.Subtree.String())
		if p.Priority != DefaultPriority || p.Context != nil {
			t.Errorf("Register %s: priority %d context %q", p.Subtree, p.Priority, p.Context)
		}
	}
	if want := "1.3.6.1.4.1.99 1.3.6.1.4.1.200 1.3.6.1.4.1.201"; strings.Join(subtrees, " ") != want {
		t.Errorf("registered %v, want %s", subtrees, want)
	}
	resp, err := r.c.Get(oid("1.3.6.1.4.1.200.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.SessionID != r.c.SessionID {
		t.Errorf("answer session %d, want %d", resp.SessionID, r.c.SessionID)
	}
}

func TestRegisterAfterConnect(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a)
	go func() {
		if err := r.sa.Register(b); err != nil {
			t.Error(err)
		}
	}()
	got, err := r.c.Registrations(1)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Subtree.Equal(subtreeB) {
		t.Fatalf("registered %s, want %s", got[0].Subtree, subtreeB)
	}
}

// TestRefusedRegistrationIsRetried: a subtree the master refuses (another
// subagent holds it) is asked for again until the master accepts it, and
// then no more.
func TestRefusedRegistrationIsRetried(t *testing.T) {
	defer func(d time.Duration) { registerRetry = d }(registerRetry)
	registerRetry = 20 * time.Millisecond
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a)
	r.m.RefuseRegistrations.Store(2)
	go func() {
		if err := r.sa.Register(b); err != nil {
			t.Error(err)
		}
	}()
	got, err := r.c.Registrations(3) // refused, refused, accepted
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if !p.Subtree.Equal(subtreeB) {
			t.Fatalf("registered %s, want %s", p.Subtree, subtreeB)
		}
	}
	if p, err := r.c.Request(200 * time.Millisecond); err == nil && p.Type == agentx.PDURegister {
		t.Fatalf("registered again after the master accepted: %s", p.Subtree)
	}
}

func TestGetMultiVarBind(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	resp, err := r.c.Get(
		oid("1.3.6.1.4.1.200.1.0"), // second handler first: order is the request's
		oid("1.3.6.1.4.1.99.1.0"),
		oid("1.3.6.1.4.1.99.2.9"), // in a subtree, no such instance
		oid("1.3.6.1.4.1.150.1"),  // in no subtree
		oid("1.3.6.1.4.1.99.3.0"),
	)
	if err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{
		vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(7)),
		vb("1.3.6.1.4.1.99.1.0", agentx.OctetString([]byte("alpha"))),
		vb("1.3.6.1.4.1.99.2.9", agentx.NoSuchInstance()),
		vb("1.3.6.1.4.1.150.1", agentx.NoSuchObject()),
		vb("1.3.6.1.4.1.99.3.0", agentx.Counter64(1<<40)),
	})
}

func TestGetNextRanges(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	eom := agentx.EndOfMibView()
	tests := []struct {
		name string
		rng  agentx.SearchRange
		want agentx.VarBind
	}{
		{"start before the subtree", agentx.SearchRange{Start: oid("1.3.6.1.4.1.98")},
			vb("1.3.6.1.4.1.99.1.0", agentx.OctetString([]byte("alpha")))},
		{"start at the subtree, include", agentx.SearchRange{Start: subtreeA, Include: true, End: oid("1.3.6.1.4.1.100")},
			vb("1.3.6.1.4.1.99.1.0", agentx.OctetString([]byte("alpha")))},
		{"include hits the start", agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.2.1"), Include: true},
			vb("1.3.6.1.4.1.99.2.1", agentx.Integer(21))},
		{"exclude skips the start", agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.2.1")},
			vb("1.3.6.1.4.1.99.2.2", agentx.Integer(22))},
		{"just after the last instance", agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.3.0"), End: oid("1.3.6.1.4.1.100")},
			vb("1.3.6.1.4.1.99.3.0", eom)},
		{"end bound cuts", agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.2.1"), End: oid("1.3.6.1.4.1.99.2.2")},
			vb("1.3.6.1.4.1.99.2.1", eom)},
		{"across handlers", agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.3.0")},
			vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(7))},
		{"after the last subtree", agentx.SearchRange{Start: oid("1.3.6.1.4.1.200.1.0")},
			vb("1.3.6.1.4.1.200.1.0", eom)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := r.c.GetNext(tt.rng)
			if err != nil {
				t.Fatal(err)
			}
			expectVarBinds(t, resp, []agentx.VarBind{tt.want})
		})
	}
	// Every range of one PDU is answered, in order.
	resp, err := r.c.GetNext(tests[0].rng, tests[4].rng, tests[3].rng)
	if err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{tests[0].want, tests[4].want, tests[3].want})
}

func TestGetBulk(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	resp, err := r.c.GetBulk(1, 3,
		agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.1.0")},                             // non-repeater
		agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.2"), End: oid("1.3.6.1.4.1.99.3")}, // two rows, then ends
		agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.3"), Include: true},                // runs on across handlers
	)
	if err != nil {
		t.Fatal(err)
	}
	eom := agentx.EndOfMibView()
	expectVarBinds(t, resp, []agentx.VarBind{
		vb("1.3.6.1.4.1.99.2.1", agentx.Integer(21)),
		vb("1.3.6.1.4.1.99.2.1", agentx.Integer(21)), vb("1.3.6.1.4.1.99.3.0", agentx.Counter64(1<<40)),
		vb("1.3.6.1.4.1.99.2.2", agentx.Integer(22)), vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(7)),
		vb("1.3.6.1.4.1.99.2.2", eom), vb("1.3.6.1.4.1.200.1.0", eom),
	})
	// Everything exhausted: one round of endOfMibView, no more.
	resp, err = r.c.GetBulk(0, 10, agentx.SearchRange{Start: oid("1.3.6.1.4.1.200.1.0")})
	if err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.200.1.0", eom)})
}

func TestGetBulkLimit(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{MaxBulkVarBinds: 3}, false, a, b)
	resp, err := r.c.GetBulk(0, 100, agentx.SearchRange{Start: subtreeA})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.VarBinds) != 3 {
		t.Fatalf("got %d varbinds, want the cap of 3", len(resp.VarBinds))
	}
}

func TestSetSuccess(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	resp, err := r.c.TestSet(7,
		vb("1.3.6.1.4.1.99.1.0", agentx.OctetString([]byte("beta"))),
		vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(8)),
	)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NoError, 0)
	if n := r.sa.LiveTransactions(); n != 1 {
		t.Fatalf("live transactions after TestSet = %d, want 1", n)
	}
	if a.value("1.3.6.1.4.1.99.1.0").Equal(agentx.OctetString([]byte("beta"))) {
		t.Fatal("TestSet applied the value")
	}
	if resp, err = r.c.CommitSet(7); err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NoError, 0)
	if !a.value("1.3.6.1.4.1.99.1.0").Equal(agentx.OctetString([]byte("beta"))) || !b.value("1.3.6.1.4.1.200.1.0").Equal(agentx.Gauge32(8)) {
		t.Fatal("CommitSet did not apply both handlers' values")
	}
	if err := r.c.CleanupSet(7); err != nil {
		t.Fatal(err)
	}
	// CleanupSet has no answer: the next answer is the Get's.
	if resp, err = r.c.Get(oid("1.3.6.1.4.1.99.1.0")); err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.99.1.0", agentx.OctetString([]byte("beta")))})
	if a.cleanups.Load() != 1 || b.cleanups.Load() != 1 || r.sa.LiveTransactions() != 0 {
		t.Fatalf("cleanups %d/%d, live %d; want 1/1, 0", a.cleanups.Load(), b.cleanups.Load(), r.sa.LiveTransactions())
	}
}

func TestSetTestFailure(t *testing.T) {
	a, b := handlersAB()
	b.failTest["1.3.6.1.4.1.200.1.0"] = agentx.WrongValue
	r := startRig(t, Config{}, false, a, b)
	resp, err := r.c.TestSet(8,
		vb("1.3.6.1.4.1.99.1.0", agentx.OctetString([]byte("x"))),
		vb("1.3.6.1.4.1.99.2.1", agentx.Integer(5)),
		vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(9)),
	)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.WrongValue, 3)
	if a.cleanups.Load() != 1 {
		t.Fatalf("the accepted share was cleaned up %d times, want 1", a.cleanups.Load())
	}
	if r.sa.LiveTransactions() != 0 {
		t.Fatal("a refused transaction was kept")
	}
	// snmpd follows with CleanupSet: no answer, no second cleanup.
	if err := r.c.CleanupSet(8); err != nil {
		t.Fatal(err)
	}
	if err := r.c.NoResponse(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if a.cleanups.Load() != 1 || a.commits.Load() != 0 {
		t.Fatalf("cleanups %d commits %d after CleanupSet", a.cleanups.Load(), a.commits.Load())
	}
}

func TestSetOutsideSubtrees(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	resp, err := r.c.TestSet(9, vb("1.3.6.1.4.1.99.1.0", agentx.OctetString(nil)), vb("1.3.6.1.4.1.150.1", agentx.Integer(1)))
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NotWritable, 2)
	if a.tests.Load() != 0 {
		t.Fatal("handlers were asked although the SET cannot succeed")
	}
}

func TestSetCommitFailure(t *testing.T) {
	a, b := handlersAB()
	b.failCommit = true
	r := startRig(t, Config{}, false, a, b)
	resp, err := r.c.TestSet(10,
		vb("1.3.6.1.4.1.99.2.1", agentx.Integer(99)),
		vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(9)),
	)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NoError, 0)
	if resp, err = r.c.CommitSet(10); err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.CommitFailed, 2)
	if !a.value("1.3.6.1.4.1.99.2.1").Equal(agentx.Integer(99)) {
		t.Fatal("the first share was not committed before the failure")
	}
	// snmpd sends UndoSet and no CleanupSet.
	if resp, err = r.c.UndoSet(10); err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NoError, 0)
	if !a.value("1.3.6.1.4.1.99.2.1").Equal(agentx.Integer(21)) {
		t.Fatal("UndoSet did not restore the first share")
	}
	if a.undos.Load() != 1 || b.undos.Load() != 1 || r.sa.LiveTransactions() != 0 {
		t.Fatalf("undos %d/%d live %d, want 1/1 0", a.undos.Load(), b.undos.Load(), r.sa.LiveTransactions())
	}
	if a.cleanups.Load() != 0 {
		t.Fatal("Cleanup called after Undo")
	}
}

func TestSetUndoFailure(t *testing.T) {
	a, _ := handlersAB()
	a.failUndo = true
	r := startRig(t, Config{}, false, a)
	if _, err := r.c.TestSet(11, vb("1.3.6.1.4.1.99.2.1", agentx.Integer(1)), vb("1.3.6.1.4.1.99.2.2", agentx.Integer(2))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.CommitSet(11); err != nil {
		t.Fatal(err)
	}
	resp, err := r.c.UndoSet(11) // another subagent failed its commit
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.UndoFailed, 1) // handler said index 0: clamped to its first varbind
}

func TestSetUnknownTransaction(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	resp, err := r.c.CommitSet(404)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.CommitFailed, 1)
	if resp, err = r.c.UndoSet(404); err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.UndoFailed, 1)
	if err := r.c.CleanupSet(404); err != nil {
		t.Fatal(err)
	}
	if err := r.c.NoResponse(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func TestRetransmittedTestSet(t *testing.T) {
	a, _ := handlersAB()
	a.gate = make(chan struct{})
	r := startRig(t, Config{}, false, a)
	set := func() *agentx.PDU {
		return &agentx.PDU{Header: agentx.Header{Type: agentx.PDUTestSet, TransactionID: 12, PacketID: 500},
			VarBinds: []agentx.VarBind{vb("1.3.6.1.4.1.99.2.1", agentx.Integer(3))}}
	}
	if _, err := r.c.Send(set()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "TestSet to reach the handler", func() bool { return a.tests.Load() == 1 })
	// snmpd's resend while the handler is still busy, and once more later.
	if _, err := r.c.Send(set()); err != nil {
		t.Fatal(err)
	}
	close(a.gate)
	resp, err := r.c.Response(wait)
	if err != nil {
		t.Fatal(err)
	}
	if resp.PacketID != 500 {
		t.Fatalf("answer to packet %d", resp.PacketID)
	}
	expectError(t, resp, agentx.NoError, 0)
	if _, err := r.c.Send(set()); err != nil {
		t.Fatal(err)
	}
	// The next answer must be the CommitSet's: no second TestSet answer.
	resp, err = r.c.CommitSet(12)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NoError, 0)
	if a.tests.Load() != 1 || a.commits.Load() != 1 {
		t.Fatalf("TestSet ran %d times, Commit %d; want 1, 1", a.tests.Load(), a.commits.Load())
	}
}

func TestNewTestSetSupersedesPending(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	for tid := uint32(20); tid <= 21; tid++ {
		resp, err := r.c.TestSet(tid, vb("1.3.6.1.4.1.99.2.1", agentx.Integer(int32(tid))))
		if err != nil {
			t.Fatal(err)
		}
		expectError(t, resp, agentx.NoError, 0)
	}
	if a.cleanups.Load() != 1 || r.sa.LiveTransactions() != 1 {
		t.Fatalf("cleanups %d live %d, want 1 1", a.cleanups.Load(), r.sa.LiveTransactions())
	}
}

func TestDisconnectMidTransaction(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	if _, err := r.c.TestSet(30, vb("1.3.6.1.4.1.99.2.1", agentx.Integer(1))); err != nil {
		t.Fatal(err)
	}
	if r.sa.LiveTransactions() != 1 {
		t.Fatal("transaction not kept")
	}
	r.c.Close() // the master dies
	waitFor(t, "transactions to be freed", func() bool { return r.sa.LiveTransactions() == 0 })
	if a.cleanups.Load() != 1 || a.commits.Load() != 0 {
		t.Fatalf("cleanups %d commits %d, want 1 0", a.cleanups.Load(), a.commits.Load())
	}
	c, _ := r.accept(1) // reconnected and registered again
	resp, err := c.Get(oid("1.3.6.1.4.1.99.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.99.2.1", agentx.Integer(21))})
}

func TestByteOrders(t *testing.T) {
	for _, tt := range []struct {
		name                string
		agentNBO, masterNBO bool
	}{
		{"both little-endian", false, false},
		{"master big-endian", false, true},
		{"agent big-endian", true, false},
		{"both big-endian", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := handlersAB()
			r := startRig(t, Config{NetworkByteOrder: tt.agentNBO}, tt.masterNBO, a)
			if got := r.c.Open.Flags&agentx.FlagNetworkByteOrder != 0; got != tt.agentNBO {
				t.Errorf("Open in network order = %v, want %v", got, tt.agentNBO)
			}
			resp, err := r.c.Get(oid("1.3.6.1.4.1.99.2.2"))
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Flags&agentx.FlagNetworkByteOrder != 0; got != tt.masterNBO {
				t.Errorf("answer in network order = %v, want the request's %v", got, tt.masterNBO)
			}
			expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.99.2.2", agentx.Integer(22))})
			if err := r.sa.Notify(context.Background(), []agentx.VarBind{{Name: SnmpTrapOID0, Value: agentx.ObjectID(subtreeA)}}); err != nil {
				t.Fatal(err)
			}
			n, err := r.c.Request(wait)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Flags&agentx.FlagNetworkByteOrder != 0; n.Type != agentx.PDUNotify || got != tt.agentNBO {
				t.Errorf("%s in network order = %v, want %v", n.Type, got, tt.agentNBO)
			}
		})
	}
}

func TestMasterCloseReconnects(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	if err := r.c.CloseSession(agentx.ReasonShutdown); err != nil {
		t.Fatal(err)
	}
	c, regs := r.accept(2)
	if !regs[0].Subtree.Equal(subtreeA) || !regs[1].Subtree.Equal(subtreeB) {
		t.Fatalf("re-registered %s, %s", regs[0].Subtree, regs[1].Subtree)
	}
	if c.SessionID == r.c.SessionID {
		t.Fatal("same session id after reconnect")
	}
	resp, err := c.Get(oid("1.3.6.1.4.1.200.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.200.1.0", agentx.Gauge32(7))})
}

func TestNotify(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	vbs := []agentx.VarBind{
		{Name: SysUpTime0, Value: agentx.TimeTicks(1234)},
		{Name: SnmpTrapOID0, Value: agentx.ObjectID(oid("1.3.6.1.4.1.9.9.399.0.2"))},
		vb("1.3.6.1.4.1.9.9.399.1.1.2.1.19.7", agentx.Integer(2)),
	}
	if err := r.sa.Notify(context.Background(), vbs); err != nil {
		t.Fatal(err)
	}
	n, err := r.c.Request(wait)
	if err != nil {
		t.Fatal(err)
	}
	if n.Type != agentx.PDUNotify || n.SessionID != r.c.SessionID {
		t.Fatalf("got %s for session %d", n.Type, n.SessionID)
	}
	expectVarBinds(t, n, vbs)
	// Refused before sending.
	if err := r.sa.Notify(context.Background(), vbs[2:]); err == nil {
		t.Fatal("notification without snmpTrapOID.0 first accepted")
	}
	if p, err := r.c.Request(50 * time.Millisecond); err == nil {
		t.Fatalf("refused notification reached the master as %s", p.Type)
	}
}

func TestNotifyNotConnected(t *testing.T) {
	sa := New(Config{Logger: testLogger(t)})
	err := sa.Notify(context.Background(), []agentx.VarBind{{Name: SnmpTrapOID0, Value: agentx.ObjectID(subtreeA)}})
	if !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Notify = %v, want ErrNotConnected", err)
	}
}

func TestGarbageFrameClosesWithParseError(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	garbage := make([]byte, agentx.HeaderSize)
	garbage[0] = 9 // version
	garbage[1] = byte(agentx.PDUGet)
	if err := r.c.WriteRaw(garbage); err != nil {
		t.Fatal(err)
	}
	p, err := r.c.Request(wait)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != agentx.PDUClose || p.Reason != agentx.ReasonParseError {
		t.Fatalf("got %s reason %d, want Close parseError", p.Type, p.Reason)
	}
	if err := r.c.WaitGone(wait); err != nil {
		t.Fatal(err)
	}
	r.accept(1)
}

func TestOversizedFrameClosesWithParseError(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	hdr := make([]byte, agentx.HeaderSize)
	hdr[0], hdr[1] = agentx.Version, byte(agentx.PDUGet)
	binary.LittleEndian.PutUint32(hdr[4:], r.c.SessionID)
	binary.LittleEndian.PutUint32(hdr[16:], 1<<30) // a gigabyte payload
	if err := r.c.WriteRaw(hdr); err != nil {
		t.Fatal(err)
	}
	p, err := r.c.Request(wait)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != agentx.PDUClose || p.Reason != agentx.ReasonParseError {
		t.Fatalf("got %s reason %d, want Close parseError", p.Type, p.Reason)
	}
	r.accept(1)
}

func TestBadRequestsAnswered(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	le := binary.LittleEndian
	frame := func(typ byte, packet uint32, payload []byte) []byte {
		b := make([]byte, agentx.HeaderSize, agentx.HeaderSize+len(payload))
		b[0], b[1] = agentx.Version, typ
		le.PutUint32(b[4:], r.c.SessionID)
		le.PutUint32(b[12:], packet)
		le.PutUint32(b[16:], uint32(len(payload)))
		return append(b, payload...)
	}
	tests := []struct {
		name   string
		send   func() error
		packet uint32
		status agentx.ErrorStatus
	}{
		{"unknown PDU type", func() error { return r.c.WriteRaw(frame(99, 900, nil)) }, 900, agentx.ParseError},
		{"truncated Get payload", func() error { return r.c.WriteRaw(frame(byte(agentx.PDUGet), 901, []byte{4, 0, 0, 0})) }, 901, agentx.ParseError},
		{"Register sent to a subagent", func() error {
			_, err := r.c.Send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDURegister, PacketID: 902}, Subtree: subtreeA})
			return err
		}, 902, agentx.ProcessingError},
		{"wrong session", func() error {
			_, err := r.c.Send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUGet, SessionID: 4242, PacketID: 903},
				Ranges: []agentx.SearchRange{{Start: subtreeA}}})
			return err
		}, 903, agentx.NotOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			resp, err := r.c.Response(wait)
			if err != nil {
				t.Fatal(err)
			}
			if resp.PacketID != tt.packet {
				t.Fatalf("answer to packet %d, want %d", resp.PacketID, tt.packet)
			}
			expectError(t, resp, tt.status, 1)
		})
	}
	// The session survived all of it.
	resp, err := r.c.Get(oid("1.3.6.1.4.1.99.2.2"))
	if err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.99.2.2", agentx.Integer(22))})
}

func TestMasterPingAnswered(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{}, false, a)
	resp, err := r.c.Roundtrip(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUPing}})
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.NoError, 0)
}

func TestPingDetectsDeadMaster(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{PingInterval: 20 * time.Millisecond, RequestTimeout: 100 * time.Millisecond}, false, a)
	if p, err := r.c.Request(wait); err != nil || p.Type != agentx.PDUPing {
		t.Fatalf("no Ping from the subagent: %v %v", p, err)
	}
	r.c.SetAnswerPings(false) // the master hangs
	if err := r.c.WaitGone(wait); err != nil {
		t.Fatal(err)
	}
	r.accept(1)
}

func TestHandlerPanicIsGenErr(t *testing.T) {
	a, _ := handlersAB()
	a.panicOn = "1.3.6.1.4.1.99.2.1"
	r := startRig(t, Config{}, false, a)
	resp, err := r.c.Get(oid("1.3.6.1.4.1.99.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, agentx.GenErr, 1)
	if resp, err = r.c.Get(oid("1.3.6.1.4.1.99.2.2")); err != nil {
		t.Fatal(err)
	}
	expectVarBinds(t, resp, []agentx.VarBind{vb("1.3.6.1.4.1.99.2.2", agentx.Integer(22))})
}

func TestShutdownUnregistersAndCloses(t *testing.T) {
	a, b := handlersAB()
	r := startRig(t, Config{}, false, a, b)
	r.cancel()
	var got []string
	for len(got) < 3 {
		p, err := r.c.Request(wait)
		if err != nil {
			t.Fatal(err)
		}
		switch p.Type {
		case agentx.PDUUnregister:
			got = append(got, "unregister "+p.Subtree.String())
		case agentx.PDUClose:
			if p.Reason != agentx.ReasonShutdown {
				t.Errorf("Close reason %d, want shutdown", p.Reason)
			}
			got = append(got, "close")
		}
	}
	want := []string{"unregister " + subtreeA.String(), "unregister " + subtreeB.String(), "close"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("goodbye = %v, want %v", got, want)
		}
	}
	r.stop()
	if r.sa.Connected() {
		t.Fatal("still connected after Run returned")
	}
}

func TestNonDefaultContext(t *testing.T) {
	a, _ := handlersAB()
	r := startRig(t, Config{Context: []byte("li"), Priority: 5}, false, a)
	reg := r.registrations[0]
	if string(reg.Context) != "li" || reg.Flags&agentx.FlagNonDefaultContext == 0 || reg.Priority != 5 {
		t.Fatalf("Register context %q flags %#x priority %d", reg.Context, reg.Flags, reg.Priority)
	}
	if err := r.sa.Notify(context.Background(), []agentx.VarBind{{Name: SnmpTrapOID0, Value: agentx.ObjectID(subtreeA)}}); err != nil {
		t.Fatal(err)
	}
	n, err := r.c.Request(wait)
	if err != nil {
		t.Fatal(err)
	}
	if string(n.Context) != "li" {
		t.Fatalf("Notify context %q", n.Context)
	}
}
