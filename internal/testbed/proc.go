package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a child running in its own process group, so that killing the
// group also reaches anything it forked.
type process struct {
	name    string
	cmd     *exec.Cmd
	out     *os.File
	done    chan struct{} // closed when the leader has exited
	waitErr error
}

// startProcess runs argv with stdout and stderr appended to outPath.
func startProcess(name, outPath string, env []string, argv ...string) (*process, error) {
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = append(os.Environ(), env...)
	// Own group for a clean kill; SIGKILL if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalGroup sends sig to the whole process group; a group that is
// already gone is not an error.
func (p *process) signalGroup(sig syscall.Signal) {
	if err := syscall.Kill(-p.pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Signal(sig)
	}
}

// kill SIGKILLs the group and waits for the leader.
func (p *process) kill() {
	p.signalGroup(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs the group. It
// returns the leader's exit error (nil for a clean exit) or an error if
// SIGKILL was needed.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		p.signalGroup(syscall.SIGKILL) // leftovers of the group
		return p.waitErr
	}
	p.signalGroup(syscall.SIGTERM)
	select {
	case <-p.done:
		p.signalGroup(syscall.SIGKILL)
		return p.waitErr
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s (pid %d) ignored SIGTERM for %v and was killed", p.name, p.pid(), grace)
	}
}

// alive reports whether pid exists (and is not a zombie we could reap).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Field 3, after the parenthesised command name, is the state.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// tail returns the last n lines of a file, for failure messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freeUDPPort returns a UDP port free on 127.0.0.1 (and on ::1 when
// withV6) in the test's own namespace. Another process may take it before
// we bind it; callers retry.
func freeUDPPort(withV6 bool) (int, error) {
	addr6 := ""
	if withV6 {
		addr6 = "::1"
	}
	return freeUDPPortAt("", "127.0.0.1", addr6)
}
