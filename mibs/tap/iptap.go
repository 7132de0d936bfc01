package tap

import (
	"math"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// CISCO-IP-TAP-MIB (ciscoMgmt 394).
var (
	ipTapRoot    = agentx.MustParseOID("1.3.6.1.4.1.9.9.394")
	ipTapObjects = ipTapRoot.Append(1)
)

// Column numbers of citapStreamEntry.
const (
	ipInterface       = 1
	ipAddrType        = 2
	ipDstAddress      = 3
	ipDstLength       = 4
	ipSrcAddress      = 5
	ipSrcLength       = 6
	ipTosByte         = 7
	ipTosByteMask     = 8
	ipFlowID          = 9
	ipProtocol        = 10
	ipDstL4PortMin    = 11
	ipDstL4PortMax    = 12
	ipSrcL4PortMin    = 13
	ipSrcL4PortMax    = 14
	ipVRF             = 15
	ipStatus          = 16
	ipCapTapEnable    = 0
	ipCapInterface    = 1
	ipCapIPv4         = 2
	ipCapIPv6         = 3
	ipCapL4Port       = 4
	ipCapDSCP         = 5
	ipCapVoIP         = 6
	inetAddrTypeIPv4  = 1
	inetAddrTypeIPv6  = 2
	prefixLengthLimit = 2040 // InetAddressPrefixLength
)

func newIPStreamTable() *table.Table {
	rangeSyntax := func(lo, hi int64, more ...table.Range) table.Syntax {
		s := table.Integer32(lo, hi)
		s.Ranges = append(s.Ranges, more...)
		return s
	}
	return &table.Table{
		Name:  "citapStreamTable",
		Entry: ipTapObjects.Append(1, 2, 1),
		Index: []table.IndexPart{contentIDIndex, streamIndex},
		Columns: []table.Column{
			{ID: ipInterface, Name: "citapStreamInterface", Syntax: table.Integer32(-2, math.MaxInt32), Access: table.ReadCreate, Required: true},
			{ID: ipAddrType, Name: "citapStreamAddrType", Syntax: table.InetAddressType(), Access: table.ReadCreate, Default: intValue(inetAddrTypeIPv4)},
			{ID: ipDstAddress, Name: "citapStreamDestinationAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Default: octetsValue([]byte{0, 0, 0, 0})},
			{ID: ipDstLength, Name: "citapStreamDestinationLength", Syntax: table.Unsigned32(0, prefixLengthLimit), Access: table.ReadCreate, Default: gaugeValue(0)},
			{ID: ipSrcAddress, Name: "citapStreamSourceAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Default: octetsValue([]byte{0, 0, 0, 0})},
			{ID: ipSrcLength, Name: "citapStreamSourceLength", Syntax: table.Unsigned32(0, prefixLengthLimit), Access: table.ReadCreate, Default: gaugeValue(0)},
			{ID: ipTosByte, Name: "citapStreamTosByte", Syntax: table.Integer32(0, 255), Access: table.ReadCreate, Default: intValue(0)},
			{ID: ipTosByteMask, Name: "citapStreamTosByteMask", Syntax: table.Integer32(0, 255), Access: table.ReadCreate, Default: intValue(0)},
			{ID: ipFlowID, Name: "citapStreamFlowId", Syntax: rangeSyntax(-1, -1, table.Range{Min: 0, Max: 1048575}), Access: table.ReadCreate, Default: intValue(-1)},
			{ID: ipProtocol, Name: "citapStreamProtocol", Syntax: rangeSyntax(-1, -1, table.Range{Min: 0, Max: 255}), Access: table.ReadCreate, Default: intValue(-1)},
			{ID: ipDstL4PortMin, Name: "citapStreamDestL4PortMin", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: gaugeValue(0)},
			{ID: ipDstL4PortMax, Name: "citapStreamDestL4PortMax", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: gaugeValue(65535)},
			{ID: ipSrcL4PortMin, Name: "citapStreamSourceL4PortMin", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: gaugeValue(0)},
			{ID: ipSrcL4PortMax, Name: "citapStreamSourceL4PortMax", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: gaugeValue(65535)},
			{ID: ipVRF, Name: "citapStreamVRF", Syntax: table.SnmpAdminString(0, 255), Access: table.ReadCreate, Default: octetsValue([]byte{})},
			{ID: ipStatus, Name: "citapStreamStatus", Access: table.ReadCreate},
		},
		Status:               ipStatus,
		CreateAndGoActivates: true,
	}
}

func (b *Binding) ipTapScalars() []*table.Scalar {
	return []*table.Scalar{
		{Name: "citapStreamCapabilities", OID: ipTapObjects.Append(1, 1), Syntax: table.Bits(7), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.OctetString(bits(b.caps.ipStream...)) }},
	}
}
