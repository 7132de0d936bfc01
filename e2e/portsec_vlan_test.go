package e2e

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/netlab"
)

// VLAN-aware port security. p1..p3 each carry VLAN 10 untagged (their
// PVID: the access or data VLAN) and VLAN 20 tagged (the voice VLAN), as
// IOS's "switchport access vlan 10; switchport voice vlan 20" maps onto a
// Linux bridge. The VLANs are declared to tapagent (--portsec-vlans): the
// kernels here have no bridge VLAN filtering (see startVoiceBed).

const (
	psMultiEntry         = psTree + ".1.2.5.1" // cpsIfMultiVlanEntry
	psOldMACEntry        = psTree + ".1.2.2.1" // cpsSecureMacAddressEntry (deprecated)
	psNotifVlanViolation = psTree + ".0.0.3"   // cpsIfVlanSecureMacAddrViolation
	psLastVLAN           = 18                  // cpsIfSecureLastMacAddrVlanId
	psMultiMax           = 2
	psMultiCount         = 3
	psMultiStatus        = 5
	psOldMACStatus       = 4

	voiceVLAN = 20
)

// vlanCol is cpsIfMultiVlanEntry.col.ifindex.vlan.
func vlanCol(col int, port *netlab.Iface, vlan int) string {
	return fmt.Sprintf("%s.%d.%d.%d", psMultiEntry, col, port.Index, vlan)
}

// oldMACCol is cpsSecureMacAddressEntry.col.ifindex.m1…m6.
func oldMACCol(col int, port *netlab.Iface, mac net.HardwareAddr) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s.%d.%d", psOldMACEntry, col, port.Index)
	for _, o := range mac {
		fmt.Fprintf(&s, ".%d", o)
	}
	return s.String()
}

// accessVLAN is the data VLAN of the voice ports (their PVID).
const accessVLAN = 10

// startVoiceBed starts a bed whose host ports p1..p3 are IOS access ports
// with a voice VLAN: access VLAN 10 untagged, voice VLAN 20 tagged. The
// kernels here lack bridge VLAN filtering (vlan_filtering fails with
// "Operation not supported"), so the VLANs are declared to tapagent with
// --portsec-vlans, as an operator of such a kernel would; the bridge
// forwards tags as they come. It returns the bed and the data VLAN.
func startVoiceBed(t *testing.T, extra ...string) (*psBed, int) {
	t.Helper()
	var args []string
	for _, p := range []string{"p1", "p2", "p3"} {
		args = append(args, "--portsec-vlans", fmt.Sprintf("%s=%d,%d", p, accessVLAN, voiceVLAN))
	}
	return startPortsecBed(t, append(args, extra...)...), accessVLAN
}

// knowsVLANs waits until the agent shows port's PVID as data
// (cpsIfSecureLastMacAddrVlanId before any violation): the engine has
// read the port's membership. The port must be known to the engine
// (configured once).
func (b *psBed) knowsVLANs(port *netlab.Iface, data int) {
	b.t.Helper()
	b.waitValue(ifCol(psLastVLAN, port), data, 5*time.Second)
}

// sendTagged sends n broadcast frames from src tagged with vlan.
func (b *psBed) sendTagged(h *netlab.Host, src net.HardwareAddr, vlan uint16, n int) {
	b.t.Helper()
	payload := make([]byte, 46)
	copy(payload, "tapagent e2e portsec tagged "+src.String())
	f, err := netlab.Frame{Dst: netlab.Broadcast, Src: src, VLAN: true, VLANID: vlan, EtherType: etherTypeLab, Payload: payload}.Bytes()
	if err != nil {
		b.t.Fatal(err)
	}
	sendFrames(b.t, h, repeat(f, n)...)
}

// TestPortsecVoiceVLANMaximum: a port with a voice VLAN refuses a
// maximum below 2 (phone and PC) and limits for VLANs it does not carry.
func TestPortsecVoiceVLANMaximum(t *testing.T) {
	b, data := startVoiceBed(t)
	l := b.lab

	// The port's first PDU, right after the bridge was set up.
	if st, idx := b.set(psInt(ifCol(psMax, l.Port1), 1), psInt(ifCol(psViolation, l.Port1), psRestrict),
		psInt(ifCol(psEnable, l.Port1), truthTrue)); st != gosnmp.InconsistentValue || idx != 1 {
		t.Errorf("first PDU enabling voice port p1 at maximum 1: %v on varbind %d, want inconsistentValue on 1", st, idx)
		b.mustSet(psInt(ifCol(psEnable, l.Port1), truthFalse))
	}
	b.mustSet(psInt(ifCol(psViolation, l.Port1), psRestrict))
	b.knowsVLANs(l.Port1, data)
	if st, idx := b.set(psInt(ifCol(psViolation, l.Port1), psRestrict), psInt(ifCol(psMax, l.Port1), 1),
		psInt(ifCol(psEnable, l.Port1), truthTrue)); st != gosnmp.InconsistentValue || idx != 2 {
		t.Fatalf("enabling voice port p1 at maximum 1: %v on varbind %d, want inconsistentValue on 2", st, idx)
	}
	b.secure(l.Port1, 2, psRestrict)
	b.waitValue(ifCol(psStatus, l.Port1), psSecureUp, time.Second)
	if st, idx := b.set(psInt(ifCol(psMax, l.Port1), 1)); st != gosnmp.InconsistentValue || idx != 1 {
		t.Errorf("lowering the maximum of enabled voice port p1 to 1: %v on varbind %d, want inconsistentValue on 1", st, idx)
	}
	if st, idx := b.set(psGauge(vlanCol(psMultiMax, l.Port1, 30), 1),
		psInt(vlanCol(psMultiStatus, l.Port1, 30), rsCreateAndGo)); st != gosnmp.InconsistentValue || idx != 2 {
		t.Errorf("a limit for VLAN 30, which p1 does not carry: %v on varbind %d, want inconsistentValue on 2", st, idx)
	}
	if got := b.get(vlanCol(psMultiStatus, l.Port1, 30)); got != nil {
		t.Errorf("refused VLAN 30 row is there: %v", got)
	}
}

// TestPortsecVLANLimits: per-VLAN maximums of 1 for the data and the
// voice VLAN, created in one PDU, let one PC (untagged) and one phone
// (tagged) through and stop a second PC, counted and notified with its
// VLAN.
func TestPortsecVLANLimits(t *testing.T) {
	b, data := startVoiceBed(t)
	l := b.lab
	b.mustSet(psInt(psGlobal+".5.0", truthTrue)) // cpsGlobalSNMPNotifControl
	b.secure(l.Port1, 2, psRestrict)
	b.knowsVLANs(l.Port1, data)
	b.mustSet(psInt(vlanCol(psMultiStatus, l.Port1, data), rsCreateAndGo), psGauge(vlanCol(psMultiMax, l.Port1, data), 1),
		psInt(vlanCol(psMultiStatus, l.Port1, voiceVLAN), rsCreateAndGo)) // DEFVAL 1
	for oid, want := range map[string]any{
		vlanCol(psMultiMax, l.Port1, data):         1,
		vlanCol(psMultiMax, l.Port1, voiceVLAN):    1,
		vlanCol(psMultiCount, l.Port1, voiceVLAN):  0,
		vlanCol(psMultiStatus, l.Port1, data):      rsActive,
		vlanCol(psMultiStatus, l.Port1, voiceVLAN): rsActive,
	} {
		b.waitValue(oid, want, time.Second)
	}

	pc, phone, intruder := l.H1.If.MAC, psMAC(0x40), psMAC(0x41)
	b.send(l.H1, pc, 1)
	b.arrives(l.H2, pc, 1)
	b.sendTagged(l.H1, phone, voiceVLAN, 1)
	b.arrives(l.H2, phone, 1)
	b.waitValue(macCol(psMACType, l.Port1, pc, data), psDynamic, 3*time.Second)
	b.waitValue(macCol(psMACType, l.Port1, phone, voiceVLAN), psDynamic, 3*time.Second)

	const offending = 3
	b.send(l.H1, intruder, offending)
	b.waitValue(ifCol(psViolationCount, l.Port1), offending, 3*time.Second)
	for _, h := range []*netlab.Host{l.H2, l.H3} {
		if n := b.seen(h, intruder); n != 0 {
			t.Fatalf("%d frames of the second PC reached %s", n, h.Name)
		}
	}
	for oid, want := range map[string]any{
		ifCol(psCount, l.Port1):                   2,
		ifCol(psLastMAC, l.Port1):                 []byte(intruder),
		ifCol(psLastVLAN, l.Port1):                data,
		vlanCol(psMultiCount, l.Port1, data):      1,
		vlanCol(psMultiCount, l.Port1, voiceVLAN): 1,
		ifCol(psStatus, l.Port1):                  psSecureUp,
	} {
		b.waitValue(oid, want, time.Second)
	}
	// A violation of a VLAN's own limit is notified with its VLAN.
	line, err := b.trapd.WaitFor(psNotifVlanViolation, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToUpper(line), hexMAC(intruder)) {
		t.Errorf("notification does not name %s: %s", intruder, line)
	}
	if n := len(b.traps(psNotifViolation)); n != 0 {
		t.Errorf("%d cpsSecureMacAddrViolation for a VLAN's limit, want cpsIfVlanSecureMacAddrViolation only", n)
	}
	// The phone and the first PC still pass.
	b.sendTagged(l.H1, phone, voiceVLAN, 1)
	b.arrives(l.H2, phone, 2)
	b.send(l.H1, pc, 1)
	b.arrives(l.H2, pc, 2)

	out := b.show("interface", "p1")
	for _, want := range []string{"Maximum MAC Addresses : 2", "Total MAC Addresses : 2",
		fmt.Sprintf("%d 1 1", data), fmt.Sprintf("%d 1 1", voiceVLAN)} {
		if !slices.Contains(out, want) {
			t.Errorf("portsec-show interface p1 lacks %q:\n%s", want, strings.Join(out, "\n"))
		}
	}
}

// TestPortsecSameMACTwoVLANs: one MAC secure in two VLANs of a port is two
// rows of cpsIfVlanSecureMacAddrTable and one of the deprecated table;
// destroying one VLAN's row removes only that, destroying the deprecated
// row removes the MAC from every VLAN.
func TestPortsecSameMACTwoVLANs(t *testing.T) {
	b, data := startVoiceBed(t)
	l := b.lab
	b.secure(l.Port1, 3, psRestrict)
	b.knowsVLANs(l.Port1, data)
	mac := psMAC(0x45)
	b.send(l.H1, mac, 1)
	b.sendTagged(l.H1, mac, voiceVLAN, 1)
	b.arrives(l.H2, mac, 2)
	for oid, want := range map[string]any{
		macCol(psMACType, l.Port1, mac, data):      psDynamic,
		macCol(psMACType, l.Port1, mac, voiceVLAN): psDynamic,
		ifCol(psCount, l.Port1):                    2,
		vlanCol(psMultiCount, l.Port1, data):       1,
		vlanCol(psMultiCount, l.Port1, voiceVLAN):  1,
		vlanCol(psMultiMax, l.Port1, voiceVLAN):    0, // a row without a limit of its own
		oldMACCol(psOldMACStatus, l.Port1, mac):    rsActive,
	} {
		b.waitValue(oid, want, 3*time.Second)
	}
	rows, err := b.admin.WalkAll(fmt.Sprintf("%s.%d.%d", psOldMACEntry, psOldMACStatus, l.Port1.Index))
	if err != nil || len(rows) != 1 {
		t.Fatalf("deprecated table rows of p1: %v (%v), want one for the MAC", rows, err)
	}
	out := b.show("interface", "p1", "address")
	for _, want := range []string{fmt.Sprintf("%d %s SecureDynamic p1 -", data, ciscoMAC(mac)),
		fmt.Sprintf("%d %s SecureDynamic p1 -", voiceVLAN, ciscoMAC(mac)), "Total Addresses: 2"} {
		if !slices.Contains(out, want) {
			t.Errorf("portsec-show address lacks %q:\n%s", want, strings.Join(out, "\n"))
		}
	}

	b.mustSet(psInt(macCol(psMACRowStatus, l.Port1, mac, voiceVLAN), rsDestroy))
	b.waitValue(ifCol(psCount, l.Port1), 1, time.Second)
	if got := b.get(macCol(psMACType, l.Port1, mac, voiceVLAN)); got != nil {
		t.Fatalf("destroyed (MAC, VLAN %d) still there: %v", voiceVLAN, got)
	}
	if got := b.get(macCol(psMACType, l.Port1, mac, data)); got != uint64(psDynamic) {
		t.Fatalf("(MAC, VLAN %d) reads %v after destroying the VLAN %d row, want dynamic", data, got, voiceVLAN)
	}

	b.sendTagged(l.H1, mac, voiceVLAN, 1)
	b.waitValue(macCol(psMACType, l.Port1, mac, voiceVLAN), psDynamic, 3*time.Second)
	b.mustSet(psInt(oldMACCol(psOldMACStatus, l.Port1, mac), rsDestroy))
	b.waitValue(ifCol(psCount, l.Port1), 0, time.Second)
}

// TestPortsecShutdownVLAN: on a voice port in shutdown mode, a second MAC
// in a VLAN limited to 1 err-disables only that VLAN: the other VLAN's
// frames pass, the link stays up and the port secure-up; the VLAN comes
// back after cpsIfShutdownTimeout (1 minute, 3 s with --portsec-minute).
func TestPortsecShutdownVLAN(t *testing.T) {
	const minute = 3 * time.Second
	b, data := startVoiceBed(t, "--portsec-minute", minute.String())
	l := b.lab
	b.secure(l.Port1, 3, psShutdown, psGauge(ifCol(psShutdownTimeout, l.Port1), 1))
	b.knowsVLANs(l.Port1, data)
	b.mustSet(psInt(vlanCol(psMultiStatus, l.Port1, data), rsCreateAndGo), psGauge(vlanCol(psMultiMax, l.Port1, data), 1))

	pc, phone, intruder := l.H1.If.MAC, psMAC(0x50), psMAC(0x51)
	b.send(l.H1, pc, 1)
	b.arrives(l.H2, pc, 1)
	b.sendTagged(l.H1, phone, voiceVLAN, 1)
	b.arrives(l.H2, phone, 1)
	b.waitValue(vlanCol(psMultiCount, l.Port1, data), 1, 3*time.Second)

	b.send(l.H1, intruder, 1)
	shutAt := time.Now()
	b.waitValue(ifCol(psViolationCount, l.Port1), 1, 3*time.Second)
	if got := b.get(ifCol(psStatus, l.Port1)); got != uint64(psSecureUp) {
		t.Errorf("cpsIfPortSecurityStatus %v after a VLAN-only violation, want secureup(1)", got)
	}
	if out := l.Exec(l.Bridge, "ip", "-o", "link", "show", "p1"); !strings.Contains(out, ",UP") {
		t.Fatalf("p1 went down for a VLAN-only violation: %s", out)
	}
	b.sendTagged(l.H1, phone, voiceVLAN, 1)
	b.arrives(l.H2, phone, 2)
	b.send(l.H1, pc, 1)
	if n := b.seen(l.H2, pc); n != 1 {
		t.Fatalf("h2 saw %d frames of the PC, want only the one before VLAN %d was err-disabled", n, data)
	}
	if time.Since(shutAt) >= minute {
		t.Fatalf("checks of the err-disabled VLAN took %v, longer than its shutdown timeout", time.Since(shutAt))
	}
	if n := b.seen(l.H2, intruder); n != 0 {
		t.Fatalf("%d frames of the intruder passed", n)
	}
	if log := b.agent.Log(); !strings.Contains(log, "PSECURE_VIOLATION_VLAN") {
		t.Errorf("no PSECURE_VIOLATION_VLAN syslog line in the agent log")
	}

	// Recovery: the PC's frames pass again.
	deadline := shutAt.Add(minute + 4*time.Second)
	for {
		b.send(l.H1, pc, 1)
		if got, _ := b.sniffs[l.H2].Wait(2, psFrom(pc), 300*time.Millisecond); len(got) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("VLAN %d not back %v after it was err-disabled (shutdown timeout %v)", data, time.Since(shutAt), minute)
		}
	}
	if since := time.Since(shutAt); since < minute-500*time.Millisecond {
		t.Errorf("VLAN %d back after %v, before its shutdown timeout of %v", data, since, minute)
	}
	if got := b.get(ifCol(psStatus, l.Port1)); got != uint64(psSecureUp) {
		t.Errorf("cpsIfPortSecurityStatus %v after the recovery, want secureup(1)", got)
	}
}

// TestPortsecVLANLimitRules: a VLAN's maximum cannot go below its count,
// and a VLAN row holding addresses cannot be destroyed unless the same
// PDU removes them.
func TestPortsecVLANLimitRules(t *testing.T) {
	b, data := startVoiceBed(t)
	l := b.lab
	b.secure(l.Port1, 4, psRestrict)
	b.knowsVLANs(l.Port1, data)
	first, second := psMAC(0x60), psMAC(0x61)
	b.send(l.H1, first, 1)
	b.send(l.H1, second, 1)
	b.waitValue(vlanCol(psMultiCount, l.Port1, data), 2, 3*time.Second)

	for _, c := range []struct {
		name string
		pdus []gosnmp.SnmpPDU
		idx  uint8
	}{
		{"maximum below the VLAN's count", []gosnmp.SnmpPDU{psGauge(vlanCol(psMultiMax, l.Port1, data), 1)}, 1},
		{"destroy of a VLAN holding addresses", []gosnmp.SnmpPDU{psInt(vlanCol(psMultiStatus, l.Port1, data), rsDestroy)}, 1},
		{"destroy with one of two addresses", []gosnmp.SnmpPDU{psInt(macCol(psMACRowStatus, l.Port1, second, data), rsDestroy),
			psInt(vlanCol(psMultiStatus, l.Port1, data), rsDestroy)}, 2},
	} {
		if st, idx := b.set(c.pdus...); st != gosnmp.InconsistentValue || idx != c.idx {
			t.Errorf("%s: %v on varbind %d, want inconsistentValue on %d", c.name, st, idx, c.idx)
		}
	}
	for oid, want := range map[string]any{
		vlanCol(psMultiMax, l.Port1, data):    0,
		vlanCol(psMultiStatus, l.Port1, data): rsActive,
		ifCol(psCount, l.Port1):               2,
	} {
		b.waitValue(oid, want, time.Second)
	}

	// At the count it works; a limit row without addresses goes.
	b.mustSet(psGauge(vlanCol(psMultiMax, l.Port1, data), 2))
	b.waitValue(vlanCol(psMultiMax, l.Port1, data), 2, time.Second)
	b.mustSet(psInt(vlanCol(psMultiStatus, l.Port1, voiceVLAN), rsCreateAndGo))
	b.waitValue(vlanCol(psMultiMax, l.Port1, voiceVLAN), 1, time.Second)
	b.mustSet(psInt(vlanCol(psMultiStatus, l.Port1, voiceVLAN), rsDestroy))
	b.waitValue(vlanCol(psMultiStatus, l.Port1, voiceVLAN), nil, time.Second)
	// The VLAN's addresses and its row in one PDU.
	b.mustSet(psInt(macCol(psMACRowStatus, l.Port1, first, data), rsDestroy),
		psInt(macCol(psMACRowStatus, l.Port1, second, data), rsDestroy),
		psInt(vlanCol(psMultiStatus, l.Port1, data), rsDestroy))
	b.waitValue(vlanCol(psMultiStatus, l.Port1, data), nil, time.Second)
	b.waitValue(ifCol(psCount, l.Port1), 0, time.Second)
}
