package deliver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Largest UDP payloads: the IPv4 total length and the IPv6 payload length
// are 16 bits and include the UDP header (and for IPv4 the IP header).
const (
	maxPayload4 = 65535 - 20 - 8
	maxPayload6 = 65535 - 8
)

// Target is one mediation device: where copies go and how they look.
type Target struct {
	// ContentID is the CCCID written in front of every copy
	// (cTap2MediationContentId).
	ContentID uint32
	// Dest is the mediation device's address and UDP port, IPv4 or IPv6.
	Dest netip.AddrPort
	// DSCP marks every datagram (0–63; the MIB default is 34, AF41).
	DSCP uint8
	// SrcIfIndex picks the source address: the first address of Dest's
	// family on that interface (for IPv6 a global one before a link-local
	// one). 0 lets routing choose.
	SrcIfIndex int
}

// Options are per deployment, the same for every mediation device.
type Options struct {
	// Mark is the SO_MARK of every delivery socket; give the capture the
	// same value (capture.Options.IgnoreMark) so that copies are never
	// intercepted themselves. 0 leaves sockets unmarked.
	Mark uint32
	// Timestamp adds the optional 8-byte NTP timestamp after the CCCID
	// (Wireshark: pcli12 instead of pcli).
	Timestamp bool
	// Clock stamps copies sent without a time of their own; nil: time.Now.
	Clock func() time.Time
	// SendBuffer sets SO_SNDBUF in bytes (the kernel doubles it); 0 keeps
	// the system default (net.core.wmem_default).
	SendBuffer int
	// NoGSO makes Batch send one message per copy, never UDP GSO runs
	// (for comparison; Batch falls back by itself when the kernel refuses).
	NoGSO bool
}

// Sender sends copies to one mediation device over one non-blocking UDP
// socket. It never waits: when the path cannot take a copy now, Send
// returns ErrDropped and the copy is lost — counted by the caller, never
// silently. A Sender is used by one goroutine at a time.
type Sender struct {
	target  Target
	opts    Options
	fd      int
	src     netip.Addr
	maxData int // largest header + copy

	// UDP GSO for Batch: at most gsoSegs datagrams per message (0: off),
	// each at most gsoMaxSeg bytes so that it fits the path MTU.
	gsoSegs   int
	gsoMaxSeg int

	// One datagram: iov[0] = header (CCCID, timestamp, for tagged frames
	// the MAC addresses and the tag), iov[1] = the caller's bytes, sent
	// without copying them.
	hdr    [cccidLen + timestampLen + macPairLen + vlanTagLen]byte
	hdrLen int // CCCID plus timestamp
	iov    [2]unix.Iovec
	msg    unix.Msghdr

	// Buffers to drain the socket error queue after an ICMP error.
	errMsg  unix.Msghdr
	errIov  unix.Iovec
	errData [256]byte
	errCtl  [256]byte
}

// NewSender opens the socket for t: non-blocking UDP, SO_MARK, DSCP, the
// source address of t.SrcIfIndex, connected to t.Dest so that each send
// needs no address and ICMP errors come back as ErrUnreachable.
func NewSender(t Target, opts Options) (*Sender, error) {
	if !t.Dest.IsValid() || t.Dest.Port() == 0 || t.Dest.Addr().IsUnspecified() {
		return nil, fmt.Errorf("deliver: destination %v: need an address and a port", t.Dest)
	}
	if t.DSCP > 63 {
		return nil, fmt.Errorf("deliver: DSCP %d: need 0-63", t.DSCP)
	}
	if t.SrcIfIndex < 0 {
		return nil, fmt.Errorf("deliver: source interface %d: need an ifindex or 0", t.SrcIfIndex)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	dest := netip.AddrPortFrom(t.Dest.Addr().Unmap(), t.Dest.Port())
	t.Dest = dest
	v4 := dest.Addr().Is4()

	family, maxPayload := unix.AF_INET6, maxPayload6
	if v4 {
		family, maxPayload = unix.AF_INET, maxPayload4
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("deliver: udp socket: %w", err)
	}
	s := &Sender{target: t, opts: opts, fd: fd, maxData: maxPayload}
	if err := s.setup(v4); err != nil {
		unix.Close(fd)
		return nil, err
	}
	binary.BigEndian.PutUint32(s.hdr[:], t.ContentID)
	s.hdrLen = cccidLen
	if opts.Timestamp {
		s.hdrLen += timestampLen
	}
	if !opts.NoGSO && !splitsGSO(dest.Addr()) {
		s.gsoSegs = maxGSOSegments
		s.gsoMaxSeg = s.pathMaxSeg()
	}
	s.msg.Iov = &s.iov[0]
	s.errIov.Base = &s.errData[0]
	s.errIov.SetLen(len(s.errData))
	s.errMsg.Iov = &s.errIov
	s.errMsg.SetIovlen(1)
	s.errMsg.Control = &s.errCtl[0]
	return s, nil
}

func (s *Sender) setup(v4 bool) error {
	t := s.target
	if s.opts.Mark != 0 {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_MARK, int(s.opts.Mark)); err != nil {
			return fmt.Errorf("deliver: SO_MARK %#x: %w", s.opts.Mark, err)
		}
	}
	if s.opts.SendBuffer > 0 {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, s.opts.SendBuffer); err != nil {
			return fmt.Errorf("deliver: SO_SNDBUF %d: %w", s.opts.SendBuffer, err)
		}
	}
	// The DSCP is the upper six bits of the TOS / traffic class byte.
	// RECVERR makes the kernel report a qdisc drop as ENOBUFS instead of
	// pretending the datagram went out (udp_send_skb hides ENOBUFS
	// otherwise).
	tos := int(t.DSCP) << 2
	if v4 {
		if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IP, unix.IP_TOS, tos); err != nil {
			return fmt.Errorf("deliver: IP_TOS %#x: %w", tos, err)
		}
		if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1); err != nil {
			return fmt.Errorf("deliver: IP_RECVERR: %w", err)
		}
	} else {
		if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos); err != nil {
			return fmt.Errorf("deliver: IPV6_TCLASS %#x: %w", tos, err)
		}
		if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1); err != nil {
			return fmt.Errorf("deliver: IPV6_RECVERR: %w", err)
		}
	}
	if t.SrcIfIndex > 0 {
		src, err := SourceAddr(t.SrcIfIndex, v4)
		if err != nil {
			return err
		}
		s.src = src
		if err := unix.Bind(s.fd, sockaddr(netip.AddrPortFrom(src, 0))); err != nil {
			return fmt.Errorf("deliver: bind to source %v: %w", src, err)
		}
	}
	if err := unix.Connect(s.fd, sockaddr(t.Dest)); err != nil {
		return fmt.Errorf("deliver: connect to %v: %w", t.Dest, err)
	}
	if !s.src.IsValid() {
		// Routing chose; remember what it chose for Source.
		if sa, err := unix.Getsockname(s.fd); err == nil {
			s.src = addrOf(sa)
		}
	}
	return nil
}

// SourceAddr returns the address copies leave from when SrcIfIndex is
// ifindex: the interface's first IPv4 address, or its first global IPv6
// address (a link-local one, with its zone, only if there is no other).
func SourceAddr(ifindex int, v4 bool) (netip.Addr, error) {
	ifc, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("deliver: source interface %d: %w", ifindex, err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("deliver: addresses of %s: %w", ifc.Name, err)
	}
	var linkLocal netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		switch {
		case v4 && ip.Is4():
			return ip, nil
		case !v4 && ip.Is6() && ip.IsLinkLocalUnicast():
			if !linkLocal.IsValid() {
				linkLocal = ip.WithZone(ifc.Name)
			}
		case !v4 && ip.Is6():
			return ip, nil
		}
	}
	if linkLocal.IsValid() {
		return linkLocal, nil
	}
	family := "IPv6"
	if v4 {
		family = "IPv4"
	}
	return netip.Addr{}, fmt.Errorf("deliver: source interface %s has no %s address", ifc.Name, family)
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if zone := ap.Addr().Zone(); zone != "" {
		if idx, err := strconv.ParseUint(zone, 10, 32); err == nil {
			sa.ZoneId = uint32(idx)
		} else if ifc, err := net.InterfaceByName(zone); err == nil {
			sa.ZoneId = uint32(ifc.Index)
		}
	}
	return sa
}

func addrOf(sa unix.Sockaddr) netip.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr)
	}
	return netip.Addr{}
}

// Target returns the mediation device this sender serves.
func (s *Sender) Target() Target { return s.target }

// Source is the address copies leave from.
func (s *Sender) Source() netip.Addr { return s.src }

// Send sends one copy: the CCCID, the timestamp if enabled (Clock's time)
// and payload — the intercepted IP packet from its first header byte, or
// an Ethernet frame with its tags. It never blocks and never allocates.
func (s *Sender) Send(payload []byte) error {
	return s.SendAt(time.Time{}, payload)
}

// SendAt is Send with the copy's timestamp given (e.g. the capture time);
// a zero at means Clock's time.
func (s *Sender) SendAt(at time.Time, payload []byte) error {
	n := s.header(at)
	return s.sendmsg(n, payload, n+len(payload))
}

// SendTagged sends an Ethernet frame with the VLAN tag (tpid, tci) that
// the kernel removed put back after its MAC addresses, as it was on the
// wire. A zero at means Clock's time.
func (s *Sender) SendTagged(at time.Time, frame []byte, tpid, tci uint16) error {
	if len(frame) < macPairLen {
		return ErrShortFrame
	}
	n := s.header(at)
	tagged, _ := InsertVLAN(s.hdr[n:], frame[:macPairLen], tpid, tci)
	n += len(tagged)
	rest := frame[macPairLen:]
	return s.sendmsg(n, rest, n+len(rest))
}

// header fills the timestamp if enabled and returns the header length.
func (s *Sender) header(at time.Time) int {
	if s.opts.Timestamp {
		if at.IsZero() {
			at = s.opts.Clock()
		}
		PutNTP(s.hdr[cccidLen:], at)
	}
	return s.hdrLen
}

// sendmsg sends s.hdr[:hdrLen] followed by data as one datagram.
func (s *Sender) sendmsg(hdrLen int, data []byte, total int) error {
	if s.fd < 0 {
		return ErrClosed
	}
	if total > s.maxData {
		return ErrTooBig
	}
	s.iov[0].Base = &s.hdr[0]
	s.iov[0].SetLen(hdrLen)
	iovs := 1
	if len(data) > 0 {
		s.iov[1].Base = &data[0]
		s.iov[1].SetLen(len(data))
		iovs = 2
	}
	s.msg.SetIovlen(iovs)
	for {
		_, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msg)), unix.MSG_DONTWAIT)
		if e == unix.EINTR {
			continue
		}
		s.iov[1].Base = nil // do not keep the caller's buffer reachable
		if e != 0 {
			return s.failed(e)
		}
		return nil
	}
}

// failed maps a send errno; after an ICMP-reported error it empties the
// socket error queue (filled because of IP_RECVERR) so that the error is
// reported once, not for every later datagram.
func (s *Sender) failed(e unix.Errno) error {
	err := sendErr(e)
	if errors.Is(err, ErrUnreachable) {
		s.drainErrors()
	}
	return err
}

func (s *Sender) drainErrors() {
	for range 64 {
		s.errMsg.SetControllen(len(s.errCtl))
		_, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.errMsg)), unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if e != 0 && e != unix.EINTR {
			return
		}
	}
}

// Close closes the socket. Later sends return ErrClosed.
func (s *Sender) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	if err != nil {
		return fmt.Errorf("deliver: close: %w", err)
	}
	return nil
}
