package portsec

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"tapagent/agent"
	"tapagent/agent/agentx"
	psec "tapagent/portsec"
)

// fakeEngine records change sets; tests set its state and verdicts.
type fakeEngine struct {
	mu        sync.Mutex
	global    psec.Global
	ports     []psec.PortState
	validated [][]psec.Change
	applied   [][]psec.Change
	verdict   error // returned by Validate and Apply
	events    chan psec.Event
}

func (f *fakeEngine) Validate(cs []psec.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.validated = append(f.validated, cs)
	return f.verdict
}

func (f *fakeEngine) Apply(cs []psec.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.verdict != nil {
		return f.verdict
	}
	f.applied = append(f.applied, cs)
	return nil
}

func (f *fakeEngine) Global() (psec.Global, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.global, nil
}

func (f *fakeEngine) Port(ifindex int) (psec.PortState, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.ports {
		if p.Ifindex == ifindex {
			return p, true, nil
		}
	}
	return psec.PortState{}, false, nil
}

func (f *fakeEngine) Ports() ([]psec.PortState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]psec.PortState(nil), f.ports...), nil
}

func (f *fakeEngine) Events() <-chan psec.Event { return f.events }

func noPorts() ([]BridgePort, error) { return nil, nil }

type recorder struct{ got chan []agentx.VarBind }

func (r *recorder) Notify(_ context.Context, vbs []agentx.VarBind) error {
	r.got <- vbs
	return nil
}

var (
	macA = psec.MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB = psec.MAC{0x02, 0, 0, 0, 0, 0x0b}
)

// fixture: bridge ports 7 (p1) and 8 (p2); port 7 secured at maximum 1
// holding macA.
type fixture struct {
	t      *testing.T
	b      *Binding
	eng    *fakeEngine
	traps  *recorder
	syslog chan string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := psec.DefaultPortConfig()
	cfg.Enabled, cfg.Violation = true, psec.Restrict
	eng := &fakeEngine{
		global: psec.Global{Enabled: true, NotifControl: true},
		ports: []psec.PortState{{Ifindex: 7, Config: cfg, Status: psec.StatusSecureUp, Violations: 3, LastMAC: macB, LastVLAN: 1,
			Entries: []psec.Entry{{MAC: macA, VLAN: 1, Type: psec.Dynamic, Remaining: 90 * time.Second}}}},
		events: make(chan psec.Event, 16),
	}
	f := &fixture{t: t, eng: eng, traps: &recorder{got: make(chan []agentx.VarBind, 16)}, syslog: make(chan string, 16)}
	f.b = New(Options{Engine: eng, Notifier: f.traps,
		Ports:  func() ([]BridgePort, error) { return []BridgePort{{7, "p1"}, {8, "p2"}}, nil },
		Syslog: func(s string) { f.syslog <- s }})
	if err := f.b.Sync(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) set(vbs ...agentx.VarBind) *agent.SetError {
	svbs := make([]agent.SetVarBind, len(vbs))
	for i, vb := range vbs {
		svbs[i] = agent.SetVarBind{Index: i + 1, VarBind: vb}
	}
	tx, serr := f.b.Handler().TestSet(svbs)
	if serr != nil {
		return serr
	}
	defer tx.Cleanup()
	return tx.Commit()
}

func (f *fixture) get(oid string) agentx.Value {
	return f.b.Handler().Get(agentx.MustParseOID(oid))
}

const (
	cfgEntry   = "1.3.6.1.4.1.9.9.315.1.2.1.1."
	vlanEntry  = "1.3.6.1.4.1.9.9.315.1.2.3.1."
	macEntry   = "1.3.6.1.4.1.9.9.315.1.2.2.1."
	multiEntry = "1.3.6.1.4.1.9.9.315.1.2.5.1."
)

// update changes port 7 in the engine and syncs the rows.
func (f *fixture) update(change func(*psec.PortState)) {
	f.t.Helper()
	f.eng.mu.Lock()
	change(&f.eng.ports[0])
	f.eng.mu.Unlock()
	f.b.invalidate()
	if err := f.b.Sync(); err != nil {
		f.t.Fatal(err)
	}
}

// voicePort makes port 7 an access port in VLAN 10 with voice VLAN 20.
func voicePort(p *psec.PortState) {
	p.VLANs = psec.Membership{Filtering: true, PVID: 10, Tagged: []uint16{20}}
}

func vb(oid string, v agentx.Value) agentx.VarBind {
	return agentx.VarBind{Name: agentx.MustParseOID(oid), Value: v}
}

func TestReads(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		oid  string
		want agentx.Value
	}{
		{cfgEntry + "1.7", agentx.Integer(truthTrue)},
		{cfgEntry + "1.8", agentx.Integer(truthFalse)},
		{cfgEntry + "2.7", agentx.Integer(1)}, // secureup
		{cfgEntry + "2.8", agentx.Integer(2)}, // securedown: never configured
		{cfgEntry + "3.7", agentx.Integer(1)},
		{cfgEntry + "4.7", agentx.Integer(1)},
		{cfgEntry + "8.7", agentx.Integer(2)}, // dropNotify
		{cfgEntry + "8.8", agentx.Integer(1)}, // default shutdown
		{cfgEntry + "9.7", agentx.Counter32(3)},
		{cfgEntry + "10.7", agentx.OctetString(macB[:])},
		{cfgEntry + "12.7", agentx.Integer(truthTrue)},
		{cfgEntry + "14.7", agentx.Integer(clearDone)},
		{cfgEntry + "17.7", agentx.Integer(-1)},
		{vlanEntry + "3.7.2.0.0.0.0.10.1", agentx.Integer(2)},       // dynamic
		{vlanEntry + "4.7.2.0.0.0.0.10.1", agentx.Gauge32(2)},       // 90 s: 2 minutes left
		{macEntry + "2.7.2.0.0.0.0.10", agentx.Integer(2)},          // dynamic
		{macEntry + "4.7.2.0.0.0.0.10", agentx.Integer(1)},          // active
		{vlanEntry + "3.8.2.0.0.0.0.10.1", agentx.NoSuchInstance()}, // not on port 8
		{"1.3.6.1.4.1.9.9.315.1.2.5.1.3.7.1", agentx.Gauge32(1)},    // one address in VLAN 1
		{"1.3.6.1.4.1.9.9.315.1.1.2.0", agentx.Integer(1)},          // total
		{"1.3.6.1.4.1.9.9.315.1.1.5.0", agentx.Integer(truthTrue)},  // notif control
		{"1.3.6.1.4.1.9.9.315.1.1.6.0", agentx.Integer(clearDone)},  // clear reads done
		{"1.3.6.1.4.1.9.9.315.1.1.1.0", agentx.Integer(2 * psec.MaxPerPort)},
	} {
		if got := f.get(c.oid); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GET %s = %v, want %v", c.oid, got, c.want)
		}
	}
}

func TestSetChangeSets(t *testing.T) {
	cfg := psec.DefaultPortConfig()
	cfg.Enabled, cfg.Violation = true, psec.Restrict
	max3 := cfg
	max3.Maximum = 3
	sticky8 := psec.DefaultPortConfig()
	sticky8.Sticky, sticky8.Enabled = true, true
	for _, c := range []struct {
		name string
		vbs  []agentx.VarBind
		want []psec.Change
	}{
		{"maximum", []agentx.VarBind{vb(cfgEntry+"3.7", agentx.Integer(3))}, []psec.Change{psec.SetPort(7, max3)}},
		{"enable and sticky on a fresh port", []agentx.VarBind{vb(cfgEntry+"1.8", agentx.Integer(truthTrue)), vb(cfgEntry+"15.8", agentx.Integer(truthTrue))},
			[]psec.Change{psec.SetPort(8, sticky8)}},
		{"clear sticky", []agentx.VarBind{vb(cfgEntry+"14.7", agentx.Integer(clearSticky))}, []psec.Change{psec.ClearAddresses(7, psec.Sticky)}},
		{"PacketFence replace at maximum 1", []agentx.VarBind{
			vb(vlanEntry+"5.7.2.0.0.0.0.10.1", agentx.Integer(6)),
			vb(vlanEntry+"5.7.2.0.0.0.0.11.1", agentx.Integer(4))},
			[]psec.Change{psec.RemoveAddress(7, macA, 1), psec.AddStatic(7, macB, 1)}},
		{"deprecated table destroy removes the MAC in every VLAN", []agentx.VarBind{vb(macEntry+"4.7.2.0.0.0.0.10", agentx.Integer(6))},
			[]psec.Change{psec.RemoveAddress(7, macA, 0)}},
		{"per-VLAN limits created in one PDU", []agentx.VarBind{
			vb(multiEntry+"5.7.10", agentx.Integer(4)),
			vb(multiEntry+"5.7.20", agentx.Integer(4)), vb(multiEntry+"2.7.20", agentx.Gauge32(3))},
			[]psec.Change{psec.SetVLANLimit(7, 10, 1), psec.SetVLANLimit(7, 20, 3)}},
		{"maximum of an existing row", []agentx.VarBind{vb(multiEntry+"2.7.1", agentx.Gauge32(2))},
			[]psec.Change{psec.SetVLANLimit(7, 1, 2)}},
		{"clear one VLAN", []agentx.VarBind{vb(multiEntry+"4.7.1", agentx.Integer(clearDynamic))},
			[]psec.Change{psec.ClearVLANAddresses(7, 1, psec.Dynamic)}},
		{"destroy a VLAN row with its last address", []agentx.VarBind{
			vb(multiEntry+"5.7.1", agentx.Integer(6)), vb(vlanEntry+"5.7.2.0.0.0.0.10.1", agentx.Integer(6))},
			[]psec.Change{psec.RemoveAddress(7, macA, 1)}},
		{"destroy a VLAN row after clearing the port", []agentx.VarBind{
			vb(multiEntry+"5.7.1", agentx.Integer(6)), vb(cfgEntry+"14.7", agentx.Integer(clearAll))},
			[]psec.Change{psec.ClearAddresses(7, 0)}},
		{"deprecated table create", []agentx.VarBind{vb(macEntry+"4.8.2.0.0.0.0.11", agentx.Integer(4))},
			[]psec.Change{psec.AddStatic(8, macB, 0)}},
		{"globals in one change", []agentx.VarBind{
			vb("1.3.6.1.4.1.9.9.315.1.1.4.0", agentx.Integer(5)),
			vb("1.3.6.1.4.1.9.9.315.1.1.5.0", agentx.Integer(truthFalse))},
			[]psec.Change{psec.SetGlobal(psec.Global{Enabled: true, NotifRate: 5})}},
		{"global clear of every port", []agentx.VarBind{vb("1.3.6.1.4.1.9.9.315.1.1.6.0", agentx.Integer(clearAll))},
			[]psec.Change{psec.ClearAddresses(7, 0), psec.ClearAddresses(8, 0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if serr := f.set(c.vbs...); serr != nil {
				t.Fatalf("SET: %v", serr)
			}
			if len(f.eng.validated) != 1 || !reflect.DeepEqual(f.eng.validated[0], c.want) {
				t.Errorf("validated %+v, want %+v", f.eng.validated, c.want)
			}
			if len(f.eng.applied) != 1 || !reflect.DeepEqual(f.eng.applied[0], c.want) {
				t.Errorf("applied %+v, want %+v", f.eng.applied, c.want)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		verdict error
		vbs     []agentx.VarBind
		status  agentx.ErrorStatus
		index   int
	}{
		{"maximum below count", &psec.RuleError{Index: 0, Ifindex: 7, Field: "Maximum", Kind: psec.Inconsistent},
			[]agentx.VarBind{vb(cfgEntry+"8.7", agentx.Integer(1)), vb(cfgEntry+"3.7", agentx.Integer(2))}, agentx.InconsistentValue, 2},
		{"static MAC secure elsewhere", &psec.RuleError{Index: 0, Ifindex: 8, Field: psec.FieldMAC, Kind: psec.Inconsistent},
			[]agentx.VarBind{vb(vlanEntry+"5.8.2.0.0.0.0.10.1", agentx.Integer(4))}, agentx.InconsistentValue, 1},
		{"engine wrong value", &psec.RuleError{Index: 0, Ifindex: 7, Field: "AgingTime", Kind: psec.WrongValue},
			[]agentx.VarBind{vb(cfgEntry+"5.7", agentx.Integer(1440))}, agentx.WrongValue, 1},
		{"global rate", &psec.RuleError{Index: 0, Field: "NotifRate", Kind: psec.WrongValue},
			[]agentx.VarBind{vb("1.3.6.1.4.1.9.9.315.1.1.4.0", agentx.Integer(7))}, agentx.WrongValue, 1},
		{"createAndWait", nil, []agentx.VarBind{vb(vlanEntry+"5.7.2.0.0.0.0.11.1", agentx.Integer(5))}, agentx.WrongValue, 1},
		{"not a bridge port", nil, []agentx.VarBind{vb(vlanEntry+"5.9.2.0.0.0.0.11.1", agentx.Integer(4))}, agentx.NoCreation, 1},
		{"no flooding control", nil, []agentx.VarBind{vb(cfgEntry+"12.7", agentx.Integer(truthFalse))}, agentx.WrongValue, 1},
		{"no config row", nil, []agentx.VarBind{vb(cfgEntry+"3.9", agentx.Integer(2))}, agentx.NoCreation, 1},
		{"read-only status", nil, []agentx.VarBind{vb(cfgEntry+"2.7", agentx.Integer(1))}, agentx.NotWritable, 1},
		{"VLAN still in use", nil, []agentx.VarBind{vb(multiEntry+"5.7.1", agentx.Integer(6))}, agentx.InconsistentValue, 1},
		{"VLAN still in use after clearing another type", nil, []agentx.VarBind{
			vb(cfgEntry+"14.7", agentx.Integer(clearSticky)), vb(multiEntry+"5.7.1", agentx.Integer(6))}, agentx.InconsistentValue, 2},
		{"VLAN limit below the VLAN's count", &psec.RuleError{Index: 0, Ifindex: 7, Field: psec.FieldVLANLimit, Kind: psec.Inconsistent},
			[]agentx.VarBind{vb(multiEntry+"5.7.20", agentx.Integer(4)), vb(multiEntry+"2.7.20", agentx.Gauge32(0))}, agentx.InconsistentValue, 2},
		{"VLAN limit from the default", &psec.RuleError{Index: 0, Ifindex: 7, Field: psec.FieldVLANLimit, Kind: psec.Inconsistent},
			[]agentx.VarBind{vb(multiEntry+"5.7.20", agentx.Integer(4))}, agentx.InconsistentValue, 1},
		{"VLAN the port does not carry", &psec.RuleError{Index: 0, Ifindex: 7, Field: psec.FieldVLAN, Kind: psec.Inconsistent},
			[]agentx.VarBind{vb(multiEntry+"2.7.30", agentx.Gauge32(2)), vb(multiEntry+"5.7.10", agentx.Integer(4)),
				vb(multiEntry+"5.7.30", agentx.Integer(4))}, agentx.InconsistentValue, 3},
		{"VLAN limit too large", &psec.RuleError{Index: 0, Ifindex: 7, Field: psec.FieldVLANLimit, Kind: psec.WrongValue},
			[]agentx.VarBind{vb(multiEntry+"2.7.1", agentx.Gauge32(1<<30))}, agentx.WrongValue, 1},
		{"VLAN row by createAndWait", nil, []agentx.VarBind{vb(multiEntry+"5.7.20", agentx.Integer(5))}, agentx.WrongValue, 1},
		{"VLAN row of no bridge port", nil, []agentx.VarBind{vb(multiEntry+"5.9.20", agentx.Integer(4))}, agentx.NoCreation, 1},
		{"VLAN row beyond 4094", nil, []agentx.VarBind{vb(multiEntry+"5.7.5000", agentx.Integer(4))}, agentx.WrongValue, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.eng.verdict = c.verdict
			serr := f.set(c.vbs...)
			if serr == nil || serr.Status != c.status || serr.Index != c.index {
				t.Fatalf("SET: %v, want %s on varbind %d", serr, c.status, c.index)
			}
			if len(f.eng.applied) != 0 {
				t.Fatalf("applied %v after a refused SET", f.eng.applied)
			}
		})
	}
}

func TestReenableShutDownPort(t *testing.T) {
	f := newFixture(t)
	f.eng.ports[0].Status = psec.StatusShutdown
	if serr := f.set(vb(cfgEntry+"1.7", agentx.Integer(truthTrue))); serr != nil {
		t.Fatal(serr)
	}
	on := f.eng.ports[0].Config
	off := on
	off.Enabled = false
	if want := []psec.Change{psec.SetPort(7, off), psec.SetPort(7, on)}; !reflect.DeepEqual(f.eng.applied, [][]psec.Change{want}) {
		t.Fatalf("applied %+v, want a disable/enable cycle", f.eng.applied)
	}
}

func TestSyncFollowsEngine(t *testing.T) {
	f := newFixture(t)
	f.eng.mu.Lock()
	f.eng.ports[0].Entries = []psec.Entry{{MAC: macB, VLAN: 1, Type: psec.Sticky}}
	f.eng.mu.Unlock()
	f.b.invalidate()
	if err := f.b.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := f.get(vlanEntry + "3.7.2.0.0.0.0.10.1"); got.Type != agentx.TypeNoSuchInstance {
		t.Errorf("aged address still served: %v", got)
	}
	if got := f.get(vlanEntry + "3.7.2.0.0.0.0.11.1"); !reflect.DeepEqual(got, agentx.Integer(3)) {
		t.Errorf("learned sticky address reads %v, want sticky(3)", got)
	}
	if got := f.get(macEntry + "2.7.2.0.0.0.0.11"); !reflect.DeepEqual(got, agentx.Integer(2)) {
		t.Errorf("sticky in the deprecated table reads %v, want dynamic(2)", got)
	}
}

func TestViolationNotifications(t *testing.T) {
	for _, c := range []struct {
		name    string
		global  psec.Global
		events  int
		traps   int
		trapOID string
	}{
		{"notify every violation", psec.Global{Enabled: true, NotifControl: true}, 4, 4, oidNotifViolation.String()},
		{"notifications off", psec.Global{Enabled: true}, 3, 0, ""},
		{"rate cap", psec.Global{Enabled: true, NotifControl: true, NotifRate: 2}, 5, 2, oidNotifViolation.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.eng.global = c.global
			for range c.events {
				f.b.violation(context.Background(), psec.Event{Kind: psec.EventViolation, Ifindex: 7, MAC: macB, VLAN: 1})
			}
			if len(f.traps.got) != c.traps {
				t.Fatalf("%d notifications, want %d", len(f.traps.got), c.traps)
			}
			if len(f.syslog) != c.events {
				t.Fatalf("%d syslog lines, want %d", len(f.syslog), c.events)
			}
			if line := <-f.syslog; !strings.Contains(line, "0200.0000.000b") || !strings.Contains(line, "p1") {
				t.Errorf("syslog line %q lacks the MAC or the port", line)
			}
			if c.traps == 0 {
				return
			}
			vbs := <-f.traps.got
			want := []agentx.VarBind{
				{Name: snmpTrapOID, Value: agentx.ObjectID(agentx.MustParseOID(c.trapOID))},
				{Name: agentx.MustParseOID("1.3.6.1.2.1.2.2.1.1.7"), Value: agentx.Integer(7)},
				{Name: agentx.MustParseOID("1.3.6.1.2.1.31.1.1.1.1.7"), Value: agentx.OctetString([]byte("p1"))},
				{Name: agentx.MustParseOID(cfgEntry + "10.7"), Value: agentx.OctetString(macB[:])},
			}
			if !reflect.DeepEqual(vbs, want) {
				t.Errorf("notification %v, want %v", vbs, want)
			}
		})
	}
}

func TestVlanViolationNotification(t *testing.T) {
	for _, c := range []struct {
		name     string
		vlans    psec.Membership
		ev       psec.Event
		vlanTrap bool
		vlan     uint32
	}{
		{"single-VLAN port", psec.Membership{Filtering: true, PVID: 10}, psec.Event{VLAN: 10}, false, 0},
		{"bridge without VLAN filtering", psec.UnfilteredMembership(), psec.Event{VLAN: 1}, false, 0},
		{"voice port, data VLAN", psec.Membership{Filtering: true, PVID: 10, Tagged: []uint16{20}}, psec.Event{VLAN: 10}, true, 10},
		{"voice port, untagged frame", psec.Membership{Filtering: true, PVID: 10, Tagged: []uint16{20}}, psec.Event{}, true, 10},
		{"trunk", psec.Membership{Filtering: true, Tagged: []uint16{20, 30}}, psec.Event{VLAN: 30}, true, 30},
		{"VLAN-only violation", psec.Membership{Filtering: true, PVID: 10}, psec.Event{VLAN: 10, VLANOnly: true}, true, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.update(func(p *psec.PortState) { p.VLANs = c.vlans })
			ev := c.ev
			ev.Kind, ev.Ifindex, ev.MAC = psec.EventViolation, 7, macB
			f.b.violation(context.Background(), ev)
			vbs := <-f.traps.got
			if !c.vlanTrap {
				if !vbs[0].Value.OID.Equal(oidNotifViolation) {
					t.Fatalf("notification %v, want cpsSecureMacAddrViolation", vbs)
				}
				return
			}
			want := []agentx.VarBind{
				{Name: snmpTrapOID, Value: agentx.ObjectID(oidNotifVlanViolation)},
				{Name: agentx.MustParseOID("1.3.6.1.2.1.31.1.1.1.1.7"), Value: agentx.OctetString([]byte("p1"))},
				{Name: agentx.MustParseOID(cfgEntry + "18.7"), Value: agentx.Gauge32(c.vlan)},
				{Name: agentx.MustParseOID(cfgEntry + "10.7"), Value: agentx.OctetString(macB[:])},
			}
			if !reflect.DeepEqual(vbs, want) {
				t.Fatalf("notification %v, want %v", vbs, want)
			}
		})
	}
}

func TestVLANShutdownSyslog(t *testing.T) {
	f := newFixture(t)
	f.update(voicePort)
	events := make(chan psec.Event, 2)
	f.eng.events = events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	events <- psec.Event{Kind: psec.EventVLANShutdown, Ifindex: 7, MAC: macB, VLAN: 20}
	select {
	case line := <-f.syslog:
		want := "%PORT_SECURITY-2-PSECURE_VIOLATION_VLAN: Security violation on port p1 due to MAC address 0200.0000.000b on VLAN 20"
		if line != want {
			t.Fatalf("syslog %q, want %q", line, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no syslog line for a VLAN shutdown")
	}
	if len(f.traps.got) != 0 {
		t.Fatal("a VLAN shutdown is not a notification of its own")
	}
}

// TestMultiVlanRows: rows are the VLANs with a limit and those holding
// addresses; the maximum reads the engine's limit; the same MAC in two
// VLANs is two rows of the VLAN table and one of the deprecated table.
func TestMultiVlanRows(t *testing.T) {
	f := newFixture(t)
	f.update(func(p *psec.PortState) {
		voicePort(p)
		p.VLANLimits = map[uint16]int{10: 1, 20: 0, 30: 4}
		p.Entries = []psec.Entry{{MAC: macA, VLAN: 10, Type: psec.Dynamic}, {MAC: macA, VLAN: 20, Type: psec.Static},
			{MAC: macB, VLAN: 20, Type: psec.Sticky}}
	})
	for _, c := range []struct {
		oid  string
		want agentx.Value
	}{
		{multiEntry + "2.7.10", agentx.Gauge32(1)},
		{multiEntry + "3.7.10", agentx.Gauge32(1)},
		{multiEntry + "2.7.20", agentx.Gauge32(0)}, // a row without a limit of its own
		{multiEntry + "3.7.20", agentx.Gauge32(2)},
		{multiEntry + "2.7.30", agentx.Gauge32(4)}, // a limit, no addresses yet
		{multiEntry + "3.7.30", agentx.Gauge32(0)},
		{multiEntry + "4.7.30", agentx.Integer(clearDone)},
		{multiEntry + "5.7.30", agentx.Integer(1)},
		{multiEntry + "2.7.1", agentx.NoSuchInstance()}, // macA left VLAN 1
		{vlanEntry + "3.7.2.0.0.0.0.10.10", agentx.Integer(2)},
		{vlanEntry + "3.7.2.0.0.0.0.10.20", agentx.Integer(1)},
		{macEntry + "2.7.2.0.0.0.0.10", agentx.Integer(2)}, // its first VLAN
		{macEntry + "2.7.2.0.0.0.0.11", agentx.Integer(2)},
		{cfgEntry + "4.7", agentx.Integer(3)},
		{cfgEntry + "18.7", agentx.Gauge32(1)}, // the last violation's VLAN
	} {
		if got := f.get(c.oid); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GET %s = %v, want %v", c.oid, got, c.want)
		}
	}
	if n := len(f.b.Group().Rows(f.b.mac)); n != 2 {
		t.Errorf("%d rows in cpsSecureMacAddressTable, want one per MAC (2)", n)
	}
	// The engine's limit changes and goes: the row follows.
	f.update(func(p *psec.PortState) { p.VLANLimits = map[uint16]int{10: 2} })
	if got := f.get(multiEntry + "2.7.10"); !reflect.DeepEqual(got, agentx.Gauge32(2)) {
		t.Errorf("maximum %v after the engine's change, want 2", got)
	}
	if got := f.get(multiEntry + "2.7.30"); got.Type != agentx.TypeNoSuchInstance {
		t.Errorf("row of a removed limit without addresses still there: %v", got)
	}
}

func TestLastVLANWithoutViolation(t *testing.T) {
	f := newFixture(t)
	f.update(func(p *psec.PortState) { voicePort(p); p.LastVLAN = 0 })
	if got := f.get(cfgEntry + "18.7"); !reflect.DeepEqual(got, agentx.Gauge32(10)) {
		t.Errorf("cpsIfSecureLastMacAddrVlanId %v before any violation, want the PVID 10", got)
	}
	f.update(func(p *psec.PortState) { p.VLANs = psec.Membership{Filtering: true, Tagged: []uint16{20, 30}} })
	if got := f.get(cfgEntry + "18.7"); !reflect.DeepEqual(got, agentx.Gauge32(1)) {
		t.Errorf("cpsIfSecureLastMacAddrVlanId %v on a trunk without PVID, want 1", got)
	}
}

// TestUndoRestoresVLANLimits: UndoSet puts back the configuration, the
// per-VLAN limits and the static addresses the PDU changed.
func TestUndoRestoresVLANLimits(t *testing.T) {
	f := newFixture(t)
	f.update(func(p *psec.PortState) {
		voicePort(p)
		p.VLANLimits = map[uint16]int{10: 2}
		p.Entries = append(p.Entries, psec.Entry{MAC: macB, VLAN: 10, Type: psec.Static})
	})
	before := f.eng.ports[0]
	tx, serr := f.b.Handler().TestSet([]agent.SetVarBind{
		{Index: 1, VarBind: vb(multiEntry+"2.7.10", agentx.Gauge32(1))},
		{Index: 2, VarBind: vb(multiEntry+"5.7.20", agentx.Integer(4))},
		{Index: 3, VarBind: vb(cfgEntry+"3.7", agentx.Integer(3))}})
	if serr != nil {
		t.Fatal(serr)
	}
	defer tx.Cleanup()
	if serr := tx.Commit(); serr != nil {
		t.Fatal(serr)
	}
	if serr := tx.Undo(); serr != nil {
		t.Fatal(serr)
	}
	want := []psec.Change{psec.ClearAddresses(7, psec.Static), psec.SetPort(7, before.Config),
		psec.RemoveVLANLimit(7, 20), psec.SetVLANLimit(7, 10, 2), psec.AddStatic(7, macB, 10)}
	if len(f.eng.applied) != 2 || !reflect.DeepEqual(f.eng.applied[1], want) {
		t.Fatalf("applied %+v, want the undo %+v", f.eng.applied, want)
	}
}

func TestBucket(t *testing.T) {
	var k bucket
	t0 := time.Unix(1000, 0)
	for i, c := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {0, true}, {0, true}, {0, false}, {300 * time.Millisecond, false}, {334 * time.Millisecond, true}, {time.Hour, true}} {
		if got := k.allow(3, t0.Add(c.at)); got != c.want {
			t.Errorf("step %d at %v: allow = %v, want %v", i, c.at, got, c.want)
		}
	}
	if !k.allow(0, t0) {
		t.Error("rate 0 must not cap")
	}
}
