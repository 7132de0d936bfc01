package bench

import (
	"math"
	"testing"
	"time"
)

func us(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Microsecond
	}
	return out
}

func TestSummarize(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 … 1, unsorted on purpose
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    Latency
	}{
		{name: "none", samples: nil, want: Latency{}},
		{name: "one", samples: us(7), want: Latency{N: 1, P50: 7 * time.Microsecond, P99: 7 * time.Microsecond, Mean: 7 * time.Microsecond, Max: 7 * time.Microsecond}},
		{name: "two: p50 is the lower one", samples: us(30, 10),
			want: Latency{N: 2, P50: 10 * time.Microsecond, P99: 30 * time.Microsecond, Mean: 20 * time.Microsecond, Max: 30 * time.Microsecond}},
		{name: "1 to 100", samples: us(hundred...),
			want: Latency{N: 100, P50: 50 * time.Microsecond, P99: 99 * time.Microsecond, Mean: 50500 * time.Nanosecond, Max: 100 * time.Microsecond}},
		{name: "one outlier moves max and mean, not p50", samples: us(10, 10, 10, 10, 1000),
			want: Latency{N: 5, P50: 10 * time.Microsecond, P99: 1000 * time.Microsecond, Mean: 208 * time.Microsecond, Max: 1000 * time.Microsecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]time.Duration(nil), tc.samples...)
			if got := Summarize(tc.samples); got != tc.want {
				t.Errorf("Summarize = %+v, want %+v", got, tc.want)
			}
			for i := range before {
				if tc.samples[i] != before[i] {
					t.Fatalf("Summarize reordered its input: %v", tc.samples)
				}
			}
		})
	}
}

func TestPercentileRanks(t *testing.T) {
	sorted := us(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0.1, 1 * time.Microsecond}, {10, 1 * time.Microsecond}, {11, 2 * time.Microsecond},
		{50, 5 * time.Microsecond}, {99, 10 * time.Microsecond}, {100, 10 * time.Microsecond},
	}
	for _, tc := range tests {
		if got := Percentile(sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(1..10 µs, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestRates(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"1000 in 2 s", PerSecond(1000, 2*time.Second), 500},
		{"nothing elapsed", PerSecond(5, 0), 0},
		{"micros", Micros(1500 * time.Nanosecond), 1.5},
		{"ratio", Ratio(3, 2), 1.5},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if r := Ratio(1, 0); !math.IsNaN(r) {
		t.Errorf("Ratio(1, 0) = %v, want NaN", r)
	}
}
