package netlab

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Iface is an interface of a lab namespace as seen from inside it.
type Iface struct {
	NS    *NS
	Name  string
	Index int // ifindex inside NS
	MAC   net.HardwareAddr
	// Addrs are the addresses the lab assigned, with their prefix length.
	Addrs []netip.Prefix
}

// IPv4 is the first IPv4 address of the interface (invalid if none).
func (i *Iface) IPv4() netip.Addr { return i.first(true) }

// IPv6 is the first IPv6 address of the interface (invalid if none).
func (i *Iface) IPv6() netip.Addr { return i.first(false) }

// Addr is the interface's first address of dst's family, handy for
// choosing a source for dst.
func (i *Iface) Addr(is4 bool) netip.Addr { return i.first(is4) }

func (i *Iface) first(is4 bool) netip.Addr {
	for _, p := range i.Addrs {
		if p.Addr().Is4() == is4 {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

func (i *Iface) String() string { return i.NS.Name + "/" + i.Name }

// nextMAC hands out locally administered unicast MACs, unique within a lab.
func (l *Lab) nextMAC() net.HardwareAddr {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.macSeq++
	return net.HardwareAddr{0x02, 0x4e, 0x4c, byte(l.id), byte(l.macSeq >> 8), byte(l.macSeq)}
}

// Veth creates a veth pair aName in a and bName in b (lab MACs, checksums
// computed in software, down until LinkUp). It fails the test on error.
func (l *Lab) Veth(a *NS, aName string, b *NS, bName string) (*Iface, *Iface) {
	l.tb.Helper()
	ai, bi, err := l.veth(a, aName, b, bName)
	if err != nil {
		l.tb.Fatalf("netlab: %v", err)
	}
	return ai, bi
}

func (l *Lab) veth(a *NS, aName string, b *NS, bName string) (*Iface, *Iface, error) {
	v := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: aName, HardwareAddr: l.nextMAC()},
		PeerName:         bName,
		PeerHardwareAddr: l.nextMAC(),
		PeerNamespace:    netlink.NsFd(int(b.handle)),
	}
	if err := a.nl.LinkAdd(v); err != nil {
		return nil, nil, fmt.Errorf("veth %s/%s — %s/%s: %w", a.Name, aName, b.Name, bName, err)
	}
	ai, err := a.iface(aName)
	if err != nil {
		return nil, nil, err
	}
	bi, err := b.iface(bName)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range []*Iface{ai, bi} {
		if err := i.NS.txChecksumOff(i.Name); err != nil {
			return nil, nil, err
		}
	}
	return ai, bi, nil
}

// iface looks up an interface by name inside ns.
func (ns *NS) iface(name string) (*Iface, error) {
	link, err := ns.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find %s in %s: %w", name, ns.Name, err)
	}
	a := link.Attrs()
	return &Iface{NS: ns, Name: name, Index: a.Index, MAC: a.HardwareAddr}, nil
}

// Bridge creates a bridge in ns with multicast snooping off (multicast is
// flooded like broadcast) and brings it up.
func (l *Lab) Bridge(ns *NS, name string) *Iface {
	l.tb.Helper()
	snooping := false
	br := &netlink.Bridge{
		LinkAttrs:         netlink.LinkAttrs{Name: name, HardwareAddr: l.nextMAC()},
		MulticastSnooping: &snooping,
	}
	if err := ns.nl.LinkAdd(br); err != nil {
		l.tb.Fatalf("netlab: bridge %s in %s: %v", name, ns.Name, err)
	}
	i, err := ns.iface(name)
	if err != nil {
		l.tb.Fatalf("netlab: %v", err)
	}
	l.LinkUp(i)
	return i
}

// AddBridgePort enslaves port (an interface in the bridge's namespace) to
// bridge.
func (l *Lab) AddBridgePort(bridge, port *Iface) {
	l.tb.Helper()
	if bridge.NS != port.NS {
		l.tb.Fatalf("netlab: port %s is not in the namespace of bridge %s", port, bridge)
	}
	if err := port.NS.nl.LinkSetMasterByIndex(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: port.Index}}, bridge.Index); err != nil {
		l.tb.Fatalf("netlab: add %s to bridge %s: %v", port, bridge, err)
	}
}

// LinkUp sets the interfaces up.
func (l *Lab) LinkUp(ifaces ...*Iface) {
	l.tb.Helper()
	for _, i := range ifaces {
		if err := i.NS.nl.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: i.Index}}); err != nil {
			l.tb.Fatalf("netlab: %s up: %v", i, err)
		}
	}
}

// AddAddr assigns addresses ("198.18.1.1/24", "2001:db8:1::1/64") to i
// and records them in i.Addrs. IPv6 addresses skip DAD.
func (l *Lab) AddAddr(i *Iface, prefixes ...string) {
	l.tb.Helper()
	for _, s := range prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			l.tb.Fatalf("netlab: address %q: %v", s, err)
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		link := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: i.Index}}
		if err := i.NS.nl.AddrAdd(link, addr); err != nil {
			l.tb.Fatalf("netlab: add %s to %s: %v", s, i, err)
		}
		i.Addrs = append(i.Addrs, p)
	}
}

// AddRoute adds a route to dst ("0.0.0.0/0", "2001:db8:2::/64") via gw in
// ns.
func (l *Lab) AddRoute(ns *NS, dst string, gw netip.Addr) {
	l.tb.Helper()
	p, err := netip.ParsePrefix(dst)
	if err != nil {
		l.tb.Fatalf("netlab: route %q: %v", dst, err)
	}
	r := &netlink.Route{
		Dst: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
		Gw:  gw.AsSlice(),
	}
	if err := ns.nl.RouteAdd(r); err != nil {
		l.tb.Fatalf("netlab: route %s via %s in %s: %v", dst, gw, ns.Name, err)
	}
}

// AddNeighbor adds a permanent ARP/ND entry on i: addr is at mac. The
// topologies add one for every neighbour so that no ARP or neighbour
// discovery traffic appears during tests.
func (l *Lab) AddNeighbor(i *Iface, addr netip.Addr, mac net.HardwareAddr) {
	l.tb.Helper()
	family := netlink.FAMILY_V4
	if addr.Is6() {
		family = netlink.FAMILY_V6
	}
	n := &netlink.Neigh{LinkIndex: i.Index, Family: family, State: netlink.NUD_PERMANENT,
		IP: addr.AsSlice(), HardwareAddr: mac}
	if err := i.NS.nl.NeighSet(n); err != nil {
		l.tb.Fatalf("netlab: neighbour %s at %s on %s: %v", addr, mac, i, err)
	}
}

// neighbors makes every address of a known at b's side and vice versa.
func (l *Lab) neighbors(a, b *Iface) {
	l.tb.Helper()
	for _, p := range a.Addrs {
		l.AddNeighbor(b, p.Addr(), a.MAC)
	}
	for _, p := range b.Addrs {
		l.AddNeighbor(a, p.Addr(), b.MAC)
	}
}

// EnableForwarding turns on IPv4 and IPv6 forwarding in ns.
func (l *Lab) EnableForwarding(ns *NS) {
	l.tb.Helper()
	err := ns.Do(func() error {
		for _, p := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"} {
			if err := writeSysctl(p, "1"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.tb.Fatalf("netlab: forwarding in %s: %v", ns.Name, err)
	}
}

// ethtoolValue is struct ethtool_value of linux/ethtool.h.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with the ifr_data pointer member.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

const ethtoolSTXCSUM = 0x17 // ETHTOOL_STXCSUM

// txChecksumOff makes the kernel compute checksums before a packet leaves
// the interface (what `ethtool -K IF tx off` does). veth otherwise passes
// packets on with a partial checksum, and captures would show wrong ones.
func (ns *NS) txChecksumOff(name string) error {
	return ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("ethtool socket: %w", err)
		}
		defer unix.Close(fd)
		v := ethtoolValue{cmd: ethtoolSTXCSUM, data: 0}
		var req ifreqData
		copy(req.name[:], name)
		req.data = unsafe.Pointer(&v)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req))); errno != 0 {
			return fmt.Errorf("tx checksum off on %s in %s: %w", name, ns.Name, os.NewSyscallError("ioctl", errno))
		}
		return nil
	})
}
