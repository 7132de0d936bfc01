package bench

import (
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// measureBareDrain is the bare reader's side of the capacity figure: the
// same ring and kernel filter as measureBare, filled by the generator while
// nobody reads it, then read at full speed. The rate is read frames over
// the wall time of reading them, as tapagent's drain is delivered copies
// over the time they took to arrive.
func measureBareDrain(b *testing.B, r *netlab.RouterLab, gen generator, flow udpFlow, packets int) drainFigure {
	b.Helper()
	br := openBare(b, r, flow)
	defer br.Close()
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
