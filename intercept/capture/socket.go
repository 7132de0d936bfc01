package capture

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Errors of Next and Count.
var (
	// ErrTimeout: no packet arrived within Options.PollTimeout. Not a
	// failure; the caller does its periodic work and calls again.
	ErrTimeout = errors.New("capture: timeout")
	// ErrClosed: the ring was closed.
	ErrClosed = errors.New("capture: closed")
	// ErrBusy: another goroutine is reading the ring. One reader per ring.
	ErrBusy = errors.New("capture: ring read by another goroutine")
)

// Reader states. A reader is inside Next or Count (stateReading), or holds
// the frame Next returned (stateHolding) until its next call. Close never
// unmaps the ring under a reader: with the reader inside it waits for it to
// leave, with a frame held it leaves the release to the reader's next call.
const (
	stateIdle int32 = iota
	stateReading
	stateHolding
	stateClosed
)

// Offsets inside a TPACKET_V3 block and packet (linux/if_packet.h).
const (
	tpacket3HdrLen = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	sllIfindex     = tpacket3HdrLen + 4
	sllHatype      = tpacket3HdrLen + 8
	sllPkttype     = tpacket3HdrLen + 10
)

// ringSocket is an AF_PACKET socket with a TPACKET_V3 receive ring: the
// part Ring and BareReader share.
type ringSocket struct {
	opts   Options
	sel    selection
	fd     int
	wake   int // eventfd that Close writes to end a poll
	ring   []byte
	polls  [2]unix.PollFd // in the struct so that polling does not allocate
	pollMs int

	state   atomic.Int32
	closing atomic.Bool // set under ctl; after it only the reader or Close touch fd

	ctl       sync.Mutex // serialises SetBPF, Stats, Close and the release
	totals    Stats      // kernel counters so far (the kernel resets on read)
	truncated atomic.Uint64
}

// openSocket sets the socket and ring up before binding it, so that no
// frame reaches it before the interface filter is in place.
func openSocket(opts Options) (*ringSocket, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	sel, err := selectInterfaces(opts.Interfaces)
	if err != nil {
		return nil, err
	}
	sel.mark = opts.IgnoreMark

	// Protocol 0: receives nothing until bind names ETH_P_ALL.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("capture: packet socket: %w", err)
	}
	s := &ringSocket{opts: opts, sel: sel, fd: fd, wake: -1, pollMs: -1}
	if opts.PollTimeout > 0 {
		s.pollMs = int((opts.PollTimeout + 999_999) / 1_000_000)
	}
	if err := s.setup(); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *ringSocket) setup() error {
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("capture: TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(s.opts.BlockSize),
		Block_nr:       uint32(s.opts.NumBlocks),
		Frame_size:     uint32(s.opts.FrameSize),
		Frame_nr:       uint32(s.opts.BlockSize / s.opts.FrameSize * s.opts.NumBlocks),
		Retire_blk_tov: uint32(s.opts.BlockTimeout.Milliseconds()),
	}
	if err := unix.SetsockoptTpacketReq3(s.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("capture: receive ring of %d x %d bytes: %w", s.opts.NumBlocks, s.opts.BlockSize, err)
	}
	// The kernel maps all ring pages at mmap time (packet_mmap), so there
	// are no page faults to pre-empt and nothing to lock.
	ring, err := unix.Mmap(s.fd, 0, s.opts.BlockSize*s.opts.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("capture: map ring: %w", err)
	}
	s.ring = ring
	if err := s.attach(nil); err != nil {
		return err
	}
	// Cumulative statistics start now, not at socket creation.
	if _, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err != nil {
		return fmt.Errorf("capture: reset statistics: %w", err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: 0}
	if err := unix.Bind(s.fd, sa); err != nil {
		return fmt.Errorf("capture: bind: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("capture: eventfd: %w", err)
	}
	s.wake = wake
	s.polls = [2]unix.PollFd{
		{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR},
		{Fd: int32(s.wake), Events: unix.POLLIN},
	}
	return nil
}

// selectInterfaces resolves names now: an interface deleted and created
// again gets a new ifindex and needs a new Ring.
func selectInterfaces(names []string) (selection, error) {
	if len(names) > 0 {
		sel := selection{only: true}
		for _, name := range names {
			ifc, err := net.InterfaceByName(name)
			if err != nil {
				return selection{}, fmt.Errorf("capture: interface %q: %w", name, err)
			}
			sel.ifindexes = append(sel.ifindexes, ifc.Index)
		}
		return sel, nil
	}
	ifcs, err := net.Interfaces()
	if err != nil {
		return selection{}, fmt.Errorf("capture: list interfaces: %w", err)
	}
	var sel selection
	for _, ifc := range ifcs {
		if ifc.Flags&net.FlagLoopback != 0 {
			sel.ifindexes = append(sel.ifindexes, ifc.Index)
		}
	}
	return sel, nil
}

// attach installs prologue + user as the socket filter. SO_ATTACH_FILTER
// swaps the program in one step: every frame sees either the old or the new
// one.
func (s *ringSocket) attach(user []bpf.RawInstruction) error {
	prog, err := s.sel.build(user)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("capture: attach filter of %d instructions: %w", len(prog), err)
	}
	return nil
}

// SetBPF replaces the user part of the kernel filter; nil accepts all. The
// program sees frames from their MAC header with a kernel-stripped VLAN tag
// in the ancillary fields, and returns the snap length: 0 drops, MaxSnap
// keeps the whole frame.
func (s *ringSocket) SetBPF(prog []bpf.RawInstruction) error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.closing.Load() {
		return ErrClosed
	}
	return s.attach(prog)
}

// Stats are cumulative counters since Open.
type Stats struct {
	// Packets passed the kernel filter (the kernel's tp_packets, which
	// includes the dropped ones).
	Packets uint64
	// Drops found the ring full and were lost.
	Drops uint64
	// Freezes counts times the ring was full (tp_freeze_q_cnt).
	Freezes uint64
	// Truncated frames were read with fewer bytes than on the wire.
	Truncated uint64
}

// Stats returns the kernel ring statistics since Open. Safe to call while
// another goroutine reads.
func (s *ringSocket) Stats() (Stats, error) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.closing.Load() {
		return Stats{}, ErrClosed
	}
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return Stats{}, fmt.Errorf("capture: statistics: %w", err)
	}
	s.totals.Packets += uint64(st.Packets)
	s.totals.Drops += uint64(st.Drops)
	s.totals.Freezes += uint64(st.Freeze_q_cnt)
	out := s.totals
	out.Truncated = s.truncated.Load()
	return out, nil
}

// enter claims the reader role for one call. The reader that finds the
// ring closing releases it.
func (s *ringSocket) enter() error {
	for {
		st := s.state.Load()
		switch st {
		case stateClosed:
			return ErrClosed
		case stateReading:
			return ErrBusy
		}
		if s.state.CompareAndSwap(st, stateReading) {
			break
		}
	}
	if s.closing.Load() {
		s.finish()
		return ErrClosed
	}
	return nil
}

// leave ends a call; holding says a frame from the ring was returned.
func (s *ringSocket) leave(holding bool) {
	if holding {
		s.state.Store(stateHolding)
	} else {
		s.state.Store(stateIdle)
	}
}

// finish releases the ring on behalf of a Close; the caller is the reader.
func (s *ringSocket) finish() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	_ = s.release()
	s.state.Store(stateClosed)
}

// block returns the header of block i.
func (s *ringSocket) block(i int) *unix.TpacketHdrV1 {
	desc := (*unix.TpacketBlockDesc)(unsafe.Pointer(&s.ring[i*s.opts.BlockSize]))
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&desc.Hdr[0]))
}

// ready reports whether the kernel handed block hdr to us. The atomic load
// orders the reads of the block after the kernel's status write.
func ready(hdr *unix.TpacketHdrV1) bool {
	return atomic.LoadUint32(&hdr.Block_status)&unix.TP_STATUS_USER != 0
}

// giveBack returns a block to the kernel after all reads of it.
func giveBack(hdr *unix.TpacketHdrV1) {
	atomic.StoreUint32(&hdr.Block_status, unix.TP_STATUS_KERNEL)
}

// wait blocks until the kernel hands over a block, Close, or the poll
// timeout. It never allocates on the common paths.
func (s *ringSocket) wait() error {
	for {
		if s.closing.Load() {
			return ErrClosed
		}
		s.polls[0].Revents, s.polls[1].Revents = 0, 0
		n, err := unix.Poll(s.polls[:], s.pollMs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("capture: poll: %w", err)
		}
		if n == 0 {
			return ErrTimeout
		}
		if s.polls[1].Revents != 0 {
			return ErrClosed
		}
		if s.polls[0].Revents&unix.POLLERR != 0 {
			// Reading SO_ERROR clears it; otherwise poll would return at
			// once forever.
			soErr, gerr := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if gerr != nil {
				return fmt.Errorf("capture: socket error: %w", gerr)
			}
			if soErr != 0 {
				return fmt.Errorf("capture: socket error: %w", unix.Errno(soErr))
			}
		}
		return nil
	}
}

// Close wakes a blocked reader and releases the socket and the ring: at
// once when no reader is inside or holding a frame, else when the reader
// calls again (and gets ErrClosed). It never waits for more than a reader's
// way out of poll.
func (s *ringSocket) Close() error {
	s.ctl.Lock()
	if s.closing.Load() {
		s.ctl.Unlock()
		return nil
	}
	s.closing.Store(true)
	one := [8]byte{1}
	_, werr := unix.Write(s.wake, one[:])
	s.ctl.Unlock()
	if werr != nil {
		return fmt.Errorf("capture: wake reader: %w", werr)
	}
	for {
		switch s.state.Load() {
		case stateClosed, stateHolding:
			return nil
		case stateIdle:
			if s.state.CompareAndSwap(stateIdle, stateClosed) {
				s.ctl.Lock()
				defer s.ctl.Unlock()
				return s.release()
			}
		case stateReading:
			waitBriefly() // the reader is on its way out of poll
		}
	}
}

// releaseUnused frees a ring whose Ring or BareReader became unreachable
// without a completed Close (a reader that stopped while holding a frame).
func (s *ringSocket) releaseUnused() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	_ = s.release()
}

func (s *ringSocket) release() error {
	var errs []error
	if s.ring != nil {
		if err := unix.Munmap(s.ring); err != nil {
			errs = append(errs, fmt.Errorf("capture: unmap ring: %w", err))
		}
		s.ring = nil
	}
	if s.fd >= 0 {
		if err := unix.Close(s.fd); err != nil {
			errs = append(errs, fmt.Errorf("capture: close socket: %w", err))
		}
		s.fd = -1
	}
	if s.wake >= 0 {
		_ = unix.Close(s.wake)
		s.wake = -1
	}
	return errors.Join(errs...)
}

// waitBriefly lets a reader that is being woken up leave.
func waitBriefly() { time.Sleep(50 * time.Microsecond) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }
