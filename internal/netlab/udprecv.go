package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// UDPReceiver counts the datagrams arriving on a UDP port of a namespace
// (IPv4 and IPv6) and keeps the first ones. It also keeps the port open,
// so the namespace does not answer with ICMP port unreachable.
type UDPReceiver struct {
	conn  *net.UDPConn
	done  chan struct{}
	count atomic.Int64
	bytes atomic.Int64

	mu   sync.Mutex
	kept [][]byte
	err  error
}

// maxKept bounds the datagrams a UDPReceiver keeps.
const maxKept = 10_000

// ListenUDP opens a dual-stack UDP socket on port in ns (0 picks one, see
// Port) with a large receive buffer. Close it when done.
func (ns *NS) ListenUDP(port uint16) (*UDPReceiver, error) {
	r := &UDPReceiver{done: make(chan struct{})}
	err := ns.Do(func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				// Rate tests must measure the sender, not our buffer.
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		pc, err := lc.ListenPacket(context.Background(), "udp", fmt.Sprintf(":%d", port))
		if err != nil {
			return err
		}
		r.conn = pc.(*net.UDPConn)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listen udp/%d in %s: %w", port, ns.Name, err)
	}
	go r.loop()
	return r, nil
}

func (r *UDPReceiver) loop() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
			}
			return
		}
		r.mu.Lock()
		if len(r.kept) < maxKept {
			r.kept = append(r.kept, append([]byte(nil), buf[:n]...))
		}
		r.mu.Unlock()
		r.bytes.Add(int64(n))
		r.count.Add(1)
	}
}

// Port is the UDP port the receiver listens on.
func (r *UDPReceiver) Port() uint16 { return uint16(r.conn.LocalAddr().(*net.UDPAddr).Port) }

// Count is the number of datagrams received so far.
func (r *UDPReceiver) Count() int64 { return r.count.Load() }

// Bytes is the number of payload bytes received so far.
func (r *UDPReceiver) Bytes() int64 { return r.bytes.Load() }

// Payloads returns the first datagrams' payloads (up to 10,000).
func (r *UDPReceiver) Payloads() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.kept...)
}

// WaitCount waits until at least n datagrams arrived.
func (r *UDPReceiver) WaitCount(n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for r.Count() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("udp receiver: %d of %d datagrams within %v", r.Count(), n, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// Close stops receiving; counts stay readable. It returns a read error
// that ended the receiver early, if any.
func (r *UDPReceiver) Close() error {
	r.conn.Close()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
