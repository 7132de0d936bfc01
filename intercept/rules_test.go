package intercept

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// ruleCase is one single-object rule: a mutation of a valid object and the
// violation expected (field "" = accepted).
type ruleCase[T any] struct {
	name  string
	edit  func(*T)
	field string
	kind  Kind
}

func runRuleCases[T any](t *testing.T, base func() T, check func(T) *RuleError, cases []ruleCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.edit(&o)
			r := check(o)
			if tc.field == "" {
				if r != nil {
					t.Fatalf("rejected: %v", r)
				}
				return
			}
			if r == nil {
				t.Fatalf("accepted, want %s on %s", tc.kind, tc.field)
			}
			if r.Field != tc.field || r.Kind != tc.kind {
				t.Fatalf("got %s on %s (%s), want %s on %s", r.Kind, r.Field, r.Msg, tc.kind, tc.field)
			}
		})
	}
}

func TestMediationRules(t *testing.T) {
	type M = Mediation
	cases := []ruleCase[M]{
		{name: "complete and active", edit: func(m *M) {}},
		{name: "ipv6 destination", edit: func(m *M) { m.DestAddr = netip.MustParseAddr("2001:db8::10") }},
		{name: "incomplete but inactive", edit: func(m *M) { *m = NewMediation(7) }},
		{name: "dscp 63", edit: func(m *M) { m.DSCP = 63 }},
		{name: "content id 0", edit: func(m *M) { m.ContentID = 0 }, field: FieldContentID, kind: WrongValue},
		{name: "content id above Integer32", edit: func(m *M) { m.ContentID = MaxIndex + 1 }, field: FieldContentID, kind: WrongValue},
		{name: "zoned address", edit: func(m *M) { m.DestAddr = netip.MustParseAddr("fe80::1%eth0") }, field: FieldDestAddr, kind: WrongValue},
		{name: "v4-mapped address", edit: func(m *M) { m.DestAddr = netip.MustParseAddr("::ffff:198.18.0.1") }, field: FieldDestAddr, kind: WrongValue},
		{name: "unspecified v4", edit: func(m *M) { m.DestAddr = netip.IPv4Unspecified() }, field: FieldDestAddr, kind: WrongValue},
		{name: "unspecified v6", edit: func(m *M) { m.DestAddr = netip.IPv6Unspecified() }, field: FieldDestAddr, kind: WrongValue},
		{name: "negative src interface", edit: func(m *M) { m.SrcInterface = -1 }, field: FieldSrcInterface, kind: WrongValue},
		{name: "dscp 64", edit: func(m *M) { m.DSCP = 64 }, field: FieldDSCP, kind: WrongValue},
		{name: "data type 128", edit: func(m *M) { m.DataType = 128 }, field: FieldDataType, kind: WrongValue},
		{name: "data type -1", edit: func(m *M) { m.DataType = -1 }, field: FieldDataType, kind: WrongValue},
		{name: "retransmit type 128", edit: func(m *M) { m.RetransmitType = 128 }, field: FieldRetransmitType, kind: WrongValue},
		{name: "rtpNack unsupported", edit: func(m *M) { m.Transport = TransportRTPNack }, field: FieldTransport, kind: WrongValue},
		{name: "tcp unsupported", edit: func(m *M) { m.Transport = TransportTCP }, field: FieldTransport, kind: WrongValue},
		{name: "sctp unsupported", edit: func(m *M) { m.Transport = TransportSCTP }, field: FieldTransport, kind: WrongValue},
		{name: "rtp unsupported", edit: func(m *M) { m.Transport = TransportRTP }, field: FieldTransport, kind: WrongValue},
		{name: "unknown transport", edit: func(m *M) { m.Transport = 6 }, field: FieldTransport, kind: WrongValue},
		{name: "unsupported transport even inactive", edit: func(m *M) { m.Transport = TransportTCP; m.Active = false }, field: FieldTransport, kind: WrongValue},
		{name: "timeout in the past", edit: func(m *M) { m.Timeout = t0.Add(-time.Second); m.Active = false }, field: FieldTimeout, kind: Inconsistent},
		{name: "timeout now", edit: func(m *M) { m.Timeout = t0 }, field: FieldTimeout, kind: Inconsistent},
		{name: "active without address", edit: func(m *M) { m.DestAddr = netip.Addr{} }, field: FieldDestAddr, kind: Inconsistent},
		{name: "active without port", edit: func(m *M) { m.DestPort = 0 }, field: FieldDestPort, kind: Inconsistent},
		{name: "active without transport", edit: func(m *M) { m.Transport = 0 }, field: FieldTransport, kind: Inconsistent},
		{name: "active without timeout", edit: func(m *M) { m.Timeout = time.Time{} }, field: FieldTimeout, kind: Inconsistent},
	}
	runRuleCases(t, func() M { return md(7, true) }, func(m M) *RuleError { return checkMediation(m, t0, true) }, cases)

	// Activation checks the timeout even when it was written earlier.
	stale := md(7, true)
	stale.Timeout = t0.Add(-time.Minute)
	if r := checkMediation(stale, t0, false); r == nil || r.Field != FieldTimeout || r.Kind != Inconsistent {
		t.Fatalf("activation with a past timeout: got %v, want inconsistent Timeout", r)
	}
	stale.Active = false
	if r := checkMediation(stale, t0, false); r != nil {
		t.Fatalf("unchanged past timeout of an inactive row: %v", r)
	}
}

func TestStreamRules(t *testing.T) {
	type S = Stream
	cases := []ruleCase[S]{
		{name: "ip", edit: func(s *S) {}},
		{name: "mac", edit: func(s *S) { s.Type = StreamMAC }},
		{name: "type not set, inactive", edit: func(s *S) { s.Type = 0; s.Active = false }},
		{name: "index 0", edit: func(s *S) { s.Key.Index = 0 }, field: FieldIndex, kind: WrongValue},
		{name: "index above Integer32", edit: func(s *S) { s.Key.Index = MaxIndex + 1 }, field: FieldIndex, kind: WrongValue},
		{name: "content id 0", edit: func(s *S) { s.Key.ContentID = 0 }, field: FieldContentID, kind: WrongValue},
		{name: "userConnection unsupported", edit: func(s *S) { s.Type = StreamUserConnection }, field: FieldType, kind: WrongValue},
		{name: "msPdsn unsupported", edit: func(s *S) { s.Type = StreamMSPDSN }, field: FieldType, kind: WrongValue},
		{name: "mobility unsupported", edit: func(s *S) { s.Type = StreamMobility }, field: FieldType, kind: WrongValue},
		{name: "unknown type", edit: func(s *S) { s.Type = 9 }, field: FieldType, kind: WrongValue},
		{name: "active without type", edit: func(s *S) { s.Type = 0 }, field: FieldType, kind: Inconsistent},
	}
	runRuleCases(t, func() S { return stream(key(7, 1), StreamIP, true, true) }, checkStream, cases)
}

func TestIPFilterRules(t *testing.T) {
	type F = IPFilter
	v6 := func(f *F) { f.AddrFamily = AddrIPv6; f.Dst = netip.MustParsePrefix("2001:db8:1::/48") }
	cases := []ruleCase[F]{
		{name: "destination prefix", edit: func(f *F) {}},
		{name: "ipv6", edit: v6},
		{name: "host bits beyond the prefix are accepted", edit: func(f *F) { f.Dst = netip.MustParsePrefix("198.18.1.5/24") }},
		{name: "/0 of another family means any", edit: func(f *F) {
			v6(f)
			f.Src = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}},
		{name: "protocol 0 is HOPOPT", edit: func(f *F) { f.Protocol = 0 }},
		{name: "tos within mask", edit: func(f *F) { f.TOS, f.TOSMask = 0xb8, 0xfc }},
		{name: "flow label on ipv6", edit: func(f *F) { v6(f); f.FlowID = MaxFlowID }},
		{name: "routed interface with prefix", edit: func(f *F) { f.Interface = RoutedInterface }},
		{name: "voip with source", edit: func(f *F) {
			f.Interface = VoIPInterface
			f.Src = netip.MustParsePrefix("198.18.2.2/32")
			f.SrcPortMin = 5060
		}},
		{name: "ifIndex alone", edit: func(f *F) { f.Dst = netip.Prefix{}; f.Interface = 3 }},
		{name: "any interface narrowed by protocol", edit: func(f *F) { f.Dst = netip.Prefix{}; f.Protocol = 17 }},
		{name: "inconsistent but inactive", edit: func(f *F) { f.TOS = 0x10; f.DstPortMin = 9; f.DstPortMax = 1; f.Active = false }},
		{name: "index 0", edit: func(f *F) { f.Key.Index = 0 }, field: FieldIndex, kind: WrongValue},
		{name: "interface -3", edit: func(f *F) { f.Interface = -3 }, field: FieldInterface, kind: WrongValue},
		{name: "address type unknown", edit: func(f *F) { f.AddrFamily = 0 }, field: FieldAddrFamily, kind: WrongValue},
		{name: "address type ipv4z", edit: func(f *F) { f.AddrFamily = 3 }, field: FieldAddrFamily, kind: WrongValue},
		{name: "address type dns", edit: func(f *F) { f.AddrFamily = 16 }, field: FieldAddrFamily, kind: WrongValue},
		{name: "flow id -2", edit: func(f *F) { f.FlowID = -2 }, field: FieldFlowID, kind: WrongValue},
		{name: "flow id above 20 bits", edit: func(f *F) { v6(f); f.FlowID = MaxFlowID + 1 }, field: FieldFlowID, kind: WrongValue},
		{name: "protocol -2", edit: func(f *F) { f.Protocol = -2 }, field: FieldProtocol, kind: WrongValue},
		{name: "protocol 256", edit: func(f *F) { f.Protocol = 256 }, field: FieldProtocol, kind: WrongValue},
		{name: "vrf name too long", edit: func(f *F) { f.VRF = "vrf-name-too-long" }, field: FieldVRF, kind: WrongValue},
		{name: "ipv6 destination on ipv4", edit: func(f *F) { f.Dst = netip.MustParsePrefix("2001:db8::/32") }, field: FieldDst, kind: Inconsistent},
		{name: "ipv4 source on ipv6", edit: func(f *F) { v6(f); f.Src = netip.MustParsePrefix("198.18.0.0/15") }, field: FieldSrc, kind: Inconsistent},
		{name: "prefix length 33 on ipv4", edit: func(f *F) { f.Dst = netip.PrefixFrom(mdAddr, 33) }, field: FieldDstLen, kind: Inconsistent},
		{name: "prefix length 129 on ipv6", edit: func(f *F) {
			v6(f)
			f.Src = netip.PrefixFrom(netip.MustParseAddr("2001:db8::1"), 129)
		}, field: FieldSrcLen, kind: Inconsistent},
		{name: "tos outside mask", edit: func(f *F) { f.TOS, f.TOSMask = 0x10, 0x00 }, field: FieldTOS, kind: Inconsistent},
		{name: "flow id on ipv4", edit: func(f *F) { f.FlowID = 5 }, field: FieldFlowID, kind: Inconsistent},
		{name: "dst port min above max", edit: func(f *F) { f.DstPortMin, f.DstPortMax = 100, 99 }, field: FieldDstPortMin, kind: Inconsistent},
		{name: "src port min above max", edit: func(f *F) { f.SrcPortMin, f.SrcPortMax = 2, 1 }, field: FieldSrcPortMin, kind: Inconsistent},
		{name: "routed interface without prefix", edit: func(f *F) { f.Interface = RoutedInterface; f.Dst = netip.Prefix{} }, field: FieldInterface, kind: Inconsistent},
		{name: "voip without source", edit: func(f *F) { f.Interface = VoIPInterface }, field: FieldInterface, kind: Inconsistent},
		{name: "everything on every interface", edit: func(f *F) { f.Dst = netip.Prefix{} }, field: FieldInterface, kind: Inconsistent},
	}
	runRuleCases(t, func() F { return ipf(key(7, 1), true) }, checkIPFilter, cases)
}

func TestMACFilterRules(t *testing.T) {
	type F = MACFilter
	cases := []ruleCase[F]{
		{name: "seed cpe tap (bits 1,2,6)", edit: func(f *F) {}},
		{name: "destination only", edit: func(f *F) { f.Fields = MatchDstMAC; f.Src = nil }},
		{name: "learned port with mac", edit: func(f *F) { f.Fields = MatchInterface | MatchSrcMAC; f.Interface = RoutedInterface }},
		{name: "interface alone", edit: func(f *F) { f.Fields = MatchInterface; f.Interface = 4 }},
		{name: "ethertype", edit: func(f *F) { f.Fields = MatchEtherType | MatchSrcMAC; f.EtherType = 0x86dd }},
		{name: "llc saps", edit: func(f *F) { f.Fields = MatchDstLLCSAP | MatchSrcLLCSAP; f.DstLLCSAP = 0x42 }},
		{name: "nothing flagged but inactive", edit: func(f *F) { f.Fields = 0; f.Active = false }},
		{name: "index 0", edit: func(f *F) { f.Key.Index = 0 }, field: FieldIndex, kind: WrongValue},
		{name: "unknown bit 7", edit: func(f *F) { f.Fields |= 1 << 7 }, field: FieldFields, kind: WrongValue},
		{name: "unknown bit in second octet", edit: func(f *F) { f.Fields |= 1 << 9; f.Active = false }, field: FieldFields, kind: WrongValue},
		{name: "interface -2", edit: func(f *F) { f.Interface = -2 }, field: FieldInterface, kind: WrongValue},
		{name: "short destination mac", edit: func(f *F) { f.Dst = f.Dst[:5] }, field: FieldDst, kind: WrongValue},
		{name: "long source mac", edit: func(f *F) { f.Src = append(net.HardwareAddr{0, 0}, f.Src...) }, field: FieldSrc, kind: WrongValue},
		{name: "nothing flagged", edit: func(f *F) { f.Fields = 0 }, field: FieldFields, kind: Inconsistent},
		{name: "dstMac flagged without mac", edit: func(f *F) { f.Dst = nil }, field: FieldDst, kind: Inconsistent},
		{name: "srcMac flagged without mac", edit: func(f *F) { f.Src = nil }, field: FieldSrc, kind: Inconsistent},
		{name: "learned port without mac", edit: func(f *F) { f.Fields = MatchInterface; f.Interface = RoutedInterface }, field: FieldInterface, kind: Inconsistent},
		{name: "ethertype not set", edit: func(f *F) { f.Fields = MatchEtherType }, field: FieldEtherType, kind: Inconsistent},
		{name: "802.3 length is no ethertype", edit: func(f *F) { f.Fields = MatchEtherType; f.EtherType = 0x05dc }, field: FieldEtherType, kind: Inconsistent},
		{name: "cable modem without mac", edit: func(f *F) { f.Fields = MatchCMMAC; f.Dst, f.Src = nil, nil }, field: FieldFields, kind: Inconsistent},
		{name: "every frame on every interface", edit: func(f *F) { f.Fields = MatchInterface; f.Interface = AnyInterface }, field: FieldInterface, kind: Inconsistent},
	}
	runRuleCases(t, func() F { return macf(key(7, 1), true) }, checkMACFilter, cases)
}

func TestMACFilterHelpers(t *testing.T) {
	f := macf(key(1, 1), true)
	if !f.EitherDirection() {
		t.Error("same MAC flagged both ways: EitherDirection = false")
	}
	if got := f.CMMAC(); got.String() != cpeMAC.String() {
		t.Errorf("CMMAC = %v, want %v", got, cpeMAC)
	}
	f.Src = cloneMAC(otherMC)
	if f.EitherDirection() {
		t.Error("different MACs: EitherDirection = true")
	}
	if got := f.CMMAC(); got.String() != otherMC.String() {
		t.Errorf("CMMAC prefers Src: got %v", got)
	}
	f.Src = nil
	if got := f.CMMAC(); got.String() != cpeMAC.String() {
		t.Errorf("CMMAC falls back to Dst: got %v", got)
	}
}

func TestFrozenWhileActive(t *testing.T) {
	m := md(1, true)
	m2 := m
	m2.Timeout = m.Timeout.Add(time.Hour)
	if f := mediationFrozenChange(m, m2); f != "" {
		t.Errorf("timeout change of an active mediation refused on %s", f)
	}
	m2.DSCP = 10
	if f := mediationFrozenChange(m, m2); f != FieldDSCP {
		t.Errorf("dscp change: got %q", f)
	}
	s := stream(key(1, 1), StreamIP, true, false)
	s2 := s
	s2.Enable = true
	if f := streamFrozenChange(s, s2); f != "" {
		t.Errorf("enable change of an active stream refused on %s", f)
	}
	s2.Type = StreamMAC
	if f := streamFrozenChange(s, s2); f != FieldType {
		t.Errorf("type change: got %q", f)
	}
	i := ipf(key(1, 1), true)
	i2 := i
	i2.Dst = netip.MustParsePrefix("198.18.1.0/25")
	if f := ipFilterFrozenChange(i, i2); f != FieldDstLen {
		t.Errorf("prefix length change: got %q", f)
	}
	if f := ipFilterFrozenChange(i, i); f != "" {
		t.Errorf("no change refused on %s", f)
	}
	a := macf(key(1, 1), true)
	b := a.clone()
	if f := macFilterFrozenChange(a, b); f != "" {
		t.Errorf("equal mac filters refused on %s", f)
	}
	b.Src[5] ^= 1
	if f := macFilterFrozenChange(a, b); f != FieldSrc {
		t.Errorf("source mac change: got %q", f)
	}
}
