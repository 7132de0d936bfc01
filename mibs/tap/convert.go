package tap

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/intercept"
)

func contentID(index []agentx.Value) intercept.ContentID {
	return intercept.ContentID(index[0].Int)
}

func streamKey(index []agentx.Value) intercept.StreamKey {
	return intercept.StreamKey{ContentID: contentID(index), Index: uint32(index[1].Int)}
}

func active(r *table.Row) bool { return r.Status == table.Active }

// mediationOf reads a cTap2MediationEntry. Unset columns stay unset in the
// engine's terms (invalid address, port 0, transport 0, zero timeout).
func mediationOf(r *table.Row) (intercept.Mediation, error) {
	m := intercept.NewMediation(contentID(r.Index))
	if _, ok := r.Get(mdDestAddress); ok {
		a, err := inetAddr(r, mdDestAddressType, mdDestAddress)
		if err != nil {
			return m, err
		}
		m.DestAddr = a
	}
	m.DestPort = uint16(r.Uint(mdDestPort))
	m.SrcInterface = int32(r.Int(mdSrcInterface))
	m.DSCP = uint8(r.Int(mdDscp))
	m.DataType = int32(r.Int(mdDataType))
	m.RetransmitType = int32(r.Int(mdRetransmitType))
	if b := r.Bytes(mdTimeout); b != nil {
		m.Timeout = dateAndTime(b)
	}
	m.Transport = intercept.Transport(r.Int(mdTransport))
	m.NotificationEnable = r.Truth(mdNotificationEnable)
	m.Active = active(r)
	return m, nil
}

// inetAddr reads an InetAddressType/InetAddress column pair. A length that
// does not fit the type is inconsistent (RFC 4001); types other than ipv4
// and ipv6 cannot be served by this agent at all.
func inetAddr(r *table.Row, typeCol, addrCol uint32) (netip.Addr, error) {
	typ, addr := r.Int(typeCol), r.Bytes(addrCol)
	if _, ok := r.Get(typeCol); !ok {
		return netip.Addr{}, table.Reject(r, addrCol, errors.New("address set without its address type"))
	}
	switch typ {
	case inetAddrTypeIPv4, inetAddrTypeIPv6:
	default:
		return netip.Addr{}, &table.CheckError{Status: agentx.WrongValue, Table: r.Table, Index: r.Index,
			Column: typeCol, Err: errors.New("only ipv4 and ipv6 addresses are supported")}
	}
	if !table.InetAddressFits(typ, addr) {
		return netip.Addr{}, table.Reject(r, addrCol, errors.New("address length does not fit its type"))
	}
	a, _ := netip.AddrFromSlice(addr)
	return a, nil
}

func streamOf(r *table.Row) intercept.Stream {
	s := intercept.NewStream(streamKey(r.Index))
	s.Type = intercept.StreamType(r.Int(stType))
	s.Enable = r.Truth(stInterceptEnable)
	s.Active = active(r)
	return s
}

func ipFilterOf(r *table.Row) (intercept.IPFilter, error) {
	f := intercept.NewIPFilter(streamKey(r.Index))
	f.Interface = int32(r.Int(ipInterface))
	f.AddrFamily = intercept.AddrFamily(r.Int(ipAddrType))
	var err error
	if f.Dst, err = ipPrefix(r, ipDstAddress, ipDstLength); err != nil {
		return f, err
	}
	if f.Src, err = ipPrefix(r, ipSrcAddress, ipSrcLength); err != nil {
		return f, err
	}
	f.TOS = uint8(r.Int(ipTosByte))
	f.TOSMask = uint8(r.Int(ipTosByteMask))
	f.FlowID = int32(r.Int(ipFlowID))
	f.Protocol = int32(r.Int(ipProtocol))
	f.DstPortMin, f.DstPortMax = uint16(r.Uint(ipDstL4PortMin)), uint16(r.Uint(ipDstL4PortMax))
	f.SrcPortMin, f.SrcPortMax = uint16(r.Uint(ipSrcL4PortMin)), uint16(r.Uint(ipSrcL4PortMax))
	f.VRF = string(r.Bytes(ipVRF))
	f.Active = active(r)
	return f, nil
}

// ipPrefix reads an address and prefix-length column pair. Once the row is
// active the address must have the length citapStreamAddrType gives it
// (RFC 4001), except the all-zero DEFVAL with length 0, which means "any"
// for either family. Before that, columns may be filled in any order.
func ipPrefix(r *table.Row, addrCol, lenCol uint32) (netip.Prefix, error) {
	addr, bitsLen := r.Bytes(addrCol), int(r.Uint(lenCol))
	if active(r) && !table.InetAddressFits(r.Int(ipAddrType), addr) && (bitsLen != 0 || !allZero(addr)) {
		return netip.Prefix{}, table.Reject(r, addrCol, errors.New("address length does not fit citapStreamAddrType"))
	}
	a, ok := netip.AddrFromSlice(addr)
	if bitsLen == 0 || !ok {
		return netip.Prefix{}, nil
	}
	return netip.PrefixFrom(a, bitsLen), nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func macFilterOf(r *table.Row) (intercept.MACFilter, error) {
	f := intercept.NewMACFilter(streamKey(r.Index))
	fields := r.Bytes(macFields)
	for bit := 0; bit < fieldCount; bit++ {
		if bit/8 < len(fields) && fields[bit/8]&(0x80>>(bit%8)) != 0 {
			f.Fields |= 1 << bit
		}
	}
	f.Interface = int32(r.Int(macInterface))
	if b := r.Bytes(macDstAddress); b != nil {
		f.Dst = net.HardwareAddr(append([]byte(nil), b...))
	}
	if b := r.Bytes(macSrcAddress); b != nil {
		f.Src = net.HardwareAddr(append([]byte(nil), b...))
	}
	if v, ok := r.Get(macEthernetPid); ok {
		if v.Uint > 0xffff {
			return f, &table.CheckError{Status: agentx.WrongValue, Table: r.Table, Index: r.Index,
				Column: macEthernetPid, Err: errors.New("ethernet protocol id above 0xffff")}
		}
		f.EtherType = uint16(v.Uint)
	}
	for _, sap := range []struct {
		col uint32
		dst *uint8
	}{{macDstLlcSap, &f.DstLLCSAP}, {macSrcLlcSap, &f.SrcLLCSAP}} {
		if v, ok := r.Get(sap.col); ok {
			if v.Uint > 0xff {
				return f, &table.CheckError{Status: agentx.WrongValue, Table: r.Table, Index: r.Index,
					Column: sap.col, Err: errors.New("LLC SAP above 0xff")}
			}
			*sap.dst = uint8(v.Uint)
		}
	}
	f.Active = active(r)
	return f, nil
}

// dateAndTime decodes an RFC 2579 DateAndTime (syntax already checked).
// Without the UTC offset octets the time is the agent's local time.
func dateAndTime(b []byte) time.Time {
	if len(b) < 8 {
		return time.Time{}
	}
	loc := time.Local
	if len(b) >= 11 {
		off := (int(b[9])*60 + int(b[10])) * 60
		if b[8] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	year := int(b[0])<<8 | int(b[1])
	return time.Date(year, time.Month(b[2]), int(b[3]), int(b[4]), int(b[5]), int(b[6]),
		int(b[7])*int(100*time.Millisecond), loc)
}
