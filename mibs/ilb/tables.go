package ilb

import (
	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// OIDs of the module (TAPAGENT-ILB-MIB, below net-snmp's playpen).
var (
	ilbRoot    = agentx.MustParseOID("1.3.6.1.4.1.8072.9999.9999.1")
	ilbObjects = ilbRoot.Append(1)

	oidNotifServerHealthChange = ilbRoot.Append(0, 1)
	oidNotifRuleStateChange    = ilbRoot.Append(0, 2)
)

// Scalars (ilbScalars).
var (
	oidServerHealthNotifEnabled = ilbObjects.Append(1, 1)
	oidRuleStateNotifEnabled    = ilbObjects.Append(1, 2)
)

// ilbServerGroupEntry columns.
const (
	sgName        = 1
	sgServerCount = 2
	sgNextID      = 3
	sgStorage     = 4
	sgStatus      = 5
)

// ilbServerEntry columns.
const (
	srvID       = 1
	srvAddrType = 2
	srvAddr     = 3
	srvPortMin  = 4
	srvPortMax  = 5
	srvEnabled  = 6
	srvStorage  = 7
	srvStatus   = 8
)

// ilbHcEntry columns.
const (
	hcName        = 1
	hcTest        = 2
	hcExternal    = 3
	hcTimeout     = 4
	hcCount       = 5
	hcInterval    = 6
	hcDefaultPing = 7
	hcStorage     = 8
	hcStatus      = 9
)

// ilbRuleEntry columns.
const (
	ruleName           = 1
	ruleVipType        = 2
	ruleVip            = 3
	ruleProtocol       = 4
	rulePortMin        = 5
	rulePortMax        = 6
	ruleEnabled        = 7
	ruleAlgorithm      = 8
	ruleTopology       = 9
	ruleProxyFirst     = 10
	ruleProxyLast      = 11
	rulePersist        = 12
	rulePersistMask    = 13
	ruleHcName         = 14
	ruleHcPortMode     = 15
	ruleHcPort         = 16
	ruleConnDrain      = 17
	ruleNatTimeout     = 18
	rulePersistTimeout = 19
	ruleServerGroup    = 20
	ruleStorage        = 21
	ruleStatus         = 22
)

// ilbHcResultEntry columns.
const (
	hcrHcName    = 1
	hcrAddrType  = 2
	hcrAddr      = 3
	hcrState     = 4
	hcrFailCount = 5
	hcrLastCheck = 6
	hcrNextCheck = 7
	hcrRtt       = 8
)

// ilbRuleStatsEntry columns (ilbadm show-statistics field in comments).
const (
	rsServers         = 1
	rsPktsProcessed   = 2  // PKT_P
	rsBytesProcessed  = 3  // BYTES_P
	rsPktsUnassigned  = 4  // PKT_U
	rsBytesUnassigned = 5  // BYTES_U
	rsPktsDropped     = 6  // PKT_D
	rsBytesDropped    = 7  // BYTES_D
	rsIcmpEcho        = 8  // ICMP_P
	rsIcmpDropped     = 9  // ICMP_D
	rsIcmpTooBig      = 10 // ICMP2BIG_P
	rsIcmpTooBigDrop  = 11 // ICMP2BIG_D
	rsNoMemPkts       = 12 // NOMEMP_D
	rsNoMemBytes      = 13 // NOMEMB_D
	rsNoPortPkts      = 14 // NOPORTP_D
	rsNoPortBytes     = 15 // NOPORTB_D
	rsCurConns        = 16
	rsTotalConns      = 17
	rsDiscontinuity   = 18
)

// ilbServerStatsEntry columns.
const (
	ssPkts          = 1
	ssBytes         = 2
	ssCurConns      = 3
	ssTotalConns    = 4
	ssDiscontinuity = 5
)

// ilbNatEntry and ilbPersistEntry columns (read-only ones).
const (
	natProtocol   = 5
	natVip        = 6
	natProxyAddr  = 7
	natProxyPort  = 8
	natServerAddr = 9
	natServerPort = 10
	natServerID   = 11
	natAge        = 12
	natRemaining  = 13

	perPrefixLen  = 3
	perServerAddr = 4
	perServerID   = 5
	perRemaining  = 6
)

// Enumerations of the module.
const (
	truthTrue  = 1
	truthFalse = 2

	storageNonVolatile = 3

	hcTestPing     = 1
	hcTestTCP      = 2
	hcTestUDP      = 3
	hcTestExternal = 4

	algRoundRobin = 1
	algHashIP     = 2
	algHashIPPort = 3
	algHashIPVIP  = 4
	algMaglev     = 5

	topoDSR     = 1
	topoNAT     = 2
	topoHalfNAT = 3

	hcPortAny   = 1
	hcPortAll   = 2
	hcPortFixed = 3
)

func val(v agentx.Value) *agentx.Value { return &v }

var (
	defTrue       = val(agentx.Integer(truthTrue))
	defFalse      = val(agentx.Integer(truthFalse))
	defZero       = val(agentx.Gauge32(0))
	defEmpty      = val(agentx.OctetString([]byte{}))
	defNonVolatle = val(agentx.Integer(storageNonVolatile))
)

// Name syntaxes: rule and health check names 1..19, group names 1..14,
// server IDs 4..19 ("_g.0" is the shortest).
func ruleNameSyntax() table.Syntax  { return table.SnmpAdminString(1, 19) }
func groupNameSyntax() table.Syntax { return table.SnmpAdminString(1, 14) }
func serverIDSyntax() table.Syntax  { return table.SnmpAdminString(4, 19) }

func prefixLength() table.Syntax { return table.Unsigned32(0, 2040) } // InetAddressPrefixLength

func entry(n uint32) agentx.OID { return ilbObjects.Append(n, 1) }

func (b *Binding) newGroupTable() *table.Table {
	return &table.Table{
		Name:  "ilbServerGroupTable",
		Entry: entry(2),
		Index: []table.IndexPart{{Name: "ilbServerGroupName", Syntax: groupNameSyntax(), Implied: true}},
		Columns: []table.Column{
			{ID: sgName, Name: "ilbServerGroupName", Syntax: groupNameSyntax(), Access: table.NotAccessible},
			{ID: sgServerCount, Name: "ilbServerGroupServerCount", Syntax: table.Gauge32(0, 1000), Access: table.ReadOnly, Get: b.groupCol(sgServerCount)},
			{ID: sgNextID, Name: "ilbServerGroupNextServerId", Syntax: table.SnmpAdminString(0, 19), Access: table.ReadOnly, Get: b.groupCol(sgNextID)},
			{ID: sgStorage, Name: "ilbServerGroupStorageType", Syntax: table.StorageType(), Access: table.ReadOnly, Default: defNonVolatle},
			{ID: sgStatus, Name: "ilbServerGroupRowStatus", Access: table.ReadCreate},
		},
		Status: sgStatus,
	}
}

func newServerTable() *table.Table {
	return &table.Table{
		Name:  "ilbServerTable",
		Entry: entry(3),
		Index: []table.IndexPart{
			{Name: "ilbServerGroupName", Syntax: groupNameSyntax()},
			{Name: "ilbServerId", Syntax: serverIDSyntax(), Implied: true},
		},
		Columns: []table.Column{
			{ID: srvID, Name: "ilbServerId", Syntax: serverIDSyntax(), Access: table.NotAccessible},
			{ID: srvAddrType, Name: "ilbServerAddressType", Syntax: table.InetAddressType(), Access: table.ReadCreate, Required: true},
			{ID: srvAddr, Name: "ilbServerAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Required: true},
			{ID: srvPortMin, Name: "ilbServerPortMin", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: defZero},
			{ID: srvPortMax, Name: "ilbServerPortMax", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: defZero},
			{ID: srvEnabled, Name: "ilbServerEnabled", Syntax: table.TruthValue(), Access: table.ReadCreate, Default: defTrue, MutableWhenActive: true},
			{ID: srvStorage, Name: "ilbServerStorageType", Syntax: table.StorageType(), Access: table.ReadOnly, Default: defNonVolatle},
			{ID: srvStatus, Name: "ilbServerRowStatus", Access: table.ReadCreate},
		},
		Status: srvStatus,
	}
}

func newHcTable() *table.Table {
	return &table.Table{
		Name:  "ilbHcTable",
		Entry: entry(4),
		Index: []table.IndexPart{{Name: "ilbHcName", Syntax: ruleNameSyntax(), Implied: true}},
		Columns: []table.Column{
			{ID: hcName, Name: "ilbHcName", Syntax: ruleNameSyntax(), Access: table.NotAccessible},
			{ID: hcTest, Name: "ilbHcTest", Syntax: table.Enum(hcTestPing, hcTestTCP, hcTestUDP, hcTestExternal), Access: table.ReadCreate, Required: true},
			{ID: hcExternal, Name: "ilbHcExternalMethod", Syntax: table.SnmpAdminString(0, 255), Access: table.ReadCreate, Default: defEmpty},
			{ID: hcTimeout, Name: "ilbHcTimeout", Syntax: table.Unsigned32(1, 65535), Access: table.ReadCreate, Default: val(agentx.Gauge32(5))},
			{ID: hcCount, Name: "ilbHcCount", Syntax: table.Unsigned32(1, 65535), Access: table.ReadCreate, Default: val(agentx.Gauge32(3))},
			{ID: hcInterval, Name: "ilbHcInterval", Syntax: table.Unsigned32(1, 65535), Access: table.ReadCreate, Default: val(agentx.Gauge32(30))},
			{ID: hcDefaultPing, Name: "ilbHcDefaultPing", Syntax: table.TruthValue(), Access: table.ReadCreate, Default: defTrue},
			{ID: hcStorage, Name: "ilbHcStorageType", Syntax: table.StorageType(), Access: table.ReadOnly, Default: defNonVolatle},
			{ID: hcStatus, Name: "ilbHcRowStatus", Access: table.ReadCreate},
		},
		Status: hcStatus,
	}
}

func newRuleTable() *table.Table {
	return &table.Table{
		Name:  "ilbRuleTable",
		Entry: entry(5),
		Index: []table.IndexPart{{Name: "ilbRuleName", Syntax: ruleNameSyntax(), Implied: true}},
		Columns: []table.Column{
			{ID: ruleName, Name: "ilbRuleName", Syntax: ruleNameSyntax(), Access: table.NotAccessible},
			{ID: ruleVipType, Name: "ilbRuleVipAddressType", Syntax: table.InetAddressType(), Access: table.ReadCreate, Required: true},
			{ID: ruleVip, Name: "ilbRuleVipAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Required: true},
			{ID: ruleProtocol, Name: "ilbRuleProtocol", Syntax: table.Enum(6, 17), Access: table.ReadCreate, Default: val(agentx.Integer(6))},
			{ID: rulePortMin, Name: "ilbRulePortMin", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: defZero},
			{ID: rulePortMax, Name: "ilbRulePortMax", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: defZero},
			{ID: ruleEnabled, Name: "ilbRuleEnabled", Syntax: table.TruthValue(), Access: table.ReadCreate, Default: defFalse, MutableWhenActive: true},
			{ID: ruleAlgorithm, Name: "ilbRuleAlgorithm", Syntax: table.Enum(algRoundRobin, algHashIP, algHashIPPort, algHashIPVIP, algMaglev), Access: table.ReadCreate, Default: val(agentx.Integer(algRoundRobin))},
			{ID: ruleTopology, Name: "ilbRuleTopology", Syntax: table.Enum(topoDSR, topoNAT, topoHalfNAT), Access: table.ReadCreate, Required: true},
			{ID: ruleProxyFirst, Name: "ilbRuleProxySrcFirst", Syntax: table.InetAddress(), Access: table.ReadCreate, Default: defEmpty},
			{ID: ruleProxyLast, Name: "ilbRuleProxySrcLast", Syntax: table.InetAddress(), Access: table.ReadCreate, Default: defEmpty},
			{ID: rulePersist, Name: "ilbRulePersistence", Syntax: table.TruthValue(), Access: table.ReadCreate, Default: defFalse},
			{ID: rulePersistMask, Name: "ilbRulePersistMask", Syntax: prefixLength(), Access: table.ReadCreate, Default: defZero},
			{ID: ruleHcName, Name: "ilbRuleHcName", Syntax: table.SnmpAdminString(0, 19), Access: table.ReadCreate, Default: defEmpty},
			{ID: ruleHcPortMode, Name: "ilbRuleHcPortMode", Syntax: table.Enum(hcPortAny, hcPortAll, hcPortFixed), Access: table.ReadCreate, Default: val(agentx.Integer(hcPortAny))},
			{ID: ruleHcPort, Name: "ilbRuleHcPort", Syntax: table.InetPortNumber(), Access: table.ReadCreate, Default: defZero},
			{ID: ruleConnDrain, Name: "ilbRuleConnDrainTimeout", Syntax: table.Unsigned32(0, 4294967295), Access: table.ReadCreate, Default: defZero},
			{ID: ruleNatTimeout, Name: "ilbRuleNatTimeout", Syntax: table.Unsigned32(0, 4294967295), Access: table.ReadCreate, Default: defZero},
			{ID: rulePersistTimeout, Name: "ilbRulePersistTimeout", Syntax: table.Unsigned32(0, 4294967295), Access: table.ReadCreate, Default: defZero},
			{ID: ruleServerGroup, Name: "ilbRuleServerGroup", Syntax: table.SnmpAdminString(0, 14), Access: table.ReadCreate, Required: true},
			{ID: ruleStorage, Name: "ilbRuleStorageType", Syntax: table.StorageType(), Access: table.ReadOnly, Default: defNonVolatle},
			{ID: ruleStatus, Name: "ilbRuleRowStatus", Access: table.ReadCreate},
		},
		Status: ruleStatus,
	}
}

// ruleServerIndex is (ilbRuleName, IMPLIED ilbServerId), shared by the
// health result and server statistics tables.
func ruleServerIndex() []table.IndexPart {
	return []table.IndexPart{
		{Name: "ilbRuleName", Syntax: ruleNameSyntax()},
		{Name: "ilbServerId", Syntax: serverIDSyntax(), Implied: true},
	}
}

func (b *Binding) newHcResultTable() *table.Table {
	return &table.Table{
		Name:  "ilbHcResultTable",
		Entry: entry(6),
		Index: ruleServerIndex(),
		Columns: []table.Column{
			{ID: hcrHcName, Name: "ilbHcResultHcName", Syntax: table.SnmpAdminString(1, 19), Access: table.ReadOnly, Get: b.hcResult(hcrHcName)},
			{ID: hcrAddrType, Name: "ilbHcResultServerAddressType", Syntax: table.InetAddressType(), Access: table.ReadOnly, Get: b.hcResult(hcrAddrType)},
			{ID: hcrAddr, Name: "ilbHcResultServerAddress", Syntax: table.InetAddress(), Access: table.ReadOnly, Get: b.hcResult(hcrAddr)},
			{ID: hcrState, Name: "ilbHcResultState", Syntax: table.Enum(1, 2, 3, 4, 5), Access: table.ReadOnly, Get: b.hcResult(hcrState)},
			{ID: hcrFailCount, Name: "ilbHcResultFailCount", Syntax: table.Gauge32(0, 4294967295), Access: table.ReadOnly, Get: b.hcResult(hcrFailCount)},
			{ID: hcrLastCheck, Name: "ilbHcResultLastCheck", Syntax: table.DateAndTime(), Access: table.ReadOnly, Get: b.hcResult(hcrLastCheck)},
			{ID: hcrNextCheck, Name: "ilbHcResultNextCheck", Syntax: table.DateAndTime(), Access: table.ReadOnly, Get: b.hcResult(hcrNextCheck)},
			{ID: hcrRtt, Name: "ilbHcResultRtt", Syntax: table.Gauge32(0, 4294967295), Access: table.ReadOnly, Get: b.hcResult(hcrRtt)},
		},
	}
}

func (b *Binding) newRuleStatsTable() *table.Table {
	c64 := func(id uint32, name string) table.Column {
		return table.Column{ID: id, Name: name, Syntax: table.Counter64(), Access: table.ReadOnly, Get: b.ruleStat(id)}
	}
	return &table.Table{
		Name:  "ilbRuleStatsTable",
		Entry: entry(7),
		Index: []table.IndexPart{{Name: "ilbRuleName", Syntax: ruleNameSyntax(), Implied: true}},
		Columns: []table.Column{
			{ID: rsServers, Name: "ilbRuleStatsServers", Syntax: table.Gauge32(0, 4294967295), Access: table.ReadOnly, Get: b.ruleStat(rsServers)},
			c64(rsPktsProcessed, "ilbRuleStatsPktsProcessed"),
			c64(rsBytesProcessed, "ilbRuleStatsBytesProcessed"),
			c64(rsPktsUnassigned, "ilbRuleStatsPktsUnassigned"),
			c64(rsBytesUnassigned, "ilbRuleStatsBytesUnassigned"),
			c64(rsPktsDropped, "ilbRuleStatsPktsDropped"),
			c64(rsBytesDropped, "ilbRuleStatsBytesDropped"),
			c64(rsIcmpEcho, "ilbRuleStatsIcmpEchoProcessed"),
			c64(rsIcmpDropped, "ilbRuleStatsIcmpDropped"),
			c64(rsIcmpTooBig, "ilbRuleStatsIcmpTooBigProcessed"),
			c64(rsIcmpTooBigDrop, "ilbRuleStatsIcmpTooBigDropped"),
			c64(rsNoMemPkts, "ilbRuleStatsNoMemPktsDropped"),
			c64(rsNoMemBytes, "ilbRuleStatsNoMemBytesDropped"),
			c64(rsNoPortPkts, "ilbRuleStatsNoPortPktsDropped"),
			c64(rsNoPortBytes, "ilbRuleStatsNoPortBytesDropped"),
			{ID: rsCurConns, Name: "ilbRuleStatsCurrentConnections", Syntax: table.Gauge32(0, 4294967295), Access: table.ReadOnly, Get: b.ruleStat(rsCurConns)},
			c64(rsTotalConns, "ilbRuleStatsTotalConnections"),
			{ID: rsDiscontinuity, Name: "ilbRuleStatsDiscontinuityTime", Syntax: table.TimeTicks(), Access: table.ReadOnly, Get: b.ruleStat(rsDiscontinuity)},
		},
	}
}

func (b *Binding) newServerStatsTable() *table.Table {
	return &table.Table{
		Name:  "ilbServerStatsTable",
		Entry: entry(8),
		Index: ruleServerIndex(),
		Columns: []table.Column{
			{ID: ssPkts, Name: "ilbServerStatsPktsProcessed", Syntax: table.Counter64(), Access: table.ReadOnly, Get: b.serverStat(ssPkts)},
			{ID: ssBytes, Name: "ilbServerStatsBytesProcessed", Syntax: table.Counter64(), Access: table.ReadOnly, Get: b.serverStat(ssBytes)},
			{ID: ssCurConns, Name: "ilbServerStatsCurrentConnections", Syntax: table.Gauge32(0, 4294967295), Access: table.ReadOnly, Get: b.serverStat(ssCurConns)},
			{ID: ssTotalConns, Name: "ilbServerStatsTotalConnections", Syntax: table.Counter64(), Access: table.ReadOnly, Get: b.serverStat(ssTotalConns)},
			{ID: ssDiscontinuity, Name: "ilbServerStatsDiscontinuityTime", Syntax: table.TimeTicks(), Access: table.ReadOnly, Get: b.serverStat(ssDiscontinuity)},
		},
	}
}

// newNatTable and newPersistTable: rows come from the engine's listings
// (refreshLive), replaced at most once per liveTTL.
func newNatTable() *table.Table {
	return &table.Table{
		Name:  "ilbNatTable",
		Entry: entry(9),
		Index: []table.IndexPart{
			{Name: "ilbRuleName", Syntax: ruleNameSyntax()},
			{Name: "ilbNatAddressType", Syntax: table.InetAddressType()},
			{Name: "ilbNatClientAddress", Syntax: table.InetAddress()},
			{Name: "ilbNatClientPort", Syntax: table.InetPortNumber()},
			{Name: "ilbNatVipPort", Syntax: table.InetPortNumber()},
		},
		Columns: []table.Column{
			{ID: 1, Name: "ilbNatAddressType", Syntax: table.InetAddressType(), Access: table.NotAccessible},
			{ID: 2, Name: "ilbNatClientAddress", Syntax: table.InetAddress(), Access: table.NotAccessible},
			{ID: 3, Name: "ilbNatClientPort", Syntax: table.InetPortNumber(), Access: table.NotAccessible},
			{ID: 4, Name: "ilbNatVipPort", Syntax: table.InetPortNumber(), Access: table.NotAccessible},
			{ID: natProtocol, Name: "ilbNatProtocol", Syntax: table.Enum(6, 17), Access: table.ReadOnly},
			{ID: natVip, Name: "ilbNatVipAddress", Syntax: table.InetAddress(), Access: table.ReadOnly},
			{ID: natProxyAddr, Name: "ilbNatProxyAddress", Syntax: table.InetAddress(), Access: table.ReadOnly},
			{ID: natProxyPort, Name: "ilbNatProxyPort", Syntax: table.InetPortNumber(), Access: table.ReadOnly},
			{ID: natServerAddr, Name: "ilbNatServerAddress", Syntax: table.InetAddress(), Access: table.ReadOnly},
			{ID: natServerPort, Name: "ilbNatServerPort", Syntax: table.InetPortNumber(), Access: table.ReadOnly},
			{ID: natServerID, Name: "ilbNatServerId", Syntax: table.SnmpAdminString(0, 19), Access: table.ReadOnly},
			{ID: natAge, Name: "ilbNatAge", Syntax: table.Unsigned32(0, 4294967295), Access: table.ReadOnly},
			{ID: natRemaining, Name: "ilbNatTimeRemaining", Syntax: table.Unsigned32(0, 4294967295), Access: table.ReadOnly},
		},
	}
}

func newPersistTable() *table.Table {
	return &table.Table{
		Name:  "ilbPersistTable",
		Entry: entry(10),
		Index: []table.IndexPart{
			{Name: "ilbRuleName", Syntax: ruleNameSyntax()},
			{Name: "ilbPersistAddressType", Syntax: table.InetAddressType()},
			{Name: "ilbPersistClientPrefix", Syntax: table.InetAddress()},
		},
		Columns: []table.Column{
			{ID: 1, Name: "ilbPersistAddressType", Syntax: table.InetAddressType(), Access: table.NotAccessible},
			{ID: 2, Name: "ilbPersistClientPrefix", Syntax: table.InetAddress(), Access: table.NotAccessible},
			{ID: perPrefixLen, Name: "ilbPersistPrefixLength", Syntax: prefixLength(), Access: table.ReadOnly},
			{ID: perServerAddr, Name: "ilbPersistServerAddress", Syntax: table.InetAddress(), Access: table.ReadOnly},
			{ID: perServerID, Name: "ilbPersistServerId", Syntax: table.SnmpAdminString(0, 19), Access: table.ReadOnly},
			{ID: perRemaining, Name: "ilbPersistTimeRemaining", Syntax: table.Unsigned32(0, 4294967295), Access: table.ReadOnly},
		},
	}
}
