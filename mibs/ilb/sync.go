package ilb

import (
	"strings"
	"time"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
)

func str(s string) agentx.Value { return agentx.OctetString([]byte(s)) }

// sync makes the active rows of the configuration tables, and the rows of
// the per-rule tables, match cfg. Rows that are not active (notReady,
// notInService) are the manager's drafts and stay.
func (b *Binding) sync(cfg *lb.Config) {
	type want struct {
		index  []agentx.Value
		values map[uint32]agentx.Value
	}
	wanted := map[*table.Table][]want{}
	add := func(t *table.Table, values map[uint32]agentx.Value, index ...agentx.Value) {
		wanted[t] = append(wanted[t], want{index, values})
	}
	for _, g := range cfg.Groups {
		add(b.groups, map[uint32]agentx.Value{sgStorage: agentx.Integer(storageNonVolatile)}, str(g.Name))
		for i := range g.Servers {
			add(b.servers, serverValues(&g.Servers[i]), str(g.Name), str(g.Servers[i].ID))
		}
	}
	for i := range cfg.HealthChecks {
		add(b.hcs, healthCheckValues(&cfg.HealthChecks[i]), str(cfg.HealthChecks[i].Name))
	}
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		add(b.rules, ruleValues(r), str(r.Name))
		add(b.ruleStats, nil, str(r.Name))
		if g := cfg.Group(r.ServerGroup); g != nil {
			for _, s := range g.Servers {
				add(b.serverStats, nil, str(r.Name), str(s.ID))
				if r.HCName != "" {
					add(b.hcResults, nil, str(r.Name), str(s.ID))
				}
			}
		}
	}
	for _, t := range []*table.Table{b.groups, b.servers, b.hcs, b.rules, b.ruleStats, b.serverStats, b.hcResults} {
		status := table.Active
		if t.Status == 0 {
			status = 0
		}
		keep := map[string]bool{}
		for _, w := range wanted[t] {
			key, _ := t.EncodeIndex(w.index...)
			keep[key.String()] = true
			if cur, ok := b.group.Row(t, w.index...); ok && cur.Status == status && sameValues(cur, w.values) {
				continue
			}
			if err := b.group.PutRow(t, w.index, w.values, status); err != nil {
				b.log.WithError(err).Error("ilb: cannot mirror the configuration")
			}
		}
		for _, r := range b.group.Rows(t) {
			if (t.Status == 0 || active(r)) && !keep[r.Key().String()] {
				b.group.DeleteRow(t, r.Index)
			}
		}
	}
	b.mu.Lock()
	b.statsAt = time.Time{} // rules changed: read the counters again
	b.mu.Unlock()
}

func sameValues(r *table.Row, values map[uint32]agentx.Value) bool {
	have := r.Values()
	for id, v := range values {
		if h, ok := have[id]; !ok || !h.Equal(v) {
			return false
		}
	}
	return true
}

// groupCol computes ilbServerGroupServerCount and NextServerId from the
// server rows (no engine round trip per GET).
func (b *Binding) groupCol(col uint32) func(*table.Row) agentx.Value {
	return func(r *table.Row) agentx.Value {
		servers := b.group.Rows(b.servers, r.Index[0])
		switch col {
		case sgServerCount:
			n := 0
			for _, s := range servers {
				if active(s) {
					n++
				}
			}
			return agentx.Gauge32(uint32(n))
		case sgNextID:
			used := make([]bool, lb.MaxServersInGroup)
			for _, s := range servers {
				if _, n, ok := lb.ParseServerID(text(s.Index[1])); ok {
					used[n] = true
				}
			}
			for n, u := range used {
				if !u {
					return str(lb.ServerID(text(r.Index[0]), n))
				}
			}
			return str("")
		}
		return agentx.NoSuchInstance()
	}
}

// ruleServer returns the rule row and server row behind a (rule, server
// ID) index.
func (b *Binding) ruleServer(r *table.Row) (*table.Row, *table.Row, bool) {
	rule, ok := b.group.Row(b.rules, r.Index[0])
	if !ok {
		return nil, nil, false
	}
	srv, ok := b.group.Row(b.servers, str(string(rule.Bytes(ruleServerGroup))), r.Index[1])
	return rule, srv, ok
}

// hcResult computes the columns of ilbHcResultTable from the rows and the
// health the checker reported (ReportHealth).
func (b *Binding) hcResult(col uint32) func(*table.Row) agentx.Value {
	return func(r *table.Row) agentx.Value {
		rule, srv, ok := b.ruleServer(r)
		if !ok {
			return agentx.NoSuchInstance()
		}
		h := b.healthOf(text(r.Index[0]), text(r.Index[1]))
		if !srv.Truth(srvEnabled) {
			h.State = HealthDisabled
			h.NextCheck = time.Time{}
		}
		switch col {
		case hcrHcName:
			return agentx.OctetString(rule.Bytes(ruleHcName))
		case hcrAddrType:
			return agentx.Integer(int32(srv.Int(srvAddrType)))
		case hcrAddr:
			return agentx.OctetString(srv.Bytes(srvAddr))
		case hcrState:
			return agentx.Integer(int32(h.State))
		case hcrFailCount:
			return agentx.Gauge32(h.FailCount)
		case hcrLastCheck:
			return dateAndTime(h.LastCheck)
		case hcrNextCheck:
			return dateAndTime(h.NextCheck)
		case hcrRtt:
			return agentx.Gauge32(uint32(min(h.RTT.Microseconds(), 1<<32-1)))
		}
		return agentx.NoSuchInstance()
	}
}

// dateAndTime encodes t in local time with its UTC offset; the zero time
// is eight zero octets.
func dateAndTime(t time.Time) agentx.Value {
	if t.IsZero() {
		return agentx.OctetString(make([]byte, 8))
	}
	t = t.Local()
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return agentx.OctetString([]byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(t.Nanosecond() / 100_000_000),
		sign, byte(off / 3600), byte(off % 3600 / 60)})
}

// ruleStatsOf returns the counters of a rule, read from the kernel at
// most once per statsTTL.
func (b *Binding) ruleStatsOf(name string) (*lb.RuleStats, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.statsAt) > statsTTL {
		all, err := b.engine.Stats()
		if err != nil {
			b.log.WithError(err).Warn("ilb: cannot read counters")
			return nil, false
		}
		b.stats = make(map[string]*lb.RuleStats, len(all))
		for i := range all {
			b.stats[strings.ToLower(all[i].Rule)] = &all[i]
		}
		b.statsAt = time.Now()
	}
	s, ok := b.stats[strings.ToLower(name)]
	return s, ok
}

// timeStamp is a TimeStamp (TimeTicks) for when counters started: 0 when
// that was before the binding started, else the hundredths of a second
// since (our stand-in for sysUpTime at that moment).
func (b *Binding) timeStamp(t time.Time) agentx.Value {
	if !t.After(b.started) {
		return agentx.TimeTicks(0)
	}
	return agentx.TimeTicks(uint32(t.Sub(b.started) / (10 * time.Millisecond)))
}

func (b *Binding) ruleStat(col uint32) func(*table.Row) agentx.Value {
	return func(r *table.Row) agentx.Value {
		s, ok := b.ruleStatsOf(text(r.Index[0]))
		if !ok {
			return agentx.NoSuchInstance()
		}
		switch col {
		case rsServers:
			return agentx.Gauge32(uint32(s.Servers))
		case rsPktsProcessed:
			return agentx.Counter64(s.Processed.Packets)
		case rsBytesProcessed:
			return agentx.Counter64(s.Processed.Bytes)
		case rsPktsUnassigned:
			return agentx.Counter64(s.Unassigned.Packets)
		case rsBytesUnassigned:
			return agentx.Counter64(s.Unassigned.Bytes)
		case rsPktsDropped:
			return agentx.Counter64(s.Dropped.Packets)
		case rsBytesDropped:
			return agentx.Counter64(s.Dropped.Bytes)
		case rsCurConns:
			return agentx.Gauge32(0) // the engine does not count live connections yet
		case rsTotalConns:
			return agentx.Counter64(s.TotalConns)
		case rsDiscontinuity:
			return b.timeStamp(s.Since)
		}
		// ICMP, no-memory and no-port drops: the data plane has no
		// counters for them; they stay 0.
		return agentx.Counter64(0)
	}
}

func (b *Binding) serverStat(col uint32) func(*table.Row) agentx.Value {
	return func(r *table.Row) agentx.Value {
		s, ok := b.ruleStatsOf(text(r.Index[0]))
		if !ok {
			return agentx.NoSuchInstance()
		}
		id := text(r.Index[1])
		for _, ss := range s.PerServer {
			if ss.ID != id {
				continue
			}
			switch col {
			case ssPkts:
				return agentx.Counter64(ss.Processed.Packets)
			case ssBytes:
				return agentx.Counter64(ss.Processed.Bytes)
			case ssCurConns:
				return agentx.Gauge32(0)
			case ssTotalConns:
				return agentx.Counter64(ss.TotalConns)
			case ssDiscontinuity:
				return b.timeStamp(s.Since)
			}
		}
		return agentx.NoSuchInstance()
	}
}
