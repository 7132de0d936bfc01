package dataplane

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernelNet reads routes, bridge forwarding entries, VRFs and bridge
// devices from the kernel over netlink. Refresh runs on the reconciler;
// the other methods read an immutable snapshot, so the packet loop may call
// Skip and VRFOf concurrently.
type kernelNet struct {
	cur atomic.Pointer[netSnapshot]
}

type netSnapshot struct {
	skip    map[int]bool   // bridge devices: their frames are seen on the ports
	vrf     map[int]string // ifindex → VRF name
	fdb     map[string]int // MAC → bridge port ifindex
	byIndex map[int]netlink.Link
}

func newKernelNet() *kernelNet {
	k := &kernelNet{}
	k.cur.Store(&netSnapshot{})
	return k
}

func (k *kernelNet) Refresh() error {
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	s := &netSnapshot{skip: map[int]bool{}, vrf: map[int]string{}, fdb: map[string]int{}, byIndex: map[int]netlink.Link{}}
	for _, l := range links {
		s.byIndex[l.Attrs().Index] = l
		if l.Type() == "bridge" {
			s.skip[l.Attrs().Index] = true
		}
	}
	for _, l := range links {
		if m, ok := s.byIndex[l.Attrs().MasterIndex]; ok && m.Type() == "vrf" {
			s.vrf[l.Attrs().Index] = m.Attrs().Name
		}
	}
	neighs, err := netlink.NeighList(0, unix.AF_BRIDGE)
	if err == nil {
		for _, n := range neighs {
			// Entries the bridge learned or was given for its ports (not
			// the bridge device's own addresses).
			if n.HardwareAddr != nil && !s.skip[n.LinkIndex] {
				s.fdb[n.HardwareAddr.String()] = n.LinkIndex
			}
		}
	}
	k.cur.Store(s)
	if err != nil {
		return fmt.Errorf("list bridge forwarding entries: %w", err)
	}
	return nil
}

func (k *kernelNet) RouteIfIndex(p netip.Prefix) int {
	routes, err := netlink.RouteGet(net.IP(p.Addr().AsSlice()))
	if err != nil || len(routes) == 0 {
		return 0
	}
	return routes[0].LinkIndex
}

func (k *kernelNet) LearnedPort(mac net.HardwareAddr) int { return k.cur.Load().fdb[mac.String()] }

func (k *kernelNet) VRFOf(ifIndex int) string { return k.cur.Load().vrf[ifIndex] }

func (k *kernelNet) Skip(ifIndex int) bool { return k.cur.Load().skip[ifIndex] }
