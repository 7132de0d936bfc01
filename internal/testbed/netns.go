package testbed

import (
	"fmt"
	"net"
	"runtime"
	"strconv"

	"github.com/vishvananda/netns"
)

// inNetNS runs fn on an OS thread inside the named network namespace (""
// = the test's own). Sockets fn opens stay in that namespace.
func inNetNS(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", name, err)
	}
	defer target.Close()
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
		// The thread must go back and live on: our children die with the
		// thread that forked them (Pdeathsig), and any thread may have.
		// Only if switching back fails does it end with this goroutine.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// inNetNSArgv prefixes argv with `ip netns exec NAME` when name is set;
// ip execs the program, so the pid stays the program's.
func inNetNSArgv(name string, argv []string) []string {
	if name == "" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", name}, argv...)
}

// freeUDPPortAt returns a UDP port free on addr4 (and on addr6 when set)
// inside namespace ns. Another process may take it before we bind it;
// callers retry.
func freeUDPPortAt(ns, addr4, addr6 string) (int, error) {
	var port int
	err := inNetNS(ns, func() error {
		var lastErr error
		for range 20 {
			c4, err := net.ListenPacket("udp4", net.JoinHostPort(addr4, "0"))
			if err != nil {
				return fmt.Errorf("find free UDP port on %s: %w", addr4, err)
			}
			port = c4.LocalAddr().(*net.UDPAddr).Port
			if addr6 == "" {
				c4.Close()
				return nil
			}
			c6, err := net.ListenPacket("udp6", net.JoinHostPort(addr6, strconv.Itoa(port)))
			c4.Close()
			if err == nil {
				c6.Close()
				return nil
			}
			lastErr = err
		}
		return fmt.Errorf("find free UDP port on %s and %s: %w", addr4, addr6, lastErr)
	})
	return port, err
}
