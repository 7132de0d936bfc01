package e2e

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// snmpsetFailure runs net-snmp's snmpset as li and returns the reason and
// failed object it prints; a SET that succeeds fails the test.
func (b *bed) snmpsetFailure(vbs []vb) setFailure {
	b.t.Helper()
	var args []string
	for _, v := range vbs {
		args = append(args, v.args()...)
	}
	res := b.netsnmp("snmpset", b.snmpd.LI, args...)
	f, ok := parseSetFailure(res.stdout + res.stderr)
	if res.code == 0 || !ok {
		b.t.Fatalf("snmpset %s: want an error-status\n%s", strings.Join(args, " "), res)
	}
	return f
}

// TestSetErrors sends one SET per error class with the bad varbind in the
// middle of valid ones (which create a row, change a row and fill in
// another) through net-snmp's snmpset and through gosnmp: the error-status
// and the failed object / error-index name the bad varbind, and nothing of
// the PDU is applied (every object reads back as before).
func TestSetErrors(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	_, timeoutHex := futureTimeout(60 * 24 * time.Hour)
	_, laterHex := futureTimeout(61 * 24 * time.Hour)
	b.set(mdRow(1, timeoutHex)...)
	for _, pdu := range macStream(1, 2, "c8fb26a55598") {
		b.set(pdu...)
	}
	before := b.snapshot()

	// Valid on their own: disable the stream, create MD 20 complete, move
	// MD 1's timeout, create a user-connection filter of MD 1.
	prefix := append([]vb{vInt(oid(streamEntry, stEnable, 1, 2), truthFalse)}, mdRow(20, timeoutHex)...)
	suffix := []vb{vHex(oid(mdEntry, mdTimeout, 1), laterHex), vInt(oid(ucEntry, ucStatus, 1, 9), rsCreateAndGo)}

	cases := []struct {
		name   string
		bad    vb
		status string
	}{
		{"string for an Unsigned32", vString(oid(mdEntry, mdDestPort, 1), "abc"), "wrongType"},
		{"Gauge32 for an enumeration", vGauge(oid(streamEntry, stType, 1, 9), 2), "wrongType"},
		{"5-octet MacAddress", vHex(oid(macEntry, macDst, 1, 2), "c8fb26a555"), "wrongLength"},
		{"4-octet DateAndTime", vHex(oid(mdEntry, mdTimeout, 5), "07eb0b15"), "wrongLength"},
		{"DSCP out of range", vInt(oid(mdEntry, mdDscp, 1), 64), "wrongValue"},
		{"RowStatus notReady", vInt(oid(streamEntry, stStatus, 1, 9), rsNotReady), "wrongValue"},
		{"stream type not enumerated", vInt(oid(streamEntry, stType, 1, 9), 9), "wrongValue"},
		{"BITS beyond the named bits", vHex(oid(macEntry, macFields, 1, 2), "01"), "wrongValue"},
		{"active row frozen column", vGauge(oid(mdEntry, mdDestPort, 1), 64), "inconsistentValue"},
		{"createAndGo without required columns", vInt(oid(mdEntry, mdStatus, 6), rsCreateAndGo), "inconsistentValue"},
		{"createAndWait of an existing row", vInt(oid(macEntry, macStatus, 1, 2), rsCreateAndWait), "inconsistentValue"},
		{"row in the agent-written debug table", vInt(oid(debugEntry, dbgStatus, 1), rsCreateAndGo), "noCreation"},
		{"index 0 outside 1..2^31-1", vInt(oid(mdEntry, mdStatus, 0), rsCreateAndGo), "noCreation"},
		{"read-only column", vGauge(oid(mdEntry, mdRtcpPort, 1), 5), "notWritable"},
		{"read-only scalar", vInt(newIndex0, 5), "notWritable"},
		{"counter (read-only before type)", vGauge(oid(streamEntry, stPackets, 1, 2), 5), "notWritable"},
		{"column of a row nobody creates", vInt(oid(mdEntry, mdDscp, 77), 10), "inconsistentName"},
		{"filter column of a missing row", vHex(oid(macEntry, macFields, 1, 9), "40"), "inconsistentName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := b.in(t)
			vbs := append(append(append([]vb{}, prefix...), tc.bad), suffix...)
			wantIndex := len(prefix) + 1

			f := b.snmpsetFailure(vbs)
			if f.reason != tc.status || f.oid != tc.bad.oid {
				t.Errorf("snmpset: %s on %s, want %s on %s", f.reason, f.oid, tc.status, tc.bad.oid)
			}
			if after := b.snapshot(); after != before {
				t.Fatalf("snmpset's failed SET changed the tables:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			st, idx, err := setWith(b.li, vbs...)
			if err != nil {
				t.Fatal(err)
			}
			if st != snmpErrors[tc.status] || idx != wantIndex {
				t.Errorf("gosnmp: %v on varbind %d, want %s on varbind %d", st, idx, tc.status, wantIndex)
			}
			if after := b.snapshot(); after != before {
				t.Fatalf("gosnmp's failed SET changed the tables:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}

	// Without the bad varbind the same PDU is accepted and does change
	// things, so the comparisons above prove something.
	b.set(append(append([]vb{}, prefix...), suffix...)...)
	if b.snapshot() == before {
		t.Error("the valid varbinds alone changed nothing")
	}
	if p := b.get(oid(mdEntry, mdTimeout, 1)); hexOf(p) != laterHex {
		t.Errorf("cTap2MediationTimeout.1 = %x, want %s", p.Value, laterHex)
	}
}

// hexOf is an octet string value in lower-case hex ("" for other types).
func hexOf(p gosnmp.SnmpPDU) string {
	raw, _ := p.Value.([]byte)
	return hex.EncodeToString(raw)
}

// TestDestroyMediationWithStreams: destroy and notInService of a mediation
// row are refused with inconsistentValue on its status varbind while any
// row of its content id exists (generic stream, 802 or user-connection
// filter, debug user); once they are gone, or when one PDU removes them
// together, it works. No row of a removed mediation device is left behind.
func TestDestroyMediationWithStreams(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	_, timeoutHex := futureTimeout(60 * 24 * time.Hour)
	b.set(mdRow(1, timeoutHex)...)
	for _, pdu := range macStream(1, 2, "c8fb26a55598") {
		b.set(pdu...)
	}
	status1 := oid(mdEntry, mdStatus, 1)

	refused := func(t *testing.T, vbs ...vb) {
		t.Helper()
		before := b.snapshot()
		f := b.snmpsetFailure(vbs)
		if f.reason != "inconsistentValue" || f.oid != status1 {
			t.Errorf("snmpset %v: %s on %s, want inconsistentValue on %s", vbs, f.reason, f.oid, status1)
		}
		st, idx, err := setWith(b.li, vbs...)
		if err != nil {
			t.Fatal(err)
		}
		if want := statusIndex(vbs, status1); st != gosnmp.InconsistentValue || idx != want {
			t.Errorf("gosnmp %v: %v on varbind %d, want inconsistentValue on %d", vbs, st, idx, want)
		}
		if after := b.snapshot(); after != before {
			t.Errorf("refused SET changed the tables:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}

	refused(t, vInt(status1, rsDestroy))
	refused(t, vInt(status1, rsNotInService))
	// The stream goes first but the 802 filter row still holds the MD.
	b.set(vInt(oid(streamEntry, stStatus, 1, 2), rsDestroy))
	refused(t, vInt(status1, rsDestroy))
	// Destroying the filter and the MD together in one PDU is fine: the
	// check is against the state the whole PDU produces.
	b.set(vInt(oid(macEntry, macStatus, 1, 2), rsDestroy), vInt(status1, rsDestroy))
	if p := b.get(status1); p.Type != gosnmp.NoSuchInstance {
		t.Errorf("after destroy: cTap2MediationStatus.1 = %v %v, want noSuchInstance", p.Type, p.Value)
	}

	// The same with a generic stream only, removed first.
	b.set(mdRow(2, timeoutHex)...)
	b.set(vInt(oid(streamEntry, stStatus, 2, 1), rsCreateAndGo), vInt(oid(streamEntry, stType, 2, 1), streamTypeMAC))
	st, idx, err := setWith(b.li, vInt(oid(mdEntry, mdStatus, 2), rsDestroy))
	if err != nil || st != gosnmp.InconsistentValue || idx != 1 {
		t.Errorf("destroy MD 2 with a stream: %v on %d (%v), want inconsistentValue on 1", st, idx, err)
	}
	b.set(vInt(oid(streamEntry, stStatus, 2, 1), rsDestroy))
	b.set(vInt(oid(mdEntry, mdStatus, 2), rsDestroy))

	// Rows only the binding keeps (user-connection filters, debug users)
	// hold their mediation device too: no orphans.
	// A user-connection filter is a stream row like the IP and 802 ones, so
	// it blocks notInService as well (cTap2MediationStatus DESCRIPTION); a
	// debug user only blocks the destroy.
	holders := []struct {
		name    string
		id      uint32
		create  []vb
		remove  vb
		refused []int // status values refused while the row exists
	}{
		{"user-connection filter row", 3,
			[]vb{vInt(oid(ucEntry, ucStatus, 3, 1), rsCreateAndGo)},
			vInt(oid(ucEntry, ucStatus, 3, 1), rsDestroy), []int{rsDestroy, rsNotInService}},
		{"debug user row", 4,
			[]vb{vInt(oid(debugUserEntry, dbgUserStatus, append([]uint32{4}, strIndex("ops")...)...), rsCreateAndGo),
				vHex(oid(debugUserEntry, dbgUserTimeout, append([]uint32{4}, strIndex("ops")...)...), timeoutHex)},
			vInt(oid(debugUserEntry, dbgUserStatus, append([]uint32{4}, strIndex("ops")...)...), rsDestroy), []int{rsDestroy}},
	}
	for _, h := range holders {
		t.Run(h.name+" holds the MD", func(t *testing.T) {
			b := b.in(t)
			b.set(mdRow(h.id, timeoutHex)...)
			b.set(h.create...)
			status := oid(mdEntry, mdStatus, h.id)
			for _, rs := range h.refused {
				st, idx, err := setWith(b.li, vInt(status, rs))
				if err != nil {
					t.Fatal(err)
				}
				if st != gosnmp.InconsistentValue || idx != 1 {
					t.Errorf("cTap2MediationStatus.%d = %d while its %s exists: %v on varbind %d, want inconsistentValue on 1",
						h.id, rs, h.name, st, idx)
				}
			}
			b.set(h.remove)
			b.set(vInt(status, rsDestroy))
			for _, p := range b.walkLI(ciscoMgmt) {
				if rowOf(p.Name) == uint64(h.id) {
					t.Errorf("MD %d destroyed but %s (%v) is left", h.id, p.Name, renderValue(p))
				}
			}
		})
	}
}

// statusIndex is the 1-based position of o in vbs.
func statusIndex(vbs []vb, o string) int {
	for i, v := range vbs {
		if v.oid == o {
			return i + 1
		}
	}
	return 0
}

// rowOf returns the content id (first index sub-identifier) of a cell in
// one of the tables indexed by cTap2MediationContentId, or 0.
func rowOf(o string) uint64 {
	for _, entry := range []string{mdEntry, streamEntry, debugUserEntry, ipEntry, macEntry, ucEntry} {
		rest, ok := strings.CutPrefix(o, entry+".")
		if !ok {
			continue
		}
		parts := strings.Split(rest, ".")
		if len(parts) < 2 {
			return 0
		}
		var n uint64
		for _, c := range parts[1] {
			n = n*10 + uint64(c-'0')
		}
		return n
	}
	return 0
}
