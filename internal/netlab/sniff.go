package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SniffedFrame is an Ethernet frame seen on an interface.
type SniffedFrame struct {
	Data     []byte // the whole frame, 802.1Q tag restored, no FCS
	Outgoing bool   // sent by this namespace rather than received
	At       time.Time
}

// Sniffer records every frame of one interface with an AF_PACKET socket.
type Sniffer struct {
	fd   int
	done chan struct{}
	stop chan struct{}

	mu     sync.Mutex
	frames []SniffedFrame
	err    error
}

// maxSniffed bounds a Sniffer's memory; later frames are counted as an
// error instead of kept.
const maxSniffed = 200_000

// Sniff starts recording the frames iface in ns sends and receives. Close
// it when done (the lab does not).
func (ns *NS) Sniff(iface string) (*Sniffer, error) {
	s := &Sniffer{fd: -1, done: make(chan struct{}), stop: make(chan struct{})}
	err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		// Protocol 0 until bound: no frames of other interfaces sneak in.
		if s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		// The kernel moves 802.1Q tags out of the frame; auxdata gives
		// them back so we can restore the frame as it was on the wire.
		if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return fmt.Errorf("PACKET_AUXDATA: %w", err)
		}
		_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		tv := unix.NsecToTimeval((20 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return fmt.Errorf("SO_RCVTIMEO: %w", err)
		}
		if err := unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
			return fmt.Errorf("bind to %s: %w", iface, err)
		}
		return nil
	})
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		return nil, fmt.Errorf("sniff %s/%s: %w", ns.Name, iface, err)
	}
	go s.loop()
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// tpacketAuxdata is struct tpacket_auxdata of linux/if_packet.h.
type tpacketAuxdata struct {
	Status   uint32
	Len      uint32
	Snaplen  uint32
	Mac      uint16
	Net      uint16
	VlanTCI  uint16
	VlanTPID uint16
}

func (s *Sniffer) loop() {
	defer close(s.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, oobn, flags, from, err := unix.Recvmsg(s.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			s.fail(fmt.Errorf("sniffer: %w", err))
			return
		}
		if flags&unix.MSG_TRUNC != 0 {
			s.fail(fmt.Errorf("sniffer: frame longer than %d bytes", len(buf)))
			continue
		}
		frame := append([]byte(nil), buf[:n]...)
		if tag, ok := vlanTag(oob[:oobn]); ok && len(frame) >= 12 {
			frame = append(frame[:12], append(tag, frame[12:]...)...)
		}
		out := false
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			out = ll.Pkttype == unix.PACKET_OUTGOING
		}
		s.mu.Lock()
		if len(s.frames) < maxSniffed {
			s.frames = append(s.frames, SniffedFrame{Data: frame, Outgoing: out, At: time.Now()})
		} else if s.err == nil {
			s.err = fmt.Errorf("sniffer: more than %d frames", maxSniffed)
		}
		s.mu.Unlock()
	}
}

// vlanTag returns the 802.1Q tag the kernel stripped, from the auxdata.
func vlanTag(oob []byte) ([]byte, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA ||
			len(m.Data) < int(unsafe.Sizeof(tpacketAuxdata{})) {
			continue
		}
		aux := (*tpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
		if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 {
			return nil, false
		}
		tpid := uint16(EtherTypeVLAN)
		if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = aux.VlanTPID
		}
		tag := binary.BigEndian.AppendUint16(nil, tpid)
		return binary.BigEndian.AppendUint16(tag, aux.VlanTCI), true
	}
	return nil, false
}

func (s *Sniffer) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Frames returns the frames recorded so far.
func (s *Sniffer) Frames() []SniffedFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SniffedFrame(nil), s.frames...)
}

// Err is the first error of the recording, if any.
func (s *Sniffer) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Wait waits until n recorded frames satisfy match (nil matches all) and
// returns the matching frames; on timeout it returns them with an error.
func (s *Sniffer) Wait(n int, match func(SniffedFrame) bool, timeout time.Duration) ([]SniffedFrame, error) {
	deadline := time.Now().Add(timeout)
	for {
		var got []SniffedFrame
		for _, f := range s.Frames() {
			if match == nil || match(f) {
				got = append(got, f)
			}
		}
		if len(got) >= n {
			return got, s.Err()
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("sniffer: %d of %d frames within %v", len(got), n, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// WaitQuiet waits until no frame satisfying match (nil matches all) has
// arrived for quiet (counted from the call at the earliest), or until
// timeout, and returns the matching frames.
func (s *Sniffer) WaitQuiet(match func(SniffedFrame) bool, quiet, timeout time.Duration) []SniffedFrame {
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		var got []SniffedFrame
		last := start
		for _, f := range s.Frames() {
			if match == nil || match(f) {
				got = append(got, f)
				if f.At.After(last) {
					last = f.At
				}
			}
		}
		if time.Since(last) >= quiet || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close stops recording; the frames stay readable.
func (s *Sniffer) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	return unix.Close(s.fd)
}
