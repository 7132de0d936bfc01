package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
)

// walkFixture is a set of rows in every writable table of the four modules
// and the instance OIDs a walk must return for them, in no particular order.
type walkFixture struct {
	instances []string
}

// row records the instances of the given columns of one row.
func (f *walkFixture) row(entry string, cols []int, index ...uint32) {
	for _, c := range cols {
		f.instances = append(f.instances, oid(entry, c, index...))
	}
}

func colRange(lo, hi int) []int {
	var out []int
	for c := lo; c <= hi; c++ {
		out = append(out, c)
	}
	return out
}

// populate creates the fixture rows through SNMP: three mediation devices
// (ids 1, 2 and 10, so numeric and textual order differ), IP and 802
// streams created in both orders and in one PDU, user-connection filter
// rows and debug users whose string indexes sort by length first.
func populate(t *testing.T, b *bed) *walkFixture {
	t.Helper()
	_, timeoutHex := futureTimeout(90 * 24 * time.Hour)
	f := &walkFixture{}
	for _, id := range []uint32{1, 2, 10} {
		b.set(mdRow(id, timeoutHex)...)
		f.row(mdEntry, colRange(2, 13), id)
	}

	// (1,1): IPv4 filter first, then its stream.
	b.set(vInt(oid(ipEntry, ipStatus, 1, 1), rsCreateAndGo), vInt(oid(ipEntry, ipInterface, 1, 1), 0),
		vHex(oid(ipEntry, ipDstAddress, 1, 1), "c6120001"), vGauge(oid(ipEntry, ipDstLength, 1, 1), 32))
	b.set(vInt(oid(streamEntry, stStatus, 1, 1), rsCreateAndGo), vInt(oid(streamEntry, stType, 1, 1), streamTypeIP),
		vInt(oid(streamEntry, stEnable, 1, 1), truthTrue))
	// (1,2): the seed's cable modem tap.
	for _, pdu := range macStream(1, 2, "c8fb26a55598") {
		b.set(pdu...)
	}
	// (2,1): IPv6 filter and stream in one PDU, stream written last.
	b.set(vInt(oid(ipEntry, ipStatus, 2, 1), rsCreateAndGo), vInt(oid(ipEntry, ipInterface, 2, 1), 0),
		vInt(oid(ipEntry, ipAddrType, 2, 1), 2), vHex(oid(ipEntry, ipDstAddress, 2, 1), "20010db8000000000000000000000001"),
		vGauge(oid(ipEntry, ipDstLength, 2, 1), 128), vInt(oid(ipEntry, ipProtocol, 2, 1), 17),
		vGauge(oid(ipEntry, ipDstPortMin, 2, 1), 5060), vGauge(oid(ipEntry, ipDstPortMax, 2, 1), 5061),
		vInt(oid(streamEntry, stStatus, 2, 1), rsCreateAndGo), vInt(oid(streamEntry, stType, 2, 1), streamTypeIP))
	// (10,3): stream first, then a destination-MAC-only filter: its
	// interface and source columns stay unset and must not be walked.
	b.set(vInt(oid(streamEntry, stStatus, 10, 3), rsCreateAndGo), vInt(oid(streamEntry, stType, 10, 3), streamTypeMAC))
	b.set(vInt(oid(macEntry, macStatus, 10, 3), rsCreateAndGo), vHex(oid(macEntry, macFields, 10, 3), "40"),
		vHex(oid(macEntry, macDst, 10, 3), "02000000000a"))
	for _, k := range [][2]uint32{{1, 1}, {1, 2}, {2, 1}, {10, 3}} {
		f.row(streamEntry, colRange(2, 8), k[0], k[1])
	}
	f.row(ipEntry, colRange(1, 16), 1, 1)
	f.row(ipEntry, colRange(1, 16), 2, 1)
	f.row(macEntry, []int{macFields, macInterface, macDst, macSrc, macStatus}, 1, 2)
	f.row(macEntry, []int{macFields, macDst, macStatus}, 10, 3)

	// User-connection filter rows.
	b.set(vInt(oid(ucEntry, ucStatus, 1, 5), rsCreateAndGo))
	b.set(vInt(oid(ucEntry, ucStatus, 2, 7), rsCreateAndGo), vGauge(oid(ucEntry, ucAcctSessionID, 2, 7), 12345))
	b.set(vInt(oid(ucEntry, ucStatus, 10, 1), rsCreateAndGo))
	for _, k := range [][2]uint32{{1, 5}, {2, 7}, {10, 1}} {
		f.row(ucEntry, []int{ucAcctSessionID, ucStatus}, k[0], k[1])
	}

	// Debug users: "B" (index 1.66) sorts before "AB" (2.65.66).
	for _, u := range []struct {
		id   uint32
		name string
	}{{1, "AB"}, {1, "B"}, {10, "li-ops"}} {
		idx := append([]uint32{u.id}, strIndex(u.name)...)
		b.set(vInt(oid(debugUserEntry, dbgUserStatus, idx...), rsCreateAndGo),
			vHex(oid(debugUserEntry, dbgUserTimeout, idx...), timeoutHex))
		f.row(debugUserEntry, []int{dbgUserTimeout, dbgUserStorage, dbgUserStatus}, idx...)
	}

	f.instances = append(f.instances, newIndex0, mdCapabilities0, debugAge0, debugMax0,
		ipCapabilities0, macCapabilities, ucCapabilities0)
	return f
}

// under returns the fixture's instances below root in GETNEXT order.
func (f *walkFixture) under(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, o := range f.instances {
		if strings.HasPrefix(o, root+".") {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return compareOIDs(t, a, b) })
	return out
}

func compareOIDs(t *testing.T, a, b string) int {
	t.Helper()
	x, err := agentx.ParseOID(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := agentx.ParseOID(b)
	if err != nil {
		t.Fatal(err)
	}
	return x.Compare(y)
}

// checkWalk asserts strictly increasing OIDs and the exact expected list.
func checkWalk(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if compareOIDs(t, got[i-1], got[i]) >= 0 {
			t.Errorf("%s: OID %d not increasing: %s after %s", what, i, got[i], got[i-1])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d OIDs, want %d\n%s", what, len(got), len(want), diffLists(got, want))
	}
}

// diffLists names what is missing from got and what is extra.
func diffLists(got, want []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "  missing %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "  extra   %s\n", g)
		}
	}
	if b.Len() == 0 {
		b.WriteString("  same OIDs, different order:\n  got  " + strings.Join(got, " ") + "\n  want " + strings.Join(want, " "))
	}
	return b.String()
}

// TestWalkOrder creates rows in every table of the four modules and walks
// each tree (and all of them at once) with snmpwalk, snmpbulkwalk at several
// max-repetitions and gosnmp: OIDs strictly increasing, column by column,
// exactly the expected instances, the same values whichever way.
func TestWalkOrder(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	f := populate(t, b)

	roots := []string{tap2Tree, ipTapTree, tap802, userConn, ciscoMgmt}
	walkers := []struct {
		name string
		args []string // net-snmp tool and flags; empty: gosnmp
		bulk bool
	}{
		{"snmpwalk", []string{"snmpwalk"}, false},
		{"snmpbulkwalk", []string{"snmpbulkwalk"}, true},
		{"snmpbulkwalk -Cr1", []string{"snmpbulkwalk", "-Cr1"}, true},
		{"snmpbulkwalk -Cr7", []string{"snmpbulkwalk", "-Cr7"}, true},
		{"snmpbulkwalk -Cr60", []string{"snmpbulkwalk", "-Cr60"}, true},
		{"gosnmp WalkAll", nil, false},
		{"gosnmp BulkWalkAll", nil, true},
	}
	for _, root := range roots {
		want := f.under(t, root)
		var reference []string // "oid = value" lines of the first walker
		for _, w := range walkers {
			var got, lines []string
			if w.args != nil {
				res := b.netsnmp(w.args[0], b.snmpd.LI, append(w.args[1:], root)...)
				if res.code != 0 || res.stderr != "" {
					t.Errorf("%s %s: %s", w.name, root, res)
					continue
				}
				for _, l := range parseNetSNMP(res.stdout) {
					if strings.HasPrefix(l.val, "No more variables left in this MIB View") {
						// li's view ends with .400: the walk of it ends
						// with endOfMibView, repeated on the last OID.
						if len(got) == 0 || l.oid != got[len(got)-1] || !strings.HasPrefix(userConn, root) {
							t.Errorf("%s %s: unexpected endOfMibView at %s", w.name, root, l.oid)
						}
						continue
					}
					got = append(got, l.oid)
					if l.oid != newIndex0 {
						lines = append(lines, l.oid+" = "+l.typ+": "+l.val)
					}
				}
			} else {
				walk := b.li.WalkAll
				if w.bulk {
					walk = b.li.BulkWalkAll
				}
				ps, err := walk(root)
				if err != nil {
					t.Errorf("%s %s: %v", w.name, root, err)
					continue
				}
				for _, p := range ps {
					got = append(got, p.Name)
				}
			}
			checkWalk(t, w.name+" "+root, got, want)
			if lines != nil {
				if reference == nil {
					reference = lines
				} else if !slices.Equal(lines, reference) {
					t.Errorf("%s %s: values differ from snmpwalk's:\n%s\nvs\n%s", w.name, root,
						strings.Join(lines, "\n"), strings.Join(reference, "\n"))
				}
			}
		}
	}
}

// TestGetNextEdges asks GETNEXT from just before, inside, between and just
// after the tables and trees, one OID per request and all in one request
// (the multi-varbind case subagents get wrong), as li and as admin.
func TestGetNextEdges(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	populate(t, b)
	const endOfView = "endOfMibView"
	cases := []struct {
		name, from, want string
	}{
		{"before the first tree", ciscoMgmt + ".393.4294967295", ipCapabilities0},
		{"tree root", ipTapTree, ipCapabilities0},
		{"table to its first cell", ipTapTree + ".1.1.2", oid(ipEntry, 1, 1, 1)},
		{"row to the next row", oid(ipEntry, ipInterface, 1, 1), oid(ipEntry, ipInterface, 2, 1)},
		{"last row of a column to the next column", oid(ipEntry, ipInterface, 2, 1), oid(ipEntry, ipAddrType, 1, 1)},
		{"last cell of IP-TAP to the 802 tree", oid(ipEntry, ipStatus, 2, 1), macCapabilities},
		{"past the last IP-TAP column", oid(ipEntry, 17), macCapabilities},
		{"between the trees", ciscoMgmt + ".396", newIndex0},
		{"notifications subtree", tap2Tree + ".0", newIndex0},
		{"not-accessible index column", oid(mdEntry, 1), oid(mdEntry, mdDestAddressType, 1)},
		{"between two rows", oid(mdEntry, mdDestPort, 3), oid(mdEntry, mdDestPort, 10)},
		{"below an instance", oid(mdEntry, mdDestPort, 2, 0, 5), oid(mdEntry, mdDestPort, 10)},
		{"numeric not textual order", oid(mdEntry, mdDestPort, 2), oid(mdEntry, mdDestPort, 10)},
		{"last MD cell to the next scalar", oid(mdEntry, mdStatus, 10), mdCapabilities0},
		{"past the last MD column", oid(mdEntry, 14), mdCapabilities0},
		{"last stream cell to the debug scalars", oid(streamEntry, stHCDrops, 10, 3), debugAge0},
		{"empty debug table to the debug users", debugEntry, oid(debugUserEntry, dbgUserTimeout, 1, 1, 'B')},
		{"string index by length first", oid(debugUserEntry, dbgUserTimeout, 1, 1, 'B'), oid(debugUserEntry, dbgUserTimeout, 1, 2, 'A', 'B')},
		{"unset 802 columns are skipped", oid(macEntry, macInterface, 1, 2), oid(macEntry, macDst, 1, 2)},
		{"last user-connection cell: end of li's view", oid(ucEntry, ucStatus, 10, 1), endOfView},
		{"after the .400 tree", userConn + ".2", endOfView},
	}
	check := func(t *testing.T, from, want string, p gosnmp.SnmpPDU) {
		t.Helper()
		got := p.Name
		if p.Type == gosnmp.EndOfMibView {
			got = endOfView
		}
		if got != want {
			t.Errorf("GETNEXT %s = %s (%v), want %s", from, p.Name, p.Type, want)
		}
	}
	var all []string
	for _, tc := range cases {
		all = append(all, tc.from)
		r, err := b.li.GetNext([]string{tc.from})
		if err != nil || r.Error != gosnmp.NoError || len(r.Variables) != 1 {
			t.Errorf("%s: GETNEXT %s: %v %v", tc.name, tc.from, err, r)
			continue
		}
		check(t, tc.from, tc.want, r.Variables[0])
	}
	r, err := b.li.GetNext(all)
	if err != nil || r.Error != gosnmp.NoError || len(r.Variables) != len(cases) {
		t.Fatalf("GETNEXT of %d OIDs in one PDU: %v %+v", len(all), err, r)
	}
	for i, tc := range cases {
		check(t, tc.from, tc.want, r.Variables[i])
	}

	// Admin: the LI trees are outside its view, so GETNEXT from inside or
	// just before them lands beyond .400, in snmpd's own objects.
	admin := b.snmpd.AdminClient()
	for _, from := range []string{ciscoMgmt, ciscoMgmt + ".393", oid(ucEntry, ucStatus, 10, 1), tap2Tree} {
		r, err := admin.GetNext([]string{from})
		if err != nil || r.Error != gosnmp.NoError || len(r.Variables) != 1 {
			t.Errorf("admin GETNEXT %s: %v %+v", from, err, r)
			continue
		}
		p := r.Variables[0]
		if p.Type == gosnmp.EndOfMibView || compareOIDs(t, p.Name, userConn+".4294967295") <= 0 {
			t.Errorf("admin GETNEXT %s = %s (%v), want something after the .400 tree", from, p.Name, p.Type)
		}
	}
}

// TestMultiVarbindGetAndBulk: one GET naming cells of every module plus
// missing instances and non-objects gets each answer in its place, and a
// GETBULK with non-repeaters and several repeaters crossing table and tree
// edges returns exactly the GETNEXT chain of each.
func TestMultiVarbindGetAndBulk(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	f := populate(t, b)

	get := []struct {
		oid  string
		want gosnmp.Asn1BER
	}{
		{oid(mdEntry, mdDestPort, 10), gosnmp.Gauge32},
		{oid(mdEntry, mdDestPort, 11), gosnmp.NoSuchInstance}, // no such row
		{oid(mdEntry, 1, 10), gosnmp.NoSuchObject},            // not-accessible index column
		{oid(ipEntry, ipVRF, 2, 1), gosnmp.OctetString},       // empty VRF
		{oid(macEntry, macSrc, 10, 3), gosnmp.NoSuchInstance}, // column never set
		{oid(ucEntry, ucAcctSessionID, 2, 7), gosnmp.Gauge32}, // 12345
		{tap2Tree + ".1.9.0", gosnmp.NoSuchObject},            // no such object
		{oid(streamEntry, stHCPackets, 1, 1), gosnmp.Counter64},
		{macCapabilities, gosnmp.OctetString},
		{oid(debugUserEntry, dbgUserStorage, 1, 2, 'A', 'B'), gosnmp.Integer},
	}
	var oids []string
	for _, g := range get {
		oids = append(oids, g.oid)
	}
	r, err := b.li.Get(oids)
	if err != nil || r.Error != gosnmp.NoError || len(r.Variables) != len(get) {
		t.Fatalf("GET of %d OIDs: %v %+v", len(oids), err, r)
	}
	for i, g := range get {
		p := r.Variables[i]
		if p.Name != g.oid || p.Type != g.want {
			t.Errorf("varbind %d: %s = %v, want %s = %v", i+1, p.Name, p.Type, g.oid, g.want)
		}
	}
	if p := r.Variables[5]; p.Value != uint(12345) {
		t.Errorf("cuctTapStreamAcctSessID.2.7 = %v (%T), want 12345", p.Value, p.Value)
	}

	// GETBULK: 2 non-repeaters, 3 repeaters × 6 repetitions.
	all := f.under(t, ciscoMgmt)
	nextOf := func(from string, n int) []string {
		var out []string
		for _, o := range all {
			if len(out) < n && compareOIDs(t, o, from) > 0 {
				out = append(out, o)
			}
		}
		for len(out) < n {
			out = append(out, "endOfMibView")
		}
		return out
	}
	nonRep := []string{oid(mdEntry, mdStatus, 10), oid(ucEntry, ucStatus, 10, 1)}
	rep := []string{oid(ipEntry, ipVRF, 2, 1), oid(mdEntry, mdNotifEnable, 2), oid(ucEntry, ucAcctSessionID, 10, 1)}
	const reps = 6
	r, err = b.li.GetBulk(append(append([]string{}, nonRep...), rep...), uint8(len(nonRep)), reps)
	if err != nil || r.Error != gosnmp.NoError {
		t.Fatalf("GETBULK: %v %+v", err, r)
	}
	var want []string
	for _, o := range nonRep {
		want = append(want, nextOf(o, 1)...)
	}
	chains := make([][]string, len(rep))
	for i, o := range rep {
		chains[i] = nextOf(o, reps)
	}
	for k := range reps { // repetitions are interleaved, row by row
		for i := range rep {
			want = append(want, chains[i][k])
		}
	}
	var got []string
	for _, p := range r.Variables {
		if p.Type == gosnmp.EndOfMibView {
			got = append(got, "endOfMibView")
		} else {
			got = append(got, p.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("GETBULK answer:\n  got  %s\n  want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}
