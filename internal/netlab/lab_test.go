package netlab

import (
	"encoding/json"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// ipAddrJSON is the part of `ip -j addr show` the tests compare.
type ipAddrJSON struct {
	IfIndex  int    `json:"ifindex"`
	IfName   string `json:"ifname"`
	Address  string `json:"address"`
	AddrInfo []struct {
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
		Scope     string `json:"scope"`
	} `json:"addr_info"`
}

// checkIface compares what the lab says about i with what iproute2 sees
// inside i's namespace.
func checkIface(t *testing.T, l *Lab, i *Iface) {
	t.Helper()
	var got []ipAddrJSON
	if err := json.Unmarshal([]byte(l.Exec(i.NS, "ip", "-j", "addr", "show", "dev", i.Name)), &got); err != nil || len(got) != 1 {
		t.Fatalf("%s: ip -j addr: %v (%d entries)", i, err, len(got))
	}
	g := got[0]
	if g.IfIndex != i.Index || g.Address != i.MAC.String() {
		t.Errorf("%s: ip says ifindex %d MAC %s, lab says %d %s", i, g.IfIndex, g.Address, i.Index, i.MAC)
	}
	var addrs []string
	for _, a := range g.AddrInfo {
		addrs = append(addrs, a.Local+"/"+strconv.Itoa(a.PrefixLen))
		if a.Scope == "link" {
			t.Errorf("%s: has link-local %s; lab interfaces should have none", i, a.Local)
		}
	}
	for _, p := range i.Addrs {
		if !slices.Contains(addrs, p.String()) {
			t.Errorf("%s: lab address %s missing; ip shows %v", i, p, addrs)
		}
	}
	if len(addrs) != len(i.Addrs) {
		t.Errorf("%s: ip shows %v, lab recorded %v", i, addrs, i.Addrs)
	}
}

func TestRouterLabTopology(t *testing.T) {
	t.Parallel()
	r := NewRouterLab(t)

	// Nothing chatters on a fresh lab: no ARP, ND, MLD or RS.
	sn, err := r.Router.Sniff("eth1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	sn.Close()
	if frames := sn.Frames(); len(frames) != 0 {
		t.Errorf("idle lab put %d frames on router eth1, first % x", len(frames), frames[0].Data)
	}

	names := r.Namespaces()
	for _, role := range []string{"rtr", "h1", "h2", "md"} {
		if !slices.Contains(names, r.Prefix()+role) {
			t.Errorf("namespace %s%s missing from %v", r.Prefix(), role, names)
		}
	}
	if !strings.HasPrefix(r.Prefix(), ProcessPrefix()) {
		t.Errorf("lab prefix %s does not start with the process prefix %s", r.Prefix(), ProcessPrefix())
	}
	for _, i := range []*Iface{r.H1.If, r.H2.If, r.MD.If, r.RouterH1, r.RouterH2, r.RouterMD, r.RouterMgmt} {
		checkIface(t, r.Lab, i)
	}
	if got := r.Exec(r.Router, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"); got != "1\n1\n" {
		t.Errorf("router forwarding sysctls = %q", got)
	}
	if !r.Mgmt.IPv4().IsValid() || r.Mgmt.IPv4().Next() != r.RouterMgmt.IPv4() || !mgmtNet.Contains(r.Mgmt.IPv4()) {
		t.Errorf("management addresses %v / %v", r.Mgmt.Addrs, r.RouterMgmt.Addrs)
	}

	pings := []struct {
		name string
		from *NS
		to   netip.Addr
	}{
		{"h1 to h2 IPv4", r.H1.NS, r.H2.If.IPv4()},
		{"h1 to h2 IPv6", r.H1.NS, r.H2.If.IPv6()},
		{"h2 to h1 IPv6", r.H2.NS, r.H1.If.IPv6()},
		{"h1 to md IPv4", r.H1.NS, r.MD.If.IPv4()},
		{"md to h2 IPv6", r.MD.NS, r.H2.If.IPv6()},
		{"test namespace to router management", r.Root(), r.RouterMgmt.IPv4()},
	}
	for _, tc := range pings {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.from.Ping(EchoFlow{Dst: tc.to, Pace: Pace{Count: 3}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Sent) != 3 || res.Replies != 3 {
				t.Fatalf("sent %d, %d replies; want 3 and 3", len(res.Sent), res.Replies)
			}
		})
	}
}

func TestBridgeLabTopology(t *testing.T) {
	t.Parallel()
	b := NewBridgeLab(t)
	for _, i := range []*Iface{b.H1.If, b.H2.If, b.H3.If, b.MD.If, b.Br0, b.BridgeMD} {
		checkIface(t, b.Lab, i)
	}
	for _, port := range []*Iface{b.Port1, b.Port2, b.Port3} {
		link, err := b.Bridge.nl.LinkByIndex(port.Index)
		if err != nil {
			t.Fatal(err)
		}
		if link.Attrs().MasterIndex != b.Br0.Index {
			t.Errorf("%s: master %d, want br0 (%d)", port, link.Attrs().MasterIndex, b.Br0.Index)
		}
	}
	pings := []struct {
		name string
		from *Host
		to   netip.Addr
	}{
		{"h1 to h2 IPv4", b.H1, b.H2.If.IPv4()},
		{"h2 to h3 IPv6", b.H2, b.H3.If.IPv6()},
		{"h3 to h1 IPv4", b.H3, b.H1.If.IPv4()},
		{"h1 to md routed IPv4", b.H1, b.MD.If.IPv4()},
		{"h2 to md routed IPv6", b.H2, b.MD.If.IPv6()},
	}
	for _, tc := range pings {
		res, err := tc.from.Ping(EchoFlow{Dst: tc.to, Pace: Pace{Count: 2}})
		if err != nil || res.Replies != 2 {
			t.Errorf("%s: %d of 2 replies, %v", tc.name, res.Replies, err)
		}
	}
	// The bridge learned each host's MAC on its port: MAC-based taps with
	// interface −1 rely on that.
	out := b.Exec(b.Bridge, "bridge", "-j", "fdb", "show", "br", "br0")
	var entries []struct {
		MAC    string   `json:"mac"`
		IfName string   `json:"ifname"`
		Flags  []string `json:"flags"`
		State  string   `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("bridge fdb: %v\n%s", err, out)
	}
	learned := map[string]string{}
	for _, e := range entries {
		if e.State != "permanent" {
			learned[e.MAC] = e.IfName
		}
	}
	for _, h := range []struct {
		host *Host
		port *Iface
	}{{b.H1, b.Port1}, {b.H2, b.Port2}, {b.H3, b.Port3}} {
		if got := learned[h.host.If.MAC.String()]; got != h.port.Name {
			t.Errorf("bridge learned %s on %q, want %s (fdb %v)", h.host.If.MAC, got, h.port.Name, learned)
		}
	}
}

// TestCleanup builds labs in a subtest and checks nothing of them is left
// afterwards.
func TestCleanup(t *testing.T) {
	t.Parallel()
	var spaces, prefixes, rootLinks []string
	t.Run("labs", func(t *testing.T) {
		r := NewRouterLab(t)
		b := NewBridgeLab(t)
		spaces = append(r.Namespaces(), b.Namespaces()...)
		prefixes = []string{r.Prefix(), b.Prefix()}
		rootLinks = []string{r.Mgmt.Name}
		if _, err := netlink.LinkByName(r.Mgmt.Name); err != nil {
			t.Fatalf("management link %s not in the test's namespace: %v", r.Mgmt.Name, err)
		}
	})
	if len(spaces) != 9 {
		t.Fatalf("labs made %d namespaces (%v), want 9", len(spaces), spaces)
	}
	left := netnsList(t)
	for _, ns := range left {
		if strings.HasPrefix(ns, prefixes[0]) || strings.HasPrefix(ns, prefixes[1]) {
			t.Errorf("namespace %s left after cleanup", ns)
		}
	}
	for _, name := range rootLinks {
		if _, err := netlink.LinkByName(name); err == nil {
			t.Errorf("link %s left in the test's namespace", name)
		}
	}
}

// TestRemoveStale checks that objects of a dead test process are removed
// and those of live ones kept.
func TestRemoveStale(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := strconv.Itoa(dead.Process.Pid)
	staleNS := namePrefix + deadPID + "-1-h1"
	liveNS := ProcessPrefix() + "999-h1" // ours: must survive
	staleLink := namePrefix + deadPID + "m7"
	for _, ns := range []string{staleNS, liveNS} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v %s", ns, err, out)
		}
		t.Cleanup(func() { _ = deleteNS(ns) })
	}
	// A veth pair: deleting one end removes both.
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: staleLink}, PeerName: staleLink + "p"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(staleLink); err == nil {
			netlink.LinkDel(l)
		}
	})

	removeStale()

	left := netnsList(t)
	if slices.Contains(left, staleNS) {
		t.Errorf("namespace %s of dead pid %s survived", staleNS, deadPID)
	}
	if !slices.Contains(left, liveNS) {
		t.Errorf("namespace %s of this live process was removed", liveNS)
	}
	if _, err := netlink.LinkByName(staleLink); err == nil {
		t.Errorf("link %s of dead pid %s survived", staleLink, deadPID)
	}
}

// netnsList returns the names `ip netns list` shows.
func netnsList(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}
