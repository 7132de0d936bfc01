package deliver

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2); Go lays it out as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// Batch collects copies for one Sender and sends them with one sendmmsg
// system call. Copies are copied into the batch's own memory, so the
// caller's buffers (ring frames) may change after Add. A Batch is made
// once and reused; Add and Flush never allocate.
//
// Consecutive copies of one length (the last may be shorter) leave as one
// UDP GSO message when the kernel supports it (see Sender.GSOSegments):
// the kernel cuts it into one datagram per copy, the same datagrams as
// without GSO, for one trip through the socket and IP layers.
type Batch struct {
	s     *Sender
	arena []byte
	used  int   // bytes of arena in use
	lens  []int // per queued copy, in order; copies lie back to back in arena
	n     int   // copies queued

	// What one sendmmsg call sends: msgs[i] carries copies up to (not
	// including) ends[i], through iovs[i], with ctl's i-th UDP_SEGMENT
	// control message if it is a GSO run.
	msgs []mmsghdr
	iovs []unix.Iovec
	ends []int
	ctl  []byte
}

// Room for one UDP_SEGMENT control message (a uint16 gso_size).
var (
	segCtlSpace = unix.CmsgSpace(2)
	segCtlLen   = unix.CmsgLen(2)
)

// NewBatch returns a batch of up to maxCopies copies in arenaBytes of
// memory (a copy takes its header plus payload).
func (s *Sender) NewBatch(maxCopies, arenaBytes int) (*Batch, error) {
	if maxCopies < 1 || maxCopies > 1024 {
		return nil, fmt.Errorf("deliver: batch of %d copies: need 1-1024 (UIO_MAXIOV)", maxCopies)
	}
	if arenaBytes < len(s.hdr)+1 {
		return nil, fmt.Errorf("deliver: batch memory of %d bytes is too small", arenaBytes)
	}
	b := &Batch{
		s:     s,
		arena: make([]byte, arenaBytes),
		lens:  make([]int, maxCopies),
		msgs:  make([]mmsghdr, maxCopies),
		iovs:  make([]unix.Iovec, maxCopies),
		ends:  make([]int, maxCopies),
		ctl:   make([]byte, maxCopies*segCtlSpace),
	}
	for i := range b.msgs {
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.SetIovlen(1)
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b.ctl[i*segCtlSpace]))
		h.Level = unix.SOL_UDP
		h.Type = unix.UDP_SEGMENT
		h.SetLen(segCtlLen)
	}
	return b, nil
}

// Len is the number of queued copies.
func (b *Batch) Len() int { return b.n }

// Add queues one copy like SendAt (zero at: Clock's time) and returns its
// slot: after Flush, slots below the sent count were handed to the kernel,
// the others were dropped. ErrBatchFull asks for a Flush first; ErrTooBig
// rejects the copy for good.
func (b *Batch) Add(at time.Time, payload []byte) (int, error) {
	return b.add(at, payload, false, 0, 0)
}

// AddTagged queues an Ethernet frame with its VLAN tag put back, like
// Sender.SendTagged.
func (b *Batch) AddTagged(at time.Time, frame []byte, tpid, tci uint16) (int, error) {
	if len(frame) < macPairLen {
		return 0, ErrShortFrame
	}
	return b.add(at, frame, true, tpid, tci)
}

func (b *Batch) add(at time.Time, data []byte, tagged bool, tpid, tci uint16) (int, error) {
	s := b.s
	hdrLen := s.header(at)
	total := hdrLen + len(data)
	if tagged {
		total += vlanTagLen
	}
	if total > s.maxData {
		return 0, ErrTooBig
	}
	if b.n == len(b.lens) || b.used+total > len(b.arena) {
		return 0, ErrBatchFull
	}
	buf := b.arena[b.used : b.used+total]
	copy(buf, s.hdr[:hdrLen])
	if tagged {
		_, _ = InsertVLAN(buf[hdrLen:], data, tpid, tci)
	} else {
		copy(buf[hdrLen:], data)
	}
	slot := b.n
	b.lens[slot] = total
	b.used += total
	b.n++
	return slot, nil
}

// Flush sends the queued copies in order and empties the batch. Copies
// [0, sent) were handed to the kernel; [sent, Len()) were not, and err says
// why (ErrDropped when the socket buffer or the queue is full, …). A GSO
// run is accepted or refused whole, so the count stays exact.
func (b *Batch) Flush() (sent int, err error) {
	defer b.reset()
	s := b.s
	if s.fd < 0 {
		return 0, ErrClosed
	}
	for sent < b.n {
		m := b.plan(sent)
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&b.msgs[0])),
			uintptr(m), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			// sendmmsg reports an error only when the first message of the
			// call failed; the loop retries from there, so the error belongs
			// to msgs[0].
			if segs := b.ends[0] - sent; segs > 1 && s.gsoRefused(e, segs) {
				continue // planned again, with GSO reduced or off
			}
			return sent, s.failed(e)
		}
		if r == 0 {
			return sent, ErrDropped // not expected from Linux; never spin
		}
		sent = b.ends[r-1]
	}
	return sent, nil
}

// plan fills msgs from copy first on and returns how many it filled: one
// message per GSO run, or per copy when GSO is off.
func (b *Batch) plan(first int) int {
	s := b.s
	m := 0
	off := 0
	for i := 0; i < first; i++ {
		off += b.lens[i]
	}
	for i := first; i < b.n; m++ {
		k := gsoRun(b.lens[i:b.n], s.gsoSegs, s.maxData, s.gsoMaxSeg)
		size := 0
		for _, l := range b.lens[i : i+k] {
			size += l
		}
		b.iovs[m].Base = &b.arena[off]
		b.iovs[m].SetLen(size)
		hdr := &b.msgs[m].hdr
		if k > 1 {
			c := b.ctl[m*segCtlSpace:]
			*(*uint16)(unsafe.Pointer(&c[segCtlLen-2])) = uint16(b.lens[i])
			hdr.Control = &c[0]
			hdr.SetControllen(segCtlSpace)
		} else {
			hdr.Control = nil
			hdr.SetControllen(0)
		}
		i += k
		off += size
		b.ends[m] = i
	}
	return m
}

// gsoRun returns how many of the copies (their datagram lengths, in order)
// one UDP GSO send carries from the first on. The kernel cuts a GSO
// message every gso_size bytes, so a run is copies of the first one's
// length of which only the last may be shorter, at most maxSegs of them
// and maxBytes in all. A first copy longer than maxSeg (each datagram must
// fit the path MTU unfragmented) or maxSegs below 2 gives 1: the copy
// goes alone, as a plain datagram.
func gsoRun(lens []int, maxSegs, maxBytes, maxSeg int) int {
	if len(lens) == 0 {
		return 0
	}
	size := lens[0]
	if maxSegs < 2 || size > maxSeg || size > maxBytes {
		return 1
	}
	n, total := 1, size
	for n < len(lens) && n < maxSegs {
		l := lens[n]
		if l > size || total+l > maxBytes {
			break
		}
		n++
		total += l
		if l < size {
			break // a shorter copy can only be the last segment
		}
	}
	return n
}

func (b *Batch) reset() {
	b.n, b.used = 0, 0
}
