package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AgentOptions describe a subagent process for StartAgent.
type AgentOptions struct {
	Bin string // the subagent binary
	// Args follow "--agentx unix:SOCKET"; StartTapagent adds
	// "--log-level debug" before them.
	Args []string
	// WaitPrefix is the subtree that must answer before StartAgent
	// returns; empty means do not wait.
	WaitPrefix string
	// WaitTimeout bounds that wait; default 15 s.
	WaitTimeout time.Duration
	// NetNS runs the agent in this network namespace; empty means the
	// namespace of the snmpd it connects to (Options.NetNS). The AgentX
	// unix socket is a file, reachable from any namespace.
	NetNS string
}

// Agent is a subagent process connected to a test bed snmpd.
type Agent struct {
	Bin     string
	LogPath string // the agent's stdout and stderr

	proc   *process
	killed bool
}

// StartTapagent starts bin (normally BuildBinaries(t).Tapagent) with
// "--agentx unix:SOCKET --log-level debug" plus extraArgs and waits until
// CISCO-TAP2-MIB answers through snmpd. t.Cleanup stops it (SIGTERM, then
// SIGKILL) and prints its log when the test failed.
func StartTapagent(tb testing.TB, s *Snmpd, bin string, extraArgs ...string) *Agent {
	tb.Helper()
	return StartAgent(tb, s, AgentOptions{
		Bin:        bin,
		Args:       append([]string{"--log-level", "debug"}, extraArgs...),
		WaitPrefix: Tap2MIB,
	})
}

// StartAgent starts any subagent binary against s, see AgentOptions.
func StartAgent(tb testing.TB, s *Snmpd, o AgentOptions) *Agent {
	tb.Helper()
	if o.WaitTimeout == 0 {
		o.WaitTimeout = 15 * time.Second
	}
	logFile, err := os.CreateTemp(s.Dir, filepath.Base(o.Bin)+"-*.log")
	if err != nil {
		tb.Fatalf("testbed: %v", err)
	}
	logFile.Close()
	a := &Agent{Bin: o.Bin, LogPath: logFile.Name()}
	argv := append([]string{o.Bin, "--agentx", "unix:" + s.AgentXSocket}, o.Args...)
	ns := o.NetNS
	if ns == "" {
		ns = s.NetNS
	}
	a.proc, err = startProcess(filepath.Base(o.Bin), a.LogPath, nil, inNetNSArgv(ns, argv)...)
	if err != nil {
		tb.Fatalf("testbed: %v", err)
	}
	tb.Cleanup(func() {
		if err := a.Stop(); err != nil {
			tb.Errorf("testbed: %v", err)
		}
		if tb.Failed() {
			tb.Logf("testbed: %s log %s:\n%s", filepath.Base(o.Bin), a.LogPath, tail(a.LogPath, 60))
		}
	})
	if o.WaitPrefix == "" {
		return a
	}
	if err := a.waitRegistered(s, o.WaitPrefix, o.WaitTimeout); err != nil {
		tb.Fatalf("testbed: %s: %v", strings.Join(argv, " "), err)
	}
	return a
}

// waitRegistered is Snmpd.WaitRegistered that gives up early when the
// agent process has died.
func (a *Agent) waitRegistered(s *Snmpd, prefix string, timeout time.Duration) error {
	err := s.waitRegistered(prefix, timeout, a.proc.done)
	if err != nil && a.proc.exited() {
		return fmt.Errorf("agent exited before registering (%v): %s", a.proc.waitErr, tail(a.LogPath, 20))
	}
	return err
}

// PID is the agent's process id.
func (a *Agent) PID() int { return a.proc.pid() }

// Exited is closed when the agent process has ended.
func (a *Agent) Exited() <-chan struct{} { return a.proc.done }

// Stop sends SIGTERM and waits up to 5 s before SIGKILL. It returns an
// error if the agent did not exit 0 (a daemon should end cleanly on
// SIGTERM) or had crashed before; after Kill it returns nil.
func (a *Agent) Stop() error {
	if a.killed {
		return nil
	}
	if err := a.proc.stop(5 * time.Second); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(a.Bin), err)
	}
	return nil
}

// Kill ends the agent with SIGKILL.
func (a *Agent) Kill() {
	a.killed = true
	a.proc.kill()
}

// Log returns what the agent has logged so far.
func (a *Agent) Log() string {
	data, _ := os.ReadFile(a.LogPath)
	return string(data)
}
