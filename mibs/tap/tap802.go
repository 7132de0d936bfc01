package tap

import (
	"math"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// CISCO-802-TAP-MIB (ciscoMgmt 395).
var (
	tap802Root    = agentx.MustParseOID("1.3.6.1.4.1.9.9.395")
	tap802Objects = tap802Root.Append(1)
)

// Column numbers of c802tapStreamEntry.
const (
	macFields      = 1
	macInterface   = 2
	macDstAddress  = 3
	macSrcAddress  = 4
	macEthernetPid = 5
	macDstLlcSap   = 6
	macSrcLlcSap   = 7
	macStatus      = 8
)

// Bits of c802tapStreamFields (cmMacAddress is our documented addition).
const (
	fieldInterface = iota
	fieldDstMac
	fieldSrcMac
	fieldEthernetPid
	fieldDstLlcSap
	fieldSrcLlcSap
	fieldCMMac
	fieldCount
)

func newMACStreamTable() *table.Table {
	iface := table.Integer32(-1, math.MaxInt32)
	return &table.Table{
		Name:  "c802tapStreamTable",
		Entry: tap802Objects.Append(1, 2, 1),
		Index: []table.IndexPart{contentIDIndex, streamIndex},
		Columns: []table.Column{
			{ID: macFields, Name: "c802tapStreamFields", Syntax: table.Bits(fieldCount), Access: table.ReadCreate, Required: true},
			{ID: macInterface, Name: "c802tapStreamInterface", Syntax: iface, Access: table.ReadCreate},
			{ID: macDstAddress, Name: "c802tapStreamDestinationAddress", Syntax: table.MacAddress(), Access: table.ReadCreate},
			{ID: macSrcAddress, Name: "c802tapStreamSourceAddress", Syntax: table.MacAddress(), Access: table.ReadCreate},
			{ID: macEthernetPid, Name: "c802tapStreamEthernetPid", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadCreate},
			{ID: macDstLlcSap, Name: "c802tapStreamDestinationLlcSap", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadCreate},
			{ID: macSrcLlcSap, Name: "c802tapStreamSourceLlcSap", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadCreate},
			{ID: macStatus, Name: "c802tapStreamStatus", Access: table.ReadCreate},
		},
		Status:               macStatus,
		CreateAndGoActivates: true,
	}
}

func (b *Binding) tap802Scalars() []*table.Scalar {
	return []*table.Scalar{
		{Name: "c802tapStreamCapabilities", OID: tap802Objects.Append(1, 1), Syntax: table.Bits(7), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.OctetString(bits(b.caps.macStream...)) }},
	}
}
