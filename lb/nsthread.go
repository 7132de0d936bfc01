package lb

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// nsThread runs functions on one OS thread that has entered the engine's
// network namespace. Sockets made there stay in the namespace whatever
// goroutine uses them later, and processes started there (external
// health checks) start in it. The thread never leaves the namespace: it
// ends with its goroutine, so no other goroutine can inherit it.
type nsThread struct {
	calls chan func()
	done  chan struct{}
	// For socket: the namespace and the process's own, so that any
	// thread can step in and out without a hand-off.
	target, home int
}

// newNSThread enters the namespace at path; an empty path means the
// caller's namespace and runs functions directly.
func newNSThread(path string) (*nsThread, error) {
	if path == "" {
		return nil, nil
	}
	t := &nsThread{calls: make(chan func()), done: make(chan struct{}), target: -1, home: -1}
	var err error
	if t.target, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("lb: open namespace %s: %w", path, err)
	}
	if t.home, err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		unix.Close(t.target)
		return nil, fmt.Errorf("lb: open own namespace: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		defer close(t.done)
		if err := unix.Setns(t.target, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("lb: enter namespace %s: %w", path, err)
			return
		}
		errc <- nil
		for f := range t.calls {
			f()
		}
	}()
	if err := <-errc; err != nil {
		unix.Close(t.target)
		unix.Close(t.home)
		return nil, err
	}
	return t, nil
}

// run calls f in the namespace and waits for it. A nil thread runs f
// where the caller is.
func (t *nsThread) run(f func() error) error {
	if t == nil {
		return f()
	}
	var err error
	ran := make(chan struct{})
	select {
	case t.calls <- func() { err = f(); close(ran) }:
	case <-t.done:
		return fmt.Errorf("lb: namespace thread stopped")
	}
	<-ran
	return err
}

// socket makes a non-blocking socket in the namespace. The calling
// thread enters the namespace for the one system call: thousands of
// probes a second would otherwise pay two thread hand-offs each.
func (t *nsThread) socket(domain, typ, proto int) (int, error) {
	typ |= unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	if t == nil {
		fd, err := unix.Socket(domain, typ, proto)
		if err != nil {
			return -1, fmt.Errorf("socket: %w", err)
		}
		return fd, nil
	}
	runtime.LockOSThread()
	if err := unix.Setns(t.target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("socket: enter namespace: %w", err)
	}
	fd, err := unix.Socket(domain, typ, proto)
	if unix.Setns(t.home, unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	} // else the thread stays locked to this goroutine and ends with it
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	return fd, nil
}

func (t *nsThread) close() {
	if t == nil {
		return
	}
	close(t.calls)
	<-t.done
	unix.Close(t.target)
	unix.Close(t.home)
}
