package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// macCase is one c802tapStreamTable acceptance case on a BridgeLab.
type macCase struct {
	name   string
	dscp   int
	filter func(l *netlab.BridgeLab) macFilter
	// traffic sends frames and returns those the MD must receive whole.
	traffic func(t *testing.T, l *netlab.BridgeLab) [][]byte
}

// frameFrom sends n copies of a lab frame from h (source MAC src, h's own
// when nil) to dst and returns them.
func frameFrom(t *testing.T, h *netlab.Host, src, dst net.HardwareAddr, etherType uint16, n int, note string) [][]byte {
	t.Helper()
	if src == nil {
		src = h.If.MAC
	}
	frames := repeat(labFrame(t, dst, src, etherType, note), n)
	sendFrames(t, h, frames...)
	return frames
}

func macCases() []macCase {
	return []macCase{
		{
			name: "source MAC",
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldSrcMac, src: l.H1.If.MAC}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				want := concat(
					frameFrom(t, l.H1, nil, l.H2.If.MAC, etherTypeLab, 3, "h1 to h2"),
					frameFrom(t, l.H1, nil, l.H3.If.MAC, netlab.EtherTypeARP, 2, "h1 to h3"))
				frameFrom(t, l.H2, nil, l.H1.If.MAC, etherTypeLab, 3, "h2 to h1")
				frameFrom(t, l.H3, nil, l.H2.If.MAC, etherTypeLab, 2, "h3 to h2")
				return want
			},
		},
		{
			name: "destination MAC",
			dscp: 46,
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldDstMac, dst: l.H2.If.MAC}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				want := concat(
					frameFrom(t, l.H1, nil, l.H2.If.MAC, etherTypeLab, 3, "h1 to h2"),
					frameFrom(t, l.H3, nil, l.H2.If.MAC, etherTypeLab, 2, "h3 to h2"))
				frameFrom(t, l.H2, nil, l.H1.If.MAC, etherTypeLab, 3, "h2 to h1")
				frameFrom(t, l.H1, nil, l.H3.If.MAC, etherTypeLab, 2, "h1 to h3")
				return want
			},
		},
		{
			// The seed's CPE taps: the same MAC as source and destination
			// means traffic from or to that MAC, broadcast included.
			name: "same source and destination MAC: from or to",
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldDstMac | fieldSrcMac, dst: l.H1.If.MAC, src: l.H1.If.MAC}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				want := concat(
					frameFrom(t, l.H1, nil, l.H2.If.MAC, etherTypeLab, 2, "h1 to h2"),
					frameFrom(t, l.H2, nil, l.H1.If.MAC, etherTypeLab, 2, "h2 to h1"),
					frameFrom(t, l.H3, nil, l.H1.If.MAC, etherTypeLab, 1, "h3 to h1"))
				frameFrom(t, l.H2, nil, l.H3.If.MAC, etherTypeLab, 3, "h2 to h3")
				frameFrom(t, l.H3, nil, l.H2.If.MAC, etherTypeLab, 2, "h3 to h2")
				return want
			},
		},
		{
			// A broadcast leaves by two ports besides arriving on one.
			name: "same source and destination MAC: broadcast from it",
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldDstMac | fieldSrcMac, dst: l.H1.If.MAC, src: l.H1.If.MAC}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				want := frameFrom(t, l.H1, nil, netlab.Broadcast, etherTypeLab, 2, "h1 broadcast")
				frameFrom(t, l.H2, nil, netlab.Broadcast, etherTypeLab, 2, "h2 broadcast")
				return want
			},
		},
		{
			// Broadcasts seen on p3, whichever way they cross it.
			name: "interface-bound broadcast",
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldInterface | fieldDstMac, iface: l.Port3.Index, dst: netlab.Broadcast}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				want := concat(
					frameFrom(t, l.H3, nil, netlab.Broadcast, etherTypeLab, 2, "h3 broadcast"), // arrives on p3
					frameFrom(t, l.H1, nil, netlab.Broadcast, etherTypeLab, 1, "h1 broadcast")) // leaves by p3
				frameFrom(t, l.H1, nil, l.H3.If.MAC, etherTypeLab, 2, "h1 to h3")
				frameFrom(t, l.H3, nil, l.H2.If.MAC, etherTypeLab, 2, "h3 to h2")
				return want
			},
		},
		{
			name: "EtherType",
			dscp: 10,
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldEthernetPid, etherType: 0x88b6}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				want := concat(
					frameFrom(t, l.H1, nil, l.H2.If.MAC, 0x88b6, 3, "h1 88b6"),
					frameFrom(t, l.H3, nil, l.H1.If.MAC, 0x88b6, 2, "h3 88b6"))
				frameFrom(t, l.H1, nil, l.H2.If.MAC, etherTypeLab, 3, "h1 88b5")
				frameFrom(t, l.H2, nil, l.H3.If.MAC, netlab.EtherTypeARP, 2, "h2 arp type")
				return want
			},
		},
		{
			// 802 copies carry the whole frame with its 802.1Q tag, even
			// though the kernel takes the tag off the frame on receive.
			name: "source MAC, 802.1Q-tagged frames",
			filter: func(l *netlab.BridgeLab) macFilter {
				return macFilter{fields: fieldSrcMac, src: l.H3.If.MAC}
			},
			traffic: func(t *testing.T, l *netlab.BridgeLab) [][]byte {
				payload := make([]byte, 46)
				copy(payload, "tagged")
				tagged, err := netlab.Frame{Dst: l.H1.If.MAC, Src: l.H3.If.MAC, VLAN: true, VLANID: 100, Priority: 5,
					EtherType: etherTypeLab, Payload: payload}.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				sendFrames(t, l.H3, tagged, tagged)
				want := concat(repeat(tagged, 2), frameFrom(t, l.H3, nil, l.H2.If.MAC, etherTypeLab, 2, "untagged"))
				frameFrom(t, l.H1, nil, l.H3.If.MAC, etherTypeLab, 2, "to h3")
				return want
			},
		},
	}
}

// TestIntercept802 proves the 802 stream cases: exactly the matching
// frames reach the MD, whole (tshark decodes pcli then eth), once per
// frame however many ports the bridge sees it on.
func TestIntercept802(t *testing.T) {
	t.Parallel()
	for i, c := range macCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, lab := startBridgeBed(t)
			md := mdSpec{id: uint32(50 + i), dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort), dscp: c.dscp}
			cap := b.capture(mdPort)
			vbs := append(md.vbs(), c.filter(lab).vbs(md.id, 1)...)
			b.provision(1, append(vbs, streamRow(md.id, 1, streamTypeMAC, true)...)...)
			want := c.traffic(t, lab)
			b.expect(cap, delivery{md: md, src: lab.BridgeMD.IPv4(), layer: "eth", want: want})
			b.checkCounters(md.id, 1, len(want))
		})
	}
}

// TestIntercept802CableModem provisions with setany exactly like the
// seed's lines (cmMacAddress: Fields 0x62, interface -1, the modem's MAC
// as source and destination): every frame of the bridge port where the
// modem's MAC is learned is intercepted — the modem's own and those of the
// devices behind it, both directions — and nothing of the other ports.
func TestIntercept802CableModem(t *testing.T) {
	t.Parallel()
	b, lab := startBridgeBed(t)
	modem := lab.H1.If.MAC
	cpe := net.HardwareAddr{0x02, 0x4e, 0x4c, 0xcc, 0x00, 0x01} // a device behind the modem
	// The bridge learns the CPE on p1 before the tap is made.
	sendFrames(t, lab.H1, labFrame(t, lab.Br0.MAC, cpe, etherTypeLab, "cpe learn"))
	cap := b.capture(mdPort)
	mdHex := strings.Join(strings.Split(fmt.Sprintf("% x", lab.MD.If.IPv4().AsSlice()), " "), ":")
	colonHex, _ := futureTimeout(24 * time.Hour)
	spaced := func(m net.HardwareAddr) string { return fmt.Sprintf("% x", []byte(m)) }
	mark := len(b.agent.Log())
	b.setany("cTap2MediationStatus.1", "-i", "4", "cTap2MediationDestAddressType.1", "-i", "1",
		"cTap2MediationTimeout.1", "-o", colonHex, "cTap2MediationTransport.1", "-i", "1",
		"cTap2MediationSrcInterface.1", "-i", "0", "cTap2MediationDestAddress.1", "-o", mdHex,
		"cTap2MediationDestPort.1", "-g", fmt.Sprint(mdPort))
	b.setany("c802tapStreamStatus.1.2", "-i", "4", "c802tapStreamFields.1.2", "-o", "62",
		"c802tapStreamInterface.1.2", "-i", "-1",
		"c802tapStreamDestinationAddress.1.2", "-o", spaced(modem), "c802tapStreamSourceAddress.1.2", "-o", spaced(modem))
	b.setany("cTap2StreamStatus.1.2", "-i", "5", "cTap2StreamType.1.2", "-i", "2",
		"cTap2StreamInterceptEnable.1.2", "-i", "1", "cTap2StreamStatus.1.2", "-i", "4")
	b.waitPlan(mark, 1)

	want := concat(
		frameFrom(t, lab.H1, nil, lab.H2.If.MAC, etherTypeLab, 2, "modem to h2"),
		frameFrom(t, lab.H1, cpe, lab.H2.If.MAC, etherTypeLab, 3, "cpe to h2"),
		frameFrom(t, lab.H1, cpe, netlab.Broadcast, etherTypeLab, 1, "cpe broadcast"),
		frameFrom(t, lab.H2, nil, cpe, etherTypeLab, 2, "h2 to cpe"),
		frameFrom(t, lab.H3, nil, modem, etherTypeLab, 1, "h3 to modem"))
	frameFrom(t, lab.H2, nil, lab.H3.If.MAC, etherTypeLab, 3, "h2 to h3")
	frameFrom(t, lab.H3, nil, lab.H2.If.MAC, etherTypeLab, 2, "h3 to h2")
	md := mdSpec{id: 1, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort)}
	b.expect(cap, delivery{md: md, src: lab.BridgeMD.IPv4(), layer: "eth", want: want})
	b.checkCounters(1, 2, len(want))
}
