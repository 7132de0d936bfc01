package nstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// prefix marks namespaces made by these helpers; the process id that
// follows lets a later run remove what a killed run left behind.
const prefix = "tapt-"

var seq atomic.Uint32

// NS is a network namespace that lives for one test.
type NS struct {
	Name string
}

// Require skips tb unless the process may create network namespaces: the
// tests need root (CAP_NET_ADMIN, CAP_NET_RAW) and the ip command.
func Require(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs the ip command (iproute2)")
	}
}

// New creates a namespace with its loopback up and deletes it when tb ends,
// whether the test passed or not.
func New(tb testing.TB) *NS {
	tb.Helper()
	Require(tb)
	removeStale()
	n := &NS{Name: fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", n.Name, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", n.Name, err, out)
		}
	})
	n.IP(tb, "link", "set", "lo", "up")
	return n
}

// removeStale deletes namespaces of earlier test processes that no longer
// run (a test binary killed by a timeout never runs its cleanups).
func removeStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}

// IP runs `ip -n NAME args...` and fails tb on error.
func (n *NS) IP(tb testing.TB, args ...string) {
	tb.Helper()
	full := append([]string{"-n", n.Name}, args...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
}

// Exec runs a command inside the namespace and fails tb on error; it
// returns the combined output.
func (n *NS) Exec(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := n.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("in %s: %s %s: %v: %s", n.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command prepares a command that runs inside the namespace.
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on an OS thread switched into the namespace. Sockets and
// interface lookups made by fn belong to the namespace; sockets keep it
// after Do returns.
func (n *NS) Do(fn func() error) error {
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", n.Name, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	own, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own namespace: %w", err)
	}
	defer own.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter namespace %s: %w", n.Name, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime discards it when this
		// goroutine ends instead of reusing a thread in the wrong namespace.
		return fmt.Errorf("leave namespace %s: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// IfIndex returns the ifindex of an interface inside the namespace.
func (n *NS) IfIndex(tb testing.TB, name string) int {
	tb.Helper()
	var idx int
	err := n.Do(func() error {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		idx = ifc.Index
		return nil
	})
	if err != nil {
		tb.Fatalf("ifindex of %s in %s: %v", name, n.Name, err)
	}
	return idx
}

// Veth connects namespace a (interface aName) and namespace b (interface
// bName) with a veth pair and sets both ends up. Deleting a namespace
// deletes its end and with it the pair.
func Veth(tb testing.TB, a *NS, aName string, b *NS, bName string) {
	tb.Helper()
	a.IP(tb, "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.IP(tb, "link", "set", aName, "up")
	b.IP(tb, "link", "set", bName, "up")
}
