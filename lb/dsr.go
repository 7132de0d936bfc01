package lb

import (
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Direct server return: the load balancer leaves the packet as it is and
// only chooses the next hop. The rule chain picks a server with the same
// slot maps as the other topologies; the server chain sets the packet
// mark to the server's mark, and a policy routing rule per mark (see
// dsrRoutes) sends the packet to that server, which owns the VIP on its
// loopback and answers the client directly. The packets are notracked:
// the load balancer never sees the answers, so conntrack would only hold
// half connections. Without connection state the choice is made for
// every packet, which is why DSR needs a hash algorithm (or persistence
// on top of one): the hash keeps a flow on its server.

// markExpr loads (set false) or stores (set true) the mark that names a
// server: the connection's for translated topologies, the packet's for
// DSR.
func markExpr(r *Rule, reg uint32, set bool) expr.Any {
	if r.Topology == DSR {
		return &expr.Meta{Key: expr.MetaKeyMARK, Register: reg, SourceRegister: set}
	}
	return &expr.Ct{Key: expr.CtKeyMARK, Register: reg, SourceRegister: set}
}

// planDSREntry matches a DSR rule's packets in the raw prerouting chain.
// The forward chain also counts DSR packets per server by packet mark.
func planDSREntry(p *nftPlan, pkts *planSet, r *Rule, id int, comment string, match []expr.Any) {
	c, ok := p.chains[dsrChain]
	if !ok {
		c = p.chain(dsrChain, &rawPrerouting)
		p.chains["forward"].add("per-server packets, DSR",
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Lookup{SourceRegister: 1, SetName: pkts.set.Name})
	}
	if r.Enabled {
		c.add(comment, append(match, &expr.Notrack{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: ruleBase(id)})...)
		// Answers that come back through this node (it is the servers'
		// router) are not tracked either: conntrack would only pick
		// them up as half connections.
		c.add(comment+" answers", append(answerMatch(r), &expr.Notrack{})...)
		return
	}
	p.counters[unassignedCounterName(id)] = true
	c.add(comment, append(match, &expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: unassignedCounterName(id)})...)
}

// planDSRServerChain: mark the packet for the server's routing table,
// refresh persistence, count. The server counter counts packets (there
// are no connections to count).
func planDSRServerChain(c *planChain, r *Rule, id int, s *Server, mark uint32) {
	markBytes := binaryutil.NativeEndian.PutUint32(mark)
	e := []expr.Any{&expr.Immediate{Register: 1, Data: markBytes}, markExpr(r, 1, true)}
	if r.Persist {
		e = append(e, maskedSaddr(r, 1)...)
		e = append(e, &expr.Immediate{Register: 2, Data: markBytes},
			&expr.Dynset{SrcRegKey: 1, SrcRegData: 2, SetName: persistMapName(id), Operation: unix.NFT_DYNSET_OP_UPDATE})
	}
	e = append(e, &expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: serverChainName(id, serverNum(s.ID))},
		&expr.Verdict{Kind: expr.VerdictAccept})
	c.add("server "+s.ID, e...)
}

// answerMatch matches packets from the rule's VIP and ports.
func answerMatch(r *Rule) []expr.Any {
	e := append(nfproto(r), addrPayload(r.VIP.Is4(), true, 1),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: r.VIP.AsSlice()},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(r.Protocol)}})
	if r.Ports.Min == 0 {
		return e
	}
	lo, hi := r.Ports.Bounds()
	return append(e, portPayload(true, 1),
		&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: binaryutil.BigEndian.PutUint16(lo)},
		&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: binaryutil.BigEndian.PutUint16(hi)})
}
