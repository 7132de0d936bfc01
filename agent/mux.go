package agent

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"tapagent/agent/agentx"
)

// Mux routes OIDs to handlers. An OID belongs to the handler that registered
// the longest subtree containing it, so a handler may own a subtree nested
// in another handler's. Next walks across handlers in OID order. Handle may
// be called at any time; lookups never take a lock.
type Mux struct {
	mu     sync.Mutex // serialises Handle
	routes []route
	nextID int
	table  atomic.Pointer[muxTable]
}

type route struct {
	prefix agentx.OID
	h      Handler
	id     int // which Handle call: handlers need not be comparable
}

// muxTable is an immutable partition of the OID space into segments, each
// owned by one handler, sorted and disjoint. Gaps belong to nobody.
type muxTable struct {
	segs []segment
}

// segment is the OIDs in [lo, hi); hi nil means "to the end of the MIB".
type segment struct {
	lo, hi agentx.OID
	h      Handler
	id     int
}

// ErrDuplicateSubtree reports a subtree registered by two handlers.
var ErrDuplicateSubtree = errors.New("subtree already handled")

// NewMux returns an empty Mux.
func NewMux() *Mux {
	m := &Mux{}
	m.table.Store(&muxTable{})
	return m
}

// Handle adds every subtree of h. It fails, adding nothing, on a subtree
// that another handler (or h twice) already registered.
func (m *Mux) Handle(h Handler) error {
	if h == nil {
		return errors.New("mux: nil handler")
	}
	subtrees := h.Subtrees()
	if len(subtrees) == 0 {
		return errors.New("mux: handler has no subtrees")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	routes := slices.Clone(m.routes)
	m.nextID++
	for _, st := range subtrees {
		for _, r := range routes {
			if r.prefix.Equal(st) {
				return fmt.Errorf("mux: subtree %s: %w", st, ErrDuplicateSubtree)
			}
		}
		routes = append(routes, route{prefix: st.Clone(), h: h, id: m.nextID})
	}
	m.routes = routes
	m.table.Store(buildTable(routes))
	return nil
}

// Subtrees lists every registered subtree in registration order.
func (m *Mux) Subtrees() []agentx.OID {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]agentx.OID, len(m.routes))
	for i, r := range m.routes {
		out[i] = r.prefix.Clone()
	}
	return out
}

// Route returns the handler owning oid, or nil.
func (m *Mux) Route(oid agentx.OID) Handler {
	h, _ := m.lookup(oid)
	return h
}

// lookup is Route plus an id that is equal for equal handlers (grouping a
// SET by handler must not compare interface values).
func (m *Mux) lookup(oid agentx.OID) (Handler, int) {
	t := m.table.Load()
	if i := t.find(oid); i >= 0 {
		return t.segs[i].h, t.segs[i].id
	}
	return nil, 0
}

// Get answers a Get of exactly oid: the owner's value, or noSuchObject when
// no handler owns oid.
func (m *Mux) Get(oid agentx.OID) agentx.Value {
	h := m.Route(oid)
	if h == nil {
		return agentx.NoSuchObject()
	}
	v := h.Get(oid)
	if v.Type == agentx.TypeEndOfMibView {
		return agentx.NoSuchObject() // not an answer to an exact Get
	}
	return v
}

// Next finds the first instance after start (at start when include is set)
// and before end (empty end: no bound), asking the owners of the OID space
// from start onwards in order. ok is false when the range holds nothing.
func (m *Mux) Next(start agentx.OID, include bool, end agentx.OID) (agentx.VarBind, bool) {
	t := m.table.Load()
	for i := t.firstEndingAfter(start); i < len(t.segs); i++ {
		seg := &t.segs[i]
		from, inc := start, include
		if seg.lo.Compare(start) > 0 {
			from, inc = seg.lo, true
		}
		if len(end) > 0 && from.Compare(end) >= 0 {
			return agentx.VarBind{}, false
		}
		to := seg.hi
		if len(end) > 0 && (to == nil || end.Compare(to) < 0) {
			to = end
		}
		vb, ok := seg.h.Next(from, inc, to)
		if ok && inRange(vb.Name, from, inc, to) {
			return vb, true
		}
	}
	return agentx.VarBind{}, false
}

// inRange guards against a handler that ignores its bounds: an answer
// outside them would break the master's walk (loops, skipped subtrees).
func inRange(name, from agentx.OID, include bool, to agentx.OID) bool {
	c := name.Compare(from)
	if c < 0 || (c == 0 && !include) {
		return false
	}
	return to == nil || name.Compare(to) < 0
}

// find returns the index of the segment holding oid, or -1.
func (t *muxTable) find(oid agentx.OID) int {
	i := t.firstEndingAfter(oid)
	if i < len(t.segs) && t.segs[i].lo.Compare(oid) <= 0 {
		return i
	}
	return -1
}

// firstEndingAfter returns the first segment whose end lies beyond oid.
func (t *muxTable) firstEndingAfter(oid agentx.OID) int {
	lo, hi := 0, len(t.segs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if h := t.segs[mid].hi; h == nil || h.Compare(oid) > 0 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// subtreeEnd returns the first OID after every OID under prefix, or nil when
// no such OID exists (the empty prefix, or all sub-identifiers at max).
func subtreeEnd(prefix agentx.OID) agentx.OID {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < math.MaxUint32 {
			end := slices.Clone(prefix[:i+1])
			end[i]++
			return end
		}
	}
	return nil
}

// buildTable cuts the OID space at every subtree start and end; between two
// cuts the owner cannot change, and it is the longest prefix covering the
// segment's first OID.
func buildTable(routes []route) *muxTable {
	var cuts []agentx.OID
	for _, r := range routes {
		cuts = append(cuts, r.prefix)
		if e := subtreeEnd(r.prefix); e != nil {
			cuts = append(cuts, e)
		}
	}
	slices.SortFunc(cuts, agentx.OID.Compare)
	cuts = slices.CompactFunc(cuts, agentx.OID.Equal)

	t := &muxTable{}
	for i, lo := range cuts {
		var hi agentx.OID
		if i+1 < len(cuts) {
			hi = cuts[i+1]
		}
		r := owner(routes, lo)
		if r == nil {
			continue
		}
		if n := len(t.segs); n > 0 && t.segs[n-1].id == r.id && t.segs[n-1].hi.Equal(lo) {
			t.segs[n-1].hi = hi // same owner continues: one call covers both
			continue
		}
		t.segs = append(t.segs, segment{lo: lo, hi: hi, h: r.h, id: r.id})
	}
	return t
}

// owner returns the route with the longest prefix of oid, or nil.
func owner(routes []route, oid agentx.OID) *route {
	var best *route
	for i := range routes {
		r := &routes[i]
		if (best == nil || len(r.prefix) > len(best.prefix)) && oid.HasPrefix(r.prefix) {
			best = r
		}
	}
	return best
}
