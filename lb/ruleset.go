package lb

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table (family inet) the engine owns. Nothing
// else in the ruleset is touched.
const TableName = "tapagent_ilb"

// hashSeed is fixed so that every load balancer node hashes a client the
// same way (maglev behind ECMP depends on it).
const hashSeed = 0x1b4e5c3d

// Marks: a connection's ct mark is rule generation << markShift | server
// number, so one mark names rule and server and a mask names the rule.
const (
	markShift = 10
	ruleMask  = ^uint32(1<<markShift - 1)
)

func serverMark(ruleID, n int) uint32 { return uint32(ruleID)<<markShift | uint32(n) }

// planInput is what the data plane is computed from.
type planInput struct {
	cfg     *Config
	ruleIDs map[string]int                   // lower-case rule name → generation
	usable  func(rule, serverID string) bool // health; nil: all usable
	slots   int                              // slot count of non-maglev rules
}

var (
	accept        = nftables.ChainPolicyAccept
	natPrerouting = nftables.Chain{Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest,
		Type: nftables.ChainTypeNAT, Policy: &accept}
	natPostrouting = nftables.Chain{Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
		Type: nftables.ChainTypeNAT, Policy: &accept}
	filterForward = nftables.Chain{Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter,
		Type: nftables.ChainTypeFilter, Policy: &accept}
	// DSR packets are marked before conntrack sees them (so they can be
	// notracked) and before the routing decision (which reads the mark).
	rawPrerouting = nftables.Chain{Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw,
		Type: nftables.ChainTypeFilter, Policy: &accept}
)

// dsrChain is the raw prerouting chain; it exists only while a DSR rule
// does, so tables without DSR look as before.
const dsrChain = "dsr"

// Names of the kernel objects of a rule generation.
func ruleBase(id int) string              { return fmt.Sprintf("r%d", id) }
func serverChainName(id, n int) string    { return fmt.Sprintf("r%d_s%d", id, n) }
func slotMapName(id int) string           { return fmt.Sprintf("r%d_slots", id) }
func serverMapName(id int) string         { return fmt.Sprintf("r%d_servers", id) }
func persistMapName(id int) string        { return fmt.Sprintf("r%d_persist", id) }
func dropCounterName(id int) string       { return fmt.Sprintf("r%d_dropped", id) }
func unassignedCounterName(id int) string { return fmt.Sprintf("r%d_unassigned", id) }
func timeoutName(id int) string           { return fmt.Sprintf("r%d_timeout", id) }

// serverPktsSet sorts before the rule objects ("r…") so that nft lists
// the table in the same order however it was built.
const serverPktsSet = "packets"

// dynsetOpDelete is NFT_DYNSET_OP_DELETE (Linux 5.13), missing from x/sys.
const dynsetOpDelete = 2

// buildPlan computes the table for a configuration.
func buildPlan(in planInput) (*nftPlan, error) {
	p := newPlan()
	pre := p.chain("prerouting", &natPrerouting)
	post := p.chain("postrouting", &natPostrouting)
	fwd := p.chain("forward", &filterForward)
	pkts := p.addSet(nftables.Set{Name: serverPktsSet, KeyType: nftables.TypeMark, KeyByteOrder: binaryutil.NativeEndian, Counter: true})
	fwd.add("per-server packets",
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: serverPktsSet})
	for i := range in.cfg.Rules {
		r := &in.cfg.Rules[i]
		id, ok := in.ruleIDs[strings.ToLower(r.Name)]
		if !ok {
			return nil, fmt.Errorf("rule %s has no generation", r.Name)
		}
		if r.Topology == DSR && r.Algorithm == RoundRobin {
			// Without connection state every packet is balanced anew:
			// round robin would scatter the packets of one TCP connection.
			return nil, errf(ErrInconsistent, "rule "+r.Name, "lbalg", "DSR needs a hash algorithm (packets are balanced one by one)")
		}
		g := in.cfg.Group(r.ServerGroup)
		if g == nil {
			return nil, fmt.Errorf("rule %s: no server group %s", r.Name, r.ServerGroup)
		}
		if err := planRuleObjects(p, pkts, in, r, id, g); err != nil {
			return nil, err
		}
		comment := "rule " + r.Name
		match := vipMatch(r)
		if r.Topology == DSR {
			planDSREntry(p, pkts, r, id, comment, match)
			continue
		}
		if r.Enabled {
			pre.add(comment, append(match, &expr.Verdict{Kind: expr.VerdictGoto, Chain: ruleBase(id)})...)
		} else {
			p.counters[unassignedCounterName(id)] = true
			pre.add(comment, append(match, &expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: unassignedCounterName(id)})...)
		}
		if r.Topology == NAT {
			post.add(comment, snatExprs(r, id)...)
		}
	}
	return p, nil
}

// planRuleObjects adds the chains, maps and counters of one rule.
func planRuleObjects(p *nftPlan, pkts *planSet, in planInput, r *Rule, id int, g *ServerGroup) error {
	v4 := r.VIP.Is4()
	rc := p.chain(ruleBase(id), nil)
	slotsName := slotMapName(id)
	nslots := in.slots
	if r.Algorithm == Maglev {
		nslots = MaglevSlotCount
	}
	slots := p.addSet(nftables.Set{Name: slotsName, IsMap: true, KeyType: nftables.TypeMark, KeyByteOrder: binaryutil.NativeEndian, DataType: nftables.TypeVerdict})
	var servers *planSet
	if r.Persist {
		keyType := nftables.TypeIPAddr
		if !v4 {
			keyType = nftables.TypeIP6Addr
		}
		p.addSet(nftables.Set{Name: persistMapName(id), IsMap: true, KeyType: keyType, DataType: nftables.TypeMark,
			HasTimeout: true, Dynamic: true, Timeout: seconds(r.EffectivePersistTimeout()), Size: 65535})
		servers = p.addSet(nftables.Set{Name: serverMapName(id), IsMap: true, KeyType: nftables.TypeMark, KeyByteOrder: binaryutil.NativeEndian, DataType: nftables.TypeVerdict})
		// A remembered server that is still usable takes the connection;
		// a stale entry is dropped so that the server chosen next is
		// remembered instead.
		rc.add("persistence", append(maskedSaddr(r, 1),
			&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: persistMapName(id)},
			markExpr(r, 1, true))...)
		rc.add("", markExpr(r, 1, false),
			&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: serverMapName(id)})
		rc.add("", append(maskedSaddr(r, 1), &expr.Immediate{Register: 2, Data: make([]byte, 4)},
			&expr.Dynset{SrcRegKey: 1, SrcRegData: 2, SetName: persistMapName(id), Operation: dynsetOpDelete})...)
	}
	rc.add(r.Algorithm.String(), append(algorithmExprs(r, nslots),
		&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: slotsName})...)
	p.counters[dropCounterName(id)] = true
	rc.add("no usable server", &expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: dropCounterName(id)},
		&expr.Verdict{Kind: expr.VerdictDrop})

	if r.Topology != DSR {
		p.timeouts[timeoutName(id)] = natTimeout(r)
	}
	var ss []slotServer
	for _, s := range g.Servers {
		n := serverNum(s.ID)
		name := serverChainName(id, n)
		p.counters[name] = true
		mark := serverMark(id, n)
		pkts.put(nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(mark)})
		if r.Topology == DSR {
			planDSRServerChain(p.chain(name, nil), r, id, &s, mark)
		} else {
			planServerChain(p.chain(name, nil), r, id, &s, mark)
		}
		use := s.Enabled && (in.usable == nil || in.usable(r.Name, s.ID))
		ss = append(ss, slotServer{Key: s.ID + " " + s.Addr.String(), Usable: use})
		if use && servers != nil {
			servers.put(nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(mark),
				VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: name}})
		}
	}
	for slot, idx := range assignSlots(r.Algorithm, nslots, ss) {
		if idx < 0 {
			continue
		}
		slots.put(nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(slot)),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: serverChainName(id, serverNum(g.Servers[idx].ID))}})
	}
	return nil
}

// planServerChain: remember the server in the connection, apply the
// rule's NAT timeout, refresh persistence, count, translate.
func planServerChain(c *planChain, r *Rule, id int, s *Server, mark uint32) {
	markBytes := binaryutil.NativeEndian.PutUint32(mark)
	// One rule per server keeps big groups cheap to program.
	e := []expr.Any{&expr.Immediate{Register: 1, Data: markBytes},
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1, SourceRegister: true},
		&expr.Objref{Type: unix.NFT_OBJECT_CT_TIMEOUT, Name: timeoutName(id)}}
	if r.Persist {
		e = append(e, maskedSaddr(r, 1)...)
		e = append(e, &expr.Immediate{Register: 2, Data: markBytes},
			&expr.Dynset{SrcRegKey: 1, SrcRegData: 2, SetName: persistMapName(id), Operation: unix.NFT_DYNSET_OP_UPDATE})
	}
	e = append(e, &expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: serverChainName(id, serverNum(s.ID))},
		&expr.Immediate{Register: 1, Data: s.Addr.Unmap().AsSlice()})
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: family(r.VIP), RegAddrMin: 1}
	if lo, hi := s.Ports.Bounds(); s.Ports.Min != 0 && lo == hi {
		// One server port: every VIP port maps to it. A range equal to the
		// rule's (checked by Validate) needs no port translation.
		e = append(e, &expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(lo)})
		nat.RegProtoMin = 2
		nat.Specified = true
	}
	c.add("server "+s.ID, append(e, nat)...)
}

func family(a netip.Addr) uint32 {
	if a.Is4() {
		return unix.NFPROTO_IPV4
	}
	return unix.NFPROTO_IPV6
}

func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }

// nfproto restricts the rest of a rule to the VIP's family (an inet
// table sees both).
func nfproto(r *Rule) []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(family(r.VIP))}}}
}

// addrPayload loads the source or destination address into reg.
func addrPayload(v4, src bool, reg uint32) expr.Any {
	off, n := uint32(16), uint32(4)
	switch {
	case v4 && src:
		off = 12
	case !v4 && src:
		off, n = 8, 16
	case !v4:
		off, n = 24, 16
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}
}

func portPayload(src bool, reg uint32) expr.Any {
	off := uint32(2)
	if src {
		off = 0
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}
}

// vipMatch matches the rule's VIP, protocol and ports.
func vipMatch(r *Rule) []expr.Any {
	e := append(nfproto(r), addrPayload(r.VIP.Is4(), false, 1),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: r.VIP.AsSlice()},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(r.Protocol)}})
	if r.Ports.Min == 0 {
		return e
	}
	lo, hi := r.Ports.Bounds()
	e = append(e, portPayload(false, 1))
	if lo == hi {
		return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(lo)})
	}
	return append(e, &expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: binaryutil.BigEndian.PutUint16(lo)},
		&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: binaryutil.BigEndian.PutUint16(hi)})
}

// maskedSaddr loads the client's persistence prefix into reg.
func maskedSaddr(r *Rule, reg uint32) []expr.Any {
	v4 := r.VIP.Is4()
	e := append(nfproto(r), addrPayload(v4, true, reg))
	bits := r.EffectivePersistMask()
	if bits == r.VIP.BitLen() {
		return e
	}
	mask := make([]byte, r.VIP.BitLen()/8)
	for i := range mask {
		switch {
		case bits >= 8*(i+1):
			mask[i] = 0xff
		case bits > 8*i:
			mask[i] = byte(0xff << (8 - (bits - 8*i)))
		}
	}
	return append(e, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: uint32(len(mask)),
		Mask: mask, Xor: make([]byte, len(mask))})
}

// Concatenated hash inputs start at the 32-bit register 4 (the 16-byte
// register 2), as nft lays them out.
const concatBase = unix.NFT_REG32_00 + 4

// algorithmExprs leave the chosen slot in register 1.
func algorithmExprs(r *Rule, nslots int) []expr.Any {
	if r.Algorithm == RoundRobin {
		return []expr.Any{&expr.Numgen{Register: 1, Modulus: uint32(nslots), Type: unix.NFT_NG_INCREMENTAL}}
	}
	v4 := r.VIP.Is4()
	addrWords := uint32(1)
	if !v4 {
		addrWords = 4
	}
	e := nfproto(r)
	reg := uint32(concatBase)
	var length uint32
	field := func(x expr.Any, words uint32) {
		e = append(e, x)
		reg += words
		length += 4 * words
	}
	field(addrPayload(v4, true, reg), addrWords)
	switch r.Algorithm {
	case HashIPPort:
		field(portPayload(true, reg), 1)
	case HashIPVIP:
		field(addrPayload(v4, false, reg), addrWords)
	case Maglev:
		field(portPayload(true, reg), 1)
		field(addrPayload(v4, false, reg), addrWords)
	}
	return append(e, &expr.Hash{SourceRegister: concatBase, DestRegister: 1, Length: length,
		Modulus: uint32(nslots), Seed: hashSeed, Type: expr.HashTypeJenkins})
}

// natTimeout is the conntrack timeout policy of a rule: nat-timeout for
// established TCP and for UDP flows either way.
func natTimeout(r *Rule) *expr.CtTimeout {
	t := r.EffectiveNATTimeout()
	l3 := uint16(family(r.VIP))
	if r.Protocol == UDP {
		return &expr.CtTimeout{L3Proto: l3, L4Proto: unix.IPPROTO_UDP,
			Policy: expr.CtStatePolicyTimeout{expr.CtStateUDPUNREPLIED: t, expr.CtStateUDPREPLIED: t}}
	}
	return &expr.CtTimeout{L3Proto: l3, L4Proto: unix.IPPROTO_TCP,
		Policy: expr.CtStatePolicyTimeout{expr.CtStateTCPESTABLISHED: t}}
}

// snatExprs: connections of a NAT rule leave with a proxy-src address.
func snatExprs(r *Rule, id int) []expr.Any {
	m := make([]byte, 4)
	binary.NativeEndian.PutUint32(m, ruleMask)
	want := binaryutil.NativeEndian.PutUint32(uint32(id) << markShift)
	return append(nfproto(r),
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: want},
		&expr.Immediate{Register: 1, Data: r.ProxySrc.First.AsSlice()},
		&expr.Immediate{Register: 2, Data: r.ProxySrc.End().AsSlice()},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: family(r.VIP), RegAddrMin: 1, RegAddrMax: 2})
}
