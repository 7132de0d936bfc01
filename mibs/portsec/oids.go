package portsec

import (
	"math"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// CISCO-PORT-SECURITY-MIB (ciscoMgmt 315).
var (
	moduleRoot  = agentx.MustParseOID("1.3.6.1.4.1.9.9.315")
	globalRoot  = moduleRoot.Append(1, 1)
	ifObjects   = moduleRoot.Append(1, 2)
	notifRoot   = moduleRoot.Append(0, 0)
	snmpTrapOID = agentx.MustParseOID("1.3.6.1.6.3.1.1.4.1.0")

	// ifIndex and ifName (IF-MIB) instances go into the notifications.
	oidIfIndex = agentx.MustParseOID("1.3.6.1.2.1.2.2.1.1")
	oidIfName  = agentx.MustParseOID("1.3.6.1.2.1.31.1.1.1.1")

	oidNotifViolation     = notifRoot.Append(1) // cpsSecureMacAddrViolation
	oidNotifVlanViolation = notifRoot.Append(3) // cpsIfVlanSecureMacAddrViolation
)

// Sub-identifiers of the global scalars under cpsGlobalObjects.
const (
	glMaxSecureAddress   = 1
	glTotalSecureAddress = 2
	glEnable             = 3
	glNotifRate          = 4
	glNotifControl       = 5
	glClear              = 6
)

// Columns of cpsIfConfigEntry.
const (
	ifEnable           = 1
	ifStatus           = 2
	ifMax              = 3
	ifCount            = 4
	ifAgingTime        = 5
	ifAgingType        = 6
	ifStaticAging      = 7
	ifViolationAction  = 8
	ifViolationCount   = 9
	ifLastMAC          = 10
	ifClearAll         = 11 // deprecated cpsIfClearSecureAddresses
	ifUnicastFlooding  = 12
	ifShutdownTimeout  = 13
	ifClear            = 14
	ifSticky           = 15
	ifRateLimitEnable  = 16
	ifRateLimitValue   = 17
	ifLastVLAN         = 18
	vlanMACType        = 3 // cpsIfVlanSecureMacAddrEntry
	vlanMACRemainAge   = 4
	vlanMACStatus      = 5
	macType            = 2 // cpsSecureMacAddressEntry
	macRemainingAge    = 3
	macStatus          = 4
	multiMax           = 2 // cpsIfMultiVlanEntry
	multiCount         = 3
	multiClear         = 4
	multiStatus        = 5
	truthTrue          = 1
	truthFalse         = 2
	clearDone          = 0 // ClearSecureMacAddrType
	clearDynamic       = 1
	clearStatic        = 2
	clearSticky        = 3
	clearAll           = 4
	maxRemainAgeMinute = 1440
)

// Table names the rule-error mapping keys on.
const (
	configTableName = "cpsIfConfigTable"
	multiTableName  = "cpsIfMultiVlanTable"
)

var (
	ifIndexPart = table.IndexPart{Name: "ifIndex", Syntax: table.InterfaceIndex()}
	// VlanIndex (Q-BRIDGE-MIB) is Unsigned32 (1..4094 | 4096..4294967295).
	vlanIndexSyntax = table.Syntax{Type: agentx.TypeGauge32, Ranges: []table.Range{{Min: 1, Max: 4094}, {Min: 4096, Max: math.MaxUint32}}}
	clearSyntax     = table.Enum(clearDone, clearDynamic, clearStatic, clearSticky, clearAll)
)

func intValue(v int64) *agentx.Value {
	x := agentx.Value{Type: agentx.TypeInteger, Int: v}
	return &x
}

func gaugeValue(v uint64) *agentx.Value {
	x := agentx.Value{Type: agentx.TypeGauge32, Uint: v}
	return &x
}

// newConfigTable declares cpsIfConfigTable. Rows are the bridge ports; no
// RowStatus, so managers only modify them. Writable columns are stored
// (kept equal to the engine's configuration by sync); state columns are
// computed from the engine at read time.
func (b *Binding) newConfigTable() *table.Table {
	return &table.Table{
		Name:  configTableName,
		Entry: ifObjects.Append(1, 1),
		Index: []table.IndexPart{ifIndexPart},
		Columns: []table.Column{
			{ID: ifEnable, Name: "cpsIfPortSecurityEnable", Syntax: table.TruthValue(), Access: table.ReadWrite},
			{ID: ifStatus, Name: "cpsIfPortSecurityStatus", Syntax: table.Enum(1, 2, 3), Access: table.ReadOnly, Get: b.portInt(func(p portView) int64 { return int64(p.state.Status) })},
			{ID: ifMax, Name: "cpsIfMaxSecureMacAddr", Syntax: table.Integer32(1, math.MaxInt32), Access: table.ReadWrite},
			{ID: ifCount, Name: "cpsIfCurrentSecureMacAddrCount", Syntax: table.Integer32(0, math.MaxInt32), Access: table.ReadOnly, Get: b.portInt(func(p portView) int64 { return int64(len(p.state.Entries)) })},
			{ID: ifAgingTime, Name: "cpsIfSecureMacAddrAgingTime", Syntax: table.Integer32(0, 1440), Access: table.ReadWrite},
			{ID: ifAgingType, Name: "cpsIfSecureMacAddrAgingType", Syntax: table.Enum(1, 2), Access: table.ReadWrite},
			{ID: ifStaticAging, Name: "cpsIfStaticMacAddrAgingEnable", Syntax: table.TruthValue(), Access: table.ReadWrite},
			{ID: ifViolationAction, Name: "cpsIfViolationAction", Syntax: table.Enum(1, 2, 3), Access: table.ReadWrite},
			{ID: ifViolationCount, Name: "cpsIfViolationCount", Syntax: table.Counter32(), Access: table.ReadOnly, Get: b.violationCount},
			{ID: ifLastMAC, Name: "cpsIfSecureLastMacAddress", Syntax: table.MacAddress(), Access: table.ReadOnly, Get: b.lastMAC},
			{ID: ifClearAll, Name: "cpsIfClearSecureAddresses", Syntax: table.TruthValue(), Access: table.ReadWrite},
			{ID: ifUnicastFlooding, Name: "cpsIfUnicastFloodingEnable", Syntax: table.TruthValue(), Access: table.ReadWrite},
			{ID: ifShutdownTimeout, Name: "cpsIfShutdownTimeout", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadWrite},
			{ID: ifClear, Name: "cpsIfClearSecureMacAddresses", Syntax: clearSyntax, Access: table.ReadWrite},
			{ID: ifSticky, Name: "cpsIfStickyEnable", Syntax: table.TruthValue(), Access: table.ReadWrite},
			{ID: ifRateLimitEnable, Name: "cpsIfInvalidSrcRateLimitEnable", Syntax: table.TruthValue(), Access: table.ReadWrite},
			{ID: ifRateLimitValue, Name: "cpsIfInvalidSrcRateLimitValue", Syntax: table.Integer32(-1, 1000), Access: table.ReadWrite},
			{ID: ifLastVLAN, Name: "cpsIfSecureLastMacAddrVlanId", Syntax: vlanIndexSyntax, Access: table.ReadOnly, Get: b.lastVLAN},
		},
	}
}

var macIndexPart = func(name string) table.IndexPart {
	return table.IndexPart{Name: name, Syntax: table.MacAddress()}
}

// newVlanMACTable declares cpsIfVlanSecureMacAddrTable: ifIndex, the MAC
// as six sub-identifiers, the VLAN.
func (b *Binding) newVlanMACTable() *table.Table {
	return &table.Table{
		Name:  "cpsIfVlanSecureMacAddrTable",
		Entry: ifObjects.Append(3, 1),
		Index: []table.IndexPart{ifIndexPart, macIndexPart("cpsIfVlanSecureMacAddress"),
			{Name: "cpsIfVlanSecureVlanIndex", Syntax: vlanIndexSyntax}},
		Columns: []table.Column{
			{ID: 1, Name: "cpsIfVlanSecureMacAddress", Syntax: table.MacAddress(), Access: table.NotAccessible},
			{ID: 2, Name: "cpsIfVlanSecureVlanIndex", Syntax: vlanIndexSyntax, Access: table.NotAccessible},
			{ID: vlanMACType, Name: "cpsIfVlanSecureMacAddrType", Syntax: table.Enum(1, 2, 3), Access: table.ReadOnly,
				Get: b.entryValue(func(e entryView) agentx.Value { return agentx.Integer(int32(e.Type)) })},
			{ID: vlanMACRemainAge, Name: "cpsIfVlanSecureMacAddrRemainAge", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadOnly,
				Get: b.entryValue(func(e entryView) agentx.Value { return agentx.Gauge32(uint32(e.remainMinutes)) })},
			{ID: vlanMACStatus, Name: "cpsIfVlanSecureMacAddrRowStatus", Access: table.ReadCreate},
		},
		Status: vlanMACStatus,
	}
}

// newMACTable declares the deprecated cpsSecureMacAddressTable: the same
// addresses without their VLAN.
func (b *Binding) newMACTable() *table.Table {
	return &table.Table{
		Name:  "cpsSecureMacAddressTable",
		Entry: ifObjects.Append(2, 1),
		Index: []table.IndexPart{ifIndexPart, macIndexPart("cpsSecureMacAddress")},
		Columns: []table.Column{
			{ID: 1, Name: "cpsSecureMacAddress", Syntax: table.MacAddress(), Access: table.NotAccessible},
			// Sticky addresses read dynamic(2) here: the old table knows no sticky.
			{ID: macType, Name: "cpsSecureMacAddrType", Syntax: table.Enum(1, 2), Access: table.ReadOnly,
				Get: b.entryValue(func(e entryView) agentx.Value {
					if e.Type == 1 {
						return agentx.Integer(1)
					}
					return agentx.Integer(2)
				})},
			{ID: macRemainingAge, Name: "cpsSecureMacAddrRemainingAge", Syntax: table.Integer32(0, maxRemainAgeMinute), Access: table.ReadOnly,
				Get: b.entryValue(func(e entryView) agentx.Value {
					return agentx.Integer(int32(min(e.remainMinutes, maxRemainAgeMinute)))
				})},
			{ID: macStatus, Name: "cpsSecureMacAddrRowStatus", Access: table.ReadCreate},
		},
		Status: macStatus,
	}
}

// newMultiVlanTable declares cpsIfMultiVlanTable: per port, the VLANs with
// a limit of their own and the VLANs holding secure addresses. The
// maximum and clear columns are stored (sync keeps the maximum equal to
// the engine's limit, 0 without one, and the clear column at done).
func (b *Binding) newMultiVlanTable() *table.Table {
	return &table.Table{
		Name:  multiTableName,
		Entry: ifObjects.Append(5, 1),
		Index: []table.IndexPart{ifIndexPart, {Name: "cpsIfMultiVlanIndex", Syntax: vlanIndexSyntax}},
		Columns: []table.Column{
			{ID: 1, Name: "cpsIfMultiVlanIndex", Syntax: vlanIndexSyntax, Access: table.NotAccessible},
			{ID: multiMax, Name: "cpsIfMultiVlanMaxSecureMacAddr", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadCreate,
				Default: gaugeValue(1), MutableWhenActive: true},
			{ID: multiCount, Name: "cpsIfMultiVlanSecureMacAddrCount", Syntax: table.Unsigned32(0, math.MaxUint32), Access: table.ReadOnly, Get: b.vlanCount},
			{ID: multiClear, Name: "cpsIfMultiVlanClearSecureMacAddr", Syntax: clearSyntax, Access: table.ReadCreate,
				Default: intValue(clearDone), MutableWhenActive: true},
			{ID: multiStatus, Name: "cpsIfMultiVlanRowStatus", Access: table.ReadCreate},
		},
		Status: multiStatus,
	}
}

func (b *Binding) scalars() []*table.Scalar {
	ro := func(id uint32, name string, syn table.Syntax, get func() agentx.Value) *table.Scalar {
		return &table.Scalar{Name: name, OID: globalRoot.Append(id), Syntax: syn, Access: table.ReadOnly, Get: get}
	}
	// Writable scalars reach the engine through the Apply hook (one change
	// set with the rest of the PDU); their Set has nothing left to do.
	rw := func(id uint32, name string, syn table.Syntax, get func() agentx.Value) *table.Scalar {
		return &table.Scalar{Name: name, OID: globalRoot.Append(id), Syntax: syn, Access: table.ReadWrite, Get: get,
			Set: func(agentx.Value) error { return nil }}
	}
	b.scEnable = rw(glEnable, "cpsGlobalPortSecurityEnable", table.TruthValue(), b.globalInt(func(g globalView) int64 { return truth(g.Enabled) }))
	b.scRate = rw(glNotifRate, "cpsGlobalSNMPNotifRate", table.Integer32(0, 1000), b.globalInt(func(g globalView) int64 { return int64(g.NotifRate) }))
	b.scControl = rw(glNotifControl, "cpsGlobalSNMPNotifControl", table.TruthValue(), b.globalInt(func(g globalView) int64 { return truth(g.NotifControl) }))
	b.scClear = rw(glClear, "cpsGlobalClearSecureMacAddresses", clearSyntax, func() agentx.Value { return agentx.Integer(clearDone) })
	return []*table.Scalar{
		ro(glMaxSecureAddress, "cpsGlobalMaxSecureAddress", table.Integer32(1, math.MaxInt32), b.maxSecureAddress),
		ro(glTotalSecureAddress, "cpsGlobalTotalSecureAddress", table.Integer32(0, math.MaxInt32), b.totalSecureAddress),
		b.scEnable, b.scRate, b.scControl, b.scClear,
	}
}

func truth(b bool) int64 {
	if b {
		return truthTrue
	}
	return truthFalse
}
