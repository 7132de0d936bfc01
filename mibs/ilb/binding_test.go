package ilb

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
	"tapagent/mibs/ilb/ilbtest"
)

// vbs builds SET varbinds: column OID + index, value.
type pdu []agentx.VarBind

func (p pdu) add(t *table.Table, col uint32, v agentx.Value, index ...string) pdu {
	idx := make([]agentx.Value, len(index))
	for i, s := range index {
		idx[i] = str(s)
	}
	oid, err := t.InstanceOID(col, idx...)
	if err != nil {
		panic(err)
	}
	return append(p, agentx.VarBind{Name: oid, Value: v})
}

func u32(n uint32) agentx.Value { return agentx.Gauge32(n) }
func i32(n int32) agentx.Value  { return agentx.Integer(n) }
func ip(s string) agentx.Value  { return addrBytes(netip.MustParseAddr(s)) }

// set runs one SET PDU through TestSet and CommitSet, as snmpd does.
func set(b *Binding, p pdu) *agent.SetError {
	vbs := make([]agent.SetVarBind, len(p))
	for i, vb := range p {
		vbs[i] = agent.SetVarBind{Index: i + 1, VarBind: vb}
	}
	tx, serr := b.group.TestSet(vbs)
	if serr != nil {
		return serr
	}
	defer tx.Cleanup()
	return tx.Commit()
}

func groupPDU(b *Binding, group string, servers ...string) pdu {
	p := pdu{}.add(b.groups, sgStatus, i32(4), group)
	for i, a := range servers {
		id := lb.ServerID(group, i)
		p = p.add(b.servers, srvAddrType, i32(1), group, id).
			add(b.servers, srvAddr, ip(a), group, id).
			add(b.servers, srvPortMin, u32(8080), group, id).
			add(b.servers, srvStatus, i32(4), group, id)
	}
	return p
}

func rulePDU(b *Binding, name, vip string, port uint32, group string) pdu {
	return pdu{}.add(b.rules, ruleVipType, i32(1), name).
		add(b.rules, ruleVip, ip(vip), name).
		add(b.rules, rulePortMin, u32(port), name).
		add(b.rules, ruleTopology, i32(topoHalfNAT), name).
		add(b.rules, ruleServerGroup, str(group), name).
		add(b.rules, ruleEnabled, i32(truthTrue), name).
		add(b.rules, ruleStatus, i32(4), name)
}

func newTestBinding(t *testing.T) (*Binding, *ilbtest.Engine) {
	e := ilbtest.NewEngine(nil)
	b := New(e, nil, nil)
	if serr := set(b, append(groupPDU(b, "web", "198.18.2.2", "198.18.3.2"), rulePDU(b, "Web1", "198.18.1.1", 80, "web")...)); serr != nil {
		t.Fatalf("provisioning: %v", serr)
	}
	return b, e
}

func TestCreateInOnePDU(t *testing.T) {
	b, e := newTestBinding(t)
	cfg := e.Config()
	if len(cfg.Groups) != 1 || len(cfg.Groups[0].Servers) != 2 || len(cfg.Rules) != 1 {
		t.Fatalf("engine configuration: %+v", cfg)
	}
	r := cfg.Rules[0]
	if r.Name != "Web1" || r.VIP != netip.MustParseAddr("198.18.1.1") || r.Ports.Min != 80 || r.Topology != lb.HalfNAT || !r.Enabled {
		t.Errorf("rule: %+v", r)
	}
	g := b.group
	if v := g.Get(b.groups.Entry.Append(sgServerCount, 'w', 'e', 'b')); v.Uint != 2 {
		t.Errorf("ilbServerGroupServerCount.web = %v", v)
	}
	if v := g.Get(b.groups.Entry.Append(sgNextID, 'w', 'e', 'b')); string(v.Bytes) != "_web.2" {
		t.Errorf("ilbServerGroupNextServerId.web = %v", v)
	}
	if n := g.Len(b.ruleStats); n != 1 {
		t.Errorf("ilbRuleStatsTable has %d rows, want 1", n)
	}
	if n := g.Len(b.serverStats); n != 2 {
		t.Errorf("ilbServerStatsTable has %d rows, want 2", n)
	}
}

// Refusals name the varbind and the error the module describes, and leave
// the engine and the tables as they were.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name   string
		pdu    func(b *Binding) pdu
		status agentx.ErrorStatus
		index  int // varbind the error names; 0: any
	}{
		{"server ID of another group", func(b *Binding) pdu {
			return pdu{}.add(b.servers, srvAddrType, i32(1), "web", "_db.3").add(b.servers, srvAddr, ip("198.18.4.2"), "web", "_db.3").
				add(b.servers, srvStatus, i32(4), "web", "_db.3")
		}, agentx.NoCreation, 3},
		{"server of an unknown group", func(b *Binding) pdu {
			return pdu{}.add(b.servers, srvAddrType, i32(1), "nope", "_nope.0").add(b.servers, srvAddr, ip("198.18.4.2"), "nope", "_nope.0").
				add(b.servers, srvStatus, i32(4), "nope", "_nope.0")
		}, agentx.InconsistentName, 3},
		{"duplicate server address", func(b *Binding) pdu {
			return pdu{}.add(b.servers, srvAddrType, i32(1), "web", "_web.2").add(b.servers, srvAddr, ip("198.18.2.2"), "web", "_web.2").
				add(b.servers, srvStatus, i32(4), "web", "_web.2")
		}, agentx.InconsistentValue, 2},
		{"rule name differing only in case", func(b *Binding) pdu {
			return rulePDU(b, "WEB1", "198.18.1.2", 80, "web")
		}, agentx.InconsistentName, 7},
		{"overlapping rule", func(b *Binding) pdu { return rulePDU(b, "other", "198.18.1.1", 80, "web") }, agentx.InconsistentValue, 0},
		{"unknown server group", func(b *Binding) pdu {
			return rulePDU(b, "r2", "198.18.1.1", 81, "nope")
		}, agentx.InconsistentValue, 5},
		{"eleven proxy-src addresses", func(b *Binding) pdu {
			return rulePDU(b, "r3", "198.18.1.1", 82, "web").add(b.rules, ruleTopology, i32(topoNAT), "r3").
				add(b.rules, ruleProxyFirst, ip("198.18.8.1"), "r3").add(b.rules, ruleProxyLast, ip("198.18.8.11"), "r3")
		}, agentx.InconsistentValue, 9},
		{"pmask without persistence", func(b *Binding) pdu {
			return rulePDU(b, "r4", "198.18.1.1", 83, "web").add(b.rules, rulePersistMask, u32(24), "r4")
		}, agentx.InconsistentValue, 8},
		{"unknown health check", func(b *Binding) pdu {
			return rulePDU(b, "r5", "198.18.1.1", 84, "web").add(b.rules, ruleHcName, str("hc9"), "r5")
		}, agentx.InconsistentValue, 8},
		{"group in use", func(b *Binding) pdu { return pdu{}.add(b.groups, sgStatus, i32(6), "web") }, agentx.InconsistentValue, 1},
		{"group of the PDU then overlapping rule", func(b *Binding) pdu {
			return append(groupPDU(b, "db", "198.18.5.2"), rulePDU(b, "r6", "198.18.1.1", 80, "db")...)
		}, agentx.InconsistentValue, 0},
		{"a VIP address type we do not serve", func(b *Binding) pdu {
			return rulePDU(b, "r7", "198.18.1.1", 85, "web").add(b.rules, ruleVipType, i32(16), "r7")
		}, agentx.WrongValue, 8},
		{"rule columns while active", func(b *Binding) pdu {
			return pdu{}.add(b.rules, rulePortMin, u32(99), "Web1")
		}, agentx.InconsistentValue, 1},
		{"statistics are read-only", func(b *Binding) pdu {
			return pdu{}.add(b.ruleStats, rsPktsProcessed, agentx.Counter64(1), "Web1")
		}, agentx.NotWritable, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, e := newTestBinding(t)
			before, updates := e.Config(), e.Updates
			rowsBefore := b.group.Len(b.rules) + b.group.Len(b.servers) + b.group.Len(b.groups)
			serr := set(b, tc.pdu(b))
			if serr == nil || serr.Status != tc.status || (tc.index != 0 && serr.Index != tc.index) {
				t.Fatalf("got %v, want %s on varbind %d", serr, tc.status, tc.index)
			}
			if e.Updates != updates || len(e.Config().Rules) != len(before.Rules) || len(e.Config().Groups) != len(before.Groups) {
				t.Errorf("engine changed: %+v", e.Config())
			}
			if n := b.group.Len(b.rules) + b.group.Len(b.servers) + b.group.Len(b.groups); n != rowsBefore {
				t.Errorf("rows: %d, were %d", n, rowsBefore)
			}
		})
	}
}

type recorder struct{ got chan []agentx.VarBind }

func (r *recorder) Notify(_ context.Context, vbs []agentx.VarBind) error {
	r.got <- vbs
	return nil
}

func TestEnableDisableNotifiesAndUndo(t *testing.T) {
	e := ilbtest.NewEngine(nil)
	rec := &recorder{got: make(chan []agentx.VarBind, 4)}
	b := New(e, rec, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	if serr := set(b, append(groupPDU(b, "web", "198.18.2.2"), rulePDU(b, "web1", "198.18.1.1", 80, "web")...)); serr != nil {
		t.Fatal(serr)
	}
	// disable-rule: only ilbRuleEnabled changes while active.
	vbs := []agent.SetVarBind{{Index: 1, VarBind: pdu{}.add(b.rules, ruleEnabled, i32(truthFalse), "web1")[0]}}
	tx, serr := b.group.TestSet(vbs)
	if serr != nil {
		t.Fatal(serr)
	}
	if serr := tx.Commit(); serr != nil {
		t.Fatal(serr)
	}
	if e.Config().Rule("web1").Enabled {
		t.Error("rule still enabled after commit")
	}
	select {
	case n := <-rec.got:
		if !n[0].Value.OID.Equal(oidNotifRuleStateChange) || n[1].Value.Int != truthFalse {
			t.Errorf("notification %v", n)
		}
	case <-time.After(2 * time.Second):
		t.Error("no ilbRuleStateChange")
	}
	// UndoSet puts the previous configuration back.
	if serr := tx.Undo(); serr != nil {
		t.Fatal(serr)
	}
	if !e.Config().Rule("web1").Enabled {
		t.Error("undo left the rule disabled")
	}
	if r, _ := b.group.Row(b.rules, str("web1")); !r.Truth(ruleEnabled) {
		t.Error("undo left the row disabled")
	}
}

func TestDestroyGroupRemovesServerRows(t *testing.T) {
	e := ilbtest.NewEngine(nil)
	b := New(e, nil, nil)
	if serr := set(b, groupPDU(b, "db", "198.18.5.2", "198.18.5.3")); serr != nil {
		t.Fatal(serr)
	}
	if serr := set(b, pdu{}.add(b.groups, sgStatus, i32(6), "db")); serr != nil {
		t.Fatal(serr)
	}
	if n := b.group.Len(b.servers); n != 0 || len(e.Config().Groups) != 0 {
		t.Errorf("%d server rows left, engine %+v", n, e.Config())
	}
}

func TestRowsFromRunningConfiguration(t *testing.T) {
	cfg := &lb.Config{}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cfg.CreateGroup("g"))
	_, err := cfg.AddServer("g", lb.Server{Addr: netip.MustParseAddr("2001:db8::2"), Enabled: true})
	must(err)
	must(cfg.CreateHealthCheck(lb.NewHealthCheck("hc1", lb.HCTCP)))
	r := lb.NewRule("v6")
	r.VIP, r.Topology, r.ServerGroup, r.HCName = netip.MustParseAddr("2001:db8::1"), lb.DSR, "g", "hc1"
	must(cfg.CreateRule(r))
	b := New(ilbtest.NewEngine(cfg), nil, nil)
	for tbl, want := range map[*table.Table]int{b.groups: 1, b.servers: 1, b.hcs: 1, b.rules: 1, b.hcResults: 1, b.serverStats: 1} {
		if n := b.group.Len(tbl); n != want {
			t.Errorf("%s: %d rows, want %d", tbl.Name, n, want)
		}
	}
	res, _ := b.group.Row(b.hcResults, str("v6"), str("_g.0"))
	if v := b.hcResult(hcrState)(res); v.Int != int64(HealthUninitialized) {
		t.Errorf("state before any check: %v", v)
	}
	b.ReportHealth("V6", "_g.0", Health{State: HealthDead, FailCount: 3})
	if v := b.hcResult(hcrState)(res); v.Int != int64(HealthDead) {
		t.Errorf("state after report: %v", v)
	}
	if v := b.hcResult(hcrAddr)(res); len(v.Bytes) != 16 {
		t.Errorf("address %v", v)
	}
}

func TestConfigPDUs(t *testing.T) {
	base := &lb.Config{}
	_ = base.CreateGroup("g")
	_, _ = base.AddServer("g", lb.Server{Addr: netip.MustParseAddr("198.18.2.2"), Enabled: true})
	r := lb.NewRule("r")
	r.VIP, r.Topology, r.ServerGroup, r.Ports.Min = netip.MustParseAddr("198.18.1.1"), lb.HalfNAT, "g", 80
	_ = base.CreateRule(r)
	cases := []struct {
		name     string
		edit     func(c *lb.Config)
		pdus     int
		varbinds int // of the first PDU
	}{
		{"nothing", func(c *lb.Config) {}, 0, 0},
		{"enable", func(c *lb.Config) { _ = c.SetRuleEnabled("R", true) }, 1, 1},
		{"disable a server", func(c *lb.Config) { _ = c.SetServerEnabled("_g.0", false) }, 1, 1},
		{"new rule", func(c *lb.Config) {
			n := r
			n.Name, n.Ports.Min = "r2", 81
			_ = c.CreateRule(n)
		}, 1, 20}, // 19 writable columns and the status
		{"changed rule: destroy, then create", func(c *lb.Config) { c.Rules[0].Algorithm = lb.HashIP }, 2, 1},
		{"delete all", func(c *lb.Config) { *c = lb.Config{} }, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := base.Clone()
			tc.edit(next)
			pdus := ConfigPDUs(base, next)
			if len(pdus) != tc.pdus || (tc.pdus > 0 && len(pdus[0].VarBinds) != tc.varbinds) {
				t.Fatalf("%d PDUs %+v", len(pdus), pdus)
			}
			// Applied to an agent holding base, the PDUs give next.
			e := ilbtest.NewEngine(base)
			b := New(e, nil, nil)
			for _, p := range pdus {
				if serr := set(b, pdu(p.VarBinds)); serr != nil {
					t.Fatalf("%v (%s)", serr, p.Objects[serr.Index-1])
				}
			}
			got := e.Config()
			if len(got.Rules) != len(next.Rules) || len(got.Groups) != len(next.Groups) {
				t.Fatalf("agent has %+v, want %+v", got, next)
			}
			for _, want := range next.Rules {
				if g := got.Rule(want.Name); g == nil || !sameRule(g, &want) || g.Enabled != want.Enabled {
					t.Errorf("rule %s: %+v, want %+v", want.Name, g, want)
				}
			}
			walked := DecodeConfigFromGroup(t, b)
			if len(walked.Rules) != len(next.Rules) {
				t.Errorf("decoded %+v", walked)
			}
		})
	}
}

// DecodeConfigFromGroup walks the binding as a manager would and decodes
// the configuration.
func DecodeConfigFromGroup(t *testing.T, b *Binding) *lb.Config {
	var vbs []agentx.VarBind
	cur := ilbRoot
	for {
		vb, ok := b.group.Next(cur, false, nil)
		if !ok {
			break
		}
		vbs, cur = append(vbs, vb), vb.Name
	}
	cfg, err := DecodeConfig(vbs)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
