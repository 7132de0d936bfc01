package dataplane

import (
	"testing"

	"tapagent/intercept"
)

func TestCreditRunsAddsEveryCopyOnce(t *testing.T) {
	a, b, c := new(intercept.StreamCounters), new(intercept.StreamCounters), new(intercept.StreamCounters)
	type sc = []*intercept.StreamCounters
	tests := []struct {
		name      string
		slots     []sc
		wantAdds  int // calls of add
		wantCount map[*intercept.StreamCounters]uint64
	}{
		{name: "nothing", slots: nil, wantCount: map[*intercept.StreamCounters]uint64{}},
		{name: "one stream, one run", slots: []sc{{a}, {a}, {a}, {a}}, wantAdds: 1,
			wantCount: map[*intercept.StreamCounters]uint64{a: 4}},
		{name: "runs change with the streams", slots: []sc{{a}, {a}, {b}, {a}, {a, b}, {a, b}}, wantAdds: 5,
			wantCount: map[*intercept.StreamCounters]uint64{a: 5, b: 3}},
		{name: "copies without counters", slots: []sc{{}, {}, {c}}, wantAdds: 1,
			wantCount: map[*intercept.StreamCounters]uint64{c: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[*intercept.StreamCounters]uint64{}
			adds := 0
			creditRuns(tt.slots, func(c *intercept.StreamCounters, n uint64) {
				got[c] += n
				adds++
			})
			if adds != tt.wantAdds {
				t.Errorf("%d adds, want %d", adds, tt.wantAdds)
			}
			if len(got) != len(tt.wantCount) {
				t.Fatalf("credited %d counters, want %d", len(got), len(tt.wantCount))
			}
			for c, n := range tt.wantCount {
				if got[c] != n {
					t.Errorf("counter credited %d, want %d", got[c], n)
				}
			}
		})
	}
}

func TestCountersForFollowsTheStreams(t *testing.T) {
	k1, k2, gone := intercept.StreamKey{ContentID: 1, Index: 1}, intercept.StreamKey{ContentID: 1, Index: 2}, intercept.StreamKey{ContentID: 1, Index: 3}
	p := &plan{counters: map[intercept.StreamKey]*intercept.StreamCounters{k1: new(intercept.StreamCounters), k2: new(intercept.StreamCounters)}}
	var o mdOut
	for i, tc := range []struct {
		streams []intercept.StreamKey
		want    []*intercept.StreamCounters
	}{
		{[]intercept.StreamKey{k1}, []*intercept.StreamCounters{p.counters[k1]}},
		{[]intercept.StreamKey{k1}, []*intercept.StreamCounters{p.counters[k1]}},
		{[]intercept.StreamKey{k1, k2}, []*intercept.StreamCounters{p.counters[k1], p.counters[k2]}},
		{[]intercept.StreamKey{k2, gone}, []*intercept.StreamCounters{p.counters[k2]}}, // a stream without counters is skipped
		{[]intercept.StreamKey{k1}, []*intercept.StreamCounters{p.counters[k1]}},
	} {
		got := o.countersFor(p, tc.streams)
		if len(got) != len(tc.want) {
			t.Fatalf("call %d: %d counters, want %d", i, len(got), len(tc.want))
		}
		for j := range got {
			if got[j] != tc.want[j] {
				t.Fatalf("call %d: counter %d is not the stream's", i, j)
			}
		}
	}
	streams := []intercept.StreamKey{k1, k2}
	if n := testing.AllocsPerRun(100, func() {
		o.countersFor(p, streams[:1])
		o.countersFor(p, streams)
		creditRuns([][]*intercept.StreamCounters{o.lastCounters}, func(c *intercept.StreamCounters, n uint64) { c.Intercepted.Add(n) })
	}); n != 0 {
		t.Fatalf("countersFor and creditRuns allocate %.1f times", n)
	}
}
