package portsec

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// kernel talks to the nftables table of the engine.
type kernel struct {
	conn   *nftables.Conn
	table  *nftables.Table
	group  uint16
	minute time.Duration
}

func newKernel(netnsFd int, table string, group uint16, minute time.Duration) (*kernel, error) {
	opts := []nftables.ConnOption{nftables.AsLasting()}
	if netnsFd > 0 {
		opts = append(opts, nftables.WithNetNSFd(netnsFd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("portsec: nftables connection: %w", err)
	}
	return &kernel{conn: c, table: &nftables.Table{Name: table, Family: nftables.TableFamilyBridge},
		group: group, minute: minute}, nil
}

func (k *kernel) close() error { return k.conn.CloseLasting() }

// kernelElems are the addresses of one set with the life they have left
// (0: no timeout).
type kernelElems map[MAC]time.Duration

// kernelState is what the table holds now.
type kernelState struct {
	exists bool
	ports  map[int]kernelElems // per allow_<ifindex> set
	secure kernelElems
}

// read lists the table's sets and their elements. A missing table is an
// empty state, not an error.
func (k *kernel) read() (kernelState, error) {
	ks := kernelState{ports: map[int]kernelElems{}, secure: kernelElems{}}
	tables, err := k.conn.ListTablesOfFamily(nftables.TableFamilyBridge)
	if err != nil {
		return ks, fmt.Errorf("portsec: list bridge tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == k.table.Name }) {
		return ks, nil
	}
	ks.exists = true
	sets, err := k.conn.GetSets(k.table)
	if err != nil {
		return ks, fmt.Errorf("portsec: list sets of %s: %w", k.table.Name, err)
	}
	for _, s := range sets {
		var into kernelElems
		switch {
		case s.Name == secureSetName:
			into = ks.secure
		case strings.HasPrefix(s.Name, "allow_"):
			n, err := strconv.Atoi(strings.TrimPrefix(s.Name, "allow_"))
			if err != nil {
				continue
			}
			into = kernelElems{}
			ks.ports[n] = into
		default:
			continue
		}
		elems, err := k.conn.GetSetElements(s)
		if err != nil {
			return ks, fmt.Errorf("portsec: elements of set %s: %w", s.Name, err)
		}
		for _, e := range elems {
			if len(e.Key) < 6 {
				continue
			}
			into[MAC(e.Key[:6])] = e.Expires
		}
	}
	return ks, nil
}

// counter reads (and with reset, zeroes) the port's violation counter.
func (k *kernel) counter(ifindex int, reset bool) (uint64, error) {
	o := &nftables.CounterObj{Table: k.table, Name: counterName(ifindex)}
	var got nftables.Obj
	var err error
	if reset {
		got, err = k.conn.ResetObject(o)
	} else {
		got, err = k.conn.GetObject(o)
	}
	if err != nil {
		return 0, fmt.Errorf("portsec: counter %s: %w", o.Name, err)
	}
	if c, ok := got.(*nftables.CounterObj); ok {
		return c.Packets, nil
	}
	if n, ok := got.(*nftables.NamedObj); ok {
		if c, ok := n.Obj.(*expr.Counter); ok {
			return c.Packets, nil
		}
	}
	return 0, fmt.Errorf("portsec: counter %s: unexpected object %T", o.Name, got)
}

// sync makes the table match s in one transaction. ks is the table as it
// was just read; drop lists addresses the model removed per port (kernel
// elements the model does not know are left alone: they are recent
// learns the next poll adopts).
func (k *kernel) sync(s *state, ks kernelState, drop map[int][]MAC, now time.Time) error {
	c, t := k.conn, k.table
	c.AddTable(t)
	secure := newSet(t, secureSetName, secureSetSize)
	if err := c.AddSet(secure, nil); err != nil {
		return fmt.Errorf("portsec: queue set %s: %w", secure.Name, err)
	}
	base := c.AddChain(baseChain(t))
	c.FlushChain(base)

	wantSecure := map[MAC]time.Duration{}
	var secureDel []nftables.SetElement
	ifindexes := slices.Sorted(maps.Keys(s.ports))
	enforced := map[int]bool{}
	for _, i := range ifindexes {
		p := s.ports[i]
		if !s.enforced(p) {
			continue
		}
		enforced[i] = true
		set := newSet(t, allowSetName(i), p.cfg.Maximum)
		have := ks.ports[i]
		var add, del []nftables.SetElement
		for _, m := range drop[i] {
			if _, ok := have[m]; ok {
				del = append(del, nftables.SetElement{Key: m[:]})
			}
			if _, ok := ks.secure[m]; ok {
				secureDel = append(secureDel, nftables.SetElement{Key: m[:]})
			}
		}
		for _, m := range slices.SortedFunc(maps.Keys(p.entries), compareMAC) {
			e := p.entries[m]
			left := time.Duration(0)
			if !e.expires.IsZero() {
				left = max(e.expires.Sub(now), time.Millisecond)
			}
			wantSecure[m] = left
			cur, ok := have[m]
			if ok && (cur == 0) == (left == 0) {
				continue // same address, same kind of aging
			}
			if ok {
				del = append(del, nftables.SetElement{Key: m[:]})
			}
			add = append(add, nftables.SetElement{Key: m[:], Timeout: left})
		}
		// Deletes first: the set may be full until they are done.
		if err := c.AddSet(set, nil); err != nil {
			return fmt.Errorf("portsec: queue set %s: %w", set.Name, err)
		}
		if len(del) > 0 {
			if err := c.SetDeleteElements(set, del); err != nil {
				return fmt.Errorf("portsec: queue deletes from %s: %w", set.Name, err)
			}
		}
		if len(add) > 0 {
			if err := c.SetAddElements(set, add); err != nil {
				return fmt.Errorf("portsec: queue adds to %s: %w", set.Name, err)
			}
		}
		c.AddObj(&nftables.CounterObj{Table: t, Name: counterName(i)})
		ch := c.AddChain(&nftables.Chain{Table: t, Name: portChainName(i)})
		c.FlushChain(ch)
		for _, r := range portRules(i, p.cfg, k.group, k.minute) {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r})
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: jumpRule(i)})
	}
	// Ports no longer enforced lose chain, set, counter and their
	// addresses in the secure set.
	for i, have := range ks.ports {
		if enforced[i] {
			continue
		}
		ch := &nftables.Chain{Table: t, Name: portChainName(i)}
		c.FlushChain(ch)
		c.DelChain(ch)
		c.DelSet(&nftables.Set{Table: t, Name: allowSetName(i)})
		c.DeleteObject(&nftables.CounterObj{Table: t, Name: counterName(i)})
		for m := range have {
			if _, ok := wantSecure[m]; !ok {
				if _, ok := ks.secure[m]; ok {
					secureDel = append(secureDel, nftables.SetElement{Key: m[:]})
				}
			}
		}
	}
	secureDel = slices.DeleteFunc(uniqueElems(secureDel), func(e nftables.SetElement) bool {
		_, keep := wantSecure[MAC(e.Key)]
		return keep
	})
	var secureAdd []nftables.SetElement
	for _, m := range slices.SortedFunc(maps.Keys(wantSecure), compareMAC) {
		if cur, ok := ks.secure[m]; ok && (cur == 0) == (wantSecure[m] == 0) {
			continue
		} else if ok {
			secureDel = append(secureDel, nftables.SetElement{Key: m[:]})
		}
		secureAdd = append(secureAdd, nftables.SetElement{Key: m[:], Timeout: wantSecure[m]})
	}
	if len(secureDel) > 0 {
		if err := c.SetDeleteElements(secure, secureDel); err != nil {
			return fmt.Errorf("portsec: queue deletes from %s: %w", secureSetName, err)
		}
	}
	if len(secureAdd) > 0 {
		if err := c.SetAddElements(secure, secureAdd); err != nil {
			return fmt.Errorf("portsec: queue adds to %s: %w", secureSetName, err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("portsec: apply ruleset to %s: %w", t.Name, err)
	}
	return nil
}

// deleteElems removes addresses of a port from its set and the secure set.
func (k *kernel) deleteElems(ifindex int, macs []MAC, ks kernelState) error {
	var own, sec []nftables.SetElement
	for _, m := range macs {
		if _, ok := ks.ports[ifindex][m]; ok {
			own = append(own, nftables.SetElement{Key: m[:]})
		}
		if _, ok := ks.secure[m]; ok {
			sec = append(sec, nftables.SetElement{Key: m[:]})
		}
	}
	if len(own) > 0 {
		if err := k.conn.SetDeleteElements(&nftables.Set{Table: k.table, Name: allowSetName(ifindex), KeyType: nftables.TypeEtherAddr}, own); err != nil {
			return err
		}
	}
	if len(sec) > 0 {
		if err := k.conn.SetDeleteElements(&nftables.Set{Table: k.table, Name: secureSetName, KeyType: nftables.TypeEtherAddr}, sec); err != nil {
			return err
		}
	}
	if len(own)+len(sec) == 0 {
		return nil
	}
	if err := k.conn.Flush(); err != nil {
		return fmt.Errorf("portsec: delete addresses of port %d: %w", ifindex, err)
	}
	return nil
}

// remove deletes the whole table: enforcement ends.
func (k *kernel) remove() error {
	k.conn.DelTable(k.table)
	if err := k.conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("portsec: delete table %s: %w", k.table.Name, err)
	}
	return nil
}

func compareMAC(a, b MAC) int { return slices.Compare(a[:], b[:]) }

func uniqueElems(es []nftables.SetElement) []nftables.SetElement {
	seen := map[MAC]bool{}
	return slices.DeleteFunc(es, func(e nftables.SetElement) bool {
		m := MAC(e.Key)
		if seen[m] {
			return true
		}
		seen[m] = true
		return false
	})
}
