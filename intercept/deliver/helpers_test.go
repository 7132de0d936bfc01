package deliver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tapagent/intercept/capture/nstest"
)

// mdBed is a network element namespace "el" and a mediation device
// namespace "md" joined by a veth pair (ve — vm), IPv4 and IPv6, with a
// dummy interface src0 in el whose addresses serve as delivery sources.
type mdBed struct {
	el, md   *nstest.NS
	srcIndex int // src0 in el
	veIndex  int // ve in el
}

const (
	elAddr4   = "198.18.2.1"
	mdAddr4   = "198.18.2.2"
	src0Addr4 = "198.18.3.1"
	elAddr6   = "2001:db8:2::1"
	mdAddr6   = "2001:db8:2::2"
	src0Addr6 = "2001:db8:3::1"
)

func newMDBed(t testing.TB) *mdBed {
	t.Helper()
	el, md := nstest.New(t), nstest.New(t)
	nstest.Veth(t, el, "ve", md, "vm")
	el.IP(t, "addr", "add", elAddr4+"/24", "dev", "ve")
	el.IP(t, "addr", "add", elAddr6+"/64", "dev", "ve", "nodad")
	md.IP(t, "addr", "add", mdAddr4+"/24", "dev", "vm")
	md.IP(t, "addr", "add", mdAddr6+"/64", "dev", "vm", "nodad")
	// A veth pair inside el stands in for a dummy interface (the test
	// kernel may lack the dummy module).
	el.IP(t, "link", "add", "src0", "type", "veth", "peer", "name", "src0p")
	el.IP(t, "link", "set", "src0p", "up")
	el.IP(t, "link", "set", "src0", "up")
	el.IP(t, "addr", "add", src0Addr4+"/32", "dev", "src0")
	el.IP(t, "addr", "add", src0Addr6+"/128", "dev", "src0", "nodad")
	md.IP(t, "route", "add", "198.18.3.0/24", "via", elAddr4)
	md.IP(t, "-6", "route", "add", "2001:db8:3::/64", "via", elAddr6)
	// Static neighbours: a datagram sent before ARP/ND resolved would wait
	// in a short queue and could be dropped there, unseen by the sender.
	veMAC, vmMAC := macOf(t, el, "ve"), macOf(t, md, "vm")
	for _, a := range []string{mdAddr4, mdAddr6} {
		el.IP(t, "neigh", "add", a, "lladdr", vmMAC, "dev", "ve")
	}
	for _, a := range []string{elAddr4, elAddr6} {
		md.IP(t, "neigh", "add", a, "lladdr", veMAC, "dev", "vm")
	}
	return &mdBed{el: el, md: md, srcIndex: el.IfIndex(t, "src0"), veIndex: el.IfIndex(t, "ve")}
}

func macOf(t testing.TB, ns *nstest.NS, ifName string) string {
	t.Helper()
	var hw string
	if err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(ifName)
		if err == nil {
			hw = ifc.HardwareAddr.String()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return hw
}

// newSender opens a sender inside the element namespace.
func (bd *mdBed) newSender(t testing.TB, target Target, opts Options) *Sender {
	t.Helper()
	var s *Sender
	if err := bd.el.Do(func() (err error) {
		s, err = NewSender(target, opts)
		return err
	}); err != nil {
		t.Fatalf("NewSender(%+v): %v", target, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// mdListener is a UDP socket in the MD namespace that reports the TOS or
// traffic class of what it receives.
type mdListener struct {
	c    *net.UDPConn
	port uint16
}

func (bd *mdBed) listen(t testing.TB, addr string) *mdListener {
	t.Helper()
	var c *net.UDPConn
	if err := bd.md.Do(func() error {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
		if err != nil {
			return err
		}
		c = pc.(*net.UDPConn)
		raw, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := raw.Control(func(fd uintptr) {
			if netip.MustParseAddr(addr).Is4() {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1)
			} else {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVTCLASS, 1)
			}
		}); err != nil {
			return err
		}
		return serr
	}); err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &mdListener{c: c, port: uint16(c.LocalAddr().(*net.UDPAddr).Port)}
}

func (l *mdListener) dest(t testing.TB) netip.AddrPort {
	t.Helper()
	return l.c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// datagram is one received copy.
type datagram struct {
	data []byte
	src  netip.AddrPort
	tos  int // TOS byte or IPv6 traffic class
}

// read returns the next datagram, or ok=false after wait without one.
func (l *mdListener) read(t testing.TB, wait time.Duration) (datagram, bool) {
	t.Helper()
	buf := make([]byte, 70000)
	oob := make([]byte, 128)
	_ = l.c.SetReadDeadline(time.Now().Add(wait))
	n, oobn, _, src, err := l.c.ReadMsgUDPAddrPort(buf, oob)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return datagram{}, false
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	d := datagram{data: buf[:n], src: netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), tos: -1}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatalf("control messages: %v", err)
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TOS && len(m.Data) >= 1:
			d.tos = int(m.Data[0])
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_TCLASS && len(m.Data) >= 4:
			d.tos = int(binary.NativeEndian.Uint32(m.Data))
		}
	}
	return d, true
}

// count reads until the socket stays quiet for quiet and returns how many
// datagrams arrived.
func (l *mdListener) count(t testing.TB, quiet time.Duration) int {
	t.Helper()
	n := 0
	for {
		if _, ok := l.read(t, quiet); !ok {
			return n
		}
		n++
	}
}

// wantCopy is the datagram payload we expect for one copy.
func wantCopy(cccid uint32, stamp *time.Time, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, cccid)
	if stamp != nil {
		ts := make([]byte, 8)
		PutNTP(ts, *stamp)
		out = append(out, ts...)
	}
	return append(out, body...)
}
