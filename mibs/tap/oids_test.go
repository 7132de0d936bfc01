package tap

import (
	"testing"

	"tapagent/agent/table"
	"tapagent/mibs"
	"tapagent/mibs/smi"
)

var tapModules = map[string]bool{
	"CISCO-TAP2-MIB": true, "CISCO-IP-TAP-MIB": true,
	"CISCO-802-TAP-MIB": true, "CISCO-USER-CONNECTION-TAP-MIB": true,
}

var accessNames = map[table.Access]string{
	table.NotAccessible: "not-accessible", table.ReadOnly: "read-only",
	table.ReadWrite: "read-write", table.ReadCreate: "read-create",
	table.AccessibleForNotify: "accessible-for-notify",
}

// TestBindingAgreesWithModules proves the Go declarations and the MIB
// module files are one truth: every declared column and scalar has the
// module's OID and access, and every column and scalar of the four modules
// is declared.
func TestBindingAgreesWithModules(t *testing.T) {
	tree, err := mibs.Tree()
	if err != nil {
		t.Fatal(err)
	}
	b := New(nil, nil, nil)
	declared := map[string]bool{}
	for _, tb := range []*table.Table{b.md, b.stream, b.debug, b.debugUser, b.ip, b.mac, b.uc} {
		entry := tree.Format(tb.Entry)
		o, err := tree.Lookup(tb.Name)
		if err != nil {
			t.Errorf("table %s: %v", tb.Name, err)
		} else if !o.OID.Append(1).Equal(tb.Entry) || o.Kind != smi.KindTable {
			t.Errorf("table %s: module says %s (%s), binding entry %s", tb.Name, o.OID, o.Kind, entry)
		}
		for _, c := range tb.Columns {
			declared[c.Name] = true
			o, err := tree.Lookup(c.Name)
			if err != nil {
				t.Errorf("column %s: %v", c.Name, err)
				continue
			}
			if want := tb.Entry.Append(c.ID); !o.OID.Equal(want) {
				t.Errorf("column %s: module OID %s, binding %s", c.Name, o.OID, want)
			}
			if o.Access != accessNames[c.Access] {
				t.Errorf("column %s: module access %s, binding %s", c.Name, o.Access, accessNames[c.Access])
			}
		}
	}
	for _, s := range b.group.Scalars() {
		declared[s.Name] = true
		o, err := tree.Lookup(s.Name)
		if err != nil {
			t.Errorf("scalar %s: %v", s.Name, err)
			continue
		}
		if !o.OID.Equal(s.OID) || o.Kind != smi.KindScalar || o.Access != accessNames[s.Access] {
			t.Errorf("scalar %s: module %s %s %s, binding %s %s", s.Name, o.OID, o.Kind, o.Access, s.OID, accessNames[s.Access])
		}
	}
	for _, o := range tree.Objects() {
		if !tapModules[o.Module] || (o.Kind != smi.KindColumn && o.Kind != smi.KindScalar) {
			continue
		}
		if !declared[o.Name] && o.Access != "not-accessible" {
			t.Errorf("%s (%s) is in the module but not served", o.QualifiedName(), o.OID)
		}
	}
	for name, oid := range map[string]string{
		"ciscoTap2MIBActive": oidNotifMIBActive.String(), "ciscoTap2MediationTimedOut": oidNotifMediationTimedOut.String(),
		"ciscoTap2MediationDebug": oidNotifMediationDebug.String(), "ciscoTap2StreamDebug": oidNotifStreamDebug.String(),
		"ciscoTap2Switchover": oidNotifSwitchover.String(),
	} {
		o, err := tree.Lookup(name)
		if err != nil || o.OID.String() != oid || o.Kind != smi.KindNotification {
			t.Errorf("notification %s: module %v (%v), binding %s", name, o, err, oid)
		}
	}
}
