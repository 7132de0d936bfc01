// Package mibtest holds checks that every MIB binding's tests share.
package mibtest

import (
	"testing"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/mibs"
	"tapagent/mibs/smi"
)

var accessNames = map[table.Access]string{
	table.NotAccessible: "not-accessible", table.ReadOnly: "read-only",
	table.ReadWrite: "read-write", table.ReadCreate: "read-create",
	table.AccessibleForNotify: "accessible-for-notify",
}

// AgreesWithModules proves a binding and its module files are one truth:
// every declared table, index, column and scalar has the module's OID,
// kind and access; every accessible, non-obsolete column and scalar of the
// modules is served; and each of named (notifications, roots …) has the
// module's OID.
func AgreesWithModules(t testing.TB, g *table.Group, modules []string, named map[string]agentx.OID) {
	t.Helper()
	tree, err := mibs.Tree()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, tb := range g.Tables() {
		o, err := tree.Lookup(tb.Name)
		if err != nil {
			t.Errorf("table %s: %v", tb.Name, err)
		} else if !o.OID.Append(1).Equal(tb.Entry) || o.Kind != smi.KindTable {
			t.Errorf("table %s: module says %s (%s), binding entry %s", tb.Name, o.OID, o.Kind, tb.Entry)
		}
		for _, p := range tb.Index {
			if _, err := tree.Lookup(p.Name); err != nil {
				t.Errorf("table %s index %s: %v", tb.Name, p.Name, err)
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
	for _, s := range g.Scalars() {
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
	ours := map[string]bool{}
	for _, m := range modules {
		ours[m] = true
	}
	for _, o := range tree.Objects() {
		if !ours[o.Module] || (o.Kind != smi.KindColumn && o.Kind != smi.KindScalar) {
			continue
		}
		if !declared[o.Name] && o.Access != "not-accessible" && o.Status != "obsolete" {
			t.Errorf("%s (%s) is in the module but not served", o.QualifiedName(), o.OID)
		}
	}
	for name, oid := range named {
		o, err := tree.Lookup(name)
		if err != nil || !o.OID.Equal(oid) {
			t.Errorf("%s: module %v (%v), binding %s", name, o, err, oid)
		}
	}
}
