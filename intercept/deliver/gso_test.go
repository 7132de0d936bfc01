package deliver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"tapagent/intercept/capture/nstest"
)

func TestGSORun(t *testing.T) {
	const (
		segs  = 4
		bytes = 1000
		seg   = 300
	)
	tests := []struct {
		name string
		lens []int
		want int
	}{
		{name: "empty", lens: nil, want: 0},
		{name: "one copy", lens: []int{50}, want: 1},
		{name: "equal copies", lens: []int{50, 50, 50}, want: 3},
		{name: "segment limit", lens: []int{50, 50, 50, 50, 50, 50}, want: segs},
		{name: "shorter copy ends the run", lens: []int{50, 50, 20, 50}, want: 3},
		{name: "longer copy is not in the run", lens: []int{50, 50, 60, 60}, want: 2},
		{name: "shorter first copy runs alone", lens: []int{20, 50, 50}, want: 1},
		{name: "byte limit", lens: []int{300, 300, 300, 300}, want: 3},
		{name: "shorter last copy within the byte limit", lens: []int{300, 300, 300, 100}, want: 4},
		{name: "shorter last copy beyond the byte limit", lens: []int{300, 300, 300, 101}, want: 3},
		{name: "copy above the segment size goes alone", lens: []int{301, 301}, want: 1},
		{name: "copy of exactly the segment size", lens: []int{300, 300}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gsoRun(tt.lens, segs, bytes, seg); got != tt.want {
				t.Fatalf("gsoRun(%v) = %d, want %d", tt.lens, got, tt.want)
			}
		})
	}
	for _, maxSegs := range []int{0, 1} {
		if got := gsoRun([]int{50, 50}, maxSegs, bytes, seg); got != 1 {
			t.Fatalf("gsoRun with %d segments allowed = %d, want 1 (GSO off)", maxSegs, got)
		}
	}
}

// gsoWorkload is a batch's worth of copies that exercises run splitting:
// a run longer than the segment limit, runs ended by a shorter copy, a
// longer copy, single copies and one too big for the MTU (sent alone,
// fragmented). Every body is distinct and numbered.
func gsoWorkload() [][]byte {
	var bodies [][]byte
	body := func(n int) {
		b := bytes.Repeat([]byte{byte(len(bodies))}, n)
		binary.BigEndian.PutUint16(b, uint16(len(bodies)))
		bodies = append(bodies, b)
	}
	for range 150 {
		body(46) // a 60-byte frame's IP packet: one run of 128, then 22
	}
	body(20)
	for range 5 {
		body(1400)
	}
	body(3000)
	body(1400)
	body(600)
	for range 40 {
		body(46)
	}
	return bodies
}

// setTxChecksum turns transmit checksum offload of ifName on or off
// (ethtool -K ifName tx on|off).
func setTxChecksum(t testing.TB, ns *nstest.NS, ifName string, on bool) {
	t.Helper()
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		v := struct{ cmd, data uint32 }{cmd: 0x17} // ETHTOOL_STXCSUM
		if on {
			v.data = 1
		}
		var req struct {
			name [unix.IFNAMSIZ]byte
			data unsafe.Pointer
			_    [24 - unsafe.Sizeof(uintptr(0))]byte
		}
		copy(req.name[:], ifName)
		req.data = unsafe.Pointer(&v)
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req))); e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tx checksum %v on %s: %v", on, ifName, err)
	}
}

// TestBatchGSOArrivesExactly sends the workload in one batch, with and
// without transmit checksum offload on the element's link (without it the
// kernel cuts GSO packets and checksums each datagram before the link;
// with it the MD's kernel cuts them on receipt), and checks that the MD
// receives every copy once, in order, byte for byte, with the DSCP.
func TestBatchGSOArrivesExactly(t *testing.T) {
	bd := newMDBed(t)
	l4, l6 := bd.listen(t, mdAddr4), bd.listen(t, mdAddr6)
	bodies := gsoWorkload()
	for _, tc := range []struct {
		name  string
		l     *mdListener
		txSum bool
		noGSO bool
	}{
		{name: "IPv4 checksum offload", l: l4, txSum: true},
		{name: "IPv4 software checksums", l: l4},
		{name: "IPv6 checksum offload", l: l6, txSum: true},
		{name: "IPv6 software checksums", l: l6},
		{name: "IPv4 without GSO", l: l4, noGSO: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setTxChecksum(t, bd.el, "ve", tc.txSum)
			s := bd.newSender(t, Target{ContentID: 0xc0ffee, Dest: tc.l.dest(t), DSCP: 46}, Options{Timestamp: true, Clock: fixedClock, NoGSO: tc.noGSO})
			want := maxGSOSegments
			if tc.noGSO {
				want = 0
			}
			if got := s.GSOSegments(); got != want {
				t.Fatalf("GSOSegments = %d, want %d", got, want)
			}
			b, err := s.NewBatch(len(bodies), 256<<10)
			if err != nil {
				t.Fatal(err)
			}
			for i, body := range bodies {
				if _, err := b.Add(time.Time{}, body); err != nil {
					t.Fatalf("Add %d: %v", i, err)
				}
			}
			if sent, err := b.Flush(); sent != len(bodies) || err != nil {
				t.Fatalf("Flush = %d, %v; want %d sent", sent, err, len(bodies))
			}
			for i, body := range bodies {
				d, ok := tc.l.read(t, 2*time.Second)
				if !ok {
					t.Fatalf("copy %d of %d did not arrive", i, len(bodies))
				}
				if w := wantCopy(0xc0ffee, &fixedTime, body); !bytes.Equal(d.data, w) {
					t.Fatalf("copy %d: %d bytes starting %x, want %d bytes starting %x", i, len(d.data), d.data[:min(20, len(d.data))], len(w), w[:20])
				}
				if d.tos != 46<<2 {
					t.Fatalf("copy %d: TOS/traffic class %#x, want DSCP 46", i, d.tos)
				}
			}
			if n := tc.l.count(t, 100*time.Millisecond); n != 0 {
				t.Fatalf("%d datagrams more than copies", n)
			}
		})
	}
}

// TestBatchGSOFallback makes the kernel refuse GSO and checks that Batch
// falls back to one datagram per copy without losing any.
func TestBatchGSOFallback(t *testing.T) {
	bodies := gsoWorkload()[:200]
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, bd *mdBed, s *Sender)
		// wantSegs, wantMaxSeg: GSOSegments and the largest GSO datagram
		// after the flush.
		wantSegs, wantMaxSeg int
	}{
		{
			// UDP checksums off: the kernel answers GSO with EINVAL (it cannot
			// send GSO without checksums), as older kernels answer EIO for
			// a device without checksum offload.
			name: "checksums off: EINVAL",
			prepare: func(t *testing.T, _ *mdBed, s *Sender) {
				if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_NO_CHECK, 1); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			// A smaller MTU since the sender was made: the 1400-byte copies
			// no longer fit one datagram each (EMSGSIZE); Batch reads the
			// MTU again and keeps GSO for what still fits.
			name: "path MTU shrank: EMSGSIZE",
			prepare: func(t *testing.T, bd *mdBed, _ *Sender) {
				bd.el.IP(t, "link", "set", "ve", "mtu", "1280")
				t.Cleanup(func() { bd.el.IP(t, "link", "set", "ve", "mtu", "1500") })
			},
			wantSegs: maxGSOSegments, wantMaxSeg: 1280 - 20 - 8,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bd := newMDBed(t)
			l := bd.listen(t, mdAddr4)
			s := bd.newSender(t, Target{ContentID: 3, Dest: l.dest(t), DSCP: 34}, Options{})
			tc.prepare(t, bd, s)
			b, err := s.NewBatch(len(bodies), 256<<10)
			if err != nil {
				t.Fatal(err)
			}
			for _, body := range bodies {
				if _, err := b.Add(time.Time{}, body); err != nil {
					t.Fatal(err)
				}
			}
			if sent, err := b.Flush(); sent != len(bodies) || err != nil {
				t.Fatalf("Flush = %d, %v; want all %d sent", sent, err, len(bodies))
			}
			if got := s.GSOSegments(); got != tc.wantSegs {
				t.Fatalf("GSOSegments after the refusal = %d, want %d", got, tc.wantSegs)
			}
			if tc.wantSegs > 0 && s.gsoMaxSeg != tc.wantMaxSeg {
				t.Fatalf("largest GSO datagram %d after the refusal, want %d", s.gsoMaxSeg, tc.wantMaxSeg)
			}
			for i, body := range bodies {
				d, ok := l.read(t, 2*time.Second)
				if !ok || !bytes.Equal(d.data, wantCopy(3, nil, body)) {
					t.Fatalf("copy %d: arrived %v, %d bytes, want %d", i, ok, len(d.data), len(body)+4)
				}
			}
		})
	}
}

func TestGSORefusedStepsDown(t *testing.T) {
	tests := []struct {
		name     string
		errno    unix.Errno
		segs     int
		start    int
		want     int
		wantBool bool
	}{
		{name: "EINVAL above 64 segments: an older kernel's limit", errno: unix.EINVAL, segs: 100, start: 128, want: 64, wantBool: true},
		{name: "EINVAL at 64 segments: no GSO", errno: unix.EINVAL, segs: 64, start: 64, want: 0, wantBool: true},
		{name: "EINVAL with 64 segments or fewer is not the limit: no GSO", errno: unix.EINVAL, segs: 64, start: 128, want: 0, wantBool: true},
		{name: "EIO: no checksum offload on an older kernel", errno: unix.EIO, segs: 10, start: 128, want: 0, wantBool: true},
		{name: "EMSGSIZE and no smaller MTU to read: no GSO", errno: unix.EMSGSIZE, segs: 10, start: 128, want: 0, wantBool: true},
		{name: "EAGAIN is a drop, not a refusal", errno: unix.EAGAIN, segs: 10, start: 128, want: 128},
		{name: "ENOBUFS is a drop, not a refusal", errno: unix.ENOBUFS, segs: 10, start: 128, want: 128},
		{name: "already off", errno: unix.EIO, segs: 10, start: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No socket: the MTU cannot be read again, so it never shrinks.
			s := &Sender{fd: -1, gsoSegs: tt.start, gsoMaxSeg: 1472}
			if got := s.gsoRefused(tt.errno, tt.segs); got != tt.wantBool || s.gsoSegs != tt.want {
				t.Fatalf("gsoRefused = %v, segments %d; want %v, %d", got, s.gsoSegs, tt.wantBool, tt.want)
			}
		})
	}
}

// TestGSOOffBehindSplittingQdisc: tbf cuts a GSO packet bigger than its
// burst and drops the datagrams that do not fit while reporting the packet
// sent; behind it GSO stays off so that every drop is seen (the drop tests
// run behind tbf and count exactly).
func TestGSOOffBehindSplittingQdisc(t *testing.T) {
	bd := newMDBed(t)
	l := bd.listen(t, mdAddr4)
	if s := bd.newSender(t, Target{ContentID: 1, Dest: l.dest(t)}, Options{}); s.GSOSegments() != maxGSOSegments {
		t.Fatalf("GSOSegments without a shaper = %d", s.GSOSegments())
	}
	bd.el.Exec(t, "tc", "qdisc", "add", "dev", "ve", "root", "tbf", "rate", "1mbit", "burst", "3000", "limit", "3000")
	if s := bd.newSender(t, Target{ContentID: 1, Dest: l.dest(t)}, Options{}); s.GSOSegments() != 0 {
		t.Fatalf("GSOSegments behind tbf = %d, want 0", s.GSOSegments())
	}
}

// TestGSOCopiesOnTheWire captures at the MD with software checksums on
// the element's link: every copy of a GSO run is a datagram of its own on
// the link, with a UDP checksum Wireshark finds right.
func TestGSOCopiesOnTheWire(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("needs tshark")
	}
	bd := newMDBed(t)
	setTxChecksum(t, bd.el, "ve", false)
	l, probeMD := bd.listen(t, mdAddr4), bd.listen(t, mdAddr4)
	live := startCapture(t, bd.md, "vm")
	probe := bd.newSender(t, Target{ContentID: 1, Dest: probeMD.dest(t)}, Options{})
	live.waitFor(t, probeMD.port, 1, func() { _ = probe.Send([]byte("probe")) })

	s := bd.newSender(t, Target{ContentID: 99, Dest: l.dest(t), DSCP: 34}, Options{})
	b, err := s.NewBatch(64, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	inner := innerIPv4UDP("198.18.9.1", "198.18.9.2", 5060, 5061, "intercepted")
	const copies = 40
	for range copies - 1 {
		if _, err := b.Add(time.Time{}, inner); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Add(time.Time{}, inner[:len(inner)-3]); err != nil { // a shorter last segment
		t.Fatal(err)
	}
	if sent, err := b.Flush(); sent != copies || err != nil {
		t.Fatalf("Flush = %d, %v", sent, err)
	}
	live.waitFor(t, l.port, copies, nil)
	file := live.stop(t)
	defer os.Remove(file)

	args := []string{"-r", file, "-o", "udp.check_checksum:TRUE", "-Y", fmt.Sprintf("udp.dstport==%d", l.port),
		"-T", "fields", "-e", "udp.length", "-e", "udp.checksum.status", "-e", "ip.dsfield.dscp"}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != copies {
		t.Fatalf("%d datagrams on the wire, want %d:\n%s", len(lines), copies, out)
	}
	for i, line := range lines {
		wantLen := 8 + 4 + len(inner)
		if i == copies-1 {
			wantLen -= 3
		}
		// udp.checksum.status 1: good.
		if want := fmt.Sprintf("%d\t1\t34", wantLen); line != want {
			t.Fatalf("datagram %d: %q, want %q (length, checksum good, DSCP)", i, line, want)
		}
	}
}

func TestBatchGSOFlushDoesNotAllocate(t *testing.T) {
	bd := newMDBed(t)
	l := bd.listen(t, mdAddr4)
	for _, noCheck := range []bool{false, true} {
		s := bd.newSender(t, Target{ContentID: 1, Dest: l.dest(t)}, Options{})
		if noCheck { // every flush is refused GSO first
			if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_NO_CHECK, 1); err != nil {
				t.Fatal(err)
			}
		}
		b, err := s.NewBatch(256, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, 46)
		var failed error
		allocs := testing.AllocsPerRun(50, func() {
			if noCheck {
				s.gsoSegs = maxGSOSegments
			}
			for range 200 {
				if _, err := b.Add(time.Time{}, payload); err != nil && failed == nil {
					failed = err
				}
			}
			if _, err := b.Flush(); err != nil && !errors.Is(err, ErrDropped) && failed == nil {
				failed = err
			}
		})
		if failed != nil {
			t.Fatal(failed)
		}
		if allocs != 0 {
			t.Fatalf("GSO batch (refused: %v) allocates %.1f times per flush", noCheck, allocs)
		}
		_ = l.count(t, 50*time.Millisecond)
	}
}
