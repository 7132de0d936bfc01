package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TestCLIBadInput gives setany and getmany bad command lines against a
// live agent: each prints exactly one line on stderr (prefixed with the
// command's name) and nothing on stdout, exits 2, and sends nothing — the
// valid varbinds before the bad one create no row.
func TestCLIBadInput(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	timeout, _ := futureTimeout(20 * 24 * time.Hour)
	agent := b.snmpd.Addr()
	// A complete row 3, bad parts spliced in after its status.
	row3 := []string{"cTap2MediationStatus.3", "-i", "4", "cTap2MediationDestAddressType.3", "-i", "1",
		"cTap2MediationDestAddress.3", "-o", "0a:0a:00:35", "cTap2MediationDestPort.3", "-g", "63",
		"cTap2MediationSrcInterface.3", "-i", "0", "cTap2MediationTimeout.3", "-o", timeout,
		"cTap2MediationTransport.3", "-i", "1"}
	with := func(extra ...string) []string {
		return append(append(append([]string{}, row3[:6]...), extra...), row3[6:]...)
	}
	before := b.snapshot()

	cases := []struct {
		name   string
		getmny bool
		args   []string // after AGENT li
		want   string   // in the stderr line
	}{
		{"unknown name", false, with("cTap2MediationStatos.3", "-i", "4"), `unknown object name "cTap2MediationStatos"`},
		{"malformed hex", false, with("c802tapStreamDestinationAddress.3.1", "-o", "c8 fb 26 a5 55 9g"), `"9g" is not hex`},
		{"odd hex digits", false, with("c802tapStreamFields.3.1", "-o", "623"), "odd number of digits"},
		{"missing value at the end", false, append(append([]string{}, row3...), "cTap2MediationDscp.3", "-i"), "missing value"},
		{"missing type and value", false, append(append([]string{}, row3...), "cTap2MediationDscp.3"), "missing -TYPE VALUE"},
		{"value where the type goes", false, with("cTap2MediationDscp.3", "34"), `found "34"`},
		{"enumeration label unknown", false, with("cTap2MediationNotificationEnable.3", "-i", "maybe"), `"maybe"`},
		{"negative gauge", false, with("cTap2MediationDscp.3", "-g", "-1"), `"-1"`},
		{"getmany unknown name", true, []string{"cTap2StreamIntercepted"}, `unknown object name "cTap2StreamIntercepted"`},
		{"getmany malformed instance", true, []string{"cTap2StreamStatus.1.x"}, "malformed instance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := b.in(t)
			bin, prog := b.bin.Setany, "setany: "
			if tc.getmny {
				bin, prog = b.bin.Getmany, "getmany: "
			}
			res := b.cli(bin, append([]string{"-timeout", "30", agent, "li"}, tc.args...)...)
			if res.code != 2 {
				t.Errorf("exit %d, want 2\n%s", res.code, res)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing", res.stdout)
			}
			if strings.Count(res.stderr, "\n") != 1 || !strings.HasSuffix(res.stderr, "\n") ||
				!strings.HasPrefix(res.stderr, prog) || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr %q, want one line starting %q containing %q", res.stderr, prog, tc.want)
			}
			if after := b.snapshot(); after != before {
				t.Errorf("a rejected command line changed the agent:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}

	// The same row without the bad part is created: the lines above failed
	// for their bad part only.
	res := b.cli(b.bin.Setany, append([]string{"-timeout", "30", agent, "li"}, row3...)...)
	if res.code != 0 {
		t.Fatalf("the good row: %s", res)
	}
	if p := b.get(oid(mdEntry, mdStatus, 3)); p.Type != gosnmp.Integer || p.Value != rsActive {
		t.Errorf("cTap2MediationStatus.3 = %v %v, want active(1)", p.Type, p.Value)
	}
}
