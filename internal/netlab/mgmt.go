package netlab

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// mgmtNet holds the /30 management links between the test's own
// namespace and lab namespaces; it is shared by every test process on the
// machine, so blocks are taken under a file lock.
var mgmtNet = netip.MustParsePrefix("198.19.0.0/16")

const mgmtLockPath = "/run/netlab.lock"

var (
	mgmtSeq  atomic.Int64
	rootOnce sync.Once
	rootNS   *NS
	rootErr  error
)

// Root is the namespace the test process runs in. Its Name is empty; Lab
// never deletes it.
func (l *Lab) Root() *NS {
	l.tb.Helper()
	rootOnce.Do(func() {
		ns := &NS{lab: nil}
		if ns.handle, rootErr = netns.Get(); rootErr != nil {
			rootErr = fmt.Errorf("own namespace: %w", rootErr)
			return
		}
		if ns.nl, rootErr = netlink.NewHandleAt(ns.handle); rootErr != nil {
			rootErr = fmt.Errorf("netlink in own namespace: %w", rootErr)
			return
		}
		rootNS = ns
	})
	if rootErr != nil {
		l.tb.Fatalf("netlab: %v", rootErr)
	}
	return rootNS
}

// AddMgmt links the test's own namespace to ns with a /30 from
// 198.19.0.0/16 (IPv4 only) and returns both ends, up: the root end is
// named nl<pid>m<n>, the ns end name. The test process can then reach
// daemons in ns (snmpd on the ns end's address) with ordinary sockets.
func (l *Lab) AddMgmt(ns *NS, name string) (root, inner *Iface) {
	l.tb.Helper()
	root, inner, err := l.addMgmt(ns, name)
	if err != nil {
		l.tb.Fatalf("netlab: management link to %s: %v", ns.Name, err)
	}
	return root, inner
}

func (l *Lab) addMgmt(ns *NS, name string) (*Iface, *Iface, error) {
	rootName := fmt.Sprintf("%s%dm%d", namePrefix, os.Getpid(), mgmtSeq.Add(1))
	if len(rootName) >= unix.IFNAMSIZ {
		return nil, nil, fmt.Errorf("link name %s too long", rootName)
	}
	r := l.Root()
	// The lock covers picking a free block and assigning it.
	lock, err := os.OpenFile(mgmtLockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", mgmtLockPath, err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	block, err := freeMgmtBlock(r.nl)
	if err != nil {
		return nil, nil, err
	}
	ri, ni, err := l.veth(r, rootName, ns, name)
	if err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	l.rootLinks = append(l.rootLinks, rootName)
	l.mu.Unlock()
	// No IPv6 on the root end: nothing of ours should chatter there.
	if err := writeSysctl("net/ipv6/conf/"+rootName+"/disable_ipv6", "1"); err != nil {
		return nil, nil, err
	}
	base := block.Addr()
	l.AddAddr(ri, netip.PrefixFrom(base.Next(), 30).String())
	l.AddAddr(ni, netip.PrefixFrom(base.Next().Next(), 30).String())
	l.LinkUp(ri, ni)
	l.neighbors(ri, ni)
	return ri, ni, nil
}

// freeMgmtBlock returns a /30 of mgmtNet that no address of the root
// namespace lies in, starting the search at a pid-dependent block.
func freeMgmtBlock(h *netlink.Handle) (netip.Prefix, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list addresses: %w", err)
	}
	used := map[netip.Prefix]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && mgmtNet.Contains(ip) {
			p, _ := ip.Prefix(30)
			used[p] = true
		}
	}
	const blocks = 1 << (32 - 16 - 2)
	start := (os.Getpid()*31 + int(mgmtSeq.Load())) % blocks
	base := mgmtNet.Addr().As4()
	for i := range blocks {
		n := (start + i) % blocks
		a := base
		a[2], a[3] = byte(n>>6), byte(n<<2)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 30)
		if !used[p] {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /30 left in %s", mgmtNet)
}
