package mibs

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var tapModules = []string{"CISCO-TAP2-MIB", "CISCO-IP-TAP-MIB", "CISCO-802-TAP-MIB", "CISCO-USER-CONNECTION-TAP-MIB"}

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
	for _, m := range tapModules {
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
	cmd := exec.Command(snmptranslate, "-M", "base:modules", "-m", strings.Join(tapModules, ":"), "-Tp")
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
