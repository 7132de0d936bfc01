package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Trapd is a private snmptrapd (scripts/snmptrapd.sh) that logs every
// notification it receives as one "TRAP ..." line with numeric OIDs.
type Trapd struct {
	Port    int
	Dir     string
	LogPath string
	NetNS   string // network namespace it runs in, "" = the test's own
	Listen  string // IPv4 address it listens on

	proc *process
}

// StartTrapd starts snmptrapd on 127.0.0.1:port (0 picks a free port) and
// waits until it listens. It accepts v1/v2c notifications with any
// community. t.Cleanup stops it.
func StartTrapd(tb testing.TB, port int) *Trapd {
	tb.Helper()
	return StartTrapdWith(tb, TrapdOptions{Port: port})
}

// TrapdOptions place a snmptrapd; the zero value is StartTrapd(tb, 0).
type TrapdOptions struct {
	// Port is the UDP port; 0 picks a free one.
	Port int
	// NetNS runs snmptrapd in this network namespace, e.g. the mediation
	// device's; empty: the test's own.
	NetNS string
	// Listen is the IPv4 address to listen on; default 127.0.0.1.
	Listen string
}

// StartTrapdWith is StartTrapd with a namespace and listen address, e.g.
// the MD's address and port 161 where the trap sink points.
func StartTrapdWith(tb testing.TB, o TrapdOptions) *Trapd {
	tb.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1"
	}
	port := o.Port
	dir, err := os.MkdirTemp("", "tb-trapd-")
	if err != nil {
		tb.Fatalf("testbed: %v", err)
	}
	tb.Cleanup(func() { removeDir(tb, dir) })
	d := &Trapd{Dir: dir, LogPath: filepath.Join(dir, "traps.log"), NetNS: o.NetNS, Listen: o.Listen}
	tb.Cleanup(func() {
		d.Stop()
		if tb.Failed() {
			tb.Logf("testbed: snmptrapd log %s:\n%s", d.LogPath, tail(d.LogPath, 20))
		}
	})
	var lastErr error
	for range 3 {
		p := port
		if p == 0 {
			if p, err = freeUDPPortAt(d.NetNS, d.Listen, ""); err != nil {
				tb.Fatalf("testbed: %v", err)
			}
		}
		if lastErr = d.start(p); lastErr == nil || port != 0 {
			break
		}
	}
	if lastErr != nil {
		tb.Fatalf("testbed: start snmptrapd: %v", lastErr)
	}
	return d
}

func (d *Trapd) start(port int) error {
	runner, err := script("snmptrapd.sh")
	if err != nil {
		return err
	}
	os.Remove(d.LogPath)
	p, err := startProcess("snmptrapd", filepath.Join(d.Dir, "snmptrapd.stderr"), nil,
		inNetNSArgv(d.NetNS, []string{"bash", runner, d.Dir, strconv.Itoa(port), d.Listen})...)
	if err != nil {
		return err
	}
	// snmptrapd logs its version once its transports are open.
	deadline := time.Now().Add(10 * time.Second)
	for !p.exited() && time.Now().Before(deadline) {
		if data, _ := os.ReadFile(d.LogPath); strings.Contains(string(data), "NET-SNMP version") {
			d.Port, d.proc = port, p
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	return fmt.Errorf("snmptrapd on port %d not ready: %s %s", port,
		tail(d.LogPath, 10), tail(filepath.Join(d.Dir, "snmptrapd.stderr"), 10))
}

// Addr is the receiver's HOST:PORT, ready for Options.TrapSinks.
func (d *Trapd) Addr() string { return d.Listen + ":" + strconv.Itoa(d.Port) }

// Stop ends snmptrapd; calling it twice is harmless.
func (d *Trapd) Stop() {
	if d.proc != nil {
		_ = d.proc.stop(3 * time.Second)
	}
}

// Lines returns the notifications received so far, one line each.
func (d *Trapd) Lines() ([]string, error) {
	data, err := os.ReadFile(d.LogPath)
	if err != nil {
		return nil, fmt.Errorf("read traps: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "TRAP ") {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// WaitFor waits until a received notification mentions oid exactly (as a
// varbind name or an OID value such as snmpTrapOID.0's; .1.2.3 does not
// match .1.2.30 or .1.2.3.4) and returns that line.
func (d *Trapd) WaitFor(oid string, timeout time.Duration) (string, error) {
	oid = "." + strings.TrimPrefix(oid, ".")
	deadline := time.Now().Add(timeout)
	for {
		lines, err := d.Lines()
		if err != nil {
			return "", err
		}
		for _, l := range lines {
			if containsOID(l, oid) {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no notification with %s within %v (%d received)", oid, timeout, len(lines))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// containsOID finds oid (with its leading dot) in line as a whole OID: not
// preceded by a digit nor followed by a digit or dot.
func containsOID(line, oid string) bool {
	isOIDByte := func(c byte) bool { return c == '.' || c >= '0' && c <= '9' }
	for i := 0; ; {
		j := strings.Index(line[i:], oid)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(oid)
		before := start == 0 || !(line[start-1] >= '0' && line[start-1] <= '9')
		after := end == len(line) || !isOIDByte(line[end])
		if before && after {
			return true
		}
		i = start + 1
	}
}
