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
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Netlink limits that shape every transaction.
const (
	// elemsPerMessage bounds the elements of one NEWSETELEM/DELSETELEM
	// message. The element list is one attribute whose length field has
	// 16 bits: past about 2,000 MACs it wraps and the kernel reads garbage
	// (ENOENT on delete). 1,024 elements of at most 40 bytes stay far below.
	elemsPerMessage = 1024
	// socketBuffer is the send and receive buffer of the nftables socket:
	// a transaction is one sendmsg and must fit (tens of thousands of
	// elements at ~32 bytes each), and a burst of acknowledgements must
	// not overflow the receive side (ENOBUFS).
	socketBuffer = 16 << 20
	// nflogBuffer is the receive buffer of the nflog socket.
	nflogBuffer = 32 << 20
)

// kernel talks to the nftables table of the engine.
type kernel struct {
	conn   *nftables.Conn
	table  *nftables.Table
	group  uint16
	minute time.Duration
}

func newKernel(netnsFd int, table string, group uint16, minute time.Duration) (*kernel, error) {
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(bigBuffers)}
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

// bigBuffers sizes the nftables socket for large transactions and asks
// the kernel not to echo whole requests in error replies (a rejected
// 40 KB message would come back whole and could overflow the buffer).
func bigBuffers(c *netlink.Conn) error {
	if err := c.SetOption(netlink.CapAcknowledge, true); err != nil {
		return fmt.Errorf("portsec: netlink capped acks: %w", err)
	}
	if err := forceBuffer(c, unix.SO_SNDBUFFORCE, socketBuffer, c.SetWriteBuffer); err != nil {
		return fmt.Errorf("portsec: netlink send buffer: %w", err)
	}
	if err := setReadBuffer(c, socketBuffer); err != nil {
		return fmt.Errorf("portsec: netlink receive buffer: %w", err)
	}
	return nil
}

func setReadBuffer(c *netlink.Conn, size int) error {
	return forceBuffer(c, unix.SO_RCVBUFFORCE, size, c.SetReadBuffer)
}

// forceBuffer sets a socket buffer beyond net.core.{r,w}mem_max (root),
// or as far as the limit allows without CAP_NET_ADMIN.
func forceBuffer(c *netlink.Conn, opt, size int, fallback func(int) error) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, size) }); err != nil {
		return err
	}
	if serr != nil {
		return fallback(size)
	}
	return nil
}

// queueElems queues adds (or deletes) of elements in messages small
// enough for netlink. They stay in the same batch: one transaction.
func queueElems(c *nftables.Conn, set *nftables.Set, elems []nftables.SetElement, del bool) error {
	for chunk := range slices.Chunk(elems, elemsPerMessage) {
		var err error
		if del {
			err = c.SetDeleteElements(set, chunk)
		} else {
			err = c.SetAddElements(set, chunk)
		}
		if err != nil {
			op := "adds to"
			if del {
				op = "deletes from"
			}
			return fmt.Errorf("portsec: queue %s %s: %w", op, set.Name, err)
		}
	}
	return nil
}

// kernelElems are the addresses of one set with the life they have left
// (0: no timeout).
type kernelElems map[MAC]time.Duration

// kernelState is what the table holds now.
type kernelState struct {
	exists bool
	ports  map[int]kernelElems // per allow_<ifindex> set
	sizes  map[int]uint32      // declared size of each allow_<ifindex> set
	secure kernelElems
	shut   map[int]bool // ports the kernel err-disabled (shut set)
}

// read lists the table's sets and their elements. A missing table is an
// empty state, not an error.
func (k *kernel) read() (kernelState, error) {
	ks := kernelState{ports: map[int]kernelElems{}, sizes: map[int]uint32{}, secure: kernelElems{}, shut: map[int]bool{}}
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
		case s.Name == shutSetName:
			elems, err := k.conn.GetSetElements(s)
			if err != nil {
				return ks, fmt.Errorf("portsec: elements of set %s: %w", s.Name, err)
			}
			for _, e := range elems {
				if len(e.Key) == 4 {
					ks.shut[int(binaryutil.NativeEndian.Uint32(e.Key))] = true
				}
			}
			continue
		case s.Name == secureSetName:
			into = ks.secure
		case strings.HasPrefix(s.Name, "allow_"):
			n, err := strconv.Atoi(strings.TrimPrefix(s.Name, "allow_"))
			if err != nil {
				continue
			}
			into = kernelElems{}
			ks.ports[n] = into
			ks.sizes[n] = s.Size
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

// generations reads the generation each port chain logs with (0 for a
// port without chain or log rule).
func (k *kernel) generations(ifindexes []int) (map[int]uint32, error) {
	gens := map[int]uint32{}
	for _, i := range ifindexes {
		rules, err := k.conn.GetRules(k.table, &nftables.Chain{Table: k.table, Name: portChainName(i)})
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("portsec: rules of port %d: %w", i, err)
		}
		for _, r := range rules {
			for _, x := range r.Exprs {
				if l, ok := x.(*expr.Log); ok {
					if _, gen, ok := parsePrefix(string(l.Data)); ok {
						gens[i] = gen
					}
				}
			}
		}
	}
	return gens, nil
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
// was just read; drop lists addresses the model removed per port and
// release the ports whose err-disabled state the model ended (kernel
// elements the model does not know are left alone: they are recent
// learns and violations the engine has not seen yet).
func (k *kernel) sync(s *state, ks kernelState, drop map[int][]MAC, release map[int]bool, now time.Time) error {
	if err := k.growSets(s, ks); err != nil {
		return err
	}
	c, t := k.conn, k.table
	c.AddTable(t)
	secure := newSet(t, secureSetName, secureSetSize)
	if err := c.AddSet(secure, nil); err != nil {
		return fmt.Errorf("portsec: queue set %s: %w", secure.Name, err)
	}
	shut := newShutSet(t)
	if err := c.AddSet(shut, nil); err != nil {
		return fmt.Errorf("portsec: queue set %s: %w", shut.Name, err)
	}
	base := c.AddChain(baseChain(t))
	c.FlushChain(base)
	c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: shutRule()})
	var shutAdd, shutDel []nftables.SetElement
	for i, p := range s.ports {
		on := s.enforced(p)
		switch {
		case on && p.shutdown && !ks.shut[i]:
			shutAdd = append(shutAdd, ifindexElem(i))
		case ks.shut[i] && !p.shutdown && (!on || p.cfg.Violation != Shutdown || release[i]):
			shutDel = append(shutDel, ifindexElem(i))
		}
	}
	for i := range ks.shut {
		if s.ports[i] == nil {
			shutDel = append(shutDel, ifindexElem(i))
		}
	}
	if err := queueElems(c, shut, shutDel, true); err != nil {
		return err
	}
	if err := queueElems(c, shut, shutAdd, false); err != nil {
		return err
	}

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
		if err := queueElems(c, set, del, true); err != nil {
			return err
		}
		if err := queueElems(c, set, add, false); err != nil {
			return err
		}
		c.AddObj(&nftables.CounterObj{Table: t, Name: counterName(i)})
		ch := c.AddChain(&nftables.Chain{Table: t, Name: portChainName(i)})
		c.FlushChain(ch)
		for _, r := range portRules(i, p.cfg, p.gen, k.group, k.minute) {
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
	if err := queueElems(c, secure, secureDel, true); err != nil {
		return err
	}
	if err := queueElems(c, secure, secureAdd, false); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("portsec: apply ruleset to %s: %w", t.Name, err)
	}
	return nil
}

// growSets enlarges the allow sets of ports whose maximum went up, in a
// transaction of its own: the kernel checks added elements against the
// size a set has before the transaction commits, so growing a set and
// filling it in one transaction fails (ENFILE).
func (k *kernel) growSets(s *state, ks kernelState) error {
	grown := false
	for i, p := range s.ports {
		if size, ok := ks.sizes[i]; ok && s.enforced(p) && size < uint32(p.cfg.Maximum) {
			if err := k.conn.AddSet(newSet(k.table, allowSetName(i), p.cfg.Maximum), nil); err != nil {
				return fmt.Errorf("portsec: queue growth of set %s: %w", allowSetName(i), err)
			}
			grown = true
		}
	}
	if !grown {
		return nil
	}
	if err := k.conn.Flush(); err != nil {
		return fmt.Errorf("portsec: grow allow sets of %s: %w", k.table.Name, err)
	}
	return nil
}

// unshut lets frames of an err-disabled port through again.
func (k *kernel) unshut(ifindex int) error {
	if err := k.conn.SetDeleteElements(newShutSet(k.table), []nftables.SetElement{ifindexElem(ifindex)}); err != nil {
		return fmt.Errorf("portsec: queue release of port %d: %w", ifindex, err)
	}
	if err := k.conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("portsec: release port %d: %w", ifindex, err)
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
