package bench

import (
	"net/netip"
	"testing"
	"time"

	"tapagent/intercept"
	"tapagent/intercept/capture"
	"tapagent/intercept/classify"
	"tapagent/intercept/dataplane"
	"tapagent/internal/netlab"
)

// measureBareDrain is the bare reader's side of the capacity figure: the
// same ring and kernel filter as measureBare, filled by the generator while
// nobody reads it, then read at full speed. The rate is read frames over
// the wall time of reading them, as tapagent's drain is delivered copies
// over the time they took to arrive.
func measureBareDrain(b *testing.B, r *netlab.RouterLab, gen generator, flow udpFlow, packets int) drainFigure {
	b.Helper()
	cls := classify.Build(classify.Config{Taps: []intercept.Tap{flowTap(flow, netip.AddrPortFrom(r.MD.If.IPv4(), 9000))}})
	prog, err := cls.BPF(classify.BPFOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var br *capture.BareReader
	err = r.Router.Do(func() (err error) {
		br, err = capture.OpenBare(capture.Options{Interfaces: []string{captureIf},
			IgnoreMark: dataplane.DefaultMark, PollTimeout: 100 * time.Millisecond})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.SetBPF(prog); err != nil {
		b.Fatal(err)
	}
	sent, _, err := gen.send(packets)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the kernel retire the last block
	var read uint64
	start := time.Now()
	last := start
	for deadline := start.Add(30 * time.Second); time.Now().Before(deadline) && read < uint64(sent); {
		c, err := br.Count(uint64(sent) - read)
		if err != nil {
			b.Fatalf("bare reader: %v", err)
		}
		if c.Packets == 0 {
			break // one poll timeout with nothing: the ring is empty
		}
		read += c.Packets
		last = time.Now()
	}
	return drainFigure{sent: sent, delivered: read, rate: PerSecond(int(read), last.Sub(start))}
}
