package portsec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// Access VLAN (PVID) and voice VLAN of the VLAN lab's ports.
const (
	accessVLAN = 10
	voiceVLAN  = 20
)

// vlanRig is a rig whose ports have PVID 10 (untagged) and carry VLAN 20
// tagged, as an IOS access port with a voice VLAN. The kernels this runs
// on lack bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), so the
// VLANs are declared (Options.PortVLANs) as tapagent's --portsec-vlans
// does; the bridge forwards tags as they come.
func vlanRig(t *testing.T, opts Options) *rig {
	t.Helper()
	opts.PortVLANs = map[string]Membership{}
	for _, p := range []string{"p1", "p2", "p3"} {
		name, m, err := ParsePortVLANs(fmt.Sprintf("%s=%d,%d", p, accessVLAN, voiceVLAN))
		if err != nil {
			t.Fatal(err)
		}
		opts.PortVLANs[name] = m
	}
	return newRig(t, opts)
}

// taggedFrames builds count broadcast frames from src tagged with vlan.
func taggedFrames(t testing.TB, src MAC, vlan uint16, count int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range count {
		b, err := netlab.Frame{Dst: netlab.Broadcast, Src: net.HardwareAddr(src[:]), VLAN: true, VLANID: vlan,
			EtherType: 0x88b5, Payload: []byte(fmt.Sprintf("portsec tagged frame %04d .........................", i))}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func sendTagged(t *testing.T, h *netlab.Host, src MAC, vlan uint16, count int) {
	t.Helper()
	if err := h.SendFrames("eth0", taggedFrames(t, src, vlan, count)...); err != nil {
		t.Fatal(err)
	}
}

// inVLAN matches received frames from src carrying tag vlan (0: untagged).
func inVLAN(src MAC, vlan uint16) func(netlab.SniffedFrame) bool {
	return func(f netlab.SniffedFrame) bool {
		if f.Outgoing || len(f.Data) < 16 || !bytes.Equal(f.Data[6:12], src[:]) {
			return false
		}
		tagged := binary.BigEndian.Uint16(f.Data[12:]) == 0x8100
		if vlan == 0 {
			return !tagged
		}
		return tagged && binary.BigEndian.Uint16(f.Data[14:])&0x0fff == vlan
	}
}

func voiceConfig(mode ViolationMode) PortConfig {
	c := secureConfig(2, mode)
	return c
}

func entryKeys(ps PortState) map[addr]EntryType {
	out := map[addr]EntryType{}
	for _, e := range ps.Entries {
		out[addr{e.MAC, e.VLAN}] = e.Type
	}
	return out
}

// The voice port of IOS: maximum 2, one address in the access VLAN and one
// in the voice VLAN. The PC and the phone pass; a second PC is a
// violation of the access VLAN's limit, counted, and its frames never
// reach another port.
func TestSystemVLANVoicePort(t *testing.T) {
	r := vlanRig(t, Options{})
	p1 := r.lab.Port1.Index
	if err := r.eng.Apply([]Change{SetPort(p1, secureConfig(1, Restrict))}); err == nil {
		t.Fatal("maximum 1 on a port with a voice VLAN was accepted")
	}
	r.apply(SetPort(p1, voiceConfig(Restrict)), SetVLANLimit(p1, accessVLAN, 1), SetVLANLimit(p1, voiceVLAN, 1))
	if ps := r.port(p1); ps.VLANs.PVID != accessVLAN || ps.VLANs.VoiceVLAN() != voiceVLAN || !ps.VLANs.MultiVLAN() {
		t.Fatalf("membership %+v, want PVID %d and voice VLAN %d", ps.VLANs, accessVLAN, voiceVLAN)
	}
	h2 := sniff(t, r.lab.H2)
	pc, phone, intruder := MAC(r.lab.H1.If.MAC), testMAC(0x20), testMAC(0x21)

	send(t, r.lab.H1, pc, 2)
	sendTagged(t, r.lab.H1, phone, voiceVLAN, 2)
	if got, err := h2.Wait(2, inVLAN(pc, 0), 2*time.Second); err != nil {
		t.Fatalf("PC: %d of 2 frames reached h2 untagged: %v", len(got), err)
	}
	if got, err := h2.Wait(2, inVLAN(phone, voiceVLAN), 2*time.Second); err != nil {
		t.Fatalf("phone: %d of 2 frames reached h2 in VLAN %d: %v", len(got), voiceVLAN, err)
	}
	waitEvents(t, r.eng, EventLearned, p1, 2, 2*time.Second)

	const offending = 7
	send(t, r.lab.H1, intruder, offending)
	viol := waitEvents(t, r.eng, EventViolation, p1, offending, 3*time.Second)
	if len(viol) != offending || !viol[0].VLANOnly || viol[0].VLAN != accessVLAN {
		t.Fatalf("violations %+v, want %d VLAN-only ones in VLAN %d", viol, offending, accessVLAN)
	}
	if got := h2.WaitQuiet(from(intruder), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d frames of the intruder leaked", len(got))
	}
	// The phone's VLAN has its own room: a tagged intruder there is a
	// violation of that VLAN too (its limit is 1).
	sendTagged(t, r.lab.H1, intruder, voiceVLAN, 1)
	if v := waitEvents(t, r.eng, EventViolation, p1, 1, 2*time.Second); len(v) != 1 || v[0].VLAN != voiceVLAN {
		t.Fatalf("voice VLAN intruder: %+v", v)
	}
	ps := r.port(p1)
	want := map[addr]EntryType{{pc, accessVLAN}: Dynamic, {phone, voiceVLAN}: Dynamic}
	if got := entryKeys(ps); len(got) != 2 || got[addr{pc, accessVLAN}] != Dynamic || got[addr{phone, voiceVLAN}] != Dynamic {
		t.Fatalf("entries %v, want %v", got, want)
	}
	if ps.Violations != offending+1 || ps.Status != StatusSecureUp || ps.LastMAC != intruder {
		t.Fatalf("port %+v: want %d violations, secure-up", ps, offending+1)
	}
	// A VLAN the port does not carry: dropped, neither learned nor a
	// violation.
	stray := testMAC(0x23)
	sendTagged(t, r.lab.H1, stray, 30, 3)
	if got := h2.WaitQuiet(from(stray), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d frames of VLAN 30 passed", len(got))
	}
	if ps := r.port(p1); len(ps.Entries) != 2 || ps.Violations != offending+1 {
		t.Fatalf("VLAN 30 frames changed the port: %+v", ps)
	}
	// Lowering a VLAN's limit below its count, or a limit for a VLAN the
	// port lacks, is refused.
	if err := r.eng.Apply([]Change{AddStatic(p1, testMAC(0x22), accessVLAN)}); err == nil {
		t.Fatal("a second static address in a VLAN at its limit was accepted")
	}
	if err := r.eng.Apply([]Change{SetVLANLimit(p1, 30, 1)}); err == nil {
		t.Fatal("a limit for VLAN 30, which the port does not carry, was accepted")
	}
}

// A secure address is a MAC in a VLAN: the same MAC may be secure in two
// VLANs of a port, and another port may use the MAC in another VLAN, but
// not in the same one.
func TestSystemVLANSameMACTwoVLANs(t *testing.T) {
	r := vlanRig(t, Options{})
	p1, p2 := r.lab.Port1.Index, r.lab.Port2.Index
	r.apply(SetPort(p1, secureConfig(2, Restrict)), SetPort(p2, secureConfig(2, Restrict)))
	m := testMAC(0x30)
	send(t, r.lab.H1, m, 1)
	sendTagged(t, r.lab.H1, m, voiceVLAN, 1)
	if ev := waitEvents(t, r.eng, EventLearned, p1, 2, 2*time.Second); len(ev) != 2 {
		t.Fatalf("learn events %+v, want two", ev)
	}
	if got := entryKeys(r.port(p1)); len(got) != 2 {
		t.Fatalf("entries %v, want %s in VLANs %d and %d", got, m, accessVLAN, voiceVLAN)
	}
	// The MAC in VLAN 20 on port 2: secure on port 1 in that VLAN.
	sendTagged(t, r.lab.H2, m, voiceVLAN, 1)
	if v := waitEvents(t, r.eng, EventViolation, p2, 1, 2*time.Second); len(v) != 1 || v[0].VLANOnly {
		t.Fatalf("moved MAC: %+v, want one port violation", v)
	}
	// Removing it from VLAN 20 only keeps VLAN 10.
	r.apply(RemoveAddress(p1, m, voiceVLAN))
	if got := entryKeys(r.port(p1)); len(got) != 1 || got[addr{m, accessVLAN}] != Dynamic {
		t.Fatalf("entries after removing VLAN %d: %v", voiceVLAN, got)
	}
}

// "shutdown vlan": on a multi-VLAN port in shutdown mode a violation of a
// VLAN's own limit err-disables only that VLAN, in both directions, and
// ShutdownTimeout brings it back.
func TestSystemVLANShutdown(t *testing.T) {
	r := vlanRig(t, Options{Minute: time.Second})
	p1 := r.lab.Port1.Index
	cfg := voiceConfig(Shutdown)
	cfg.ShutdownTimeout = 2
	r.apply(SetPort(p1, cfg), SetVLANLimit(p1, accessVLAN, 1))
	h1, h2 := sniff(t, r.lab.H1), sniff(t, r.lab.H2)
	pc, phone, intruder := MAC(r.lab.H1.If.MAC), testMAC(0x40), testMAC(0x41)
	send(t, r.lab.H1, pc, 1)
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)

	send(t, r.lab.H1, intruder, 1)
	if ev := waitEvents(t, r.eng, EventVLANShutdown, p1, 1, 2*time.Second); len(ev) != 1 || ev[0].VLAN != accessVLAN {
		t.Fatalf("VLAN shutdown events %+v", ev)
	}
	ps := r.port(p1)
	if ps.Status != StatusSecureUp || len(ps.ShutVLANs) != 1 || ps.ShutVLANs[0].VLAN != accessVLAN || ps.ShutVLANs[0].Until.IsZero() {
		t.Fatalf("after the violation: %+v, want port up and VLAN %d shut with a recovery time", ps, accessVLAN)
	}
	if len(ps.Entries) != 0 {
		t.Fatalf("dynamic addresses of the shut VLAN stayed: %+v", ps.Entries)
	}
	// VLAN 10 is closed both ways; VLAN 20 still works.
	send(t, r.lab.H1, pc, 3)
	send(t, r.lab.H2, MAC(r.lab.H2.If.MAC), 3)
	sendTagged(t, r.lab.H1, phone, voiceVLAN, 2)
	if got, err := h2.Wait(2, inVLAN(phone, voiceVLAN), 2*time.Second); err != nil {
		t.Fatalf("voice VLAN: %d of 2 frames passed: %v", len(got), err)
	}
	if got := h2.WaitQuiet(from(pc), 200*time.Millisecond, time.Second); len(got) != 1 {
		t.Fatalf("%d PC frames reached h2, want only the one before the shutdown", len(got))
	}
	if got := h1.WaitQuiet(from(MAC(r.lab.H2.If.MAC)), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d frames of VLAN %d reached the shut port", len(got), accessVLAN)
	}
	if ev := waitEvents(t, r.eng, EventVLANRecovered, p1, 1, 4*time.Second); len(ev) != 1 || ev[0].VLAN != accessVLAN {
		t.Fatalf("no recovery of VLAN %d: %+v", accessVLAN, ev)
	}
	send(t, r.lab.H1, pc, 1)
	if _, err := h2.Wait(2, from(pc), 2*time.Second); err != nil {
		t.Fatalf("PC after recovery: %v", err)
	}
	if ps := r.port(p1); len(ps.ShutVLANs) != 0 || ps.Status != StatusSecureUp {
		t.Fatalf("after recovery: %+v", ps)
	}
}

// Dynamic addresses flush as soon as the link goes down: link
// notifications, not the poll (here far too slow to matter).
func TestSystemLinkDownFlushesAtOnce(t *testing.T) {
	r := newRig(t, Options{PollInterval: time.Minute})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(2, Restrict)), AddStatic(p1, testMAC(0x51), 0))
	send(t, r.lab.H1, testMAC(0x50), 1)
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)
	start := time.Now()
	r.lab.Exec(r.lab.H1.NS, "ip", "link", "set", "eth0", "down")
	ev := waitEvents(t, r.eng, EventAged, p1, 1, 2*time.Second)
	if len(ev) != 1 || ev[0].MAC != testMAC(0x50) {
		t.Fatalf("aged events %+v, want the dynamic address", ev)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("flush took %v", d)
	}
	if got := entryKeys(r.port(p1)); len(got) != 1 || got[addr{testMAC(0x51), 1}] != Static {
		t.Fatalf("entries %v, want the static address only", got)
	}
	t.Logf("dynamic addresses flushed %v after link down", time.Since(start))
}

// An err-disabled port keeps its recovery time across an agent restart.
func TestSystemShutdownSurvivesRestart(t *testing.T) {
	store := &MemStore{}
	r := newRig(t, Options{Minute: time.Second, Store: store})
	p1 := r.lab.Port1.Index
	cfg := secureConfig(1, Shutdown)
	cfg.ShutdownTimeout = 30
	r.apply(SetPort(p1, cfg))
	send(t, r.lab.H1, testMAC(0x60), 1)
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)
	send(t, r.lab.H1, testMAC(0x61), 1)
	if ev := waitEvents(t, r.eng, EventShutdown, p1, 1, 2*time.Second); len(ev) != 1 {
		t.Fatal("no shutdown")
	}
	before := r.port(p1)
	r.eng.Close()
	time.Sleep(300 * time.Millisecond)
	r.start()
	after := r.port(p1)
	if after.Status != StatusShutdown || !after.ShutdownUntil.Equal(before.ShutdownUntil) || before.ShutdownUntil.IsZero() {
		t.Fatalf("after restart: status %v until %v, want shutdown until %v", after.Status, after.ShutdownUntil, before.ShutdownUntil)
	}
}

// A table left by an agent that keyed addresses by MAC only is adopted and
// rebuilt with MAC . VLAN keys, in one transaction: its learned address
// stays secure and unknown MACs stay blocked.
func TestSystemLegacyTableRebuilt(t *testing.T) {
	r := newRig(t, Options{})
	r.eng.Close()
	p1 := r.lab.Port1.Index
	old := MAC(r.lab.H1.If.MAC)
	legacy := fmt.Sprintf(`table bridge %[1]s {
	set secure { type ether_addr; flags dynamic,timeout; elements = { %[2]s } ; }
	set shut { type iface_index; flags dynamic; }
	set allow_%[3]d { type ether_addr; size 1; flags dynamic,timeout; elements = { %[2]s } ; }
	counter violations_%[3]d { }
	chain port_%[3]d {
		ether saddr @allow_%[3]d accept
		add @allow_%[3]d { ether saddr } log prefix "portsec learn 3" group 7315 accept
		counter name "violations_%[3]d" drop
	}
	chain ingress {
		type filter hook prerouting priority filter; policy accept;
		iif "p1" jump port_%[3]d
	}
}
`, DefaultTable, old, p1)
	r.nft("delete", "table", "bridge", DefaultTable)
	cmd := r.lab.Bridge.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(legacy)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("legacy table: %v: %s", err, out)
	}
	r.opts.Store = &MemStore{}
	if err := r.opts.Store.Save(Snapshot{Global: DefaultGlobal(), Ports: []StoredPort{{Ifindex: p1, Config: secureConfig(1, Restrict)}}}); err != nil {
		t.Fatal(err)
	}
	r.start()
	ps := r.port(p1)
	if len(ps.Entries) != 1 || ps.Entries[0].MAC != old || ps.Entries[0].VLAN != 1 {
		t.Fatalf("entries after the rebuild %+v, want %s in VLAN 1", ps.Entries, old)
	}
	if out := r.nft("list", "set", "bridge", DefaultTable, allowSetName(p1)); !strings.Contains(out, "ether_addr . mark") {
		t.Fatalf("allow set not rebuilt:\n%s", out)
	}
	h2 := sniff(t, r.lab.H2)
	send(t, r.lab.H1, old, 1)
	send(t, r.lab.H1, testMAC(0x70), 2)
	if _, err := h2.Wait(1, from(old), 2*time.Second); err != nil {
		t.Fatalf("the adopted address: %v", err)
	}
	if got := h2.WaitQuiet(from(testMAC(0x70)), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d frames of an unknown MAC passed", len(got))
	}
}

// Frames the rules treat as untagged must be untagged for the model too:
// an 802.1ad-tagged frame is learned in the PVID, and the engine keeps
// working (it once recorded the S-tag's VLAN, disagreed with the kernel
// and could no longer sync).
func TestSystemQinQFrameIsUntagged(t *testing.T) {
	r := newRig(t, Options{})
	p1, p2 := r.lab.Port1.Index, r.lab.Port2.Index
	r.apply(SetPort(p1, secureConfig(1, Restrict)))
	src := testMAC(0x80)
	frame := append(append([]byte{}, netlab.Broadcast...), src[:]...)
	frame = append(frame, 0x88, 0xa8, 0x00, 30, 0x88, 0xb5)
	frame = append(frame, make([]byte, 46)...)
	if err := r.lab.H1.SendFrames("eth0", frame); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second); len(ev) != 1 || ev[0].VLAN != 1 {
		t.Fatalf("learn events %+v, want %s in VLAN 1", ev, src)
	}
	time.Sleep(3 * r.opts.PollInterval)
	if got := entryKeys(r.port(p1)); len(got) != 1 || got[addr{src, 1}] != Dynamic {
		t.Fatalf("entries %v", got)
	}
	r.apply(SetPort(p2, secureConfig(1, Restrict)))
}

// A port declared without access VLAN (a trunk with no native VLAN) has
// no rules for untagged frames: they are dropped, not let through.
func TestSystemNoPVIDDropsUntagged(t *testing.T) {
	_, m, err := ParsePortVLANs("p1=0,20")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, Options{PortVLANs: map[string]Membership{"p1": m}})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(3, Restrict)))
	h2 := sniff(t, r.lab.H2)
	send(t, r.lab.H1, testMAC(0x90), 3)
	sendTagged(t, r.lab.H1, testMAC(0x91), voiceVLAN, 1)
	if _, err := h2.Wait(1, inVLAN(testMAC(0x91), voiceVLAN), 2*time.Second); err != nil {
		t.Fatalf("tagged frame of the trunk: %v", err)
	}
	if got := h2.WaitQuiet(from(testMAC(0x90)), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d untagged frames passed a port without PVID", len(got))
	}
	if got := entryKeys(r.port(p1)); len(got) != 1 {
		t.Fatalf("entries %v, want only the tagged address", got)
	}
}

// A change set is checked against what the kernel has learned even when
// its learn message is not read yet: a VLAN limit below that count is
// refused instead of building a set the kernel cannot fill.
func TestSystemLimitCountsUnreadLearns(t *testing.T) {
	r := newRig(t, Options{PollInterval: time.Minute})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(3, Restrict)))
	send(t, r.lab.H1, testMAC(0xa0), 1)
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)
	// A learn the engine has not heard of (as if its message were queued).
	r.nft("add", "element", "bridge", DefaultTable, allowSetName(p1), "{ "+testMAC(0xa1).String()+" . 1 }")
	err := r.eng.Apply([]Change{SetVLANLimit(p1, 1, 1)})
	if !errors.Is(err, ErrInconsistent) {
		t.Fatalf("limit 1 over two learned addresses: %v, want inconsistent", err)
	}
	r.apply(SetVLANLimit(p1, 1, 2), SetPort(r.lab.Port2.Index, secureConfig(1, Protect)))
	if got := entryKeys(r.port(p1)); len(got) != 2 {
		t.Fatalf("entries %v, want both addresses", got)
	}
}
