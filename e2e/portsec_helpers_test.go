package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/netlab"
	"tapagent/internal/testbed"
)

// The port-security tests (portsec_*_test.go) run snmpd and
// tapagent --portsec in the bridge namespace of a netlab.BridgeLab and
// configure ports p1..p3 over SNMPv3 as the admin user (port security is
// not LI's), exactly as a manager would. snmptrapd listens in the MD
// namespace, routed from the bridge namespace. Frames come from h1..h3
// with made-up source MACs.

const (
	psTree            = ciscoMgmt + ".315"
	psGlobal          = psTree + ".1.1"
	psIfEntry         = psTree + ".1.2.1.1" // cpsIfConfigEntry
	psVlanMACEntry    = psTree + ".1.2.3.1" // cpsIfVlanSecureMacAddrEntry
	psNotifViolation  = psTree + ".0.0.1"   // cpsSecureMacAddrViolation
	psEnable          = 1
	psStatus          = 2
	psMax             = 3
	psCount           = 4
	psViolation       = 8
	psViolationCount  = 9
	psLastMAC         = 10
	psShutdownTimeout = 13
	psSticky          = 15
	psMACType         = 3
	psMACRowStatus    = 5

	psShutdown   = 1 // cpsIfViolationAction
	psRestrict   = 2
	psProtect    = 3
	psSecureUp   = 1 // cpsIfPortSecurityStatus
	psSecureShut = 3
	psStatic     = 1 // cpsIfVlanSecureMacAddrType
	psDynamic    = 2
	psStickyType = 3
)

// psBed is a bridge running tapagent --portsec behind snmpd.
type psBed struct {
	t      *testing.T
	lab    *netlab.BridgeLab
	snmpd  *testbed.Snmpd
	trapd  *testbed.Trapd
	agent  *testbed.Agent
	admin  *gosnmp.GoSNMP
	bin    testbed.Binaries
	state  string   // --portsec-state directory
	args   []string // tapagent arguments
	sniffs map[*netlab.Host]*netlab.Sniffer
}

// startPortsecBed builds the lab and starts snmptrapd, snmpd and
// tapagent --portsec (with extra tapagent arguments).
func startPortsecBed(t *testing.T, extra ...string) *psBed {
	t.Helper()
	lab := netlab.NewBridgeLab(t)
	b := &psBed{t: t, lab: lab, bin: testbed.BuildBinaries(t), state: t.TempDir(), sniffs: map[*netlab.Host]*netlab.Sniffer{}}
	b.trapd = testbed.StartTrapdWith(t, testbed.TrapdOptions{Port: 161, NetNS: lab.MD.Name, Listen: lab.MD.If.IPv4().String()})
	b.snmpd = testbed.StartSnmpd(t, testbed.Options{NetNS: lab.Bridge.Name, TrapSinks: []string{b.trapd.Addr()}})
	b.args = append([]string{"--log-level", "debug", "--capture", "none", "--portsec", "--portsec-state", b.state}, extra...)
	b.startAgent()
	b.admin = b.snmpd.AdminClient()
	for _, h := range lab.Hosts() {
		s, err := h.Sniff(h.If.Name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		b.sniffs[h] = s
	}
	return b
}

func (b *psBed) startAgent() {
	b.t.Helper()
	b.agent = testbed.StartAgent(b.t, b.snmpd, testbed.AgentOptions{Bin: b.bin.Tapagent, Args: b.args, WaitPrefix: psTree})
}

// set sends one SET PDU as admin and returns the error status and index.
func (b *psBed) set(pdus ...gosnmp.SnmpPDU) (gosnmp.SNMPError, uint8) {
	b.t.Helper()
	res, err := b.admin.Set(pdus)
	if err != nil {
		b.t.Fatalf("SET %v: %v", pdus, err)
	}
	return res.Error, res.ErrorIndex
}

// mustSet sends one SET PDU that must succeed.
func (b *psBed) mustSet(pdus ...gosnmp.SnmpPDU) {
	b.t.Helper()
	if st, idx := b.set(pdus...); st != gosnmp.NoError {
		b.t.Fatalf("SET %v: %v on varbind %d", pdus, st, idx)
	}
}

func psInt(oid string, v int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Integer, Value: v}
}

func psGauge(oid string, v uint) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Gauge32, Value: v}
}

// ifCol is cpsIfConfigEntry.col.ifindex.
func ifCol(col int, port *netlab.Iface) string {
	return fmt.Sprintf("%s.%d.%d", psIfEntry, col, port.Index)
}

// macCol is cpsIfVlanSecureMacAddrEntry.col.ifindex.m1…m6.vlan.
func macCol(col int, port *netlab.Iface, mac net.HardwareAddr, vlan int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s.%d.%d", psVlanMACEntry, col, port.Index)
	for _, o := range mac {
		fmt.Fprintf(&s, ".%d", o)
	}
	fmt.Fprintf(&s, ".%d", vlan)
	return s.String()
}

// secure configures port: enabled, maximum, violation action.
func (b *psBed) secure(port *netlab.Iface, maximum, action int, more ...gosnmp.SnmpPDU) {
	b.t.Helper()
	b.mustSet(append([]gosnmp.SnmpPDU{psInt(ifCol(psMax, port), maximum), psInt(ifCol(psViolation, port), action),
		psInt(ifCol(psEnable, port), truthTrue)}, more...)...)
}

// get reads one instance as admin; a missing one is nil.
func (b *psBed) get(oid string) any {
	b.t.Helper()
	res, err := b.admin.Get([]string{oid})
	if err != nil {
		b.t.Fatalf("GET %s: %v", oid, err)
	}
	v := res.Variables[0]
	if v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.NoSuchObject {
		return nil
	}
	switch x := v.Value.(type) {
	case int:
		return uint64(x)
	case uint:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uint64:
		return x
	}
	return v.Value
}

// waitValue polls oid until it reads want (as uint64 for numbers).
func (b *psBed) waitValue(oid string, want any, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := b.get(oid)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s reads %v, want %v (waited %v)", oid, got, want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// psFrames are n broadcast frames from src out of h's eth0.
func (b *psBed) send(h *netlab.Host, src net.HardwareAddr, n int) {
	b.t.Helper()
	sendFrames(b.t, h, repeat(labFrame(b.t, netlab.Broadcast, src, etherTypeLab, "portsec "+src.String()), n)...)
}

func psFrom(src net.HardwareAddr) func(netlab.SniffedFrame) bool {
	return func(f netlab.SniffedFrame) bool {
		return !f.Outgoing && len(f.Data) >= 12 && bytes.Equal(f.Data[6:12], src)
	}
}

// arrives waits until host received n frames from src (in all, since the
// bed started).
func (b *psBed) arrives(h *netlab.Host, src net.HardwareAddr, n int) {
	b.t.Helper()
	if got, err := b.sniffs[h].Wait(n, psFrom(src), 3*time.Second); err != nil {
		b.t.Fatalf("%s received %d frames from %s, want %d: %v", h.Name, len(got), src, n, err)
	}
}

// seen is how many frames from src host has received after a quiet spell.
func (b *psBed) seen(h *netlab.Host, src net.HardwareAddr) int {
	return len(b.sniffs[h].WaitQuiet(psFrom(src), 300*time.Millisecond, 2*time.Second))
}

// traps returns the received notifications naming trap.
func (b *psBed) traps(trap string) []string {
	b.t.Helper()
	lines, err := b.trapd.Lines()
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if f == trap {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// show runs portsec-show as admin inside the bridge namespace and returns
// its output with runs of spaces collapsed, line by line.
func (b *psBed) show(words ...string) []string {
	b.t.Helper()
	bin := testbed.Build(b.t, "./cmd/portsec-show")
	u := b.snmpd.Admin
	argv := append([]string{"netns", "exec", b.lab.Bridge.Name, bin, "-v3", "-level", "authPriv", "-auth-proto", "SHA",
		"-auth-pass", u.AuthPass, "-priv-proto", "AES", "-priv-pass", u.PrivPass, b.snmpd.Addr(), u.Name}, words...)
	cmd := exec.Command("ip", argv...)
	cmd.Env = b.snmpd.NetSNMPEnv()
	res := runCmd(b.t, cmd)
	if res.code != 0 {
		b.t.Fatalf("portsec-show %v: %s", words, res)
	}
	var lines []string
	for _, l := range strings.Split(res.stdout, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

// psMAC is a locally administered test MAC.
func psMAC(n byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0x5e, 0xc0, 0, 0, n} }

// hexMAC is how snmptrapd and gosnmp print a MAC value: "02 5E C0 00 00 07".
func hexMAC(m net.HardwareAddr) string {
	return strings.ToUpper(strings.ReplaceAll(m.String(), ":", " "))
}

// ciscoMAC is a MAC as IOS prints it: 025e.c000.0002.
func ciscoMAC(m net.HardwareAddr) string {
	h := strings.ReplaceAll(m.String(), ":", "")
	return h[0:4] + "." + h[4:8] + "." + h[8:12]
}
