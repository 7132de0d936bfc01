package e2e

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// seedCommon are the options every seed line starts with.
var seedCommon = []string{"-v3", "-timeout", "30", "-retries", "3"}

// seedSetLines are the three setany seed lines after "AGENT li", with a
// future cTap2MediationTimeout (the published one is long past).
func seedSetLines(timeout string) [][]string {
	return [][]string{
		{"cTap2MediationStatus.1", "-i", "4", "cTap2MediationDestAddressType.1", "-i", "1",
			"cTap2MediationTimeout.1", "-o", timeout, "cTap2MediationTransport.1", "-i", "1",
			"cTap2MediationSrcInterface.1", "-i", "0", "cTap2MediationDestAddress.1", "-o", "0a:0a:00:35",
			"cTap2MediationDestPort.1", "-g", "63"},
		{"c802tapStreamStatus.1.2", "-i", "4", "c802tapStreamFields.1.2", "-o", "62",
			"c802tapStreamInterface.1.2", "-i", "-1",
			"c802tapStreamDestinationAddress.1.2", "-o", "c8 fb 26 a5 55 98",
			"c802tapStreamSourceAddress.1.2", "-o", "c8 fb 26 a5 55 98"},
		{"cTap2StreamStatus.1.2", "-i", "5", "cTap2StreamType.1.2", "-i", "2",
			"cTap2StreamInterceptEnable.1.2", "-i", "1", "cTap2StreamStatus.1.2", "-i", "4"},
	}
}

// seedSnmpsetLines are the same rows as net-snmp snmpset commands (numeric
// OIDs, types i/x/u); the repeated status of the stream line becomes a
// second command, as setany splits it into a second PDU.
func seedSnmpsetLines(timeoutHex string) [][]vb {
	return [][]vb{
		{
			vInt(oid(mdEntry, mdStatus, 1), rsCreateAndGo), vInt(oid(mdEntry, mdDestAddressType, 1), 1),
			vHex(oid(mdEntry, mdTimeout, 1), timeoutHex), vInt(oid(mdEntry, mdTransport, 1), 1),
			vInt(oid(mdEntry, mdSrcInterface, 1), 0), vHex(oid(mdEntry, mdDestAddress, 1), "0a0a0035"),
			vGauge(oid(mdEntry, mdDestPort, 1), 63),
		},
		{
			vInt(oid(macEntry, macStatus, 1, 2), rsCreateAndGo), vHex(oid(macEntry, macFields, 1, 2), "62"),
			vInt(oid(macEntry, macInterface, 1, 2), -1), vHex(oid(macEntry, macDst, 1, 2), "c8fb26a55598"),
			vHex(oid(macEntry, macSrc, 1, 2), "c8fb26a55598"),
		},
		{
			vInt(oid(streamEntry, stStatus, 1, 2), rsCreateAndWait), vInt(oid(streamEntry, stType, 1, 2), streamTypeMAC),
			vInt(oid(streamEntry, stEnable, 1, 2), truthTrue),
		},
		{vInt(oid(streamEntry, stStatus, 1, 2), rsActive)},
	}
}

// seedReadBack is what the seed rows must read back as with snmpget -On -Ox.
func seedReadBack(timeoutHex string) []netLine {
	return []netLine{
		{oid(mdEntry, mdDestAddressType, 1), "INTEGER", "1"},
		{oid(mdEntry, mdDestAddress, 1), "Hex-STRING", "0a0a0035"},
		{oid(mdEntry, mdDestPort, 1), "Gauge32", "63"},
		{oid(mdEntry, mdSrcInterface, 1), "INTEGER", "0"},
		{oid(mdEntry, mdDscp, 1), "INTEGER", "34"}, // DEFVAL
		{oid(mdEntry, mdDataType, 1), "INTEGER", "0"},
		{oid(mdEntry, mdRetransmitType, 1), "INTEGER", "0"},
		{oid(mdEntry, mdTimeout, 1), "Hex-STRING", timeoutHex},
		{oid(mdEntry, mdTransport, 1), "INTEGER", "1"},
		{oid(mdEntry, mdNotifEnable, 1), "INTEGER", "1"},
		{oid(mdEntry, mdStatus, 1), "INTEGER", "1"}, // active
		{oid(macEntry, macFields, 1, 2), "Hex-STRING", "62"},
		{oid(macEntry, macInterface, 1, 2), "INTEGER", "-1"},
		{oid(macEntry, macDst, 1, 2), "Hex-STRING", "c8fb26a55598"},
		{oid(macEntry, macSrc, 1, 2), "Hex-STRING", "c8fb26a55598"},
		{oid(macEntry, macStatus, 1, 2), "INTEGER", "1"},
		{oid(streamEntry, stType, 1, 2), "INTEGER", "2"},
		{oid(streamEntry, stEnable, 1, 2), "INTEGER", "1"},
		{oid(streamEntry, stPackets, 1, 2), "Counter32", "0"},
		{oid(streamEntry, stStatus, 1, 2), "INTEGER", "1"},
	}
}

// checkSeedReadBack reads the seed rows with net-snmp's snmpget -Ox and
// compares every varbind exactly.
func checkSeedReadBack(t *testing.T, b *bed, timeoutHex string) {
	t.Helper()
	want := seedReadBack(timeoutHex)
	args := []string{"-Ox"}
	for _, w := range want {
		args = append(args, w.oid)
	}
	res := b.netsnmp("snmpget", b.snmpd.LI, args...)
	if res.code != 0 {
		t.Fatalf("snmpget: %s", res)
	}
	got := parseNetSNMP(res.stdout)
	if len(got) != len(want) {
		t.Fatalf("snmpget returned %d varbinds, want %d:\n%s", len(got), len(want), res.stdout)
	}
	for i, w := range want {
		g := got[i]
		if w.typ == "Hex-STRING" {
			g.val = normHex(g.val)
		}
		if g != w {
			t.Errorf("%s = %s: %s, want %s: %s", w.oid, g.typ, g.val, w.typ, w.val)
		}
	}
}

// TestSeedLines runs the four seed command lines verbatim through
// setany and getmany (credentials from the test bed's snmp.conf), and the
// same rows through net-snmp's snmpset, and reads the rows back with
// snmpget -On -Ox: every column exact, defaults filled in, all rows active.
func TestSeedLines(t *testing.T) {
	t.Parallel()
	timeout, timeoutHex := futureTimeout(365 * 24 * time.Hour)
	t.Run("setany and getmany", func(t *testing.T) {
		t.Parallel()
		b := startBed(t)
		agent := b.snmpd.Addr()
		for i, line := range seedSetLines(timeout) {
			args := append(append(append([]string{}, seedCommon...), agent, "li"), line...)
			res := b.cli(b.bin.Setany, args...)
			if res.code != 0 || res.stderr != "" {
				t.Fatalf("seed line %d: setany %s\n%s", i+1, strings.Join(args, " "), res)
			}
			// setany echoes what the agent confirmed, one line per varbind.
			if n := strings.Count(res.stdout, "\n"); n != len(line)/3 {
				t.Errorf("seed line %d: %d output lines, want %d:\n%s", i+1, n, len(line)/3, res.stdout)
			}
		}
		res := b.cli(b.bin.Getmany, append(append([]string{}, seedCommon...), agent, "li", "cTap2StreamInterceptedPackets")...)
		if res.code != 0 || res.stderr != "" || res.stdout != "cTap2StreamInterceptedPackets.1.2 = 0\n" {
			t.Errorf("getmany cTap2StreamInterceptedPackets:\n%s", res)
		}
		checkSeedReadBack(t, b, timeoutHex)
	})
	t.Run("net-snmp snmpset", func(t *testing.T) {
		t.Parallel()
		b := startBed(t)
		for i, line := range seedSnmpsetLines(timeoutHex) {
			var args []string
			for _, v := range line {
				args = append(args, v.args()...)
			}
			if res := b.netsnmp("snmpset", b.snmpd.LI, args...); res.code != 0 {
				t.Fatalf("snmpset %d: %s", i+1, res)
			}
		}
		checkSeedReadBack(t, b, timeoutHex)
		// getmany reads the counter of rows snmpset made just the same.
		res := b.cli(b.bin.Getmany, "-timeout", "30", b.snmpd.Addr(), "li", "cTap2StreamInterceptedPackets.1.2")
		if res.code != 0 || res.stdout != "cTap2StreamInterceptedPackets.1.2 = 0\n" {
			t.Errorf("getmany cTap2StreamInterceptedPackets.1.2:\n%s", res)
		}
	})
}

// TestNewIndex reads cTap2MediationNewIndex repeatedly: every read is a
// different value in 1..2^31-1 that no row uses (not even rows created
// between the reads at the values a counter would hand out next), and the
// value creates a mediation row through setany.
func TestNewIndex(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	_, timeoutHex := futureTimeout(30 * 24 * time.Hour)
	readIndex := func() uint32 {
		t.Helper()
		p := b.get(newIndex0)
		n, ok := p.Value.(int)
		if p.Type != gosnmp.Integer || !ok || n < 1 || n > math.MaxInt32 {
			t.Fatalf("cTap2MediationNewIndex.0 = %v %v, want an Integer32 in 1..2^31-1", p.Type, p.Value)
		}
		return uint32(n)
	}
	seen := map[uint32]bool{}
	used := map[uint32]bool{}
	for i := range 20 {
		n := readIndex()
		if seen[n] || used[n] {
			t.Fatalf("read %d: cTap2MediationNewIndex.0 = %d again (seen %v, used %v)", i, n, seen[n], used[n])
		}
		seen[n] = true
		if i%5 == 0 && n < math.MaxInt32-2 {
			// Occupy the next two values, so a plain counter would hand out
			// a used one.
			for _, id := range []uint32{n + 1, n + 2} {
				b.set(mdRow(id, timeoutHex)...)
				used[id] = true
			}
		}
	}

	// The value a manager just read creates a row.
	id := readIndex()
	timeout, timeoutHex := futureTimeout(30 * 24 * time.Hour)
	inst := strconv.FormatUint(uint64(id), 10)
	res := b.cli(b.bin.Setany, "-timeout", "30", b.snmpd.Addr(), "li",
		"cTap2MediationStatus."+inst, "-i", "4", "cTap2MediationDestAddressType."+inst, "-i", "1",
		"cTap2MediationDestAddress."+inst, "-o", "c6:12:0:1", "cTap2MediationDestPort."+inst, "-g", "4000",
		"cTap2MediationSrcInterface."+inst, "-i", "0", "cTap2MediationTimeout."+inst, "-o", timeout,
		"cTap2MediationTransport."+inst, "-i", "1")
	if res.code != 0 {
		t.Fatalf("create row %d from NewIndex: %s", id, res)
	}
	if p := b.get(oid(mdEntry, mdStatus, id)); p.Type != gosnmp.Integer || p.Value != rsActive {
		t.Errorf("cTap2MediationStatus.%d = %v %v, want active(1)", id, p.Type, p.Value)
	}
	if p := b.get(oid(mdEntry, mdTimeout, id)); hexOf(p) != timeoutHex {
		t.Errorf("cTap2MediationTimeout.%d = %x, want %s", id, p.Value, timeoutHex)
	}
	if n := readIndex(); n == id || seen[n] || used[n] {
		t.Errorf("after creating row %d, cTap2MediationNewIndex.0 = %d, which was handed out or is in use", id, n)
	}
}

// TestSeedLinePastTimeout runs the first seed line with its published
// cTap2MediationTimeout (2016-04-01, long over): the agent refuses it with
// inconsistentValue on the Timeout varbind (the row would time out at
// once), setany says so in one line and exits 1, and no row is created.
func TestSeedLinePastTimeout(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	line := seedSetLines("07:E0:04:01:B:15:1A:0")[0]
	args := append(append(append([]string{}, seedCommon...), b.snmpd.Addr(), "li"), line...)
	res := b.cli(b.bin.Setany, args...)
	if res.code != 1 || res.stdout != "" || res.stderr != "setany: cTap2MediationTimeout.1: inconsistentValue (varbind 3)\n" {
		t.Errorf("setany with a past timeout:\n%s", res)
	}
	if p := b.get(oid(mdEntry, mdStatus, 1)); p.Type != gosnmp.NoSuchInstance {
		t.Errorf("cTap2MediationStatus.1 = %v %v after the refused SET, want noSuchInstance", p.Type, p.Value)
	}
}
