package lb

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// dsrRulePriority is the priority of the engine's policy routing rules;
// every rule with it belongs to the engine (and leftovers of an earlier
// run are removed by it). The table number is the server's mark: marks
// start at 1<<markShift, clear of the reserved tables 253–255.
const dsrRulePriority = 7300

// dsrRoutes are the next hops DSR needs: server mark → server address.
type dsrRoutes map[uint32]netip.Addr

// wantedDSRRoutes lists every server of every DSR rule, usable or not,
// so that health changes only touch nftables.
func wantedDSRRoutes(cfg *Config, ids map[string]int) dsrRoutes {
	out := dsrRoutes{}
	for _, r := range cfg.Rules {
		id, ok := ids[strings.ToLower(r.Name)]
		g := cfg.Group(r.ServerGroup)
		if r.Topology != DSR || !ok || g == nil {
			continue
		}
		for _, s := range g.Servers {
			out[serverMark(id, serverNum(s.ID))] = s.Addr.Unmap()
		}
	}
	return out
}

// router programs policy routing in the engine's namespace.
type router struct{ h *netlink.Handle }

func newRouter(nsPath string) (*router, error) {
	if nsPath == "" {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("lb: rtnetlink: %w", err)
		}
		return &router{h}, nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("lb: open namespace %s: %w", nsPath, err)
	}
	defer ns.Close() // the socket keeps the namespace
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("lb: rtnetlink in %s: %w", nsPath, err)
	}
	return &router{h}, nil
}

func (rt *router) close() { rt.h.Close() }

func nlFamily(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// add installs what want has and have has not (or has differently): a
// default route via the server, on the link that reaches it, in the
// mark's table, and the rule sending marked packets there.
func (rt *router) add(have, want dsrRoutes) error {
	for _, mark := range slices.Sorted(maps.Keys(want)) {
		a := want[mark]
		if old, ok := have[mark]; ok && old == a {
			continue
		}
		gw := net.IP(a.AsSlice())
		via, err := rt.h.RouteGet(gw)
		if err != nil || len(via) == 0 {
			return fmt.Errorf("lb: DSR server %s: no route: %w", a, err)
		}
		_, dst, _ := net.ParseCIDR("0.0.0.0/0")
		if a.Is6() {
			_, dst, _ = net.ParseCIDR("::/0")
		}
		route := &netlink.Route{Dst: dst, Gw: gw, LinkIndex: via[0].LinkIndex, Table: int(mark),
			Flags: int(netlink.FLAG_ONLINK), Family: nlFamily(a)}
		if err := rt.h.RouteReplace(route); err != nil {
			return fmt.Errorf("lb: DSR route via %s in table %d: %w", a, mark, err)
		}
		if err := rt.h.RuleAdd(markRule(mark, a)); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("lb: DSR rule for mark %#x: %w", mark, err)
		}
	}
	return nil
}

func markRule(mark uint32, a netip.Addr) *netlink.Rule {
	r := netlink.NewRule()
	mask := ^uint32(0)
	r.Priority, r.Family, r.Table, r.Mark, r.Mask = dsrRulePriority, nlFamily(a), int(mark), mark, &mask
	return r
}

// prune removes the engine's rules (by priority) and tables whose mark
// is not in keep.
func (rt *router) prune(keep dsrRoutes) error {
	var errs []error
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rules, err := rt.h.RuleList(fam)
		if err != nil {
			errs = append(errs, fmt.Errorf("lb: list policy rules: %w", err))
			continue
		}
		for _, r := range rules {
			if r.Priority != dsrRulePriority {
				continue
			}
			if a, ok := keep[r.Mark]; ok && nlFamily(a) == fam {
				continue
			}
			if err := rt.h.RuleDel(&r); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("lb: delete policy rule for mark %#x: %w", r.Mark, err))
			}
			routes, err := rt.h.RouteListFiltered(fam, &netlink.Route{Table: r.Table}, netlink.RT_FILTER_TABLE)
			if err != nil {
				errs = append(errs, fmt.Errorf("lb: list table %d: %w", r.Table, err))
				continue
			}
			for _, route := range routes {
				if err := rt.h.RouteDel(&route); err != nil && !errors.Is(err, unix.ESRCH) {
					errs = append(errs, fmt.Errorf("lb: delete route in table %d: %w", r.Table, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
