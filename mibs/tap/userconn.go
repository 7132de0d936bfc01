package tap

import (
	"math"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// CISCO-USER-CONNECTION-TAP-MIB (ciscoMgmt 400). Its rows are stored and
// served, but no engine can intercept by accounting session yet, so the
// capabilities advertise nothing and cTap2StreamType userConnection(3) is
// refused by the engine.
var (
	userConnRoot    = agentx.MustParseOID("1.3.6.1.4.1.9.9.400")
	userConnObjects = userConnRoot.Append(1)
)

// Column numbers of cuctTapStreamEntry.
const (
	ucAcctSessID = 1
	ucStatus     = 2
)

func newUserConnTable() *table.Table {
	return &table.Table{
		Name:  "cuctTapStreamTable",
		Entry: userConnObjects.Append(1, 2, 1),
		Index: []table.IndexPart{contentIDIndex, streamIndex},
		Columns: []table.Column{
			{ID: ucAcctSessID, Name: "cuctTapStreamAcctSessID", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadCreate, Default: gaugeValue(0)},
			{ID: ucStatus, Name: "cuctTapStreamStatus", Access: table.ReadCreate},
		},
		Status:               ucStatus,
		CreateAndGoActivates: true,
	}
}

func (b *Binding) userConnScalars() []*table.Scalar {
	return []*table.Scalar{
		{Name: "cuctTapStreamCapabilities", OID: userConnObjects.Append(1, 1), Syntax: table.Bits(2), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.OctetString(bits(b.caps.userConn...)) }},
	}
}
