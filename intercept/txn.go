package intercept

import (
	"fmt"
	"time"
)

// slot is the value a change set leaves for one object: nil = deleted.
// idx is the position of the last change that touched it.
type slot[T any] struct {
	val *T
	idx int
}

// changeSet holds the final value of every object a change set touches.
type changeSet struct {
	mds     map[ContentID]slot[Mediation]
	streams map[StreamKey]slot[Stream]
	ips     map[StreamKey]slot[IPFilter]
	macs    map[StreamKey]slot[MACFilter]
}

func newChangeSet() changeSet {
	return changeSet{
		mds:     make(map[ContentID]slot[Mediation]),
		streams: make(map[StreamKey]slot[Stream]),
		ips:     make(map[StreamKey]slot[IPFilter]),
		macs:    make(map[StreamKey]slot[MACFilter]),
	}
}

// txn is a change set being validated: an overlay over the committed store,
// so validation costs O(size of the change set), not O(size of the state).
type txn struct {
	base *store
	now  time.Time
	changeSet
}

func newTxn(base *store, now time.Time) *txn {
	return &txn{base: base, now: now, changeSet: newChangeSet()}
}

// The post-change view: overlay first, then the store.

func (t *txn) mediation(id ContentID) (Mediation, bool) {
	if sl, ok := t.mds[id]; ok {
		if sl.val == nil {
			return Mediation{}, false
		}
		return *sl.val, true
	}
	return t.base.mediation(id)
}

func (t *txn) stream(k StreamKey) (Stream, bool) {
	if sl, ok := t.streams[k]; ok {
		if sl.val == nil {
			return Stream{}, false
		}
		return *sl.val, true
	}
	return t.base.stream(k)
}

func (t *txn) ipFilter(k StreamKey) (IPFilter, bool) {
	if sl, ok := t.ips[k]; ok {
		if sl.val == nil {
			return IPFilter{}, false
		}
		return *sl.val, true
	}
	return t.base.ipFilter(k)
}

func (t *txn) macFilter(k StreamKey) (MACFilter, bool) {
	if sl, ok := t.macs[k]; ok {
		if sl.val == nil {
			return MACFilter{}, false
		}
		return *sl.val, true
	}
	return t.base.macFilter(k)
}

// validate runs every rule over cs; the result is a *RuleError for a rule
// violation or a plain error for a malformed change.
func (t *txn) validate(cs []Change) error {
	for i, c := range cs {
		if err := t.add(i, c); err != nil {
			return err
		}
	}
	if r := t.crossCheck(); r != nil {
		return r
	}
	return nil
}

// add applies change i to the overlay after the rules that depend only on
// the object and its previous value.
func (t *txn) add(i int, c Change) error {
	if c.Op != OpUpsert && c.Op != OpDelete && c.Op != OpUpdate {
		return fmt.Errorf("intercept: change %d: unknown op %d", i, c.Op)
	}
	if c.Op == OpUpdate && !t.exists(c.Object) {
		// The caller saw it a moment ago: a timeout removed it since.
		return &RuleError{Index: i, Field: FieldActive, Kind: Inconsistent, Msg: "no longer exists (timed out)"}
	}
	del := c.Op == OpDelete
	var r *RuleError
	switch o := c.Object.(type) {
	case Mediation:
		if del {
			t.mds[o.ContentID] = slot[Mediation]{nil, i}
			return nil
		}
		prev, had := t.mediation(o.ContentID)
		r = checkMediation(o, t.now, !had || !prev.Timeout.Equal(o.Timeout))
		if r == nil && had && prev.Active && o.Active {
			r = frozen(mediationFrozenChange(prev, o))
		}
		if r == nil {
			t.mds[o.ContentID] = slot[Mediation]{&o, i}
		}
	case Stream:
		if del {
			t.streams[o.Key] = slot[Stream]{nil, i}
			return nil
		}
		prev, had := t.stream(o.Key)
		r = checkStream(o)
		if r == nil && had && prev.Active && o.Active {
			r = frozen(streamFrozenChange(prev, o))
		}
		if r == nil {
			t.streams[o.Key] = slot[Stream]{&o, i}
		}
	case IPFilter:
		if del {
			t.ips[o.Key] = slot[IPFilter]{nil, i}
			return nil
		}
		prev, had := t.ipFilter(o.Key)
		r = checkIPFilter(o)
		if r == nil && had && prev.Active && o.Active {
			r = frozen(ipFilterFrozenChange(prev, o))
		}
		if r == nil {
			t.ips[o.Key] = slot[IPFilter]{&o, i}
		}
	case MACFilter:
		if del {
			t.macs[o.Key] = slot[MACFilter]{nil, i}
			return nil
		}
		prev, had := t.macFilter(o.Key)
		r = checkMACFilter(o)
		if r == nil && had && prev.Active && o.Active {
			r = frozen(macFilterFrozenChange(prev, o))
		}
		if r == nil {
			o = o.clone() // the caller keeps its slices
			t.macs[o.Key] = slot[MACFilter]{&o, i}
		}
	default:
		return fmt.Errorf("intercept: change %d: unsupported object %T", i, c.Object)
	}
	if r != nil {
		r.Index = i
		return r
	}
	return nil
}

// exists reports whether the object named by o's key exists in the state
// the change set has produced so far.
func (t *txn) exists(o Object) bool {
	switch o := o.(type) {
	case Mediation:
		_, ok := t.mediation(o.ContentID)
		return ok
	case Stream:
		_, ok := t.stream(o.Key)
		return ok
	case IPFilter:
		_, ok := t.ipFilter(o.Key)
		return ok
	case MACFilter:
		_, ok := t.macFilter(o.Key)
		return ok
	}
	return false
}

func frozen(field string) *RuleError {
	if field == "" {
		return nil
	}
	return inconsistent(field, "cannot change while active: set notInService first")
}

// crossCheck runs the rules between objects against the state the whole
// change set produces and reports the violation with the lowest change
// index, so the answer does not depend on map order.
func (t *txn) crossCheck() *RuleError {
	var first *RuleError
	report := func(idx int, r *RuleError) {
		r.Index = idx
		if first == nil || r.Index < first.Index {
			first = r
		}
	}
	for id, sl := range t.mds {
		if !t.hasChildren(id) {
			continue
		}
		pre, hadPre := t.base.mediation(id)
		switch {
		case sl.val == nil:
			report(sl.idx, inconsistent(FieldActive, "cannot destroy mediation %d: stream rows of it exist", id))
		case hadPre && pre.Active && !sl.val.Active:
			report(sl.idx, inconsistent(FieldActive, "cannot deactivate mediation %d: stream rows of it exist", id))
		}
	}
	checkChild := func(k StreamKey, idx int) {
		if _, ok := t.mediation(k.ContentID); !ok {
			report(idx, inconsistent(FieldActive, "no mediation device %d", k.ContentID))
		}
		t.checkKinds(k, report)
	}
	for k, sl := range t.streams {
		if sl.val != nil {
			checkChild(k, sl.idx)
		}
	}
	for k, sl := range t.ips {
		if sl.val != nil {
			checkChild(k, sl.idx)
		}
	}
	for k, sl := range t.macs {
		if sl.val != nil {
			checkChild(k, sl.idx)
		}
	}
	return first
}

// checkKinds enforces one specific filter per stream, of the kind the
// stream type names. The object written last in the change set is blamed.
func (t *txn) checkKinds(k StreamKey, report func(int, *RuleError)) {
	st, hasStream := t.stream(k)
	_, hasIP := t.ipFilter(k)
	_, hasMAC := t.macFilter(k)
	streamIdx, ipIdx, macIdx := touched(t.streams, k), touched(t.ips, k), touched(t.macs, k)
	if hasIP && hasMAC {
		if ipIdx > macIdx {
			report(ipIdx, inconsistent(FieldActive, "stream %s already has a MAC filter", k))
		} else {
			report(macIdx, inconsistent(FieldActive, "stream %s already has an IP filter", k))
		}
	}
	if !hasStream || st.Type == 0 {
		return
	}
	mismatch := func(filterIdx int, kind string) {
		if streamIdx > filterIdx {
			report(streamIdx, inconsistent(FieldType, "stream type %d does not match its %s filter", st.Type, kind))
		} else {
			report(filterIdx, inconsistent(FieldActive, "stream %s has type %d, not %s", k, st.Type, kind))
		}
	}
	if hasIP && st.Type != StreamIP {
		mismatch(ipIdx, "ip")
	}
	if hasMAC && st.Type != StreamMAC {
		mismatch(macIdx, "mac")
	}
}

// touched is the index of the last change that wrote k, or -1.
func touched[T any](m map[StreamKey]slot[T], k StreamKey) int {
	if sl, ok := m[k]; ok {
		return sl.idx
	}
	return -1
}

// hasChildren reports whether any stream or filter of id exists after the
// change set.
func (t *txn) hasChildren(id ContentID) bool {
	if overlayHas(t.streams, id) || overlayHas(t.ips, id) || overlayHas(t.macs, id) {
		return true
	}
	e := t.base.mds[id]
	if e == nil {
		return false
	}
	return baseHas(e.streams, t.streams, id) || baseHas(e.ips, t.ips, id) || baseHas(e.macs, t.macs, id)
}

func overlayHas[T any](m map[StreamKey]slot[T], id ContentID) bool {
	for k, sl := range m {
		if k.ContentID == id && sl.val != nil {
			return true
		}
	}
	return false
}

// baseHas reports whether a committed child of id survives the overlay.
func baseHas[V, T any](base map[uint32]V, overlay map[StreamKey]slot[T], id ContentID) bool {
	for idx := range base {
		if sl, ok := overlay[StreamKey{id, idx}]; ok && sl.val == nil {
			continue
		}
		return true
	}
	return false
}

// previous records the committed value of everything t touches, so that
// writing it back restores the state before t exactly.
func (t *txn) previous() changeSet {
	prev := newChangeSet()
	for id := range t.mds {
		prev.mds[id] = slotOf(t.base.mediation(id))
	}
	for k := range t.streams {
		prev.streams[k] = slotOf(t.base.stream(k))
	}
	for k := range t.ips {
		prev.ips[k] = slotOf(t.base.ipFilter(k))
	}
	for k := range t.macs {
		prev.macs[k] = slotOf(t.base.macFilter(k))
	}
	return prev
}

func slotOf[T any](v T, ok bool) slot[T] {
	if !ok {
		return slot[T]{}
	}
	return slot[T]{val: &v}
}
