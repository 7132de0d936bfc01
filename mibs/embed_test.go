package mibs

import (
	"slices"
	"testing"

	"tapagent/mibs/smi"
)

func TestEmbeddedModulesLoad(t *testing.T) {
	tree, err := Tree()
	if err != nil {
		t.Fatal(err)
	}
	mods := tree.Modules()
	for _, want := range []string{"SNMPv2-SMI", "SNMPv2-TC", "CISCO-TAP2-MIB", "CISCO-IP-TAP-MIB",
		"CISCO-802-TAP-MIB", "CISCO-USER-CONNECTION-TAP-MIB"} {
		if !slices.Contains(mods, want) {
			t.Errorf("module %s is not embedded (have %v)", want, mods)
		}
	}
}

// A few OIDs checked against the published modules (verified by hand), so a typo in a module
// file or a resolver mistake cannot go unnoticed.
func TestEmbeddedOIDs(t *testing.T) {
	tree, err := Tree()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		oid  string
		kind smi.Kind
		base smi.BaseType
		tc   string
	}{
		{"CISCO-TAP2-MIB::ciscoTap2MIB", "1.3.6.1.4.1.9.9.399", smi.KindModuleIdentity, 0, ""},
		{"cTap2MediationNewIndex", "1.3.6.1.4.1.9.9.399.1.1.1", smi.KindScalar, smi.BaseInteger, ""},
		{"cTap2MediationTable", "1.3.6.1.4.1.9.9.399.1.1.2", smi.KindTable, smi.BaseSequenceOf, ""},
		{"cTap2MediationContentId", "1.3.6.1.4.1.9.9.399.1.1.2.1.1", smi.KindColumn, smi.BaseInteger, ""},
		{"cTap2MediationDestAddressType", "1.3.6.1.4.1.9.9.399.1.1.2.1.2", smi.KindColumn, smi.BaseInteger, "InetAddressType"},
		{"cTap2MediationDestAddress", "1.3.6.1.4.1.9.9.399.1.1.2.1.3", smi.KindColumn, smi.BaseOctetString, "InetAddress"},
		{"cTap2MediationDestPort", "1.3.6.1.4.1.9.9.399.1.1.2.1.4", smi.KindColumn, smi.BaseUnsigned32, "InetPortNumber"},
		{"cTap2MediationTimeout", "1.3.6.1.4.1.9.9.399.1.1.2.1.10", smi.KindColumn, smi.BaseOctetString, "DateAndTime"},
		{"cTap2MediationStatus", "1.3.6.1.4.1.9.9.399.1.1.2.1.13", smi.KindColumn, smi.BaseInteger, "RowStatus"},
		{"cTap2StreamTable", "1.3.6.1.4.1.9.9.399.1.2.1", smi.KindTable, smi.BaseSequenceOf, ""},
		{"cTap2MediationTransport", "1.3.6.1.4.1.9.9.399.1.1.2.1.11", smi.KindColumn, smi.BaseInteger, ""},
		{"cTap2StreamStatus", "1.3.6.1.4.1.9.9.399.1.2.1.1.6", smi.KindColumn, smi.BaseInteger, "RowStatus"},
		{"cTap2StreamInterceptedPackets", "1.3.6.1.4.1.9.9.399.1.2.1.1.4", smi.KindColumn, smi.BaseCounter32, ""},
		{"ciscoTap2MediationTimedOut", "1.3.6.1.4.1.9.9.399.0.2", smi.KindNotification, 0, ""},
		{"CISCO-IP-TAP-MIB::ciscoIpTapMIB", "1.3.6.1.4.1.9.9.394", smi.KindModuleIdentity, 0, ""},
		{"citapStreamStatus", "1.3.6.1.4.1.9.9.394.1.1.2.1.16", smi.KindColumn, smi.BaseInteger, "RowStatus"},
		{"CISCO-802-TAP-MIB::cisco802TapMIB", "1.3.6.1.4.1.9.9.395", smi.KindModuleIdentity, 0, ""},
		{"c802tapStreamFields", "1.3.6.1.4.1.9.9.395.1.1.2.1.1", smi.KindColumn, smi.BaseBits, ""},
		{"c802tapStreamInterface", "1.3.6.1.4.1.9.9.395.1.1.2.1.2", smi.KindColumn, smi.BaseInteger, ""},
		{"c802tapStreamDestinationAddress", "1.3.6.1.4.1.9.9.395.1.1.2.1.3", smi.KindColumn, smi.BaseOctetString, "MacAddress"},
		{"c802tapStreamStatus", "1.3.6.1.4.1.9.9.395.1.1.2.1.8", smi.KindColumn, smi.BaseInteger, "RowStatus"},
		{"CISCO-USER-CONNECTION-TAP-MIB::ciscoUserConnectionTapMIB", "1.3.6.1.4.1.9.9.400", smi.KindModuleIdentity, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tree.Lookup(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if o.OID.String() != tc.oid || o.Kind != tc.kind {
				t.Errorf("%s %s, want %s %s", o.OID, o.Kind, tc.oid, tc.kind)
			}
			if tc.base != 0 && (o.Syntax == nil || o.Syntax.Base != tc.base || o.Syntax.TC != tc.tc) {
				t.Errorf("syntax %+v, want base %s TC %q", o.Syntax, tc.base, tc.tc)
			}
		})
	}
}
