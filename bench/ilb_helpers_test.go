package bench

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"tapagent/lb"
)

func TestPlainDNATRuleset(t *testing.T) {
	backends := []netip.Addr{netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.3.2")}
	got := plainDNATRuleset(netip.MustParseAddr("198.18.9.2"), 80, backends, 8080)
	for _, want := range []string{
		"table ip " + plainDNATTable + " {",
		"type nat hook prerouting priority dstnat; policy accept;",
		"ip daddr 198.18.9.2 tcp dport 80 dnat to numgen inc mod 2 map { 0 : 198.18.2.2, 1 : 198.18.3.2 } : 8080",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "dnat to"); n != 1 {
		t.Errorf("ruleset has %d dnat rules, want 1:\n%s", n, got)
	}
}

func TestGroupsFor(t *testing.T) {
	first := netip.MustParseAddr("198.18.64.1")
	for _, tc := range []struct {
		n     int
		sizes []int
	}{
		{1, []int{1}},
		{lb.MaxServersInGroup, []int{lb.MaxServersInGroup}},
		{10_000, []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}},
		{2500, []int{1000, 1000, 500}},
	} {
		addrs := serverAddrs(first, tc.n)
		seen := map[netip.Addr]bool{}
		for _, a := range addrs {
			seen[a] = true
		}
		if len(seen) != tc.n {
			t.Errorf("serverAddrs(%d): %d distinct addresses", tc.n, len(seen))
		}
		var sizes []int
		for _, g := range groupsFor(addrs) {
			sizes = append(sizes, len(g))
		}
		if !slices.Equal(sizes, tc.sizes) {
			t.Errorf("groupsFor(%d servers) sizes %v, want %v", tc.n, sizes, tc.sizes)
		}
	}
}

func TestBitsFor(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{1, 1}, {3, 2}, {1000, 10}, {1023, 10}, {1024, 11}} {
		if got := bitsFor(tc.n); got != tc.want {
			t.Errorf("bitsFor(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestILBRequestMedianAndReport(t *testing.T) {
	run := func(round int, variant string, ok int, d time.Duration) ilbRequestRun {
		return ilbRequestRun{round: round, variant: variant,
			requestRun: requestRun{sent: ok, ok: ok, elapsed: d, perBackend: map[string]int{"b2": ok / 2, "b1": ok - ok/2}}}
	}
	for _, tc := range []struct {
		name      string
		ilb       time.Duration // per run of 1,000 connections
		wantRatio string
		want      string
	}{
		{"as fast", time.Second, "ILB/plain 1.00", "met"},
		{"half as fast", 2 * time.Second, "ILB/plain 0.50", "MISSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ilbRequestFigure{requests: 1000, clients: 2, runs: []ilbRequestRun{
				run(1, "ILB HALF-NAT", 1000, tc.ilb), run(1, "plain dnat", 1000, time.Second),
				run(2, "ILB HALF-NAT", 1000, tc.ilb), run(2, "plain dnat", 1000, 4*time.Second), // a slow outlier
				run(3, "ILB HALF-NAT", 1000, tc.ilb), run(3, "plain dnat", 1000, time.Second),
			}}
			if got := f.median("plain dnat"); got != 1000 {
				t.Errorf("median plain = %v, want 1000 (the outlier ignored)", got)
			}
			saved := ilbFigures.requests
			defer func() { ilbFigures.requests = saved }()
			ilbFigures.requests = []ilbRequestFigure{f}
			var buf bytes.Buffer
			printILBRequests(&buf)
			out := buf.String()
			for _, want := range []string{tc.wantRatio, "target ≥ 0.95: " + tc.want, "b1 500, b2 500"} {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestILBProgramAndHCReport(t *testing.T) {
	savedP, savedH := ilbFigures.program, ilbFigures.hc
	defer func() { ilbFigures.program, ilbFigures.hc = savedP, savedH }()
	for _, tc := range []struct {
		name string
		prog ilbProgramFigure
		hc   ilbHCFigure
		want []string
	}{
		{"targets met",
			ilbProgramFigure{servers: 10_000, groups: 10, usable: 10_000, program: 500 * time.Millisecond, remove: time.Second},
			ilbHCFigure{servers: 1000, window: 2 * time.Second, cpu: 200 * time.Millisecond, checked: 1000, alive: 1000},
			[]string{"20000", "met", "10.0", "1.000"}},
		{"slow program, busy checks, failed removal",
			ilbProgramFigure{servers: 10_000, groups: 10, usable: 10_000, program: 2 * time.Second, removeErr: errors.New("busy\nbusy")},
			ilbHCFigure{servers: 1000, ping: true, window: time.Second, cpu: 500 * time.Millisecond, checked: 990, alive: 1000},
			[]string{"FAILED", "removing them failed: busy\n", "ping+tcp", "50.0", "MISSED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ilbFigures.program, ilbFigures.hc = []ilbProgramFigure{tc.prog}, []ilbHCFigure{tc.hc}
			var buf bytes.Buffer
			printILBProgram(&buf)
			printILBHC(&buf)
			out := buf.String()
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(tc.name, "met") && strings.Contains(out, "MISSED") {
				t.Errorf("report misses a target that was met:\n%s", out)
			}
		})
	}
}
