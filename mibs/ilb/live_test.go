package ilb

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/lb"
	"tapagent/mibs/ilb/ilbtest"
)

// listingEngine is the test engine with connection listings.
type listingEngine struct {
	*ilbtest.Engine
	mu      sync.Mutex
	nat     []lb.NATEntry
	persist []lb.PersistEntry
	reads   int
}

func (e *listingEngine) NATEntries(string) ([]lb.NATEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reads++
	return append([]lb.NATEntry(nil), e.nat...), nil
}

func (e *listingEngine) PersistEntries(string) ([]lb.PersistEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]lb.PersistEntry(nil), e.persist...), nil
}

func (e *listingEngine) set(nat []lb.NATEntry, pt []lb.PersistEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nat, e.persist = nat, pt
}

// walk collects every instance below root through h, as snmpd's GETNEXT
// chain does.
func walk(h agent.Handler, root agentx.OID) []agentx.VarBind {
	var out []agentx.VarBind
	cur := root
	for {
		vb, ok := h.Next(cur, false, nil)
		if !ok || !vb.Name.HasPrefix(root) {
			return out
		}
		out = append(out, vb)
		cur = vb.Name
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestConnectionTables(t *testing.T) {
	e := &listingEngine{Engine: ilbtest.NewEngine(nil)}
	b := New(e, nil, nil)
	nat := []lb.NATEntry{
		{Rule: "web", ServerID: "_sg.0", Protocol: lb.TCP, Client: ap("198.18.0.2:40000"), VIP: ap("198.18.1.1:80"),
			Proxy: ap("198.18.0.2:40000"), Server: ap("198.18.2.2:8080"), Age: 3 * time.Second, Remaining: 117 * time.Second},
		{Rule: "web6", ServerID: "_sg6.1", Protocol: lb.UDP, Client: ap("[2001:db8::2]:5000"), VIP: ap("[2001:db8:1::1]:53"),
			Proxy: ap("[2001:db8:2::9]:61000"), Server: ap("[2001:db8:3::2]:53"), Remaining: time.Minute},
	}
	pt := []lb.PersistEntry{{Rule: "web", Prefix: netip.MustParsePrefix("198.18.0.0/24"), ServerID: "_sg.1",
		Server: netip.MustParseAddr("198.18.3.2"), Remaining: 30 * time.Second}}
	e.set(nat, pt)
	h := b.Handler()

	gotNat := DecodeNat(walk(h, NatTable))
	wantNat := []NatEntry{
		{Rule: "web", Protocol: lb.TCP, Client: nat[0].Client, Vip: nat[0].VIP, Proxy: nat[0].Proxy, Server: nat[0].Server},
		{Rule: "web6", Protocol: lb.UDP, Client: nat[1].Client, Vip: nat[1].VIP, Proxy: nat[1].Proxy, Server: nat[1].Server},
	}
	if len(gotNat) != len(wantNat) {
		t.Fatalf("ilbNatTable walk: %+v, want %+v", gotNat, wantNat)
	}
	for i := range wantNat {
		if gotNat[i] != wantNat[i] {
			t.Errorf("nat row %d: %+v, want %+v", i, gotNat[i], wantNat[i])
		}
	}
	gotPt := DecodePersist(walk(h, PersistTable))
	if len(gotPt) != 1 || gotPt[0] != (PersistEntry{Rule: "web", Client: pt[0].Prefix, Server: pt[0].Server}) {
		t.Errorf("ilbPersistTable walk: %+v", gotPt)
	}

	// Columns the manager does not decode.
	idx := []agentx.Value{str("web"), agentx.Integer(1), addrBytes(nat[0].Client.Addr()), agentx.Gauge32(40000), agentx.Gauge32(80)}
	for col, want := range map[uint32]agentx.Value{natServerID: str("_sg.0"), natAge: agentx.Gauge32(3), natRemaining: agentx.Gauge32(117)} {
		oid, err := b.nat.InstanceOID(col, idx...)
		if err != nil {
			t.Fatal(err)
		}
		if v := h.Get(oid); !v.Equal(want) {
			t.Errorf("ilbNatTable column %d = %v, want %v", col, v, want)
		}
	}

	// Within a second the listing is read once, however many requests.
	if e.reads != 1 {
		t.Errorf("conntrack read %d times for two walks, want 1", e.reads)
	}

	// Later, ended connections disappear.
	e.set(nat[:1], nil)
	b.liveMu.Lock()
	b.liveAt = time.Now().Add(-2 * liveTTL)
	b.liveMu.Unlock()
	if got := DecodeNat(walk(h, NatTable)); len(got) != 1 || got[0].Rule != "web" {
		t.Errorf("after refresh ilbNatTable: %+v", got)
	}
	if got := DecodePersist(walk(h, PersistTable)); len(got) != 0 {
		t.Errorf("after refresh ilbPersistTable: %+v", got)
	}
}

// A walk of other tables does not read conntrack.
func TestConnectionTablesReadOnlyWhenReached(t *testing.T) {
	e := &listingEngine{Engine: ilbtest.NewEngine(nil)}
	b := New(e, nil, nil)
	h := b.Handler()
	h.Get(oidServerHealthNotifEnabled.Append(0))
	h.Next(ilbObjects.Append(11), false, nil)
	h.Next(ilbObjects.Append(2), false, ilbObjects.Append(3))
	if e.reads != 0 {
		t.Errorf("conntrack read %d times, want 0", e.reads)
	}
	h.Next(ilbObjects.Append(5), false, nil)
	if e.reads != 1 {
		t.Errorf("a walk passing ilbNatTable read conntrack %d times, want 1", e.reads)
	}
}
