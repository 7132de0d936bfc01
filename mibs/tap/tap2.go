package tap

import (
	"math"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// CISCO-TAP2-MIB (ciscoMgmt 399).
var (
	tap2Root    = agentx.MustParseOID("1.3.6.1.4.1.9.9.399")
	tap2Notifs  = tap2Root.Append(0)
	tap2Objects = tap2Root.Append(1)

	oidNotifMIBActive         = tap2Notifs.Append(1)
	oidNotifMediationTimedOut = tap2Notifs.Append(2)
	oidNotifMediationDebug    = tap2Notifs.Append(3)
	oidNotifStreamDebug       = tap2Notifs.Append(4)
	oidNotifSwitchover        = tap2Notifs.Append(5)
)

// Column numbers of cTap2MediationEntry.
const (
	mdContentID          = 1
	mdDestAddressType    = 2
	mdDestAddress        = 3
	mdDestPort           = 4
	mdSrcInterface       = 5
	mdRtcpPort           = 6
	mdDscp               = 7
	mdDataType           = 8
	mdRetransmitType     = 9
	mdTimeout            = 10
	mdTransport          = 11
	mdNotificationEnable = 12
	mdStatus             = 13
)

// Column numbers of cTap2StreamEntry.
const (
	stIndex                = 1
	stType                 = 2
	stInterceptEnable      = 3
	stInterceptedPackets   = 4
	stInterceptDrops       = 5
	stStatus               = 6
	stInterceptedHCPackets = 7
	stInterceptHCDrops     = 8
)

// Column numbers of cTap2DebugEntry and cTap2DebugUserEntry.
const (
	dbgIndex       = 1
	dbgMediationID = 2
	dbgStreamID    = 3
	dbgMessage     = 4
	dbgStatus      = 5

	dbgUserName        = 1
	dbgUserTimeout     = 2
	dbgUserStorageType = 3
	dbgUserStatus      = 4
)

// Bits of cTap2MediationCapabilities.
const (
	capIPv4SrcInterface = 0
	capIPv6SrcInterface = 1
	capUDP              = 2
)

const (
	truthTrue  = 1
	truthFalse = 2
)

func intValue(v int64) *agentx.Value {
	x := agentx.Value{Type: agentx.TypeInteger, Int: v}
	return &x
}

func gaugeValue(v uint64) *agentx.Value {
	x := agentx.Value{Type: agentx.TypeGauge32, Uint: v}
	return &x
}

func octetsValue(b []byte) *agentx.Value {
	x := agentx.OctetString(b)
	return &x
}

// contentIDIndex is cTap2MediationContentId as an index part; the stream,
// IP-TAP, 802-TAP and USER-CONNECTION-TAP tables all start with it.
var contentIDIndex = table.IndexPart{Name: "cTap2MediationContentId", Syntax: table.Integer32(1, math.MaxInt32)}

var streamIndex = table.IndexPart{Name: "cTap2StreamIndex", Syntax: table.Integer32(1, math.MaxInt32)}

func newMediationTable() *table.Table {
	return &table.Table{
		Name:  "cTap2MediationTable",
		Entry: tap2Objects.Append(1, 2, 1),
		Index: []table.IndexPart{contentIDIndex},
		Columns: []table.Column{
			{ID: mdContentID, Name: "cTap2MediationContentId", Syntax: table.Integer32(1, math.MaxInt32), Access: table.NotAccessible},
			{ID: mdDestAddressType, Name: "cTap2MediationDestAddressType", Syntax: table.InetAddressType(), Access: table.ReadCreate, Required: true},
			{ID: mdDestAddress, Name: "cTap2MediationDestAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Required: true},
			{ID: mdDestPort, Name: "cTap2MediationDestPort", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Required: true},
			{ID: mdSrcInterface, Name: "cTap2MediationSrcInterface", Syntax: table.InterfaceIndexOrZero(), Access: table.ReadCreate, Required: true},
			// We open no RTCP channel; the object reads 0 ("none").
			{ID: mdRtcpPort, Name: "cTap2MediationRtcpPort", Syntax: table.InetPortNumber(), Access: table.ReadOnly,
				Get: func(*table.Row) agentx.Value { return agentx.Gauge32(0) }},
			{ID: mdDscp, Name: "cTap2MediationDscp", Syntax: table.Integer32(0, 63), Access: table.ReadCreate, Default: intValue(34)},
			{ID: mdDataType, Name: "cTap2MediationDataType", Syntax: table.Integer32(0, 127), Access: table.ReadCreate, Default: intValue(0)},
			{ID: mdRetransmitType, Name: "cTap2MediationRetransmitType", Syntax: table.Integer32(0, 127), Access: table.ReadCreate, Default: intValue(0)},
			{ID: mdTimeout, Name: "cTap2MediationTimeout", Syntax: table.DateAndTime(), Access: table.ReadCreate, Required: true, MutableWhenActive: true},
			{ID: mdTransport, Name: "cTap2MediationTransport", Syntax: table.Enum(1, 2, 3, 4, 5), Access: table.ReadCreate, Required: true},
			{ID: mdNotificationEnable, Name: "cTap2MediationNotificationEnable", Syntax: table.TruthValue(), Access: table.ReadCreate, Default: intValue(truthTrue)},
			{ID: mdStatus, Name: "cTap2MediationStatus", Access: table.ReadCreate},
		},
		Status:               mdStatus,
		CreateAndGoActivates: true,
	}
}

func (b *Binding) newStreamTable() *table.Table {
	counter := func(hc, drops bool) func(r *table.Row) agentx.Value {
		return func(r *table.Row) agentx.Value {
			pkts, drp := b.engine.Counters(streamKey(r.Index))
			n := pkts
			if drops {
				n = drp
			}
			if hc {
				return agentx.Counter64(n)
			}
			return agentx.Counter32(uint32(n))
		}
	}
	return &table.Table{
		Name:  "cTap2StreamTable",
		Entry: tap2Objects.Append(2, 1, 1),
		Index: []table.IndexPart{contentIDIndex, streamIndex},
		Columns: []table.Column{
			{ID: stIndex, Name: "cTap2StreamIndex", Syntax: table.Integer32(1, math.MaxInt32), Access: table.NotAccessible},
			{ID: stType, Name: "cTap2StreamType", Syntax: table.Enum(1, 2, 3, 4, 5), Access: table.ReadCreate, Required: true},
			{ID: stInterceptEnable, Name: "cTap2StreamInterceptEnable", Syntax: table.TruthValue(), Access: table.ReadCreate, Default: intValue(truthFalse), MutableWhenActive: true},
			{ID: stInterceptedPackets, Name: "cTap2StreamInterceptedPackets", Syntax: table.Counter32(), Access: table.ReadOnly, Get: counter(false, false)},
			{ID: stInterceptDrops, Name: "cTap2StreamInterceptDrops", Syntax: table.Counter32(), Access: table.ReadOnly, Get: counter(false, true)},
			{ID: stStatus, Name: "cTap2StreamStatus", Access: table.ReadCreate},
			{ID: stInterceptedHCPackets, Name: "cTap2StreamInterceptedHCPackets", Syntax: table.Counter64(), Access: table.ReadOnly, Get: counter(true, false)},
			{ID: stInterceptHCDrops, Name: "cTap2StreamInterceptHCDrops", Syntax: table.Counter64(), Access: table.ReadOnly, Get: counter(true, true)},
		},
		Status:               stStatus,
		CreateAndGoActivates: true,
	}
}

// The debug table is written by the agent; managers may only destroy rows.
func newDebugTable() *table.Table {
	return &table.Table{
		Name:  "cTap2DebugTable",
		Entry: tap2Objects.Append(3, 3, 1),
		Index: []table.IndexPart{{Name: "cTap2DebugIndex", Syntax: table.Integer32(1, math.MaxInt32)}},
		Columns: []table.Column{
			{ID: dbgIndex, Name: "cTap2DebugIndex", Syntax: table.Integer32(1, math.MaxInt32), Access: table.NotAccessible},
			{ID: dbgMediationID, Name: "cTap2DebugMediationId", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadOnly},
			{ID: dbgStreamID, Name: "cTap2DebugStreamId", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadOnly},
			{ID: dbgMessage, Name: "cTap2DebugMessage", Syntax: table.SnmpAdminString(0, 255), Access: table.ReadOnly},
			{ID: dbgStatus, Name: "cTap2DebugStatus", Access: table.ReadWrite},
		},
		Status: dbgStatus,
	}
}

func newDebugUserTable() *table.Table {
	return &table.Table{
		Name:  "cTap2DebugUserTable",
		Entry: tap2Objects.Append(3, 4, 1),
		Index: []table.IndexPart{contentIDIndex, {Name: "cTap2DebugUserName", Syntax: table.SnmpAdminString(1, 255)}},
		Columns: []table.Column{
			{ID: dbgUserName, Name: "cTap2DebugUserName", Syntax: table.SnmpAdminString(1, 255), Access: table.NotAccessible},
			{ID: dbgUserTimeout, Name: "cTap2DebugUserTimeout", Syntax: table.DateAndTime(), Access: table.ReadCreate, Required: true, MutableWhenActive: true},
			{ID: dbgUserStorageType, Name: "cTap2DebugUserStorageType", Syntax: table.Enum(2), Access: table.ReadCreate, Default: intValue(2)},
			{ID: dbgUserStatus, Name: "cTap2DebugUserStatus", Access: table.ReadCreate},
		},
		Status: dbgUserStatus,
	}
}

func (b *Binding) tap2Scalars() []*table.Scalar {
	return []*table.Scalar{
		{Name: "cTap2MediationNewIndex", OID: tap2Objects.Append(1, 1), Syntax: table.Integer32(1, math.MaxInt32), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.Integer(int32(b.engine.NewContentID())) }},
		{Name: "cTap2MediationCapabilities", OID: tap2Objects.Append(1, 3), Syntax: table.Bits(7), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.OctetString(bits(b.caps.mediation...)) }},
		{Name: "cTap2DebugAge", OID: tap2Objects.Append(3, 1), Syntax: table.Integer32(1, math.MaxInt32), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.Integer(int32(b.debugAge.Minutes())) }},
		{Name: "cTap2DebugMaxEntries", OID: tap2Objects.Append(3, 2), Syntax: table.Integer32(1, math.MaxInt32), Access: table.ReadOnly,
			Get: func() agentx.Value { return agentx.Integer(int32(b.debugMax)) }},
	}
}

// bits encodes a BITS value: bit n is octet n/8, mask 0x80>>(n%8). An empty
// set is one zero octet, as net-snmp agents send it.
func bits(set ...int) []byte {
	n := 1
	for _, b := range set {
		n = max(n, b/8+1)
	}
	out := make([]byte, n)
	for _, b := range set {
		out[b/8] |= 0x80 >> (b % 8)
	}
	return out
}
