package netlab

import (
	"fmt"
	"testing"
)

// Host is a lab namespace with a single link, eth0.
type Host struct {
	*NS
	If *Iface
}

// RouterLab is h1 — router — h2 with a mediation device on a third router
// link and a management link from the test's own namespace:
//
//	h1  eth0 198.18.1.2/24 2001:db8:1::2/64 — eth1 198.18.1.1 2001:db8:1::1  router
//	h2  eth0 198.18.2.2/24 2001:db8:2::2/64 — eth2 198.18.2.1 2001:db8:2::1  router
//	md  eth0 198.18.3.2/24 2001:db8:3::2/64 — eth3 198.18.3.1 2001:db8:3::1  router
//	test's namespace nl<pid>m<n> 198.19.x.y/30 — mgmt0 (the next address)  router
//
// The router forwards IPv4 and IPv6; hosts route everything via it.
type RouterLab struct {
	*Lab
	Router                       *NS
	H1, H2, MD                   *Host
	RouterH1, RouterH2, RouterMD *Iface // the router's ends of those links
	Mgmt, RouterMgmt             *Iface // root end and router end of the management link
}

// NewRouterLab builds a RouterLab in a new Lab.
func NewRouterLab(tb testing.TB) *RouterLab {
	tb.Helper()
	l := New(tb)
	r := &RouterLab{Lab: l, Router: l.AddNS("rtr")}
	l.EnableForwarding(r.Router)
	r.H1, r.RouterH1 = l.routedHost("h1", r.Router, "eth1", 1)
	r.H2, r.RouterH2 = l.routedHost("h2", r.Router, "eth2", 2)
	r.MD, r.RouterMD = l.routedHost("md", r.Router, "eth3", 3)
	r.Mgmt, r.RouterMgmt = l.AddMgmt(r.Router, "mgmt0")
	return r
}

// routedHost makes namespace role with eth0 linked to gwName in gwNS on
// 198.18.<net>.0/24 and 2001:db8:<net>::/64 (gateway .1/::1, host
// .2/::2), default routes via the gateway and static neighbours.
func (l *Lab) routedHost(role string, gwNS *NS, gwName string, net int) (*Host, *Iface) {
	l.tb.Helper()
	h := &Host{NS: l.AddNS(role)}
	var gw *Iface
	h.If, gw = l.Veth(h.NS, "eth0", gwNS, gwName)
	l.AddAddr(gw, fmt.Sprintf("198.18.%d.1/24", net), fmt.Sprintf("2001:db8:%d::1/64", net))
	l.AddAddr(h.If, fmt.Sprintf("198.18.%d.2/24", net), fmt.Sprintf("2001:db8:%d::2/64", net))
	l.LinkUp(gw, h.If)
	l.neighbors(gw, h.If)
	l.AddRoute(h.NS, "0.0.0.0/0", gw.IPv4())
	l.AddRoute(h.NS, "::/0", gw.IPv6())
	return h, gw
}

// BridgeLab is three hosts on one L2 segment, a bridge br0 in the bridge
// namespace, and a mediation device routed from the bridge namespace:
//
//	h1 eth0 198.18.10.11/24 2001:db8:10::11/64 — p1 ┐
//	h2 eth0 198.18.10.12/24 2001:db8:10::12/64 — p2 ├ br0 198.18.10.1 2001:db8:10::1  bridge
//	h3 eth0 198.18.10.13/24 2001:db8:10::13/64 — p3 ┘
//	md eth0 198.18.11.2/24  2001:db8:11::2/64  — md0 198.18.11.1 2001:db8:11::1      bridge
//
// br0 has multicast snooping off. The bridge namespace forwards IP
// between br0 and md0; hosts route everything via br0's addresses.
type BridgeLab struct {
	*Lab
	Bridge              *NS
	Br0                 *Iface
	H1, H2, H3, MD      *Host
	Port1, Port2, Port3 *Iface // bridge ports towards h1, h2, h3
	BridgeMD            *Iface // the bridge namespace's end of the md link
}

// NewBridgeLab builds a BridgeLab in a new Lab.
func NewBridgeLab(tb testing.TB) *BridgeLab {
	tb.Helper()
	l := New(tb)
	b := &BridgeLab{Lab: l, Bridge: l.AddNS("br")}
	l.EnableForwarding(b.Bridge)
	b.Br0 = l.Bridge(b.Bridge, "br0")
	l.AddAddr(b.Br0, "198.18.10.1/24", "2001:db8:10::1/64")
	hosts := []**Host{&b.H1, &b.H2, &b.H3}
	ports := []**Iface{&b.Port1, &b.Port2, &b.Port3}
	for n := range hosts {
		h := &Host{NS: l.AddNS(fmt.Sprintf("h%d", n+1))}
		var port *Iface
		h.If, port = l.Veth(h.NS, "eth0", b.Bridge, fmt.Sprintf("p%d", n+1))
		l.AddAddr(h.If, fmt.Sprintf("198.18.10.%d/24", 11+n), fmt.Sprintf("2001:db8:10::%d/64", 11+n))
		l.AddBridgePort(b.Br0, port)
		l.LinkUp(port, h.If)
		*hosts[n], *ports[n] = h, port
	}
	// Everybody on the segment knows everybody else.
	segment := []*Iface{b.Br0, b.H1.If, b.H2.If, b.H3.If}
	for i, a := range segment {
		for _, c := range segment[i+1:] {
			l.neighbors(a, c)
		}
	}
	for _, h := range b.Hosts() {
		l.AddRoute(h.NS, "0.0.0.0/0", b.Br0.IPv4())
		l.AddRoute(h.NS, "::/0", b.Br0.IPv6())
	}
	b.MD, b.BridgeMD = l.routedHost("md", b.Bridge, "md0", 11)
	return b
}

// Hosts are h1, h2 and h3.
func (b *BridgeLab) Hosts() []*Host { return []*Host{b.H1, b.H2, b.H3} }
