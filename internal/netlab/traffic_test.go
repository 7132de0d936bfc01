package netlab

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// TestSendersArriveByteForByte sends each kind of packet from h1 and
// checks that h2 receives exactly those packets, one router hop later.
func TestSendersArriveByteForByte(t *testing.T) {
	t.Parallel()
	r := NewRouterLab(t)
	sink, err := r.H2.ListenUDP(5000)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	h1v4, h2v4 := r.H1.If.IPv4(), r.H2.If.IPv4()
	h1v6, h2v6 := r.H1.If.IPv6(), r.H2.If.IPv6()

	tests := []struct {
		name string
		send func() ([][]byte, error)
		// udp: the kernel of h2 accepted them (checksums right).
		udp bool
	}{
		{"UDP IPv4 TOS 0x88", func() ([][]byte, error) {
			return r.H1.SendUDP(UDPFlow{Dst: netip.AddrPortFrom(h2v4, 5000), SrcPort: 1234, TOS: 0x88,
				Payload: []byte("four"), Pace: Pace{Count: 5}})
		}, true},
		{"UDP IPv6 traffic class and flow label", func() ([][]byte, error) {
			return r.H1.SendUDP(UDPFlow{Src: h1v6, Dst: netip.AddrPortFrom(h2v6, 5000), TOS: 0xb8,
				FlowLabel: 0x12345, Payload: bytes.Repeat([]byte{0xa5}, 301), Pace: Pace{Count: 3, Gap: time.Millisecond}})
		}, true},
		{"TCP SYNs IPv4", func() ([][]byte, error) {
			return r.H1.SendTCP(TCPFlow{Dst: netip.AddrPortFrom(h2v4, 80), SrcPort: 5555, Seq: 1000, Pace: Pace{Count: 2}})
		}, false},
		{"TCP SYNs IPv6", func() ([][]byte, error) {
			return r.H1.SendTCP(TCPFlow{Dst: netip.AddrPortFrom(h2v6, 443), Pace: Pace{Count: 2}})
		}, false},
		{"ICMP echo IPv4", func() ([][]byte, error) {
			res, err := r.H1.Ping(EchoFlow{Dst: h2v4, Pace: Pace{Count: 4}})
			if err == nil && res.Replies != 4 {
				t.Errorf("%d replies to 4 echo requests", res.Replies)
			}
			return res.Sent, err
		}, false},
		{"ICMPv6 echo", func() ([][]byte, error) {
			res, err := r.H1.Ping(EchoFlow{Src: h1v6, Dst: h2v6, TOS: 0x20, Pace: Pace{Count: 2}})
			if err == nil && res.Replies != 2 {
				t.Errorf("%d replies to 2 echo requests", res.Replies)
			}
			return res.Sent, err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sn, err := r.H2.Sniff("eth0")
			if err != nil {
				t.Fatal(err)
			}
			defer sn.Close()
			before := sink.Count()
			sent, err := tc.send()
			if err != nil {
				t.Fatal(err)
			}
			fromH1 := func(f SniffedFrame) bool {
				src, _, _, _, ok := ipHeader(l3(f.Data))
				return ok && !f.Outgoing && (src == h1v4 || src == h1v6)
			}
			got, err := sn.Wait(len(sent), fromH1, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing more than what was sent arrives.
			got = sn.WaitQuiet(fromH1, 50*time.Millisecond, time.Second)
			if len(got) != len(sent) {
				t.Fatalf("h2 received %d packets from h1, sent %d", len(got), len(sent))
			}
			for i := range sent {
				if want := Forwarded(sent[i]); !bytes.Equal(l3(got[i].Data), want) {
					t.Errorf("packet %d:\nreceived % x\nwant     % x", i+1, l3(got[i].Data), want)
				}
			}
			if tc.udp {
				if err := sink.WaitCount(before+int64(len(sent)), time.Second); err != nil {
					t.Errorf("h2's UDP socket: %v", err)
				}
			}
		})
	}
}

// TestFloodUDPIsBounded is not parallel: a flood fills the per-CPU
// receive backlog every namespace shares and would make the exact-count
// tests running beside it lose packets.
func TestFloodUDPIsBounded(t *testing.T) {
	r := NewRouterLab(t)
	sink, err := r.MD.ListenUDP(6000)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	dst := netip.AddrPortFrom(r.MD.If.IPv4(), 6000)
	n, err := r.H1.FloodUDP(UDPFlow{Dst: dst, Payload: make([]byte, 64), Pace: Pace{Count: 5000}})
	if err != nil || n != 5000 {
		t.Fatalf("flood by count: %d sent, %v", n, err)
	}
	start := time.Now()
	n, err = r.H1.FloodUDP(UDPFlow{Dst: dst, Payload: make([]byte, 64), Pace: Pace{MaxDuration: 100 * time.Millisecond}})
	if took := time.Since(start); err != nil || took > 2*time.Second || n == 0 || n >= MaxCount {
		t.Fatalf("flood by time: %d sent in %v, %v", n, took, err)
	}
	// Whatever the receiver lost, it never counts more than was sent.
	time.Sleep(50 * time.Millisecond)
	if c := sink.Count(); c == 0 || c > int64(5000+n) {
		t.Fatalf("receiver counted %d of %d", c, 5000+n)
	}
}

func TestRunTCP(t *testing.T) {
	t.Parallel()
	r := NewRouterLab(t)
	for _, dst := range []netip.AddrPort{
		netip.AddrPortFrom(r.H2.If.IPv4(), 8080),
		netip.AddrPortFrom(r.H2.If.IPv6(), 8081),
	} {
		t.Run(dst.String(), func(t *testing.T) {
			res, err := RunTCP(TCPExchange{Client: r.H1, Server: r.H2.NS, Dst: dst, Conns: 3, Payload: []byte("hello tap")})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Ports) != 3 {
				t.Fatalf("%d connections, want 3", len(res.Ports))
			}
			syn, synAck, fin := map[uint16]int{}, map[uint16]int{}, 0
			for i, p := range res.Packets {
				src, dst, _, seg, _ := ipHeader(p.Data)
				if !validTCPChecksum(src, dst, seg) {
					t.Errorf("packet %d has a wrong TCP checksum: % x", i+1, p.Data)
				}
				flags := seg[13]
				switch {
				case flags == TCPSyn && p.Outgoing:
					syn[binary.BigEndian.Uint16(seg)]++
				case flags == TCPSyn|TCPAck && !p.Outgoing:
					synAck[binary.BigEndian.Uint16(seg[2:])]++
				}
				if flags&TCPFin != 0 {
					fin++
				}
			}
			// At least: a loaded machine may drop a packet and TCP resends.
			for _, port := range res.Ports {
				if syn[port] < 1 || synAck[port] < 1 {
					t.Errorf("port %d: %d SYN out, %d SYN-ACK in; want both", port, syn[port], synAck[port])
				}
			}
			if fin < 6 {
				t.Errorf("%d FINs, want 2 per connection", fin)
			}
		})
	}
}

func validTCPChecksum(src, dst netip.Addr, seg []byte) bool {
	h := IPHeader{Src: src, Dst: dst}
	return checksum(seg, pseudoHeaderSum(h, ProtoTCP, len(seg))) == 0
}

// TestRawFrames sends hand-made Ethernet frames from h1 into the bridge
// and checks h2 and h3 get them byte for byte, tags included.
func TestRawFrames(t *testing.T) {
	t.Parallel()
	b := NewBridgeLab(t)
	payload := func(tag byte) []byte { return bytes.Repeat([]byte{tag}, 50) }
	multicast := []byte{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}
	tests := []struct {
		name  string
		frame Frame
		atH3  bool // flooded to h3 too
	}{
		{"unicast local EtherType", Frame{Dst: b.H2.If.MAC, Src: b.H1.If.MAC, EtherType: 0x88b5, Payload: payload(1)}, false},
		{"802.1Q tagged", Frame{Dst: b.H2.If.MAC, Src: b.H1.If.MAC, VLAN: true, VLANID: 100, Priority: 5,
			EtherType: 0x88b6, Payload: payload(2)}, false},
		{"802.3 LLC", Frame{Dst: b.H2.If.MAC, Src: b.H1.If.MAC, LLC: &LLC{DSAP: 0x42, SSAP: 0x42, Control: 0x03},
			Payload: payload(3)}, false},
		{"tagged LLC", Frame{Dst: b.H2.If.MAC, Src: b.H1.If.MAC, VLAN: true, VLANID: 7,
			LLC: &LLC{DSAP: 0xaa, SSAP: 0xaa, Control: 0x03}, Payload: payload(4)}, false},
		{"broadcast", Frame{Dst: Broadcast, Src: b.H1.If.MAC, EtherType: 0x88b5, Payload: payload(5)}, true},
		{"multicast", Frame{Dst: multicast, Src: b.H1.If.MAC, EtherType: 0x88b5, Payload: payload(6)}, true},
	}
	// h2 and h3 answer pings first, so the bridge knows where h2 is and
	// unicast frames are not flooded.
	if res, err := b.H2.Ping(EchoFlow{Dst: b.H3.If.IPv4(), Pace: Pace{Count: 1}}); err != nil || res.Replies != 1 {
		t.Fatalf("ping h2 → h3: %+v %v", res, err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := tc.frame.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			sn2, err := b.H2.Sniff("eth0")
			if err != nil {
				t.Fatal(err)
			}
			defer sn2.Close()
			sn3, err := b.H3.Sniff("eth0")
			if err != nil {
				t.Fatal(err)
			}
			defer sn3.Close()
			if err := b.H1.SendFrames("eth0", frame, frame); err != nil {
				t.Fatal(err)
			}
			fromH1 := func(f SniffedFrame) bool { return bytes.Equal(f.Data[6:12], b.H1.If.MAC) }
			if _, err := sn2.Wait(2, fromH1, 2*time.Second); err != nil {
				t.Fatalf("h2: %v", err)
			}
			want3 := 0
			if tc.atH3 {
				want3 = 2
			}
			for _, h := range []struct {
				name string
				sn   *Sniffer
				want int
			}{{"h2", sn2, 2}, {"h3", sn3, want3}} {
				got := h.sn.WaitQuiet(fromH1, 50*time.Millisecond, time.Second)
				if len(got) != h.want {
					t.Errorf("%s got %d frames from h1, want %d", h.name, len(got), h.want)
				}
				for _, f := range got {
					if !bytes.Equal(f.Data, frame) {
						t.Errorf("%s got\n% x\nsent\n% x", h.name, f.Data, frame)
					}
				}
			}
		})
	}
}
