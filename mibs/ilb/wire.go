package ilb

import (
	"fmt"
	"net/netip"
	"strings"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
)

// The manager side of the module: what a client such as ilbadm needs to
// read the configuration over SNMP and to change it, with the same
// conversions the agent uses.

// Table OIDs (the SEQUENCE OF objects) a manager walks.
var (
	GroupTable       = entry(2)[:len(entry(2))-1]
	ServerTable      = entry(3)[:len(entry(3))-1]
	HcTable          = entry(4)[:len(entry(4))-1]
	RuleTable        = entry(5)[:len(entry(5))-1]
	HcResultTable    = entry(6)[:len(entry(6))-1]
	RuleStatsTable   = entry(7)[:len(entry(7))-1]
	ServerStatsTable = entry(8)[:len(entry(8))-1]
	NatTable         = entry(9)[:len(entry(9))-1]
	PersistTable     = entry(10)[:len(entry(10))-1]
)

// ConfigTables are the tables DecodeConfig reads.
var ConfigTables = []agentx.OID{GroupTable, ServerTable, HcTable, RuleTable}

// decl holds fresh declarations of the tables for decoding (they are
// never put in a group).
type decl struct {
	groups, servers, hcs, rules, hcResults, ruleStats, serverStats, nat, pt *table.Table
}

func declarations() decl {
	b := &Binding{}
	return decl{b.newGroupTable(), newServerTable(), newHcTable(), newRuleTable(),
		b.newHcResultTable(), b.newRuleStatsTable(), b.newServerStatsTable(), newNatTable(), newPersistTable()}
}

func (d decl) all() []*table.Table {
	return []*table.Table{d.groups, d.servers, d.hcs, d.rules, d.hcResults, d.ruleStats, d.serverStats, d.nat, d.pt}
}

// decodedRow is a row assembled from walked varbinds.
type decodedRow struct {
	index []agentx.Value
	vals  map[uint32]agentx.Value
}

func (r *decodedRow) Int(col uint32) int64   { return r.vals[col].Int }
func (r *decodedRow) Uint(col uint32) uint64 { return r.vals[col].Uint }
func (r *decodedRow) Bytes(col uint32) []byte {
	return r.vals[col].Bytes
}
func (r *decodedRow) Truth(col uint32) bool { return r.vals[col].Int == truthTrue }
func (r *decodedRow) text(i int) string     { return string(r.index[i].Bytes) }

// decodeRows groups the varbinds of table t by row, in walk order; names
// outside t or with a malformed index are skipped.
func decodeRows(t *table.Table, vbs []agentx.VarBind) []*decodedRow {
	var rows []*decodedRow
	byKey := map[string]*decodedRow{}
	for _, vb := range vbs {
		if len(vb.Name) <= len(t.Entry)+1 || !vb.Name.HasPrefix(t.Entry) || vb.Value.IsException() {
			continue
		}
		col, key := vb.Name[len(t.Entry)], vb.Name[len(t.Entry)+1:]
		r := byKey[key.String()]
		if r == nil {
			rest := []uint32(key)
			index := make([]agentx.Value, len(t.Index))
			ok := true
			for i, p := range t.Index {
				if index[i], rest, ok = p.Decode(rest); !ok {
					break
				}
			}
			if !ok || len(rest) != 0 {
				continue
			}
			r = &decodedRow{index: index, vals: map[uint32]agentx.Value{}}
			byKey[key.String()] = r
			rows = append(rows, r)
		}
		r.vals[col] = vb.Value
	}
	return rows
}

func activeRows(t *table.Table, vbs []agentx.VarBind) []*decodedRow {
	var out []*decodedRow
	for _, r := range decodeRows(t, vbs) {
		if r.Int(t.Status) == int64(table.Active) {
			out = append(out, r)
		}
	}
	return out
}

// DecodeConfig builds the running configuration from a walk of
// ConfigTables: the active rows (rows in notReady or notInService are
// drafts, not configuration). Rules keep the order of the walk (by name).
func DecodeConfig(vbs []agentx.VarBind) (*lb.Config, error) {
	d := declarations()
	cfg := &lb.Config{}
	for _, r := range activeRows(d.groups, vbs) {
		if err := cfg.CreateGroup(r.text(0)); err != nil {
			return nil, fmt.Errorf("decode server groups: %w", err)
		}
	}
	for _, r := range activeRows(d.servers, vbs) {
		s, err := serverOf(r.text(1), r)
		if err == nil {
			_, err = cfg.AddServer(r.text(0), s)
		}
		if err != nil {
			return nil, fmt.Errorf("decode server %s: %w", r.text(1), err)
		}
	}
	for _, r := range activeRows(d.hcs, vbs) {
		if err := cfg.CreateHealthCheck(healthCheckOf(r.text(0), r)); err != nil {
			return nil, fmt.Errorf("decode health checks: %w", err)
		}
	}
	for _, r := range activeRows(d.rules, vbs) {
		rule, err := ruleOf(r.text(0), r)
		if err == nil {
			err = cfg.CreateRule(rule)
		}
		if err != nil {
			return nil, fmt.Errorf("decode rule %s: %w", r.text(0), err)
		}
	}
	return cfg, nil
}

// PDU is one SET request: the varbinds and, for each, the object it
// concerns in ilbadm's words ("rule web1"), so that an error index can be
// reported by name.
type PDU struct {
	VarBinds []agentx.VarBind
	Objects  []string
}

func (p *PDU) add(object string, t *table.Table, col uint32, v agentx.Value, index ...agentx.Value) {
	oid, err := t.InstanceOID(col, index...)
	if err != nil {
		panic(fmt.Sprintf("ilb: %s: %v", object, err)) // names were validated before
	}
	p.VarBinds = append(p.VarBinds, agentx.VarBind{Name: oid, Value: v})
	c, _ := columnName(t, col)
	p.Objects = append(p.Objects, object+" ("+c+")")
}

func columnName(t *table.Table, col uint32) (string, bool) {
	for _, c := range t.Columns {
		if c.ID == col {
			return c.Name, true
		}
	}
	return "", false
}

// create adds a createAndGo of a row with its writable values.
func (p *PDU) create(object string, t *table.Table, values map[uint32]agentx.Value, index ...agentx.Value) {
	for _, c := range t.Columns {
		if v, ok := values[c.ID]; ok && c.Access == table.ReadCreate {
			p.add(object, t, c.ID, v, index...)
		}
	}
	p.add(object, t, t.Status, agentx.Integer(int32(table.CreateAndGo)), index...)
}

func (p *PDU) destroy(object string, t *table.Table, index ...agentx.Value) {
	p.add(object, t, t.Status, agentx.Integer(int32(table.Destroy)), index...)
}

// ConfigPDUs returns the SET requests that turn the running configuration
// old into want. Usually that is one PDU, applied by the agent as one
// transaction. An object whose settings change beyond what may change
// while active (anything but enabled) is destroyed in a first PDU and
// created again in a second.
func ConfigPDUs(old, want *lb.Config) []PDU {
	d := declarations()
	var first, second PDU
	replaced := false // a row destroyed in first is created again in second
	replacedHC := map[string]bool{}
	for _, h := range old.HealthChecks {
		n := want.HealthCheck(h.Name)
		switch {
		case n == nil:
			first.destroy("health check "+h.Name, d.hcs, str(h.Name))
		case *n != h || n.Name != h.Name:
			replacedHC[strings.ToLower(h.Name)] = true
			replaced = true
			first.destroy("health check "+h.Name, d.hcs, str(h.Name))
			second.create("health check "+n.Name, d.hcs, healthCheckValues(n), str(n.Name))
		}
	}
	for _, h := range want.HealthChecks {
		if old.HealthCheck(h.Name) == nil {
			second.create("health check "+h.Name, d.hcs, healthCheckValues(&h), str(h.Name))
		}
	}
	for _, r := range old.Rules {
		n := want.Rule(r.Name)
		obj := "rule " + r.Name
		switch {
		case n == nil:
			first.destroy(obj, d.rules, str(r.Name))
		case !sameRule(&r, n) || replacedHC[strings.ToLower(r.HCName)]:
			replaced = true
			first.destroy(obj, d.rules, str(r.Name))
			second.create("rule "+n.Name, d.rules, ruleValues(n), str(n.Name))
		case n.Enabled != r.Enabled:
			first.add(obj, d.rules, ruleEnabled, truth(n.Enabled), str(r.Name))
		}
	}
	for _, r := range want.Rules {
		if old.Rule(r.Name) == nil {
			second.create("rule "+r.Name, d.rules, ruleValues(&r), str(r.Name))
		}
	}
	for _, g := range old.Groups {
		ng := want.Group(g.Name)
		if ng == nil {
			first.destroy("server group "+g.Name, d.groups, str(g.Name))
			continue
		}
		for _, s := range g.Servers {
			obj := "server " + s.ID
			_, ns := want.Server(s.ID)
			switch {
			case ns == nil:
				first.destroy(obj, d.servers, str(g.Name), str(s.ID))
			case ns.Addr != s.Addr || ns.Ports != s.Ports:
				replaced = true
				first.destroy(obj, d.servers, str(g.Name), str(s.ID))
				second.create(obj, d.servers, serverValues(ns), str(g.Name), str(s.ID))
			case ns.Enabled != s.Enabled:
				first.add(obj, d.servers, srvEnabled, truth(ns.Enabled), str(g.Name), str(s.ID))
			}
		}
	}
	for _, g := range want.Groups {
		og := old.Group(g.Name)
		if og == nil {
			second.create("server group "+g.Name, d.groups, nil, str(g.Name))
		}
		for _, s := range g.Servers {
			if og == nil || !hasServer(og, s.ID) {
				second.create("server "+s.ID, d.servers, serverValues(&s), str(g.Name), str(s.ID))
			}
		}
	}
	var pdus []PDU
	if len(second.VarBinds) > 0 && !replaced {
		first.VarBinds = append(first.VarBinds, second.VarBinds...)
		first.Objects = append(first.Objects, second.Objects...)
		second = PDU{}
	}
	for _, p := range []PDU{first, second} {
		if len(p.VarBinds) > 0 {
			pdus = append(pdus, p)
		}
	}
	return pdus
}

func hasServer(g *lb.ServerGroup, id string) bool {
	for _, s := range g.Servers {
		if s.ID == id {
			return true
		}
	}
	return false
}

func sameRule(a, b *lb.Rule) bool {
	x, y := *a, *b
	x.Enabled, y.Enabled = false, false
	if x.HCPortMode == 0 {
		x.HCPortMode = lb.HCPortAny
	}
	if y.HCPortMode == 0 {
		y.HCPortMode = lb.HCPortAny
	}
	return x == y
}

// HcResult is one row of ilbHcResultTable.
type HcResult struct {
	Rule, ServerID, HcName string
	Addr                   netip.Addr
	State                  HealthState
	FailCount              uint32
	LastCheck, NextCheck   []byte // DateAndTime
	RTT                    uint32 // microseconds
}

// DecodeHcResults reads a walk of HcResultTable.
func DecodeHcResults(vbs []agentx.VarBind) []HcResult {
	d := declarations()
	var out []HcResult
	for _, r := range decodeRows(d.hcResults, vbs) {
		a, _ := netip.AddrFromSlice(r.Bytes(hcrAddr))
		out = append(out, HcResult{Rule: r.text(0), ServerID: r.text(1), HcName: string(r.Bytes(hcrHcName)),
			Addr: a, State: HealthState(r.Int(hcrState)), FailCount: uint32(r.Uint(hcrFailCount)),
			LastCheck: r.Bytes(hcrLastCheck), NextCheck: r.Bytes(hcrNextCheck), RTT: uint32(r.Uint(hcrRtt))})
	}
	return out
}

// StatFields are the ilbadm show-statistics fields in ilbRuleStatsTable
// column order.
var StatFields = []string{"PKT_P", "BYTES_P", "PKT_U", "BYTES_U", "PKT_D", "BYTES_D", "ICMP_P", "ICMP_D",
	"ICMP2BIG_P", "ICMP2BIG_D", "NOMEMP_D", "NOMEMB_D", "NOPORTP_D", "NOPORTB_D"}

// Counters are the statistics of one rule, or of one server in one rule
// (then only PKT_P and BYTES_P are set), by ilbadm field.
type Counters struct {
	Rule, ServerID string
	Values         map[string]uint64
}

// DecodeRuleStats reads a walk of RuleStatsTable.
func DecodeRuleStats(vbs []agentx.VarBind) []Counters {
	d := declarations()
	var out []Counters
	for _, r := range decodeRows(d.ruleStats, vbs) {
		c := Counters{Rule: r.text(0), Values: map[string]uint64{}}
		for i, f := range StatFields {
			c.Values[f] = r.Uint(uint32(rsPktsProcessed + i))
		}
		out = append(out, c)
	}
	return out
}

// DecodeServerStats reads a walk of ServerStatsTable.
func DecodeServerStats(vbs []agentx.VarBind) []Counters {
	d := declarations()
	var out []Counters
	for _, r := range decodeRows(d.serverStats, vbs) {
		out = append(out, Counters{Rule: r.text(0), ServerID: r.text(1),
			Values: map[string]uint64{"PKT_P": r.Uint(ssPkts), "BYTES_P": r.Uint(ssBytes)}})
	}
	return out
}

// NatEntry is one row of ilbNatTable (ilbadm show-nat).
type NatEntry struct {
	Rule                       string
	Protocol                   lb.Protocol
	Client, Vip, Proxy, Server netip.AddrPort
}

// DecodeNat reads a walk of NatTable.
func DecodeNat(vbs []agentx.VarBind) []NatEntry {
	d := declarations()
	var out []NatEntry
	ap := func(b []byte, port uint64) netip.AddrPort {
		a, _ := netip.AddrFromSlice(b)
		return netip.AddrPortFrom(a, uint16(port))
	}
	for _, r := range decodeRows(d.nat, vbs) {
		out = append(out, NatEntry{Rule: r.text(0), Protocol: lb.Protocol(r.Int(natProtocol)),
			Client: ap(r.index[2].Bytes, r.index[3].Uint), Vip: ap(r.Bytes(natVip), r.index[4].Uint),
			Proxy: ap(r.Bytes(natProxyAddr), r.Uint(natProxyPort)), Server: ap(r.Bytes(natServerAddr), r.Uint(natServerPort))})
	}
	return out
}

// PersistEntry is one row of ilbPersistTable (ilbadm show-persist).
type PersistEntry struct {
	Rule   string
	Client netip.Prefix
	Server netip.Addr
}

// DecodePersist reads a walk of PersistTable.
func DecodePersist(vbs []agentx.VarBind) []PersistEntry {
	d := declarations()
	var out []PersistEntry
	for _, r := range decodeRows(d.pt, vbs) {
		c, _ := netip.AddrFromSlice(r.index[2].Bytes)
		s, _ := netip.AddrFromSlice(r.Bytes(perServerAddr))
		out = append(out, PersistEntry{Rule: r.text(0), Client: netip.PrefixFrom(c, int(r.Uint(perPrefixLen))), Server: s})
	}
	return out
}
