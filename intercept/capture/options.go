package capture

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Defaults of Options. A 1 MiB block holds a whole 64 KiB GRO/GSO frame
// with room to spare; 32 of them absorb about 20,000 full-size packets
// while the reader is busy.
const (
	DefaultBlockSize    = 1 << 20
	DefaultNumBlocks    = 32
	DefaultFrameSize    = 2048
	DefaultBlockTimeout = 10 * time.Millisecond
	DefaultPollTimeout  = 100 * time.Millisecond
)

// MaxSnap is the snap length that keeps whole frames. Return it from an
// accepting BPF program; a smaller return value truncates the frame.
const MaxSnap = 0xFFFF_FFFF

// blockOverhead is what the kernel keeps of a block besides the frame: the
// 48-byte block descriptor, and before the network header of each packet
// the tpacket3_hdr plus sockaddr_ll plus a 16-byte MAC area, aligned to 16
// (96 bytes). Ethernet frames up to BlockSize-130 bytes stay whole.
const blockOverhead = 48 + 96

// Options configure a Ring or a BareReader. The zero value captures on
// every interface except loopback with the defaults above.
type Options struct {
	// Interfaces narrows capture to these interface names (loopback too if
	// named). Empty: every interface except loopback, including interfaces
	// that appear or come up after Open.
	Interfaces []string
	// BlockSize is the size of one ring block in bytes, a multiple of the
	// page size. The largest frame captured whole is BlockSize-144 (Ethernet: -130)
	// bytes; larger frames are cut and counted as truncated.
	BlockSize int
	// NumBlocks is the number of blocks in the ring.
	NumBlocks int
	// FrameSize only satisfies the kernel's ring geometry checks (a
	// multiple of 16 dividing BlockSize): TPACKET_V3 packs frames of any
	// size into a block.
	FrameSize int
	// BlockTimeout is how long the kernel fills a block that is not full
	// before handing it over: the worst added latency at low rates.
	// Millisecond resolution.
	BlockTimeout time.Duration
	// PollTimeout is how long Next waits for a packet before it returns
	// ErrTimeout; negative waits until a packet arrives or Close.
	PollTimeout time.Duration
	// IgnoreMark drops, in the kernel, every frame whose socket mark
	// (SO_MARK, skb mark) equals it: the mark our delivery sockets carry,
	// so that we never intercept our own copies. 0 disables it.
	IgnoreMark uint32
}

// withDefaults fills zero fields and checks the geometry.
func (o Options) withDefaults() (Options, error) {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.NumBlocks == 0 {
		o.NumBlocks = DefaultNumBlocks
	}
	if o.FrameSize == 0 {
		o.FrameSize = DefaultFrameSize
	}
	if o.BlockTimeout == 0 {
		o.BlockTimeout = DefaultBlockTimeout
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	page := os.Getpagesize()
	var errs []error
	if o.BlockSize < page || o.BlockSize%page != 0 {
		errs = append(errs, fmt.Errorf("block size %d: not a positive multiple of the page size %d", o.BlockSize, page))
	}
	if o.BlockSize > 1<<30 {
		errs = append(errs, fmt.Errorf("block size %d: larger than 1 GiB", o.BlockSize))
	}
	if o.NumBlocks < 1 {
		errs = append(errs, fmt.Errorf("number of blocks %d: need at least 1", o.NumBlocks))
	}
	if o.NumBlocks > 0 && o.BlockSize > 0 && int64(o.BlockSize)*int64(o.NumBlocks) > 1<<34 {
		errs = append(errs, fmt.Errorf("ring of %d blocks of %d bytes: larger than 16 GiB", o.NumBlocks, o.BlockSize))
	}
	if o.FrameSize < 128 || o.FrameSize%16 != 0 || (o.BlockSize > 0 && o.BlockSize%o.FrameSize != 0) {
		errs = append(errs, fmt.Errorf("frame size %d: need a multiple of 16, at least 128, dividing the block size", o.FrameSize))
	}
	if o.BlockTimeout < time.Millisecond || o.BlockTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("block timeout %v: need 1ms to 1m", o.BlockTimeout))
	}
	if len(o.Interfaces) > maxInterfaces {
		errs = append(errs, fmt.Errorf("%d interfaces: at most %d", len(o.Interfaces), maxInterfaces))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("capture options: %w", err)
	}
	return o, nil
}

// MaxFrame is about the largest frame a ring with these options captures
// whole.
func (o Options) MaxFrame() int {
	o, _ = o.withDefaults()
	return o.BlockSize - blockOverhead
}
