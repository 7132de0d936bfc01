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

// BenchmarkBatch: one op is one copy of a 60-byte frame's IP packet (46
// bytes), sent 128 to a sendmmsg call: one UDP GSO message, or 128
// datagrams without GSO; with transmit checksum offload on the element's
// link (as on real NICs) or checksums computed in software (the kernel then
// cuts GSO packets before the link).
func BenchmarkBatch(b *testing.B) {
	for _, bc := range []struct {
		name  string
		noGSO bool
		txSum bool
	}{
		{name: "gso/offload", txSum: true},
		{name: "gso/software-checksum"},
		{name: "sendmmsg/offload", noGSO: true, txSum: true},
		{name: "sendmmsg/software-checksum", noGSO: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bd := newMDBed(b)
			setTxChecksum(b, bd.el, "ve", bc.txSum)
			l := bd.listen(b, mdAddr4)
			s := bd.newSender(b, Target{ContentID: 42, Dest: l.dest(b), DSCP: 34}, Options{NoGSO: bc.noGSO})
			runBatch(b, s, 128, make([]byte, 46))
		})
	}
}

// BenchmarkBatch32: copies of 200 bytes, 32 to a call.
func BenchmarkBatch32(b *testing.B) {
	runBatch(b, benchSender(b, Options{}), 32, make([]byte, 200))
}

func runBatch(b *testing.B, s *Sender, copies int, payload []byte) {
	batch, err := s.NewBatch(copies, copies*(len(payload)+16))
	if err != nil {
		b.Fatal(err)
	}
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
