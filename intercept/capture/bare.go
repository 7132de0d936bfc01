package capture

import (
	"errors"
	"runtime"
	"time"

	"golang.org/x/net/bpf"
)

// BareReader is the baseline for throughput comparisons: the same socket,
// ring and kernel filter as a Ring, but it only counts the packets of each
// block and never looks at a packet. Whatever a real reader does costs
// relative to this.
type BareReader struct {
	s   *ringSocket
	idx int
}

// BareCount is what one Count call saw.
type BareCount struct {
	Packets uint64
	// First and Last are the kernel timestamps of the first and the last
	// packet counted.
	First, Last time.Time
}

// Rate is packets per second between the first and the last packet.
func (c BareCount) Rate() float64 {
	d := c.Last.Sub(c.First).Seconds()
	if c.Packets < 2 || d <= 0 {
		return 0
	}
	return float64(c.Packets-1) / d
}

// OpenBare opens a counting-only reader with the settings of Open.
func OpenBare(opts Options) (*BareReader, error) {
	s, err := openSocket(opts)
	if err != nil {
		return nil, err
	}
	b := &BareReader{s: s}
	runtime.AddCleanup(b, (*ringSocket).releaseUnused, s)
	return b, nil
}

// Count counts packets until at least limit arrived or none arrived for
// Options.PollTimeout (not an error). Whole blocks are counted, so the
// result may exceed limit by less than one block.
func (b *BareReader) Count(limit uint64) (BareCount, error) {
	if err := b.s.enter(); err != nil {
		return BareCount{}, err
	}
	c, err := b.count(limit)
	if errors.Is(err, ErrClosed) {
		b.s.finish()
	} else {
		b.s.leave(false)
	}
	return c, err
}

func (b *BareReader) count(limit uint64) (BareCount, error) {
	var c BareCount
	for c.Packets < limit {
		hdr := b.s.block(b.idx)
		if !ready(hdr) {
			err := b.s.wait()
			if errors.Is(err, ErrTimeout) {
				return c, nil
			}
			if err != nil {
				return c, err
			}
			continue
		}
		if n := hdr.Num_pkts; n > 0 {
			if c.Packets == 0 {
				c.First = time.Unix(int64(hdr.Ts_first_pkt.Sec), int64(hdr.Ts_first_pkt.Usec))
			}
			// In TPACKET_V3 the kernel writes nanoseconds into the field
			// named for microseconds.
			c.Last = time.Unix(int64(hdr.Ts_last_pkt.Sec), int64(hdr.Ts_last_pkt.Usec))
			c.Packets += uint64(n)
		}
		giveBack(hdr)
		b.idx++
		if b.idx == b.s.opts.NumBlocks {
			b.idx = 0
		}
	}
	return c, nil
}

// SetBPF replaces the kernel filter's user program, as Ring.SetBPF.
func (b *BareReader) SetBPF(prog []bpf.RawInstruction) error { return b.s.SetBPF(prog) }

// Stats returns the kernel's cumulative ring statistics since OpenBare.
func (b *BareReader) Stats() (Stats, error) { return b.s.Stats() }

// Close stops capturing, wakes a blocked Count and frees the ring.
func (b *BareReader) Close() error { return b.s.Close() }
