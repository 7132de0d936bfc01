package portsec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Names of the kernel objects. The table holds two base chains, one set
// of every secure address, the sets of err-disabled ports and VLANs, and
// per enforced port a chain, an allowed-address set, a set per VLAN with
// a limit of its own and a violation counter.
const (
	DefaultTable        = "tapagent_portsec"
	baseChainName       = "ingress"
	egressChainName     = "egress"
	secureSetName       = "secure"
	shutSetName         = "shut"
	shutVLANSetName     = "shutvlan"
	egressSetName       = "egress"
	secureSetSize       = 65535
	prefixLearn         = "portsec learn"
	prefixViolation     = "portsec violation"
	prefixVLANViolation = "portsec vlan-violation"
	// bridgeFilterPriority is nft's "priority filter" in the bridge family.
	bridgeFilterPriority = -200
	// dynsetOpDelete is NFT_DYNSET_OP_DELETE (Linux 5.18), missing from x/sys.
	dynsetOpDelete = 2
)

// Registers. A secure address is the key MAC . VLAN: the MAC in the
// 32-bit registers 0 and 1 (NFT_REG_1 starts there; the payload load pads
// it to 8 bytes), the VLAN id in register 2, 12 bytes in all. An
// err-disabled VLAN is the key ifindex . VLAN in registers 1 and 2.
//
// The VLAN is a 32-bit number in host byte order, typed "mark" for nft:
// nft 1.0.6 cannot list a set keyed by a plain integer without the
// "typeof" description that google/nftables cannot write (it aborts), and
// mark is the 4-byte host-order type it prints (in hex). The sets carry a
// comment saying what the key is.
const (
	regKey     = 1  // NFT_REG_1: where the address key starts
	regIfindex = 9  // NFT_REG32_01
	regVLAN    = 10 // NFT_REG32_02
	addrKeyLen = 12
)

var (
	addrKeyType     = nftables.MustConcatSetType(nftables.TypeEtherAddr, nftables.TypeMark)
	shutVLANKeyType = nftables.MustConcatSetType(nftables.TypeIFIndex, nftables.TypeMark)
)

func allowSetName(ifindex int) string          { return fmt.Sprintf("allow_%d", ifindex) }
func carriedSetName(ifindex int) string        { return fmt.Sprintf("vlans_%d", ifindex) }
func vlanSetName(ifindex int, v uint16) string { return fmt.Sprintf("vlan_%d_%d", ifindex, v) }
func portChainName(ifindex int) string         { return fmt.Sprintf("port_%d", ifindex) }
func counterName(ifindex int) string           { return fmt.Sprintf("violations_%d", ifindex) }

// parseVLANSetName reads vlan_<ifindex>_<vlan>.
func parseVLANSetName(name string) (ifindex int, vlan uint16, ok bool) {
	rest, found := strings.CutPrefix(name, "vlan_")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "_")
	i, err1 := strconv.Atoi(a)
	v, err2 := strconv.ParseUint(b, 10, 16)
	if !found || err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return i, uint16(v), true
}

func newSet(t *nftables.Table, name string, size int) *nftables.Set {
	return &nftables.Set{Table: t, Name: name, KeyType: addrKeyType, Concatenation: true,
		HasTimeout: true, Dynamic: true, Size: uint32(size), Comment: "ether saddr . vlan id"}
}

// addrKey is the 12-byte set key of an address.
func addrKey(a addr) []byte {
	k := make([]byte, addrKeyLen)
	copy(k, a.mac[:])
	copy(k[8:], binaryutil.NativeEndian.PutUint32(uint32(a.vlan)))
	return k
}

func keyAddr(k []byte) (addr, bool) {
	if len(k) < addrKeyLen {
		return addr{}, false
	}
	return addr{mac: MAC(k[:6]), vlan: uint16(binaryutil.NativeEndian.Uint32(k[8:12]))}, true
}

func addrElem(a addr, timeout time.Duration) nftables.SetElement {
	return nftables.SetElement{Key: addrKey(a), Timeout: timeout}
}

// newCarriedSet holds the VLANs a port carries tagged (its PVID too).
func newCarriedSet(t *nftables.Table, ifindex int) *nftables.Set {
	return &nftables.Set{Table: t, Name: carriedSetName(ifindex), KeyType: nftables.TypeMark, Comment: "vlan id"}
}

func carriedElems(m Membership) []nftables.SetElement {
	var out []nftables.SetElement
	for _, v := range append(slices.Clone(m.Tagged), m.PVID) {
		if v != 0 {
			out = append(out, nftables.SetElement{Key: vlanValue(v)})
		}
	}
	return out
}

// newShutSet holds the ifindexes of err-disabled ports. The violation rule
// of a shutdown port adds its port here, so the kernel drops everything
// the port sends from the offending frame on, before the engine even sees
// the event and sets the link down, and also while no engine runs.
func newShutSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: shutSetName, KeyType: nftables.TypeIFIndex, Dynamic: true}
}

// newShutVLANSet holds ifindex . VLAN of VLANs err-disabled on a port
// ("shutdown vlan"): their frames are dropped in both directions.
func newShutVLANSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: shutVLANSetName, KeyType: shutVLANKeyType, Concatenation: true, Dynamic: true,
		Comment: "iif . vlan id"}
}

func ifindexElem(ifindex int) nftables.SetElement {
	return nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(ifindex))}
}

func shutVLANElem(ifindex int, vlan uint16) nftables.SetElement {
	k := binaryutil.NativeEndian.PutUint32(uint32(ifindex))
	return nftables.SetElement{Key: append(k, binaryutil.NativeEndian.PutUint32(uint32(vlan))...)}
}

// shutRule drops frames entering an err-disabled port.
func shutRule() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: shutSetName},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// egressShutRules drop frames leaving by a port in a VLAN err-disabled
// there. A tagged frame names its VLAN. An untagged one: with declared
// VLANs it belongs to the PVID of the port it came in by; on a filtering
// bridge the tag was already stripped for an egress port that sends the
// VLAN untagged (its PVID), so it may come from any port carrying the
// VLAN. The pairs (in, out) of untagged frames that must not pass are in
// the egress set, kept by the engine.
func egressShutRules() [][]expr.Any {
	tagged := append(etherTypeIs(true), loadVLAN()...)
	tagged = append(tagged,
		&expr.Meta{Key: expr.MetaKeyOIF, Register: regIfindex},
		&expr.Lookup{SourceRegister: regIfindex, SetName: shutVLANSetName},
		&expr.Verdict{Kind: expr.VerdictDrop})
	untagged := append(etherTypeIs(false),
		&expr.Meta{Key: expr.MetaKeyIIF, Register: regIfindex},
		&expr.Meta{Key: expr.MetaKeyOIF, Register: regVLAN},
		&expr.Lookup{SourceRegister: regIfindex, SetName: egressSetName},
		&expr.Verdict{Kind: expr.VerdictDrop})
	return [][]expr.Any{tagged, untagged}
}

// newEgressSet holds iif . oif of untagged frames whose VLAN (the PVID of
// iif, declared) is err-disabled on oif.
func newEgressSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: egressSetName, KeyType: nftables.MustConcatSetType(nftables.TypeIFIndex, nftables.TypeIFIndex),
		Concatenation: true, Comment: "iif . oif"}
}

func baseChain(t *nftables.Table) *nftables.Chain {
	return &nftables.Chain{Table: t, Name: baseChainName, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(bridgeFilterPriority),
		Policy: ptr(nftables.ChainPolicyAccept)}
}

func egressChain(t *nftables.Table) *nftables.Chain {
	return &nftables.Chain{Table: t, Name: egressChainName, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(bridgeFilterPriority),
		Policy: ptr(nftables.ChainPolicyAccept)}
}

func ptr[T any](v T) *T { return &v }

// jumpRule sends frames entering the port to the port's chain.
func jumpRule(ifindex int) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(uint32(ifindex))},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: portChainName(ifindex)},
	}
}

// etherTypeIs matches frames with (or without) an 802.1Q tag. The kernel
// keeps a received tag out of the frame data (skb->vlan_tci); nft shows
// it in place, so the header reads as on the wire.
func etherTypeIs(tagged bool) []expr.Any {
	op := expr.CmpOpEq
	if !tagged {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2},
		&expr.Cmp{Op: op, Register: 1, Data: []byte{0x81, 0x00}},
	}
}

// loadVLAN puts the VLAN id of a tagged frame into regVLAN, as a 32-bit
// number in host order: TPID and TCI are loaded, all but the 12 VLAN bits
// masked off, and the big-endian result turned around.
func loadVLAN() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: regVLAN, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: regVLAN, DestRegister: regVLAN, Len: 4, Mask: []byte{0, 0, 0x0f, 0xff}, Xor: []byte{0, 0, 0, 0}},
		&expr.Byteorder{SourceRegister: regVLAN, DestRegister: regVLAN, Op: expr.ByteorderNtoh, Len: 4, Size: 4},
	}
}

func vlanValue(v uint16) []byte { return binaryutil.NativeEndian.PutUint32(uint32(v)) }

// frameClass is how a frame's VLAN is found.
type frameClass int

const (
	classTagged     frameClass = iota // the tag's VLAN id
	classUntagged                     // the port's PVID
	classPrioTagged                   // VLAN id 0 (priority only): the PVID too
)

// addrKeyOf loads the frame's address key (source MAC . VLAN) into
// regKey, for frames of one class.
func addrKeyOf(c frameClass, pvid uint16) []expr.Any {
	saddr := &expr.Payload{DestRegister: regKey, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6}
	pvidImm := &expr.Immediate{Register: regVLAN, Data: vlanValue(pvid)}
	out := etherTypeIs(c != classUntagged)
	switch c {
	case classTagged:
		out = append(out, saddr)
		out = append(out, loadVLAN()...)
		return append(out, &expr.Cmp{Op: expr.CmpOpNeq, Register: regVLAN, Data: vlanValue(0)})
	case classUntagged:
		return append(out, saddr, pvidImm)
	default:
		out = append(out, loadVLAN()...)
		return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: regVLAN, Data: vlanValue(0)}, saddr, pvidImm)
	}
}

func dynset(set string, op uint32, timeout time.Duration) expr.Any {
	return &expr.Dynset{SrcRegKey: regKey, SetName: set, Operation: op, Timeout: timeout}
}

// logTo reports to the engine. The prefix carries the port's generation
// (see port.gen) so that messages logged before a reset of the port can
// be told from those logged after it.
func logTo(group uint16, prefix string, gen uint32) expr.Any {
	// A queue threshold of 1 sends every message at once instead of
	// batching them for up to a timer tick.
	return &expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX | 1<<unix.NFTA_LOG_QTHRESHOLD,
		Group: group, QThreshold: 1, Data: []byte(logPrefix(prefix, gen))}
}

func logPrefix(kind string, gen uint32) string {
	return kind + " " + strconv.FormatUint(uint64(gen), 10)
}

// parsePrefix splits a log prefix of ours into kind and generation.
func parsePrefix(s string) (kind string, gen uint32, ok bool) {
	for _, k := range []string{prefixLearn, prefixViolation, prefixVLANViolation} {
		rest, found := strings.CutPrefix(s, k+" ")
		if !found {
			continue
		}
		n, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			return "", 0, false
		}
		return k, uint32(n), true
	}
	return "", 0, false
}

// violationAction is what a violating frame meets: protect drops
// silently, the other modes also report and count, and shutdown closes
// the port in the kernel at once (shut set) — or, for a violation of a
// VLAN's own limit on a multi-VLAN port, only that VLAN (shutvlan set).
func violationAction(ifindex int, p *port, vlanOnly bool, group uint16) []expr.Any {
	if p.cfg.Violation == Protect {
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	}
	prefix := prefixViolation
	if vlanOnly {
		prefix = prefixVLANViolation
	}
	out := []expr.Any{
		logTo(group, prefix, p.gen),
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterName(ifindex)},
	}
	switch {
	case p.cfg.Violation != Shutdown:
	case vlanOnly && p.vlans.MultiVLAN():
		out = append(out, &expr.Meta{Key: expr.MetaKeyIIF, Register: regIfindex},
			&expr.Dynset{SrcRegKey: regIfindex, SetName: shutVLANSetName, Operation: unix.NFT_DYNSET_OP_ADD})
	default:
		out = append(out, &expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
			&expr.Dynset{SrcRegKey: 1, SetName: shutSetName, Operation: unix.NFT_DYNSET_OP_ADD})
	}
	return append(out, &expr.Verdict{Kind: expr.VerdictDrop})
}

// portRules is the port chain. For each class of frame (tagged, untagged,
// priority-tagged) the frame's address key is computed and then, in order:
//
//	VLAN err-disabled on the port: drop
//	known address: pass (inactivity aging refreshes the timeouts)
//	address secure on another port in the VLAN: violation
//	per VLAN with a limit of its own:
//	  learn into the VLAN's set and the port's set: report, pass
//	  the VLAN had room but the port did not: undo the VLAN add; violation
//	  the VLAN is full: VLAN-only violation
//	learn (fails once the set holds Maximum addresses): report, pass
//	anything else: violation
//
// A filtering port without PVID gets no rules for untagged frames: the
// bridge drops them.
func portRules(ifindex int, p *port, group uint16, minute time.Duration) [][]expr.Any {
	classes := []frameClass{classTagged}
	if p.untaggedVLAN() != 0 {
		classes = append(classes, classUntagged, classPrioTagged)
	}
	var out [][]expr.Any
	for _, c := range classes {
		out = append(out, classRules(c, ifindex, p, group, minute)...)
	}
	// Whatever no rule took (untagged frames of a port without PVID) must
	// not reach the base chain's accept.
	return append(out, []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}})
}

func classRules(c frameClass, ifindex int, p *port, group uint16, minute time.Duration) [][]expr.Any {
	key := func(more ...expr.Any) []expr.Any { return append(addrKeyOf(c, p.untaggedVLAN()), more...) }
	allow := allowSetName(ifindex)
	// Untagged frames are in the PVID: of the VLAN rules only the PVID's
	// apply, and without a test of the VLAN.
	var limited []uint16
	for _, v := range p.limited() {
		if c == classTagged || v == p.untaggedVLAN() {
			limited = append(limited, v)
		}
	}
	// forVLAN is key for the frames of VLAN v (tagged frames are tested;
	// untagged ones are in the PVID, the only v they get rules for).
	forVLAN := func(v uint16, more ...expr.Any) []expr.Any {
		if c == classTagged {
			return key(append([]expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Register: regVLAN, Data: vlanValue(v)}}, more...)...)
		}
		return key(more...)
	}
	var rules [][]expr.Any

	if c == classTagged && p.vlans.Filtering {
		// A VLAN the port does not carry: not ours to learn; the
		// bridge's filter (or the declaration) says no.
		rules = append(rules, key(&expr.Lookup{SourceRegister: regVLAN, SetName: carriedSetName(ifindex), Invert: true},
			&expr.Verdict{Kind: expr.VerdictDrop}))
	}
	rules = append(rules, key(&expr.Meta{Key: expr.MetaKeyIIF, Register: regIfindex},
		&expr.Lookup{SourceRegister: regIfindex, SetName: shutVLANSetName}, &expr.Verdict{Kind: expr.VerdictDrop}))

	inactivity := p.cfg.AgingType == AgingInactivity && p.cfg.AgingTime > 0
	t := time.Duration(p.cfg.AgingTime) * minute
	if inactivity {
		for _, v := range limited {
			rules = append(rules, forVLAN(v, &expr.Lookup{SourceRegister: regKey, SetName: allow},
				dynset(allow, unix.NFT_DYNSET_OP_UPDATE, t), dynset(secureSetName, unix.NFT_DYNSET_OP_UPDATE, t),
				dynset(vlanSetName(ifindex, v), unix.NFT_DYNSET_OP_UPDATE, t), &expr.Verdict{Kind: expr.VerdictAccept}))
		}
	}
	known := key(&expr.Lookup{SourceRegister: regKey, SetName: allow})
	if inactivity {
		known = append(known, dynset(allow, unix.NFT_DYNSET_OP_UPDATE, t), dynset(secureSetName, unix.NFT_DYNSET_OP_UPDATE, t))
	}
	rules = append(rules, append(known, &expr.Verdict{Kind: expr.VerdictAccept}))

	rules = append(rules, key(append([]expr.Any{&expr.Lookup{SourceRegister: regKey, SetName: secureSetName}},
		violationAction(ifindex, p, false, group)...)...))

	learnType := Dynamic
	if p.cfg.Sticky {
		learnType = Sticky
	}
	lt := agingTimeout(p.cfg, learnType, minute)
	for _, v := range limited {
		vset := vlanSetName(ifindex, v)
		rules = append(rules,
			forVLAN(v, dynset(vset, unix.NFT_DYNSET_OP_ADD, lt), dynset(allow, unix.NFT_DYNSET_OP_ADD, lt),
				dynset(secureSetName, unix.NFT_DYNSET_OP_ADD, lt), logTo(group, prefixLearn, p.gen),
				&expr.Verdict{Kind: expr.VerdictAccept}),
			forVLAN(v, append([]expr.Any{&expr.Lookup{SourceRegister: regKey, SetName: vset}, dynset(vset, dynsetOpDelete, 0)},
				violationAction(ifindex, p, false, group)...)...),
			forVLAN(v, violationAction(ifindex, p, true, group)...))
	}
	rules = append(rules, key(dynset(allow, unix.NFT_DYNSET_OP_ADD, lt), dynset(secureSetName, unix.NFT_DYNSET_OP_ADD, lt),
		logTo(group, prefixLearn, p.gen), &expr.Verdict{Kind: expr.VerdictAccept}))
	return append(rules, key(violationAction(ifindex, p, false, group)...))
}
