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
	// rebuild makes the next sync delete the table first, in the same
	// transaction (a legacy table's sets cannot change their keys).
	rebuild bool
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
type kernelElems map[addr]time.Duration

// shutKey names an err-disabled port (vlan 0) or VLAN of a port.
type shutKey struct {
	ifindex int
	vlan    uint16
}

// kernelState is what the table holds now.
type kernelState struct {
	exists    bool
	ports     map[int]kernelElems            // per allow_<ifindex> set
	sizes     map[int]uint32                 // declared size of each allow_<ifindex> set
	vlans     map[int]map[uint16]kernelElems // per vlan_<ifindex>_<vlan> set
	vlanSizes map[int]map[uint16]uint32
	secure    kernelElems
	shut      map[shutKey]bool // ports (vlan 0) and VLANs the kernel err-disabled
	// legacy: the table was written by an agent that keyed addresses by
	// MAC only (VLAN 0 here); it is rebuilt, not updated.
	legacy bool
}

func emptyKernelState() kernelState {
	return kernelState{ports: map[int]kernelElems{}, sizes: map[int]uint32{}, vlans: map[int]map[uint16]kernelElems{},
		vlanSizes: map[int]map[uint16]uint32{}, secure: kernelElems{}, shut: map[shutKey]bool{}}
}

// read lists the table's sets and their elements. A missing table is an
// empty state, not an error.
func (k *kernel) read() (kernelState, error) {
	ks := emptyKernelState()
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
		case s.Name == shutSetName || s.Name == shutVLANSetName:
			elems, err := k.conn.GetSetElements(s)
			if err != nil {
				return ks, fmt.Errorf("portsec: elements of set %s: %w", s.Name, err)
			}
			for _, e := range elems {
				if len(e.Key) < 4 {
					continue
				}
				key := shutKey{ifindex: int(binaryutil.NativeEndian.Uint32(e.Key))}
				if s.Name == shutVLANSetName {
					if len(e.Key) < 8 {
						continue
					}
					key.vlan = uint16(binaryutil.NativeEndian.Uint32(e.Key[4:8]))
				}
				ks.shut[key] = true
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
			i, v, ok := parseVLANSetName(s.Name)
			if !ok {
				continue
			}
			into = kernelElems{}
			if ks.vlans[i] == nil {
				ks.vlans[i], ks.vlanSizes[i] = map[uint16]kernelElems{}, map[uint16]uint32{}
			}
			ks.vlans[i][v], ks.vlanSizes[i][v] = into, s.Size
		}
		elems, err := k.conn.GetSetElements(s)
		if err != nil {
			return ks, fmt.Errorf("portsec: elements of set %s: %w", s.Name, err)
		}
		for _, e := range elems {
			if a, ok := keyAddr(e.Key); ok {
				into[a] = e.Expires
			} else if len(e.Key) == len(MAC{}) {
				into[addr{mac: MAC(e.Key)}] = e.Expires
				ks.legacy = true
			}
		}
		if s.KeyType.Bytes == uint32(len(MAC{})) {
			ks.legacy = true
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
// release the err-disabled ports and VLANs the model ended (kernel
// elements the model does not know are left alone: they are recent
// learns and violations the engine has not seen yet).
func (k *kernel) sync(s *state, ks kernelState, drop map[int][]addr, release map[shutKey]bool, now time.Time) error {
	if err := k.growSets(s, ks); err != nil {
		return err
	}
	c, t := k.conn, k.table
	if k.rebuild {
		c.DelTable(t)
		ks = emptyKernelState()
	}
	c.AddTable(t)
	secure := newSet(t, secureSetName, secureSetSize)
	shut, shutVLAN := newShutSet(t), newShutVLANSet(t)
	for _, set := range []*nftables.Set{secure, shut, shutVLAN} {
		if err := c.AddSet(set, nil); err != nil {
			return fmt.Errorf("portsec: queue set %s: %w", set.Name, err)
		}
	}
	base := c.AddChain(baseChain(t))
	c.FlushChain(base)
	c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: shutRule()})
	egressSet := newEgressSet(t)
	if err := c.AddSet(egressSet, nil); err != nil {
		return fmt.Errorf("portsec: queue set %s: %w", egressSet.Name, err)
	}
	c.FlushSet(egressSet)
	if err := queueElems(c, egressSet, egressPairs(s), false); err != nil {
		return err
	}
	egress := c.AddChain(egressChain(t))
	c.FlushChain(egress)
	for _, r := range egressShutRules() {
		c.AddRule(&nftables.Rule{Table: t, Chain: egress, Exprs: r})
	}
	if err := k.queueShut(s, ks, release, shut, shutVLAN); err != nil {
		return err
	}

	wantSecure := map[addr]time.Duration{}
	var secureDel []nftables.SetElement
	enforced := map[int]bool{}
	for _, i := range slices.Sorted(maps.Keys(s.ports)) {
		p := s.ports[i]
		if !s.enforced(p) {
			continue
		}
		enforced[i] = true
		for _, a := range drop[i] {
			if _, ok := ks.secure[a]; ok {
				secureDel = append(secureDel, addrElem(a, 0))
			}
		}
		left := map[addr]time.Duration{}
		for a, e := range p.entries {
			if !e.expires.IsZero() {
				left[a] = max(e.expires.Sub(now), time.Millisecond)
			} else {
				left[a] = 0
			}
			wantSecure[a] = left[a]
		}
		// The port's set, then one set per VLAN with a limit of its own.
		if err := queueSet(c, newSet(t, allowSetName(i), p.cfg.Maximum), ks.ports[i], left, drop[i]); err != nil {
			return err
		}
		limited := p.limited()
		for _, v := range limited {
			inVLAN := map[addr]time.Duration{}
			for a, l := range left {
				if a.vlan == v {
					inVLAN[a] = l
				}
			}
			have := ks.vlans[i][v]
			// Whatever the VLAN's set holds beyond the model goes: an
			// address learned there whose port add failed.
			var extra []addr
			for a := range have {
				if _, ok := inVLAN[a]; !ok {
					extra = append(extra, a)
				}
			}
			if err := queueSet(c, newSet(t, vlanSetName(i, v), p.limits[v]), have, inVLAN, extra); err != nil {
				return err
			}
		}
		c.AddObj(&nftables.CounterObj{Table: t, Name: counterName(i)})
		carried := newCarriedSet(t, i)
		if err := c.AddSet(carried, nil); err != nil {
			return fmt.Errorf("portsec: queue set %s: %w", carried.Name, err)
		}
		c.FlushSet(carried)
		if err := queueElems(c, carried, carriedElems(p.vlans), false); err != nil {
			return err
		}
		ch := c.AddChain(&nftables.Chain{Table: t, Name: portChainName(i)})
		c.FlushChain(ch)
		for v := range ks.vlans[i] {
			if !slices.Contains(limited, v) {
				c.DelSet(&nftables.Set{Table: t, Name: vlanSetName(i, v)})
			}
		}
		for _, r := range portRules(i, p, k.group, k.minute) {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r})
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: jumpRule(i)})
	}
	// Ports no longer enforced lose chain, sets, counter and their
	// addresses in the secure set.
	for i, have := range ks.ports {
		if enforced[i] {
			continue
		}
		ch := &nftables.Chain{Table: t, Name: portChainName(i)}
		c.FlushChain(ch)
		c.DelChain(ch)
		c.DelSet(&nftables.Set{Table: t, Name: allowSetName(i)})
		c.DelSet(&nftables.Set{Table: t, Name: carriedSetName(i)})
		for v := range ks.vlans[i] {
			c.DelSet(&nftables.Set{Table: t, Name: vlanSetName(i, v)})
		}
		c.DeleteObject(&nftables.CounterObj{Table: t, Name: counterName(i)})
		for a := range have {
			if _, ok := ks.secure[a]; ok {
				secureDel = append(secureDel, addrElem(a, 0))
			}
		}
	}
	secureDel = slices.DeleteFunc(uniqueElems(secureDel), func(e nftables.SetElement) bool {
		a, _ := keyAddr(e.Key)
		_, keep := wantSecure[a]
		return keep
	})
	var secureAdd []nftables.SetElement
	for _, a := range slices.SortedFunc(maps.Keys(wantSecure), compareAddr) {
		if cur, ok := ks.secure[a]; ok && (cur == 0) == (wantSecure[a] == 0) {
			continue
		} else if ok {
			secureDel = append(secureDel, addrElem(a, 0))
		}
		secureAdd = append(secureAdd, addrElem(a, wantSecure[a]))
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
	k.rebuild = false
	return nil
}

// egressPairs are the (in, out) port pairs whose untagged frames must not
// pass: out has err-disabled VLAN V, and in is a declared port with PVID
// V or, on a filtering bridge, a port carrying V (the frame lost its tag
// because out sends V untagged).
func egressPairs(s *state) []nftables.SetElement {
	var out []nftables.SetElement
	for _, o := range slices.Sorted(maps.Keys(s.ports)) {
		p := s.ports[o]
		if !s.enforced(p) {
			continue
		}
		for _, v := range slices.Sorted(maps.Keys(p.shutVLANs)) {
			for _, in := range slices.Sorted(maps.Keys(s.members)) {
				m := s.members[in]
				if in != o && m.Filtering && (m.PVID == v || !m.Declared && m.Carries(v)) {
					key := append(ifindexElem(in).Key, ifindexElem(o).Key...)
					out = append(out, nftables.SetElement{Key: key})
				}
			}
		}
	}
	return out
}

// queueSet declares set and makes it hold want (address → life left, 0:
// none), given that it holds have: the addresses in del and those whose
// kind of aging changed are deleted first (the set may be full until
// they are gone), then the missing ones added.
func queueSet(c *nftables.Conn, set *nftables.Set, have kernelElems, want map[addr]time.Duration, del []addr) error {
	var dels, adds []nftables.SetElement
	// Never more than the set holds: one port's overflow (addresses
	// adopted from the kernel beyond a limit set since) must not fail the
	// whole transaction. What is left out the poll drops from the model.
	kept := 0
	for a := range have {
		if _, ok := want[a]; ok {
			kept++
		}
	}
	room := int(set.Size) - kept
	for _, a := range del {
		if _, ok := have[a]; ok {
			if _, wanted := want[a]; !wanted {
				dels = append(dels, addrElem(a, 0))
			}
		}
	}
	for _, a := range slices.SortedFunc(maps.Keys(want), compareAddr) {
		cur, ok := have[a]
		if ok && (cur == 0) == (want[a] == 0) {
			continue // same address, same kind of aging
		}
		if ok {
			dels = append(dels, addrElem(a, 0))
			room++
		}
		if room <= 0 {
			continue
		}
		adds = append(adds, addrElem(a, want[a]))
		room--
	}
	if err := c.AddSet(set, nil); err != nil {
		return fmt.Errorf("portsec: queue set %s: %w", set.Name, err)
	}
	if err := queueElems(c, set, dels, true); err != nil {
		return err
	}
	return queueElems(c, set, adds, false)
}

// queueShut makes the shut and shutvlan sets hold the model's err-disabled
// ports and VLANs. Kernel entries the model has not seen stay, unless the
// port cannot be err-disabled (not enforced, not in shutdown mode, gone)
// or the model just released them.
func (k *kernel) queueShut(s *state, ks kernelState, release map[shutKey]bool, shut, shutVLAN *nftables.Set) error {
	want := map[shutKey]bool{}
	for i, p := range s.ports {
		if !s.enforced(p) {
			continue
		}
		if p.shutdown {
			want[shutKey{ifindex: i}] = true
		}
		for v := range p.shutVLANs {
			want[shutKey{i, v}] = true
		}
	}
	var add, del [2][]nftables.SetElement // [0] ports, [1] VLANs
	elem := func(key shutKey) (nftables.SetElement, int) {
		if key.vlan == 0 {
			return ifindexElem(key.ifindex), 0
		}
		return shutVLANElem(key.ifindex, key.vlan), 1
	}
	for key := range want {
		if !ks.shut[key] {
			e, n := elem(key)
			add[n] = append(add[n], e)
		}
	}
	for key := range ks.shut {
		if want[key] {
			continue
		}
		p := s.ports[key.ifindex]
		if p == nil || !s.enforced(p) || p.cfg.Violation != Shutdown || release[key] {
			e, n := elem(key)
			del[n] = append(del[n], e)
		}
	}
	for n, set := range []*nftables.Set{shut, shutVLAN} {
		if err := queueElems(k.conn, set, del[n], true); err != nil {
			return err
		}
		if err := queueElems(k.conn, set, add[n], false); err != nil {
			return err
		}
	}
	return nil
}

// growSets enlarges the sets of ports (and VLANs) whose maximum went up,
// in a transaction of its own: the kernel checks added elements against
// the size a set has before the transaction commits, so growing a set
// and filling it in one transaction fails (ENFILE).
func (k *kernel) growSets(s *state, ks kernelState) error {
	grown := false
	grow := func(name string, size int) error {
		grown = true
		if err := k.conn.AddSet(newSet(k.table, name, size), nil); err != nil {
			return fmt.Errorf("portsec: queue growth of set %s: %w", name, err)
		}
		return nil
	}
	for i, p := range s.ports {
		if !s.enforced(p) {
			continue
		}
		if size, ok := ks.sizes[i]; ok && size < uint32(p.cfg.Maximum) {
			if err := grow(allowSetName(i), p.cfg.Maximum); err != nil {
				return err
			}
		}
		for _, v := range p.limited() {
			if size, ok := ks.vlanSizes[i][v]; ok && size < uint32(p.limits[v]) {
				if err := grow(vlanSetName(i, v), p.limits[v]); err != nil {
					return err
				}
			}
		}
	}
	if !grown {
		return nil
	}
	if err := k.conn.Flush(); err != nil {
		return fmt.Errorf("portsec: grow sets of %s: %w", k.table.Name, err)
	}
	return nil
}

// unshut lets frames of an err-disabled port (vlan 0) or VLAN through again.
func (k *kernel) unshut(key shutKey) error {
	var err error
	if key.vlan == 0 {
		err = k.conn.SetDeleteElements(newShutSet(k.table), []nftables.SetElement{ifindexElem(key.ifindex)})
	} else {
		err = k.conn.SetDeleteElements(newShutVLANSet(k.table), []nftables.SetElement{shutVLANElem(key.ifindex, key.vlan)})
	}
	if err != nil {
		return fmt.Errorf("portsec: queue release of port %d VLAN %d: %w", key.ifindex, key.vlan, err)
	}
	if err := k.conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("portsec: release port %d VLAN %d: %w", key.ifindex, key.vlan, err)
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
	seen := map[string]bool{}
	return slices.DeleteFunc(es, func(e nftables.SetElement) bool {
		m := string(e.Key)
		if seen[m] {
			return true
		}
		seen[m] = true
		return false
	})
}
