package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds every sender keeps to, so a test bug cannot flood for ever.
const (
	MaxCount        = 1_000_000
	DefaultDuration = 10 * time.Second
)

// ipID numbers IPv4 packets across the process, so repeated packets of
// one flow still differ.
var ipID atomic.Uint32

// nextID is never 0: the kernel would replace a zero ID with its own.
func nextID() uint16 {
	for {
		if id := uint16(ipID.Add(1)); id != 0 {
			return id
		}
	}
}

// SourceFor returns the source address ns's routing picks for dst.
func (ns *NS) SourceFor(dst netip.Addr) (netip.Addr, error) {
	var src netip.Addr
	err := ns.Do(func() error {
		// Connecting a UDP socket only does the route lookup.
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
		if err != nil {
			return err
		}
		defer c.Close()
		src = c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		return nil
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("source address for %s in %s: %w", dst, ns.Name, err)
	}
	return src, nil
}

// rawSender sends complete IP packets through the routing table of the
// namespace it was opened in (IPPROTO_RAW: the header is ours, the kernel
// only fills in what it must and gets it the same as we did).
type rawSender struct{ fd4, fd6 int }

func (ns *NS) openRaw() (*rawSender, error) {
	s := &rawSender{fd4: -1, fd6: -1}
	err := ns.Do(func() error {
		var err error
		if s.fd4, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw IPv4 socket: %w", err)
		}
		if s.fd6, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw IPv6 socket: %w", err)
		}
		return nil
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("in %s: %w", ns.Name, err)
	}
	return s, nil
}

func (s *rawSender) close() {
	for _, fd := range []int{s.fd4, s.fd6} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (s *rawSender) send(pkt []byte) error {
	switch {
	case len(pkt) >= 20 && pkt[0]>>4 == 4:
		to := &unix.SockaddrInet4{}
		copy(to.Addr[:], pkt[16:20])
		return sendRetry(s.fd4, pkt, to)
	case len(pkt) >= 40 && pkt[0]>>4 == 6:
		to := &unix.SockaddrInet6{}
		copy(to.Addr[:], pkt[24:40])
		return sendRetry(s.fd6, pkt, to)
	}
	return fmt.Errorf("send: %d bytes are not an IPv4 or IPv6 packet", len(pkt))
}

// sendRetry waits out a full socket buffer instead of dropping the packet:
// the senders promise exact counts.
func sendRetry(fd int, pkt []byte, to unix.Sockaddr) error {
	for range 1000 {
		err := unix.Sendto(fd, pkt, 0, to)
		if !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EAGAIN) {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
	return fmt.Errorf("send: socket buffer stayed full")
}

// SendIP sends complete IPv4/IPv6 packets from ns, routed by ns's tables.
func (ns *NS) SendIP(pkts ...[]byte) error {
	s, err := ns.openRaw()
	if err != nil {
		return err
	}
	defer s.close()
	for i, p := range pkts {
		if err := s.send(p); err != nil {
			return fmt.Errorf("send packet %d of %d from %s: %w", i+1, len(pkts), ns.Name, err)
		}
	}
	return nil
}

// Pace bounds a sender: Count packets (1..MaxCount), Gap between them, and
// no longer than MaxDuration (default DefaultDuration) in all.
type Pace struct {
	Count       int
	Gap         time.Duration
	MaxDuration time.Duration
}

// sendBuilt builds and sends p.Count packets, returning those sent. It
// stops with an error when the time bound is reached first.
func (ns *NS) sendBuilt(p Pace, build func(i int) ([]byte, error)) ([][]byte, error) {
	if p.Count < 1 || p.Count > MaxCount {
		return nil, fmt.Errorf("count %d outside 1..%d", p.Count, MaxCount)
	}
	if p.MaxDuration <= 0 {
		p.MaxDuration = DefaultDuration
	}
	s, err := ns.openRaw()
	if err != nil {
		return nil, err
	}
	defer s.close()
	deadline := time.Now().Add(p.MaxDuration)
	sent := make([][]byte, 0, p.Count)
	for i := range p.Count {
		if i > 0 && p.Gap > 0 {
			time.Sleep(p.Gap)
		}
		if time.Now().After(deadline) {
			return sent, fmt.Errorf("sent %d of %d packets within %v", len(sent), p.Count, p.MaxDuration)
		}
		pkt, err := build(i)
		if err != nil {
			return sent, err
		}
		if err := s.send(pkt); err != nil {
			return sent, fmt.Errorf("send packet %d from %s: %w", i+1, ns.Name, err)
		}
		sent = append(sent, pkt)
	}
	return sent, nil
}

// UDPFlow describes UDP datagrams to send.
type UDPFlow struct {
	// Src is the source address; invalid means the one routing picks.
	Src     netip.Addr
	SrcPort uint16 // 0 means 40000
	Dst     netip.AddrPort
	// TOS is the IPv4 TOS byte or IPv6 traffic class; FlowLabel is IPv6 only.
	TOS       uint8
	FlowLabel uint32
	Payload   []byte
	Pace
}

// SendUDP sends f.Count datagrams from ns and returns the IP packets sent,
// byte for byte as they left (IPv4 packets differ in their ID).
func (ns *NS) SendUDP(f UDPFlow) ([][]byte, error) {
	h, err := ns.header(f.Src, f.Dst.Addr(), f.TOS, f.FlowLabel)
	if err != nil {
		return nil, err
	}
	sport := f.SrcPort
	if sport == 0 {
		sport = 40000
	}
	return ns.sendBuilt(f.Pace, func(int) ([]byte, error) {
		h.ID = nextID()
		return BuildUDP(h, sport, f.Dst.Port(), f.Payload)
	})
}

// FloodUDP sends the datagram of f as fast as it can, up to f.Count times
// (0 means MaxCount) or for f.MaxDuration, and returns how many it sent.
// Nothing is kept: it is for rate and overload tests.
func (ns *NS) FloodUDP(f UDPFlow) (int, error) {
	count := f.Count
	if count <= 0 || count > MaxCount {
		count = MaxCount
	}
	maxDur := f.MaxDuration
	if maxDur <= 0 {
		maxDur = DefaultDuration
	}
	h, err := ns.header(f.Src, f.Dst.Addr(), f.TOS, f.FlowLabel)
	if err != nil {
		return 0, err
	}
	sport := f.SrcPort
	if sport == 0 {
		sport = 40000
	}
	pkt, err := BuildUDP(h, sport, f.Dst.Port(), f.Payload)
	if err != nil {
		return 0, err
	}
	s, err := ns.openRaw()
	if err != nil {
		return 0, err
	}
	defer s.close()
	deadline := time.Now().Add(maxDur)
	for n := range count {
		if n%256 == 0 && time.Now().After(deadline) {
			return n, nil
		}
		if err := s.send(pkt); err != nil {
			return n, fmt.Errorf("flood from %s: %w", ns.Name, err)
		}
	}
	return count, nil
}

// TCPFlow describes raw TCP segments to send (no connection: the peer's
// kernel answers as it sees fit, e.g. SYN-ACK or RST).
type TCPFlow struct {
	Src     netip.Addr // invalid means the one routing picks
	SrcPort uint16     // 0 means 40000
	Dst     netip.AddrPort
	TOS     uint8
	// FlowLabel is IPv6 only.
	FlowLabel uint32
	// Flags default to SYN; Seq of packet i is Seq+i.
	Flags   uint8
	Seq     uint32
	Payload []byte
	Pace
}

// SendTCP sends f.Count segments (SYNs by default) and returns them.
func (ns *NS) SendTCP(f TCPFlow) ([][]byte, error) {
	h, err := ns.header(f.Src, f.Dst.Addr(), f.TOS, f.FlowLabel)
	if err != nil {
		return nil, err
	}
	t := TCPHeader{SrcPort: f.SrcPort, DstPort: f.Dst.Port(), Flags: f.Flags}
	if t.SrcPort == 0 {
		t.SrcPort = 40000
	}
	if t.Flags == 0 {
		t.Flags = TCPSyn
	}
	return ns.sendBuilt(f.Pace, func(i int) ([]byte, error) {
		h.ID = nextID()
		t.Seq = f.Seq + uint32(i)
		return BuildTCP(h, t, f.Payload)
	})
}

// header fills in an IP header, choosing the source by route if needed.
func (ns *NS) header(src, dst netip.Addr, tos uint8, flow uint32) (IPHeader, error) {
	dst = dst.Unmap()
	if !src.IsValid() {
		var err error
		if src, err = ns.SourceFor(dst); err != nil {
			return IPHeader{}, err
		}
	}
	return IPHeader{Src: src.Unmap(), Dst: dst, TOS: tos, FlowLabel: flow}, nil
}

// SendFrames sends raw Ethernet frames (e.g. from Frame.Bytes) out of
// iface in ns with an AF_PACKET socket, exactly as given.
func (ns *NS) SendFrames(iface string, frames ...[]byte) error {
	return ns.Do(func() error {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return fmt.Errorf("send frames in %s: %w", ns.Name, err)
		}
		// Protocol 0: this socket never receives.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("send frames: packet socket: %w", err)
		}
		defer unix.Close(fd)
		for i, f := range frames {
			if len(f) < 14 {
				return fmt.Errorf("send frames: frame %d has %d bytes", i+1, len(f))
			}
			to := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
			copy(to.Addr[:], f[:6])
			if err := sendRetry(fd, f, to); err != nil {
				return fmt.Errorf("send frame %d of %d on %s/%s: %w", i+1, len(frames), ns.Name, iface, err)
			}
		}
		return nil
	})
}
