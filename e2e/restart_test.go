package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/testbed"
)

// reconnectLimit is how soon after snmpd is back the LI rows must answer.
const reconnectLimit = 5 * time.Second

// quickClient is an li session with a short timeout, for polling a
// restarting snmpd (a fresh session each time: snmpd's engine boots change).
func quickClient(s *testbed.Snmpd, timeout time.Duration) (*gosnmp.GoSNMP, error) {
	c := &gosnmp.GoSNMP{
		Target: "127.0.0.1", Port: uint16(s.Port), Version: gosnmp.Version3,
		Timeout: timeout, Retries: 0, MaxOids: gosnmp.MaxOids,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			UserName: s.LI.Name, AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: s.LI.AuthPass,
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: s.LI.PrivPass,
		},
	}
	if err := c.Connect(); err != nil {
		return nil, fmt.Errorf("connect %s: %w", s.Addr(), err)
	}
	return c, nil
}

// waitAnswering polls GET o as li until it returns want, and returns when.
func waitAnswering(t *testing.T, s *testbed.Snmpd, o string, want int, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := "no answer"
	for time.Now().Before(deadline) {
		c, err := quickClient(s, 300*time.Millisecond)
		if err == nil {
			r, err := c.Get([]string{o})
			c.Conn.Close()
			switch {
			case err != nil:
				last = err.Error()
			case len(r.Variables) == 1 && r.Variables[0].Type == gosnmp.Integer && r.Variables[0].Value == want:
				return time.Now()
			case len(r.Variables) == 1:
				last = fmt.Sprintf("%v %v", r.Variables[0].Type, r.Variables[0].Value)
			}
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not read %d within %v (last: %s)", o, want, limit, last)
	return time.Time{}
}

// TestSnmpdRestart kills snmpd (SIGKILL, as a crash: no AgentX Close, the
// socket file left behind) and starts it again, at once and after an
// outage: the same tapagent process reconnects, and all rows of every
// table answer unchanged less than 5 s after snmpd is started again.
func TestSnmpdRestart(t *testing.T) {
	b := startBed(t)
	populate(t, b)
	before := b.snapshot()
	pid := b.agent.PID()
	probe := oid(mdEntry, mdStatus, 10)

	cases := []struct {
		name   string
		outage time.Duration // snmpd down before it is started again
	}{
		{"kill and restart at once", 0},
		{"kill, down 3 s, restart", 3 * time.Second},
	}
	parent := t
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.snmpd.Kill()
			time.Sleep(tc.outage)
			start := time.Now()
			if err := b.snmpd.Restart(); err != nil {
				t.Fatal(err)
			}
			back := waitAnswering(t, b.snmpd, probe, rsActive, 2*reconnectLimit)
			if took := back.Sub(start); took >= reconnectLimit {
				t.Errorf("rows answered %v after snmpd was started again, want < %v", took.Round(time.Millisecond), reconnectLimit)
			} else {
				t.Logf("rows answered %v after snmpd was started again", took.Round(time.Millisecond))
			}
			// A new session: the old one knows the old engine boots.
			li, err := b.snmpd.Client(b.snmpd.LI)
			if err != nil {
				t.Fatal(err)
			}
			parent.Cleanup(func() { li.Conn.Close() }) // b.li outlives the subtest
			b.li = li
			if after := b.in(t).snapshot(); after != before {
				t.Errorf("rows changed across the restart:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			select {
			case <-b.agent.Exited():
				t.Fatal("tapagent exited")
			default:
			}
			if b.agent.PID() != pid {
				t.Errorf("tapagent pid %d, was %d", b.agent.PID(), pid)
			}
		})
	}
	// Still writable through the new session.
	b.set(vInt(oid(streamEntry, stEnable, 1, 2), truthFalse))
	if p := b.get(oid(streamEntry, stEnable, 1, 2)); p.Value != truthFalse {
		t.Errorf("after the restarts cTap2StreamInterceptEnable.1.2 = %v, want false(2)", p.Value)
	}
}
