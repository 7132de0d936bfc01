package intercept

import (
	"bytes"
	"net/netip"
	"time"
)

// The rules of single objects. Each returns the first violation or nil;
// RuleError.Index is filled in by the caller, which knows the change.

func checkContentID(id ContentID) *RuleError {
	if id == 0 || id > MaxIndex {
		return wrong(FieldContentID, "content id %d outside 1..%d", id, MaxIndex)
	}
	return nil
}

func checkKey(k StreamKey) *RuleError {
	if r := checkContentID(k.ContentID); r != nil {
		return r
	}
	if k.Index == 0 || k.Index > MaxIndex {
		return wrong(FieldIndex, "stream index %d outside 1..%d", k.Index, MaxIndex)
	}
	return nil
}

// checkMediation checks m on its own at time now. timeoutWritten says the
// Timeout is new or differs from the stored one: a timeout that is already
// over would remove the row at once, so it is refused when written.
func checkMediation(m Mediation, now time.Time, timeoutWritten bool) *RuleError {
	if r := checkContentID(m.ContentID); r != nil {
		return r
	}
	if a := m.DestAddr; a.IsValid() {
		switch {
		case a.Zone() != "":
			return wrong(FieldDestAddr, "zoned addresses are not supported")
		case a.Is4In6():
			return wrong(FieldDestAddr, "IPv4-mapped IPv6 address: use the IPv4 address")
		case a.IsUnspecified():
			return wrong(FieldDestAddr, "unspecified address")
		}
	}
	if m.SrcInterface < 0 {
		return wrong(FieldSrcInterface, "interface %d: want an ifIndex or 0", m.SrcInterface)
	}
	if m.DSCP > 63 {
		return wrong(FieldDSCP, "dscp %d outside 0..63", m.DSCP)
	}
	if m.DataType < 0 || m.DataType > 127 {
		return wrong(FieldDataType, "payload type %d outside 0..127", m.DataType)
	}
	if m.RetransmitType < 0 || m.RetransmitType > 127 {
		return wrong(FieldRetransmitType, "payload type %d outside 0..127", m.RetransmitType)
	}
	switch {
	case m.Transport == 0, m.Transport.Supported():
	case m.Transport >= TransportRTPNack && m.Transport <= TransportRTP:
		return wrong(FieldTransport, "transport %d not supported (udp only)", m.Transport)
	default:
		return wrong(FieldTransport, "unknown transport %d", m.Transport)
	}
	if timeoutWritten && !m.Timeout.IsZero() && !m.Timeout.After(now) {
		return inconsistent(FieldTimeout, "timeout is not in the future")
	}
	if !m.Active {
		return nil
	}
	switch {
	case !m.DestAddr.IsValid():
		return inconsistent(FieldDestAddr, "destination address not set")
	case m.DestPort == 0:
		return inconsistent(FieldDestPort, "destination port not set (1..65535)")
	case m.Transport == 0:
		return inconsistent(FieldTransport, "transport not set")
	case m.Timeout.IsZero():
		return inconsistent(FieldTimeout, "timeout not set")
	case !m.Timeout.After(now):
		return inconsistent(FieldTimeout, "timeout is not in the future")
	}
	return nil
}

func checkStream(s Stream) *RuleError {
	if r := checkKey(s.Key); r != nil {
		return r
	}
	switch {
	case s.Type == 0, s.Type.Supported():
	case s.Type >= StreamUserConnection && s.Type <= StreamMobility:
		return wrong(FieldType, "stream type %d not supported (ip and mac only)", s.Type)
	default:
		return wrong(FieldType, "unknown stream type %d", s.Type)
	}
	if s.Active && s.Type == 0 {
		return inconsistent(FieldType, "stream type not set")
	}
	return nil
}

func checkIPFilter(f IPFilter) *RuleError {
	if r := checkKey(f.Key); r != nil {
		return r
	}
	if f.Interface < VoIPInterface {
		return wrong(FieldInterface, "interface %d: want an ifIndex, 0, -1 or -2", f.Interface)
	}
	if f.AddrFamily != AddrIPv4 && f.AddrFamily != AddrIPv6 {
		return wrong(FieldAddrFamily, "address type %d not supported (ipv4, ipv6)", f.AddrFamily)
	}
	if f.FlowID != UnusedFlowID && (f.FlowID < 0 || f.FlowID > MaxFlowID) {
		return wrong(FieldFlowID, "flow id %d: want -1 or 0..%d", f.FlowID, MaxFlowID)
	}
	if f.Protocol < AnyProtocol || f.Protocol > 255 {
		return wrong(FieldProtocol, "protocol %d: want -1 or 0..255", f.Protocol)
	}
	if len(f.VRF) > maxVRFLen {
		return wrong(FieldVRF, "vrf name longer than %d octets", maxVRFLen)
	}
	if !f.Active {
		return nil
	}
	// Relations between columns: checked once the row is to be used, so a
	// notInService row may be filled in any order.
	if r := checkPrefix(f.Dst, f.AddrFamily, FieldDst, FieldDstLen); r != nil {
		return r
	}
	if r := checkPrefix(f.Src, f.AddrFamily, FieldSrc, FieldSrcLen); r != nil {
		return r
	}
	switch {
	case f.TOS&^f.TOSMask != 0:
		return inconsistent(FieldTOS, "tos byte %#02x has bits outside mask %#02x", f.TOS, f.TOSMask)
	case f.FlowID != UnusedFlowID && f.AddrFamily != AddrIPv6:
		return inconsistent(FieldFlowID, "a flow id needs address type ipv6")
	case f.DstPortMin > f.DstPortMax:
		return inconsistent(FieldDstPortMin, "port min %d above max %d", f.DstPortMin, f.DstPortMax)
	case f.SrcPortMin > f.SrcPortMax:
		return inconsistent(FieldSrcPortMin, "port min %d above max %d", f.SrcPortMin, f.SrcPortMax)
	case f.Interface == RoutedInterface && prefixBits(f.Dst) == 0 && prefixBits(f.Src) == 0:
		return inconsistent(FieldInterface, "interface -1 needs a destination or source prefix")
	case f.Interface == VoIPInterface && prefixBits(f.Src) == 0:
		return inconsistent(FieldInterface, "interface -2 needs a source prefix")
	case f.Interface == AnyInterface && !f.selective():
		// The MIB: with interface 0, other parameters must limit the scope.
		return inconsistent(FieldInterface, "interface 0 (any) needs another selection criterion")
	}
	return nil
}

// selective reports whether anything besides the interface narrows f.
func (f IPFilter) selective() bool {
	return prefixBits(f.Dst) > 0 || prefixBits(f.Src) > 0 || f.TOSMask != 0 ||
		f.FlowID != UnusedFlowID || f.Protocol != AnyProtocol ||
		f.DstPortMin != 0 || f.DstPortMax != 65535 || f.SrcPortMin != 0 || f.SrcPortMax != 65535 ||
		f.VRF != ""
}

// checkPrefix relates a prefix to the filter's address family. An unset
// prefix or a /0 matches anything, whatever its address bytes.
func checkPrefix(p netip.Prefix, fam AddrFamily, addrField, lenField string) *RuleError {
	a := p.Addr()
	if !a.IsValid() || p.Bits() == 0 {
		return nil
	}
	if a.Is4() != (fam == AddrIPv4) {
		return inconsistent(addrField, "address does not match address type %s", fam)
	}
	if !p.IsValid() {
		return inconsistent(lenField, "prefix length out of range for %s (0..%d)", fam, fam.bitLen())
	}
	return nil
}

// prefixBits is the prefix length, 0 for "any".
func prefixBits(p netip.Prefix) int {
	if !p.IsValid() {
		return 0
	}
	return p.Bits()
}

func checkMACFilter(f MACFilter) *RuleError {
	if r := checkKey(f.Key); r != nil {
		return r
	}
	if f.Fields&^knownFields != 0 {
		return wrong(FieldFields, "unknown field bits %#x", uint32(f.Fields&^knownFields))
	}
	if f.Interface < RoutedInterface {
		return wrong(FieldInterface, "interface %d: want an ifIndex, 0 or -1", f.Interface)
	}
	if f.Dst != nil && len(f.Dst) != 6 {
		return wrong(FieldDst, "mac address of %d octets, want 6", len(f.Dst))
	}
	if f.Src != nil && len(f.Src) != 6 {
		return wrong(FieldSrc, "mac address of %d octets, want 6", len(f.Src))
	}
	if !f.Active {
		return nil
	}
	hasDst := f.Fields.Has(MatchDstMAC) && f.Dst != nil
	hasSrc := f.Fields.Has(MatchSrcMAC) && f.Src != nil
	switch {
	case f.Fields == 0:
		return inconsistent(FieldFields, "no field flagged")
	case f.Fields.Has(MatchDstMAC) && f.Dst == nil:
		return inconsistent(FieldDst, "dstMac flagged but no destination mac set")
	case f.Fields.Has(MatchSrcMAC) && f.Src == nil:
		return inconsistent(FieldSrc, "srcMac flagged but no source mac set")
	case f.Fields.Has(MatchInterface) && f.Interface == RoutedInterface && !hasDst && !hasSrc:
		return inconsistent(FieldInterface, "interface -1 needs a flagged destination or source mac")
	case f.Fields.Has(MatchEtherType) && f.EtherType < minEtherTypeFlag:
		return inconsistent(FieldEtherType, "ethernetPid flagged but %#04x is not an EtherType", f.EtherType)
	case f.Fields.Has(MatchCMMAC) && f.Dst == nil && f.Src == nil:
		return inconsistent(FieldFields, "cmMacAddress flagged but no mac set")
	case f.Fields == MatchInterface && f.Interface == AnyInterface:
		return inconsistent(FieldInterface, "interface 0 (any) needs another flagged field")
	}
	return nil
}

// The rules for active objects: the MIBs allow only a few columns to change
// while a row is active; everything else needs notInService first. Each
// returns the first field that changed although it may not, or "".

func mediationFrozenChange(prev, cur Mediation) string {
	switch {
	case prev.DestAddr != cur.DestAddr:
		return FieldDestAddr
	case prev.DestPort != cur.DestPort:
		return FieldDestPort
	case prev.SrcInterface != cur.SrcInterface:
		return FieldSrcInterface
	case prev.DSCP != cur.DSCP:
		return FieldDSCP
	case prev.DataType != cur.DataType:
		return FieldDataType
	case prev.RetransmitType != cur.RetransmitType:
		return FieldRetransmitType
	case prev.Transport != cur.Transport:
		return FieldTransport
	case prev.NotificationEnable != cur.NotificationEnable:
		return FieldNotificationEnable
	}
	return "" // Timeout may change
}

func streamFrozenChange(prev, cur Stream) string {
	if prev.Type != cur.Type {
		return FieldType
	}
	return "" // Enable may change
}

func ipFilterFrozenChange(prev, cur IPFilter) string {
	switch {
	case prev.Interface != cur.Interface:
		return FieldInterface
	case prev.AddrFamily != cur.AddrFamily:
		return FieldAddrFamily
	case prev.Dst.Addr() != cur.Dst.Addr():
		return FieldDst
	case prev.Dst.Bits() != cur.Dst.Bits():
		return FieldDstLen
	case prev.Src.Addr() != cur.Src.Addr():
		return FieldSrc
	case prev.Src.Bits() != cur.Src.Bits():
		return FieldSrcLen
	case prev.TOS != cur.TOS:
		return FieldTOS
	case prev.TOSMask != cur.TOSMask:
		return FieldTOSMask
	case prev.FlowID != cur.FlowID:
		return FieldFlowID
	case prev.Protocol != cur.Protocol:
		return FieldProtocol
	case prev.DstPortMin != cur.DstPortMin:
		return FieldDstPortMin
	case prev.DstPortMax != cur.DstPortMax:
		return FieldDstPortMax
	case prev.SrcPortMin != cur.SrcPortMin:
		return FieldSrcPortMin
	case prev.SrcPortMax != cur.SrcPortMax:
		return FieldSrcPortMax
	case prev.VRF != cur.VRF:
		return FieldVRF
	}
	return ""
}

func macFilterFrozenChange(prev, cur MACFilter) string {
	switch {
	case prev.Fields != cur.Fields:
		return FieldFields
	case prev.Interface != cur.Interface:
		return FieldInterface
	case !bytes.Equal(prev.Dst, cur.Dst) || (prev.Dst == nil) != (cur.Dst == nil):
		return FieldDst
	case !bytes.Equal(prev.Src, cur.Src) || (prev.Src == nil) != (cur.Src == nil):
		return FieldSrc
	case prev.EtherType != cur.EtherType:
		return FieldEtherType
	case prev.DstLLCSAP != cur.DstLLCSAP:
		return FieldDstLLCSAP
	case prev.SrcLLCSAP != cur.SrcLLCSAP:
		return FieldSrcLLCSAP
	}
	return ""
}
