package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// EchoFlow describes ICMP / ICMPv6 echo requests (what ping -c N sends).
type EchoFlow struct {
	Src       netip.Addr // invalid means the one routing picks
	Dst       netip.Addr
	TOS       uint8
	FlowLabel uint32
	// Payload defaults to 56 bytes like ping's.
	Payload []byte
	Pace
	// Timeout is how long to wait for the last reply; default 2 s.
	Timeout time.Duration
}

// PingResult is what Ping sent and how many matching replies came back.
type PingResult struct {
	Sent    [][]byte // the echo requests, IP packets byte for byte
	Replies int
}

var echoID atomic.Uint32

// Ping sends f.Count echo requests from ns and counts the replies. A
// missing reply is not an error: compare Replies with len(Sent).
func (ns *NS) Ping(f EchoFlow) (PingResult, error) {
	var res PingResult
	h, err := ns.header(f.Src, f.Dst, f.TOS, f.FlowLabel)
	if err != nil {
		return res, err
	}
	payload := f.Payload
	if payload == nil {
		payload = make([]byte, 56)
		for i := range payload {
			payload[i] = byte(i)
		}
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	id := uint16(echoID.Add(1)) ^ 0x4e4c
	// The reply socket exists before the first request leaves.
	fd := -1
	err = ns.Do(func() error {
		var err error
		if h.Dst.Is4() {
			fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		} else {
			fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("ping from %s: ICMP socket: %w", ns.Name, err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return res, fmt.Errorf("ping: %w", err)
	}

	replies := make(chan int, 1)
	stop := make(chan struct{})
	go func() { replies <- countEchoReplies(fd, h.Dst, id, f.Count, stop) }()
	res.Sent, err = ns.sendBuilt(f.Pace, func(i int) ([]byte, error) {
		h.ID = nextID()
		return BuildEcho(h, id, uint16(i+1), payload)
	})
	if err != nil {
		close(stop)
		<-replies
		return res, err
	}
	select {
	case res.Replies = <-replies:
	case <-time.After(timeout):
		close(stop)
		res.Replies = <-replies
	}
	return res, nil
}

// countEchoReplies reads echo replies from peer with identifier id until
// want distinct sequence numbers arrived or stop closes.
func countEchoReplies(fd int, peer netip.Addr, id uint16, want int, stop <-chan struct{}) int {
	seen := map[uint16]bool{}
	buf := make([]byte, 65536)
	for len(seen) < want {
		select {
		case <-stop:
			return len(seen)
		default:
		}
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return len(seen)
		}
		msg := buf[:n]
		var src netip.Addr
		replyType := byte(129)
		switch a := from.(type) {
		case *unix.SockaddrInet4:
			src = netip.AddrFrom4(a.Addr)
			replyType = 0
			// IPv4 raw sockets deliver the IP header too.
			if len(msg) < 20 {
				continue
			}
			msg = msg[int(msg[0]&0x0f)*4:]
		case *unix.SockaddrInet6:
			src = netip.AddrFrom16(a.Addr)
		}
		if src != peer || len(msg) < 8 || msg[0] != replyType || binary.BigEndian.Uint16(msg[4:]) != id {
			continue
		}
		seen[binary.BigEndian.Uint16(msg[6:])] = true
	}
	return len(seen)
}
