package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/testbed"
)

// liTree reports whether o lies in one of the trees only li may see.
func liTree(o string) bool {
	for _, root := range testbed.LITrees {
		if o == root || strings.HasPrefix(o, root+".") {
			return true
		}
	}
	return false
}

// vacmRefusals are the answers snmpd's VACM gives a SET outside the
// user's write view.
var vacmRefusals = []string{"noAccess", "authorizationError", "notWritable"}

// TestAdminSeesNothing: with rows in every LI table, the admin user walks
// the enterprise subtree without meeting any LI object, reads
// noSuchObject for each of them, and cannot create or change a row (the
// refusal comes from snmpd's VACM; li reads everything unchanged after).
func TestAdminSeesNothing(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	f := populate(t, b)
	before := b.snapshot()
	admin := b.snmpd.AdminClient()

	// Not vacuous: admin does read snmpd's own objects.
	r, err := admin.Get([]string{testbed.SysDescr0})
	if err != nil || len(r.Variables) != 1 || string(bytesOf(r.Variables[0])) != "tapagent test bed" {
		t.Fatalf("admin GET sysDescr.0: %v %+v", err, r)
	}

	t.Run("walks", func(t *testing.T) {
		b := b.in(t)
		for _, tool := range []string{"snmpwalk", "snmpbulkwalk"} {
			for _, root := range []string{ciscoMgmt, ".1.3.6.1.4.1"} {
				res := b.netsnmp(tool, b.snmpd.Admin, root)
				if res.code != 0 {
					t.Errorf("admin %s %s: %s", tool, root, res)
					continue
				}
				for _, l := range parseNetSNMP(res.stdout) {
					if liTree(l.oid) {
						t.Errorf("admin %s %s shows %s = %s: %s", tool, root, l.oid, l.typ, l.val)
					}
				}
			}
		}
		ps, err := admin.BulkWalkAll(".1.3.6.1.4.1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			t.Error("admin bulk walk of .1.3.6.1.4.1 returned nothing; the test would prove nothing")
		}
		for _, p := range ps {
			if liTree(p.Name) {
				t.Errorf("admin gosnmp walk shows %s", p.Name)
			}
		}
	})

	t.Run("gets", func(t *testing.T) {
		b := b.in(t)
		for _, o := range f.instances {
			r, err := admin.Get([]string{o})
			if err != nil || len(r.Variables) != 1 {
				t.Fatalf("admin GET %s: %v %+v", o, err, r)
			}
			if p := r.Variables[0]; r.Error != gosnmp.NoError || p.Type != gosnmp.NoSuchObject {
				t.Errorf("admin GET %s = %v %v (error %v), want noSuchObject", o, p.Type, p.Value, r.Error)
			}
		}
		// net-snmp's view of the same.
		res := b.netsnmp("snmpget", b.snmpd.Admin, oid(mdEntry, mdStatus, 1), newIndex0, oid(macEntry, macDst, 1, 2))
		lines := parseNetSNMP(res.stdout)
		if len(lines) != 3 {
			t.Errorf("admin snmpget of 3 OIDs: %s", res)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l.val, "No Such Object") {
				t.Errorf("admin snmpget %s = %s %s, want No Such Object", l.oid, l.typ, l.val)
			}
		}
	})

	t.Run("sets", func(t *testing.T) {
		b := b.in(t)
		_, timeoutHex := futureTimeout(40 * 24 * time.Hour)
		attempts := [][]vb{
			mdRow(7, timeoutHex),                                 // a new mediation device
			{vHex(oid(mdEntry, mdTimeout, 1), timeoutHex)},       // an existing row
			{vInt(oid(streamEntry, stEnable, 1, 2), truthFalse)}, // a stream
			{vInt(oid(ucEntry, ucStatus, 10, 1), rsDestroy)},     // destroy a filter
		}
		for _, vbs := range attempts {
			var args []string
			for _, v := range vbs {
				args = append(args, v.args()...)
			}
			res := b.netsnmp("snmpset", b.snmpd.Admin, args...)
			fl, ok := parseSetFailure(res.stdout + res.stderr)
			if res.code == 0 || !ok || !slices.Contains(vacmRefusals, fl.reason) || fl.oid != vbs[0].oid {
				t.Errorf("admin snmpset %s: want one of %v on %s\n%s", strings.Join(args, " "), vacmRefusals, vbs[0].oid, res)
			}
			ps, err := pdus(vbs)
			if err != nil {
				t.Fatal(err)
			}
			r, err := admin.Set(ps)
			if err != nil {
				t.Fatal(err)
			}
			if r.Error != snmpErrors["noAccess"] && r.Error != snmpErrors["authorizationError"] && r.Error != snmpErrors["notWritable"] {
				t.Errorf("admin gosnmp SET %s: %v on %d, want one of %v", vbs[0].oid, r.Error, r.ErrorIndex, vacmRefusals)
			}
		}
		if p := b.get(oid(mdEntry, mdStatus, 7)); p.Type != gosnmp.NoSuchInstance {
			t.Errorf("li reads cTap2MediationStatus.7 = %v %v after admin's SET, want noSuchInstance", p.Type, p.Value)
		}
		if after := b.snapshot(); after != before {
			t.Errorf("admin's refused SETs changed the tables:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// bytesOf is an octet string value (nil for other types).
func bytesOf(p gosnmp.SnmpPDU) []byte {
	raw, _ := p.Value.([]byte)
	return raw
}
