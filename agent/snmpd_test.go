package agent

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
)

// snmpdRig is a private snmpd (AgentX master) on loopback with our subagent
// behind it.
type snmpdRig struct {
	t        *testing.T
	port     int
	trapConn *net.UDPConn
	sa       *Subagent
	env      []string
	stop     func()       // stops the running snmpd
	restart  func() error // starts snmpd again, same port and socket
}

func lookTool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skipf("%s not installed", name)
	return ""
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func startSnmpd(t *testing.T, handlers ...Handler) *snmpdRig {
	t.Helper()
	snmpd := lookTool(t, "snmpd")
	lookTool(t, "snmpget")
	dir, err := os.MkdirTemp("", "snmpd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	trapConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trapConn.Close() })
	r := &snmpdRig{t: t, trapConn: trapConn,
		// No MIB files: numeric OIDs only, and no noise about missing modules.
		env: append(os.Environ(), "MIBS=", "MIBDIRS="+filepath.Join(dir, "nomibs"),
			"SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"))}
	sock := filepath.Join(dir, "agentx.sock")
	out := &syncBuffer{}
	r.restart = func() error { return r.runSnmpd(snmpd, dir, sock, out) }
	// The free port may be taken before snmpd binds it: try a few.
	for attempt := 1; ; attempt++ {
		r.port = freeUDPPort(t)
		err := r.restart()
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Error opening specified endpoint") {
			t.Fatal(err)
		}
	}

	r.sa = New(Config{Address: "unix:" + sock, Logger: testLogger(t), Timeout: time.Second})
	for _, h := range handlers {
		if err := r.sa.Register(h); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.sa.Run(ctx) }()
	t.Cleanup(func() { // before snmpd stops: cleanups run last-in first-out
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-r.sa.Ready():
	case <-time.After(wait):
		t.Fatalf("subagent never registered with snmpd:\n%s", out.String())
	}
	return r
}

// runSnmpd starts snmpd and waits for its AgentX socket; a snmpd that exits
// first is an error carrying its output. It stops at the test's end.
func (r *snmpdRig) runSnmpd(snmpd, dir, sock string, out *syncBuffer) error {
	t := r.t
	conf := fmt.Sprintf(`master agentx
agentXSocket unix:%s
agentXTimeout 1
agentaddress udp:127.0.0.1:%d
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
trap2sink 127.0.0.1:%d public
`, sock, r.port, r.trapConn.LocalAddr().(*net.UDPAddr).Port)
	confPath := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(snmpd, "-f", "-Lo", "-C", "-c", confPath)
	cmd.Env, cmd.Stdout, cmd.Stderr = r.env, out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-exited:
			return fmt.Errorf("snmpd exited:\n%s", out.String())
		default:
		}
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("snmpd made no AgentX socket:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("snmpd output:\n%s", out.String())
		}
	})
	return nil
}

// syncBuffer collects a child's output while tests may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// snmp runs a net-snmp command line tool against the rig and returns its
// output; args come after the agent address.
func (r *snmpdRig) snmp(tool, community string, args ...string) (string, error) {
	full := append([]string{"-v2c", "-c", community, "-On", "-t", "3", "-r", "0",
		fmt.Sprintf("127.0.0.1:%d", r.port)}, args...)
	cmd := exec.Command(lookTool(r.t, tool), full...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestAgainstSnmpd(t *testing.T) {
	base := "1.3.6.1.4.1.8072.9999.7" // net-snmp's experimental playpen
	h := newMapHandler([]agentx.OID{oid(base)}, map[string]agentx.Value{
		base + ".1.0": agentx.OctetString([]byte("hello")),
		base + ".2.1": agentx.Integer(5),
		base + ".2.2": agentx.Integer(6),
	})
	h.failTest[base+".2.2"] = agentx.WrongValue
	r := startSnmpd(t, h)

	tests := []struct {
		name      string
		tool      string
		community string
		args      []string
		want      []string // lines, in order
		fail      bool
	}{
		{"multi-varbind get", "snmpget", "public", []string{"." + base + ".2.2", "." + base + ".1.0", "." + base + ".9.0"},
			[]string{"." + base + ".2.2 = INTEGER: 6", "." + base + ".1.0 = STRING: \"hello\"",
				"." + base + ".9.0 = No Such Instance currently exists at this OID"}, false},
		{"getnext into the subtree", "snmpgetnext", "public", []string{"." + base},
			[]string{"." + base + ".1.0 = STRING: \"hello\""}, false},
		{"walk", "snmpwalk", "public", []string{"." + base},
			[]string{"." + base + ".1.0 = STRING: \"hello\"", "." + base + ".2.1 = INTEGER: 5", "." + base + ".2.2 = INTEGER: 6"}, false},
		{"bulkwalk", "snmpbulkwalk", "public", []string{"-Cr2", "." + base},
			[]string{"." + base + ".1.0 = STRING: \"hello\"", "." + base + ".2.1 = INTEGER: 5", "." + base + ".2.2 = INTEGER: 6"}, false},
		{"set", "snmpset", "private", []string{"." + base + ".2.1", "i", "42"},
			[]string{"." + base + ".2.1 = INTEGER: 42"}, false},
		{"get after set", "snmpget", "public", []string{"." + base + ".2.1"},
			[]string{"." + base + ".2.1 = INTEGER: 42"}, false},
		{"refused set names the varbind", "snmpset", "private", []string{"." + base + ".2.1", "i", "1", "." + base + ".2.2", "i", "7"},
			[]string{"Error in packet.", "Reason: wrongValue (The set value is illegal or unsupported in some way)",
				"Failed object: ." + base + ".2.2"}, true},
		{"nothing applied", "snmpget", "public", []string{"." + base + ".2.1"},
			[]string{"." + base + ".2.1 = INTEGER: 42"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := r.snmp(tt.tool, tt.community, tt.args...)
			if (err != nil) != tt.fail {
				t.Fatalf("%s: err = %v, want failure %v; output:\n%s", tt.tool, err, tt.fail, out)
			}
			lines := strings.Split(out, "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("output:\n%s\nwant:\n%s", out, strings.Join(tt.want, "\n"))
			}
			for i := range lines {
				if strings.TrimSpace(lines[i]) != tt.want[i] {
					t.Errorf("line %d: %q, want %q", i+1, lines[i], tt.want[i])
				}
			}
		})
	}
	if n := h.commits.Load(); n != 1 {
		t.Errorf("handler committed %d times, want 1", n)
	}
	if r.sa.LiveTransactions() != 0 {
		t.Errorf("%d transactions left behind", r.sa.LiveTransactions())
	}

	t.Run("notify reaches the trap sink", func(t *testing.T) {
		trapOID := oid("1.3.6.1.4.1.8072.9999.7.0.1")
		err := r.sa.Notify(context.Background(), []agentx.VarBind{
			{Name: SnmpTrapOID0, Value: agentx.ObjectID(trapOID)},
			vb(base+".2.1", agentx.Integer(42)),
		})
		if err != nil {
			t.Fatal(err)
		}
		// snmpd's own coldStart trap may come first: read until ours.
		buf := make([]byte, 4096)
		r.trapConn.SetReadDeadline(time.Now().Add(wait))
		var gotTrap string
		var gotValue any
		var seen []gosnmp.SnmpPDU
		for gotTrap != "."+trapOID.String() {
			n, err := r.trapConn.Read(buf)
			if err != nil {
				t.Fatalf("%v; traps seen: %+v", err, seen)
			}
			g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public"}
			pkt, err := g.UnmarshalTrap(buf[:n], false)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, pkt.Variables...)
			for _, v := range pkt.Variables {
				switch v.Name {
				case "." + SnmpTrapOID0.String():
					gotTrap, _ = v.Value.(string)
				case "." + base + ".2.1":
					gotValue = v.Value
				}
			}
		}
		if gotValue != 42 {
			t.Fatalf("trap %s carries %v for %s.2.1, want 42", gotTrap, gotValue, base)
		}
	})
}

// TestSnmpdRestart: snmpd goes away and comes back; the subagent reconnects
// and re-registers by itself, its handler untouched.
func TestSnmpdRestart(t *testing.T) {
	base := "1.3.6.1.4.1.8072.9999.8"
	h := newMapHandler([]agentx.OID{oid(base)}, map[string]agentx.Value{base + ".1.0": agentx.Integer(1)})
	r := startSnmpd(t, h)
	if out, err := r.snmp("snmpset", "private", "."+base+".1.0", "i", "2"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r.stop()
	waitFor(t, "the subagent to notice", func() bool { return !r.sa.Connected() })
	if err := r.restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.sa.Ready():
	case <-time.After(wait):
		t.Fatal("no re-registration after the restart")
	}
	out, err := r.snmp("snmpget", "public", "."+base+".1.0")
	if err != nil || out != "."+base+".1.0 = INTEGER: 2" {
		t.Fatalf("after restart: %v %q", err, out)
	}
}
