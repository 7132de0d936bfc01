package intercept

import (
	"fmt"
	"testing"
)

// BenchmarkApply measures Apply of one tap (1 MD + 1 stream + 1 filter,
// all active), with a destroy after each create to keep the state bounded.
// Target: >= 10,000 taps/s. Sub-benchmarks show the cost does not grow with
// the number of taps already configured.
func BenchmarkApply(b *testing.B) {
	for _, existing := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("existing=%d", existing), func(b *testing.B) {
			e, _ := startEngine(b)
			for i := range existing {
				mustApply(b, e, ipTap(ContentID(1_000_000+i), 1)...)
			}
			const id = 1
			k := key(id, 1)
			create := ipTap(id, 1)
			destroy := []Change{DeleteIPFilter(k), DeleteStream(k), DeleteMediation(id)}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := e.Apply(create); err != nil {
					b.Fatal(err)
				}
				if err := e.Apply(destroy); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "taps/s")
		})
	}
}

// BenchmarkValidate is the TestSet half: no state change.
func BenchmarkValidate(b *testing.B) {
	e, _ := startEngine(b)
	cs := ipTap(1, 1)
	b.ReportAllocs()
	for range b.N {
		if err := e.Validate(cs); err != nil {
			b.Fatal(err)
		}
	}
}
