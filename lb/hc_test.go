package lb

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedProber answers probes from a script instead of the network.
type scriptedProber struct {
	mu     sync.Mutex
	calls  []probeKind
	answer func(kind probeKind, attempt int) bool // attempt counts per kind from 1
	count  map[probeKind]int
}

func (p *scriptedProber) run(j *probeJob) probeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == nil {
		p.count = map[probeKind]int{}
	}
	p.count[j.kind]++
	p.calls = append(p.calls, j.kind)
	ok := p.answer(j.kind, p.count[j.kind])
	r := probeResult{key: j.key, seq: j.seq, ok: ok}
	if ok {
		r.rtt = 400
	}
	return r
}

func (p *scriptedProber) close() {}

func (p *scriptedProber) kinds() []probeKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hcTarget1(test HCTest, active bool, mod func(*HealthCheck)) map[string]hcTarget {
	hc := NewHealthCheck("hc1", test)
	hc.Interval, hc.Timeout, hc.Count = 1, 1, 3
	if test == HCExternal {
		hc.ExternalMethod = "/bin/true"
	}
	if mod != nil {
		mod(&hc)
	}
	t := hcTarget{rule: "Web", serverID: "_web.0", hc: hc, vip: addr("198.18.9.1"), proto: TCP, topo: HalfNAT,
		serverPorts: PortRange{Min: 8080}, portMode: HCPortAny, server: addr("198.18.2.2"), active: active}
	return map[string]hcTarget{healthKey("web", "_web.0"): t}
}

// The state machine follows ilbd: a preliminary ping, the test, failures
// retried at once until hc-count in a row.
func TestCheckerStateMachine(t *testing.T) {
	P, T, X := probePing, probeTCP, probeExternal
	cases := []struct {
		name   string
		test   HCTest
		noPing bool
		active bool
		answer func(kind probeKind, attempt int) bool
		want   HealthState
		fails  uint32
		calls  []probeKind // the first cycle
		usable bool        // what the engine was told last (true: nothing)
	}{
		{"all pass", HCTCP, false, true, func(probeKind, int) bool { return true }, HealthAlive, 0, []probeKind{P, T}, true},
		{"test fails", HCTCP, false, true, func(k probeKind, _ int) bool { return k == P }, HealthDead, 3, []probeKind{P, T, T, T}, false},
		{"ping fails", HCTCP, false, true, func(probeKind, int) bool { return false }, HealthUnreach, 3, []probeKind{P, P, P}, false},
		{"ping test fails", HCPing, false, true, func(probeKind, int) bool { return false }, HealthUnreach, 3, []probeKind{P, P, P}, false},
		{"two failures then a pass", HCTCP, true, true, func(_ probeKind, n int) bool { return n > 2 }, HealthAlive, 0, []probeKind{T, T, T}, true},
		{"external without ping fails", HCExternal, true, true, func(probeKind, int) bool { return false }, HealthDead, 3, []probeKind{X, X, X}, false},
		{"disabled is not checked", HCTCP, false, false, func(probeKind, int) bool { return true }, HealthDisabled, 0, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &scriptedProber{answer: tc.answer}
			var mu sync.Mutex
			var applied []healthChange
			c := newChecker(p, 4, func(ch []healthChange) error {
				mu.Lock()
				applied = append(applied, ch...)
				mu.Unlock()
				return nil
			})
			defer c.stop()
			c.setTargets(hcTarget1(tc.test, tc.active, func(h *HealthCheck) { h.DefaultPing = !tc.noPing }))
			if !tc.active {
				waitFor(t, time.Second, "a result", func() bool { return len(c.list("")) == 1 })
				time.Sleep(1100 * time.Millisecond) // longer than the first check could take
			} else {
				waitFor(t, 3*time.Second, "the first cycle", func() bool { return len(p.kinds()) >= len(tc.calls) && c.list("")[0].State != HealthUninit })
			}
			r, ok := c.result("WEB", "_web.0")
			if !ok {
				t.Fatal("no result")
			}
			if r.State != tc.want || r.FailCount != tc.fails {
				t.Errorf("state %v with %d failures, want %v with %d", r.State, r.FailCount, tc.want, tc.fails)
			}
			if got := p.kinds(); len(got) < len(tc.calls) || !slices.Equal(got[:len(tc.calls)], tc.calls) {
				t.Errorf("probes %v, want %v first", got, tc.calls)
			}
			if tc.want == HealthAlive && r.RTT != 400 {
				t.Errorf("RTT %d, want 400", r.RTT)
			}
			if tc.active && (r.LastCheck.IsZero() || !r.NextCheck.After(r.LastCheck)) {
				t.Errorf("last check %v, next %v", r.LastCheck, r.NextCheck)
			}
			if tc.active {
				waitFor(t, time.Second, "the verdict to reach the engine", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return tc.usable || len(applied) > 0
				})
			}
			mu.Lock()
			if tc.usable && len(applied) != 0 {
				t.Errorf("engine told %v, want nothing", applied)
			}
			if !tc.usable && (len(applied) != 1 || applied[0].usable) {
				t.Errorf("engine told %v, want one 'not usable'", applied)
			}
			mu.Unlock()
		})
	}
}

// A server that fails and comes back is reported both ways, and its
// events carry old and new states.
func TestCheckerEventsAndRecovery(t *testing.T) {
	var mu sync.Mutex
	up := false
	p := &scriptedProber{answer: func(probeKind, int) bool { mu.Lock(); defer mu.Unlock(); return up }}
	var applied []bool
	var amu sync.Mutex
	c := newChecker(p, 2, func(ch []healthChange) error {
		amu.Lock()
		for _, x := range ch {
			applied = append(applied, x.usable)
		}
		amu.Unlock()
		return nil
	})
	defer c.stop()
	c.setTargets(hcTarget1(HCTCP, true, func(h *HealthCheck) { h.DefaultPing = false }))
	next := func() HealthEvent {
		t.Helper()
		select {
		case ev := <-c.events:
			return ev
		case <-time.After(3 * time.Second):
			t.Fatal("no event")
		}
		return HealthEvent{}
	}
	if ev := next(); ev.Old != HealthUninit || ev.New != HealthDead || ev.Rule != "Web" || ev.ServerID != "_web.0" {
		t.Errorf("first event %+v, want uninit → dead of Web/_web.0", ev)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	if ev := next(); ev.Old != HealthDead || ev.New != HealthAlive {
		t.Errorf("second event %+v, want dead → alive", ev)
	}
	// Disabling by configuration is an event too.
	c.setTargets(hcTarget1(HCTCP, false, func(h *HealthCheck) { h.DefaultPing = false }))
	if ev := next(); ev.Old != HealthAlive || ev.New != HealthDisabled {
		t.Errorf("third event %+v, want alive → disabled", ev)
	}
	waitFor(t, time.Second, "both verdicts", func() bool { amu.Lock(); defer amu.Unlock(); return len(applied) == 2 })
	if !slices.Equal(applied, []bool{false, true}) {
		t.Errorf("engine told %v, want [false true]", applied)
	}
}

func TestLeadingInt(t *testing.T) {
	cases := map[string]int64{"1234": 1234, "-1": -1, "0": 0, "abc": 0, "12ms": 12, "+7": 7, "-": 0, "": 0}
	for in, want := range cases {
		if got := leadingInt([]byte(in)); got != want {
			t.Errorf("leadingInt(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestJitterRange(t *testing.T) {
	for _, iv := range []uint32{1, 30} {
		d := time.Duration(iv) * time.Second
		for range 1000 {
			if j := jitter(iv); j < d/2 || j > d*3/2 {
				t.Fatalf("jitter(%d) = %v, outside [%v, %v]", iv, j, d/2, d*3/2)
			}
		}
	}
}

func TestProbePorts(t *testing.T) {
	cases := []struct {
		name         string
		mode         HCPortMode
		port         uint16
		rule, server PortRange
		want         []uint16 // exact, or for ANY the allowed range [lo, hi]
		any          bool
	}{
		{"fixed", HCPortFixed, 9000, PortRange{Min: 80}, PortRange{Min: 8080}, []uint16{9000}, false},
		{"any uses the server port", HCPortAny, 0, PortRange{Min: 80}, PortRange{Min: 8080}, []uint16{8080, 8080}, true},
		{"any in the rule range", HCPortAny, 0, PortRange{Min: 80, Max: 90}, PortRange{}, []uint16{80, 90}, true},
		{"all of the range", HCPortAll, 0, PortRange{Min: 80, Max: 82}, PortRange{}, []uint16{80, 81, 82}, false},
	}
	for _, tc := range cases {
		tg := hcTarget{portMode: tc.mode, port: tc.port, rulePorts: tc.rule, serverPorts: tc.server}
		for range 50 {
			got := tg.probePorts()
			if tc.any {
				if len(got) != 1 || got[0] < tc.want[0] || got[0] > tc.want[1] {
					t.Fatalf("%s: %v, want one port in %v", tc.name, got, tc.want)
				}
			} else if !slices.Equal(got, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestHealthStateNames(t *testing.T) {
	var got []string
	for s := HealthUninit; s <= HealthDisabled; s++ {
		got = append(got, fmt.Sprintf("%v:%v", s, s.Usable()))
	}
	want := "uninit:true unreach:false alive:true dead:false disabled:true"
	if strings.Join(got, " ") != want {
		t.Errorf("%s, want %s", strings.Join(got, " "), want)
	}
}
