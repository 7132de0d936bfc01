package lb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// probeKind is one step of a health check.
type probeKind uint8

const (
	probePing probeKind = iota + 1
	probeTCP
	probeUDP
	probeExternal
)

// probeJob is everything a worker needs for one probe, copied out of the
// scheduler's state so that workers share nothing with it.
type probeJob struct {
	key     string
	seq     uint64
	kind    probeKind
	vip     netip.Addr
	server  netip.Addr
	proto   Protocol
	topo    Topology
	ports   []uint16 // TCP, UDP, external: each must pass
	timeout time.Duration
	method  string // external program
	ctx     context.Context
	// pingFirst: ping, and only if that passes run the test, in one go
	// (ilbd's preliminary ping, without a trip through the scheduler).
	pingFirst bool
}

// probeResult: ok, and the round trip in microseconds when measured.
type probeResult struct {
	key string
	seq uint64
	ok  bool
	rtt uint32
	err error // why it failed, for the debug log
	// pinged: the preliminary ping passed (its round trip in pingRTT)
	// and the rest is the test's result.
	pinged  bool
	pingRTT uint32
}

// prober runs probes from the engine's namespace.
type prober struct {
	ns *nsThread

	mu      sync.Mutex
	pingers map[bool]*pinger // by IPv4
}

func (p *prober) run(j *probeJob) probeResult {
	var ok bool
	var rtt time.Duration
	var err error
	switch j.kind {
	case probePing:
		var pg *pinger
		if pg, err = p.pinger(j.server.Is4()); err == nil {
			rtt, err = pg.ping(j.server, j.timeout)
		}
		ok = err == nil
	case probeTCP, probeUDP, probeExternal:
		ok = true
		for _, port := range j.ports {
			var one time.Duration
			switch j.kind {
			case probeTCP:
				one, err = p.tcp(netip.AddrPortFrom(j.server, port), j.timeout)
			case probeUDP:
				one, err = p.udp(netip.AddrPortFrom(j.server, port), j.timeout)
			default:
				one, err = p.external(j, port)
			}
			if err != nil {
				ok = false
				break
			}
			rtt = max(rtt, one)
		}
	}
	r := probeResult{key: j.key, seq: j.seq, ok: ok, err: err}
	if ok && rtt > 0 {
		r.rtt = uint32(min(max(rtt.Microseconds(), 1), 1<<32-1))
	}
	return r
}

func sockaddr(ap netip.AddrPort) (int, unix.Sockaddr) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}

// tcp connects and resets the connection at once (SO_LINGER 0), so that
// neither side keeps TIME_WAIT state for thousands of probes a second.
func (p *prober) tcp(dst netip.AddrPort, timeout time.Duration) (time.Duration, error) {
	af, sa := sockaddr(dst)
	fd, err := p.ns.socket(af, unix.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	f := os.NewFile(uintptr(fd), "tcp probe") // pollable: fd is non-blocking
	defer f.Close()
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return 0, fmt.Errorf("tcp probe %v: linger: %w", dst, err)
	}
	start := time.Now()
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		return 0, fmt.Errorf("tcp probe %v: %w", dst, err)
	}
	if err := f.SetWriteDeadline(start.Add(timeout)); err != nil {
		return 0, fmt.Errorf("tcp probe %v: %w", dst, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cerr error
	// Writable means the handshake ended; SO_ERROR says how, and a peer
	// name says it completed (a wakeup before the end has neither).
	werr := rc.Write(func(fd uintptr) bool {
		soerr, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			cerr = err
			return true
		case soerr != 0:
			cerr = unix.Errno(soerr)
			return true
		}
		if _, err := unix.Getpeername(int(fd)); err != nil {
			if err == unix.ENOTCONN {
				return false
			}
			cerr = err
		}
		return true
	})
	rtt := time.Since(start)
	if werr != nil {
		return 0, fmt.Errorf("tcp probe %v: %w", dst, werr)
	}
	if cerr != nil {
		return 0, fmt.Errorf("tcp probe %v: %w", dst, cerr)
	}
	return rtt, nil
}

// udp sends an empty datagram on a connected socket: an ICMP port
// unreachable comes back as ECONNREFUSED and means dead; silence until
// the timeout means alive (illumos), as does an answer.
func (p *prober) udp(dst netip.AddrPort, timeout time.Duration) (time.Duration, error) {
	af, sa := sockaddr(dst)
	fd, err := p.ns.socket(af, unix.SOCK_DGRAM, 0)
	if err != nil {
		return 0, err
	}
	f := os.NewFile(uintptr(fd), "udp probe")
	defer f.Close()
	start := time.Now()
	if err := unix.Connect(fd, sa); err != nil {
		return 0, fmt.Errorf("udp probe %v: %w", dst, err)
	}
	if _, err := unix.Write(fd, nil); err != nil {
		return 0, fmt.Errorf("udp probe %v: %w", dst, err)
	}
	if err := f.SetReadDeadline(start.Add(timeout)); err != nil {
		return 0, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var rerr error
	buf := make([]byte, 64)
	err = rc.Read(func(fd uintptr) bool {
		_, _, e := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		rerr = e
		return true
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil // silence: alive, round trip unknown
	case err != nil:
		return 0, fmt.Errorf("udp probe %v: %w", dst, err)
	case rerr != nil:
		return 0, fmt.Errorf("udp probe %v: %w", dst, rerr)
	}
	return time.Since(start), nil
}

// errDead is what an external method reports with -1.
var errDead = errors.New("reported dead")

// externalOutputMax: the method prints a number; the rest is ignored.
const externalOutputMax = 64

// external runs the user's program with the illumos arguments: VIP,
// server, TCP|UDP, DSR|NAT|HALF_NAT, port, timeout. It prints the round
// trip in microseconds; -1 means dead, 0 or something not numeric means
// alive with an unknown round trip. No output at all, a failure to
// start, or still running at the timeout (it is then killed with its
// process group) means dead.
func (p *prober) external(j *probeJob, port uint16) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(j.ctx, j.timeout)
	defer cancel()
	topo := map[Topology]string{DSR: "DSR", NAT: "NAT", HalfNAT: "HALF_NAT"}[j.topo]
	cmd := exec.CommandContext(ctx, j.method, j.vip.String(), j.server.String(), j.proto.String(), topo,
		strconv.Itoa(int(port)), strconv.Itoa(int(j.timeout/time.Second)))
	var out limitedBuffer
	cmd.Stdout = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a grandchild holding stdout must not hold us
	if err := p.ns.run(cmd.Start); err != nil {
		return 0, fmt.Errorf("external method %s: %w", j.method, err)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("external method %s: killed after %v", j.method, j.timeout)
	}
	text := bytes.TrimSpace(out.Bytes())
	if len(text) == 0 {
		return 0, fmt.Errorf("external method %s: no output (%v)", j.method, werr)
	}
	v := leadingInt(text)
	switch {
	case v == -1:
		return 0, fmt.Errorf("external method %s: %w", j.method, errDead)
	case v > 0:
		return time.Duration(min(v, 1<<32-1)) * time.Microsecond, nil
	}
	return 0, nil
}

// leadingInt parses an optional sign and digits at the start of b, as
// strtoll does (0 when there are none).
func leadingInt(b []byte) int64 {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	v, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// limitedBuffer keeps the first externalOutputMax bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := externalOutputMax - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

func (p *prober) pinger(v4 bool) (*pinger, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pg := p.pingers[v4]; pg != nil {
		return pg, nil
	}
	pg, err := newPinger(p.ns, v4)
	if err != nil {
		return nil, err
	}
	if p.pingers == nil {
		p.pingers = map[bool]*pinger{}
	}
	p.pingers[v4] = pg
	return pg, nil
}

func (p *prober) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pg := range p.pingers {
		pg.conn.Close()
	}
	p.pingers = nil
}

// pinger shares one raw ICMP socket among all pings of a family: one
// socket per probe would see every reply of every other probe. Replies
// are matched by identifier, sequence number and source.
type pinger struct {
	conn *net.IPConn
	v4   bool
	id   uint16

	mu      sync.Mutex
	seq     uint16
	waiting map[uint16]pingWait
}

type pingWait struct {
	from  netip.Addr
	reply chan struct{}
}

// Linux socket options that let only echo replies reach the socket
// (<linux/icmp.h> ICMP_FILTER, <linux/icmpv6.h> ICMPV6_FILTER).
const (
	icmpFilter   = 1
	icmpv6Filter = 1
)

func newPinger(ns *nsThread, v4 bool) (*pinger, error) {
	network, laddr := "ip6:ipv6-icmp", "::"
	if v4 {
		network, laddr = "ip4:icmp", "0.0.0.0"
	}
	var pc net.PacketConn
	if err := ns.run(func() (err error) { pc, err = net.ListenPacket(network, laddr); return }); err != nil {
		return nil, fmt.Errorf("ping socket: %w", err)
	}
	pg := &pinger{conn: pc.(*net.IPConn), v4: v4, id: uint16(rand.Uint32()), waiting: map[uint16]pingWait{}}
	if rc, err := pg.conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if v4 {
				unix.SetsockoptInt(int(fd), unix.SOL_RAW, icmpFilter, int(^uint32(1<<0))) // echo reply is type 0
				return
			}
			var f unix.ICMPv6Filter
			for i := range f.Data {
				f.Data[i] = ^uint32(0)
			}
			f.Data[129>>5] &^= 1 << (129 & 31) // echo reply is type 129
			unix.SetsockoptICMPv6Filter(int(fd), unix.IPPROTO_ICMPV6, icmpv6Filter, &f)
		})
	}
	go pg.read()
	return pg, nil
}

func (pg *pinger) read() {
	buf := make([]byte, 1500)
	for {
		n, from, err := pg.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		b := buf[:n] // ICMP message: Go strips the IPv4 header
		want := byte(129)
		if pg.v4 {
			want = 0
		}
		if len(b) < 8 || b[0] != want || b[1] != 0 || uint16(b[4])<<8|uint16(b[5]) != pg.id {
			continue
		}
		src, ok := netip.AddrFromSlice(from.(*net.IPAddr).IP)
		if !ok {
			continue
		}
		seq := uint16(b[6])<<8 | uint16(b[7])
		pg.mu.Lock()
		w, ok := pg.waiting[seq]
		if ok && w.from == src.Unmap() {
			delete(pg.waiting, seq)
			close(w.reply)
		}
		pg.mu.Unlock()
	}
}

// ping sends one echo request and waits for its reply.
func (pg *pinger) ping(dst netip.Addr, timeout time.Duration) (time.Duration, error) {
	w := pingWait{from: dst.Unmap(), reply: make(chan struct{})}
	pg.mu.Lock()
	var seq uint16
	for range 1 << 16 {
		pg.seq++
		if _, busy := pg.waiting[pg.seq]; !busy {
			break
		}
	}
	seq = pg.seq
	pg.waiting[seq] = w
	pg.mu.Unlock()
	defer func() {
		pg.mu.Lock()
		if cur, ok := pg.waiting[seq]; ok && cur.reply == w.reply {
			delete(pg.waiting, seq)
		}
		pg.mu.Unlock()
	}()

	msg := []byte{128, 0, 0, 0, byte(pg.id >> 8), byte(pg.id), byte(seq >> 8), byte(seq), 't', 'a', 'p', 'a', 'g', 'e', 'n', 't'}
	if pg.v4 {
		msg[0] = 8
		cs := icmpChecksum(msg)
		msg[2], msg[3] = byte(cs>>8), byte(cs)
	} // the kernel fills in the ICMPv6 checksum
	start := time.Now()
	if _, err := pg.conn.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return 0, fmt.Errorf("ping %v: %w", dst, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.reply:
		return time.Since(start), nil
	case <-t.C:
		return 0, fmt.Errorf("ping %v: no reply in %v", dst, timeout)
	}
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
