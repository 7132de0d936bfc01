package portsec

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkLearnRate sends frames from distinct MACs into a port with a
// large maximum and reports how many the engine learned per second
// (kernel learning plus nflog events reaching the model).
func BenchmarkLearnRate(b *testing.B) {
	r := newRig(b, Options{})
	p1 := r.lab.Port1.Index
	const n = 1000
	if err := r.eng.Apply([]Change{SetPort(p1, secureConfig(MaxPerPort, Restrict))}); err != nil {
		b.Fatal(err)
	}
	var frames [][]byte
	for i := range n {
		frames = append(frames, mustFrame(b, testMAC(i+1)))
	}
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		// Disable and enable: the port's set goes and comes back empty.
		if err := r.eng.Apply([]Change{SetPort(p1, DefaultPortConfig())}); err != nil {
			b.Fatal(err)
		}
		if err := r.eng.Apply([]Change{SetPort(p1, secureConfig(MaxPerPort, Restrict))}); err != nil {
			b.Fatal(err)
		}
		for len(r.eng.Events()) > 0 {
			<-r.eng.Events()
		}
		start := time.Now()
		if err := r.lab.H1.SendFrames("eth0", frames...); err != nil {
			b.Fatal(err)
		}
		got := 0
		deadline := time.After(10 * time.Second)
	wait:
		for got < n {
			select {
			case ev := <-r.eng.Events():
				if ev.Kind == EventLearned {
					got++
				}
			case <-deadline:
				break wait
			}
		}
		total += time.Since(start)
		if got < n {
			b.Fatalf("learned %d of %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "MACs/s")
}

// BenchmarkShutdownLatency measures from sending an offending frame to
// the engine having set the port down (p50/p99 over the iterations).
func BenchmarkShutdownLatency(b *testing.B) {
	r := newRig(b, Options{})
	p1 := r.lab.Port1.Index
	off := DefaultPortConfig()
	on := secureConfig(1, Shutdown)
	first := MAC(r.lab.H1.If.MAC)
	firstFrame, offFrame := mustFrame(b, first), mustFrame(b, testMAC(999))
	var lat []time.Duration
	for range b.N {
		if err := r.eng.Apply([]Change{SetPort(p1, off), ClearAddresses(p1, 0)}); err != nil {
			b.Fatal(err)
		}
		if err := r.eng.Apply([]Change{SetPort(p1, on)}); err != nil {
			b.Fatal(err)
		}
		// The port just came back up: resend until the engine learned.
		for learned, tries := false, 0; !learned; tries++ {
			if tries == 40 {
				b.Fatal("first MAC never learned")
			}
			if err := r.lab.H1.SendFrames("eth0", firstFrame); err != nil {
				b.Fatal(err)
			}
			learned = len(waitEvents(b, r.eng, EventLearned, p1, 1, 50*time.Millisecond)) == 1
		}
		start := time.Now()
		if err := r.lab.H1.SendFrames("eth0", offFrame); err != nil {
			b.Fatal(err)
		}
		if len(waitEvents(b, r.eng, EventShutdown, p1, 1, 2*time.Second)) != 1 {
			b.Fatal("no shutdown")
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func mustFrame(b *testing.B, src MAC) []byte {
	b.Helper()
	return frames(b, src, 1)[0]
}
