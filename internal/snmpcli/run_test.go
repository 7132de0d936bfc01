package snmpcli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
	"tapagent/mibs/smi"
)

// fakeAgent is a Client over a sorted list of instances. It records every
// request and can refuse a SET with a given status.
type fakeAgent struct {
	data     []gosnmp.SnmpPDU // sorted by OID
	requests []string
	setFail  map[int]gosnmp.SNMPError // request number (1-based) → status, error index 1
	v1       bool
}

func (f *fakeAgent) record(kind string, oids []string) {
	f.requests = append(f.requests, kind+" "+strings.Join(oids, " "))
}

func (f *fakeAgent) find(oid string) (gosnmp.SnmpPDU, bool) {
	for _, p := range f.data {
		if p.Name == oid {
			return p, true
		}
	}
	return gosnmp.SnmpPDU{}, false
}

func (f *fakeAgent) next(oid string) (gosnmp.SnmpPDU, bool) {
	o := agentx.MustParseOID(oid)
	for _, p := range f.data {
		if agentx.MustParseOID(p.Name).Compare(o) > 0 {
			return p, true
		}
	}
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.EndOfMibView}, false
}

func (f *fakeAgent) Get(oids []string) (*gosnmp.SnmpPacket, error) {
	f.record("get", oids)
	resp := &gosnmp.SnmpPacket{}
	for _, o := range oids {
		p, ok := f.find(o)
		if !ok {
			p = gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchInstance}
		}
		resp.Variables = append(resp.Variables, p)
	}
	return resp, nil
}

func (f *fakeAgent) GetNext(oids []string) (*gosnmp.SnmpPacket, error) {
	f.record("getnext", oids)
	p, ok := f.next(oids[0])
	if !ok && f.v1 {
		return &gosnmp.SnmpPacket{Error: gosnmp.NoSuchName, ErrorIndex: 1, Variables: []gosnmp.SnmpPDU{{Name: oids[0], Type: gosnmp.Null}}}, nil
	}
	return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{p}}, nil
}

func (f *fakeAgent) GetBulk(oids []string, _ uint8, maxRep uint32) (*gosnmp.SnmpPacket, error) {
	f.record(fmt.Sprintf("getbulk/%d", maxRep), oids)
	resp := &gosnmp.SnmpPacket{}
	cur := oids[0]
	for i := uint32(0); i < maxRep; i++ {
		p, ok := f.next(cur)
		resp.Variables = append(resp.Variables, p)
		if !ok {
			break
		}
		cur = p.Name
	}
	return resp, nil
}

func (f *fakeAgent) Set(pdus []gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error) {
	var parts []string
	for _, p := range pdus {
		parts = append(parts, fmt.Sprintf("%s=%v", p.Name, p.Value))
	}
	f.record("set", parts)
	if status, ok := f.setFail[len(f.requests)]; ok {
		return &gosnmp.SnmpPacket{Error: status, ErrorIndex: 1, Variables: pdus}, nil
	}
	// Echo what was set, as agents do; gosnmp decodes Gauge32 as uint.
	out := make([]gosnmp.SnmpPDU, len(pdus))
	for i, p := range pdus {
		out[i] = p
		if v, ok := p.Value.(uint32); ok {
			out[i].Value = uint(v)
		}
	}
	return &gosnmp.SnmpPacket{Variables: out}, nil
}

func TestRunSetSendsRequestsInOrderAndStopsAtFirstError(t *testing.T) {
	tree := testTree(t)
	cmd, err := ParseSet(words(seedStream), tree, NoDefaults())
	if err != nil {
		t.Fatal(err)
	}
	s := "." + tap2Stream
	wantFirst := "set " + s + "6.1.2=5 " + s + "2.1.2=2 " + s + "3.1.2=1"
	wantSecond := "set " + s + "6.1.2=4"

	t.Run("success", func(t *testing.T) {
		agent := &fakeAgent{}
		var out bytes.Buffer
		if err := RunSet(agent, tree, cmd, &out); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(agent.requests, "\n"); got != wantFirst+"\n"+wantSecond {
			t.Errorf("requests:\n%s", got)
		}
		want := "cTap2StreamStatus.1.2 = createAndWait(5)\ncTap2StreamType.1.2 = mac(2)\n" +
			"cTap2StreamInterceptEnable.1.2 = true(1)\ncTap2StreamStatus.1.2 = createAndGo(4)\n"
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
		}
	})
	t.Run("first request refused", func(t *testing.T) {
		agent := &fakeAgent{setFail: map[int]gosnmp.SNMPError{1: gosnmp.InconsistentValue}}
		var out bytes.Buffer
		err := RunSet(agent, tree, cmd, &out)
		var se *SNMPError
		if !errors.As(err, &se) || err.Error() != "cTap2StreamStatus.1.2: inconsistentValue (varbind 1)" {
			t.Fatalf("error = %v", err)
		}
		if len(agent.requests) != 1 || out.Len() != 0 {
			t.Errorf("kept going after the error: %q, output %q", agent.requests, out.String())
		}
	})
	t.Run("second request refused", func(t *testing.T) {
		agent := &fakeAgent{setFail: map[int]gosnmp.SNMPError{2: gosnmp.WrongValue}}
		var out bytes.Buffer
		err := RunSet(agent, tree, cmd, &out)
		if err == nil || err.Error() != "cTap2StreamStatus.1.2: wrongValue (varbind 1)" {
			t.Fatalf("error = %v", err)
		}
		if strings.Count(out.String(), "\n") != 3 {
			t.Errorf("the first request's varbinds should be printed: %q", out.String())
		}
	})
}

func TestSNMPErrorText(t *testing.T) {
	tree := testTree(t)
	oid := lookup(t, tree, "cTap2MediationStatus").OID.Append(1)
	tests := []struct {
		resp *gosnmp.SnmpPacket
		want string
	}{
		{&gosnmp.SnmpPacket{Error: gosnmp.InconsistentValue, ErrorIndex: 1}, "cTap2MediationStatus.1: inconsistentValue (varbind 1)"},
		{&gosnmp.SnmpPacket{Error: gosnmp.GenErr, ErrorIndex: 0}, "genErr (error index 0)"},
		{&gosnmp.SnmpPacket{Error: gosnmp.NotWritable, ErrorIndex: 7}, "notWritable (error index 7)"},
	}
	for _, tc := range tests {
		err := checkStatus(tree, tc.resp, []agentx.OID{oid})
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// streamTable is a fake agent holding two stream rows and a scalar after
// the table, so walks must stop at the subtree's end.
func streamTable(t *testing.T, tree *smi.Tree) []gosnmp.SnmpPDU {
	pkts := "." + lookup(t, tree, "cTap2StreamInterceptedPackets").OID.String()
	drops := "." + lookup(t, tree, "cTap2StreamInterceptDrops").OID.String()
	debugAge := "." + lookup(t, tree, "cTap2DebugAge").OID.String()
	return []gosnmp.SnmpPDU{
		{Name: pkts + ".1.2", Type: gosnmp.Counter32, Value: uint(10)},
		{Name: pkts + ".3.1", Type: gosnmp.Counter32, Value: uint(20)},
		{Name: drops + ".1.2", Type: gosnmp.Counter32, Value: uint(0)},
		{Name: drops + ".3.1", Type: gosnmp.Counter32, Value: uint(1)},
		{Name: debugAge + ".0", Type: gosnmp.Integer, Value: 60},
	}
}

func TestRunGet(t *testing.T) {
	tree := testTree(t)
	tests := []struct {
		name, line, want string
		v1               bool
		requests         int
	}{
		{"seed: walk a column with GETBULK", seedGet,
			"cTap2StreamInterceptedPackets.1.2 = 10\ncTap2StreamInterceptedPackets.3.1 = 20\n", false, 1},
		{"walk with GETNEXT under v1", "-v1 10.0.0.1 public cTap2StreamInterceptedPackets",
			"cTap2StreamInterceptedPackets.1.2 = 10\ncTap2StreamInterceptedPackets.3.1 = 20\n", true, 3},
		{"small bulk steps", "-max-repetitions 1 10.0.0.1 u cTap2StreamInterceptDrops",
			"cTap2StreamInterceptDrops.1.2 = 0\ncTap2StreamInterceptDrops.3.1 = 1\n", false, 3},
		{"walk to the end of the MIB view", "-v1 10.0.0.1 public cTap2DebugAge",
			"cTap2DebugAge.0 = 60\n", true, 2},
		{"instance with GET", "10.0.0.1 u cTap2StreamInterceptDrops.3.1 cTap2DebugAge.0",
			"cTap2StreamInterceptDrops.3.1 = 1\ncTap2DebugAge.0 = 60\n", false, 2},
		{"missing instance is shown", "10.0.0.1 u cTap2StreamInterceptDrops.9.9",
			"cTap2StreamInterceptDrops.9.9 = noSuchInstance\n", false, 1},
		{"empty subtree prints nothing", "10.0.0.1 u cTap2MediationTable", "", false, 2},
		{"numeric instance found by the fallback GET", "10.0.0.1 u " + strings.TrimPrefix(streamTable(t, tree)[0].Name, "."),
			"cTap2StreamInterceptedPackets.1.2 = 10\n", false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := ParseGet(words(tc.line), tree, NoDefaults())
			if err != nil {
				t.Fatal(err)
			}
			agent := &fakeAgent{data: streamTable(t, tree), v1: tc.v1}
			var out bytes.Buffer
			if err := RunGet(agent, tree, cmd, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tc.want)
			}
			if len(agent.requests) != tc.requests {
				t.Errorf("%d requests, want %d: %q", len(agent.requests), tc.requests, agent.requests)
			}
		})
	}
}

// backwards answers every GETNEXT with the same instance.
type backwards struct{ fakeAgent }

func (b *backwards) GetBulk(oids []string, _ uint8, _ uint32) (*gosnmp.SnmpPacket, error) {
	return &gosnmp.SnmpPacket{Variables: []gosnmp.SnmpPDU{b.data[0], b.data[0]}}, nil
}

func TestRunGetStopsWhenTheAgentGoesBackwards(t *testing.T) {
	tree := testTree(t)
	cmd, err := ParseGet(words(seedGet), tree, NoDefaults())
	if err != nil {
		t.Fatal(err)
	}
	agent := &backwards{fakeAgent{data: streamTable(t, tree)}}
	var out bytes.Buffer
	if err := RunGet(agent, tree, cmd, &out); err == nil || !strings.Contains(err.Error(), "walk went backwards") {
		t.Errorf("error = %v", err)
	}
}

// TestExitCodes runs the commands end to end with a fake agent: bad input
// exits 2 without dialling, a refused SET exits 1, success exits 0.
func TestExitCodes(t *testing.T) {
	tree := testTree(t)
	tests := []struct {
		name     string
		get      bool
		line     string
		setFail  map[int]gosnmp.SNMPError
		code     int
		dialled  bool
		stdout   string
		stderr   string
		requests int
	}{
		{name: "set ok", line: seed802, code: ExitOK, dialled: true, requests: 1,
			stdout: "c802tapStreamStatus.1.2 = createAndGo(4)\n"},
		{name: "set refused", line: seedMediation, setFail: map[int]gosnmp.SNMPError{1: gosnmp.InconsistentValue},
			code: ExitFailure, dialled: true, requests: 1,
			stderr: "setany: cTap2MediationStatus.1: inconsistentValue (varbind 1)\n"},
		{name: "bad hex sends nothing", line: strings.Replace(seedMediation, "0a:0a:00:35", "0a:0a:00:3g", 1),
			code: ExitUsage, stderr: `setany: cTap2MediationDestAddress.1: -o: hex "0a:0a:00:3g": byte 4 "3g" is not hex` + "\n"},
		{name: "missing value sends nothing", line: "10.0.0.1 user1 cTap2MediationStatus.1 -i 4 cTap2MediationDestPort.1 -g",
			code: ExitUsage, stderr: "setany: cTap2MediationDestPort.1: -g: missing value\n"},
		{name: "help", line: "-help", code: ExitOK, stdout: SetUsage},
		{name: "get ok", get: true, line: seedGet, code: ExitOK, dialled: true, requests: 1,
			stdout: "cTap2StreamInterceptedPackets.1.2 = 10\n"},
		{name: "get unknown name", get: true, line: "10.0.0.1 user1 nonsense", code: ExitUsage,
			stderr: `getmany: nonsense: unknown object name "nonsense"` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agent := &fakeAgent{data: streamTable(t, tree), setFail: tc.setFail}
			dialled := false
			var stdout, stderr bytes.Buffer
			e := Env{
				Stdout: &stdout, Stderr: &stderr, Getenv: env(map[string]string{"SNMPCONFPATH": t.TempDir()}),
				Tree: func() (*smi.Tree, error) { return tree, nil },
				Dial: func(Options, int) (Client, func(), error) {
					dialled = true
					return agent, func() {}, nil
				},
			}
			run := SetAny
			if tc.get {
				run = GetMany
			}
			code := run(e, words(tc.line))
			if code != tc.code || dialled != tc.dialled || len(agent.requests) != tc.requests {
				t.Errorf("exit %d dialled %v requests %d; want %d %v %d (stderr %q)", code, dialled,
					len(agent.requests), tc.code, tc.dialled, tc.requests, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want it to start with %q", stdout.String(), tc.stdout)
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}
