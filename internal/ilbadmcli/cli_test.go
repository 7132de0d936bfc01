package ilbadmcli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/internal/snmpcli"
	"tapagent/lb"
	"tapagent/mibs/ilb"
	"tapagent/mibs/ilb/ilbtest"
)

// inProcess is an SNMP agent in this process: the ILB binding over an
// in-memory engine, reached without sockets. Sets counts SET requests.
type inProcess struct {
	h    agent.Handler
	Sets int
}

func (a *inProcess) Get(oids []string) (*gosnmp.SnmpPacket, error) {
	return nil, errors.New("not used")
}
func (a *inProcess) GetNext(oids []string) (*gosnmp.SnmpPacket, error) {
	return nil, errors.New("not used")
}

func (a *inProcess) GetBulk(oids []string, _ uint8, maxRep uint32) (*gosnmp.SnmpPacket, error) {
	cur := agentx.MustParseOID(oids[0])
	var out []gosnmp.SnmpPDU
	for range maxRep {
		vb, ok := a.h.Next(cur, false, nil)
		if !ok {
			out = append(out, gosnmp.SnmpPDU{Name: "." + cur.String(), Type: gosnmp.EndOfMibView})
			break
		}
		out = append(out, toGosnmp(vb))
		cur = vb.Name
	}
	return &gosnmp.SnmpPacket{Variables: out}, nil
}

func toGosnmp(vb agentx.VarBind) gosnmp.SnmpPDU {
	p := gosnmp.SnmpPDU{Name: "." + vb.Name.String()}
	switch v := vb.Value; v.Type {
	case agentx.TypeInteger:
		p.Type, p.Value = gosnmp.Integer, int(v.Int)
	case agentx.TypeOctetString:
		p.Type, p.Value = gosnmp.OctetString, v.Bytes
	case agentx.TypeGauge32:
		p.Type, p.Value = gosnmp.Gauge32, uint(v.Uint)
	case agentx.TypeCounter64:
		p.Type, p.Value = gosnmp.Counter64, v.Uint
	case agentx.TypeTimeTicks:
		p.Type, p.Value = gosnmp.TimeTicks, uint32(v.Uint)
	}
	return p
}

func (a *inProcess) Set(pdus []gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error) {
	a.Sets++
	vbs := make([]agent.SetVarBind, len(pdus))
	for i, p := range pdus {
		vb := agentx.VarBind{Name: agentx.MustParseOID(p.Name)}
		switch p.Type {
		case gosnmp.Integer:
			vb.Value = agentx.Integer(int32(p.Value.(int)))
		case gosnmp.OctetString:
			vb.Value = agentx.OctetString(p.Value.([]byte))
		case gosnmp.Gauge32:
			vb.Value = agentx.Gauge32(p.Value.(uint32))
		}
		vbs[i] = agent.SetVarBind{Index: i + 1, VarBind: vb}
	}
	tx, serr := a.h.TestSet(vbs)
	if serr == nil {
		serr = tx.Commit()
		tx.Cleanup()
	}
	if serr != nil {
		return &gosnmp.SnmpPacket{Error: gosnmp.SNMPError(serr.Status), ErrorIndex: uint8(serr.Index)}, nil
	}
	return &gosnmp.SnmpPacket{}, nil
}

type lab struct {
	engine *ilbtest.Engine
	agent  *inProcess
}

func newLab() *lab {
	e := ilbtest.NewEngine(nil)
	return &lab{engine: e, agent: &inProcess{h: ilb.New(e, nil, nil).Handler()}}
}

// run executes one ilbadm command line and returns exit code, stdout and
// stderr.
func (l *lab) run(t *testing.T, line string, stdin ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{
		Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(strings.Join(stdin, "")),
		Getenv: func(string) string { return "" },
		Dial: func(o snmpcli.Options) (snmpcli.Client, func(), error) {
			if o.Principal != "admin" {
				t.Errorf("user %q", o.Principal)
			}
			return l.agent, func() {}, nil
		},
		Now:   func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		Sleep: func(time.Duration) {},
	}
	args := append([]string{"--agent", "127.0.0.1:10161", "-u", "admin", "-level", "noAuthNoPriv"}, splitTest(line)...)
	code := Main(env, args)
	return code, out.String(), errOut.String()
}

func splitTest(line string) []string {
	w, err := splitWords(line)
	if err != nil {
		panic(err)
	}
	return w
}

func (l *lab) must(t *testing.T, line string) string {
	t.Helper()
	code, out, errOut := l.run(t, line)
	if code != ExitOK {
		t.Fatalf("%s: exit %d: %s", line, code, errOut)
	}
	return out
}

func provision(t *testing.T, l *lab) {
	l.must(t, "create-healthcheck -h hc-test=tcp,hc-timeout=2,hc-count=3,hc-interval=10 hc1")
	l.must(t, "create-servergroup -s server=198.18.2.2:8080,198.18.3.2:8080 web")
	l.must(t, "create-rule -e -i vip=198.18.1.1,port=80 -m lbalg=rr,type=h -h hc-name=hc1 -o servergroup=web Web1")
}

func TestCreateShowDelete(t *testing.T) {
	l := newLab()
	provision(t, l)
	cfg := l.engine.Config()
	if len(cfg.Rules) != 1 || len(cfg.Groups[0].Servers) != 2 || cfg.Rules[0].HCName != "hc1" || !cfg.Rules[0].Enabled {
		t.Fatalf("engine: %+v", cfg)
	}
	out := l.must(t, "show-rule")
	want := "RULENAME STATUS LBALG      TYPE     PROTOCOL VIP        PORT\nWeb1     E      roundrobin HALF-NAT TCP      198.18.1.1 80\n"
	if out != want {
		t.Errorf("show-rule:\n%s\nwant\n%s", out, want)
	}
	if out := l.must(t, "show-rule -p -o rulename,vip,servers web1"); out != "Web1:198.18.1.1:_web.0,_web.1\n" {
		t.Errorf("show-rule -p: %q", out)
	}
	if out := l.must(t, "show-rule -f"); !strings.Contains(out, "    SERVERGROUP: web\n") || !strings.Contains(out, "NAT-TIMEOUT: 120") {
		t.Errorf("show-rule -f:\n%s", out)
	}
	if out := l.must(t, "show-sg -p -o sgname,serverid,minport,ip_address"); out != "web:_web.0:8080:198.18.2.2\nweb:_web.1:8080:198.18.3.2\n" {
		t.Errorf("show-sg -p: %q", out)
	}
	if out := l.must(t, "show-sg -s"); out != "web: id:_web.0 198.18.2.2:8080\nweb: id:_web.1 198.18.3.2:8080\n" {
		t.Errorf("show-sg -s: %q", out)
	}
	l.must(t, "disable-server 198.18.3.2")
	if out := l.must(t, "show-server -p -o serverid,status,rulename"); out != "_web.0:E:Web1\n_web.1:D:Web1\n" {
		t.Errorf("show-server: %q", out)
	}
	if out := l.must(t, "show-hc"); !strings.Contains(out, "hc1    2       3     10       Y        tcp") {
		t.Errorf("show-hc:\n%s", out)
	}
	if out := l.must(t, "show-hc-result"); !strings.Contains(out, "Web1     hc1    _web.1   disabled") || !strings.Contains(out, "_web.0   uninit") {
		t.Errorf("show-hc-result:\n%s", out)
	}
	if out := l.must(t, "show-stats -A -r web1 -i 1 2"); strings.Count(out, "_web.0") != 2 || !strings.HasPrefix(out, "SERVERNAME PKT_P BYTES_P") {
		t.Errorf("show-stats:\n%s", out)
	}
	if out := l.must(t, "show-stats -t"); out != "PKT_P BYTES_P PKT_U BYTES_U PKT_D BYTES_D TIME\n0     0       0     0       0     0       2026-01-02:03.04.05\n" {
		t.Errorf("show-stats -t:\n%q", out)
	}
	l.must(t, "disable-rule WEB1")
	if l.engine.Config().Rules[0].Enabled {
		t.Error("rule still enabled")
	}
	l.must(t, "add-server -s server=198.18.4.2:8080 web")
	l.must(t, "remove-server -s server=_web.0 web")
	l.must(t, "add-server -s server=198.18.5.2:8080 web")
	if g := l.engine.Config().Group("web"); len(g.Servers) != 3 || g.Servers[0].ID != "_web.0" || g.Servers[0].Addr.String() != "198.18.5.2" {
		t.Errorf("lowest free ID not reused: %+v", g.Servers)
	}
	l.must(t, "delete-rule -a")
	l.must(t, "delete-sg web")
	l.must(t, "delete-hc hc1")
	if cfg := l.engine.Config(); len(cfg.Rules)+len(cfg.Groups)+len(cfg.HealthChecks) != 0 {
		t.Errorf("left over: %+v", cfg)
	}
}

// Bad input gives one line on stderr, a non-zero exit and no change.
func TestRefusedChanges(t *testing.T) {
	cases := []struct{ line, want string }{
		{"create-rule -i vip=198.18.1.1,port=80 -m type=h -o servergroup=web Web1", "rule Web1: exists"},
		{"create-rule -i vip=198.18.1.1,port=70-90 -m type=h -o servergroup=web other", "overlaps rule Web1"},
		{"create-rule -i vip=198.18.1.1,port=81 -m type=h -o servergroup=nope r2", "no server group nope"},
		{"create-rule -i vip=198.18.1.1,port=82 -m type=h -o servergroup=web abcdefghijklmnopqrst", "too long"},
		{"create-rule -i vip=198.18.1.1,port=83 -m type=nat,proxy-src=198.18.8.1-198.18.8.11 -o servergroup=web r3", "more than 10 addresses"},
		{"create-rule -i vip=198.18.1.1,port=84 -m type=h,pmask=24 -o servergroup=web r4", "pmask needs a persistent rule (-p)"},
		{"create-rule -i vip=198.18.1.1,port=85 -m type=h -h hc-name=nohc -o servergroup=web r5", "no health check nohc"},
		{"create-servergroup -s server=198.18.2.9,198.18.2.9 db", "already belongs to _db.0"},
		{"create-servergroup web", "server group web: exists"},
		{"delete-servergroup web", "used by rule Web1"},
		{"delete-rule nothere", "no such rule"},
		{"enable-server 198.18.9.9", "no such server"},
		{"remove-server -s server=_web.7 web", "not in server group web"},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			l := newLab()
			provision(t, l)
			before, sets := l.engine.Config(), l.agent.Sets
			code, out, errOut := l.run(t, tc.line)
			if code == ExitOK || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want an error with %q", code, errOut, out, tc.want)
			}
			if l.agent.Sets != sets {
				t.Errorf("a refused command sent %d SETs", l.agent.Sets-sets)
			}
			if got := l.engine.Config(); len(got.Groups) != len(before.Groups) || len(got.Rules) != len(before.Rules) {
				t.Errorf("configuration changed: %+v", got)
			}
		})
	}
}

// The agent's refusal (here: a rule created meanwhile by another
// manager) is reported by object and meaning.
func TestAgentRefusalIsNamed(t *testing.T) {
	l := newLab()
	provision(t, l)
	r := lb.NewRule("late")
	r.VIP, r.Topology, r.ServerGroup = l.engine.Config().Rules[0].VIP, lb.HalfNAT, "web"
	r.Ports.Min = 443
	// The CLI read the configuration before this rule existed: make the
	// agent see it only at SET time.
	err := l.engine.Update(func(c *lb.Config) error { return c.CreateRule(r) })
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := l.run(t, "create-rule -i vip=198.18.1.1,port=443 -m type=h -o servergroup=web mine")
	// The rows of the binding do not know "late" (it was made behind its
	// back), so the CLI's own check passes and the agent refuses.
	if code != ExitFailure || !strings.Contains(errOut, "the agent refused rule mine") || !strings.Contains(errOut, "conflicts with the running configuration") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	l := newLab()
	provision(t, l)
	l.must(t, "create-hc -n -h hc-test=/bin/true,hc-interval=5 ext")
	l.must(t, "create-sg -s server=[2001:db8::2],[2001:db8::3]:8000-8009 v6")
	l.must(t, "create-rule -p -i vip=2001:db8::1,port=8000-8009,protocol=udp -m lbalg=hash-ip-port,type=nat,proxy-src=2001:db8::100-2001:db8::103,pmask=64 -h hc-name=ext,hc-port=ALL -t conn-drain=10,nat-timeout=20,persist-timeout=30 -o servergroup=v6 v6rule")
	l.must(t, "remove-server -s server=_web.0 web")
	l.must(t, "add-server -s server=198.18.6.2 web")
	l.must(t, "disable-server _web.1")
	dir := t.TempDir()
	file := filepath.Join(dir, "ilb.conf")
	l.must(t, "export-config "+file)
	text, _ := os.ReadFile(file)
	if !strings.Contains(string(text), "create-rule -e -i vip=198.18.1.1,port=80,protocol=tcp -m lbalg=roundrobin,type=HALF-NAT -h hc-name=hc1,hc-port=ANY") {
		t.Errorf("export:\n%s", text)
	}

	fresh := newLab()
	fresh.must(t, "create-sg stale") // replaced by the import
	fresh.must(t, "import-config "+file)
	if got, want := fresh.engine.Config(), l.engine.Config(); !sameConfig(got, want) {
		t.Errorf("import gave\n%+v\nwant\n%+v", got, want)
	}
	if n := fresh.agent.Sets; n != 2 {
		t.Errorf("import took %d SETs, want 1 (plus the create-sg)", n-1)
	}
	// -p keeps what is there; importing the same again then clashes.
	code, _, errOut := fresh.run(t, "import-config -p", string(text))
	if code == ExitOK || !strings.Contains(errOut, "exists") {
		t.Errorf("incremental re-import: exit %d %s", code, errOut)
	}
	// Replacing with an empty file empties the configuration.
	fresh.must(t, "import-config /dev/null")
	if c := fresh.engine.Config(); len(c.Groups)+len(c.Rules)+len(c.HealthChecks) != 0 {
		t.Errorf("empty import left %+v", c)
	}
}

// sameConfig compares configurations; rules compare by name (the walk
// returns them in name order, not creation order).
func sameConfig(a, b *lb.Config) bool {
	if len(a.Rules) != len(b.Rules) {
		return false
	}
	for _, r := range a.Rules {
		o := b.Rule(r.Name)
		if o == nil || *o != r {
			return false
		}
	}
	for _, h := range a.HealthChecks {
		if o := b.HealthCheck(h.Name); o == nil || *o != h {
			return false
		}
	}
	x, y := *a, *b
	x.Rules, y.Rules, x.HealthChecks, y.HealthChecks = nil, nil, nil, nil
	return strings.Join(ExportLines(&x), "\n") == strings.Join(ExportLines(&y), "\n") &&
		len(x.Groups) == len(y.Groups) && groupsEqual(x.Groups, y.Groups)
}

func groupsEqual(a, b []lb.ServerGroup) bool {
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Servers) != len(b[i].Servers) {
			return false
		}
		for j := range a[i].Servers {
			if a[i].Servers[j] != b[i].Servers[j] {
				return false
			}
		}
	}
	return true
}

func TestUsageErrorsSendNothing(t *testing.T) {
	l := newLab()
	for _, line := range []string{"", "bogus", "show-rule -p", "--nope show-rule"} {
		code, _, errOut := l.run(t, line)
		if code != ExitUsage || !strings.HasPrefix(errOut, "ilbadm: ") {
			t.Errorf("%q: exit %d %q", line, code, errOut)
		}
	}
	if l.agent.Sets != 0 {
		t.Error("usage errors sent SETs")
	}
}
