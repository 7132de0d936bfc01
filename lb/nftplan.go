package lb

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// nftPlan is the content the engine wants its table to have. Reconcile
// compares the plan last applied with the next one and sends only the
// difference, in one transaction: existing counters and set elements
// (with their per-element counters and timeouts) are left alone.
type nftPlan struct {
	chains   map[string]*planChain
	sets     map[string]*planSet
	counters map[string]bool
	timeouts map[string]*expr.CtTimeout
}

type planChain struct {
	hook  *nftables.Chain // hook, priority, type and policy of a base chain; nil otherwise
	rules []planRule
	sig   string
}

type planRule struct {
	exprs   []expr.Any
	comment string
}

type planSet struct {
	set   nftables.Set // template; Table is filled in when applied
	elems map[string]nftables.SetElement
}

func newPlan() *nftPlan {
	return &nftPlan{chains: map[string]*planChain{}, sets: map[string]*planSet{},
		counters: map[string]bool{}, timeouts: map[string]*expr.CtTimeout{}}
}

func (p *nftPlan) chain(name string, hook *nftables.Chain) *planChain {
	c := &planChain{hook: hook}
	p.chains[name] = c
	return c
}

func (c *planChain) add(comment string, exprs ...expr.Any) {
	c.rules = append(c.rules, planRule{exprs: exprs, comment: comment})
}

func (p *nftPlan) addSet(s nftables.Set) *planSet {
	ps := &planSet{set: s, elems: map[string]nftables.SetElement{}}
	p.sets[s.Name] = ps
	return ps
}

func (s *planSet) put(e nftables.SetElement) { s.elems[string(e.Key)] = e }

// signature describes a chain completely, to tell whether it changed.
func (c *planChain) signature() string {
	if c.sig != "" {
		return c.sig
	}
	var b strings.Builder
	if h := c.hook; h != nil {
		fmt.Fprintf(&b, "hook %d %d %s %v;", *h.Hooknum, *h.Priority, h.Type, *h.Policy)
	}
	for _, r := range c.rules {
		b.WriteString(r.comment)
		for _, e := range r.exprs {
			fmt.Fprintf(&b, "%T%+v|", e, e)
		}
		b.WriteString(";")
	}
	c.sig = b.String()
	return c.sig
}

func setSignature(s *nftables.Set) string {
	return fmt.Sprintf("%v %v %v %v %v %v %v %d", s.IsMap, s.HasTimeout, s.Dynamic, s.Counter,
		s.KeyType.Name, s.DataType.Name, s.Timeout, s.Size)
}

func elemSignature(e nftables.SetElement) string {
	if e.VerdictData != nil {
		return fmt.Sprintf("%d %s", e.VerdictData.Kind, e.VerdictData.Chain)
	}
	return string(e.Val)
}

// elemChunk keeps each element message well below the 64 KiB a netlink
// attribute can hold.
const elemChunk = 256

func chunked(elems []nftables.SetElement, f func([]nftables.SetElement) error) error {
	for len(elems) > 0 {
		n := min(len(elems), elemChunk)
		if err := f(elems[:n]); err != nil {
			return err
		}
		elems = elems[n:]
	}
	return nil
}

// queueDiff adds to c's batch what turns table t from prev into next. A
// set whose declaration changed is deleted and declared again (its name
// carries the rule generation, so this only happens for a reused name
// after a failed apply).
func queueDiff(c *nftables.Conn, t *nftables.Table, prev, next *nftPlan) error {
	c.AddTable(t)
	for _, name := range slices.Sorted(maps.Keys(next.counters)) {
		if !prev.counters[name] {
			c.AddObj(&nftables.CounterObj{Table: t, Name: name})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(next.timeouts)) {
		if _, ok := prev.timeouts[name]; !ok {
			to := next.timeouts[name]
			c.AddObj(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCtTimeout, Obj: to})
		}
	}
	setObj := func(ps *planSet) *nftables.Set {
		s := ps.set
		s.Table = t
		return &s
	}
	// Sets, then chains, must exist before rules and map elements name them.
	for _, name := range slices.Sorted(maps.Keys(next.sets)) {
		ns := next.sets[name]
		if ps, ok := prev.sets[name]; !ok || setSignature(&ps.set) != setSignature(&ns.set) {
			if ok {
				return fmt.Errorf("set %s changed its declaration", name)
			}
			if err := c.AddSet(setObj(ns), nil); err != nil {
				return fmt.Errorf("queue set %s: %w", name, err)
			}
		}
	}
	chainObj := func(name string, pc *planChain) *nftables.Chain {
		ch := &nftables.Chain{Name: name, Table: t}
		if pc.hook != nil {
			ch.Hooknum, ch.Priority, ch.Type, ch.Policy = pc.hook.Hooknum, pc.hook.Priority, pc.hook.Type, pc.hook.Policy
		}
		return ch
	}
	names := slices.Sorted(maps.Keys(next.chains))
	for _, name := range names {
		if _, ok := prev.chains[name]; !ok {
			c.AddChain(chainObj(name, next.chains[name]))
		}
	}
	// Rules of new and changed chains; old chains about to go are emptied
	// first so that nothing refers to what is deleted below.
	for _, name := range slices.Sorted(maps.Keys(prev.chains)) {
		if _, ok := next.chains[name]; !ok {
			c.FlushChain(chainObj(name, prev.chains[name]))
		}
	}
	for _, name := range names {
		nc := next.chains[name]
		pc, existed := prev.chains[name]
		if existed && pc.signature() == nc.signature() {
			continue
		}
		ch := chainObj(name, nc)
		if existed {
			c.FlushChain(ch)
		}
		for _, r := range nc.rules {
			var ud []byte
			if r.comment != "" {
				ud = userdata.AppendString(nil, userdata.TypeComment, r.comment)
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r.exprs, UserData: ud})
		}
	}
	// Elements: removed and changed ones out, new and changed ones in.
	for _, name := range slices.Sorted(maps.Keys(next.sets)) {
		ns := next.sets[name]
		var del, add []nftables.SetElement
		if ps, ok := prev.sets[name]; ok {
			for k, e := range ps.elems {
				if ne, ok := ns.elems[k]; !ok || elemSignature(ne) != elemSignature(e) {
					del = append(del, nftables.SetElement{Key: e.Key})
				}
			}
			for k, e := range ns.elems {
				if pe, ok := ps.elems[k]; !ok || elemSignature(pe) != elemSignature(e) {
					add = append(add, e)
				}
			}
		} else {
			add = slices.Collect(maps.Values(ns.elems))
		}
		s := setObj(ns)
		byKey := func(a, b nftables.SetElement) int { return strings.Compare(string(a.Key), string(b.Key)) }
		slices.SortFunc(del, byKey)
		slices.SortFunc(add, byKey)
		if err := chunked(del, func(e []nftables.SetElement) error { return c.SetDeleteElements(s, e) }); err != nil {
			return fmt.Errorf("queue element removal from %s: %w", name, err)
		}
		if err := chunked(add, func(e []nftables.SetElement) error { return c.SetAddElements(s, e) }); err != nil {
			return fmt.Errorf("queue elements of %s: %w", name, err)
		}
	}
	// What is no longer wanted, in dependency order: sets first (a verdict
	// map's elements jump to chains, and a chain still referred to cannot
	// be deleted: EBUSY), then the chains, emptied above.
	for _, name := range slices.Sorted(maps.Keys(prev.sets)) {
		if _, ok := next.sets[name]; !ok {
			c.DelSet(setObj(prev.sets[name]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(prev.chains)) {
		if _, ok := next.chains[name]; !ok {
			c.DelChain(chainObj(name, prev.chains[name]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(prev.counters)) {
		if !next.counters[name] {
			c.DeleteObject(&nftables.CounterObj{Table: t, Name: name})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(prev.timeouts)) {
		if _, ok := next.timeouts[name]; !ok {
			c.DeleteObject(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCtTimeout, Obj: prev.timeouts[name]})
		}
	}
	return nil
}
