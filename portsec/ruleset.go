package portsec

import (
	"fmt"
	"strconv"
	"strings"
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
	shutSetName     = "shut"
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

// newShutSet holds the ifindexes of err-disabled ports. The violation rule
// of a shutdown port adds its port here, so the kernel drops everything
// the port sends from the offending frame on, before the engine even sees
// the event and sets the link down, and also while no engine runs.
func newShutSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: shutSetName, KeyType: nftables.TypeIFIndex, Dynamic: true}
}

func ifindexElem(ifindex int) nftables.SetElement {
	return nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(ifindex))}
}

// shutRule drops frames entering an err-disabled port.
func shutRule() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: shutSetName},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
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
	for _, k := range []string{prefixLearn, prefixViolation} {
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
// the port in the kernel at once (shut set).
func violationAction(ifindex int, cfg PortConfig, gen uint32, group uint16) []expr.Any {
	if cfg.Violation == Protect {
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	}
	out := []expr.Any{
		logTo(group, prefixViolation, gen),
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterName(ifindex)},
	}
	if cfg.Violation == Shutdown {
		out = append(out, &expr.Meta{Key: expr.MetaKeyIIF, Register: 1}, dynset(shutSetName, unix.NFT_DYNSET_OP_ADD, 0))
	}
	return append(out, &expr.Verdict{Kind: expr.VerdictDrop})
}

// portRules is the port chain, in order:
//
//	known source: pass (inactivity aging refreshes the timeout)
//	source secure on another port: violation
//	learn (fails once the set holds Maximum addresses): report, pass
//	anything else: violation
func portRules(ifindex int, cfg PortConfig, gen uint32, group uint16, minute time.Duration) [][]expr.Any {
	allow := allowSetName(ifindex)
	known := []expr.Any{etherSaddr(), &expr.Lookup{SourceRegister: 1, SetName: allow}}
	if cfg.AgingType == AgingInactivity && cfg.AgingTime > 0 {
		t := time.Duration(cfg.AgingTime) * minute
		known = append(known, dynset(allow, unix.NFT_DYNSET_OP_UPDATE, t), dynset(secureSetName, unix.NFT_DYNSET_OP_UPDATE, t))
	}
	known = append(known, &expr.Verdict{Kind: expr.VerdictAccept})

	moved := append([]expr.Any{etherSaddr(), &expr.Lookup{SourceRegister: 1, SetName: secureSetName}},
		violationAction(ifindex, cfg, gen, group)...)

	learnType := Dynamic
	if cfg.Sticky {
		learnType = Sticky
	}
	t := agingTimeout(cfg, learnType, minute)
	learn := []expr.Any{etherSaddr(),
		dynset(allow, unix.NFT_DYNSET_OP_ADD, t), dynset(secureSetName, unix.NFT_DYNSET_OP_ADD, t),
		logTo(group, prefixLearn, gen), &expr.Verdict{Kind: expr.VerdictAccept}}

	return [][]expr.Any{known, moved, learn, violationAction(ifindex, cfg, gen, group)}
}
