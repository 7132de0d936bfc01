package lb

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NATEntry is one connection of a rule (ilbadm show-nat), read from
// conntrack: what the client sent, where it went, and the source the
// server saw (the client itself for HALF-NAT, a proxy-src address for
// NAT).
type NATEntry struct {
	Rule      string
	ServerID  string
	Protocol  Protocol
	Client    netip.AddrPort
	VIP       netip.AddrPort
	Proxy     netip.AddrPort
	Server    netip.AddrPort
	Age       time.Duration // 0 when conntrack keeps no start time
	Remaining time.Duration // until conntrack forgets an idle connection
}

// conntrack reads and deletes connection tracking entries of the
// engine's namespace.
type conntrack struct {
	mu sync.Mutex
	h  *netlink.Handle
}

func newConntrack(path string) (*conntrack, error) {
	var h *netlink.Handle
	var err error
	if path == "" {
		h, err = netlink.NewHandle(unix.NETLINK_NETFILTER)
	} else {
		var ns netns.NsHandle
		if ns, err = netns.GetFromPath(path); err != nil {
			return nil, fmt.Errorf("lb: conntrack: namespace %s: %w", path, err)
		}
		defer ns.Close()
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	}
	if err != nil {
		return nil, fmt.Errorf("lb: conntrack: %w", err)
	}
	return &conntrack{h: h}, nil
}

func (c *conntrack) close() { c.h.Close() }

func ctFamily(v4 bool) netlink.InetFamily {
	if v4 {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// list dumps the flows of one family whose mark keep accepts.
func (c *conntrack) list(v4 bool, keep func(mark uint32) bool) ([]*netlink.ConntrackFlow, error) {
	c.mu.Lock()
	flows, err := c.h.ConntrackTableList(netlink.ConntrackTable, ctFamily(v4))
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("lb: read conntrack: %w", err)
	}
	return slices.DeleteFunc(flows, func(f *netlink.ConntrackFlow) bool { return !keep(f.Mark) }), nil
}

// ctFilter matches the connections of one server of one rule generation.
type ctFilter struct {
	mark   uint32
	server net.IP
}

func (f ctFilter) MatchConntrackFlow(fl *netlink.ConntrackFlow) bool {
	return fl.Mark == f.mark && fl.Reverse.SrcIP.Equal(f.server)
}

// drop deletes the connections of one server of one rule generation.
func (c *conntrack) drop(mark uint32, server netip.Addr) (uint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.h.ConntrackDeleteFilters(netlink.ConntrackTable, ctFamily(server.Is4()),
		ctFilter{mark: mark, server: server.AsSlice()})
	if err != nil {
		return n, fmt.Errorf("lb: delete conntrack entries: %w", err)
	}
	return n, nil
}

// enableTimestamps asks conntrack to note when connections start (for
// the age show-nat reports); without it ages read 0.
func enableTimestamps(ns *nsThread) error {
	return ns.run(func() error {
		return os.WriteFile("/proc/sys/net/netfilter/nf_conntrack_timestamp", []byte("1"), 0o644)
	})
}

// natRule is what NATEntries needs of a rule, copied on the engine's
// goroutine.
type natRule struct {
	name    string
	id      int
	proto   Protocol
	v4      bool
	servers map[int]string // number → ID
}

// NATEntries lists the live connections of rule ("" for every rule), by
// rule name, client address and port and VIP port (the MIB's order).
func (e *Engine) NATEntries(rule string) ([]NATEntry, error) {
	var rules []natRule
	if err := e.do(func() {
		for _, r := range e.cfg.Rules {
			if rule != "" && !strings.EqualFold(rule, r.Name) || r.Topology == DSR {
				continue
			}
			g, ok := e.gens[strings.ToLower(r.Name)]
			if !ok {
				continue
			}
			nr := natRule{name: r.Name, id: g.id, proto: r.Protocol, v4: r.VIP.Is4(), servers: map[int]string{}}
			if grp := e.cfg.Group(r.ServerGroup); grp != nil {
				for _, s := range grp.Servers {
					nr.servers[serverNum(s.ID)] = s.ID
				}
			}
			rules = append(rules, nr)
		}
	}); err != nil {
		return nil, err
	}
	if rule != "" && len(rules) == 0 {
		found := false
		e.do(func() { found = e.cfg.Rule(rule) != nil })
		if !found {
			return nil, errf(ErrNotFound, "rule "+rule, "", "no such rule")
		}
	}
	now := time.Now()
	var out []NATEntry
	for _, v4 := range []bool{true, false} {
		byID := map[int]*natRule{}
		for i := range rules {
			if rules[i].v4 == v4 {
				byID[rules[i].id] = &rules[i]
			}
		}
		if len(byID) == 0 {
			continue
		}
		flows, err := e.ct.list(v4, func(mark uint32) bool { return byID[int(mark>>markShift)] != nil })
		if err != nil {
			return nil, err
		}
		for _, f := range flows {
			r := byID[int(f.Mark>>markShift)]
			if f.Forward.Protocol != uint8(r.proto) {
				continue
			}
			ne := NATEntry{Rule: r.name, ServerID: r.servers[int(f.Mark&^ruleMask)], Protocol: r.proto,
				Client:    addrPort(f.Forward.SrcIP, f.Forward.SrcPort),
				VIP:       addrPort(f.Forward.DstIP, f.Forward.DstPort),
				Server:    addrPort(f.Reverse.SrcIP, f.Reverse.SrcPort),
				Proxy:     addrPort(f.Reverse.DstIP, f.Reverse.DstPort),
				Remaining: time.Duration(f.TimeOut) * time.Second}
			if f.TimeStart != 0 {
				ne.Age = max(now.Sub(time.Unix(0, int64(f.TimeStart))), 0)
			}
			out = append(out, ne)
		}
	}
	slices.SortFunc(out, func(a, b NATEntry) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Rule), strings.ToLower(b.Rule)),
			cmp.Compare(a.Client.Addr().BitLen(), b.Client.Addr().BitLen()),
			a.Client.Addr().Compare(b.Client.Addr()), cmp.Compare(a.Client.Port(), b.Client.Port()),
			cmp.Compare(a.VIP.Port(), b.VIP.Port()))
	})
	return out, nil
}

func addrPort(ip net.IP, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}

// drainJob deletes the connections of a disabled or removed server when
// its rule's conn-drain time is up.
type drainJob struct {
	timer  *time.Timer
	server netip.Addr
}

// scheduleDrains compares the configuration before and after a change:
// servers that stopped taking connections of a rule with conn-drain > 0
// get their connections deleted conn-drain seconds later; servers that
// take connections again keep theirs. With conn-drain 0 connections run
// until they end (ilbadm). Runs on the engine's goroutine.
func (e *Engine) scheduleDrains(prev *Config, prevGens map[string]ruleGen) {
	active := func(c *Config, r *Rule) map[int]netip.Addr {
		m := map[int]netip.Addr{}
		if g := c.Group(r.ServerGroup); g != nil {
			for _, s := range g.Servers {
				if s.Enabled {
					m[serverNum(s.ID)] = s.Addr
				}
			}
		}
		return m
	}
	for i := range e.cfg.Rules {
		r := &e.cfg.Rules[i]
		k := strings.ToLower(r.Name)
		gen := e.gens[k]
		now := active(e.cfg, r)
		for n := range now {
			e.cancelDrain(serverMark(gen.id, n))
		}
		old := prev.Rule(r.Name)
		if og, ok := prevGens[k]; !ok || og.id != gen.id || old == nil || r.ConnDrain == 0 {
			continue
		}
		for n, a := range active(prev, old) {
			if cur, ok := now[n]; ok && cur == a {
				continue
			}
			mark := serverMark(gen.id, n)
			e.cancelDrain(mark)
			job := &drainJob{server: a}
			job.timer = time.AfterFunc(seconds(r.ConnDrain), func() { e.drain(mark, job) })
			e.drains[mark] = job
		}
	}
}

func (e *Engine) cancelDrain(mark uint32) {
	if j, ok := e.drains[mark]; ok {
		j.timer.Stop()
		delete(e.drains, mark)
	}
}

// drain runs when a drain timer fires.
func (e *Engine) drain(mark uint32, job *drainJob) {
	still := false
	if e.do(func() {
		if e.drains[mark] == job {
			delete(e.drains, mark)
			still = true
		}
	}) != nil || !still {
		return
	}
	if _, err := e.ct.drop(mark, job.server); err != nil && e.onError != nil {
		e.onError(err)
	}
}
