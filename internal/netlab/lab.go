package netlab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"tapagent/internal/nsexec"
)

// namePrefix starts every namespace and root-namespace link a Lab makes;
// the pid after it tells whose they are.
const namePrefix = "nl"

var (
	labSeq       atomic.Int64
	staleOnce    sync.Once
	staleNSName  = regexp.MustCompile(`^` + namePrefix + `(\d+)-`)
	staleRootIfc = regexp.MustCompile(`^` + namePrefix + `(\d+)m\d+$`)
)

// Lab owns the namespaces and links of one test and removes them at
// cleanup.
type Lab struct {
	tb     testing.TB
	id     int64
	prefix string // nl<pid>-<id>-

	mu        sync.Mutex
	spaces    []*NS
	rootLinks []string // links in the test's own namespace (management links)
	macSeq    int
}

// New returns an empty lab. It first removes namespaces and links left by
// test processes that no longer exist, and registers a cleanup that
// deletes everything the lab creates.
func New(tb testing.TB) *Lab {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatal("netlab: network namespaces need root")
	}
	staleOnce.Do(removeStale)
	l := &Lab{tb: tb, id: labSeq.Add(1)}
	l.prefix = fmt.Sprintf("%s%d-%d-", namePrefix, os.Getpid(), l.id)
	tb.Cleanup(l.cleanup)
	return l
}

// Prefix is what the names of this lab's namespaces start with.
func (l *Lab) Prefix() string { return l.prefix }

// ProcessPrefix is what the names of every namespace made by this test
// process start with.
func ProcessPrefix() string { return fmt.Sprintf("%s%d-", namePrefix, os.Getpid()) }

// NS is a named network namespace of a lab (see `ip netns list`).
type NS struct {
	Name string

	lab    *Lab
	handle netns.NsHandle
	nl     *netlink.Handle
}

// AddNS creates the namespace <prefix><role>, brings its loopback up and
// makes it quiet (see the package comment). It fails the test on error.
func (l *Lab) AddNS(role string) *NS {
	l.tb.Helper()
	ns, err := l.addNS(role)
	if err != nil {
		l.tb.Fatalf("netlab: %v", err)
	}
	return ns
}

func (l *Lab) addNS(role string) (*NS, error) {
	name := l.prefix + role
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	ns := &NS{Name: name, lab: l, handle: -1}
	l.mu.Lock()
	l.spaces = append(l.spaces, ns)
	l.mu.Unlock()
	var err error
	if ns.handle, err = netns.GetFromName(name); err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", name, err)
	}
	if ns.nl, err = netlink.NewHandleAt(ns.handle); err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", name, err)
	}
	lo, err := ns.nl.LinkByName("lo")
	if err == nil {
		err = ns.nl.LinkSetUp(lo)
	}
	if err != nil {
		return nil, fmt.Errorf("loopback up in %s: %w", name, err)
	}
	if err := ns.quiet(); err != nil {
		return nil, err
	}
	return ns, nil
}

// quietSysctls apply to every interface created later in the namespace:
// addresses are usable at once (no DAD), no link-local address means no
// router solicitation, and the MLD timers are short.
var quietSysctls = []struct{ path, value string }{
	{"net/ipv6/conf/all/accept_dad", "0"},
	{"net/ipv6/conf/default/accept_dad", "0"},
	{"net/ipv6/conf/default/addr_gen_mode", "1"},
	{"net/ipv6/conf/default/accept_ra", "0"},
	{"net/ipv6/conf/default/router_solicitations", "0"},
	{"net/ipv6/conf/default/mldv2_unsolicited_report_interval", "10"},
}

// quietRuleset drops the MLD reports the kernel sends when interfaces and
// addresses come up: otherwise they would show up in captures and match
// MAC-based taps seconds after the lab started.
const quietRuleset = `table inet netlab_quiet {
	chain output {
		type filter hook output priority 0; policy accept;
		icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } drop
	}
}
`

func (ns *NS) quiet() error {
	err := ns.Do(func() error {
		for _, s := range quietSysctls {
			if err := writeSysctl(s.path, s.value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("quiet %s: %w", ns.Name, err)
	}
	cmd := ns.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(quietRuleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("quiet %s: nft: %w: %s", ns.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// writeSysctl sets /proc/sys/<path>; for net/ entries the namespace of the
// calling thread decides which copy is written.
func writeSysctl(path, value string) error {
	if err := os.WriteFile("/proc/sys/"+path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(path, "/", "."), value, err)
	}
	return nil
}

// Do runs fn on an OS thread that has entered the namespace. Sockets fn
// opens belong to the namespace for their whole life, whichever goroutine
// uses them later; goroutines fn starts do not inherit the namespace.
func (ns *NS) Do(fn func() error) error {
	return doIn(ns.handle, ns.Name, fn)
}

// doIn runs fn inside target (see nsexec.In).
func doIn(target netns.NsHandle, name string, fn func() error) error {
	return nsexec.In(target, name, fn)
}

// Command prepares name args... to run inside the namespace
// (ip netns exec), with the caller's environment. ip netns exec execs
// the program: the command's pid is the program's.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	if ns.Name == "" {
		return exec.Command(name, args...) // the test's own namespace
	}
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Exec runs argv in ns and returns its combined output; a failure fails
// the test.
func (l *Lab) Exec(ns *NS, argv ...string) string {
	l.tb.Helper()
	if len(argv) == 0 {
		l.tb.Fatal("netlab: Exec without a command")
	}
	out, err := ns.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		l.tb.Fatalf("netlab: in %s: %s: %v\n%s", ns.Name, strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// Namespaces returns the names of the lab's namespaces.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, len(l.spaces))
	for i, ns := range l.spaces {
		names[i] = ns.Name
	}
	return names
}

func (l *Lab) cleanup() {
	l.mu.Lock()
	spaces, links := l.spaces, l.rootLinks
	l.spaces, l.rootLinks = nil, nil
	l.mu.Unlock()
	for _, name := range links {
		if link, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(link); err != nil {
				l.tb.Errorf("netlab: delete link %s: %v", name, err)
			}
		}
	}
	for _, ns := range spaces {
		if ns.nl != nil {
			ns.nl.Close()
		}
		if ns.handle >= 0 {
			ns.handle.Close()
		}
		if err := deleteNS(ns.Name); err != nil {
			l.tb.Errorf("netlab: %v", err)
		}
	}
}

func deleteNS(name string) error {
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// removeStale deletes namespaces and root links whose owning test process
// is gone (a crashed or killed earlier run).
func removeStale() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if m := staleNSName.FindStringSubmatch(e.Name()); m != nil && !ownerAlive(m[1]) {
			_ = deleteNS(e.Name())
		}
	}
	links, _ := netlink.LinkList()
	for _, link := range links {
		if m := staleRootIfc.FindStringSubmatch(link.Attrs().Name); m != nil && !ownerAlive(m[1]) {
			_ = netlink.LinkDel(link)
		}
	}
}

// ownerAlive reports whether the process named in a lab object still
// exists (and is not a zombie).
func ownerAlive(pidText string) bool {
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return true // not ours to judge
	}
	if pid == os.Getpid() {
		return true
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
