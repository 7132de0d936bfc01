package lb

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Counter is a packet and byte count.
type Counter struct{ Packets, Bytes uint64 }

// ServerStats are the counters of one server within one rule.
type ServerStats struct {
	ID         string
	Processed  Counter // packets of the rule's connections to it, both directions
	TotalConns uint64  // connections assigned to it
}

// RuleStats are the show-statistics figures of one rule. Counters start
// at zero when the rule's kernel objects are made (Since): at engine
// start and whenever the rule's settings other than enabled change.
type RuleStats struct {
	Rule       string
	Servers    int     // servers taking new connections
	Processed  Counter // sum over the servers
	Unassigned Counter // matched while the rule was disabled
	Dropped    Counter // no usable server
	TotalConns uint64
	Since      time.Time
	PerServer  []ServerStats
}

// Stats reads the counters of every rule from the kernel.
func (e *Engine) Stats() ([]RuleStats, error) {
	var out []RuleStats
	var err error
	if derr := e.do(func() { out, err = e.stats() }); derr != nil {
		return nil, derr
	}
	return out, err
}

func (e *Engine) stats() ([]RuleStats, error) {
	objs, err := e.conn.GetNamedObjects(e.table)
	if err != nil {
		return nil, fmt.Errorf("lb: read counters: %w", err)
	}
	counters := map[string]Counter{}
	for _, o := range objs {
		switch c := o.(type) {
		case *nftables.CounterObj:
			counters[c.Name] = Counter{c.Packets, c.Bytes}
		case *nftables.NamedObj:
			if x, ok := c.Obj.(*expr.Counter); ok {
				counters[c.Name] = Counter{x.Packets, x.Bytes}
			}
		}
	}
	elems, err := e.conn.GetSetElements(&nftables.Set{Table: e.table, Name: serverPktsSet, KeyType: nftables.TypeMark})
	if err != nil {
		return nil, fmt.Errorf("lb: read server packet counters: %w", err)
	}
	byMark := map[uint32]Counter{}
	for _, el := range elems {
		if len(el.Key) == 4 && el.Counter != nil {
			byMark[binary.NativeEndian.Uint32(el.Key)] = Counter{el.Counter.Packets, el.Counter.Bytes}
		}
	}
	var out []RuleStats
	for _, r := range e.cfg.Rules {
		gen, ok := e.gens[strings.ToLower(r.Name)]
		if !ok {
			continue
		}
		rs := RuleStats{Rule: r.Name, Since: gen.since,
			Unassigned: counters[unassignedCounterName(gen.id)], Dropped: counters[dropCounterName(gen.id)]}
		if g := e.cfg.Group(r.ServerGroup); g != nil {
			for _, s := range g.Servers {
				n := serverNum(s.ID)
				ss := ServerStats{ID: s.ID, Processed: byMark[serverMark(gen.id, n)],
					TotalConns: counters[serverChainName(gen.id, n)].Packets}
				if s.Enabled && !e.unhealthy[healthKey(r.Name, s.ID)] {
					rs.Servers++
				}
				rs.Processed.Packets += ss.Processed.Packets
				rs.Processed.Bytes += ss.Processed.Bytes
				rs.TotalConns += ss.TotalConns
				rs.PerServer = append(rs.PerServer, ss)
			}
		}
		out = append(out, rs)
	}
	return out, nil
}
