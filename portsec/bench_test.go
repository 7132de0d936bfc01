package portsec

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkLearnRate sends one frame from each of 10,000 distinct MACs,
// spread over the three ports (a port holds at most MaxPerPort), and
// reports how many the engine learned per second: kernel learning plus
// nflog events reaching the model.
func BenchmarkLearnRate(b *testing.B) {
	const n = 10000
	r := newRig(b, Options{EventBuffer: 2 * n, PollInterval: time.Second})
	hosts := r.lab.Hosts()
	ports := []int{r.lab.Port1.Index, r.lab.Port2.Index, r.lab.Port3.Index}
	var on, off []Change
	for _, p := range ports {
		on = append(on, SetPort(p, secureConfig(MaxPerPort, Restrict)))
		off = append(off, SetPort(p, DefaultPortConfig()))
	}
	senders := make([]*frameSender, len(hosts))
	batches := make([][][]byte, len(hosts))
	for i, h := range hosts {
		senders[i] = newFrameSender(b, h)
		lo, hi := i*n/len(hosts), (i+1)*n/len(hosts)
		batches[i] = distinctFrames(b, lo+1, hi-lo)
	}
	b.ResetTimer()
	var total time.Duration
	for it := range b.N {
		// Disable and enable: the ports' sets go and come back empty.
		if err := r.eng.Apply(off); err != nil {
			b.Fatal(err)
		}
		if err := r.eng.Apply(on); err != nil {
			b.Fatal(err)
		}
		for len(r.eng.Events()) > 0 {
			<-r.eng.Events()
		}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, len(senders))
		for i, s := range senders {
			wg.Go(func() { errs[i] = s.send(batches[i]...) })
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
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		if got < n {
			ks := kernelNow(b, r.eng)
			for _, p := range ports {
				ps, _, _ := r.eng.Port(p)
				b.Logf("port %d: model %d", p, len(ps.Entries))
			}
			b.Fatalf("iteration %d: learned %d of %d (events lost %d, kernel holds %d %d %d / %d)", it, got, n, r.eng.EventsDropped(),
				len(ks.ports[ports[0]]), len(ks.ports[ports[1]]), len(ks.ports[ports[2]]), len(ks.secure))
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "MACs/s")
	b.ReportMetric(float64(r.eng.EventsDropped()), "events-lost")
}

// BenchmarkShutdownLatency measures from sending an offending frame to
// the engine having set the port down (p50/p99 over the iterations: run
// with -benchtime=100x for a meaningful p99). The kernel already drops
// the port's frames from the offending one on (shut set); this is the
// time until the link itself is down.
func BenchmarkShutdownLatency(b *testing.B) {
	r := newRig(b, Options{})
	p1 := r.lab.Port1.Index
	tx := newFrameSender(b, r.lab.H1)
	off := DefaultPortConfig()
	on := secureConfig(1, Shutdown)
	firstFrame, offFrame := mustFrame(b, MAC(r.lab.H1.If.MAC)), mustFrame(b, testMAC(999))
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
			if err := tx.send(firstFrame); err != nil {
				b.Fatal(err)
			}
			learned = len(waitEvents(b, r.eng, EventLearned, p1, 1, 50*time.Millisecond)) == 1
		}
		start := time.Now()
		if err := tx.send(offFrame); err != nil {
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
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

func mustFrame(b *testing.B, src MAC) []byte {
	b.Helper()
	return frames(b, src, 1)[0]
}
