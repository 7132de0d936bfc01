package classify

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"tapagent/intercept"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// packetSocket opens an AF_PACKET socket on ifindex with prog attached
// before the socket is bound, so no frame passes unfiltered.
func packetSocket(t *testing.T, ifindex int, prog []bpf.RawInstruction) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if errors.Is(err, unix.EPERM) {
		t.Skip("AF_PACKET needs CAP_NET_RAW")
	}
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: unsafe.SliceData(filter)}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		t.Fatalf("the kernel refuses the program (%d instructions): %v", len(prog), err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50_000}); err != nil {
		t.Fatalf("SO_RCVTIMEO: %v", err)
	}
	return fd
}

// TestKernelFilterOnLoopback attaches the program, mark check included, to
// a packet socket on lo and sends UDP datagrams to a tapped port with and
// without SO_MARK: the socket must see the unmarked ones (which Match
// matches) and none of the marked ones (our own deliveries).
func TestKernelFilterOnLoopback(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("lo: %v", err)
	}
	// An address of its own in 127/8, so other loopback traffic passes
	// neither the filter nor Match.
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 42, 0, 1)})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer sink.Close()
	port := uint16(sink.LocalAddr().(*net.UDPAddr).Port)
	c := Build(Config{Taps: []intercept.Tap{armIP(1, 1, func(f *intercept.IPFilter) {
		f.Dst, f.Protocol, f.DstPortMin, f.DstPortMax = netip.MustParsePrefix("127.42.0.1/32"), 17, port, port
	})}})
	const mark = 0x7a9
	prog, err := c.BPF(BPFOptions{ExcludeMark: mark, IfIndex: lo.Index})
	if err != nil {
		t.Fatalf("BPF: %v", err)
	}
	fd := packetSocket(t, lo.Index, prog)

	plain, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer plain.Close()
	marked, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer marked.Close()
	raw, _ := marked.SyscallConn()
	var serr error
	raw.Control(func(s uintptr) { serr = unix.SetsockoptInt(int(s), unix.SOL_SOCKET, unix.SO_MARK, mark) })
	if serr != nil {
		t.Fatalf("SO_MARK: %v", serr)
	}
	for range 3 {
		marked.Write([]byte("tapagent-marked"))
		plain.Write([]byte("tapagent-plain"))
	}

	var seenPlain, seenMarked int
	buf := make([]byte, 65536)
	hits := MakeHits(2)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && seenPlain < 3 {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		switch {
		case bytes.HasSuffix(buf[:n], []byte("tapagent-plain")):
			seenPlain++
			if hits = c.Match(&Packet{Data: buf[:n], IfIndex: lo.Index}, hits[:0]); len(hits) != 1 {
				t.Errorf("Match does not match a frame the kernel filter let through: %x", buf[:n])
			}
		case bytes.HasSuffix(buf[:n], []byte("tapagent-marked")):
			seenMarked++
		}
	}
	// Drain what is left for a moment: marked frames must not show up late.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue
		}
		if bytes.HasSuffix(buf[:n], []byte("tapagent-marked")) {
			seenMarked++
		}
	}
	if seenPlain < 3 || seenMarked != 0 {
		t.Errorf("saw %d unmarked frames (want >= 3) and %d marked frames (want 0)", seenPlain, seenMarked)
	}
}

// TestKernelAcceptsLargePrograms: the kernel's checker takes the longest
// programs we build (near 4096 instructions, far-reaching chunks).
func TestKernelAcceptsLargePrograms(t *testing.T) {
	var taps []intercept.Tap
	for i := range 3500 {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		taps = append(taps, armIP(1, uint32(i+1), func(f *intercept.IPFilter) { f.Src = netip.PrefixFrom(a, 32) }))
	}
	for i := range 40 {
		m := net.HardwareAddr{2, 0, 0, 0, 1, byte(i)}
		taps = append(taps, armMAC(2, uint32(i+1), func(f *intercept.MACFilter) { f.Fields, f.Dst = intercept.MatchDstMAC, m }))
	}
	prog, err := Build(Config{Taps: taps}).BPF(BPFOptions{ExcludeMark: 1, MaxCompares: 100_000})
	if err != nil {
		t.Fatalf("BPF: %v", err)
	}
	if len(prog) < 3500 || len(prog) > maxInstructions {
		t.Fatalf("%d instructions", len(prog))
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("lo: %v", err)
	}
	packetSocket(t, lo.Index, prog)
}
