package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/testbed"
)

// TestTapagentSIGTERM: SIGTERM ends tapagent with exit status 0 within the
// test bed's grace period, and it leaves snmpd cleanly: its subtrees stop
// answering at once (Close, not a timeout).
func TestTapagentSIGTERM(t *testing.T) {
	t.Parallel()
	b := startBed(t)
	b.set(mdRow(1, mustHex(futureTimeout(24*time.Hour)))...)
	start := time.Now()
	if err := b.agent.Stop(); err != nil { // SIGTERM; an error unless exit 0
		t.Fatalf("SIGTERM: %v\n%s", err, b.agent.Log())
	}
	t.Logf("tapagent exited 0 %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if log := b.agent.Log(); !strings.Contains(log, "tapagent stopped") {
		t.Errorf("tapagent log has no clean stop:\n%s", log)
	}
	// snmpd no longer routes the TAP trees anywhere.
	deadline := time.Now().Add(2 * time.Second)
	for {
		r, err := b.li.GetNext([]string{tap2Tree})
		if err != nil {
			t.Fatal(err)
		}
		p := r.Variables[0]
		if !strings.HasPrefix(p.Name, tap2Tree+".") || p.Type == gosnmp.EndOfMibView {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after tapagent exited snmpd still answers %s = %v", p.Name, p.Value)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mustHex keeps the plain hex form of futureTimeout.
func mustHex(_, plain string) string { return plain }

// freeTCPPort is a TCP port free on 127.0.0.1 right now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTapagentTCP: with snmpd's AgentX master on a loopback TCP port only,
// `tapagent --agentx tcp:127.0.0.1:PORT` registers and serves SETs and GETs.
func TestTapagentTCP(t *testing.T) {
	t.Parallel()
	bin := testbed.BuildBinaries(t)
	s := testbed.StartSnmpd(t, testbed.Options{})
	port := freeTCPPort(t)
	conf, err := os.ReadFile(s.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	sockLine := regexp.MustCompile(`(?m)^agentXSocket .*$`)
	if !sockLine.Match(conf) {
		t.Fatalf("no agentXSocket line in %s", s.ConfPath)
	}
	master := fmt.Sprintf("tcp:127.0.0.1:%d", port)
	conf = sockLine.ReplaceAll(conf, []byte("agentXSocket "+master))
	if err := os.WriteFile(s.ConfPath, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	// Args come after the test bed's "--agentx unix:…": the last one wins.
	a := testbed.StartAgent(t, s, testbed.AgentOptions{
		Bin:        bin.Tapagent,
		Args:       []string{"--log-level", "debug", "--capture", "none", "--agentx", master},
		WaitPrefix: testbed.Tap2MIB,
	})
	if log := a.Log(); !strings.Contains(log, `master="`+master+`"`) {
		t.Errorf("tapagent log does not show the TCP master %s:\n%s", master, log)
	}
	b := &bed{t: t, snmpd: s, agent: a, bin: bin, li: s.LIClient()}
	b.set(mdRow(5, mustHex(futureTimeout(24*time.Hour)))...)
	if p := b.get(oid(mdEntry, mdStatus, 5)); p.Value != rsActive {
		t.Errorf("over TCP AgentX: cTap2MediationStatus.5 = %v %v, want active(1)", p.Type, p.Value)
	}
}

// TestTapagentRefusesRemoteTCP: a TCP master off loopback is refused before
// any connection, with an error naming the address and a non-zero exit.
func TestTapagentRefusesRemoteTCP(t *testing.T) {
	t.Parallel()
	bin := testbed.BuildBinaries(t)
	for _, addr := range []string{"tcp:192.0.2.1:705", "tcp::705", "tcp:0.0.0.0:705"} {
		start := time.Now()
		res := runCmd(t, exec.Command(bin.Tapagent, "--agentx", addr))
		took := time.Since(start)
		if res.code == 0 {
			t.Errorf("tapagent --agentx %s: exit 0, want a failure\n%s", addr, res)
			continue
		}
		lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "tapagent: ") || !strings.Contains(last, addr) ||
			!strings.Contains(last, "refused") || !strings.Contains(last, "loopback") {
			t.Errorf("tapagent --agentx %s: last stderr line %q, want the address and why it is refused", addr, last)
		}
		if took > 3*time.Second {
			t.Errorf("tapagent --agentx %s took %v to give up; it should not try to connect", addr, took)
		}
	}
}
