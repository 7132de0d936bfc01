package deliver

import (
	"errors"
	"testing"
	"time"
)

// The MD socket is never read: once its receive buffer is full the MD
// namespace drops what arrives, which the sender cannot see. ns/op is the
// sender's cost per copy through veth into the other namespace.

func benchSender(b *testing.B, opts Options) *Sender {
	b.Helper()
	bd := newMDBed(b)
	l := bd.listen(b, mdAddr4)
	return bd.newSender(b, Target{ContentID: 42, Dest: l.dest(b), DSCP: 34}, opts)
}

func runSends(b *testing.B, send func() error) {
	b.ReportAllocs()
	dropped := 0
	for b.Loop() {
		if err := send(); err != nil {
			if !errors.Is(err, ErrDropped) {
				b.Fatal(err)
			}
			dropped++
		}
	}
	b.ReportMetric(float64(dropped)/float64(b.N), "drops/op")
}

func BenchmarkSend(b *testing.B) {
	s := benchSender(b, Options{})
	payload := make([]byte, 200)
	runSends(b, func() error { return s.Send(payload) })
}

func BenchmarkSendTimestamp(b *testing.B) {
	s := benchSender(b, Options{Timestamp: true})
	payload := make([]byte, 200)
	runSends(b, func() error { return s.Send(payload) })
}

func BenchmarkSendTagged(b *testing.B) {
	s := benchSender(b, Options{})
	frame := make([]byte, 214)
	runSends(b, func() error { return s.SendTagged(time.Time{}, frame, 0x8100, 100) })
}

// BenchmarkBatch32: one op is one copy, sent 32 to a sendmmsg call.
func BenchmarkBatch32(b *testing.B) {
	s := benchSender(b, Options{})
	batch, err := s.NewBatch(32, 32*256)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 200)
	b.ReportAllocs()
	dropped := 0
	flush := func() {
		queued := batch.Len()
		n, err := batch.Flush()
		if err != nil && !errors.Is(err, ErrDropped) {
			b.Fatal(err)
		}
		dropped += queued - n
	}
	for b.Loop() {
		if _, err := batch.Add(time.Time{}, payload); errors.Is(err, ErrBatchFull) {
			flush()
			_, err = batch.Add(time.Time{}, payload)
			if err != nil {
				b.Fatal(err)
			}
		} else if err != nil {
			b.Fatal(err)
		}
	}
	flush()
	b.ReportMetric(float64(dropped)/float64(b.N), "drops/op")
}
