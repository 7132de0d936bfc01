package portsec

import (
	"errors"
	"testing"
	"time"
)

func TestApplyAllRules(t *testing.T) {
	a, b, c := MAC{2, 0, 0, 0, 0, 0xa}, MAC{2, 0, 0, 0, 0, 0xb}, MAC{2, 0, 0, 0, 0, 0xc}
	on := func(max int) PortConfig { return secureConfig(max, Restrict) }
	// base: port 1 at maximum 1 with static a, port 2 at maximum 2 with dynamic b.
	base := func() *state {
		s := newState()
		p := s.port(1)
		p.cfg = on(1)
		p.entries[addr{a, 1}] = entry{typ: Static}
		q := s.port(2)
		q.cfg = on(2)
		q.entries[addr{b, 1}] = entry{typ: Dynamic}
		// Port 3: access VLAN 10 and voice VLAN 20 on a filtering bridge,
		// maximum 3, the PC's address learned in VLAN 10.
		r := s.port(3)
		r.cfg = on(3)
		r.vlans = Membership{Filtering: true, PVID: 10, Tagged: []uint16{20}}
		r.entries[addr{c, 10}] = entry{typ: Dynamic}
		return s
	}
	voiceOne := on(1)
	tests := []struct {
		name    string
		changes []Change
		want    error // nil, ErrWrongValue, ErrInconsistent, ErrNoSuchEntry
		index   int
		entries map[int]int // port → addresses after a successful apply
	}{
		{"PacketFence replace at maximum 1", []Change{RemoveAddress(1, a, 0), AddStatic(1, c, 0)}, nil, 0, map[int]int{1: 1}},
		{"add beyond maximum", []Change{AddStatic(1, c, 0)}, ErrInconsistent, 0, nil},
		{"add then raise maximum in the same PDU", []Change{AddStatic(1, c, 0), SetPort(1, on(2))}, nil, 0, map[int]int{1: 2}},
		{"lower maximum below count", []Change{AddStatic(2, c, 0), SetPort(2, on(1))}, ErrInconsistent, 1, nil},
		{"static secure on another port", []Change{AddStatic(2, a, 0)}, ErrInconsistent, 0, nil},
		{"static learned on another port", []Change{SetPort(1, on(2)), AddStatic(1, b, 0)}, ErrInconsistent, 1, nil},
		{"same MAC in another VLAN is fine", []Change{SetPort(1, on(2)), AddStatic(1, b, 7)}, nil, 0, map[int]int{1: 2}},
		{"voice VLAN needs two", []Change{ClearAddresses(3, 0), SetPort(3, voiceOne)}, ErrInconsistent, 1, nil},
		{"voice VLAN with two", []Change{SetPort(3, on(2))}, nil, 0, map[int]int{3: 1}},
		{"static on two ports in different VLANs", []Change{AddStatic(3, a, 20)}, nil, 0, map[int]int{3: 2}}, // a is static on port 1 in VLAN 1
		{"static in a VLAN the port lacks", []Change{AddStatic(3, b, 30)}, ErrInconsistent, 0, nil},
		{"static defaults to the PVID", []Change{AddStatic(3, b, 0)}, nil, 0, map[int]int{3: 2}},
		{"same MAC in two VLANs of a port", []Change{AddStatic(3, c, 20)}, nil, 0, map[int]int{3: 2}},
		{"VLAN limit", []Change{SetVLANLimit(3, 10, 1), SetVLANLimit(3, 20, 1)}, nil, 0, map[int]int{3: 1}},
		{"VLAN limit below the VLAN's count", []Change{AddStatic(3, b, 10), SetVLANLimit(3, 10, 1)}, ErrInconsistent, 1, nil},
		{"VLAN limit then a second address", []Change{SetVLANLimit(3, 10, 1), AddStatic(3, b, 10)}, ErrInconsistent, 1, nil},
		{"VLAN limit 0 is no limit", []Change{SetVLANLimit(3, 10, 0), AddStatic(3, b, 10)}, nil, 0, map[int]int{3: 2}},
		{"VLAN limit on a VLAN the port lacks", []Change{SetVLANLimit(3, 30, 1)}, ErrInconsistent, 0, nil},
		{"VLAN limit out of range", []Change{SetVLANLimit(3, 10, MaxPerPort+1)}, ErrWrongValue, 0, nil},
		{"VLAN 0 limit", []Change{SetVLANLimit(3, 0, 1)}, ErrWrongValue, 0, nil},
		{"remove one VLAN of a MAC", []Change{AddStatic(3, c, 20), RemoveAddress(3, c, 10)}, nil, 0, map[int]int{3: 1}},
		{"clear one VLAN", []Change{AddStatic(3, b, 20), ClearVLANAddresses(3, 10, 0)}, nil, 0, map[int]int{3: 1}},
		{"multicast static", []Change{SetPort(1, on(2)), AddStatic(1, MAC{1, 0, 0x5e, 0, 0, 1}, 0)}, ErrWrongValue, 1, nil},
		{"maximum zero", []Change{SetPort(1, on(0))}, ErrWrongValue, 0, nil},
		{"unknown violation mode", []Change{SetPort(1, secureConfig(1, 4))}, ErrWrongValue, 0, nil},
		{"VLAN 4095", []Change{SetPort(1, on(2)), AddStatic(1, c, 4095)}, ErrWrongValue, 1, nil},
		{"remove unknown", []Change{RemoveAddress(2, c, 0)}, ErrNoSuchEntry, 0, nil},
		{"remove in the wrong VLAN", []Change{RemoveAddress(2, b, 5)}, ErrNoSuchEntry, 0, nil},
		{"clear dynamic", []Change{ClearAddresses(2, Dynamic)}, nil, 0, map[int]int{2: 0}},
		{"disable drops dynamic, keeps static", []Change{SetPort(2, DefaultPortConfig()), SetPort(1, DefaultPortConfig())}, nil, 0, map[int]int{1: 1, 2: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			err := applyAll(s, tc.changes, time.Now(), time.Minute)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				for p, n := range tc.entries {
					if got := len(s.ports[p].entries); got != n {
						t.Fatalf("port %d has %d addresses, want %d", p, got, n)
					}
				}
				return
			}
			var re *RuleError
			if !errors.Is(err, tc.want) || !errors.As(err, &re) || re.Index != tc.index {
				t.Fatalf("got %v, want %v at change %d", err, tc.want, tc.index)
			}
		})
	}
}

func TestStickyTransitions(t *testing.T) {
	a := MAC{2, 0, 0, 0, 0, 0xa}
	s := newState()
	p := s.port(1)
	cfg := secureConfig(2, Restrict)
	cfg.AgingTime = 3
	p.cfg = cfg
	now := time.Now()
	p.entries[addr{a, 1}] = entry{typ: Dynamic, expires: now.Add(time.Minute)}

	cfg.Sticky = true
	if err := applyAll(s, []Change{SetPort(1, cfg)}, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if e := p.entries[addr{a, 1}]; e.typ != Sticky || !e.expires.IsZero() {
		t.Fatalf("sticky on: %+v, want sticky without aging", e)
	}
	cfg.Sticky = false
	if err := applyAll(s, []Change{SetPort(1, cfg)}, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if e := p.entries[addr{a, 1}]; e.typ != Dynamic || !e.expires.Equal(now.Add(3*time.Minute)) {
		t.Fatalf("sticky off: %+v, want dynamic aging in 3 minutes", e)
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	f := FileStore{Path: t.TempDir() + "/ps.json"}
	if _, ok, err := f.Load(); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	s := newState()
	p := s.port(4)
	p.cfg = secureConfig(3, Shutdown)
	p.entries[addr{MAC{2, 0, 0, 0, 0, 1}, 9}] = entry{typ: Sticky}
	p.entries[addr{MAC{2, 0, 0, 0, 0, 2}, 9}] = entry{typ: Dynamic}
	p.limits[9] = 2
	until := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	p.shutdown, p.until = true, until
	p.shutVLANs[20] = until
	if err := f.Save(s.snapshot()); err != nil {
		t.Fatal(err)
	}
	snap, ok, err := f.Load()
	if err != nil || !ok {
		t.Fatalf("load: ok=%v err=%v", ok, err)
	}
	back, err := stateFrom(snap)
	if err != nil {
		t.Fatal(err)
	}
	q := back.ports[4]
	if q.cfg != p.cfg || len(q.entries) != 1 || q.entries[addr{MAC{2, 0, 0, 0, 0, 1}, 9}] != (entry{typ: Sticky}) {
		t.Fatalf("round trip: %+v", q)
	}
	if q.limits[9] != 2 || !q.shutdown || !q.until.Equal(until) || !q.shutVLANs[20].Equal(until) {
		t.Fatalf("round trip lost limits or shutdown state: %+v", q)
	}
}

func TestParsePortVLANs(t *testing.T) {
	tests := []struct {
		in   string
		name string
		want Membership
		ok   bool
	}{
		{"p1=10,20", "p1", Membership{Filtering: true, Declared: true, PVID: 10, Tagged: []uint16{20}}, true},
		{"p1=10", "p1", Membership{Filtering: true, Declared: true, PVID: 10}, true},
		{"trunk0=0,30,20,30", "trunk0", Membership{Filtering: true, Declared: true, Tagged: []uint16{20, 30}}, true},
		{"p1=10,10,20", "p1", Membership{Filtering: true, Declared: true, PVID: 10, Tagged: []uint16{20}}, true},
		{"p1=4095", "", Membership{}, false},
		{"p1=10,0", "", Membership{}, false},
		{"p1=", "", Membership{}, false},
		{"=10", "", Membership{}, false},
		{"p1=ten", "", Membership{}, false},
	}
	for _, tc := range tests {
		name, m, err := ParsePortVLANs(tc.in)
		if (err == nil) != tc.ok || name != tc.name || !m.equal(tc.want) {
			t.Errorf("ParsePortVLANs(%q) = %q %+v %v, want %q %+v ok=%v", tc.in, name, m, err, tc.name, tc.want, tc.ok)
		}
	}
	voice := Membership{Filtering: true, PVID: 10, Tagged: []uint16{20}}
	trunk := Membership{Filtering: true, Tagged: []uint16{20, 30}}
	access := Membership{Filtering: true, PVID: 10}
	switch {
	case voice.VoiceVLAN() != 20 || !voice.MultiVLAN() || !voice.Carries(20) || voice.Carries(30):
		t.Errorf("voice port %+v", voice)
	case trunk.VoiceVLAN() != 0 || !trunk.MultiVLAN() || trunk.Carries(10):
		t.Errorf("trunk port %+v", trunk)
	case access.VoiceVLAN() != 0 || access.MultiVLAN() || !access.Carries(10) || access.Carries(20):
		t.Errorf("access port %+v", access)
	case !UnfilteredMembership().Carries(4000) || UnfilteredMembership().MultiVLAN():
		t.Error("an unfiltered port carries every VLAN and is not multi-VLAN")
	}
}
