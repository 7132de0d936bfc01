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
		p.entries[a] = entry{vlan: 1, typ: Static}
		q := s.port(2)
		q.cfg = on(2)
		q.entries[b] = entry{vlan: 1, typ: Dynamic}
		return s
	}
	voice := on(1)
	voice.VoiceVLAN = 20
	tests := []struct {
		name    string
		changes []Change
		want    error // nil, ErrWrongValue, ErrInconsistent, ErrNoSuchEntry
		index   int
		entries map[int]int // port → addresses after a successful apply
	}{
		{"PacketFence replace at maximum 1", []Change{RemoveAddress(1, a), AddStatic(1, c, 0)}, nil, 0, map[int]int{1: 1}},
		{"add beyond maximum", []Change{AddStatic(1, c, 0)}, ErrInconsistent, 0, nil},
		{"add then raise maximum in the same PDU", []Change{AddStatic(1, c, 0), SetPort(1, on(2))}, nil, 0, map[int]int{1: 2}},
		{"lower maximum below count", []Change{AddStatic(2, c, 0), SetPort(2, on(1))}, ErrInconsistent, 1, nil},
		{"static secure on another port", []Change{AddStatic(2, a, 0)}, ErrInconsistent, 0, nil},
		{"static learned on another port", []Change{SetPort(1, on(2)), AddStatic(1, b, 0)}, ErrInconsistent, 1, nil},
		{"same MAC in another VLAN is fine", []Change{SetPort(1, on(2)), AddStatic(1, b, 7)}, nil, 0, map[int]int{1: 2}},
		{"voice VLAN needs two", []Change{SetPort(1, voice)}, ErrInconsistent, 0, nil},
		{"multicast static", []Change{SetPort(1, on(2)), AddStatic(1, MAC{1, 0, 0x5e, 0, 0, 1}, 0)}, ErrWrongValue, 1, nil},
		{"maximum zero", []Change{SetPort(1, on(0))}, ErrWrongValue, 0, nil},
		{"unknown violation mode", []Change{SetPort(1, secureConfig(1, 4))}, ErrWrongValue, 0, nil},
		{"VLAN 4095", []Change{SetPort(1, on(2)), AddStatic(1, c, 4095)}, ErrWrongValue, 1, nil},
		{"remove unknown", []Change{RemoveAddress(2, c)}, ErrNoSuchEntry, 0, nil},
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
	p.entries[a] = entry{vlan: 1, typ: Dynamic, expires: now.Add(time.Minute)}

	cfg.Sticky = true
	if err := applyAll(s, []Change{SetPort(1, cfg)}, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if e := p.entries[a]; e.typ != Sticky || !e.expires.IsZero() {
		t.Fatalf("sticky on: %+v, want sticky without aging", e)
	}
	cfg.Sticky = false
	if err := applyAll(s, []Change{SetPort(1, cfg)}, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if e := p.entries[a]; e.typ != Dynamic || !e.expires.Equal(now.Add(3*time.Minute)) {
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
	p.entries[MAC{2, 0, 0, 0, 0, 1}] = entry{vlan: 9, typ: Sticky}
	p.entries[MAC{2, 0, 0, 0, 0, 2}] = entry{vlan: 9, typ: Dynamic}
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
	if q.cfg != p.cfg || len(q.entries) != 1 || q.entries[MAC{2, 0, 0, 0, 0, 1}] != (entry{vlan: 9, typ: Sticky}) {
		t.Fatalf("round trip: %+v", q)
	}
}
