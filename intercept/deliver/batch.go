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
type Batch struct {
	s     *Sender
	msgs  []mmsghdr
	iovs  []unix.Iovec
	arena []byte
	used  int // bytes of arena in use
	n     int // copies queued
}

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
		msgs:  make([]mmsghdr, maxCopies),
		iovs:  make([]unix.Iovec, maxCopies),
		arena: make([]byte, arenaBytes),
	}
	for i := range b.msgs {
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.SetIovlen(1)
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
	if b.n == len(b.msgs) || b.used+total > len(b.arena) {
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
	b.iovs[slot].Base = &buf[0]
	b.iovs[slot].SetLen(total)
	b.used += total
	b.n++
	return slot, nil
}

// Flush sends the queued copies in order and empties the batch. Copies
// [0, sent) were handed to the kernel; [sent, Len()) were not, and err says
// why (ErrDropped when the socket buffer or the queue is full, …).
func (b *Batch) Flush() (sent int, err error) {
	defer b.reset()
	if b.s.fd < 0 {
		return 0, ErrClosed
	}
	for sent < b.n {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(b.s.fd), uintptr(unsafe.Pointer(&b.msgs[sent])),
			uintptr(b.n-sent), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			// sendmmsg reports an error only when the first message of the
			// call failed; the loop retries from there, so an error here
			// ends the batch.
			return sent, b.s.failed(e)
		}
		if r == 0 {
			return sent, ErrDropped // not expected from Linux; never spin
		}
		sent += int(r)
	}
	return sent, nil
}

func (b *Batch) reset() {
	b.n, b.used = 0, 0
}
