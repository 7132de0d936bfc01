package intercept

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// maxTimerWait bounds one timer so that a step of the wall clock (NTP, an
// operator) delays a timeout by at most this much: deadlines are wall-clock
// times, timers run on the monotonic clock.
const maxTimerWait = time.Minute

// Options configure an Engine. The zero value is usable.
type Options struct {
	Clock  Clock         // nil: SystemClock
	Logger *logrus.Entry // nil: the logrus standard logger
	// OnArmed is called, on the engine's goroutine, after a change that
	// may have changed the armed taps; the data plane then pulls them
	// with Armed from its own goroutine. It must not block. Set it when a
	// data plane serves the taps.
	OnArmed func()
}

// Engine owns the intercept configuration. All methods are safe for
// concurrent use; they run on the goroutine of Run.
type Engine struct {
	clock   Clock
	log     *logrus.Entry
	ops     chan op
	events  chan Event
	stopped chan struct{}
	started atomic.Bool
	version atomic.Uint64

	// Owned by the Run goroutine.
	st        *store
	lastID    ContentID
	pending   []Event
	timerC    <-chan time.Time
	timerStop func() bool
	timerAt   time.Time

	armed    map[ContentID]map[uint32]bool // armed streams by device
	onArmed  func()
	counters *Counters
}

type op struct {
	f    func()
	done chan struct{}
}

// New returns an engine with an empty configuration. Nothing happens until
// Run is called.
func New(opts Options) *Engine {
	st := newStore()
	e := &Engine{
		clock:    opts.Clock,
		log:      opts.Logger,
		ops:      make(chan op),
		events:   make(chan Event),
		stopped:  make(chan struct{}),
		st:       st,
		counters: st.counters,
		onArmed:  opts.OnArmed,
		armed:    make(map[ContentID]map[uint32]bool),
		// Start somewhere random so that ids handed out before a restart
		// are unlikely to be handed out again right after it.
		lastID: ContentID(rand.Uint32N(MaxIndex)),
	}
	if e.clock == nil {
		e.clock = SystemClock{}
	}
	if e.log == nil {
		e.log = logrus.NewEntry(logrus.StandardLogger())
	}
	e.log = e.log.WithField("component", "intercept")
	return e
}

// Run owns the state until ctx is done: it runs the API calls, the timeouts
// and the delivery of events. It closes the Events channel on return.
func (e *Engine) Run(ctx context.Context) {
	if !e.started.CompareAndSwap(false, true) {
		e.log.Error("Run called twice; ignoring the second call")
		return
	}
	defer func() {
		e.stopTimer()
		close(e.stopped)
		close(e.events)
	}()
	e.rearm()
	for {
		var out chan<- Event
		var next Event
		if len(e.pending) > 0 {
			out, next = e.events, e.pending[0]
		}
		select {
		case <-ctx.Done():
			if len(e.pending) > 0 {
				e.log.WithField("events", len(e.pending)).Warn("stopping with undelivered events")
			}
			return
		case o := <-e.ops:
			o.f()
			e.rearm() // before the caller resumes, so timers are in place
			e.publishArmed()
			close(o.done)
		case <-e.timerC:
			e.timerC, e.timerStop = nil, nil
			e.expire()
			e.rearm()
			e.publishArmed()
		case out <- next:
			e.pending[0] = nil
			e.pending = e.pending[1:]
		}
	}
}

// do runs f on the Run goroutine and waits for it.
func (e *Engine) do(f func()) error {
	o := op{f: f, done: make(chan struct{})}
	select {
	case e.ops <- o:
	case <-e.stopped:
		return ErrStopped
	}
	<-o.done
	return nil
}

// Validate checks cs against the current state without applying it. A rule
// violation is a *RuleError naming the change, the field and the class.
func (e *Engine) Validate(cs []Change) error {
	var err error
	if stop := e.do(func() { err = newTxn(e.st, e.clock.Now()).validate(cs) }); stop != nil {
		return stop
	}
	return err
}

// Apply validates cs and applies all of it, or nothing.
func (e *Engine) Apply(cs []Change) error {
	_, err := e.ApplyRevertible(cs)
	return err
}

// Revert restores what an ApplyRevertible changed (SNMP UndoSet).
type Revert struct {
	prev changeSet
}

// ApplyRevertible is Apply that also returns what Revert needs to undo it.
func (e *Engine) ApplyRevertible(cs []Change) (*Revert, error) {
	var (
		rv  *Revert
		err error
	)
	stop := e.do(func() {
		t := newTxn(e.st, e.clock.Now())
		if err = t.validate(cs); err != nil {
			return
		}
		rv = &Revert{prev: t.previous()}
		e.st.write(&t.changeSet)
		e.version.Add(1)
		e.logChanges(&rv.prev, &t.changeSet)
	})
	if stop != nil {
		return nil, stop
	}
	return rv, err
}

// Revert writes back the objects an ApplyRevertible touched, exactly as
// they were, without checking rules: the state it restores was valid. A
// restored mediation device whose timeout has passed meanwhile times out
// at once, as it would have without the change.
func (e *Engine) Revert(r *Revert) error {
	if r == nil {
		return nil
	}
	return e.do(func() {
		e.st.write(&r.prev)
		e.version.Add(1)
		e.log.WithField("mediations", len(r.prev.mds)).Info("change set reverted")
	})
}

// NewContentID returns an id no mediation device uses, a different one on
// every call; 0 once the engine has stopped.
func (e *Engine) NewContentID() ContentID {
	var id ContentID
	_ = e.do(func() { id = e.nextID() })
	return id
}

func (e *Engine) nextID() ContentID {
	if len(e.st.mds) >= MaxIndex {
		return 0
	}
	for {
		e.lastID++
		if e.lastID == 0 || e.lastID > MaxIndex {
			e.lastID = 1
		}
		if _, used := e.st.mds[e.lastID]; !used {
			return e.lastID
		}
	}
}

// Intercepting reports whether a data plane serves the armed taps.
func (e *Engine) Intercepting() bool { return e.onArmed != nil }

// Report queues an event of the data plane (Debug) on the event stream.
func (e *Engine) Report(ev Event) {
	_ = e.do(func() { e.pending = append(e.pending, ev) })
}

// Counters returns the packet counters of a stream: copies delivered and
// matched packets that could not be delivered.
func (e *Engine) Counters(k StreamKey) (intercepted, drops uint64) { return e.counters.Get(k) }

// StreamCounters is where the data plane counts; a stream's counters are
// forgotten when the stream is removed.
func (e *Engine) StreamCounters() *Counters { return e.counters }

// Events delivers what the engine does on its own. Events are queued, never
// dropped, while nobody reads; the channel is closed when Run returns.
func (e *Engine) Events() <-chan Event { return e.events }

// Version increases with every change of the state (Apply, Revert,
// timeout); a binding may cache a Snapshot until it moves.
func (e *Engine) Version() uint64 { return e.version.Load() }

// Snapshot returns a copy of the whole configuration, sorted by key.
func (e *Engine) Snapshot() State {
	var s State
	_ = e.do(func() {
		s = e.st.snapshot()
		s.Version = e.version.Load()
	})
	// Sort off the owner goroutine.
	slices.SortFunc(s.Mediations, func(a, b Mediation) int { return cmp.Compare(a.ContentID, b.ContentID) })
	slices.SortFunc(s.Streams, func(a, b Stream) int { return compareKeys(a.Key, b.Key) })
	slices.SortFunc(s.IPFilters, func(a, b IPFilter) int { return compareKeys(a.Key, b.Key) })
	slices.SortFunc(s.MACFilters, func(a, b MACFilter) int { return compareKeys(a.Key, b.Key) })
	return s
}

// Armed returns the taps the data plane must serve, sorted by stream key.
func (e *Engine) Armed() []Tap {
	var taps []Tap
	_ = e.do(func() { taps = e.st.armed() })
	slices.SortFunc(taps, func(a, b Tap) int { return compareKeys(a.Stream.Key, b.Stream.Key) })
	return taps
}

// Mediation returns one mediation device.
func (e *Engine) Mediation(id ContentID) (m Mediation, ok bool) {
	_ = e.do(func() { m, ok = e.st.mediation(id) })
	return m, ok
}

// Stream returns one generic stream.
func (e *Engine) Stream(k StreamKey) (s Stream, ok bool) {
	_ = e.do(func() { s, ok = e.st.stream(k) })
	return s, ok
}

// IPFilter returns one IP filter.
func (e *Engine) IPFilter(k StreamKey) (f IPFilter, ok bool) {
	_ = e.do(func() { f, ok = e.st.ipFilter(k) })
	return f, ok
}

// MACFilter returns one MAC filter.
func (e *Engine) MACFilter(k StreamKey) (f MACFilter, ok bool) {
	_ = e.do(func() {
		f, ok = e.st.macFilter(k)
		f = f.clone()
	})
	return f, ok
}

func compareKeys(a, b StreamKey) int {
	if c := cmp.Compare(a.ContentID, b.ContentID); c != 0 {
		return c
	}
	return cmp.Compare(a.Index, b.Index)
}

// expire removes every mediation device whose timeout has passed.
func (e *Engine) expire() {
	now := e.clock.Now()
	for {
		id, at, ok := e.st.deadlines.next()
		if !ok || at.After(now) {
			return
		}
		md, _ := e.st.mediation(id)
		e.st.remove(id)
		e.version.Add(1)
		e.pending = append(e.pending, MediationTimedOut{
			ContentID: id, NotificationEnable: md.NotificationEnable, WasActive: md.Active,
		})
		e.log.WithFields(logrus.Fields{"content_id": id, "active": md.Active}).
			Info("mediation device timed out: removed with its streams")
	}
}

// publishArmed runs after every state change. It recomputes arming for the
// devices the change touched only (O(size of the change), not of all taps),
// reports newly armed streams and tells the data plane (OnArmed) that the
// armed taps may have moved.
func (e *Engine) publishArmed() {
	if len(e.st.dirty) == 0 {
		return
	}
	moved := false
	var taps []Tap
	for id := range e.st.dirty {
		delete(e.st.dirty, id)
		taps = e.st.armedOf(id, taps[:0])
		before := e.armed[id]
		now := make(map[uint32]bool, len(taps))
		for _, t := range taps {
			now[t.Stream.Key.Index] = true
			if !before[t.Stream.Key.Index] {
				e.pending = append(e.pending, StreamArmed{Key: t.Stream.Key, NotificationEnable: t.Mediation.NotificationEnable})
			}
		}
		if len(before) > 0 || len(now) > 0 {
			moved = true
		}
		if len(now) == 0 {
			delete(e.armed, id)
		} else {
			e.armed[id] = now
		}
	}
	if moved && e.onArmed != nil {
		e.onArmed()
	}
}

// rearm points the single timer at the earliest deadline.
func (e *Engine) rearm() {
	_, at, ok := e.st.deadlines.next()
	if !ok {
		e.stopTimer()
		return
	}
	if e.timerC != nil && at.Equal(e.timerAt) {
		return
	}
	e.stopTimer()
	e.timerC, e.timerStop = e.clock.NewTimer(min(at.Sub(e.clock.Now()), maxTimerWait))
	e.timerAt = at
}

func (e *Engine) stopTimer() {
	if e.timerStop != nil {
		e.timerStop()
	}
	e.timerC, e.timerStop = nil, nil
}

// logChanges logs a committed change set. Only ids and states appear above
// Debug; intercept targets (addresses, MACs, ports) only at Debug.
func (e *Engine) logChanges(prev, cur *changeSet) {
	if !e.log.Logger.IsLevelEnabled(logrus.InfoLevel) {
		return
	}
	for id, sl := range cur.mds {
		was := prev.mds[id].val
		l := e.log.WithField("content_id", id)
		switch {
		case sl.val == nil && was != nil:
			l.Info("mediation device removed")
		case sl.val == nil:
		case was == nil || was.Active != sl.val.Active:
			l.WithField("active", sl.val.Active).Info("mediation device set")
		default:
			l.Debug("mediation device updated")
		}
	}
	if !e.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		return
	}
	for k, sl := range cur.streams {
		e.log.WithFields(logrus.Fields{"stream": k, "deleted": sl.val == nil}).Debug("stream set")
	}
	for k, sl := range cur.ips {
		l := e.log.WithFields(logrus.Fields{"stream": k, "deleted": sl.val == nil})
		if sl.val != nil {
			l = l.WithFields(logrus.Fields{"dst": sl.val.Dst, "src": sl.val.Src, "protocol": sl.val.Protocol,
				"active": sl.val.Active})
		}
		l.Debug("ip filter set")
	}
	for k, sl := range cur.macs {
		l := e.log.WithFields(logrus.Fields{"stream": k, "deleted": sl.val == nil})
		if sl.val != nil {
			l = l.WithFields(logrus.Fields{"fields": sl.val.Fields, "dst": sl.val.Dst, "src": sl.val.Src,
				"active": sl.val.Active})
		}
		l.Debug("mac filter set")
	}
}
