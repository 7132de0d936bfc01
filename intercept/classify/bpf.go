package classify

import (
	"fmt"
	"maps"
	"slices"

	"golang.org/x/net/bpf"
)

// BPFOptions shapes the kernel pre-filter.
type BPFOptions struct {
	// ExcludeMark, when not 0, makes the program drop frames whose skb mark
	// equals it: our own deliveries, sent with SO_MARK. The check is an
	// ancillary load (SKF_AD_MARK) placed first; the x/net/bpf VM cannot
	// run it, so tests leave it 0.
	ExcludeMark uint32
	// IfIndex is the only interface the socket captures on (bound to it);
	// 0 = all. Taps bound to another interface are then left out of the
	// program. Never set it for a socket that sees several interfaces.
	IfIndex int
	// MaxCompares bounds the value compares; with more distinct keys the
	// program compares coarser prefixes, then only EtherTypes, then accepts
	// everything. Default 256 (a few hundred instructions per frame at
	// worst).
	MaxCompares int
	// SnapLen is the length an accepted frame keeps. Default 262144.
	SnapLen uint32
}

const (
	maxInstructions    = 4096 // BPF_MAXINSNS
	defaultMaxCompares = 256
	defaultSnapLen     = 262144
)

// BPF returns the kernel pre-filter for c, ready for SO_ATTACH_FILTER
// (gopacket's afpacket.TPacket.SetBPF). It accepts every frame Match could
// match and, as far as its compare budget allows, rejects the rest.
func (c *Classifier) BPF(opts BPFOptions) ([]bpf.RawInstruction, error) {
	prog, err := c.BPFProgram(opts)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("classify: assemble bpf: %w", err)
	}
	return raw, nil
}

// BPFProgram is BPF before assembly, for inspection and the x/net/bpf VM.
//
// The program, in order: [drop our mark]; accept if any tap needs no key
// the program can test; compare the low 32 bits of the destination and
// source MACs (MAC taps); skip up to two VLAN tags and an 802.2 SNAP
// header exactly as Match does; compare EtherTypes; for IPv4 compare the
// masked destination and source addresses; for IPv6 the one 32-bit word of
// each prefix holding its last bits. Every compare tests a condition a tap
// cannot match without, so the program never rejects what Match matches;
// loads stay within the bytes Match needs on the same path, so a short
// frame is never rejected for a load Match would not have made.
//
// VLANs: the program reads the frame as the kernel holds it. A tag the
// kernel stripped into skb metadata is neither in the program's view nor
// in Packet.Data, and no filter names a VLAN, so no ancillary VLAN load
// (SKF_AD_VLAN_TAG_PRESENT) is needed; in-frame tags are skipped as Match
// skips them. A capture that puts the stripped tag back into Data before
// Match only makes Match see one tag more, never match more.
func (c *Classifier) BPFProgram(opts BPFOptions) ([]bpf.Instruction, error) {
	budget := opts.MaxCompares
	if budget <= 0 {
		budget = defaultMaxCompares
	}
	snap := opts.SnapLen
	if snap == 0 {
		snap = defaultSnapLen
	}
	keys := c.bpfKeys(int32(opts.IfIndex))
	for {
		prog, used, err := keys.program(budget, snap)
		if err != nil {
			return nil, err
		}
		if opts.ExcludeMark != 0 {
			prog = append([]bpf.Instruction{
				bpf.LoadExtension{Num: bpf.ExtMark},
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: opts.ExcludeMark, SkipFalse: 1},
				bpf.RetConstant{Val: 0},
			}, prog...)
		}
		if len(prog) <= maxInstructions {
			return prog, nil
		}
		// About one instruction per compare: shed the excess and a margin
		// for loads and chunk returns, which makes a class coarser.
		budget = used - (len(prog) - maxInstructions) - 64
	}
}

// prefixKey is an address prefix the program compares.
type prefixKey struct {
	addr addr128
	bits int
}

// bpfKeys is, per tap, one condition the tap cannot match without.
type bpfKeys struct {
	all        bool                     // a tap the program cannot narrow: accept every frame
	any        [2]bool                  // [0] IPv4, [1] IPv6: a tap of that family with no address
	ip         [2][2]map[prefixKey]bool // [family][0 dst, 1 src]
	mac        [2]map[uint64]bool       // [0 dst, 1 src]
	etherTypes map[uint16]bool
}

func (c *Classifier) bpfKeys(ifIndex int32) *bpfKeys {
	k := &bpfKeys{etherTypes: map[uint16]bool{}}
	for f := range 2 {
		k.mac[f] = map[uint64]bool{}
		for d := range 2 {
			k.ip[f][d] = map[prefixKey]bool{}
		}
	}
	// With a socket on one interface, a tap bound to another cannot match.
	elsewhere := func(need int32) bool { return ifIndex != 0 && need != 0 && need != ifIndex }
	for i := range c.ip {
		t := &c.ip[i]
		if elsewhere(t.ifIndex) {
			continue
		}
		fi := familyIndex(t.family)
		switch {
		case t.dstBits > 0 && t.dstBits >= t.srcBits:
			k.ip[fi][0][prefixKey{t.dst, int(t.dstBits)}] = true
		case t.srcBits > 0:
			k.ip[fi][1][prefixKey{t.src, int(t.srcBits)}] = true
		default:
			k.any[fi] = true
		}
	}
	for i := range c.mac {
		t := &c.mac[i]
		if (t.need&needIf != 0 && elsewhere(t.ifIndex)) ||
			(t.need&needPort != 0 && elsewhere(t.cmPort)) {
			continue
		}
		switch {
		case t.need&needDst != 0:
			k.mac[0][t.dst] = true
		case t.need&needSrc != 0:
			k.mac[1][t.src] = true
		case t.need&needEither != 0:
			k.mac[0][t.either] = true
			k.mac[1][t.either] = true
		case t.need&needType != 0:
			k.etherTypes[t.etherType] = true
		default:
			k.all = true
		}
	}
	return k
}

// A compare group: load a 32-bit word, mask it, compare with values.
type cmpGroup struct {
	off      uint32 // from the frame start, or from X (the L3 offset) if indirect
	indirect bool
	mask     uint32
	vals     []uint32
}

// Key classes. Each starts at level 0 (exact) and is made coarser, the
// class with the largest compare group first, until the compares fit the
// budget; its last level means "accept the whole class": every frame for
// MACs and EtherTypes, the whole family for IP.
const (
	classDstMAC = iota
	classSrcMAC
	classTypes
	classIPv4Dst
	classIPv4Src
	classIPv6Dst
	classIPv6Src
	numClasses
)

var (
	ipv4Cuts = []int{32, 24, 16, 8}
	ipv6Cuts = []int{128, 64, 48, 32, 16}
	macCuts  = []int{48, 24} // low 32 bits, then the OUI
)

// levels returns how many levels class has before "accept the class".
func levels(class int) int {
	switch class {
	case classDstMAC, classSrcMAC:
		return len(macCuts)
	case classTypes:
		return 1
	case classIPv4Dst, classIPv4Src:
		return len(ipv4Cuts)
	}
	return len(ipv6Cuts)
}

// coarsener finds the levels; groups of a (class, level) are built once.
type coarsener struct {
	k     *bpfKeys
	level [numClasses]int
	cache map[[2]int][]cmpGroup
}

func (k *bpfKeys) empty(class int) bool {
	switch class {
	case classDstMAC, classSrcMAC:
		return len(k.mac[class-classDstMAC]) == 0
	case classTypes:
		return len(k.etherTypes) == 0
	}
	fi, dir := (class-classIPv4Dst)/2, (class-classIPv4Dst)%2
	return k.any[fi] || len(k.ip[fi][dir]) == 0
}

// groups returns the compare groups of class at its current level; nil
// when the class is empty or accepted whole.
func (c *coarsener) groups(class int) []cmpGroup {
	lv := c.level[class]
	if c.k.empty(class) || lv >= levels(class) {
		return nil
	}
	if g, ok := c.cache[[2]int{class, lv}]; ok {
		return g
	}
	var gs []cmpGroup
	switch class {
	case classDstMAC, classSrcMAC:
		dir := class - classDstMAC
		gs = []cmpGroup{macGroup(c.k.mac[dir], dir, macCuts[lv])}
	case classTypes:
		vals := make([]uint32, 0, len(c.k.etherTypes))
		for t := range c.k.etherTypes {
			vals = append(vals, uint32(t))
		}
		slices.Sort(vals)
		gs = []cmpGroup{{vals: vals}}
	default:
		fi, dir := (class-classIPv4Dst)/2, (class-classIPv4Dst)%2
		cuts := ipv4Cuts
		if fi == 1 {
			cuts = ipv6Cuts
		}
		gs = ipGroups(c.k.ip[fi][dir], fi, dir, cuts[lv])
	}
	c.cache[[2]int{class, lv}] = gs
	return gs
}

// whole reports whether class was coarsened into "accept the class".
func (c *coarsener) whole(class int) bool {
	return !c.k.empty(class) && c.level[class] >= levels(class)
}

// program returns the program and the number of compares in it.
func (k *bpfKeys) program(budget int, snap uint32) ([]bpf.Instruction, int, error) {
	c := &coarsener{k: k, cache: map[[2]int][]cmpGroup{}}
	for {
		total, biggest, big := 0, -1, 0
		for class := range numClasses {
			for _, g := range c.groups(class) {
				total += len(g.vals)
				if len(g.vals) > big {
					biggest, big = class, len(g.vals)
				}
			}
		}
		if total <= budget || biggest < 0 {
			prog, err := c.emit(snap)
			return prog, total, err
		}
		c.level[biggest]++
	}
}

func macGroup(set map[uint64]bool, dir int, cut int) cmpGroup {
	g := cmpGroup{off: 2, mask: ^uint32(0)} // bytes 2..5 of the destination MAC
	if cut == 24 {
		g = cmpGroup{off: 0, mask: 0xFFFFFF00} // bytes 0..2, the OUI
	}
	if dir == 1 {
		g.off += 6
	}
	uniq := map[uint32]bool{}
	for m := range set {
		var w uint32
		if cut == 24 {
			w = uint32(m>>16) & g.mask
		} else {
			w = uint32(m)
		}
		uniq[w] = true
	}
	g.vals = slices.Sorted(maps.Keys(uniq))
	return g
}

// ipGroups cuts every prefix to at most cut bits and groups the compares by
// the word they load and its mask. IPv4: the address word. IPv6: the word
// holding the prefix's last bit (a necessary condition, not the whole
// prefix, to keep one compare per key).
func ipGroups(set map[prefixKey]bool, fi, dir int, cut int) []cmpGroup {
	type wordMask struct {
		word int
		mask uint32
	}
	byWM := map[wordMask]map[uint32]bool{}
	for p := range set {
		bits := min(p.bits, cut)
		w := (bits - 1) / 32
		rem := bits - 32*w
		m := ^uint32(0) << (32 - rem)
		words := [4]uint32{uint32(p.addr.hi >> 32), uint32(p.addr.hi), uint32(p.addr.lo >> 32), uint32(p.addr.lo)}
		wm := wordMask{w, m}
		if byWM[wm] == nil {
			byWM[wm] = map[uint32]bool{}
		}
		byWM[wm][words[w]&m] = true
	}
	// The address offsets inside the IP header.
	base := uint32(16) // IPv4 destination
	if fi == 0 && dir == 1 {
		base = 12
	}
	if fi == 1 {
		base = 24
		if dir == 1 {
			base = 8
		}
	}
	var gs []cmpGroup
	for wm, vals := range byWM {
		gs = append(gs, cmpGroup{off: base + uint32(4*wm.word), indirect: true, mask: wm.mask,
			vals: slices.Sorted(maps.Keys(vals))})
	}
	slices.SortFunc(gs, func(a, b cmpGroup) int {
		if a.off != b.off {
			return int(a.off) - int(b.off)
		}
		return int(int64(b.mask) - int64(a.mask))
	})
	return gs
}

func (g cmpGroup) emit(a *asm, accept uint32) {
	if g.indirect {
		a.emit(bpf.LoadIndirect{Off: g.off, Size: 4})
	} else {
		a.emit(bpf.LoadAbsolute{Off: g.off, Size: 4})
	}
	if g.mask != ^uint32(0) {
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: g.mask})
	}
	a.acceptAny(g.vals, accept)
}

func (c *coarsener) emit(snap uint32) ([]bpf.Instruction, error) {
	var a asm
	reject := bpf.RetConstant{Val: 0}
	if c.k.all || c.whole(classDstMAC) || c.whole(classSrcMAC) || c.whole(classTypes) {
		a.emit(bpf.RetConstant{Val: snap})
		return a.resolve()
	}
	mac := slices.Concat(c.groups(classDstMAC), c.groups(classSrcMAC))
	types := c.groups(classTypes)
	ip4 := slices.Concat(c.groups(classIPv4Dst), c.groups(classIPv4Src))
	ip6 := slices.Concat(c.groups(classIPv6Dst), c.groups(classIPv6Src))
	any4 := c.k.any[0] || c.whole(classIPv4Dst) || c.whole(classIPv4Src)
	any6 := c.k.any[1] || c.whole(classIPv6Dst) || c.whole(classIPv6Src)
	for _, g := range mac {
		g.emit(&a, snap)
	}
	if len(types) == 0 && len(ip4) == 0 && len(ip6) == 0 && !any4 && !any6 {
		a.emit(reject)
		return a.resolve()
	}

	// A = EtherType, X = offset of what it describes; as frame.decode.
	noTag, tagged := a.newLabel(), a.newLabel()
	a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: ethHeaderLen}, bpf.LoadAbsolute{Off: 12, Size: 2})
	for n := range maxVLANTags {
		a.jumpIf(bpf.JumpEqual, tpid8021Q, tagged, fallThrough)
		a.jumpIf(bpf.JumpEqual, tpid8021AD, tagged, fallThrough)
		a.jumpIf(bpf.JumpEqual, tpidQinQOld, tagged, fallThrough)
		a.jump(noTag)
		a.place(tagged)
		off := uint32(ethHeaderLen + vlanTagLen*(n+1))
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: off}, bpf.LoadAbsolute{Off: off - 2, Size: 2})
		if n+1 < maxVLANTags {
			tagged = a.newLabel()
		}
	}
	a.place(noTag)
	// 802.3: only an LLC/SNAP header with an EtherType can go on.
	ethII := a.newLabel()
	a.jumpIf(bpf.JumpGreaterOrEqual, minEtherType, ethII, fallThrough)
	rejectNow := a.newLabel()
	a.emit(bpf.LoadIndirect{Off: 0, Size: 2})
	a.jumpUnlessEqual(llcSNAP<<8|llcSNAP, rejectNow)
	a.emit(bpf.LoadIndirect{Off: 2, Size: 4}) // control, OUI
	snapOK := a.newLabel()
	a.jumpIf(bpf.JumpEqual, llcUI<<24, snapOK, fallThrough)
	a.jumpUnlessEqual(llcUI<<24|0xF8, rejectNow)
	a.place(snapOK)
	a.emit(
		bpf.LoadIndirect{Off: 6, Size: 2},
		bpf.StoreScratch{Src: bpf.RegA, N: 0},
		bpf.TXA{},
		bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: snapLen},
		bpf.TAX{},
		bpf.LoadScratch{Dst: bpf.RegA, N: 0},
	)
	a.place(ethII)
	for _, g := range types {
		a.acceptAny(g.vals, snap)
	}
	notV4 := a.newLabel()
	if any4 || len(ip4) > 0 {
		a.jumpUnlessEqual(etherIPv4, notV4)
		if any4 {
			a.emit(bpf.RetConstant{Val: snap})
		} else {
			for _, g := range ip4 {
				g.emit(&a, snap)
			}
			a.emit(reject)
		}
	}
	a.place(notV4)
	if any6 || len(ip6) > 0 {
		a.jumpUnlessEqual(etherIPv6, rejectNow)
		if any6 {
			a.emit(bpf.RetConstant{Val: snap})
		} else {
			for _, g := range ip6 {
				g.emit(&a, snap)
			}
		}
	}
	a.place(rejectNow)
	a.emit(reject)
	return a.resolve()
}
