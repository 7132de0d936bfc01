package netlab

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/testbed"
)

// TestSnmpdInRouterNamespace runs the private snmpd, a subagent and the
// MD's snmptrapd where the data-plane tests need them: snmpd and agent in
// the router namespace on its management address, snmptrapd in the md
// namespace on port 161.
func TestSnmpdInRouterNamespace(t *testing.T) {
	t.Parallel()
	r := NewRouterLab(t)
	fake := testbed.Build(t, "./internal/testbed/testdata/fakeagent")
	trapd := testbed.StartTrapdWith(t, testbed.TrapdOptions{NetNS: r.MD.Name, Listen: r.MD.If.IPv4().String(), Port: 161})
	s := testbed.StartSnmpd(t, testbed.Options{
		NetNS:     r.Router.Name,
		Listen:    r.RouterMgmt.IPv4().String(),
		TrapSinks: []string{trapd.Addr()},
	})
	a := testbed.StartTapagent(t, s, fake)

	// snmpd's coldStart crossed the router to the MD.
	if _, err := trapd.WaitFor(".1.3.6.1.6.3.1.1.5.1", 5*time.Second); err != nil {
		t.Errorf("coldStart at the MD: %v", err)
	}
	for _, p := range []struct {
		name string
		pid  int
		ns   *NS
	}{{"snmpd", s.PID(), r.Router}, {"agent", a.PID(), r.Router}} {
		if got, want := netnsOf(t, p.pid), nsInode(t, p.ns); got != want {
			t.Errorf("%s runs in namespace %s, want %s's %s", p.name, got, p.ns.Name, want)
		}
	}

	tap2Object := testbed.Tap2MIB + ".1.1.1.0" // served by fakeagent
	// A client made by the test bed: its socket lives in the router ns.
	if got := getInt(t, s.LIClient(), tap2Object); got != 42 {
		t.Errorf("LI GET through the router's snmpd = %d, want 42 from the subagent", got)
	}
	// A plain client in the test's own namespace reaches snmpd over the
	// management link.
	direct := &gosnmp.GoSNMP{
		Target: s.Listen, Port: uint16(s.Port), Version: gosnmp.Version3, Timeout: 5 * time.Second,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			UserName: s.LI.Name, AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: s.LI.AuthPass,
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: s.LI.PrivPass,
		},
	}
	if err := direct.Connect(); err != nil {
		t.Fatal(err)
	}
	defer direct.Conn.Close()
	if got := getInt(t, direct, tap2Object); got != 42 {
		t.Errorf("LI GET over the management link = %d, want 42", got)
	}
	// net-snmp tools run inside the namespace too.
	out, err := s.NetSNMPCommand("snmpget", s.LI, tap2Object).CombinedOutput()
	if err != nil || !strings.Contains(string(out), tap2Object+" = INTEGER: 42") {
		t.Errorf("snmpget in the router namespace: %v\n%s", err, out)
	}
}

func getInt(t *testing.T, c *gosnmp.GoSNMP, oid string) int {
	t.Helper()
	res, err := c.Get([]string{oid})
	if err != nil {
		t.Fatalf("GET %s: %v", oid, err)
	}
	v := res.Variables[0]
	if v.Type != gosnmp.Integer {
		t.Fatalf("GET %s: %v %v", oid, v.Type, v.Value)
	}
	return v.Value.(int)
}

// netnsOf is the network namespace of a process, as "net:[inode]".
func netnsOf(t *testing.T, pid int) string {
	t.Helper()
	link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// nsInode is ns in the same form as netnsOf.
func nsInode(t *testing.T, ns *NS) string {
	t.Helper()
	var link string
	err := ns.Do(func() error {
		var err error
		link, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return link
}
