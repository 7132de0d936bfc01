package netlab

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// TestCaptureMD plays the intercepting element by hand: h1 sends
// PacketCable datagrams (CCCID, optional timestamp, intercepted packet)
// to the MD, and the capture must decode them the way the data-plane
// acceptance tests will.
func TestCaptureMD(t *testing.T) {
	t.Parallel()
	r := NewRouterLab(t)
	const cccid = 0x01020304
	ntp := uint64(0xe8a1b2c3_80000000)
	innerIP, err := BuildUDP(IPHeader{Src: r.H1.If.IPv4(), Dst: r.H2.If.IPv4(), ID: 77}, 1111, 2222, []byte("intercepted"))
	if err != nil {
		t.Fatal(err)
	}
	innerIP6, err := BuildTCP(IPHeader{Src: r.H1.If.IPv6(), Dst: r.H2.If.IPv6()}, TCPHeader{SrcPort: 40001, DstPort: 80, Flags: TCPSyn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	innerFrame, err := Frame{Dst: r.RouterH1.MAC, Src: r.H1.If.MAC, VLAN: true, VLANID: 10, EtherType: EtherTypeIPv4, Payload: innerIP}.Bytes()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		src         netip.Addr
		dst         netip.Addr
		port        uint16
		tos         uint8
		layer       string
		timestamped bool
		inner       []byte
		count       int
	}{
		{"IPv4 MD, IP tap", r.H1.If.IPv4(), r.MD.If.IPv4(), 7001, 0x88, "ip", false, innerIP, 3},
		{"IPv6 MD, IPv6 inner", r.H1.If.IPv6(), r.MD.If.IPv6(), 7002, 0xb8, "ip", false, innerIP6, 2},
		{"IPv6 MD, 802 tap", r.H1.If.IPv6(), r.MD.If.IPv6(), 7003, 0x88, "eth", false, innerFrame, 2},
		{"IPv4 MD, timestamped", r.H1.If.IPv4(), r.MD.If.IPv4(), 7004, 0, "ip", true, innerIP, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Own ports, own captures: the cases can share the lab.
			t.Parallel()
			c := r.CaptureMD(t, r.MD.NS, "eth0", tc.port)
			payload := binary.BigEndian.AppendUint32(nil, cccid)
			if tc.timestamped {
				payload = binary.BigEndian.AppendUint64(payload, ntp)
			}
			payload = append(payload, tc.inner...)
			// Noise the capture filter must keep out: another port.
			if _, err := r.H1.SendUDP(UDPFlow{Dst: netip.AddrPortFrom(tc.dst, tc.port+100), Payload: payload, Pace: Pace{Count: 1}}); err != nil {
				t.Fatal(err)
			}
			sent, err := r.H1.SendUDP(UDPFlow{Src: tc.src, SrcPort: 9999, Dst: netip.AddrPortFrom(tc.dst, tc.port),
				TOS: tc.tos, Payload: payload, Pace: Pace{Count: tc.count}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Receiver.WaitCount(int64(len(sent)), 2*time.Second); err != nil {
				t.Fatal(err)
			}
			var ds []Datagram
			if tc.timestamped {
				ds, err = c.DecodeTimestamped(tc.layer)
			} else {
				ds, err = c.Decode(tc.layer)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != tc.count {
				t.Fatalf("decoded %d datagrams, sent %d", len(ds), tc.count)
			}
			for i, d := range ds {
				if d.CCCID != cccid || d.DSCP != tc.tos>>2 || d.Src != tc.src || d.SrcPort != 9999 ||
					d.Dst != netip.AddrPortFrom(tc.dst, tc.port) {
					t.Errorf("datagram %d: CCCID %#x DSCP %d from %s:%d to %s; want %#x %d %s:9999 %s:%d",
						i+1, d.CCCID, d.DSCP, d.Src, d.SrcPort, d.Dst, cccid, tc.tos>>2, tc.src, tc.dst, tc.port)
				}
				if !bytes.Equal(d.Inner, tc.inner) {
					t.Errorf("datagram %d inner:\n% x\nwant\n% x", i+1, d.Inner, tc.inner)
				}
				if tc.timestamped && d.NTP != ntp {
					t.Errorf("datagram %d timestamp %#x, want %#x", i+1, d.NTP, ntp)
				}
				if !innerDecoded(d.Protocols, tc.layer, tc.timestamped) {
					t.Errorf("datagram %d: tshark protocols %q", i+1, d.Protocols)
				}
			}
		})
	}
}

// TestCaptureDecodeRejectsNonPcli shows Decode does not accept datagrams
// tshark cannot read as PacketCable: a payload shorter than a CCCID.
func TestCaptureDecodeRejectsShortPayload(t *testing.T) {
	t.Parallel()
	r := NewRouterLab(t)
	c := r.CaptureMD(t, r.MD.NS, "eth0", 7100)
	if _, err := r.H1.SendUDP(UDPFlow{Dst: netip.AddrPortFrom(r.MD.If.IPv4(), 7100), Payload: []byte{1, 2}, Pace: Pace{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Receiver.WaitCount(1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if ds, err := c.Decode("ip"); err == nil {
		t.Fatalf("Decode accepted a 2-byte payload: %+v", ds)
	}
	if _, err := c.Decode("ipx"); err == nil {
		t.Fatal("Decode accepted layer ipx")
	}
}

func TestInnerDecoded(t *testing.T) {
	tests := []struct {
		protocols   string
		layer       string
		timestamped bool
		want        bool
	}{
		{"eth:ethertype:ip:udp:pcli:ip:udp:data", "ip", false, true},
		{"eth:ethertype:ipv6:udp:pcli:eth:ethertype:vlan:ethertype:ip:udp", "eth", false, true},
		{"eth:ethertype:ip:udp:ip:udp:data", "ip", true, true},
		{"eth:ethertype:ip:udp:ip:udp:data", "ip", false, false},
		{"eth:ethertype:ip:udp:pcli:data", "ip", false, false},
		{"eth:ethertype:ip:udp:pcli:ipv6:tcp", "ip", false, false},
		{"eth:ethertype:ip:udp:data", "ip", true, false},
		{"eth:ethertype:arp", "eth", false, false},
	}
	for _, tc := range tests {
		if got := innerDecoded(tc.protocols, tc.layer, tc.timestamped); got != tc.want {
			t.Errorf("innerDecoded(%q, %q, %v) = %v, want %v", tc.protocols, tc.layer, tc.timestamped, got, tc.want)
		}
	}
}
