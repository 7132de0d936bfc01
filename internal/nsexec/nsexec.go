// Package nsexec runs Go code inside a network namespace: sockets made
// there stay there whatever goroutine uses them later.
package nsexec

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// InNamed runs fn inside the named namespace (ip netns); "" runs it where
// the caller is.
func InNamed(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", name, err)
	}
	defer target.Close()
	return In(target, name, fn)
}

// In runs fn on a locked thread switched into target and switches the
// thread back afterwards. The thread must go back and live on: a child
// process started with Pdeathsig (as the test bed does) is killed when the
// thread that forked it exits, and any thread may have forked one. Only if
// switching back fails does the thread end with its goroutine, rather than
// serve others in the wrong namespace.
func In(target netns.NsHandle, name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("own network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", name, err)
			return
		}
		err = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
