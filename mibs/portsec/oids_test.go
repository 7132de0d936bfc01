package portsec

import (
	"testing"

	"tapagent/agent/table"
	"tapagent/mibs"
	"tapagent/mibs/smi"
)

var accessNames = map[table.Access]string{
	table.NotAccessible: "not-accessible", table.ReadOnly: "read-only",
	table.ReadWrite: "read-write", table.ReadCreate: "read-create",
	table.AccessibleForNotify: "accessible-for-notify",
}

// TestBindingAgreesWithModule proves the Go declarations and the module
// file are one truth: every declared table, column and scalar has the
// module's OID and access, every accessible object of the module that is
// not obsolete is served, and the notification OIDs match.
func TestBindingAgreesWithModule(t *testing.T) {
	tree, err := mibs.Tree()
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{Engine: &fakeEngine{}, Ports: noPorts, Syslog: func(string) {}})
	declared := map[string]bool{}
	for _, tb := range b.group.Tables() {
		o, err := tree.Lookup(tb.Name)
		if err != nil {
			t.Errorf("table %s: %v", tb.Name, err)
		} else if !o.OID.Append(1).Equal(tb.Entry) || o.Kind != smi.KindTable {
			t.Errorf("table %s: module says %s (%s), binding entry %s", tb.Name, o.OID, o.Kind, tb.Entry)
		}
		for i, part := range tb.Index {
			if i > 0 && len(tb.Columns) > 0 {
				if o, err := tree.Lookup(part.Name); err != nil || o.Kind != smi.KindColumn {
					t.Errorf("index %s of %s: %v", part.Name, tb.Name, err)
				}
			}
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
		if o.Module != "CISCO-PORT-SECURITY-MIB" || (o.Kind != smi.KindColumn && o.Kind != smi.KindScalar) {
			continue
		}
		if !declared[o.Name] && o.Access != "not-accessible" && o.Status != "obsolete" {
			t.Errorf("%s (%s) is in the module but not served", o.QualifiedName(), o.OID)
		}
	}
	for name, oid := range map[string]string{
		"cpsSecureMacAddrViolation":       oidNotifViolation.String(),
		"cpsIfVlanSecureMacAddrViolation": oidNotifVlanViolation.String(),
		"ciscoPortSecurityMIB":            moduleRoot.String(),
		"ifIndex":                         oidIfIndex.String(),
		"ifName":                          oidIfName.String(),
	} {
		o, err := tree.Lookup(name)
		if err != nil || o.OID.String() != oid {
			t.Errorf("%s: module %v (%v), binding %s", name, o, err, oid)
		}
	}
}
