package portsec

import (
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Names of the kernel objects. The table holds one base chain, one set of
// every secure address, and per enforced port a chain, an allowed-address
// set and a violation counter.
const (
	DefaultTable    = "tapagent_portsec"
	baseChainName   = "ingress"
	secureSetName   = "secure"
	secureSetSize   = 65535
	prefixLearn     = "portsec learn"
	prefixViolation = "portsec violation"
	// bridgeFilterPriority is nft's "priority filter" in the bridge family.
	bridgeFilterPriority = -200
)

func allowSetName(ifindex int) string  { return fmt.Sprintf("allow_%d", ifindex) }
func portChainName(ifindex int) string { return fmt.Sprintf("port_%d", ifindex) }
func counterName(ifindex int) string   { return fmt.Sprintf("violations_%d", ifindex) }

func newSet(t *nftables.Table, name string, size int) *nftables.Set {
	return &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeEtherAddr,
		HasTimeout: true, Dynamic: true, Size: uint32(size)}
}

func baseChain(t *nftables.Table) *nftables.Chain {
	return &nftables.Chain{Table: t, Name: baseChainName, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(bridgeFilterPriority),
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

// etherSaddr loads the source MAC into register 1.
func etherSaddr() expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6}
}

func dynset(set string, op uint32, timeout time.Duration) expr.Any {
	return &expr.Dynset{SrcRegKey: 1, SetName: set, Operation: op, Timeout: timeout}
}

func logTo(group uint16, prefix string) expr.Any {
	// A queue threshold of 1 sends every message at once instead of
	// batching them for up to a timer tick.
	return &expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX | 1<<unix.NFTA_LOG_QTHRESHOLD,
		Group: group, QThreshold: 1, Data: []byte(prefix)}
}

// violationAction is what a violating frame meets: protect drops
// silently, the other modes also report and count.
func violationAction(ifindex int, cfg PortConfig, group uint16) []expr.Any {
	if cfg.Violation == Protect {
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	}
	return []expr.Any{
		logTo(group, prefixViolation),
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterName(ifindex)},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// portRules is the port chain, in order:
//
//	known source: pass (inactivity aging refreshes the timeout)
//	source secure on another port: violation
//	learn (fails once the set holds Maximum addresses): report, pass
//	anything else: violation
func portRules(ifindex int, cfg PortConfig, group uint16, minute time.Duration) [][]expr.Any {
	allow := allowSetName(ifindex)
	known := []expr.Any{etherSaddr(), &expr.Lookup{SourceRegister: 1, SetName: allow}}
	if cfg.AgingType == AgingInactivity && cfg.AgingTime > 0 {
		t := time.Duration(cfg.AgingTime) * minute
		known = append(known, dynset(allow, unix.NFT_DYNSET_OP_UPDATE, t), dynset(secureSetName, unix.NFT_DYNSET_OP_UPDATE, t))
	}
	known = append(known, &expr.Verdict{Kind: expr.VerdictAccept})

	moved := append([]expr.Any{etherSaddr(), &expr.Lookup{SourceRegister: 1, SetName: secureSetName}},
		violationAction(ifindex, cfg, group)...)

	learnType := Dynamic
	if cfg.Sticky {
		learnType = Sticky
	}
	t := agingTimeout(cfg, learnType, minute)
	learn := []expr.Any{etherSaddr(),
		dynset(allow, unix.NFT_DYNSET_OP_ADD, t), dynset(secureSetName, unix.NFT_DYNSET_OP_ADD, t),
		logTo(group, prefixLearn), &expr.Verdict{Kind: expr.VerdictAccept}}

	return [][]expr.Any{known, moved, learn, violationAction(ifindex, cfg, group)}
}
