package testbed

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/netlab"
)

// TestNetNSLoopback runs the whole test bed inside a namespace that has
// nothing but its own loopback: everything must be reachable from the
// test through the bed's clients, which run in the namespace too.
func TestNetNSLoopback(t *testing.T) {
	t.Parallel()
	ns := netlab.New(t).AddNS("tb")
	bin := Build(t, "./internal/testbed/testdata/fakeagent")
	d := StartTrapdWith(t, TrapdOptions{NetNS: ns.Name})
	s := StartSnmpd(t, Options{NetNS: ns.Name, IPv6: true, TrapSinks: []string{d.Addr()}})
	a := StartTapagent(t, s, bin)

	if s.Listen != "127.0.0.1" || s.NetNS != ns.Name || d.Addr() != "127.0.0.1:"+strconv.Itoa(d.Port) {
		t.Fatalf("snmpd %s in %q, trapd %s", s.Addr(), s.NetNS, d.Addr())
	}
	if _, err := d.WaitFor(".1.3.6.1.6.3.1.1.5.1", 5*time.Second); err != nil {
		t.Errorf("coldStart inside the namespace: %v", err)
	}
	r, err := s.LIClient().Get([]string{tap2Object})
	if err != nil || r.Variables[0].Type != gosnmp.Integer || r.Variables[0].Value.(int) != 42 {
		t.Errorf("LI GET of the agent's object: %+v %v", r, err)
	}
	for _, c := range []struct{ name, tool, addr string }{
		{"IPv4", "snmpget", s.Addr()},
		{"IPv6", "snmpget", "udp6:[::1]:" + strconv.Itoa(s.Port6)},
	} {
		cmd := s.NetSNMPCommand(c.tool, s.Admin)
		cmd.Args = append(cmd.Args[:len(cmd.Args)-1], c.addr, SysDescr0) // replace the address
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"tapagent test bed"`) {
			t.Errorf("%s: %s: %v\n%s", c.name, strings.Join(cmd.Args, " "), err, out)
		}
	}
	// The processes run in the namespace, not in the test's.
	own, _ := os.Readlink("/proc/self/ns/net")
	for name, pid := range map[string]int{"snmpd": s.PID(), "agent": a.PID()} {
		if got, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); got == own || got == "" {
			t.Errorf("%s (pid %d) runs in namespace %q, the test's is %q", name, pid, got, own)
		}
	}
}
