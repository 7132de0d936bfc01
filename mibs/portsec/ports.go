package portsec

import (
	"fmt"
	"sort"

	"github.com/vishvananda/netlink"
)

// BridgePorts lists the ports of every Linux bridge in the caller's
// network namespace, by ifindex.
func BridgePorts() ([]BridgePort, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	bridges := map[int]bool{}
	for _, l := range links {
		if l.Type() == "bridge" {
			bridges[l.Attrs().Index] = true
		}
	}
	var out []BridgePort
	for _, l := range links {
		a := l.Attrs()
		if a.MasterIndex != 0 && bridges[a.MasterIndex] {
			out = append(out, BridgePort{Ifindex: a.Index, Name: a.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ifindex < out[j].Ifindex })
	return out, nil
}
