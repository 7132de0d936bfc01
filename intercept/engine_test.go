package intercept

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"tapagent/intercept/fakeclock"
)

// nextEvent waits (real time) for one event.
func nextEvent(t *testing.T, e *Engine) Event {
	t.Helper()
	return nextEventOf(t, e, false)
}

// nextEventOf returns the next event; arming events are skipped unless
// wanted (the timeout tests look at removals only).
func nextEventOf(t *testing.T, e *Engine, arming bool) Event {
	t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case ev, ok := <-e.Events():
			if !ok {
				t.Fatal("events channel closed")
			}
			if _, isArm := ev.(StreamArmed); isArm && !arming {
				continue
			}
			return ev
		case <-deadline:
			t.Fatal("no event")
		}
	}
}

// noEvent asserts no event other than arming arrives for a short while.
func noEvent(t *testing.T, e *Engine) {
	t.Helper()
	deadline := time.After(30 * time.Millisecond)
	for {
		select {
		case ev := <-e.Events():
			if _, isArm := ev.(StreamArmed); isArm {
				continue
			}
			t.Fatalf("unexpected event %+v", ev)
		case <-deadline:
			return
		}
	}
}

// TestStreamArmedEvents: one StreamArmed per stream when it starts
// intercepting, again after it was disarmed, and OnArmed hears of every
// change of the armed taps.
func TestStreamArmedEvents(t *testing.T) {
	seen := make(chan struct{}, 16)
	e, _ := startEngine(t, func(o *Options) { o.OnArmed = func() { seen <- struct{}{} } })
	notified := func(what string) {
		t.Helper()
		select {
		case <-seen:
		case <-time.After(2 * time.Second):
			t.Fatalf("OnArmed not called after %s", what)
		}
	}
	mustApply(t, e, ipTap(1, 1)...)
	if ev := nextEventOf(t, e, true); ev != (StreamArmed{Key: key(1, 1), NotificationEnable: true}) {
		t.Fatalf("event %+v", ev)
	}
	notified("arming")
	if taps := e.Armed(); len(taps) != 1 {
		t.Fatalf("Armed: %d taps, want 1", len(taps))
	}
	// Disable, then enable: armed again, one more event.
	mustApply(t, e, Upsert(stream(key(1, 1), StreamIP, true, false)))
	notified("disabling")
	if taps := e.Armed(); len(taps) != 0 {
		t.Fatalf("Armed after disable: %d taps, want 0", len(taps))
	}
	mustApply(t, e, Upsert(stream(key(1, 1), StreamIP, true, true)))
	if ev := nextEventOf(t, e, true); ev != (StreamArmed{Key: key(1, 1), NotificationEnable: true}) {
		t.Fatalf("event %+v", ev)
	}
	notified("enabling")
	// A change that does not arm anything new sends no event.
	m := md(1, true)
	m.Timeout = t0.Add(2 * time.Hour)
	mustApply(t, e, Upsert(m))
	select {
	case ev := <-e.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(30 * time.Millisecond):
	}
	// A device with nothing armed, before or after, does not disturb the
	// data plane.
	for len(seen) > 0 {
		<-seen
	}
	mustApply(t, e, Upsert(md(2, false)))
	select {
	case <-seen:
		t.Fatal("OnArmed called for a change that armed and disarmed nothing")
	case <-time.After(30 * time.Millisecond):
	}
}

func armedKeys(taps []Tap) []StreamKey {
	var ks []StreamKey
	for _, tp := range taps {
		ks = append(ks, tp.Stream.Key)
	}
	return ks
}

// TestArming: a tap is armed only when MD, stream (+enable) and the
// matching filter are all active, whatever order they were created in.
func TestArming(t *testing.T) {
	k := key(1, 1)
	tests := []struct {
		name  string
		steps [][]Change // one Apply (one PDU) each
		armed bool
	}{
		{name: "stream before filter", armed: true, steps: [][]Change{
			{Upsert(md(1, true))}, {Upsert(stream(k, StreamIP, true, true))}, {Upsert(ipf(k, true))}}},
		{name: "filter before stream", armed: true, steps: [][]Change{
			{Upsert(md(1, true))}, {Upsert(ipf(k, true))}, {Upsert(stream(k, StreamIP, true, true))}}},
		{name: "mac filter before stream", armed: true, steps: [][]Change{
			{Upsert(md(1, true))}, {Upsert(macf(k, true))}, {Upsert(stream(k, StreamMAC, true, true))}}},
		{name: "createAndWait everything, then activate MD last", armed: true, steps: [][]Change{
			{Upsert(md(1, false))}, {Upsert(ipf(k, false))}, {Upsert(stream(k, StreamIP, false, false))},
			{Upsert(ipf(k, true)), Upsert(stream(k, StreamIP, true, true))}, {Upsert(md(1, true))}}},
		{name: "MD not active", steps: [][]Change{
			{Upsert(md(1, false)), Upsert(stream(k, StreamIP, true, true)), Upsert(ipf(k, true))}}},
		{name: "stream not enabled", steps: [][]Change{
			{Upsert(md(1, true)), Upsert(stream(k, StreamIP, true, false)), Upsert(ipf(k, true))}}},
		{name: "stream not active", steps: [][]Change{
			{Upsert(md(1, true)), Upsert(stream(k, StreamIP, false, true)), Upsert(ipf(k, true))}}},
		{name: "filter not active", steps: [][]Change{
			{Upsert(md(1, true)), Upsert(stream(k, StreamIP, true, true)), Upsert(ipf(k, false))}}},
		{name: "no filter", steps: [][]Change{
			{Upsert(md(1, true)), Upsert(stream(k, StreamIP, true, true))}}},
		{name: "disabled again", steps: [][]Change{
			ipTap(1, 1), {Upsert(stream(k, StreamIP, true, false))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := startEngine(t)
			for i, cs := range tt.steps {
				if err := e.Apply(cs); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			taps := e.Armed()
			if got := len(taps) == 1; got != tt.armed {
				t.Fatalf("armed = %v (%v), want %v", got, armedKeys(taps), tt.armed)
			}
			if !tt.armed {
				return
			}
			tp := taps[0]
			if tp.Stream.Key != k || tp.Mediation.ContentID != 1 || (tp.IP == nil) == (tp.MAC == nil) {
				t.Fatalf("tap %+v", tp)
			}
			if tp.Stream.Type == StreamIP && tp.IP.Dst != target {
				t.Fatalf("tap carries the wrong filter: %+v", tp.IP)
			}
			if tp.Stream.Type == StreamMAC && !tp.MAC.EitherDirection() {
				t.Fatalf("tap carries the wrong filter: %+v", tp.MAC)
			}
		})
	}
}

func TestArmedSorted(t *testing.T) {
	e, _ := startEngine(t)
	for _, id := range []ContentID{9, 3, 5} {
		mustApply(t, e, ipTap(id, 2)...)
		mustApply(t, e, Upsert(stream(key(id, 1), StreamIP, true, true)), Upsert(ipf(key(id, 1), true)))
	}
	got := fmt.Sprint(armedKeys(e.Armed()))
	if want := "[3.1 3.2 5.1 5.2 9.1 9.2]"; got != want {
		t.Fatalf("Armed keys %s, want %s", got, want)
	}
}

// TestTimeout: reaching the timeout removes the MD with its streams and
// filters and emits exactly one event; other MDs stay.
func TestTimeout(t *testing.T) {
	e, clk := startEngine(t)
	mustApply(t, e, ipTap(1, 1)...)
	mustApply(t, e, Upsert(stream(key(1, 2), StreamMAC, true, true)), Upsert(macf(key(1, 2), true)))
	quiet := md(2, true)
	quiet.NotificationEnable = false
	quiet.Timeout = t0.Add(2 * time.Hour)
	mustApply(t, e, Upsert(quiet), Upsert(stream(key(2, 1), StreamIP, true, true)), Upsert(ipf(key(2, 1), true)))
	v := e.Version()

	clk.Advance(time.Hour - time.Second)
	noEvent(t, e)
	if n := len(e.Snapshot().Mediations); n != 2 {
		t.Fatalf("%d mediations before the timeout, want 2", n)
	}

	clk.Advance(time.Second)
	if ev := nextEvent(t, e); ev != (MediationTimedOut{ContentID: 1, NotificationEnable: true, WasActive: true}) {
		t.Fatalf("event %+v", ev)
	}
	noEvent(t, e)
	snap := e.Snapshot()
	if len(snap.Mediations) != 1 || snap.Mediations[0].ContentID != 2 ||
		len(snap.Streams) != 1 || len(snap.IPFilters) != 1 || len(snap.MACFilters) != 0 {
		t.Fatalf("after the timeout: %+v", snap)
	}
	if snap.Version <= v {
		t.Fatalf("version did not move on timeout")
	}
	if got := fmt.Sprint(armedKeys(e.Armed())); got != "[2.1]" {
		t.Fatalf("armed after timeout: %s", got)
	}

	clk.Advance(time.Hour)
	if ev := nextEvent(t, e); ev != (MediationTimedOut{ContentID: 2, NotificationEnable: false, WasActive: true}) {
		t.Fatalf("event %+v", ev)
	}
	if snap := e.Snapshot(); len(snap.Mediations)+len(snap.Streams)+len(snap.IPFilters) != 0 {
		t.Fatalf("state left after all timeouts: %+v", snap)
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d timers left with nothing to time out", clk.Pending())
	}
}

func TestTimeoutOfInactiveMediation(t *testing.T) {
	e, clk := startEngine(t)
	mustApply(t, e, Upsert(md(4, false)), Upsert(stream(key(4, 1), StreamIP, false, false)))
	clk.Advance(time.Hour)
	if ev := nextEvent(t, e); ev != (MediationTimedOut{ContentID: 4, NotificationEnable: true, WasActive: false}) {
		t.Fatalf("event %+v", ev)
	}
	if _, ok := e.Stream(key(4, 1)); ok {
		t.Fatal("stream survived its MD's timeout")
	}
}

func TestTimeoutRescheduled(t *testing.T) {
	tests := []struct {
		name    string
		newAt   time.Duration // new timeout, from t0
		quietTo time.Duration // no event until here
	}{
		{name: "extended while active", newAt: 3 * time.Hour, quietTo: 3*time.Hour - time.Second},
		{name: "shortened while active", newAt: 10 * time.Minute, quietTo: 10*time.Minute - time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := startEngine(t)
			mustApply(t, e, ipTap(1, 1)...)
			m := md(1, true)
			m.Timeout = t0.Add(tt.newAt)
			mustApply(t, e, Upsert(m))
			// Step through in pieces shorter than the timer cap.
			for clk.Now().Before(t0.Add(tt.quietTo)) {
				step := min(30*time.Second, t0.Add(tt.quietTo).Sub(clk.Now()))
				clk.Advance(step)
			}
			noEvent(t, e)
			if _, ok := e.Mediation(1); !ok {
				t.Fatal("removed before its new timeout")
			}
			clk.Advance(time.Second)
			if ev := nextEvent(t, e).(MediationTimedOut); ev.ContentID != 1 {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}

// TestTimeoutClockStep: a wall clock jump is noticed within the timer cap.
func TestTimeoutClockStep(t *testing.T) {
	e, clk := startEngine(t)
	m := md(1, true)
	m.Timeout = t0.Add(24 * time.Hour)
	mustApply(t, e, Upsert(m))
	clk.Set(t0.Add(48 * time.Hour)) // fires the capped timer at once
	if ev := nextEvent(t, e).(MediationTimedOut); ev.ContentID != 1 {
		t.Fatalf("event %+v", ev)
	}
}

// TestEventsQueued: events wait for a reader instead of being dropped or
// blocking the engine.
func TestEventsQueued(t *testing.T) {
	e, clk := startEngine(t)
	const n = 50
	for id := ContentID(1); id <= n; id++ {
		mustApply(t, e, Upsert(md(id, id%2 == 0)))
	}
	clk.Advance(time.Hour)
	// The engine keeps serving while nobody reads events.
	if got := len(e.Snapshot().Mediations); got != 0 {
		t.Fatalf("%d mediations left", got)
	}
	seen := map[ContentID]bool{}
	for range n {
		seen[nextEvent(t, e).(MediationTimedOut).ContentID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events, want %d", len(seen), n)
	}
	noEvent(t, e)
}

func TestNewContentID(t *testing.T) {
	tests := []struct {
		name   string
		last   ContentID
		inUse  []ContentID
		wantID []ContentID
	}{
		{name: "skips ids in use", last: 9, inUse: []ContentID{10, 11, 13}, wantID: []ContentID{12, 14, 15}},
		{name: "wraps within 1..2^31-1", last: MaxIndex - 1, inUse: []ContentID{MaxIndex, 1}, wantID: []ContentID{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New(t0)
			e := New(Options{Clock: clk, Logger: quietLogger()})
			e.lastID = tt.last // before Run: no other goroutine yet
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { e.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			for _, id := range tt.inUse {
				mustApply(t, e, Upsert(md(id, false)))
			}
			for _, want := range tt.wantID {
				if got := e.NewContentID(); got != want {
					t.Fatalf("NewContentID = %d, want %d", got, want)
				}
			}
		})
	}
}

func TestNewContentIDFresh(t *testing.T) {
	e, _ := startEngine(t)
	seen := map[ContentID]bool{}
	var prev ContentID
	for i := range 2000 {
		id := e.NewContentID()
		if id == 0 || id > MaxIndex {
			t.Fatalf("id %d out of range", id)
		}
		if id == prev || seen[id] {
			t.Fatalf("id %d handed out twice", id)
		}
		if _, used := e.Mediation(id); used {
			t.Fatalf("id %d is in use", id)
		}
		seen[id], prev = true, id
		if i%3 == 0 { // use some of them, as managers do
			mustApply(t, e, Upsert(md(id, false)))
		}
	}
}

func TestStopped(t *testing.T) {
	e := New(Options{Clock: fakeclock.New(t0), Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	mustApply(t, e, ipTap(1, 1)...)
	cancel()
	<-done
	if err := e.Apply(ipTap(2, 1)); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after stop = %v", err)
	}
	if err := e.Validate(ipTap(2, 1)); !errors.Is(err, ErrStopped) {
		t.Errorf("Validate after stop = %v", err)
	}
	if err := e.Revert(&Revert{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Revert after stop = %v", err)
	}
	if id := e.NewContentID(); id != 0 {
		t.Errorf("NewContentID after stop = %d", id)
	}
	if _, ok := <-e.Events(); ok {
		t.Error("events channel still open")
	}
	e.Run(context.Background()) // a second Run returns at once
}

// TestConcurrentUse runs every API from many goroutines while timeouts
// fire; run with -race.
func TestConcurrentUse(t *testing.T) {
	e, clk := startEngine(t)
	const workers, rounds = 8, 100
	var wg sync.WaitGroup
	go func() { // drain events
		for range e.Events() {
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				id := ContentID(w*rounds + r + 1)
				cs := ipTap(id, 1)
				if err := e.Validate(cs); err != nil {
					t.Errorf("Validate: %v", err)
					return
				}
				if err := e.Apply(cs); err != nil {
					t.Errorf("Apply: %v", err)
					return
				}
				_ = e.NewContentID()
				_ = e.Version()
				if r%10 == 0 { // O(state): keep the test fast
					_ = e.Snapshot()
					_ = e.Armed()
				}
				if r%2 == 0 {
					err := e.Apply([]Change{DeleteIPFilter(key(id, 1)), DeleteStream(key(id, 1)), DeleteMediation(id)})
					if err != nil {
						t.Errorf("destroy: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			clk.Advance(time.Millisecond)
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	snap := e.Snapshot()
	if want := workers * rounds / 2; len(snap.Mediations) != want || len(snap.Streams) != want || len(e.Armed()) != want {
		t.Fatalf("%d mediations, %d streams, %d armed; want %d each",
			len(snap.Mediations), len(snap.Streams), len(e.Armed()), want)
	}
	clk.Advance(time.Hour)
	deadline := time.Now().Add(2 * time.Second)
	for len(e.Snapshot().Mediations) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("mediations did not time out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLogsHideTargets: intercept targets never appear above Debug.
func TestLogsHideTargets(t *testing.T) {
	secrets := []string{"198.18.", cpeMAC.String(), "5000"}
	for _, level := range []logrus.Level{logrus.InfoLevel, logrus.DebugLevel} {
		t.Run(level.String(), func(t *testing.T) {
			logger, hook := logtest.NewNullLogger()
			logger.SetLevel(level)
			e, clk := startEngine(t, func(o *Options) { o.Logger = logrus.NewEntry(logger) })
			mustApply(t, e, ipTap(1, 1)...)
			mustApply(t, e, Upsert(stream(key(1, 2), StreamMAC, true, true)), Upsert(macf(key(1, 2), true)))
			clk.Advance(time.Hour)
			nextEvent(t, e)
			leaked := false
			for _, entry := range hook.AllEntries() {
				text, _ := entry.String()
				for _, s := range secrets {
					if strings.Contains(text, s) {
						leaked = true
						if entry.Level < logrus.DebugLevel {
							t.Errorf("%s entry shows a target (%s): %s", entry.Level, s, text)
						}
					}
				}
			}
			if len(hook.AllEntries()) == 0 {
				t.Fatal("nothing logged")
			}
			// Debug does show them: proves the check can see a leak.
			if level == logrus.DebugLevel && !leaked {
				t.Error("debug logs carry no filter details")
			}
		})
	}
}
