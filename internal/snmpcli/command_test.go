package snmpcli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
)

// words splits a command line like a shell: blanks separate words, double
// quotes group them.
func words(line string) []string {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// The seed command lines, verbatim after the program name.
const (
	seedMediation = `-v3 -timeout 30 -retries 3 10.12.0.34 user1 cTap2MediationStatus.1 -i 4 cTap2MediationDestAddressType.1 -i 1 cTap2MediationTimeout.1 -o 07:E0:04:01:B:15:1A:0 cTap2MediationTransport.1 -i 1 cTap2MediationSrcInterface.1 -i 0 cTap2MediationDestAddress.1 -o 0a:0a:00:35 cTap2MediationDestPort.1 -g 63`
	seed802       = `-v3 -timeout 30 -retries 3 10.12.0.34 user1 c802tapStreamStatus.1.2 -i 4 c802tapStreamFields.1.2 -o 62 c802tapStreamInterface.1.2 -i -1 c802tapStreamDestinationAddress.1.2 -o "c8 fb 26 a5 55 98" c802tapStreamSourceAddress.1.2 -o "c8 fb 26 a5 55 98"`
	seedStream    = `-v3 -timeout 30 -retries 3 10.12.0.34 user1 cTap2StreamStatus.1.2 -i 5 cTap2StreamType.1.2 -i 2 cTap2StreamInterceptEnable.1.2 -i 1 cTap2StreamStatus.1.2 -i 4`
	seedGet       = `-v3 -timeout 30 -retries 3 10.12.0.34 user1 cTap2StreamInterceptedPackets`
)

const (
	tap2MD     = "1.3.6.1.4.1.9.9.399.1.1.2.1."
	tap2Stream = "1.3.6.1.4.1.9.9.399.1.2.1.1."
	tap802     = "1.3.6.1.4.1.9.9.395.1.1.2.1."
)

// pduText renders split requests as "oid=value; …" per request.
func pduText(pdus [][]SetVar) []string {
	var out []string
	for _, p := range pdus {
		var parts []string
		for _, v := range p {
			parts = append(parts, fmt.Sprintf("%s=%s", v.Ref.OID, v.Value))
		}
		out = append(out, strings.Join(parts, "; "))
	}
	return out
}

func TestParseSetSeeds(t *testing.T) {
	tree := testTree(t)
	mac := "OctetString: c8fb26a55598"
	tests := []struct {
		name string
		line string
		want []string // one entry per SET request
	}{
		{"mediation row", seedMediation, []string{strings.Join([]string{
			tap2MD + "13.1=Integer: 4",
			tap2MD + "2.1=Integer: 1",
			tap2MD + "10.1=OctetString: 07e004010b151a00",
			tap2MD + "11.1=Integer: 1",
			tap2MD + "5.1=Integer: 0",
			tap2MD + "3.1=OctetString: 0a0a0035",
			tap2MD + "4.1=Gauge32: 63",
		}, "; ")}},
		{"802 stream", seed802, []string{strings.Join([]string{
			tap802 + "8.1.2=Integer: 4",
			tap802 + "1.1.2=OctetString: 62",
			tap802 + "2.1.2=Integer: -1",
			tap802 + "3.1.2=" + mac,
			tap802 + "4.1.2=" + mac,
		}, "; ")}},
		{"stream with repeated status: two requests", seedStream, []string{
			tap2Stream + "6.1.2=Integer: 5; " + tap2Stream + "2.1.2=Integer: 2; " + tap2Stream + "3.1.2=Integer: 1",
			tap2Stream + "6.1.2=Integer: 4",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := ParseSet(words(tc.line), tree, NoDefaults())
			if err != nil {
				t.Fatal(err)
			}
			if cmd.Version != gosnmp.Version3 || cmd.Timeout != 30*time.Second || cmd.Retries != 3 ||
				cmd.Agent.String() != "10.12.0.34:161" || cmd.Principal != "user1" {
				t.Errorf("options = %+v", cmd.Options)
			}
			got := pduText(cmd.PDUs())
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseGetSeed(t *testing.T) {
	tree := testTree(t)
	cmd, err := ParseGet(words(seedGet), tree, NoDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if len(cmd.Objects) != 1 || cmd.Objects[0].Ref.OID.String() != tap2Stream+"4" || cmd.Objects[0].IsInstance() {
		t.Errorf("objects = %+v", cmd.Objects)
	}
	if cmd.Timeout != 30*time.Second || cmd.Retries != 3 || cmd.MaxRepetitions != DefaultMaxRepetitions {
		t.Errorf("options = %+v", cmd.Options)
	}
	cmd, err = ParseGet(words("-v2c -max-repetitions 7 [::1]:1161 public cTap2StreamStatus.1.2 CISCO-TAP2-MIB::cTap2MediationTable .1.3.6.1.2.1.1.3.0"), tree, NoDefaults())
	if err != nil {
		t.Fatal(err)
	}
	inst := []bool{true, false, false} // a numeric OID below no known scalar is walked, then fetched
	for i, o := range cmd.Objects {
		if o.IsInstance() != inst[i] {
			t.Errorf("%s: IsInstance = %v", o.Arg, o.IsInstance())
		}
	}
	if cmd.Version != gosnmp.Version2c || cmd.MaxRepetitions != 7 || cmd.Agent.String() != "[::1]:1161" {
		t.Errorf("options = %+v", cmd.Options)
	}
}

func TestParseBadInput(t *testing.T) {
	tree := testTree(t)
	tests := []struct {
		name, line, want string
		get              bool
	}{
		{"no agent", "-v3", "missing AGENT", false},
		{"no user", "10.0.0.1", "missing AGENT", false},
		{"nothing to set", "10.0.0.1 user1", "nothing to set", false},
		{"unknown name", "10.0.0.1 user1 cTap2MediationStatos.1 -i 4", `cTap2MediationStatos.1: unknown object name "cTap2MediationStatos"`, false},
		{"unknown module", "10.0.0.1 user1 NO-MIB::x.1 -i 4", "module NO-MIB is not loaded", false},
		{"missing type", "10.0.0.1 user1 cTap2MediationStatus.1", "cTap2MediationStatus.1: missing -TYPE VALUE", false},
		{"missing value", "10.0.0.1 user1 cTap2MediationStatus.1 -i", "cTap2MediationStatus.1: -i: missing value", false},
		{"missing value mid-line", "10.0.0.1 user1 cTap2MediationStatus.1 -i 4 cTap2MediationDestPort.1 -g", "cTap2MediationDestPort.1: -g: missing value", false},
		{"value where type belongs", "10.0.0.1 user1 cTap2MediationStatus.1 4", `expected a type -i, -o, -g, -a, -c, -t, -d or -s, found "4"`, false},
		{"bad type letter", "10.0.0.1 user1 cTap2MediationStatus.1 -x 4", `found "-x"`, false},
		{"long type", "10.0.0.1 user1 cTap2MediationStatus.1 -ii 4", `found "-ii"`, false},
		{"malformed hex", "10.0.0.1 user1 cTap2MediationTimeout.1 -o 07:E0:04:01:B:15:1A:0G", `byte 8 "0G" is not hex`, false},
		{"odd hex", "10.0.0.1 user1 c802tapStreamFields.1.2 -o 623", "odd number of digits", false},
		{"bad integer", "10.0.0.1 user1 cTap2MediationStatus.1 -i active1", "not a 32-bit integer or one of active(1)", false},
		{"option after agent", "10.0.0.1 user1 -timeout 3 cTap2MediationStatus.1 -i 4", `expected an object name, found "-timeout"`, false},
		{"unknown option", "-verbose 10.0.0.1 user1 x -i 1", "unknown option -verbose", false},
		{"getmany option in setany", "-max-repetitions 5 10.0.0.1 user1 x -i 1", "unknown option -max-repetitions", false},
		{"option without value", "-timeout", "option -timeout needs a value", false},
		{"bad timeout", "-timeout soon 10.0.0.1 user1 x -i 1", `-timeout "soon"`, false},
		{"zero timeout", "-timeout 0 10.0.0.1 user1 x -i 1", `-timeout "0"`, false},
		{"negative retries", "-retries -1 10.0.0.1 user1 x -i 1", `-retries "-1"`, false},
		{"bad level", "-level high 10.0.0.1 user1 x -i 1", `security level "high"`, false},
		{"bad auth proto", "-auth-proto SHA1024 10.0.0.1 user1 x -i 1", `authentication protocol "SHA1024"`, false},
		{"bad priv proto", "-priv-proto ROT13 10.0.0.1 user1 x -i 1", `privacy protocol "ROT13"`, false},
		{"version with value", "-v3=1 10.0.0.1 user1 x -i 1", "option -v3 takes no value", false},
		{"bad port", "10.0.0.1:0 user1 cTap2MediationStatus.1 -i 4", `port "0"`, false},
		{"port too big", "10.0.0.1:70000 user1 cTap2MediationStatus.1 -i 4", `port "70000"`, false},
		{"bad v6 agent", "[fe80::1 user1 cTap2MediationStatus.1 -i 4", "missing ]", false},
		{"authPriv without pass", "-level authPriv 10.0.0.1 user1 cTap2MediationStatus.1 -i 4", "needs an authentication pass phrase", false},
		{"short priv pass", "-auth-pass longenough -priv-pass short 10.0.0.1 user1 cTap2MediationStatus.1 -i 4", "privacy pass phrase of at least 8", false},
		{"bad instance", "10.0.0.1 user1 cTap2MediationStatus.1.x -i 4", "malformed instance suffix", false},
		{"get: nothing", "10.0.0.1 user1", "nothing to get", true},
		{"get: unknown", "10.0.0.1 user1 cTap2Nothing", `unknown object name "cTap2Nothing"`, true},
		{"get: option late", "10.0.0.1 user1 cTap2StreamStatus -v2c", `found "-v2c"`, true},
		{"get: bad max-repetitions", "-max-repetitions 0 10.0.0.1 user1 cTap2StreamStatus", `-max-repetitions "0"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.get {
				_, err = ParseGet(words(tc.line), tree, NoDefaults())
			} else {
				_, err = ParseSet(words(tc.line), tree, NoDefaults())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSplitPDUs(t *testing.T) {
	v := func(oid string, n int32) SetVar {
		var sv SetVar
		sv.Ref.OID = agentx.MustParseOID(oid)
		sv.Value = agentx.Integer(n)
		return sv
	}
	tests := []struct {
		name string
		vars []SetVar
		want []string
	}{
		{"none", nil, nil},
		{"all different", []SetVar{v("1.1", 1), v("1.2", 2), v("1.3", 3)},
			[]string{"1.1=Integer: 1; 1.2=Integer: 2; 1.3=Integer: 3"}},
		{"repeat starts a new request", []SetVar{v("1.1", 5), v("1.2", 2), v("1.1", 1)},
			[]string{"1.1=Integer: 5; 1.2=Integer: 2", "1.1=Integer: 1"}},
		{"back to back repeats", []SetVar{v("1.1", 5), v("1.1", 1), v("1.1", 6)},
			[]string{"1.1=Integer: 5", "1.1=Integer: 1", "1.1=Integer: 6"}},
		{"earlier OIDs may come back in the next request", []SetVar{v("1.1", 1), v("1.2", 1), v("1.2", 2), v("1.1", 2)},
			[]string{"1.1=Integer: 1; 1.2=Integer: 1", "1.2=Integer: 2; 1.1=Integer: 2"}},
		{"same object, other instance is no repeat", []SetVar{v("1.1.1", 1), v("1.1.2", 1)},
			[]string{"1.1.1=Integer: 1; 1.1.2=Integer: 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pduText(SplitPDUs(tc.vars))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
