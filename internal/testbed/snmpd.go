package testbed

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// OIDs the test bed itself relies on.
const (
	SysDescr0  = ".1.3.6.1.2.1.1.1.0"
	SysUpTime0 = ".1.3.6.1.2.1.1.3.0"
	// Tap2MIB is CISCO-TAP2-MIB, the tree tapagent always registers.
	Tap2MIB = ".1.3.6.1.4.1.9.9.399"
)

// LITrees are the subtrees only the li user may see (and admin may not):
// CISCO-TAP2-MIB, CISCO-IP-TAP-MIB, CISCO-802-TAP-MIB and
// CISCO-USER-CONNECTION-TAP-MIB.
var LITrees = []string{Tap2MIB, ".1.3.6.1.4.1.9.9.394", ".1.3.6.1.4.1.9.9.395", ".1.3.6.1.4.1.9.9.400", ".1.3.6.1.4.1.9.9.397"}

// User is an SNMPv3 USM user with SHA authentication and AES privacy.
type User struct {
	Name     string
	AuthPass string
	PrivPass string
}

// Options tune StartSnmpd. The zero value is a working test bed.
type Options struct {
	// TrapSinks are HOST:PORT receivers of v2c notifications (trap2sink).
	TrapSinks []string
	// TrapCommunity is the community of the sinks; empty means public.
	TrapCommunity string
	// IPv6 makes snmpd listen on udp6 [::1] too, on the same port.
	IPv6 bool
	// LI and Admin override user names and passphrases field by field;
	// empty fields keep the defaults of scripts/snmpd-conf.sh.
	LI, Admin User
	// SnmpdArgs are extra snmpd flags, e.g. "-Dagentx" for AgentX traces.
	SnmpdArgs []string
	// StartTimeout bounds the wait for snmpd to answer; default 10 s.
	StartTimeout time.Duration
	// ClientTimeout is the per-request timeout of the clients made by
	// Client, LIClient and AdminClient; default 8 s, longer than snmpd's
	// own wait for a subagent (agentXTimeout 1 s, 5 retries).
	ClientTimeout time.Duration
	// NetNS runs snmpd in this network namespace (a name of `ip netns
	// list`), and with it the subagents StartAgent starts, the sockets of
	// Client/LIClient/AdminClient and the tools of NetSNMPCommand. Empty:
	// the test's own namespace.
	NetNS string
	// Listen is the IPv4 address snmpd listens on (in NetNS when set),
	// e.g. a router's management address; default 127.0.0.1.
	Listen string
	// Listen6 is the IPv6 listen address used with IPv6; default ::1.
	Listen6 string
}

// Snmpd is a private snmpd started by StartSnmpd.
type Snmpd struct {
	Port         int    // UDP port on Listen (127.0.0.1 by default)
	Port6        int    // UDP port on Listen6 (::1), 0 unless Options.IPv6
	NetNS        string // network namespace snmpd runs in, "" = the test's own
	Listen       string // IPv4 listen address
	Listen6      string // IPv6 listen address (used with Options.IPv6)
	Dir          string // config, logs, persistent state, AgentX socket
	AgentXSocket string // unix socket path for subagents
	ConfPath     string // Dir/snmpd.conf
	LogPath      string // snmpd's log (-Lf)
	LI, Admin    User

	tb   testing.TB
	opts Options

	mu   sync.Mutex
	proc *process // nil while stopped
}

// StartSnmpd writes a config with scripts/snmpd-conf.sh into a fresh temp
// dir, starts snmpd on a free loopback port and waits until it answers the
// admin user. t.Cleanup kills it and removes the dir (kept when the test
// failed and TESTBED_KEEP is set).
func StartSnmpd(tb testing.TB, opts Options) *Snmpd {
	tb.Helper()
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.ClientTimeout == 0 {
		opts.ClientTimeout = 8 * time.Second
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1"
	}
	if opts.Listen6 == "" {
		opts.Listen6 = "::1"
	}
	// A short path: the AgentX socket must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "tb-snmpd-")
	if err != nil {
		tb.Fatalf("testbed: %v", err)
	}
	s := &Snmpd{Dir: dir, NetNS: opts.NetNS, Listen: opts.Listen, Listen6: opts.Listen6, tb: tb, opts: opts}
	tb.Cleanup(func() { removeDir(tb, dir) })
	tb.Cleanup(func() {
		// SIGKILL: a clean shutdown fsyncs the persistent file line by
		// line (seconds on a busy disk) and tests need none of it.
		s.Kill()
		if tb.Failed() {
			tb.Logf("testbed: snmpd log %s:\n%s", s.LogPath, tail(s.LogPath, 40))
		}
	})

	// The probed port can be taken before snmpd binds it: try a few.
	var lastErr error
	for range 3 {
		if lastErr = s.configure(); lastErr != nil {
			break
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
		if !strings.Contains(tail(s.LogPath, 20), "Error opening specified endpoint") {
			break
		}
	}
	tb.Fatalf("testbed: start snmpd: %v", lastErr)
	return nil
}

// configure picks ports and runs the config generator.
func (s *Snmpd) configure() error {
	addr6 := ""
	if s.opts.IPv6 {
		addr6 = s.Listen6
	}
	port, err := freeUDPPortAt(s.NetNS, s.Listen, addr6)
	if err != nil {
		return err
	}
	args := []string{"--dir", s.Dir, "--port", strconv.Itoa(port), "--listen", s.Listen}
	if s.opts.IPv6 {
		args = append(args, "--port6", strconv.Itoa(port), "--listen6", s.Listen6)
	}
	for _, sink := range s.opts.TrapSinks {
		args = append(args, "--trap-sink", sink)
	}
	if s.opts.TrapCommunity != "" {
		args = append(args, "--trap-community", s.opts.TrapCommunity)
	}
	for _, f := range []struct{ flag, value string }{
		{"--li-user", s.opts.LI.Name}, {"--li-auth", s.opts.LI.AuthPass}, {"--li-priv", s.opts.LI.PrivPass},
		{"--admin-user", s.opts.Admin.Name}, {"--admin-auth", s.opts.Admin.AuthPass}, {"--admin-priv", s.opts.Admin.PrivPass},
	} {
		if f.value != "" {
			args = append(args, f.flag, f.value)
		}
	}
	gen, err := script("snmpd-conf.sh")
	if err != nil {
		return err
	}
	if out, err := exec.Command("bash", append([]string{gen}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("snmpd-conf.sh: %w: %s", err, out)
	}
	env, err := readEnvFile(filepath.Join(s.Dir, "testbed.env"))
	if err != nil {
		return err
	}
	s.Port, _ = strconv.Atoi(env["TB_PORT"])
	s.Port6, _ = strconv.Atoi(env["TB_PORT6"])
	s.AgentXSocket = env["TB_AGENTX_SOCKET"]
	s.LI = User{env["TB_LI_USER"], env["TB_LI_AUTH"], env["TB_LI_PRIV"]}
	s.Admin = User{env["TB_ADMIN_USER"], env["TB_ADMIN_AUTH"], env["TB_ADMIN_PRIV"]}
	s.ConfPath = filepath.Join(s.Dir, "snmpd.conf")
	s.LogPath = filepath.Join(s.Dir, "snmpd.log")
	if s.Port == 0 || s.AgentXSocket == "" || s.LI.Name == "" || s.Admin.Name == "" {
		return fmt.Errorf("snmpd-conf.sh: incomplete testbed.env: %v", env)
	}
	return nil
}

// start runs scripts/snmpd-start.sh (which execs snmpd) and waits until
// snmpd answers.
func (s *Snmpd) start() error {
	starter, err := script("snmpd-start.sh")
	if err != nil {
		return err
	}
	argv := inNetNSArgv(s.NetNS, append([]string{"bash", starter, s.Dir}, s.opts.SnmpdArgs...))
	p, err := startProcess("snmpd", filepath.Join(s.Dir, "snmpd.stderr"), nil, argv...)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		p.kill()
		s.mu.Lock()
		s.proc = nil
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *Snmpd) waitReady(p *process) error {
	deadline := time.Now().Add(s.opts.StartTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("snmpd exited (%v): %s %s", p.waitErr,
				tail(s.LogPath, 10), tail(filepath.Join(s.Dir, "snmpd.stderr"), 10))
		}
		c, err := s.newClient(s.Admin, 300*time.Millisecond)
		if err == nil {
			_, err = c.Get([]string{SysUpTime0})
			c.Conn.Close()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("snmpd on port %d did not answer within %v: %v; log: %s",
		s.Port, s.opts.StartTimeout, lastErr, tail(s.LogPath, 10))
}

// PID is snmpd's process id, 0 while stopped.
func (s *Snmpd) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.exited() {
		return 0
	}
	return s.proc.pid()
}

// Stop shuts snmpd down cleanly (SIGTERM, SIGKILL after 5 s); it may take
// a second or two. Stopping a stopped snmpd is a no-op; Restart starts it
// again.
func (s *Snmpd) Stop() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := p.stop(5 * time.Second); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == -1 {
			return nil // ended by our SIGTERM, as asked
		}
		return fmt.Errorf("stop snmpd: %w", err)
	}
	return nil
}

// Kill ends snmpd with SIGKILL, as a crash would: no AgentX Close, stale
// socket file left behind.
func (s *Snmpd) Kill() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Restart kills snmpd (SIGKILL, if running) and starts it again with the
// same config, port and AgentX socket, then waits until it answers.
func (s *Snmpd) Restart() error {
	s.Kill()
	if err := s.start(); err != nil {
		return fmt.Errorf("restart snmpd: %w", err)
	}
	return nil
}

// Addr is the agent's IPv4 address as HOST:PORT (reachable inside NetNS).
func (s *Snmpd) Addr() string { return net.JoinHostPort(s.Listen, strconv.Itoa(s.Port)) }

// Client returns a connected SNMPv3 authPriv client for u. Retries are
// 0: a resent SET would hide bugs and loopback does not lose packets.
func (s *Snmpd) Client(u User) (*gosnmp.GoSNMP, error) {
	return s.newClient(u, s.opts.ClientTimeout)
}

func (s *Snmpd) newClient(u User, timeout time.Duration) (*gosnmp.GoSNMP, error) {
	c := &gosnmp.GoSNMP{
		Target:        s.Listen,
		Port:          uint16(s.Port),
		Version:       gosnmp.Version3,
		Timeout:       timeout,
		Retries:       0,
		MaxOids:       gosnmp.MaxOids,
		SecurityModel: gosnmp.UserSecurityModel,
		MsgFlags:      gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			UserName:                 u.Name,
			AuthenticationProtocol:   gosnmp.SHA,
			AuthenticationPassphrase: u.AuthPass,
			PrivacyProtocol:          gosnmp.AES,
			PrivacyPassphrase:        u.PrivPass,
		},
	}
	// In a namespace the socket is made there and stays there.
	if err := inNetNS(s.NetNS, c.Connect); err != nil {
		return nil, fmt.Errorf("connect %s as %s: %w", s.Addr(), u.Name, err)
	}
	return c, nil
}

// LIClient is Client(s.LI); it fails the test on error and closes the
// client at cleanup. Call it from the test's own goroutine.
func (s *Snmpd) LIClient() *gosnmp.GoSNMP { return s.mustClient(s.LI) }

// AdminClient is Client(s.Admin), like LIClient.
func (s *Snmpd) AdminClient() *gosnmp.GoSNMP { return s.mustClient(s.Admin) }

func (s *Snmpd) mustClient(u User) *gosnmp.GoSNMP {
	s.tb.Helper()
	c, err := s.Client(u)
	if err != nil {
		s.tb.Fatalf("testbed: %v", err)
	}
	s.tb.Cleanup(func() { c.Conn.Close() })
	return c
}

// NetSNMPArgs are the net-snmp command line flags for u, ending with the
// agent address: append OIDs (and put other flags before these).
func (s *Snmpd) NetSNMPArgs(u User) []string {
	return []string{"-v3", "-l", "authPriv", "-u", u.Name, "-a", "SHA", "-A", u.AuthPass,
		"-x", "AES", "-X", u.PrivPass, s.Addr()}
}

// NetSNMPEnv is the environment for net-snmp tools: only Dir/snmp.conf is
// read (no system MIBs, li defaults) and client state stays in Dir.
func (s *Snmpd) NetSNMPEnv() []string {
	return append(os.Environ(), "SNMPCONFPATH="+s.Dir, "MIBS=",
		"SNMP_PERSISTENT_DIR="+filepath.Join(s.Dir, "persist", "client"))
}

// NetSNMPCommand builds tool (snmpget, snmpset, snmpbulkwalk, ...) with
// numeric output (-On), no retries, u's credentials and then args; with
// Options.NetNS the tool runs in that namespace (ip netns exec).
func (s *Snmpd) NetSNMPCommand(tool string, u User, args ...string) *exec.Cmd {
	timeout := max(1, int(s.opts.ClientTimeout/time.Second))
	argv := append([]string{tool, "-On", "-r", "0", "-t", strconv.Itoa(timeout)}, s.NetSNMPArgs(u)...)
	argv = inNetNSArgv(s.NetNS, append(argv, args...))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = s.NetSNMPEnv()
	return cmd
}

// UserFor returns li for OIDs inside the LI trees and admin otherwise.
func (s *Snmpd) UserFor(oid string) User {
	for _, t := range LITrees {
		if hasOIDPrefix(oid, t) {
			return s.LI
		}
	}
	return s.Admin
}

// WaitRegistered polls GETNEXT at prefix (as UserFor(prefix)) until the
// answer lies under prefix, i.e. a subagent serves it.
func (s *Snmpd) WaitRegistered(prefix string, timeout time.Duration) error {
	return s.waitRegistered(prefix, timeout, nil)
}

// waitRegistered is WaitRegistered that also gives up when abort closes.
func (s *Snmpd) waitRegistered(prefix string, timeout time.Duration, abort <-chan struct{}) error {
	prefix = "." + strings.TrimPrefix(prefix, ".")
	c, err := s.newClient(s.UserFor(prefix), time.Second)
	if err != nil {
		return err
	}
	defer c.Conn.Close()
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		r, err := c.GetNext([]string{prefix})
		switch {
		case err != nil:
			last = err.Error()
		case len(r.Variables) != 1:
			last = fmt.Sprintf("%d varbinds", len(r.Variables))
		default:
			vb := r.Variables[0]
			if hasOIDPrefix(vb.Name, prefix) && vb.Type != gosnmp.EndOfMibView &&
				vb.Type != gosnmp.NoSuchObject && vb.Type != gosnmp.NoSuchInstance {
				return nil
			}
			last = fmt.Sprintf("%s = %v", vb.Name, vb.Type)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing registered under %s after %v (last GETNEXT: %s)", prefix, timeout, last)
		}
		select {
		case <-abort:
			return fmt.Errorf("gave up waiting for %s: %s", prefix, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// hasOIDPrefix reports whether oid equals prefix or lies below it
// (dotted strings, leading dot optional).
func hasOIDPrefix(oid, prefix string) bool {
	oid = strings.TrimPrefix(oid, ".")
	prefix = strings.TrimPrefix(prefix, ".")
	return oid == prefix || strings.HasPrefix(oid, prefix+".")
}

// readEnvFile reads the KEY=VALUE lines snmpd-conf.sh writes with bash's
// printf %q, undoing its backslash quoting.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read test bed settings: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		key, val, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if val == "''" {
			val = ""
		}
		if strings.HasPrefix(val, "$'") {
			return nil, fmt.Errorf("read %s: %s uses characters the test bed does not support", path, key)
		}
		var b strings.Builder
		for i := 0; i < len(val); i++ {
			if val[i] == '\\' && i+1 < len(val) {
				i++
			}
			b.WriteByte(val[i])
		}
		env[key] = b.String()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return env, nil
}

// removeDir deletes a test bed dir unless the test failed and TESTBED_KEEP
// asks to keep it for a post-mortem.
func removeDir(tb testing.TB, dir string) {
	if tb.Failed() && os.Getenv("TESTBED_KEEP") != "" {
		tb.Logf("testbed: kept %s", dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		tb.Errorf("testbed: %v", err)
	}
}
