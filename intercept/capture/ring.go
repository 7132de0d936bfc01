package capture

import (
	"errors"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Ring reads frames from a TPACKET_V3 ring, one frame at a time, without
// copying or allocating. One goroutine reads (Next); SetBPF, Stats and
// Close may be called from others.
type Ring struct {
	s *ringSocket

	// Reader state, owned by the goroutine in Next.
	cur   *unix.TpacketHdrV1 // block being read, nil between blocks
	idx   int                // index of the next block to read
	off   int                // ring offset of the next packet in cur
	left  uint32             // packets of cur not yet returned
	frame Frame              // what Next returns, reused
}

// Open creates the ring and starts capturing. With empty
// Options.Interfaces it captures on every interface except loopback, with
// one socket bound to all interfaces, so interfaces that come up later are
// captured too.
func Open(opts Options) (*Ring, error) {
	s, err := openSocket(opts)
	if err != nil {
		return nil, err
	}
	r := &Ring{s: s}
	runtime.AddCleanup(r, (*ringSocket).releaseUnused, s)
	return r, nil
}

// Next returns the next frame, waiting up to Options.PollTimeout
// (ErrTimeout). The frame and its Data belong to the ring and are valid
// until the next call of Next: copy what must outlive it. It returns
// ErrClosed once Close was called.
func (r *Ring) Next() (*Frame, error) {
	if err := r.s.enter(); err != nil {
		return nil, err
	}
	err := r.next()
	if errors.Is(err, ErrClosed) {
		r.s.finish()
		return nil, err
	}
	r.s.leave(err == nil)
	if err != nil {
		return nil, err
	}
	return &r.frame, nil
}

func (r *Ring) next() error {
	for {
		if r.cur != nil {
			if r.left > 0 {
				r.take(&r.frame)
				return nil
			}
			// Everything returned from this block is now invalid.
			giveBack(r.cur)
			r.cur = nil
			r.idx++
			if r.idx == r.s.opts.NumBlocks {
				r.idx = 0
			}
		}
		hdr := r.s.block(r.idx)
		if !ready(hdr) {
			if err := r.s.wait(); err != nil {
				return err
			}
			continue
		}
		r.cur = hdr
		r.left = hdr.Num_pkts
		r.off = r.idx*r.s.opts.BlockSize + int(hdr.Offset_to_first_pkt)
	}
}

// take decodes the packet at r.off into f and moves to the next one.
func (r *Ring) take(f *Frame) {
	ring := r.s.ring
	base := r.off
	h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&ring[base]))
	start := base + int(h.Mac)
	end := start + int(h.Snaplen)
	*f = Frame{
		Data:      ring[start:end:end],
		WireLen:   int(h.Len),
		NetOffset: int(h.Net) - int(h.Mac),
		IfIndex:   int(*(*int32)(unsafe.Pointer(&ring[base+sllIfindex]))),
		HwType:    *(*uint16)(unsafe.Pointer(&ring[base+sllHatype])),
		Type:      PacketType(ring[base+sllPkttype]),
		Timestamp: time.Unix(int64(h.Sec), int64(h.Nsec)),
	}
	status := h.Status
	if status&unix.TP_STATUS_VLAN_VALID != 0 {
		f.VLAN = VLAN{Present: true, TPID: 0x8100, TCI: uint16(h.Hv1.Vlan_tci)}
		if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			f.VLAN.TPID = h.Hv1.Vlan_tpid
		}
	}
	f.ChecksumPending = status&unix.TP_STATUS_CSUMNOTREADY != 0
	if int(h.Snaplen) < f.WireLen {
		r.s.truncated.Add(1)
	}
	r.left--
	r.off = base + int(h.Next_offset)
}

// Buffered is the number of frames Next returns without waiting: the rest
// of the current block. A caller batching its output flushes when it is 0.
func (r *Ring) Buffered() int { return int(r.left) }

// SetBPF replaces the kernel filter's user program; nil accepts every
// frame. The prologue that keeps other interfaces and our own marked
// traffic out stays in front of it. Programs see frames from their MAC
// header (a VLAN tag removed by offload is in the VLAN ancillary fields)
// and return a snap length: 0 drops, MaxSnap keeps the whole frame.
func (r *Ring) SetBPF(prog []bpf.RawInstruction) error { return r.s.SetBPF(prog) }

// Stats returns the kernel's cumulative ring statistics since Open.
func (r *Ring) Stats() (Stats, error) { return r.s.Stats() }

// Close stops capturing and wakes a blocked Next. The ring is freed at once,
// or — when the reader holds a frame — by the reader's next call, so a
// frame in use is never unmapped under it.
func (r *Ring) Close() error { return r.s.Close() }
