package e2e

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/netlab"
)

// rowsOf returns the OIDs under entry (entry.column.index...) whose index
// starts with contentID.
func (b *dpBed) rowsOf(entry string, contentID uint32) []string {
	b.t.Helper()
	var out []string
	id := strconv.FormatUint(uint64(contentID), 10)
	for _, p := range b.walkLI(entry) {
		rest, ok := strings.CutPrefix(p.Name, entry+".")
		if !ok {
			continue
		}
		if parts := strings.Split(rest, "."); len(parts) >= 2 && parts[1] == id {
			out = append(out, p.Name)
		}
	}
	return out
}

// walkLI bulk-walks root as li.
func (b *dpBed) walkLI(root string) []gosnmp.SnmpPDU {
	b.t.Helper()
	out, err := b.li.BulkWalkAll(root)
	if err != nil {
		b.t.Fatalf("bulk walk %s: %v", root, err)
	}
	return out
}

// TestInterceptMediationTimeout: two MDs whose cTap2MediationTimeout is a
// few seconds ahead, one with notifications, one silenced. Both intercept
// until the timeout; then their MD, stream and filter rows are gone,
// nothing more is intercepted, the MD hears ciscoTap2MediationTimedOut
// (with cTap2MediationStatus of its row) and ciscoTap2MIBActive from the
// notifying MD only, nothing from the silenced one.
func TestInterceptMediationTimeout(t *testing.T) {
	t.Parallel()
	b, lab := startRouterBed(t)
	// 8 s leave room for the checks before the timeout on a loaded CI
	// machine (at 5 s the counters were once read after the MD was gone).
	loud := mdSpec{id: 61, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort), timeout: 8 * time.Second}
	silent := mdSpec{id: 62, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort+1), timeout: 8 * time.Second, silent: true}
	caps := []*netlab.Capture{b.capture(mdPort), b.capture(mdPort + 1)}
	h2 := lab.H2.If.IPv4()
	filter := func(port uint16) ipFilter {
		return ipFilter{dst: host(h2), proto: netlab.ProtoUDP, dstPorts: [2]uint16{port, port}}
	}
	b.provision(2, append(ipTap(loud, filter(5000)), ipTap(silent, filter(5001))...)...)
	if _, err := b.trapd.WaitFor(notifMIBActive, 5*time.Second); err != nil {
		t.Errorf("armed stream: %v", err)
	}
	wants := [][][]byte{
		udp(t, lab.H1, netip.AddrPortFrom(h2, 5000), 3, 0),
		udp(t, lab.H1, netip.AddrPortFrom(h2, 5001), 3, 0),
	}
	for i, md := range []mdSpec{loud, silent} {
		if err := caps[i].Receiver.WaitCount(3, 3*time.Second); err != nil {
			t.Errorf("MD %d before its timeout: %v", md.id, err)
		}
		b.checkCounters(md.id, 1, 3)
	}

	// The rows disappear at the timeout (whole seconds: 7 to 8 s from the
	// SET); give it 10 s more.
	deadline := time.Now().Add(10 * time.Second)
	for len(b.rowsOf(mdEntry, loud.id))+len(b.rowsOf(mdEntry, silent.id)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("MD rows still there 10 s after they timed out: %q %q", b.rowsOf(mdEntry, loud.id), b.rowsOf(mdEntry, silent.id))
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, md := range []mdSpec{loud, silent} {
		for _, entry := range []string{streamEntry, ipEntry} {
			if rows := b.rowsOf(entry, md.id); len(rows) > 0 {
				t.Errorf("rows of timed-out MD %d left under %s: %q", md.id, entry, rows)
			}
		}
	}
	line, err := b.trapd.WaitFor(notifMediationTimedOut, 5*time.Second)
	if err != nil {
		t.Errorf("timed-out MD: %v", err)
	} else if status := oid(mdEntry, mdStatus, loud.id); !strings.Contains(line, status+" ") {
		t.Errorf("ciscoTap2MediationTimedOut without cTap2MediationStatus.%d: %s", loud.id, line)
	}

	// Interception has stopped.
	udp(t, lab.H1, netip.AddrPortFrom(h2, 5000), 3, 0)
	udp(t, lab.H1, netip.AddrPortFrom(h2, 5001), 3, 0)
	for i, md := range []mdSpec{loud, silent} {
		b.expect(caps[i], delivery{md: md, src: lab.RouterMD.IPv4(), layer: "ip", want: wants[i]})
	}

	// The silenced MD sent nothing; the notifying one once each.
	if lines := b.trapLines(oid(mdEntry, mdStatus, silent.id)); len(lines) > 0 {
		t.Errorf("notifications for MD %d with NotificationEnable false: %q", silent.id, lines)
	}
	if lines := b.trapLines(notifMediationTimedOut); len(lines) != 1 {
		t.Errorf("%d ciscoTap2MediationTimedOut, want 1 (the notifying MD's): %q", len(lines), lines)
	}
	if lines := b.trapLines(notifMIBActive); len(lines) != 1 {
		t.Errorf("%d ciscoTap2MIBActive, want 1 (the notifying MD's stream): %q", len(lines), lines)
	}
}

// TestInterceptSwitchover: a graceful stop (SIGTERM, exit 0) sends
// ciscoTap2Switchover, unless every MD silenced its notifications.
func TestInterceptSwitchover(t *testing.T) {
	t.Parallel()
	for _, silent := range []bool{false, true} {
		name := "notifying MD"
		if silent {
			name = "silenced MD"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, lab := startRouterBed(t)
			md := mdSpec{id: 71, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort), silent: silent}
			b.provision(1, ipTap(md, ipFilter{dst: host(lab.H2.If.IPv4()), proto: protoAny})...)
			if err := b.agent.Stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}
			if !silent {
				if _, err := b.trapd.WaitFor(notifSwitchover, 5*time.Second); err != nil {
					t.Errorf("after SIGTERM: %v", err)
				}
				return
			}
			time.Sleep(500 * time.Millisecond) // a switchover would be out before the agent exits
			// snmpd's own coldStart is not ours: look for CISCO-TAP2-MIB's.
			for n := 1; n <= 5; n++ {
				if lines := b.trapLines(tap2Tree + ".0." + strconv.Itoa(n)); len(lines) > 0 {
					t.Errorf("notifications from an agent whose only MD is silenced: %q", lines)
				}
			}
		})
	}
}
