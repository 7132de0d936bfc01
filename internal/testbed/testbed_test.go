package testbed

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

const tap2Object = Tap2MIB + ".1.1.1.0" // served by testdata/fakeagent

func TestSnmpdViews(t *testing.T) {
	t.Parallel()
	s := StartSnmpd(t, Options{})
	li, admin := s.LIClient(), s.AdminClient()
	tests := []struct {
		name     string
		client   *gosnmp.GoSNMP
		next     bool
		oid      string
		wantType gosnmp.Asn1BER
		wantName string // for GETNEXT: prefix the answer must (not) have
		wantIn   bool
	}{
		{name: "admin reads sysDescr", client: admin, oid: SysDescr0, wantType: gosnmp.OctetString},
		{name: "li cannot read sysDescr", client: li, oid: SysDescr0, wantType: gosnmp.NoSuchObject},
		{name: "li GET in TAP2 without agent", client: li, oid: tap2Object, wantType: gosnmp.NoSuchObject},
		{name: "admin GET in TAP2", client: admin, oid: tap2Object, wantType: gosnmp.NoSuchObject},
		{name: "li GETNEXT at TAP2 is end of view", client: li, next: true, oid: Tap2MIB, wantType: gosnmp.EndOfMibView},
		{name: "li GETNEXT below the LI trees", client: li, next: true, oid: ".1.3.6.1.4.1.9.9.1",
			wantType: gosnmp.EndOfMibView},
		{name: "admin GETNEXT skips the LI trees", client: admin, next: true, oid: ".1.3.6.1.4.1.9.9.393",
			wantName: ".1.3.6.1.4.1.9.9.3", wantIn: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *gosnmp.SnmpPacket
			var err error
			if tc.next {
				r, err = tc.client.GetNext([]string{tc.oid})
			} else {
				r, err = tc.client.Get([]string{tc.oid})
			}
			if err != nil {
				t.Fatalf("request %s: %v", tc.oid, err)
			}
			if r.Error != gosnmp.NoError || len(r.Variables) != 1 {
				t.Fatalf("%s: error %v, %d varbinds", tc.oid, r.Error, len(r.Variables))
			}
			vb := r.Variables[0]
			if tc.wantName != "" {
				for _, tree := range LITrees {
					if hasOIDPrefix(vb.Name, tree) {
						t.Fatalf("GETNEXT %s as admin returned %s inside LI tree %s", tc.oid, vb.Name, tree)
					}
				}
				return
			}
			if vb.Type != tc.wantType {
				t.Fatalf("%s: type %v (%v), want %v", tc.oid, vb.Type, vb.Value, tc.wantType)
			}
		})
	}
	r, err := admin.Get([]string{SysDescr0})
	if err != nil || string(r.Variables[0].Value.([]byte)) != "tapagent test bed" {
		t.Fatalf("sysDescr.0 = %v, %v; want the test bed's text", r, err)
	}
}

func TestSnmpdRejectsWrongPassphrase(t *testing.T) {
	t.Parallel()
	s := StartSnmpd(t, Options{LI: User{AuthPass: "otherAuthPass"}})
	if s.LI.AuthPass != "otherAuthPass" || s.LI.Name != "li" || s.LI.PrivPass == "" {
		t.Fatalf("LI user = %+v, want the override merged with defaults", s.LI)
	}
	wrong := s.LI
	wrong.AuthPass = "liAuthPass1-wrong"
	c, err := s.newClient(wrong, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Conn.Close()
	if r, err := c.Get([]string{tap2Object}); err == nil {
		t.Fatalf("GET with a wrong passphrase succeeded: %+v", r.Variables)
	}
	if _, err := s.LIClient().Get([]string{tap2Object}); err != nil {
		t.Fatalf("GET with the configured passphrase: %v", err)
	}
}

func TestNetSNMPTools(t *testing.T) {
	t.Parallel()
	s := StartSnmpd(t, Options{IPv6: true})
	adminFlags := s.NetSNMPArgs(s.Admin)
	adminFlags = adminFlags[:len(adminFlags)-1] // without the IPv4 address
	tests := []struct {
		name string
		cmd  *exec.Cmd
		want string
	}{
		{"admin snmpget with flags", s.NetSNMPCommand("snmpget", s.Admin, SysDescr0),
			`.1.3.6.1.2.1.1.1.0 = STRING: "tapagent test bed"`},
		{"li snmpget with flags", s.NetSNMPCommand("snmpget", s.LI, SysDescr0),
			".1.3.6.1.2.1.1.1.0 = No Such Object"},
		{"li defaults from SNMPCONFPATH", envCmd(s.NetSNMPEnv(), "snmpget", "-On", s.Addr(), tap2Object),
			tap2Object + " = No Such Object"},
		{"admin over IPv6", envCmd(s.NetSNMPEnv(), "snmpget", append(append([]string{"-On"},
			adminFlags...), "udp6:[::1]:"+itoa(s.Port6), ".1.3.6.1.2.1.1.5.0")...),
			`.1.3.6.1.2.1.1.5.0 = STRING: "tapagent-testbed"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.cmd, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s:\n%s\nwant %q", tc.cmd, out, tc.want)
			}
		})
	}
}

func envCmd(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	return cmd
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestSnmpdRestart(t *testing.T) {
	t.Parallel()
	s := StartSnmpd(t, Options{})
	old := s.AdminClient()
	firstPID := s.PID()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.PID() == 0 || s.PID() == firstPID {
		t.Fatalf("pid after restart %d, before %d", s.PID(), firstPID)
	}
	if alive(firstPID) {
		t.Fatalf("old snmpd %d still alive", firstPID)
	}
	fresh := s.AdminClient()
	for name, c := range map[string]*gosnmp.GoSNMP{"fresh client": fresh, "client from before": old} {
		if _, err := c.Get([]string{SysUpTime0}); err != nil {
			t.Errorf("%s after restart: %v", name, err)
		}
	}
	// The AgentX socket is back at the same path.
	conn, err := net.Dial("unix", s.AgentXSocket)
	if err != nil {
		t.Fatalf("AgentX socket after restart: %v", err)
	}
	conn.Close()

	s.Kill()
	if s.PID() != 0 {
		t.Fatal("PID() != 0 after Kill")
	}
	if _, err := fresh.Get([]string{SysUpTime0}); err == nil {
		t.Fatal("killed snmpd still answers")
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("restart after kill: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestTrapd(t *testing.T) {
	t.Parallel()
	d := StartTrapd(t, 0)
	// snmpd's trap2sink delivers its coldStart to the receiver.
	s := StartSnmpd(t, Options{TrapSinks: []string{d.Addr()}, TrapCommunity: "mdcommunity"})
	if _, err := d.WaitFor(".1.3.6.1.6.3.1.1.5.1", 5*time.Second); err != nil {
		t.Fatalf("coldStart from snmpd: %v", err)
	}
	if conf, _ := os.ReadFile(s.ConfPath); !strings.Contains(string(conf), "trap2sink "+d.Addr()+" mdcommunity") {
		t.Fatalf("snmpd.conf lacks the trap sink:\n%s", conf)
	}

	out, err := exec.Command("snmptrap", "-v2c", "-c", "public", "-m", "", d.Addr(), "",
		Tap2MIB+".0.3", Tap2MIB+".1.5.1.1.2.7", "s", "hello md").CombinedOutput()
	if err != nil {
		t.Fatalf("snmptrap: %v\n%s", err, out)
	}
	line, err := d.WaitFor(Tap2MIB+".0.3", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, `"hello md"`) || !strings.Contains(line, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "+Tap2MIB+".0.3") {
		t.Fatalf("trap line %q lacks the varbinds", line)
	}
	// Matching is by whole OID: a prefix or a longer OID does not match.
	for _, oid := range []string{Tap2MIB + ".0", Tap2MIB + ".0.30"} {
		if line, err := d.WaitFor(oid, 50*time.Millisecond); err == nil {
			t.Errorf("WaitFor(%s) matched %q", oid, line)
		}
	}
	lines, err := d.Lines()
	if err != nil || len(lines) != 2 {
		t.Fatalf("Lines() = %d lines, %v; want coldStart and ours", len(lines), err)
	}
}

func TestStartTapagentWithFakeAgent(t *testing.T) {
	t.Parallel()
	bin := Build(t, "./internal/testbed/testdata/fakeagent")
	s := StartSnmpd(t, Options{})
	a := StartTapagent(t, s, bin)
	r, err := s.LIClient().Get([]string{tap2Object})
	if err != nil {
		t.Fatal(err)
	}
	if vb := r.Variables[0]; vb.Type != gosnmp.Integer || vb.Value.(int) != 42 {
		t.Fatalf("li GET %s = %v %v, want INTEGER 42 from the subagent", tap2Object, vb.Type, vb.Value)
	}
	r, err = s.AdminClient().Get([]string{tap2Object})
	if err != nil || r.Variables[0].Type != gosnmp.NoSuchObject {
		t.Fatalf("admin GET %s = %+v, %v; want noSuchObject (view)", tap2Object, r, err)
	}
	if err := a.Stop(); err != nil {
		t.Fatalf("agent stop: %v", err)
	}
	if !strings.Contains(a.Log(), "--agentx") && !strings.Contains(a.Log(), "registered") {
		t.Fatalf("agent log lacks its start line:\n%s", a.Log())
	}
}

func TestStartAgentFailsFastWhenAgentDies(t *testing.T) {
	t.Parallel()
	s := StartSnmpd(t, Options{})
	a := &Agent{Bin: "/bin/false", LogPath: filepath.Join(s.Dir, "false.log")}
	var err error
	a.proc, err = startProcess("false", a.LogPath, nil, "/bin/false")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.waitRegistered(s, Tap2MIB, 10*time.Second); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("waitRegistered = %v, want an early exit error", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %v to notice the dead agent", time.Since(start))
	}
}

// TestCleanupEndsEverything runs a whole test bed in a subtest and checks
// that nothing of it survives the subtest.
func TestCleanupEndsEverything(t *testing.T) {
	t.Parallel()
	bin := Build(t, "./internal/testbed/testdata/fakeagent")
	var pids []int
	var dirs []string
	t.Run("bed", func(t *testing.T) {
		d := StartTrapd(t, 0)
		s := StartSnmpd(t, Options{TrapSinks: []string{d.Addr()}})
		a := StartTapagent(t, s, bin)
		pids = []int{d.proc.pid(), s.PID(), a.PID()}
		dirs = []string{d.Dir, s.Dir}
	})
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survived cleanup", pid)
		}
	}
	for _, dir := range dirs {
		if out, err := exec.Command("pgrep", "-f", dir).Output(); err == nil {
			t.Errorf("processes using %s survived cleanup: %s", dir, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("dir %s survived cleanup: %v", dir, err)
		}
	}
}

func TestSnmpdConfRejectsBadOptions(t *testing.T) {
	t.Parallel()
	gen, err := script("snmpd-conf.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"port 161", []string{"--dir", dir, "--port", "161"}, "port 161"},
		{"short passphrase", []string{"--dir", dir, "--li-auth", "short"}, "8 characters"},
		{"no dir", []string{"--port", "10161"}, "--dir is required"},
		{"unknown option", []string{"--dir", dir, "--bogus"}, "unknown option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("bash", append([]string{gen}, tc.args...)...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("snmpd-conf.sh %v = %v\n%s\nwant failure mentioning %q", tc.args, err, out, tc.want)
			}
		})
	}
}

func TestContainsOID(t *testing.T) {
	tests := []struct {
		line, oid string
		want      bool
	}{
		{"x: .1.2.3 = OID: .1.2.4", ".1.2.3", true},
		{"x: .1.2.3 = OID: .1.2.4", ".1.2.4", true},
		{"x: .1.2.30 = INTEGER: 1", ".1.2.3", false},
		{"x: .1.2.3.4 = INTEGER: 1", ".1.2.3", false},
		{"x: .9.1.2.3 = INTEGER: 1", ".1.2.3", false},
		{"x: .1.2.3.4 = INTEGER: 1\t.1.2.3 = INTEGER: 2", ".1.2.3", true},
	}
	for _, tc := range tests {
		if got := containsOID(tc.line, tc.oid); got != tc.want {
			t.Errorf("containsOID(%q, %q) = %v, want %v", tc.line, tc.oid, got, tc.want)
		}
	}
}

func TestReadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	content := "# comment\nA=plain\nB=with\\ space\\!\nC=''\nD=a=b\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := readEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "plain", "B": "with space!", "C": "", "D": "a=b"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if len(env) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(env), len(want), env)
	}
}
