package table

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

// txToy has an active parent 1 with child (1,1), parent 2 notInService
// (mode 2) and limit 100.
func txToy(t *testing.T) *toy {
	t.Helper()
	y := newToy(t)
	y.addParent(t, 1)
	y.addChild(t, 1, 1)
	y.mustSet(t, vbs(pOID(pStatus, 2), status(CreateAndWait), pOID(pName, 2), str("p2"), pOID(pMode, 2), integer(2)))
	y.applied = nil
	return y
}

// A PDU that touches everything: destroys child (1,1), modifies parent 2,
// creates parent 3 and sets the limit.
var bigPDU = vbs(
	cOID(cStatus, 1, 1), status(Destroy),
	pOID(pMode, 2), integer(3),
	pOID(pStatus, 3), status(CreateAndGo), pOID(pName, 3), str("p3"),
	limitOID.Append(0), integer(50),
)

func TestCommitAndUndo(t *testing.T) {
	y := txToy(t)
	before, limitBefore := y.dump(), y.g.Get(limitOID.Append(0))
	tx, serr := y.g.TestSet(bigPDU)
	if serr != nil {
		t.Fatal(serr)
	}
	if got := y.dump(); got != before {
		t.Fatalf("TestSet changed rows:\n%s", got)
	}
	if serr := tx.Commit(); serr != nil {
		t.Fatal(serr)
	}
	want := "p.1 active 2=p1 3=1 4=60 7=1\np.2 notInService 2=p2 3=3 4=60 7=1\np.3 active 2=p3 3=1 4=60 7=1"
	if got := y.dump(); got != want {
		t.Fatalf("after commit:\n%s\nwant:\n%s", got, want)
	}
	if got := y.g.Get(limitOID.Append(0)); !got.Equal(integer(50)) {
		t.Fatalf("limit after commit = %v", got)
	}
	if r, _ := y.g.Row(y.parent, integer(3)); r.Data() != "engine-3" {
		t.Fatalf("Apply's attachment = %v", r.Data())
	}
	if serr := tx.Undo(); serr != nil {
		t.Fatal(serr)
	}
	if got := y.dump(); got != before {
		t.Fatalf("after undo:\n%s\nwant:\n%s", got, before)
	}
	if got := y.g.Get(limitOID.Append(0)); !got.Equal(limitBefore) {
		t.Fatalf("limit after undo = %v, want %v", got, limitBefore)
	}
	wantLog := "apply c1.1=gone p2=notInService p3=active limit=50|revert c1.1=gone p2=notInService p3=active limit=50"
	if got := strings.Join(y.applied, "|"); got != wantLog {
		t.Fatalf("engine calls %q, want %q", got, wantLog)
	}
	// The restored rows are the very rows from before, attachments included.
	if r, _ := y.g.Row(y.parent, integer(1)); r.Data() != "engine-1" {
		t.Fatalf("restored parent 1 lost its attachment: %v", r.Data())
	}
}

func TestCleanupAfterTestSetLeavesNoTrace(t *testing.T) {
	y := txToy(t)
	before := y.dump()
	tx, serr := y.g.TestSet(bigPDU)
	if serr != nil {
		t.Fatal(serr)
	}
	tx.Cleanup()
	if got := y.dump(); got != before {
		t.Fatalf("rows after TestSet+Cleanup:\n%s\nwant:\n%s", got, before)
	}
	if got := y.g.Get(limitOID.Append(0)); !got.Equal(integer(100)) {
		t.Fatalf("limit = %v", got)
	}
	if len(y.applied) != 0 {
		t.Fatalf("engine was called: %v", y.applied)
	}
	// The same PDU still works afterwards.
	y.mustSet(t, bigPDU)
}

func TestCommitFailures(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(*toy)
		wantIdx int
	}{
		{"Apply fails", func(y *toy) { y.applyErr = errors.New("engine says no") }, 1},
		{"Apply names the row", func(y *toy) {
			y.applyErr = &CheckError{Table: y.parent, Index: []agentx.Value{integer(3)}, Column: pName, Err: errors.New("no")}
		}, 4},
		{"scalar Set fails", func(y *toy) { y.setErr = errors.New("read-only today") }, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := txToy(t)
			before := y.dump()
			tx, serr := y.g.TestSet(bigPDU)
			if serr != nil {
				t.Fatal(serr)
			}
			tc.break_(y)
			serr = tx.Commit()
			if serr == nil || serr.Status != agentx.CommitFailed || serr.Index != tc.wantIdx {
				t.Fatalf("Commit = %v, want commitFailed on %d", serr, tc.wantIdx)
			}
			if got := y.dump(); got != before {
				t.Fatalf("rows after failed commit:\n%s\nwant:\n%s", got, before)
			}
			if got := y.g.Get(limitOID.Append(0)); !got.Equal(integer(100)) {
				t.Fatalf("limit after failed commit = %v", got)
			}
			// snmpd sends UndoSet after a failed CommitSet: nothing to do.
			if serr := tx.Undo(); serr != nil {
				t.Fatalf("Undo after failed commit = %v", serr)
			}
			if got := y.dump(); got != before {
				t.Fatalf("rows after undo:\n%s", got)
			}
			if len(y.applied) != 0 {
				t.Fatalf("Revert or Apply logged: %v", y.applied)
			}
		})
	}
}

func TestUndoFailure(t *testing.T) {
	y := txToy(t)
	tx, serr := y.g.TestSet(bigPDU)
	if serr != nil {
		t.Fatal(serr)
	}
	if serr := tx.Commit(); serr != nil {
		t.Fatal(serr)
	}
	committed := y.dump()
	y.revertErr = errors.New("engine stuck")
	serr = tx.Undo()
	if serr == nil || serr.Status != agentx.UndoFailed || serr.Index != 1 {
		t.Fatalf("Undo = %v, want undoFailed on 1", serr)
	}
	if got := y.dump(); got != committed {
		t.Fatalf("rows after failed undo should still describe the engine:\n%s", got)
	}
}

// An engine removes a row between TestSet and CommitSet.
func TestEngineChangeBetweenTestAndCommit(t *testing.T) {
	tests := []struct {
		name    string
		pdu     []agent.SetVarBind
		engine  func(*toy)
		wantErr agentx.ErrorStatus
		wantIdx int
		want    string
	}{
		{name: "modified row deleted: no resurrection",
			pdu:     vbs(pOID(pTimeout, 2), agentx.Gauge32(5)),
			engine:  func(y *toy) { y.g.DeleteRow(y.parent, []agentx.Value{integer(2)}) },
			wantErr: agentx.CommitFailed, wantIdx: 1,
			want: "p.1 active 2=p1 3=1 4=60 7=1\nc.1.1 active 2=c8fb26a55598 3=00 5=2"},
		{name: "parent of a new child deleted: Check runs again",
			pdu: vbs(cOID(cStatus, 1, 2), status(CreateAndGo), cOID(cMac, 1, 2), mac1),
			engine: func(y *toy) {
				y.g.DeleteRow(y.child, []agentx.Value{integer(1), integer(1)})
				y.g.DeleteRow(y.parent, []agentx.Value{integer(1)})
			},
			wantErr: agentx.CommitFailed, wantIdx: 1,
			want: "p.2 notInService 2=p2 3=2 4=60 7=1"},
		{name: "row created meanwhile",
			pdu: vbs(pOID(pStatus, 4), status(CreateAndGo), pOID(pName, 4), str("mine")),
			engine: func(y *toy) {
				_ = y.g.PutRow(y.parent, []agentx.Value{integer(4)}, map[uint32]agentx.Value{pName: str("engine")}, Active)
			},
			wantErr: agentx.CommitFailed, wantIdx: 1,
			want: "p.1 active 2=p1 3=1 4=60 7=1\np.2 notInService 2=p2 3=2 4=60 7=1\np.4 active 2=engine 3=1 4=60 7=1\nc.1.1 active 2=c8fb26a55598 3=00 5=2"},
		{name: "unrelated row changed: commit goes ahead",
			pdu:    vbs(pOID(pTimeout, 1), agentx.Gauge32(5)),
			engine: func(y *toy) { y.g.DeleteRow(y.parent, []agentx.Value{integer(2)}) },
			want:   "p.1 active 2=p1 3=1 4=5 7=1\nc.1.1 active 2=c8fb26a55598 3=00 5=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := txToy(t)
			tx, serr := y.g.TestSet(tc.pdu)
			if serr != nil {
				t.Fatal(serr)
			}
			checks := y.checks
			tc.engine(y)
			serr = tx.Commit()
			if y.checks != checks+1 {
				t.Fatalf("Check ran %d times at commit, want once", y.checks-checks)
			}
			switch {
			case tc.wantErr == agentx.NoError && serr != nil:
				t.Fatalf("Commit = %v", serr)
			case tc.wantErr != agentx.NoError && (serr == nil || serr.Status != tc.wantErr || serr.Index != tc.wantIdx):
				t.Fatalf("Commit = %v, want %s on %d", serr, tc.wantErr, tc.wantIdx)
			}
			if got := y.dump(); got != tc.want {
				t.Fatalf("rows:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestCheckRunsOnceWithoutEngineChanges(t *testing.T) {
	y := txToy(t)
	checks := y.checks
	y.mustSet(t, vbs(pOID(pTimeout, 1), agentx.Gauge32(5)))
	if y.checks != checks+1 {
		t.Fatalf("Check ran %d times, want once", y.checks-checks)
	}
}

func TestTxView(t *testing.T) {
	y := txToy(t)
	var saw []string
	y.g.hooks.Check = func(tx *Tx) error {
		for _, r := range tx.Rows(y.parent) {
			saw = append(saw, fmt.Sprintf("p%s=%s", r.Key(), r.Status))
		}
		if _, ok := tx.Lookup(y.child, integer(1), integer(1)); ok {
			saw = append(saw, "child still there")
		}
		if r, ok := tx.Lookup(y.parent, integer(2)); !ok || r.Int(pMode) != 3 {
			saw = append(saw, "parent 2 not modified")
		}
		for _, ch := range tx.Changes {
			saw = append(saw, fmt.Sprintf("%s%s created=%v destroyed=%v mode=%v status=%v",
				ch.Table.Name[:1], ch.New.keyOrOld(ch), ch.Created(), ch.Destroyed(), ch.WasSet(pMode), ch.WasSet(ch.Table.Status)))
		}
		saw = append(saw, fmt.Sprint("limit=", tx.ScalarValue(y.limit).Int, " newIndex=", tx.ScalarValue(y.newIdx).Type,
			" parents=", tx.Len(y.parent), " children=", tx.Len(y.child)))
		return nil
	}
	if _, serr := y.g.TestSet(bigPDU); serr != nil {
		t.Fatal(serr)
	}
	want := "p1=active p2=notInService p3=active " +
		"c1.1 created=false destroyed=true mode=false status=true " +
		"p2 created=false destroyed=false mode=true status=false " +
		"p3 created=true destroyed=false mode=false status=true limit=50 newIndex=Integer parents=3 children=0"
	if got := strings.Join(saw, " "); got != want {
		t.Fatalf("Check saw\n%s\nwant\n%s", got, want)
	}
}

// keyOrOld names a change's row for TestTxView.
func (r *Row) keyOrOld(ch *Change) string {
	if r != nil {
		return r.Key().String()
	}
	return ch.Old.Key().String()
}

func TestConcurrentEngineAndSession(t *testing.T) {
	y := newToy(t)
	for i := uint32(1); i <= 50; i++ {
		y.addParent(t, i)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(2)
	go func() { // engine: removes and re-adds rows, bumps counters
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := integer(i%50 + 1)
			y.g.DeleteRow(y.parent, []agentx.Value{id})
			_ = y.g.PutRow(y.parent, []agentx.Value{id}, map[uint32]agentx.Value{pName: str("e")}, Active)
			y.mu.Lock()
			y.packets[int64(i%50+1)]++
			y.mu.Unlock()
		}
	}()
	go func() { // another engine goroutine reading
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, r := range y.g.Rows(y.parent) {
				_ = r.Data()
			}
		}
	}()
	for i := 0; i < 300; i++ { // the session: walks and SETs
		if _, ok := y.g.Next(toyBase, false, nil); !ok {
			t.Fatal("walk found nothing")
		}
		y.g.Get(pOID(pPackets, uint32(i%50+1)))
		serr := y.set(vbs(pOID(pTimeout, uint32(i%50+1)), agentx.Gauge32(uint32(i%3600))))
		if serr != nil && serr.Status != agentx.CommitFailed && serr.Status != agentx.InconsistentName {
			t.Fatalf("SET = %v", serr)
		}
	}
	close(stop)
	wg.Wait()
	// Every row is whole: the framework never mixed two versions.
	for _, r := range y.g.Rows(y.parent) {
		if r.Status != Active || len(r.Bytes(pName)) == 0 {
			t.Fatalf("broken row %s: %s", r.Key(), r.Status)
		}
	}
}

func TestCheckErrorMapping(t *testing.T) {
	pdu := vbs(pOID(pName, 1), str("x"), pOID(pMode, 1), integer(2), pOID(pStatus, 1), status(NotInService),
		pOID(pTimeout, 2), agentx.Gauge32(1), limitOID.Append(0), integer(9))
	idx := func(id int) []agentx.Value { return []agentx.Value{integer(id)} }
	tests := []struct {
		name       string
		err        func(y *toy) error
		wantStatus agentx.ErrorStatus
		wantIdx    int
	}{
		{"the column's varbind", func(y *toy) error { return &CheckError{Table: y.parent, Index: idx(1), Column: pMode} },
			agentx.InconsistentValue, 2},
		{"else the status varbind", func(y *toy) error { return &CheckError{Table: y.parent, Index: idx(1), Column: pAddr} },
			agentx.InconsistentValue, 3},
		{"else the row's first varbind", func(y *toy) error { return &CheckError{Table: y.parent, Index: idx(2), Column: pAddr} },
			agentx.InconsistentValue, 4},
		{"a row not in the PDU", func(y *toy) error { return &CheckError{Table: y.parent, Index: idx(9), Column: pAddr} },
			agentx.InconsistentValue, 1},
		{"a scalar", func(y *toy) error { return &CheckError{Scalar: y.limit} }, agentx.InconsistentValue, 5},
		{"own status", func(y *toy) error {
			return &CheckError{Status: agentx.ResourceUnavailable, Table: y.parent, Index: idx(2), Column: pTimeout}
		}, agentx.ResourceUnavailable, 4},
		{"wrapped", func(y *toy) error {
			return fmt.Errorf("binding: %w", &CheckError{Table: y.parent, Index: idx(1), Column: pMode})
		}, agentx.InconsistentValue, 2},
		{"plain error", func(y *toy) error { return errors.New("no") }, agentx.InconsistentValue, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := newToy(t)
			y.addParent(t, 1)
			y.addParent(t, 2)
			y.g.hooks.Check = func(*Tx) error { return tc.err(y) }
			_, serr := y.g.TestSet(pdu)
			if serr == nil || serr.Status != tc.wantStatus || serr.Index != tc.wantIdx {
				t.Fatalf("TestSet = %v, want %s on %d", serr, tc.wantStatus, tc.wantIdx)
			}
		})
	}
}
