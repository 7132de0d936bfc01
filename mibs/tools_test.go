package mibs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"tapagent/mibs/smi"
)

// ourModules are the modules tapagent implements (mibs/modules); the
// tools below must load each of them from our folders alone.
var ourModules = []string{
	"CISCO-TAP2-MIB", "CISCO-IP-TAP-MIB", "CISCO-802-TAP-MIB", "CISCO-USER-CONNECTION-TAP-MIB",
	"CISCO-PORT-SECURITY-MIB", "TAPAGENT-ILB-MIB",
}

// tool finds a Debian tool `make deps` installs; the test fails without it
// rather than pass on nothing.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (make deps installs it): %v", name, err)
	}
	return p
}

// TestSmilintLevel3 checks our modules with libsmi at level 3: no output.
func TestSmilintLevel3(t *testing.T) {
	smilint := tool(t, "smilint")
	for _, m := range ourModules {
		cmd := exec.Command(smilint, "-c", "/dev/null", "-l", "3", "modules/"+m)
		cmd.Env = append(os.Environ(), "SMIPATH=base:modules")
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("smilint -l 3 %s: %v\n%s", m, err, out)
		}
	}
}

// TestNetSNMPLoadsModules loads our modules with net-snmp from our folders
// only (no system MIB path) and spot-checks names against OIDs.
func TestNetSNMPLoadsModules(t *testing.T) {
	snmptranslate := tool(t, "snmptranslate")
	cmd := exec.Command(snmptranslate, "-M", "base:modules", "-m", strings.Join(ourModules, ":"), "-Tp")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() != 0 || !bytes.Contains(out, []byte("cTap2MediationStatus")) {
		t.Fatalf("snmptranslate -Tp: %v\nstderr: %s", err, stderr.String())
	}
	tree, err := Tree()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"CISCO-TAP2-MIB::cTap2MediationStatus", "CISCO-TAP2-MIB::ciscoTap2MediationTimedOut",
		"CISCO-IP-TAP-MIB::citapStreamVRF", "CISCO-802-TAP-MIB::c802tapStreamFields",
		"CISCO-USER-CONNECTION-TAP-MIB::cuctTapStreamStatus", "CISCO-TAP2-MIB::cTap2DebugUserStatus",
		"CISCO-PORT-SECURITY-MIB::cpsIfVlanSecureMacAddrRowStatus", "CISCO-PORT-SECURITY-MIB::cpsIfVlanSecureMacAddrViolation",
		"CISCO-PORT-SECURITY-MIB::cpsIfMultiVlanMaxSecureMacAddr", "CISCO-VTP-MIB::vtpVlanName",
	} {
		out, err := exec.Command(snmptranslate, "-M", "base:modules", "-m", "ALL", "-On", name).CombinedOutput()
		if err != nil {
			t.Fatalf("snmptranslate %s: %v\n%s", name, err, out)
		}
		o, err := tree.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(out)), "."+o.OID.String(); got != want {
			t.Errorf("%s: net-snmp says %s, our reader %s", name, got, want)
		}
	}
}

// TestPortSecurityModuleFacts pins what the port-security binding relies on,
// checked by hand against Cisco's published CISCO-PORT-SECURITY-MIB:
// OIDs (notifications under .315.0.0), syntaxes, access, indexes and DEFVALs.
func TestPortSecurityModuleFacts(t *testing.T) {
	tree, err := Tree()
	if err != nil {
		t.Fatal(err)
	}
	const root = "1.3.6.1.4.1.9.9.315"
	tests := []struct {
		name    string
		oid     string // below root
		base    smi.BaseType
		tc      string
		access  string
		ranges  string
		defval  string
		index   []string // rows only
		objects []string // notifications only
	}{
		{name: "cpsGlobalMaxSecureAddress", oid: ".1.1.1", base: smi.BaseInteger, access: "read-only", ranges: "[1..2147483647]"},
		{name: "cpsGlobalSNMPNotifRate", oid: ".1.1.4", base: smi.BaseInteger, access: "read-write", ranges: "[0..1000]"},
		{name: "cpsGlobalClearSecureMacAddresses", oid: ".1.1.6", base: smi.BaseInteger, tc: "ClearSecureMacAddrType", access: "read-write"},
		{name: "cpsIfConfigEntry", oid: ".1.2.1.1", index: []string{"ifIndex"}},
		{name: "cpsIfMaxSecureMacAddr", oid: ".1.2.1.1.3", base: smi.BaseInteger, access: "read-write", ranges: "[1..2147483647]"},
		{name: "cpsIfSecureMacAddrAgingTime", oid: ".1.2.1.1.5", base: smi.BaseInteger, access: "read-write", ranges: "[0..1440]"},
		{name: "cpsIfViolationAction", oid: ".1.2.1.1.8", base: smi.BaseInteger, access: "read-write"},
		{name: "cpsIfShutdownTimeout", oid: ".1.2.1.1.13", base: smi.BaseUnsigned32, access: "read-write"},
		{name: "cpsIfInvalidSrcRateLimitValue", oid: ".1.2.1.1.17", base: smi.BaseInteger, access: "read-write", ranges: "[-1..1000]"},
		{name: "cpsIfSecureLastMacAddrVlanId", oid: ".1.2.1.1.18", base: smi.BaseUnsigned32, tc: "VlanIndex", access: "read-only"},
		{name: "cpsSecureMacAddressEntry", oid: ".1.2.2.1", index: []string{"ifIndex", "cpsSecureMacAddress"}},
		{name: "cpsSecureMacAddrRowStatus", oid: ".1.2.2.1.4", base: smi.BaseInteger, tc: "RowStatus", access: "read-create"},
		{name: "cpsIfVlanSecureMacAddrEntry", oid: ".1.2.3.1", index: []string{"ifIndex", "cpsIfVlanSecureMacAddress", "cpsIfVlanSecureVlanIndex"}},
		{name: "cpsIfVlanSecureMacAddress", oid: ".1.2.3.1.1", base: smi.BaseOctetString, tc: "MacAddress", access: "not-accessible"},
		{name: "cpsIfVlanSecureMacAddrRowStatus", oid: ".1.2.3.1.5", base: smi.BaseInteger, tc: "RowStatus", access: "read-create"},
		{name: "cpsIfMultiVlanEntry", oid: ".1.2.5.1", index: []string{"ifIndex", "cpsIfMultiVlanIndex"}},
		{name: "cpsIfMultiVlanMaxSecureMacAddr", oid: ".1.2.5.1.2", base: smi.BaseUnsigned32, access: "read-create", defval: "1"},
		{name: "cpsIfMultiVlanClearSecureMacAddr", oid: ".1.2.5.1.4", base: smi.BaseInteger, tc: "ClearSecureMacAddrType", access: "read-create", defval: "done"},
		{name: "cpsSecureMacAddrViolation", oid: ".0.0.1", objects: []string{"ifIndex", "ifName", "cpsIfSecureLastMacAddress"}},
		{name: "cpsIfVlanSecureMacAddrViolation", oid: ".0.0.3", objects: []string{"ifName", "cpsIfSecureLastMacAddrVlanId", "cpsIfSecureLastMacAddress"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tree.Lookup("CISCO-PORT-SECURITY-MIB::" + tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.OID.String(); got != root+tc.oid {
				t.Errorf("OID %s, want %s", got, root+tc.oid)
			}
			if tc.base != 0 {
				if o.Syntax == nil || o.Syntax.Base != tc.base || o.Syntax.TC != tc.tc {
					t.Fatalf("syntax %+v, want base %s TC %q", o.Syntax, tc.base, tc.tc)
				}
				if tc.ranges != "" && fmt.Sprint(o.Syntax.Ranges) != tc.ranges {
					t.Errorf("ranges %v, want %s", o.Syntax.Ranges, tc.ranges)
				}
			}
			if o.Access != tc.access && tc.access != "" {
				t.Errorf("access %q, want %q", o.Access, tc.access)
			}
			if o.DefVal != tc.defval {
				t.Errorf("DEFVAL %q, want %q", o.DefVal, tc.defval)
			}
			if !slices.Equal(o.Index, tc.index) {
				t.Errorf("INDEX %v, want %v", o.Index, tc.index)
			}
			if !slices.Equal(o.Objects, tc.objects) {
				t.Errorf("OBJECTS %v, want %v", o.Objects, tc.objects)
			}
		})
	}
}
