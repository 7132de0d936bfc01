package capture

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"tapagent/intercept/capture/nstest"
)

const quick = 30 * time.Millisecond // poll timeout of test rings

// udpPortFilter accepts untagged IPv4/UDP frames to port (IHL 5) whole.
func udpPortFilter(t testing.TB, port uint16, snap uint32) []bpf.RawInstruction {
	t.Helper()
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 5},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 3},
		bpf.LoadAbsolute{Off: 36, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(port), SkipTrue: 1},
		bpf.RetConstant{Val: snap},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func payloads(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}

func TestRingDirectionsAndLoopback(t *testing.T) {
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	ca := udpConn(t, bd.a, "198.18.0.1:0")
	cb := udpConn(t, bd.b, "198.18.0.2:9000")
	lb := udpConn(t, bd.b, "127.0.0.1:0")
	before := time.Now()

	sendUDP(t, ca, "198.18.0.2:9000", payloads("in-", 5)...)
	sendUDP(t, cb, "198.18.0.1:9001", payloads("out-", 5)...)
	sendUDP(t, lb, "127.0.0.1:9002", payloads("lo-", 5)...)

	count := map[string]int{}
	deadline := time.Now().Add(3 * time.Second)
	for count["in-"]+count["out-"] < 10 && time.Now().Before(deadline) {
		f, err := r.Next()
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		p, ok := udpPayload(f.Data)
		if !ok {
			continue
		}
		for _, prefix := range []string{"in-", "out-", "lo-"} {
			if !bytes.HasPrefix(p, []byte(prefix)) {
				continue
			}
			count[prefix]++
			wantType := map[string]PacketType{"in-": Host, "out-": Outgoing}[prefix]
			if f.IfIndex != bd.bIndex || f.Type != wantType || f.Outgoing() != (wantType == Outgoing) {
				t.Errorf("%s frame: ifindex %d type %v, want ifindex %d type %v", p, f.IfIndex, f.Type, bd.bIndex, wantType)
			}
			if f.WireLen != len(f.Data) || len(f.Data) != 14+20+8+len(p) || f.Truncated() {
				t.Errorf("%s frame: %d bytes of %d on the wire, want %d whole", p, len(f.Data), f.WireLen, 14+20+8+len(p))
			}
			if f.HwType != unix.ARPHRD_ETHER || f.NetOffset != 14 || f.VLAN.Present {
				t.Errorf("%s frame: hwtype %d netoffset %d vlan %+v", p, f.HwType, f.NetOffset, f.VLAN)
			}
			if f.Timestamp.Before(before.Add(-time.Second)) || f.Timestamp.After(time.Now().Add(time.Second)) {
				t.Errorf("%s frame: timestamp %v is not about now", p, f.Timestamp)
			}
		}
	}
	count["lo-"] += drain(t, r, hasPrefix("lo-"))
	if count["in-"] != 5 || count["out-"] != 5 || count["lo-"] != 0 {
		t.Fatalf("frames seen: %v, want 5 in, 5 out, 0 loopback", count)
	}
}

func TestRingInterfaceList(t *testing.T) {
	bd := newBed(t)
	c := nstest.New(t)
	nstest.Veth(t, bd.b, "vc", c, "vd")
	bd.b.IP(t, "addr", "add", "198.18.1.2/24", "dev", "vc")
	c.IP(t, "addr", "add", "198.18.1.1/24", "dev", "vd")
	bd.b.IP(t, "neigh", "add", "198.18.1.1", "lladdr", mac(t, c, "vd"), "dev", "vc")
	c.IP(t, "neigh", "add", "198.18.1.2", "lladdr", mac(t, bd.b, "vc"), "dev", "vd")
	vcIndex := bd.b.IfIndex(t, "vc")

	r := openRing(t, bd.b, Options{Interfaces: []string{"vc"}, PollTimeout: quick})
	sendUDP(t, udpConn(t, bd.a, "198.18.0.1:0"), "198.18.0.2:9000", payloads("via-vb-", 3)...)
	sendUDP(t, udpConn(t, c, "198.18.1.1:0"), "198.18.1.2:9000", payloads("via-vc-", 3)...)

	got := collect(t, r, 3, 3*time.Second, hasPrefix("via-vc-"))
	if len(got) != 3 {
		t.Fatalf("frames via vc: %d, want 3", len(got))
	}
	for _, f := range got {
		if f.IfIndex != vcIndex {
			t.Errorf("frame on ifindex %d, want vc = %d", f.IfIndex, vcIndex)
		}
	}
	if n := drain(t, r, hasPrefix("via-vb-")); n != 0 {
		t.Fatalf("frames via vb, which is not in the list: %d, want 0", n)
	}
}

func TestRingSetBPFReplacesFilter(t *testing.T) {
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	ca := udpConn(t, bd.a, "198.18.0.1:0")
	any := hasPrefix("p")

	for _, port := range []uint16{9101, 9102} {
		if err := r.SetBPF(udpPortFilter(t, port, MaxSnap)); err != nil {
			t.Fatalf("SetBPF(%d): %v", port, err)
		}
		sendUDP(t, ca, "198.18.0.2:9101", payloads("p9101-", 3)...)
		sendUDP(t, ca, "198.18.0.2:9102", payloads("p9102-", 4)...)
		var want, other int
		wantPrefix := fmt.Sprintf("p%d-", port)
		for {
			got := collect(t, r, 1, 2*quick, any)
			if len(got) == 0 {
				break
			}
			if p, _ := udpPayload(got[0].data); bytes.HasPrefix(p, []byte(wantPrefix)) {
				want++
			} else {
				other++
			}
		}
		wantN := map[uint16]int{9101: 3, 9102: 4}[port]
		if want != wantN || other != 0 {
			t.Fatalf("filter for port %d: %d matching frames, %d others; want %d and 0", port, want, other, wantN)
		}
	}
}

func TestRingIgnoreMark(t *testing.T) {
	bd := newBed(t)
	const mark = 0x5a
	r := openRing(t, bd.b, Options{PollTimeout: quick, IgnoreMark: mark})
	plain := udpConn(t, bd.b, "198.18.0.2:0")
	marked := udpConn(t, bd.b, "198.18.0.2:0")
	raw, err := marked.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, mark) }); err != nil || serr != nil {
		t.Fatalf("SO_MARK: %v %v", err, serr)
	}
	sendUDP(t, marked, "198.18.0.1:9000", payloads("marked-", 4)...)
	sendUDP(t, plain, "198.18.0.1:9000", payloads("plain-", 4)...)

	if got := collect(t, r, 4, 3*time.Second, hasPrefix("plain-")); len(got) != 4 {
		t.Fatalf("unmarked frames: %d, want 4", len(got))
	}
	if n := drain(t, r, hasPrefix("marked-")); n != 0 {
		t.Fatalf("frames with our mark: %d, want 0", n)
	}
}

// rawSend writes whole Ethernet frames out of ifName inside ns.
func rawSend(t testing.TB, ns *nstest.NS, ifName string, frames ...[]byte) {
	t.Helper()
	idx := ns.IfIndex(t, ifName)
	var fd int
	if err := ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	}); err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	defer unix.Close(fd)
	for _, fr := range frames {
		if err := unix.Sendto(fd, fr, 0, &unix.SockaddrLinklayer{Ifindex: idx}); err != nil {
			t.Fatalf("send raw frame: %v", err)
		}
	}
}

func hwAddr(t testing.TB, s string) []byte {
	t.Helper()
	hw, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return hw
}

func TestRingReportsStrippedVLAN(t *testing.T) {
	tests := []struct {
		name string
		tpid uint16
		tci  uint16
	}{
		{name: "802.1Q PCP 5 VID 100", tpid: 0x8100, tci: 5<<13 | 100},
		{name: "802.1Q DEI VID 4094", tpid: 0x8100, tci: 1<<12 | 4094},
		{name: "802.1ad VID 7", tpid: 0x88a8, tci: 7},
	}
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	dst, src := hwAddr(t, mac(t, bd.b, "vb")), hwAddr(t, mac(t, bd.a, "va"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := []byte("vlan:" + tt.name)
			sent := append(append(append([]byte{}, dst...), src...),
				byte(tt.tpid>>8), byte(tt.tpid), byte(tt.tci>>8), byte(tt.tci), 0x88, 0xb5)
			sent = append(sent, marker...)
			rawSend(t, bd.a, "va", sent)
			got := collect(t, r, 1, 3*time.Second, func(f *Frame) bool { return bytes.HasSuffix(f.Data, marker) })
			if len(got) != 1 {
				t.Fatalf("tagged frame not captured")
			}
			f := got[0]
			if !f.VLAN.Present || f.VLAN.TPID != tt.tpid || f.VLAN.TCI != tt.tci || f.VLAN.ID() != tt.tci&0xfff {
				t.Fatalf("VLAN %+v, want present TPID %#x TCI %#x", f.VLAN, tt.tpid, tt.tci)
			}
			// The kernel removed the tag from Data; put it back and compare.
			rebuilt := append(append(append([]byte{}, f.data[:12]...), sent[12:16]...), f.data[12:]...)
			if !bytes.Equal(rebuilt, sent) {
				t.Fatalf("frame with tag reinserted\n got %x\nwant %x", rebuilt, sent)
			}
			if f.WireLen != len(f.data) {
				t.Fatalf("WireLen %d, Data %d", f.WireLen, len(f.data))
			}
		})
	}
}

func TestRingFrameSizes(t *testing.T) {
	const payload = 60000
	tests := []struct {
		name      string
		blockSize int
		snap      uint32
		wantCap   int // captured bytes of the 60042-byte frame
	}{
		{name: "default block keeps a 60 KB frame whole", blockSize: 0, snap: MaxSnap, wantCap: 14 + 20 + 8 + payload},
		{name: "32 KiB block cuts it", blockSize: 32 << 10, snap: MaxSnap, wantCap: 32<<10 - 130},
		{name: "filter snap length cuts it", blockSize: 0, snap: 60, wantCap: 60},
	}
	bd := newBed(t)
	bd.a.IP(t, "link", "set", "va", "mtu", "65000")
	bd.b.IP(t, "link", "set", "vb", "mtu", "65000")
	ca := udpConn(t, bd.a, "198.18.0.1:0")
	big := bytes.Repeat([]byte{0xa5}, payload)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := openRing(t, bd.b, Options{BlockSize: tt.blockSize, PollTimeout: quick})
			if err := r.SetBPF(udpPortFilter(t, 9200, tt.snap)); err != nil {
				t.Fatal(err)
			}
			sendUDP(t, ca, "198.18.0.2:9200", big)
			got := collect(t, r, 1, 3*time.Second, func(*Frame) bool { return true })
			if len(got) != 1 {
				t.Fatal("big frame not captured")
			}
			f := got[0]
			if f.WireLen != 14+20+8+payload || len(f.data) != tt.wantCap {
				t.Fatalf("captured %d of %d bytes, want %d of %d", len(f.data), f.WireLen, tt.wantCap, 14+20+8+payload)
			}
			if f.Truncated() != (tt.wantCap < f.WireLen) {
				t.Fatalf("Truncated() = %v", f.Truncated())
			}
			if p, ok := udpPayload(f.data); !ok || !bytes.Equal(p, big[:len(p)]) {
				t.Fatal("captured bytes differ from the sent ones")
			}
			st, err := r.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]uint64{true: 1, false: 0}[tt.wantCap < f.WireLen]; st.Truncated != want {
				t.Fatalf("Stats.Truncated = %d, want %d", st.Truncated, want)
			}
		})
	}
}

func TestRingStatsCountDrops(t *testing.T) {
	bd := newBed(t)
	// Two 4 KiB blocks hold a few dozen frames; nobody reads while 300 arrive.
	r := openRing(t, bd.b, Options{BlockSize: 4096, NumBlocks: 2, BlockTimeout: time.Millisecond, PollTimeout: quick})
	if err := r.SetBPF(udpPortFilter(t, 9300, MaxSnap)); err != nil {
		t.Fatal(err)
	}
	const sent = 300
	sendUDP(t, udpConn(t, bd.a, "198.18.0.1:0"), "198.18.0.2:9300", payloads("drop-", sent)...)
	time.Sleep(20 * time.Millisecond)
	// Every frame the filter let through is either read or a drop; count
	// them all (a stray frame on the port may pass the filter too).
	read := drain(t, r, func(*Frame) bool { return true })
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets < sent || st.Drops == 0 || uint64(read)+st.Drops != st.Packets {
		t.Fatalf("sent %d, read %d, stats %+v: want packets ≥ sent, packets = read + drops, drops > 0", sent, read, st)
	}
	// Cumulative: a second read adds nothing new.
	st2, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st2.Packets != st.Packets || st2.Drops != st.Drops {
		t.Fatalf("stats changed without traffic: %+v then %+v", st, st2)
	}
}

func TestRingTimeoutCloseAndBusy(t *testing.T) {
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	dropAll := []bpf.RawInstruction{{Op: 0x06, K: 0}}
	if err := r.SetBPF(dropAll); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := r.Next(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("idle Next: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < quick/2 || d > time.Second {
		t.Fatalf("timeout after %v, want about %v", d, quick)
	}

	blocking := openRing(t, bd.b, Options{PollTimeout: -1})
	if err := blocking.SetBPF(dropAll); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := blocking.Next()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := blocking.Next(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second concurrent Next: %v, want ErrBusy", err)
	}
	if err := blocking.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Next ended with %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not wake the blocked Next")
	}
	if _, err := blocking.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if _, err := blocking.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	if err := blocking.SetBPF(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetBPF after Close: %v", err)
	}
	if err := blocking.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRingNextDoesNotAllocate(t *testing.T) {
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	if err := r.SetBPF(udpPortFilter(t, 9400, MaxSnap)); err != nil {
		t.Fatal(err)
	}
	sendUDP(t, udpConn(t, bd.a, "198.18.0.1:0"), "198.18.0.2:9400", payloads("alloc-", 400)...)
	time.Sleep(30 * time.Millisecond) // let the last block retire
	var frames int
	allocs := testing.AllocsPerRun(300, func() {
		if f, err := r.Next(); err == nil && len(f.Data) > 0 {
			frames++
		}
	})
	if frames < 300 {
		t.Fatalf("only %d of 301 Next calls returned a frame", frames)
	}
	if allocs != 0 {
		t.Fatalf("Next allocates %.1f times per frame, want 0", allocs)
	}
}

func TestRingIsGopacketSource(t *testing.T) {
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	sendUDP(t, udpConn(t, bd.a, "198.18.0.1:40000"), "198.18.0.2:9500", []byte("gopacket"))
	src := gopacket.NewPacketSource(r, layers.LayerTypeEthernet)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		pkt, err := src.NextPacket()
		if errors.Is(err, syscall.EAGAIN) {
			continue
		}
		if err != nil {
			t.Fatalf("NextPacket: %v", err)
		}
		udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok || string(udp.Payload) != "gopacket" {
			continue
		}
		ip4 := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		md := pkt.Metadata()
		if udp.SrcPort != 40000 || udp.DstPort != 9500 || !ip4.SrcIP.Equal(net.IPv4(198, 18, 0, 1)) ||
			md.InterfaceIndex != bd.bIndex || md.Length != md.CaptureLength {
			t.Fatalf("decoded %v:%d -> %d on ifindex %d (%d/%d bytes)", ip4.SrcIP, udp.SrcPort, udp.DstPort, md.InterfaceIndex, md.CaptureLength, md.Length)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := src.NextPacket(); err == nil {
			t.Fatal("NextPacket after Close succeeded")
		}
		return
	}
	t.Fatal("gopacket never decoded our datagram")
}

func TestBareReaderCounts(t *testing.T) {
	bd := newBed(t)
	var b *BareReader
	if err := bd.b.Do(func() (err error) {
		b, err = OpenBare(Options{PollTimeout: 50 * time.Millisecond, BlockSize: 64 << 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.SetBPF(udpPortFilter(t, 9600, MaxSnap)); err != nil {
		t.Fatal(err)
	}
	// Frames the socket took before the filter was attached (neighbour
	// discovery on the new link) are not ours: count them away first.
	if _, err := b.Count(math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	before, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	const sent = 2000
	sendUDP(t, udpConn(t, bd.a, "198.18.0.1:0"), "198.18.0.2:9600", payloads("bare-", sent)...)
	c, err := b.Count(sent)
	if err != nil {
		t.Fatal(err)
	}
	if c.Packets != sent || c.Last.Before(c.First) || c.Rate() <= 0 {
		t.Fatalf("count %+v rate %.0f/s, want %d packets and a rate", c, c.Rate(), sent)
	}
	again, err := b.Count(1)
	if err != nil || again.Packets != 0 {
		t.Fatalf("count without traffic: %+v, %v", again, err)
	}
	st, err := b.Stats()
	if err != nil || st.Packets-before.Packets != sent || st.Drops != before.Drops {
		t.Fatalf("stats %+v (before the traffic %+v), %v; want %d packets more, no drops", st, before, err, sent)
	}
}

func TestCloseWhileReaderHoldsFrame(t *testing.T) {
	bd := newBed(t)
	r := openRing(t, bd.b, Options{PollTimeout: quick})
	sendUDP(t, udpConn(t, bd.a, "198.18.0.1:0"), "198.18.0.2:9700", []byte("held"))
	f, err := r.Next() // hold a frame
	for deadline := time.Now().Add(3 * time.Second); errors.Is(err, ErrTimeout) && time.Now().Before(deadline); {
		f, err = r.Next()
	}
	if err != nil {
		t.Fatalf("no frame to hold: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for a reader holding a frame")
	}
	// The held frame is still mapped: reading it must not fault.
	if bytes.Count(f.Data, []byte{0xff}) > len(f.Data) || r.s.ring == nil {
		t.Fatal("ring unmapped while a frame was held")
	}
	if _, err := r.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if r.s.ring != nil || r.s.fd != -1 || r.s.wake != -1 {
		t.Fatal("the reader's call after Close did not free the ring")
	}
}
