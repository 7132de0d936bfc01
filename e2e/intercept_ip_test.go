package e2e

import (
	"net/netip"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// ipCase is one citapStreamTable acceptance case on a RouterLab: the MD
// row, its streams, and traffic that returns the packets the MD must
// receive (it sends non-matching traffic too).
type ipCase struct {
	name    string
	md      func(l *netlab.RouterLab) mdSpec
	streams func(l *netlab.RouterLab) []ipFilter
	// traffic sends and returns the packets the MD must get and, per
	// stream, how many of them that stream matches (nil: all, for each).
	traffic func(t *testing.T, l *netlab.RouterLab) (want [][]byte, perStream []int)
	// src is the expected outer source; nil: the router's MD-facing
	// address of the MD's family (routing decides).
	src func(l *netlab.RouterLab) netip.Addr
}

// v4MD is an IPv4 MD on the MD host, CCCID id, default DSCP.
func v4MD(id uint32) func(l *netlab.RouterLab) mdSpec {
	return func(l *netlab.RouterLab) mdSpec {
		return mdSpec{id: id, dest: netip.AddrPortFrom(l.MD.If.IPv4(), mdPort)}
	}
}

func ipCases() []ipCase {
	h2v4 := func(l *netlab.RouterLab) netip.Prefix { return host(l.H2.If.IPv4()) }
	return []ipCase{
		{
			name: "IPv4 destination host",
			md:   v4MD(1),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: h2v4(l), proto: protoAny}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				h2 := l.H2.If.IPv4()
				want := concat(
					udp(t, l.H1, netip.AddrPortFrom(h2, 5000), 5, 0),
					udp(t, l.MD, netip.AddrPortFrom(h2, 5001), 2, 0))
				udp(t, l.H1, netip.AddrPortFrom(l.MD.If.IPv4(), 5000), 3, 0) // other host
				udp(t, l.H2, netip.AddrPortFrom(l.H1.If.IPv4(), 5000), 3, 0) // reverse direction
				udp(t, l.H1, netip.AddrPortFrom(l.H2.If.IPv6(), 5000), 2, 0) // IPv6 to the same host
				return want, nil
			},
		},
		{
			name: "IPv4 source host",
			md:   v4MD(2),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{src: host(l.H1.If.IPv4()), proto: protoAny}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				want := concat(
					udp(t, l.H1, netip.AddrPortFrom(l.H2.If.IPv4(), 5000), 3, 0),
					udp(t, l.H1, netip.AddrPortFrom(l.MD.If.IPv4(), 5000), 2, 0))
				udp(t, l.MD, netip.AddrPortFrom(l.H2.If.IPv4(), 5000), 3, 0)
				udp(t, l.H2, netip.AddrPortFrom(l.H1.If.IPv4(), 5000), 3, 0)
				return want, nil
			},
		},
		{
			name: "IPv4 destination prefix",
			md:   v4MD(3),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: prefix("198.18.2.0/24"), proto: netlab.ProtoUDP}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				// .77 is in the prefix but no host's: the router hands it
				// to h2's MAC, h2 drops it.
				other := netip.MustParseAddr("198.18.2.77")
				l.AddNeighbor(l.RouterH2, other, l.H2.If.MAC)
				want := concat(
					udp(t, l.H1, netip.AddrPortFrom(l.H2.If.IPv4(), 5000), 3, 0),
					udp(t, l.H1, netip.AddrPortFrom(other, 5000), 3, 0))
				udp(t, l.H1, netip.AddrPortFrom(l.MD.If.IPv4(), 5000), 3, 0)
				udp(t, l.H2, netip.AddrPortFrom(l.H1.If.IPv4(), 5000), 2, 0)
				return want, nil
			},
		},
		{
			name: "IPv6 to an IPv6 MD with DSCP 46",
			md: func(l *netlab.RouterLab) mdSpec {
				return mdSpec{id: 4, dest: netip.AddrPortFrom(l.MD.If.IPv6(), mdPort), dscp: 46}
			},
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: host(l.H2.If.IPv6()), proto: netlab.ProtoUDP}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				want := udp(t, l.H1, netip.AddrPortFrom(l.H2.If.IPv6(), 5000), 4, 0)
				udp(t, l.H1, netip.AddrPortFrom(l.H2.If.IPv4(), 5000), 3, 0) // same host, IPv4
				udp(t, l.H1, netip.AddrPortFrom(l.MD.If.IPv6(), 5000), 3, 0)
				return want, nil
			},
		},
		{
			name: "IPv6 flow label",
			md:   v4MD(5),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: host(l.H2.If.IPv6()), proto: protoAny, flowLabel: 0x12345}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				dst := netip.AddrPortFrom(l.H2.If.IPv6(), 5000)
				flow := func(label uint32, n int) [][]byte {
					sent, err := l.H1.SendUDP(netlab.UDPFlow{Dst: dst, FlowLabel: label, Payload: []byte("flow"), Pace: netlab.Pace{Count: n}})
					if err != nil {
						t.Fatal(err)
					}
					return sent
				}
				want := flow(0x12345, 3)
				flow(0x12346, 2)
				flow(0, 2)
				return want, nil
			},
		},
		{
			name: "UDP destination port range",
			md:   v4MD(6),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: h2v4(l), proto: netlab.ProtoUDP, dstPorts: [2]uint16{5000, 5010}}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				h2 := l.H2.If.IPv4()
				var want [][]byte
				for _, p := range []uint16{5000, 5005, 5010} {
					want = append(want, udp(t, l.H1, netip.AddrPortFrom(h2, p), 2, 0)...)
				}
				for _, p := range []uint16{4999, 5011, 53} {
					udp(t, l.H1, netip.AddrPortFrom(h2, p), 2, 0)
				}
				if _, err := l.H1.SendTCP(netlab.TCPFlow{Dst: netip.AddrPortFrom(h2, 5005), Pace: netlab.Pace{Count: 2}}); err != nil {
					t.Fatal(err)
				}
				return want, nil
			},
		},
		{
			name: "UDP source port range",
			md:   v4MD(7),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: h2v4(l), proto: netlab.ProtoUDP, srcPorts: [2]uint16{40000, 40001}}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				dst := netip.AddrPortFrom(l.H2.If.IPv4(), 5000)
				from := func(port uint16, n int) [][]byte {
					sent, err := l.H1.SendUDP(netlab.UDPFlow{SrcPort: port, Dst: dst, Payload: []byte("sport"), Pace: netlab.Pace{Count: n}})
					if err != nil {
						t.Fatal(err)
					}
					return sent
				}
				want := concat(from(40000, 2), from(40001, 2))
				from(39999, 2)
				from(40002, 2)
				return want, nil
			},
		},
		{
			name: "TCP connections",
			md:   v4MD(8),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: h2v4(l), proto: netlab.ProtoTCP, dstPorts: [2]uint16{8080, 8080}}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				h2 := l.H2.If.IPv4()
				res, err := netlab.RunTCP(netlab.TCPExchange{Client: l.H1, Server: l.H2.NS,
					Dst: netip.AddrPortFrom(h2, 8080), Conns: 3, Payload: []byte("GET / HTTP/1.0\r\n\r\n")})
				if err != nil {
					t.Fatal(err)
				}
				// Client to server only: the answers go to h1.
				var want [][]byte
				for _, p := range res.Packets {
					if p.Outgoing {
						want = append(want, p.Data)
					}
				}
				if len(want) < 3*4 {
					t.Fatalf("only %d client packets recorded for 3 connections", len(want))
				}
				udp(t, l.H1, netip.AddrPortFrom(h2, 8080), 3, 0) // UDP to the port
				if _, err := l.H1.SendTCP(netlab.TCPFlow{Dst: netip.AddrPortFrom(h2, 9090), Pace: netlab.Pace{Count: 2}}); err != nil {
					t.Fatal(err)
				}
				return want, nil
			},
		},
		{
			name: "protocol any",
			md:   v4MD(9),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: h2v4(l), proto: protoAny}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				h2 := l.H2.If.IPv4()
				tcp, err := l.H1.SendTCP(netlab.TCPFlow{Dst: netip.AddrPortFrom(h2, 9), Pace: netlab.Pace{Count: 2}})
				if err != nil {
					t.Fatal(err)
				}
				ping, err := l.H1.Ping(netlab.EchoFlow{Dst: h2, Pace: netlab.Pace{Count: 2}})
				if err != nil {
					t.Fatal(err)
				}
				raw := netlab.IPHeader{Src: l.H1.If.IPv4(), Dst: h2, TTL: 64, ID: 4242}
				gre, err := netlab.BuildIP(raw, 47, []byte("not really GRE, just protocol 47"))
				if err != nil {
					t.Fatal(err)
				}
				if err := l.H1.SendIP(gre); err != nil {
					t.Fatal(err)
				}
				want := concat(udp(t, l.H1, netip.AddrPortFrom(h2, 5000), 2, 0), tcp, ping.Sent, [][]byte{gre})
				if _, err := l.H1.Ping(netlab.EchoFlow{Dst: l.MD.If.IPv4(), Pace: netlab.Pace{Count: 2}}); err != nil {
					t.Fatal(err)
				}
				if _, err := l.H1.Ping(netlab.EchoFlow{Dst: l.H2.If.IPv6(), Pace: netlab.Pace{Count: 2}}); err != nil {
					t.Fatal(err)
				}
				return want, nil
			},
		},
		{
			name: "TOS byte and mask, source interface, DSCP 10",
			md: func(l *netlab.RouterLab) mdSpec {
				return mdSpec{id: 10, dest: netip.AddrPortFrom(l.MD.If.IPv4(), mdPort), dscp: 10, srcIf: l.RouterH1.Index}
			},
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{dst: h2v4(l), proto: protoAny, tos: 0xb8, mask: 0xfc}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				dst := netip.AddrPortFrom(l.H2.If.IPv4(), 5000)
				// ECN bits (the low two) are outside the mask.
				want := concat(udp(t, l.H1, dst, 2, 0xb8), udp(t, l.H1, dst, 2, 0xbb))
				for _, tos := range []uint8{0x00, 0x88, 0xb4, 0xbc} {
					udp(t, l.H1, dst, 2, tos)
				}
				return want, nil
			},
			// Copies leave from the address of cTap2MediationSrcInterface.
			src: func(l *netlab.RouterLab) netip.Addr { return l.RouterH1.IPv4() },
		},
		{
			name: "interface-bound, ingress",
			md:   v4MD(11),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{iface: l.RouterH1.Index, dst: h2v4(l), proto: protoAny}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				h2 := netip.AddrPortFrom(l.H2.If.IPv4(), 5000)
				want := udp(t, l.H1, h2, 4, 0) // seen on eth1
				udp(t, l.MD, h2, 3, 0)         // seen on eth3 and eth2 only
				return want, nil
			},
		},
		{
			name: "interface-bound, egress",
			md:   v4MD(12),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{{iface: l.RouterH1.Index, src: host(l.H2.If.IPv4()), proto: protoAny}}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				sent := udp(t, l.H2, netip.AddrPortFrom(l.H1.If.IPv4(), 5000), 3, 0) // leaves by eth1
				udp(t, l.H2, netip.AddrPortFrom(l.MD.If.IPv4(), 5000), 3, 0)         // leaves by eth3
				// Seen leaving only: the copy is the forwarded packet.
				var want [][]byte
				for _, p := range sent {
					want = append(want, netlab.Forwarded(p))
				}
				return want, nil
			},
		},
		{
			// Every h1→h2 packet is seen arriving on eth1 and leaving by
			// eth2 and matches both streams: still one copy.
			name: "ingress and egress, two streams of one MD",
			md:   v4MD(13),
			streams: func(l *netlab.RouterLab) []ipFilter {
				return []ipFilter{
					{dst: h2v4(l), proto: protoAny},
					{src: host(l.H1.If.IPv4()), proto: netlab.ProtoUDP},
				}
			},
			traffic: func(t *testing.T, l *netlab.RouterLab) ([][]byte, []int) {
				both := udp(t, l.H1, netip.AddrPortFrom(l.H2.If.IPv4(), 5000), 4, 0)
				first := udp(t, l.MD, netip.AddrPortFrom(l.H2.If.IPv4(), 5000), 2, 0)
				second := udp(t, l.H1, netip.AddrPortFrom(l.MD.If.IPv4(), 5000), 3, 0)
				udp(t, l.H2, netip.AddrPortFrom(l.MD.If.IPv4(), 5000), 2, 0)
				return concat(both, first, second), []int{len(both) + len(first), len(both) + len(second)}
			},
		},
	}
}

// TestInterceptIP proves the IP stream cases of the acceptance list: for
// each, exactly the matching packets reach the MD, as the PacketCable
// datagrams tshark decodes (pcli.cccid = ContentId), with the packet as
// sent, the MD's DSCP, and stream counters equal to what the MD got.
func TestInterceptIP(t *testing.T) {
	t.Parallel()
	for _, c := range ipCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, lab := startRouterBed(t)
			md := c.md(lab)
			cap := b.capture(md.dest.Port())
			streams := c.streams(lab)
			b.provision(len(streams), ipTap(md, streams...)...)
			want, perStream := c.traffic(t, lab)
			src := lab.RouterMD.Addr(md.dest.Addr().Is4())
			if c.src != nil {
				src = c.src(lab)
			}
			b.expect(cap, delivery{md: md, src: src, layer: "ip", want: want})
			for i := range streams {
				n := len(want)
				if perStream != nil {
					n = perStream[i]
				}
				b.checkCounters(md.id, uint32(i+1), n)
			}
		})
	}
}

// TestInterceptTwoMDs: two MDs (one IPv4, one IPv6 with its own DSCP) with
// identical taps each get their own copy of every packet.
func TestInterceptTwoMDs(t *testing.T) {
	t.Parallel()
	b, lab := startRouterBed(t)
	mds := []mdSpec{
		{id: 21, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort)},
		{id: 22, dest: netip.AddrPortFrom(lab.MD.If.IPv6(), mdPort+1), dscp: 46},
	}
	caps := []*netlab.Capture{b.capture(mdPort), b.capture(mdPort + 1)}
	filter := ipFilter{dst: host(lab.H2.If.IPv4()), proto: netlab.ProtoUDP}
	b.provision(2, append(ipTap(mds[0], filter), ipTap(mds[1], filter)...)...)
	want := concat(
		udp(t, lab.H1, netip.AddrPortFrom(lab.H2.If.IPv4(), 5000), 5, 0),
		udp(t, lab.MD, netip.AddrPortFrom(lab.H2.If.IPv4(), 5000), 2, 0))
	udp(t, lab.H2, netip.AddrPortFrom(lab.H1.If.IPv4(), 5000), 3, 0)
	for i, md := range mds {
		b.expect(caps[i], delivery{md: md, src: lab.RouterMD.Addr(md.dest.Addr().Is4()), layer: "ip", want: want})
		b.checkCounters(md.id, 1, len(want))
	}
}

// TestInterceptDisabledStream: a stream with InterceptEnable false
// delivers nothing and counts nothing, and sends no ciscoTap2MIBActive;
// enabling it starts interception and sends ciscoTap2MIBActive.
func TestInterceptDisabledStream(t *testing.T) {
	t.Parallel()
	b, lab := startRouterBed(t)
	md := mdSpec{id: 31, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort)}
	cap := b.capture(mdPort)
	filter := ipFilter{dst: host(lab.H2.If.IPv4()), proto: netlab.ProtoUDP}
	b.snmpset(append(append(md.vbs(), filter.vbs(md.id, 1)...), streamRow(md.id, 1, streamTypeIP, false)...)...)
	time.Sleep(200 * time.Millisecond) // a wrongly armed tap would be in place by now
	dst := netip.AddrPortFrom(lab.H2.If.IPv4(), 5000)
	udp(t, lab.H1, dst, 5, 0)
	time.Sleep(quiet)
	if n := cap.Receiver.Count(); n != 0 {
		t.Errorf("disabled stream: MD received %d copies, want 0", n)
	}
	b.checkCounters(md.id, 1, 0)
	if lines := b.trapLines(notifMIBActive); len(lines) != 0 {
		t.Errorf("ciscoTap2MIBActive for a disabled stream: %q", lines)
	}

	b.provision(1, vInt(oid(streamEntry, stEnable, md.id, 1), truthTrue))
	if _, err := b.trapd.WaitFor(notifMIBActive, 5*time.Second); err != nil {
		t.Errorf("enabled stream: %v", err)
	}
	want := udp(t, lab.H1, dst, 3, 0)
	b.expect(cap, delivery{md: md, src: lab.RouterMD.IPv4(), layer: "ip", want: want})
	b.checkCounters(md.id, 1, len(want))
}

// TestInterceptNTPTimestamp: with --ntp-timestamp every copy carries an
// 8-byte NTP timestamp after the CCCID (tshark's pcli12), close to now.
func TestInterceptNTPTimestamp(t *testing.T) {
	t.Parallel()
	b, lab := startRouterBed(t, "--ntp-timestamp")
	md := mdSpec{id: 41, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort)}
	cap := b.capture(mdPort)
	b.provision(1, ipTap(md, ipFilter{dst: host(lab.H2.If.IPv4()), proto: protoAny})...)
	before := time.Now()
	want := udp(t, lab.H1, netip.AddrPortFrom(lab.H2.If.IPv4(), 5000), 4, 0)
	udp(t, lab.H1, netip.AddrPortFrom(lab.MD.If.IPv4(), 5000), 2, 0)
	after := time.Now()
	ds := b.expect(cap, delivery{md: md, src: lab.RouterMD.IPv4(), layer: "ip", timestamped: true, want: want})
	// NTP: seconds since 1900 in the high 32 bits, binary fraction below.
	const ntpEpochOffset = 2208988800
	for i, d := range ds {
		secs := int64(d.NTP>>32) - ntpEpochOffset
		frac := time.Duration((d.NTP & 0xffffffff) * uint64(time.Second) >> 32)
		at := time.Unix(secs, int64(frac))
		if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
			t.Errorf("datagram %d: NTP timestamp %016x is %v, want between %v and %v", i+1, d.NTP, at, before, after)
		}
	}
	b.checkCounters(md.id, 1, len(want))
}
