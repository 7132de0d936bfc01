package e2e

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/netlab"
	"tapagent/internal/testbed"
)

// The data-plane tests (intercept_*_test.go) put tapagent in a lab
// namespace (internal/netlab): a router between h1 and h2, or a bridge with
// three hosts, with the mediation device (MD) in a third namespace where
// dumpcap records the copies and snmptrapd listens on port 161, where the
// generated trap sink points. Taps are provisioned with net-snmp's snmpset
// (or our setany) over SNMPv3, exactly as an MD would.

// Objects the data-plane tests need beyond those of helpers_test.go.
const (
	stInterceptDrops = 5 // cTap2StreamInterceptDrops
	ipSrcAddress     = 5
	ipSrcLength      = 6
	ipTosByte        = 7
	ipTosByteMask    = 8
	ipFlowID         = 9
	ipSrcPortMin     = 13
	ipSrcPortMax     = 14
	macEthernetPid   = 5
	dbgMessage       = 4 // cTap2DebugMessage

	notifMIBActive         = tap2Tree + ".0.1" // ciscoTap2MIBActive
	notifMediationTimedOut = tap2Tree + ".0.2" // ciscoTap2MediationTimedOut
	notifSwitchover        = tap2Tree + ".0.5" // ciscoTap2Switchover
)

// Bits of c802tapStreamFields in its single octet (bit n = 0x80>>n).
const (
	fieldInterface   = 0x80
	fieldDstMac      = 0x40
	fieldSrcMac      = 0x20
	fieldEthernetPid = 0x10
	fieldCMMac       = 0x02
)

const (
	protoAny    = -1 // citapStreamProtocol: any protocol
	mdPort      = 7000
	defaultDSCP = 34
	// etherTypeLab is IEEE's "local experimental" EtherType: the lab hosts
	// ignore such frames, so they cause no answers that could match a tap.
	etherTypeLab = 0x88b5
	// quiet is how long a test waits after the expected copies arrived
	// for copies that should not come (the capture ring hands frames over
	// within 10 ms).
	quiet = 300 * time.Millisecond
)

// dpBed is one network element under test: tapagent behind snmpd in the
// element's namespace, an MD namespace running snmptrapd on port 161.
type dpBed struct {
	t     *testing.T
	lab   *netlab.Lab
	elem  *netlab.NS   // router or bridge namespace
	md    *netlab.Host // the mediation device
	snmpd *testbed.Snmpd
	agent *testbed.Agent
	trapd *testbed.Trapd
	li    *gosnmp.GoSNMP
	bin   testbed.Binaries
}

// startElement starts snmptrapd in md on md's address port 161, snmpd in
// elem with that trap sink, and tapagent (default --capture all) with
// agentArgs.
func startElement(t *testing.T, lab *netlab.Lab, elem *netlab.NS, md *netlab.Host, agentArgs ...string) *dpBed {
	t.Helper()
	bin := testbed.BuildBinaries(t)
	trapd := testbed.StartTrapdWith(t, testbed.TrapdOptions{Port: 161, NetNS: md.Name, Listen: md.If.IPv4().String()})
	s := testbed.StartSnmpd(t, testbed.Options{NetNS: elem.Name, TrapSinks: []string{trapd.Addr()}})
	a := testbed.StartTapagent(t, s, bin.Tapagent, agentArgs...)
	return &dpBed{t: t, lab: lab, elem: elem, md: md, snmpd: s, agent: a, trapd: trapd, li: s.LIClient(), bin: bin}
}

// startRouterBed is a RouterLab whose router runs snmpd and tapagent; UDP
// ports 5000 and 5001 are open on h1, h2 and the MD.
func startRouterBed(t *testing.T, agentArgs ...string) (*dpBed, *netlab.RouterLab) {
	t.Helper()
	lab := netlab.NewRouterLab(t)
	b := startElement(t, lab.Lab, lab.Router, lab.MD, agentArgs...)
	listen(t, []*netlab.Host{lab.H1, lab.H2, lab.MD}, 5000, 5001)
	return b, lab
}

// listen holds UDP ports open on hosts: test traffic to them draws no
// ICMP port unreachable, which would be more traffic for the taps.
func listen(t *testing.T, hosts []*netlab.Host, ports ...uint16) {
	t.Helper()
	for _, h := range hosts {
		for _, p := range ports {
			r, err := h.ListenUDP(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
		}
	}
}

// startBridgeBed is a BridgeLab whose bridge namespace runs snmpd and
// tapagent capturing the three bridge ports. Every host has sent a frame
// to the bridge first, so the bridge knows where each MAC lives and
// unicast frames are not flooded.
func startBridgeBed(t *testing.T, agentArgs ...string) (*dpBed, *netlab.BridgeLab) {
	t.Helper()
	lab := netlab.NewBridgeLab(t)
	b := startElement(t, lab.Lab, lab.Bridge, lab.MD, append([]string{"--capture", "p1,p2,p3"}, agentArgs...)...)
	for _, h := range lab.Hosts() {
		sendFrames(t, h, labFrame(t, lab.Br0.MAC, h.If.MAC, etherTypeLab, "learn"))
	}
	return b, lab
}

// snmpset sends vbs in one SET PDU with net-snmp's snmpset as li.
func (b *dpBed) snmpset(vbs ...vb) {
	b.t.Helper()
	var args []string
	for _, v := range vbs {
		args = append(args, v.args()...)
	}
	if res := runCmd(b.t, b.snmpd.NetSNMPCommand("snmpset", b.snmpd.LI, args...)); res.code != 0 {
		b.t.Fatalf("snmpset %v: %s", vbs, res)
	}
}

// setany runs our setany inside the element's namespace with the test
// bed's snmp.conf defaults (li's credentials), like the seed's lines.
func (b *dpBed) setany(args ...string) {
	b.t.Helper()
	if b.bin.Setany == "" {
		b.t.Fatal("cmd/setany not built")
	}
	argv := append([]string{"netns", "exec", b.elem.Name, b.bin.Setany, "-v3", "-timeout", "30", "-retries", "3", b.snmpd.Addr(), "li"}, args...)
	cmd := exec.Command("ip", argv...)
	cmd.Env = b.snmpd.NetSNMPEnv()
	if res := runCmd(b.t, cmd); res.code != 0 {
		b.t.Fatalf("setany %s: %s", strings.Join(args, " "), res)
	}
}

// provision SETs vbs and waits until the data plane runs with taps armed
// taps, so that traffic sent next meets the new classifier.
func (b *dpBed) provision(taps int, vbs ...vb) {
	b.t.Helper()
	mark := len(b.agent.Log())
	b.snmpset(vbs...)
	b.waitPlan(mark, taps)
}

// planLine is the data plane's info line after every rebuild.
var planLine = regexp.MustCompile(`data plane updated.*\btaps=(\d+)`)

// waitPlan waits until the agent logged, after byte offset from, a data
// plane rebuild with taps armed taps. It is a speed-up, not a check: after
// 3 s the test goes on and its traffic checks decide.
func (b *dpBed) waitPlan(from, taps int) {
	b.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if log := b.agent.Log(); len(log) >= from {
			for _, m := range planLine.FindAllStringSubmatch(log[from:], -1) {
				if m[1] == strconv.Itoa(taps) {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.t.Logf("no data plane rebuild with %d taps logged within 3 s; going on", taps)
}

// mdSpec is a cTap2MediationTable row.
type mdSpec struct {
	id      uint32
	dest    netip.AddrPort
	dscp    int // 0: leave the default (34)
	srcIf   int // cTap2MediationSrcInterface; 0 = routing decides
	silent  bool
	timeout time.Duration // 0: an hour
}

func (m mdSpec) wantDSCP() uint8 {
	if m.dscp == 0 {
		return defaultDSCP
	}
	return uint8(m.dscp)
}

// vbs create the row with createAndGo.
func (m mdSpec) vbs() []vb {
	typ := 1
	if m.dest.Addr().Is6() {
		typ = 2
	}
	d := m.timeout
	if d == 0 {
		d = time.Hour
	}
	_, timeoutHex := futureTimeout(d)
	out := []vb{
		vInt(oid(mdEntry, mdStatus, m.id), rsCreateAndGo),
		vInt(oid(mdEntry, mdDestAddressType, m.id), typ),
		vHex(oid(mdEntry, mdDestAddress, m.id), hex.EncodeToString(m.dest.Addr().AsSlice())),
		vGauge(oid(mdEntry, mdDestPort, m.id), uint32(m.dest.Port())),
		vInt(oid(mdEntry, mdSrcInterface, m.id), m.srcIf),
		vHex(oid(mdEntry, mdTimeout, m.id), timeoutHex),
		vInt(oid(mdEntry, mdTransport, m.id), 1),
	}
	if m.dscp != 0 {
		out = append(out, vInt(oid(mdEntry, mdDscp, m.id), m.dscp))
	}
	if m.silent {
		out = append(out, vInt(oid(mdEntry, mdNotifEnable, m.id), truthFalse))
	}
	return out
}

// ipFilter is a citapStreamTable row; zero fields keep the MIB's "any".
type ipFilter struct {
	iface     int
	dst, src  netip.Prefix
	proto     int // protoAny or a protocol number (0 is HOPOPT)
	dstPorts  [2]uint16
	srcPorts  [2]uint16
	tos, mask int
	flowLabel int // 0: unused (-1)
}

func (f ipFilter) vbs(id, idx uint32) []vb {
	col := func(c int) string { return oid(ipEntry, c, id, idx) }
	v6 := f.dst.Addr().Is6() || f.src.Addr().Is6()
	out := []vb{
		vInt(col(ipStatus), rsCreateAndGo),
		vInt(col(ipInterface), f.iface),
		vInt(col(ipProtocol), f.proto),
	}
	addr := func(p netip.Prefix, addrCol, lenCol int) {
		a := p.Addr()
		if !p.IsValid() {
			a = netip.IPv4Unspecified()
			if v6 {
				a = netip.IPv6Unspecified()
			}
		}
		out = append(out, vHex(col(addrCol), hex.EncodeToString(a.AsSlice())), vGauge(col(lenCol), uint32(max(p.Bits(), 0))))
	}
	if v6 {
		out = append(out, vInt(col(ipAddrType), 2))
	}
	addr(f.dst, ipDstAddress, ipDstLength)
	addr(f.src, ipSrcAddress, ipSrcLength)
	if f.dstPorts != [2]uint16{} {
		out = append(out, vGauge(col(ipDstPortMin), uint32(f.dstPorts[0])), vGauge(col(ipDstPortMax), uint32(f.dstPorts[1])))
	}
	if f.srcPorts != [2]uint16{} {
		out = append(out, vGauge(col(ipSrcPortMin), uint32(f.srcPorts[0])), vGauge(col(ipSrcPortMax), uint32(f.srcPorts[1])))
	}
	if f.mask != 0 {
		out = append(out, vInt(col(ipTosByte), f.tos), vInt(col(ipTosByteMask), f.mask))
	}
	if f.flowLabel != 0 {
		out = append(out, vInt(col(ipFlowID), f.flowLabel))
	}
	return out
}

// macFilter is a c802tapStreamTable row.
type macFilter struct {
	fields    byte // c802tapStreamFields (one octet)
	iface     int
	dst, src  net.HardwareAddr
	etherType uint32
}

func (f macFilter) vbs(id, idx uint32) []vb {
	col := func(c int) string { return oid(macEntry, c, id, idx) }
	out := []vb{
		vInt(col(macStatus), rsCreateAndGo),
		vHex(col(macFields), fmt.Sprintf("%02x", f.fields)),
		vInt(col(macInterface), f.iface),
	}
	if f.dst != nil {
		out = append(out, vHex(col(macDst), hex.EncodeToString(f.dst)))
	}
	if f.src != nil {
		out = append(out, vHex(col(macSrc), hex.EncodeToString(f.src)))
	}
	if f.fields&fieldEthernetPid != 0 {
		out = append(out, vGauge(col(macEthernetPid), f.etherType))
	}
	return out
}

// streamRow creates the generic cTap2StreamTable row of a filter.
func streamRow(id, idx uint32, typ int, enable bool) []vb {
	e := truthTrue
	if !enable {
		e = truthFalse
	}
	return []vb{
		vInt(oid(streamEntry, stStatus, id, idx), rsCreateAndGo),
		vInt(oid(streamEntry, stType, id, idx), typ),
		vInt(oid(streamEntry, stEnable, id, idx), e),
	}
}

// ipTap is an MD row plus IP streams 1..n in one PDU.
func ipTap(m mdSpec, filters ...ipFilter) []vb {
	out := m.vbs()
	for i, f := range filters {
		out = append(out, f.vbs(m.id, uint32(i+1))...)
		out = append(out, streamRow(m.id, uint32(i+1), streamTypeIP, true)...)
	}
	return out
}

// streamCounters are the four counters of one cTap2StreamEntry.
type streamCounters struct {
	packets, drops, hcPackets, hcDrops uint64
}

func (b *dpBed) counters(id, idx uint32) streamCounters {
	b.t.Helper()
	return readCounters(b.t, b.li, id, idx)
}

func readCounters(t testing.TB, c *gosnmp.GoSNMP, id, idx uint32) streamCounters {
	t.Helper()
	names := []string{oid(streamEntry, stPackets, id, idx), oid(streamEntry, stInterceptDrops, id, idx),
		oid(streamEntry, stHCPackets, id, idx), oid(streamEntry, stHCDrops, id, idx)}
	r, err := c.Get(names)
	if err != nil {
		t.Fatalf("GET counters of stream %d.%d: %v", id, idx, err)
	}
	if r.Error != gosnmp.NoError || len(r.Variables) != 4 {
		t.Fatalf("GET counters of stream %d.%d: %v (%d varbinds)", id, idx, r.Error, len(r.Variables))
	}
	var v [4]uint64
	for i, p := range r.Variables {
		if p.Type != gosnmp.Counter32 && p.Type != gosnmp.Counter64 {
			t.Fatalf("GET %s: %v %v, want a counter", p.Name, p.Type, p.Value)
		}
		v[i] = gosnmp.ToBigInt(p.Value).Uint64()
	}
	return streamCounters{packets: v[0], drops: v[1], hcPackets: v[2], hcDrops: v[3]}
}

// checkCounters asserts that a stream counted exactly delivered copies
// and no drop, in both the 32- and 64-bit columns.
func (b *dpBed) checkCounters(id, idx uint32, delivered int) {
	b.t.Helper()
	got := b.counters(id, idx)
	want := streamCounters{packets: uint64(delivered), hcPackets: uint64(delivered)}
	if got != want {
		b.t.Errorf("stream %d.%d counters (packets, drops, HC packets, HC drops) = %+v, want %+v (what the MD received)",
			id, idx, got, want)
	}
}

// capture starts recording what the MD receives on port.
func (b *dpBed) capture(port uint16) *netlab.Capture {
	b.t.Helper()
	return b.lab.CaptureMD(b.t, b.md.NS, b.md.If.Name, port)
}

// delivery is what one MD must have received.
type delivery struct {
	md          mdSpec
	src         netip.Addr // outer source address
	layer       string     // "ip" or "eth"
	timestamped bool
	want        [][]byte // the intercepted packets or frames, in any order
}

// expect waits for the copies, gives unexpected ones time to arrive,
// decodes the capture with tshark and checks every datagram: its count,
// addresses, DSCP, CCCID (tshark's pcli.cccid) and inner packet byte for
// byte (as a multiset: copies from several hosts may interleave).
func (b *dpBed) expect(c *netlab.Capture, d delivery) []netlab.Datagram {
	b.t.Helper()
	_ = c.Receiver.WaitCount(int64(len(d.want)), 5*time.Second)
	time.Sleep(quiet)
	var ds []netlab.Datagram
	var err error
	if d.timestamped {
		ds, err = c.DecodeTimestamped(d.layer)
	} else {
		ds, err = c.Decode(d.layer)
	}
	if err != nil {
		b.t.Fatalf("decode the MD's capture: %v", err)
	}
	dest := d.md.dest
	for i, g := range ds {
		if g.CCCID != d.md.id || g.DSCP != d.md.wantDSCP() || g.Src != d.src || g.Dst != dest {
			b.t.Errorf("datagram %d: CCCID %d DSCP %d %s → %s, want CCCID %d DSCP %d %s → %s",
				i+1, g.CCCID, g.DSCP, g.Src, g.Dst, d.md.id, d.md.wantDSCP(), d.src, dest)
		}
	}
	compareInner(b.t, ds, d.want)
	return ds
}

// compareInner checks that the datagrams carry exactly want (as a
// multiset) and reports surplus and missing packets.
func compareInner(t testing.TB, ds []netlab.Datagram, want [][]byte) {
	t.Helper()
	left := map[string]int{}
	for _, w := range want {
		left[string(w)]++
	}
	var extra []string
	for _, d := range ds {
		if left[string(d.Inner)] > 0 {
			left[string(d.Inner)]--
			continue
		}
		extra = append(extra, fmt.Sprintf("%s %x", d.Protocols, d.Inner))
	}
	var missing []string
	for _, w := range want {
		if left[string(w)] > 0 {
			left[string(w)]--
			missing = append(missing, fmt.Sprintf("%x", w))
		}
	}
	if len(ds) != len(want) || len(extra) > 0 || len(missing) > 0 {
		t.Errorf("MD received %d copies, want %d\nunexpected (%d):\n  %s\nmissing (%d):\n  %s",
			len(ds), len(want), len(extra), strings.Join(extra, "\n  "), len(missing), strings.Join(missing, "\n  "))
	}
}

// udp sends n UDP datagrams from h to dst and returns them as sent (the
// copy of a forwarded packet is the one seen arriving: these very bytes).
func udp(t testing.TB, h *netlab.Host, dst netip.AddrPort, n int, tos uint8) [][]byte {
	t.Helper()
	sent, err := h.SendUDP(netlab.UDPFlow{Dst: dst, TOS: tos, Payload: []byte("tapagent e2e " + dst.String()), Pace: netlab.Pace{Count: n}})
	if err != nil {
		t.Fatalf("send UDP from %s: %v", h.Name, err)
	}
	return sent
}

// labFrame is an Ethernet frame of 60 bytes or more (no padding question).
func labFrame(t testing.TB, dst, src net.HardwareAddr, etherType uint16, note string) []byte {
	t.Helper()
	payload := make([]byte, 46)
	copy(payload, "tapagent e2e "+note)
	f, err := netlab.Frame{Dst: dst, Src: src, EtherType: etherType, Payload: payload}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sendFrames puts frames on h's eth0 as they are.
func sendFrames(t testing.TB, h *netlab.Host, frames ...[]byte) {
	t.Helper()
	if err := h.SendFrames(h.If.Name, frames...); err != nil {
		t.Fatalf("send frames from %s: %v", h.Name, err)
	}
}

// repeat is n copies of frame.
func repeat(frame []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = frame
	}
	return out
}

// concat joins packet lists.
func concat(lists ...[][]byte) [][]byte {
	var out [][]byte
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// trapLines returns the notifications the MD received that carry oid.
func (b *dpBed) trapLines(oid string) []string {
	b.t.Helper()
	lines, err := b.trapd.Lines()
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if f == oid {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// host is the /32 or /128 prefix of a.
func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
