package classify

import (
	"net"

	"tapagent/intercept"
)

// macNeed is the set of checks a compiled 802 filter makes.
type macNeed uint8

const (
	needDst    macNeed = 1 << iota // destination MAC equals dst
	needSrc                        // source MAC equals src
	needEither                     // source or destination MAC equals either
	needIf                         // seen on ifIndex (the interface field)
	needPort                       // seen on cmPort (cmMacAddress's bridge port)
	needType                       // EtherType equals etherType
	needDSAP                       // 802.2 DSAP equals dsap
	needSSAP                       // 802.2 SSAP equals ssap, command/response bit ignored
)

// macTap is a compiled c802tapStreamTable filter, 64 bytes.
type macTap struct {
	need             macNeed
	dsap, ssap       uint8
	etherType        uint16
	next             int32 // next tap in the same index bucket, -1 at the end
	ifIndex, cmPort  int32
	dst, src, either uint64
	md               *MDTarget
	key              intercept.StreamKey
}

// compileMAC turns an 802 filter into a macTap; ok is false when the filter
// can never match (nothing flagged, a flagged MAC missing, or two interface
// conditions that contradict each other).
func compileMAC(f *intercept.MACFilter, cfg *Config) (t macTap, ok bool) {
	t = macTap{key: f.Key, next: -1}
	fl := f.Fields
	const known = intercept.MatchInterface | intercept.MatchDstMAC | intercept.MatchSrcMAC |
		intercept.MatchEtherType | intercept.MatchDstLLCSAP | intercept.MatchSrcLLCSAP | intercept.MatchCMMAC
	if fl&known == 0 {
		return t, false
	}
	if (fl.Has(intercept.MatchDstMAC) && len(f.Dst) != 6) || (fl.Has(intercept.MatchSrcMAC) && len(f.Src) != 6) {
		return t, false
	}
	switch {
	case f.EitherDirection():
		t.need |= needEither
		t.either = mac48(f.Dst)
	default:
		if fl.Has(intercept.MatchDstMAC) {
			t.need |= needDst
			t.dst = mac48(f.Dst)
		}
		if fl.Has(intercept.MatchSrcMAC) {
			t.need |= needSrc
			t.src = mac48(f.Src)
		}
	}
	if fl.Has(intercept.MatchCMMAC) {
		cm := f.CMMAC()
		if len(cm) != 6 {
			return t, false
		}
		// The modem's port covers the modem and the devices behind it, whose
		// frames do not carry the modem's MAC: the MAC fields naming the
		// modem are replaced by the port (or, unknown port, by "from or to
		// the modem").
		v := mac48(cm)
		if t.need&needEither != 0 && t.either == v {
			t.need &^= needEither
		}
		if t.need&needDst != 0 && t.dst == v {
			t.need &^= needDst
		}
		if t.need&needSrc != 0 && t.src == v {
			t.need &^= needSrc
		}
		if port := learnedPort(cfg, cm); port > 0 {
			t.need |= needPort
			t.cmPort = port
		} else {
			t.need |= needEither
			t.either = v
		}
	}
	if fl.Has(intercept.MatchInterface) {
		switch {
		case f.Interface > 0:
			t.ifIndex = f.Interface
		case f.Interface == intercept.RoutedInterface:
			// Where the bridge learned the flagged MAC (source first).
			switch {
			case fl.Has(intercept.MatchSrcMAC):
				t.ifIndex = learnedPort(cfg, f.Src)
			case fl.Has(intercept.MatchDstMAC):
				t.ifIndex = learnedPort(cfg, f.Dst)
			}
		}
		if t.ifIndex > 0 {
			t.need |= needIf
		}
	}
	if t.need&(needIf|needPort) == needIf|needPort {
		if t.ifIndex != t.cmPort {
			return t, false
		}
		t.need &^= needPort
	}
	if fl.Has(intercept.MatchEtherType) {
		t.need |= needType
		t.etherType = f.EtherType
	}
	if fl.Has(intercept.MatchDstLLCSAP) {
		t.need |= needDSAP
		t.dsap = f.DstLLCSAP
	}
	if fl.Has(intercept.MatchSrcLLCSAP) {
		t.need |= needSSAP
		t.ssap = f.SrcLLCSAP &^ 1
	}
	return t, true
}

func learnedPort(cfg *Config, mac net.HardwareAddr) int32 {
	if cfg.LearnedPort == nil || len(mac) != 6 {
		return 0
	}
	return int32(max(cfg.LearnedPort(mac), 0))
}

// match checks every condition of the filter against the decoded frame.
func (t *macTap) match(p *Packet, f *frame) bool {
	n := t.need
	switch {
	case n&needDst != 0 && f.dstMAC != t.dst,
		n&needSrc != 0 && f.srcMAC != t.src,
		n&needEither != 0 && f.dstMAC != t.either && f.srcMAC != t.either,
		n&needIf != 0 && p.IfIndex != int(t.ifIndex),
		n&needPort != 0 && p.IfIndex != int(t.cmPort),
		n&needType != 0 && (!f.hasType || f.etherType != t.etherType),
		n&needDSAP != 0 && (!f.hasLLC || f.dsap != t.dsap),
		n&needSSAP != 0 && (!f.hasLLC || f.ssap&^1 != t.ssap):
		return false
	}
	return true
}
