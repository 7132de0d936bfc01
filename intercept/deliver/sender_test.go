package deliver

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tapagent/intercept/capture"
)

var fixedTime = time.Date(2025, 5, 6, 7, 8, 9, 123_456_789, time.UTC)

func fixedClock() time.Time { return fixedTime }

func TestNewSenderRejects(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{name: "no destination", target: Target{}, want: "destination"},
		{name: "port 0", target: Target{Dest: netip.MustParseAddrPort("198.18.0.1:0")}, want: "destination"},
		{name: "unspecified address", target: Target{Dest: netip.MustParseAddrPort("0.0.0.0:5000")}, want: "destination"},
		{name: "DSCP 64", target: Target{Dest: netip.MustParseAddrPort("198.18.0.1:5000"), DSCP: 64}, want: "DSCP 64"},
		{name: "negative ifindex", target: Target{Dest: netip.MustParseAddrPort("198.18.0.1:5000"), SrcIfIndex: -1}, want: "source interface -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSender(tt.target, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewSender: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestSendFormatsDSCPAndSource(t *testing.T) {
	bd := newMDBed(t)
	l4, l6 := bd.listen(t, mdAddr4), bd.listen(t, mdAddr6)
	tests := []struct {
		name      string
		listener  *mdListener
		dscp      uint8
		src0      bool // SrcIfIndex = src0, else routing decides
		timestamp bool
		wantSrc   string
	}{
		{name: "IPv4 default DSCP routed source", listener: l4, dscp: 34, wantSrc: elAddr4},
		{name: "IPv4 DSCP 0 source of src0", listener: l4, dscp: 0, src0: true, wantSrc: src0Addr4},
		{name: "IPv4 DSCP 63 with timestamp", listener: l4, dscp: 63, timestamp: true, wantSrc: elAddr4},
		{name: "IPv6 EF routed source", listener: l6, dscp: 46, wantSrc: elAddr6},
		{name: "IPv6 source of src0 with timestamp", listener: l6, dscp: 34, src0: true, timestamp: true, wantSrc: src0Addr6},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := Target{ContentID: 0x01020304 + uint32(i), Dest: tt.listener.dest(t), DSCP: tt.dscp}
			if tt.src0 {
				target.SrcIfIndex = bd.srcIndex
			}
			s := bd.newSender(t, target, Options{Timestamp: tt.timestamp, Clock: fixedClock})
			if got := s.Source().String(); got != tt.wantSrc {
				t.Fatalf("Source() = %s, want %s", got, tt.wantSrc)
			}
			bodies := [][]byte{[]byte("first copy"), bytes.Repeat([]byte{0xee}, 1400), {0x45}}
			explicit := fixedTime.Add(-time.Hour)
			for j, body := range bodies {
				var err error
				if j == 1 {
					err = s.SendAt(explicit, body)
				} else {
					err = s.Send(body)
				}
				if err != nil {
					t.Fatalf("send %d: %v", j, err)
				}
			}
			for j, body := range bodies {
				d, ok := tt.listener.read(t, 2*time.Second)
				if !ok {
					t.Fatalf("copy %d did not arrive", j)
				}
				var stamp *time.Time
				if tt.timestamp {
					stamp = &fixedTime
					if j == 1 {
						stamp = &explicit
					}
				}
				if want := wantCopy(target.ContentID, stamp, body); !bytes.Equal(d.data, want) {
					t.Fatalf("copy %d:\n got %x\nwant %x", j, d.data, want)
				}
				if d.tos != int(tt.dscp)<<2 {
					t.Fatalf("copy %d: TOS/traffic class %#x, want DSCP %d = %#x", j, d.tos, tt.dscp, int(tt.dscp)<<2)
				}
				if d.src.Addr().String() != tt.wantSrc {
					t.Fatalf("copy %d from %v, want %s", j, d.src, tt.wantSrc)
				}
			}
		})
	}
}

func TestSourceAddr(t *testing.T) {
	bd := newMDBed(t)
	bd.el.IP(t, "link", "add", "ll0", "type", "veth", "peer", "name", "ll0p")
	bd.el.IP(t, "link", "set", "ll0", "addrgenmode", "none") // only our fe80::99
	bd.el.IP(t, "link", "set", "ll0", "up")
	bd.el.IP(t, "link", "set", "ll0p", "up")
	bd.el.IP(t, "addr", "add", "fe80::99/64", "dev", "ll0", "nodad")
	llIndex := bd.el.IfIndex(t, "ll0")
	tests := []struct {
		name    string
		ifindex int
		v4      bool
		want    string // "" = error
	}{
		{name: "IPv4 of src0", ifindex: bd.srcIndex, v4: true, want: src0Addr4},
		{name: "IPv6 of src0", ifindex: bd.srcIndex, want: src0Addr6},
		{name: "IPv6 global before link-local", ifindex: bd.veIndex, want: elAddr6},
		{name: "IPv6 link-local when alone", ifindex: llIndex, want: "fe80::99%ll0"},
		{name: "no IPv4 address", ifindex: llIndex, v4: true},
		{name: "no such interface", ifindex: 9999, v4: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got netip.Addr
			err := bd.el.Do(func() (err error) {
				got, err = SourceAddr(tt.ifindex, tt.v4)
				return err
			})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("SourceAddr = %v, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("SourceAddr = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestSendTaggedAndLimits(t *testing.T) {
	bd := newMDBed(t)
	l := bd.listen(t, mdAddr4)
	s := bd.newSender(t, Target{ContentID: 77, Dest: l.dest(t), DSCP: 34}, Options{Timestamp: true, Clock: fixedClock})
	frame := []byte{
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, // MACs
		0x88, 0xb5, 'e', 't', 'h', 'e', 'r', 'n', 'e', 't',
	}
	if err := s.SendTagged(time.Time{}, frame, 0x8100, 0xa064); err != nil {
		t.Fatal(err)
	}
	tagged, _ := InsertVLAN(make([]byte, 64), frame, 0x8100, 0xa064)
	d, ok := l.read(t, 2*time.Second)
	if !ok || !bytes.Equal(d.data, wantCopy(77, &fixedTime, tagged)) {
		t.Fatalf("tagged copy %x, want %x", d.data, wantCopy(77, &fixedTime, tagged))
	}
	if err := s.SendTagged(time.Time{}, frame[:11], 0x8100, 1); !errors.Is(err, ErrShortFrame) {
		t.Fatalf("short frame: %v", err)
	}

	// The largest IPv4 datagram carries 65507 bytes: CCCID + timestamp +
	// 65495 bytes of copy. It leaves in fragments and arrives whole.
	biggest := bytes.Repeat([]byte{0x5a}, maxPayload4-12)
	if err := s.Send(biggest); err != nil {
		t.Fatalf("largest copy: %v", err)
	}
	if d, ok := l.read(t, 2*time.Second); !ok || !bytes.Equal(d.data, wantCopy(77, &fixedTime, biggest)) {
		t.Fatalf("largest copy arrived: %v, %d bytes", ok, len(d.data))
	}
	if err := s.Send(append(biggest, 0)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("one byte more: %v, want ErrTooBig", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
}

func TestMarkKeepsCopiesOutOfCapture(t *testing.T) {
	bd := newMDBed(t)
	l := bd.listen(t, mdAddr4)
	const mark = 0x7a9
	s := bd.newSender(t, Target{ContentID: 5, Dest: l.dest(t)}, Options{Mark: mark})
	if got, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_MARK); err != nil || got != mark {
		t.Fatalf("SO_MARK = %#x, %v; want %#x", got, err, mark)
	}
	// Two rings on the element: one leaves our mark out, one sees all.
	open := func(ignore uint32) *capture.Ring {
		var r *capture.Ring
		if err := bd.el.Do(func() (err error) {
			r, err = capture.Open(capture.Options{PollTimeout: 30 * time.Millisecond, IgnoreMark: ignore, BlockSize: 64 << 10, NumBlocks: 4})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	ignoring, seeing := open(mark), open(0)
	for i := range 5 {
		if err := s.Send([]byte(fmt.Sprintf("marked-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.count(t, 200*time.Millisecond); n != 5 {
		t.Fatalf("MD received %d copies, want 5", n)
	}
	countCopies := func(r *capture.Ring) int {
		n := 0
		for {
			f, err := r.Next()
			if errors.Is(err, capture.ErrTimeout) {
				return n
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Outgoing() && bytes.Contains(f.Data, []byte("marked-")) {
				n++
			}
		}
	}
	if n := countCopies(seeing); n != 5 {
		t.Fatalf("ring without IgnoreMark saw %d copies, want 5", n)
	}
	if n := countCopies(ignoring); n != 0 {
		t.Fatalf("ring with IgnoreMark saw %d of our copies, want 0", n)
	}
}

func TestUnreachableReportedOnce(t *testing.T) {
	bd := newMDBed(t)
	for _, mdAddr := range []string{mdAddr4, mdAddr6} {
		t.Run(mdAddr, func(t *testing.T) {
			l := bd.listen(t, mdAddr)
			dest := l.dest(t)
			if err := l.c.Close(); err != nil { // the port is closed now
				t.Fatal(err)
			}
			s := bd.newSender(t, Target{ContentID: 9, Dest: dest}, Options{})
			if err := s.Send([]byte("to a closed port")); err != nil {
				t.Fatalf("first send: %v", err)
			}
			var err error
			for deadline := time.Now().Add(2 * time.Second); err == nil && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				err = s.Send([]byte("again"))
			}
			if !errors.Is(err, ErrUnreachable) || !errors.Is(err, unix.ECONNREFUSED) {
				t.Fatalf("send after port unreachable: %v, want ErrUnreachable (ECONNREFUSED)", err)
			}
			// The ICMP error queued by IP_RECVERR was consumed with it, so
			// errors do not pile up in the socket's receive memory.
			buf, oob := make([]byte, 512), make([]byte, 512)
			if _, _, _, _, err := unix.Recvmsg(s.fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT); err != unix.EAGAIN {
				t.Fatalf("error queue after the reported error: %v, want it empty (EAGAIN)", err)
			}
			// The error is reported once: the next send goes out (and draws
			// another ICMP error, reported by a later send).
			if err := s.Send([]byte("after")); err != nil {
				t.Fatalf("send after the reported error: %v", err)
			}
		})
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	bd := newMDBed(t)
	l := bd.listen(t, mdAddr6)
	s := bd.newSender(t, Target{ContentID: 1, Dest: l.dest(t), DSCP: 34, SrcIfIndex: bd.srcIndex},
		Options{Timestamp: true, Mark: 3})
	payload := make([]byte, 200)
	frame := make([]byte, 200)
	b, err := s.NewBatch(8, 8*300)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"Send":       func() error { return s.Send(payload) },
		"SendTagged": func() error { return s.SendTagged(time.Time{}, frame, 0x8100, 10) },
		"Batch": func() error {
			for range 4 {
				if _, err := b.Add(time.Time{}, payload); err != nil {
					return err
				}
			}
			_, err := b.Flush()
			return err
		},
	} {
		var failed error
		n := testing.AllocsPerRun(100, func() {
			if err := f(); err != nil && failed == nil {
				failed = err
			}
		})
		if failed != nil {
			t.Fatalf("%s: %v", name, failed)
		}
		if n != 0 {
			t.Fatalf("%s allocates %.1f times per call", name, n)
		}
	}
}
