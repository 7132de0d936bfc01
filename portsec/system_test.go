package portsec

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"tapagent/internal/netlab"
)

// rig is a bridge lab with an engine guarding it.
type rig struct {
	t    testing.TB
	lab  *netlab.BridgeLab
	fd   int
	eng  *Engine
	opts Options
}

func newRig(t testing.TB, opts Options) *rig {
	t.Helper()
	lab := netlab.NewBridgeLab(t)
	h, err := netns.GetFromName(lab.Bridge.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	opts.NetNS = int(h)
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	r := &rig{t: t, lab: lab, fd: int(h), opts: opts}
	r.start()
	return r
}

func (r *rig) start() {
	r.t.Helper()
	e, err := New(r.opts)
	if err != nil {
		r.t.Fatalf("New: %v", err)
	}
	r.eng = e
	r.t.Cleanup(func() { e.Close() })
}

func (r *rig) apply(cs ...Change) {
	r.t.Helper()
	if err := r.eng.Apply(cs); err != nil {
		r.t.Fatalf("Apply: %v", err)
	}
}

func (r *rig) nft(args ...string) string {
	r.t.Helper()
	out, err := r.lab.Bridge.Command("nft", args...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("nft %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (r *rig) port(ifindex int) PortState {
	r.t.Helper()
	ps, ok, err := r.eng.Port(ifindex)
	if err != nil || !ok {
		r.t.Fatalf("Port(%d): ok=%v err=%v", ifindex, ok, err)
	}
	return ps
}

func testMAC(n int) MAC { return MAC{0x02, 0x99, 0, 0, byte(n >> 8), byte(n)} }

// frames builds count broadcast frames from src (the bridge floods them
// to every port).
func frames(t testing.TB, src MAC, count int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range count {
		b, err := netlab.Frame{Dst: netlab.Broadcast, Src: net.HardwareAddr(src[:]), EtherType: 0x88b5,
			Payload: []byte(fmt.Sprintf("portsec test frame %04d ..........................", i))}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func send(t *testing.T, h *netlab.Host, src MAC, count int) {
	t.Helper()
	if err := h.SendFrames("eth0", frames(t, src, count)...); err != nil {
		t.Fatal(err)
	}
}

func from(src MAC) func(netlab.SniffedFrame) bool {
	return func(f netlab.SniffedFrame) bool {
		return !f.Outgoing && len(f.Data) >= 12 && bytes.Equal(f.Data[6:12], src[:])
	}
}

func sniff(t *testing.T, h *netlab.Host) *netlab.Sniffer {
	t.Helper()
	s, err := h.Sniff("eth0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitEvents collects events of kind for port until n arrived or timeout.
func waitEvents(t testing.TB, e *Engine, kind EventKind, ifindex, n int, timeout time.Duration) []Event {
	t.Helper()
	var got []Event
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case ev := <-e.Events():
			if ev.Kind == kind && ev.Ifindex == ifindex {
				got = append(got, ev)
			}
		case <-deadline:
			return got
		}
	}
	return got
}

func secureConfig(max int, mode ViolationMode) PortConfig {
	c := DefaultPortConfig()
	c.Enabled, c.Maximum, c.Violation = true, max, mode
	return c
}

func TestSystemRestrictMaxOne(t *testing.T) {
	r := newRig(t, Options{})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(1, Restrict)))
	h2 := sniff(t, r.lab.H2)
	h3 := sniff(t, r.lab.H3)

	first, second := MAC(r.lab.H1.If.MAC), testMAC(2)
	send(t, r.lab.H1, first, 3)
	if got, err := h2.Wait(3, from(first), 2*time.Second); err != nil {
		t.Fatalf("first MAC: %d of 3 frames reached h2: %v", len(got), err)
	}
	if ev := waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second); len(ev) != 1 || ev[0].MAC != first {
		t.Fatalf("learn events %v, want one for %s", ev, first)
	}

	const offending = 25
	send(t, r.lab.H1, second, offending)
	viol := waitEvents(t, r.eng, EventViolation, p1, offending, 3*time.Second)
	if len(viol) != offending {
		t.Fatalf("%d violation events, want %d", len(viol), offending)
	}
	for _, s := range []*netlab.Sniffer{h2, h3} {
		if got := s.WaitQuiet(from(second), 200*time.Millisecond, time.Second); len(got) != 0 {
			t.Fatalf("%d frames of the second MAC leaked", len(got))
		}
	}
	ps := r.port(p1)
	if ps.Violations != offending || ps.LastMAC != second || ps.Status != StatusSecureUp {
		t.Fatalf("port state %+v, want %d violations by %s, secure-up", ps, offending, second)
	}
	if len(ps.Entries) != 1 || ps.Entries[0].MAC != first || ps.Entries[0].Type != Dynamic {
		t.Fatalf("entries %+v, want only %s dynamic", ps.Entries, first)
	}
	// Still passing for the first MAC.
	send(t, r.lab.H1, first, 1)
	if _, err := h2.Wait(4, from(first), 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSystemProtectDropsSilently(t *testing.T) {
	r := newRig(t, Options{})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(1, Protect)))
	h2 := sniff(t, r.lab.H2)
	first, second := MAC(r.lab.H1.If.MAC), testMAC(3)
	send(t, r.lab.H1, first, 1)
	if _, err := h2.Wait(1, from(first), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	send(t, r.lab.H1, second, 10)
	if got := h2.WaitQuiet(from(second), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d frames leaked", len(got))
	}
	if ev := waitEvents(t, r.eng, EventViolation, p1, 1, 300*time.Millisecond); len(ev) != 0 {
		t.Fatalf("protect produced violation events %v", ev)
	}
	if ps := r.port(p1); ps.Violations != 0 || ps.Status != StatusSecureUp {
		t.Fatalf("port %+v: want no violations, secure-up", ps)
	}
}

func TestSystemShutdownAndRecovery(t *testing.T) {
	r := newRig(t, Options{Minute: time.Second})
	p1 := r.lab.Port1.Index
	cfg := secureConfig(1, Shutdown)
	cfg.ShutdownTimeout = 1
	r.apply(SetPort(p1, cfg))
	first, second := MAC(r.lab.H1.If.MAC), testMAC(4)
	send(t, r.lab.H1, first, 1)
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)
	send(t, r.lab.H1, second, 1)
	if ev := waitEvents(t, r.eng, EventShutdown, p1, 1, 2*time.Second); len(ev) != 1 {
		t.Fatal("no shutdown event")
	}
	ps := r.port(p1)
	if ps.Status != StatusShutdown || ps.Violations != 1 || ps.LastMAC != second || len(ps.Entries) != 0 {
		t.Fatalf("after violation: %+v", ps)
	}
	if out := r.lab.Exec(r.lab.Bridge, "ip", "-o", "link", "show", "p1"); strings.Contains(out, "state UP") || !strings.Contains(out, "<BROADCAST,MULTICAST>") {
		t.Fatalf("p1 not down: %s", out)
	}
	if ev := waitEvents(t, r.eng, EventRecovered, p1, 1, 3*time.Second); len(ev) != 1 {
		t.Fatal("no recovery after ShutdownTimeout")
	}
	if ps := r.port(p1); ps.Status != StatusSecureUp {
		t.Fatalf("after recovery: %+v", ps)
	}
}

func TestSystemSecureMACOnOtherPort(t *testing.T) {
	r := newRig(t, Options{})
	p1, p2 := r.lab.Port1.Index, r.lab.Port2.Index
	r.apply(SetPort(p1, secureConfig(2, Restrict)), SetPort(p2, secureConfig(2, Restrict)))
	h3 := sniff(t, r.lab.H3)
	mac := testMAC(5)
	send(t, r.lab.H1, mac, 1)
	if _, err := h3.Wait(1, from(mac), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	send(t, r.lab.H2, mac, 4)
	if ev := waitEvents(t, r.eng, EventViolation, p2, 4, 2*time.Second); len(ev) != 4 || ev[0].MAC != mac {
		t.Fatalf("violation events %v, want 4 for %s on port %d", ev, mac, p2)
	}
	if got := h3.WaitQuiet(from(mac), 200*time.Millisecond, time.Second); len(got) != 1 {
		t.Fatalf("h3 saw %d frames of %s, want only the first", len(got), mac)
	}
	// p2 still has room: it learned nothing from the moved MAC.
	if ps := r.port(p2); len(ps.Entries) != 0 || ps.Violations != 4 {
		t.Fatalf("port 2: %+v", ps)
	}
}

func TestSystemRestartKeepsEnforcement(t *testing.T) {
	store := FileStore{Path: t.TempDir() + "/portsec.json"}
	r := newRig(t, Options{Store: store})
	p1 := r.lab.Port1.Index
	cfg := secureConfig(2, Restrict)
	cfg.Sticky = true
	r.apply(SetPort(p1, cfg), AddStatic(p1, testMAC(10), 0))
	h2 := sniff(t, r.lab.H2)
	sticky, unknown := MAC(r.lab.H1.If.MAC), testMAC(11)
	send(t, r.lab.H1, sticky, 1)
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)
	before := r.nft("list", "table", "bridge", DefaultTable)

	// The agent dies; the kernel keeps enforcing.
	r.eng.Close()
	send(t, r.lab.H1, unknown, 5)
	send(t, r.lab.H1, sticky, 1)
	if got := h2.WaitQuiet(from(unknown), 200*time.Millisecond, time.Second); len(got) != 0 {
		t.Fatalf("%d frames of an unknown MAC passed while no agent ran", len(got))
	}
	if _, err := h2.Wait(2, from(sticky), 2*time.Second); err != nil {
		t.Fatal(err)
	}

	r.start()
	ps := r.port(p1)
	want := []Entry{{MAC: sticky, VLAN: 1, Type: Sticky}, {MAC: testMAC(10), VLAN: 1, Type: Static}}
	if len(ps.Entries) != 2 || ps.Entries[0] != want[0] || ps.Entries[1] != want[1] {
		t.Fatalf("entries after restart %+v, want %+v", ps.Entries, want)
	}
	if ps.Violations != 5 {
		t.Fatalf("violations after restart %d, want the 5 counted by the kernel", ps.Violations)
	}
	if after := r.nft("list", "table", "bridge", DefaultTable); normalizeCounters(after) != normalizeCounters(before) {
		t.Fatalf("table changed by the restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func normalizeCounters(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "packets ") && strings.Contains(l, "bytes ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestSystemShutdownInKernel: a shutdown port closes in the kernel with
// the offending frame (shut set), even while no engine runs; the next
// engine adopts the err-disabled port and sets its link down, and
// re-enabling the port opens it again.
func TestSystemShutdownInKernel(t *testing.T) {
	r := newRig(t, Options{Store: &MemStore{}}) // the store outlives the engine
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(1, Shutdown)))
	h2 := sniff(t, r.lab.H2)
	known, offending := MAC(r.lab.H1.If.MAC), testMAC(30)
	send(t, r.lab.H1, known, 1)
	if _, err := h2.Wait(1, from(known), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second)

	r.eng.Close()
	send(t, r.lab.H1, offending, 1)
	send(t, r.lab.H1, known, 3)
	if got := h2.WaitQuiet(from(known), 200*time.Millisecond, time.Second); len(got) != 1 {
		t.Fatalf("h2 saw %d frames of the known MAC, want only the one before the violation", len(got))
	}

	r.start()
	if ev := waitEvents(t, r.eng, EventShutdown, p1, 1, 2*time.Second); len(ev) != 1 {
		t.Fatal("restarted engine did not take over the shutdown")
	}
	if ps := r.port(p1); ps.Status != StatusShutdown || ps.Violations != 1 {
		t.Fatalf("after restart: %+v, want shutdown with 1 violation", ps)
	}
	if out := r.lab.Exec(r.lab.Bridge, "ip", "-o", "link", "show", "p1"); strings.Contains(out, "state UP") {
		t.Fatalf("p1 not down: %s", out)
	}

	r.apply(SetPort(p1, DefaultPortConfig()))
	r.apply(SetPort(p1, secureConfig(1, Shutdown)))
	if out := r.nft("list", "set", "bridge", DefaultTable, shutSetName); strings.Contains(out, "elements") {
		t.Fatalf("port still in the shut set after re-enable:\n%s", out)
	}
	// The link needs a moment to come up again.
	deadline := time.Now().Add(3 * time.Second)
	for n := 2; ; n++ {
		send(t, r.lab.H1, known, 1)
		if _, err := h2.Wait(n, from(known), 100*time.Millisecond); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("re-enabled port does not pass the known MAC")
		}
	}
}

// TestSystemRaiseMaximum: raising a port's maximum takes effect in the
// kernel (the set is rebuilt with its addresses, atomically), so a second
// MAC is learned instead of being a violation; lowering it back below the
// count is refused.
func TestSystemRaiseMaximum(t *testing.T) {
	r := newRig(t, Options{})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(1, Restrict)))
	h2 := sniff(t, r.lab.H2)
	first, second := MAC(r.lab.H1.If.MAC), testMAC(7)
	send(t, r.lab.H1, first, 1)
	if ev := waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second); len(ev) != 1 {
		t.Fatalf("learn events %v", ev)
	}
	r.apply(SetPort(p1, secureConfig(2, Restrict)))
	send(t, r.lab.H1, second, 2)
	if got, err := h2.Wait(2, from(second), 2*time.Second); err != nil {
		t.Fatalf("second MAC after raising the maximum: %d of 2 frames passed: %v", len(got), err)
	}
	// The frames passed the kernel; the model learns from the nflog event.
	if ev := waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second); len(ev) != 1 || ev[0].MAC != second {
		t.Fatalf("learn events %v, want one for %s", ev, second)
	}
	if ps := r.port(p1); len(ps.Entries) != 2 || ps.Violations != 0 {
		t.Fatalf("port state %+v, want 2 entries and no violation", ps)
	}
	// The first MAC still passes: its element survived the rebuild.
	send(t, r.lab.H1, first, 1)
	if _, err := h2.Wait(1, from(first), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Apply([]Change{SetPort(p1, secureConfig(1, Restrict))}); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("lowering the maximum below the count: %v", err)
	}
}

// TestSystemRaiseMaximumThenStatic: after raising the maximum, a static
// address fits in the kernel set too (the SNMP binding's path).
func TestSystemRaiseMaximumThenStatic(t *testing.T) {
	r := newRig(t, Options{})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(1, Restrict)))
	send(t, r.lab.H1, MAC(r.lab.H1.If.MAC), 1)
	if ev := waitEvents(t, r.eng, EventLearned, p1, 1, 2*time.Second); len(ev) != 1 {
		t.Fatalf("learn events %v", ev)
	}
	r.apply(SetPort(p1, secureConfig(2, Restrict)))
	r.apply(AddStatic(p1, testMAC(8), 0))
	if ps := r.port(p1); len(ps.Entries) != 2 {
		t.Fatalf("entries %+v, want the learned and the static one", ps.Entries)
	}
}

// TestSystemRaiseMaximumAndStaticInOneChange: one PDU raising the maximum
// and adding a static address.
func TestSystemRaiseMaximumAndStaticInOneChange(t *testing.T) {
	r := newRig(t, Options{})
	p1 := r.lab.Port1.Index
	r.apply(SetPort(p1, secureConfig(1, Restrict)))
	r.apply(AddStatic(p1, testMAC(9), 0))
	r.apply(SetPort(p1, secureConfig(2, Restrict)), AddStatic(p1, testMAC(10), 0))
	if ps := r.port(p1); len(ps.Entries) != 2 {
		t.Fatalf("entries %+v, want two static", ps.Entries)
	}
}
