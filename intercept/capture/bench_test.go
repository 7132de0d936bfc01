package capture

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// benchEtherType marks benchmark frames (IEEE local experimental 1).
const benchEtherType = 0x88b5

// etherTypeFilter accepts untagged frames of one EtherType whole.
func etherTypeFilter(tb testing.TB, etherType uint16) []bpf.RawInstruction {
	tb.Helper()
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(etherType), SkipTrue: 1},
		bpf.RetConstant{Val: MaxSnap},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return prog
}

// streamBed starts a bounded sender of n 64-byte frames from a to b and
// returns a function that reports when it finished and how many it sent.
type streamBed struct {
	*bed
	fd    int
	frame []byte
}

func newStreamBed(b *testing.B) *streamBed {
	b.Helper()
	bd := newBed(b)
	sb := &streamBed{bed: bd}
	idx := bd.a.IfIndex(b, "va")
	if err := bd.a.Do(func() (err error) {
		sb.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		// Skip va's qdisc: the sender is the bottleneck anyway.
		_ = unix.SetsockoptInt(sb.fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
		return unix.Bind(sb.fd, &unix.SockaddrLinklayer{Protocol: htons(benchEtherType), Ifindex: idx})
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(sb.fd) })
	dst, src := hwAddr(b, mac(b, bd.b, "vb")), hwAddr(b, mac(b, bd.a, "va"))
	sb.frame = append(append(append(make([]byte, 0, 64), dst...), src...), benchEtherType>>8, benchEtherType&0xff)
	sb.frame = sb.frame[:64]
	return sb
}

// send writes n frames as fast as one core allows and returns how many
// the kernel took; it gives up after limit.
func (sb *streamBed) send(n int, limit time.Duration) (sent int) {
	deadline := time.Now().Add(limit)
	for sent < n {
		if sent%1024 == 0 && time.Now().After(deadline) {
			return sent
		}
		if _, err := unix.Write(sb.fd, sb.frame); err != nil {
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return sent
		}
		sent++
	}
	return sent
}

// BenchmarkRingStream: frames from a concurrent sender in another
// namespace, read with Next. ns/op is the wall time per frame of the whole
// setup (sender included); lost/op should stay 0.
func BenchmarkRingStream(b *testing.B) {
	sb := newStreamBed(b)
	r := openRing(b, sb.b, Options{PollTimeout: 50 * time.Millisecond, BlockSize: 256 << 10, NumBlocks: 64})
	if err := r.SetBPF(etherTypeFilter(b, benchEtherType)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	sentc := make(chan int, 1)
	go func() { sentc <- sb.send(b.N, 30*time.Second) }()
	got := 0
	for got < b.N {
		f, err := r.Next()
		if errors.Is(err, ErrTimeout) {
			select {
			case sent := <-sentc:
				sentc <- sent
				if sent < b.N || got >= sent {
					b.Fatalf("sender sent %d of %d, reader got %d", sent, b.N, got)
				}
			default:
			}
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Data) == 64 {
			got++
		}
		if got == b.N {
			break
		}
	}
	b.StopTimer()
	reportStream(b, r.Stats, got)
}

// BenchmarkBareStream is BenchmarkRingStream with the counting-only reader:
// the baseline.
func BenchmarkBareStream(b *testing.B) {
	sb := newStreamBed(b)
	var br *BareReader
	if err := sb.b.Do(func() (err error) {
		br, err = OpenBare(Options{PollTimeout: 50 * time.Millisecond, BlockSize: 256 << 10, NumBlocks: 64})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	if err := br.SetBPF(etherTypeFilter(b, benchEtherType)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	sentc := make(chan int, 1)
	go func() { sentc <- sb.send(b.N, 30*time.Second) }()
	var got uint64
	for got < uint64(b.N) {
		c, err := br.Count(uint64(b.N) - got)
		if err != nil {
			b.Fatal(err)
		}
		got += c.Packets
		if c.Packets == 0 {
			if sent := <-sentc; uint64(sent) <= got {
				b.Fatalf("sender sent %d of %d, reader got %d", sent, b.N, got)
			} else {
				sentc <- sent
			}
		}
	}
	b.StopTimer()
	reportStream(b, br.Stats, int(got))
}

func reportStream(b *testing.B, stats func() (Stats, error), got int) {
	st, err := stats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Drops)/float64(b.N), "lost/op")
	b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "frames/s")
}
