package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/internal/netlab"
	"tapagent/internal/testbed"
	"tapagent/lb"
	"tapagent/mibs/ilb"
)

// The ILB control plane end to end: the ilbadm binary speaks SNMPv3 to a
// real snmpd, which hands the ILB subtree over AgentX to an in-process
// subagent running the ILB binding over the real lb engine; the engine
// programs nftables in a network namespace of its own.

const ilbTree = ".1.3.6.1.4.1.8072.9999.9999.1"

type ilbAgent struct {
	engine *lb.Engine
	store  lb.FileStore
	stop   func()
}

// startILBAgent runs the engine in ns and the binding as a subagent of s
// until the test ends or stop is called.
func startILBAgent(t *testing.T, s *testbed.Snmpd, ns *netlab.NS, storeDir string) *ilbAgent {
	t.Helper()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	entry := logrus.NewEntry(log)
	store := lb.FileStore{Dir: storeDir}
	engine, err := lb.New(lb.Options{NetNS: "/var/run/netns/" + ns.Name, Store: store, Slots: 4})
	if err != nil {
		t.Fatalf("lb engine: %v", err)
	}
	sub := agent.New(agent.Config{Address: "unix:" + s.AgentXSocket, Descr: "tapagent e2e: ILB binding",
		Logger: entry, PingInterval: -1})
	binding := ilb.New(engine, sub, entry)
	if err := sub.Register(binding.Handler()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go binding.Run(ctx)
	go func() { done <- sub.Run(ctx) }()
	var once bool
	stop := func() {
		if once {
			return
		}
		once = true
		cancel()
		<-done
		engine.Close()
	}
	t.Cleanup(stop)
	select {
	case <-sub.Ready():
	case err := <-done:
		t.Fatalf("ILB subagent ended: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("ILB subagent did not register within 15 s")
	}
	if err := s.WaitRegistered(ilbTree, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return &ilbAgent{engine: engine, store: store, stop: stop}
}

// ilbadmRunner runs the ilbadm binary with the admin user's credentials
// from an snmp.conf of its own (the test bed's names the li user, whose
// view excludes the ILB tree).
type ilbadmRunner struct {
	bin, confDir, agent string
}

func newIlbadm(t *testing.T, s *testbed.Snmpd) *ilbadmRunner {
	dir := t.TempDir()
	conf := fmt.Sprintf("defSecurityName %s\ndefSecurityLevel authPriv\ndefAuthType SHA\ndefAuthPassphrase %s\ndefPrivType AES\ndefPrivPassphrase %s\ntimeout 8\nretries 0\n",
		s.Admin.Name, s.Admin.AuthPass, s.Admin.PrivPass)
	if err := os.WriteFile(filepath.Join(dir, "snmp.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return &ilbadmRunner{bin: testbed.Build(t, "./cmd/ilbadm"), confDir: dir, agent: s.Addr()}
}

func (r *ilbadmRunner) run(args ...string) (code int, stdout, stderr string) {
	cmd := exec.Command(r.bin, append([]string{"--agent", r.agent}, args...)...)
	cmd.Env = append(os.Environ(), "SNMPCONFPATH="+r.confDir, "HOME="+r.confDir)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		code = 99
	}
	return code, out.String(), errOut.String()
}

func (r *ilbadmRunner) must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := r.run(args...)
	if code != 0 {
		t.Fatalf("ilbadm %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func TestILBControlPlane(t *testing.T) {
	s := testbed.StartSnmpd(t, testbed.Options{})
	l := netlab.New(t)
	ns := l.AddNS("lb")
	a := startILBAgent(t, s, ns, t.TempDir())
	adm := newIlbadm(t, s)

	adm.must(t, "create-healthcheck", "-h", "hc-test=tcp,hc-timeout=2,hc-count=2,hc-interval=30", "hc1")
	adm.must(t, "create-servergroup", "-s", "server=198.18.2.2:8080,198.18.3.2:8080", "web")
	adm.must(t, "create-rule", "-e", "-i", "vip=198.18.1.1,port=80", "-m", "lbalg=rr,type=HALF-NAT",
		"-h", "hc-name=hc1", "-o", "servergroup=web", "web1")
	if out := adm.must(t, "show-rule", "-p", "-o", "rulename,status,type,vip,port,servers"); out != "web1:E:HALF-NAT:198.18.1.1:80:_web.0,_web.1\n" {
		t.Errorf("show-rule -p: %q", out)
	}
	cfg := a.engine.Config()
	if r := cfg.Rule("web1"); r == nil || !r.Enabled || r.Topology != lb.HalfNAT || len(cfg.Groups) != 1 {
		t.Fatalf("engine configuration: %+v", cfg)
	}
	table, err := ns.Command("nft", "list", "table", "inet", lb.TableName).CombinedOutput()
	if err != nil || !strings.Contains(string(table), "198.18.1.1") {
		t.Errorf("the data plane has no rule for the VIP (%v):\n%s", err, table)
	}
	if out := adm.must(t, "show-server", "-p", "-o", "serverid,address,status", "WEB1"); out != "_web.0:198.18.2.2:E\n_web.1:198.18.3.2:E\n" {
		t.Errorf("show-server: %q", out)
	}
	adm.must(t, "disable-server", "_web.1")
	if _, srv := a.engine.Config().Server("_web.1"); srv == nil || srv.Enabled {
		t.Errorf("server not disabled: %+v", srv)
	}
	if out := adm.must(t, "show-stats", "-A", "-p", "-o", "PKT_P,PKT_D"); out != "0:0\n" {
		t.Errorf("show-stats: %q", out)
	}
	if out := adm.must(t, "show-hc-result", "web1"); !strings.Contains(out, "_web.1   disabled") {
		t.Errorf("show-hc-result:\n%s", out)
	}

	// Bad input: one line on stderr, a non-zero exit, nothing created.
	before := a.engine.Config()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create-rule", "-i", "vip=198.18.1.1,port=80", "-m", "type=h", "-o", "servergroup=web", "WEB1"}, "rule WEB1: exists"},
		{[]string{"create-rule", "-i", "vip=198.18.1.1,port=1-100", "-m", "type=h", "-o", "servergroup=web", "r2"}, "overlaps rule web1"},
		{[]string{"create-rule", "-i", "vip=198.18.1.2,port=80", "-m", "type=h", "-o", "servergroup=nope", "r3"}, "no server group nope"},
		{[]string{"create-rule", "-i", "vip=198.18.1.2,port=80", "-m", "type=h", "-o", "servergroup=web", "a-name-of-twenty-chr"}, "too long"},
		{[]string{"create-rule", "-i", "vip=198.18.1.2,port=80", "-m", "type=nat,proxy-src=198.18.9.1-198.18.9.11", "-o", "servergroup=web", "r4"}, "more than 10 addresses"},
		{[]string{"create-rule", "-i", "vip=198.18.1.2,port=80", "-m", "type=h,pmask=24", "-o", "servergroup=web", "r5"}, "pmask needs a persistent rule (-p)"},
		{[]string{"create-servergroup", "-s", "server=198.18.4.2,198.18.4.2", "db"}, "already belongs to _db.0"},
		{[]string{"delete-servergroup", "web"}, "used by rule web1"},
	} {
		code, out, errOut := adm.run(tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("ilbadm %s: exit %d, stderr %q; want an error with %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
	if after := a.engine.Config(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused commands changed the configuration:\n%+v\nwas\n%+v", after, before)
	}

	// export-config, then import-config on a fresh agent (new engine,
	// empty store, its own namespace) reproduces the configuration.
	file := filepath.Join(t.TempDir(), "ilb.conf")
	adm.must(t, "export-config", file)
	want := a.engine.Config()
	a.stop()
	fresh := startILBAgent(t, s, l.AddNS("lb2"), t.TempDir())
	adm.must(t, "create-servergroup", "stale") // the import replaces it
	adm.must(t, "import-config", file)
	if got := fresh.engine.Config(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("imported configuration\n%+v\nwant\n%+v", got, want)
	}
	again := filepath.Join(t.TempDir(), "again.conf")
	adm.must(t, "export-config", again)
	x, _ := os.ReadFile(file)
	y, _ := os.ReadFile(again)
	if string(x) != string(y) {
		t.Errorf("export after import differs:\n%s\nwas\n%s", y, x)
	}
}
