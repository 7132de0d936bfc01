package testbed

import (
	"fmt"
	"net"
	"strconv"

	"tapagent/internal/nsexec"
)

// inNetNS runs fn on an OS thread inside the named network namespace (""
// = the test's own). Sockets fn opens stay in that namespace.
func inNetNS(name string, fn func() error) error { return nsexec.InNamed(name, fn) }

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
