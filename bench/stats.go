package bench

import (
	"math"
	"slices"
	"time"
)

// Latency is the distribution of a set of request durations.
type Latency struct {
	N    int
	P50  time.Duration
	P99  time.Duration
	Mean time.Duration
	Max  time.Duration
}

// Summarize returns the distribution of samples (which it does not
// modify); the zero Latency for no samples.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Latency{
		N:    len(sorted),
		P50:  Percentile(sorted, 50),
		P99:  Percentile(sorted, 99),
		Mean: sum / time.Duration(len(sorted)),
		Max:  sorted[len(sorted)-1],
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted
// samples: the smallest sample that at least p % of the samples do not
// exceed. It is 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// PerSecond is count events over elapsed as a rate; 0 when nothing elapsed.
func PerSecond(count int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(count) / elapsed.Seconds()
}

// Micros is d in microseconds.
func Micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Ratio is a/b, or NaN when b is 0, so that a missing baseline never reads
// as a good figure.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
