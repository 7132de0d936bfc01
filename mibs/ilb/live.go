package ilb

import (
	"time"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
)

// ConnectionSource is implemented by an engine that lists its live
// connections and persistence entries (*lb.Engine): ilbNatTable and
// ilbPersistTable are filled from it.
type ConnectionSource interface {
	NATEntries(rule string) ([]lb.NATEntry, error)
	PersistEntries(rule string) ([]lb.PersistEntry, error)
}

// liveTTL: a walk of the connection tables reads conntrack and the
// persistence maps once, not once per GETNEXT.
const liveTTL = time.Second

// Subtrees of the two live tables (ilbNatTable, ilbPersistTable) and the
// OID just past them.
var (
	natTableOID     = ilbObjects.Append(9)
	persistTableOID = ilbObjects.Append(10)
	pastLiveTables  = ilbObjects.Append(11)
)

// liveHandler is the group with the connection tables refreshed before a
// request that may reach them.
type liveHandler struct {
	*table.Group
	b *Binding
}

func (h liveHandler) Get(oid agentx.OID) agentx.Value {
	if oid.HasPrefix(natTableOID) || oid.HasPrefix(persistTableOID) {
		h.b.refreshLive()
	}
	return h.Group.Get(oid)
}

func (h liveHandler) Next(start agentx.OID, include bool, end agentx.OID) (agentx.VarBind, bool) {
	if start.Compare(pastLiveTables) < 0 && (len(end) == 0 || end.Compare(natTableOID) > 0) {
		h.b.refreshLive()
	}
	return h.Group.Next(start, include, end)
}

var _ agent.Handler = liveHandler{}

// refreshLive replaces the rows of ilbNatTable and ilbPersistTable with
// the engine's listings, at most once per liveTTL. A failed read keeps the
// previous rows (and logs).
func (b *Binding) refreshLive() {
	cs, ok := b.engine.(ConnectionSource)
	if !ok {
		return
	}
	b.liveMu.Lock()
	defer b.liveMu.Unlock()
	if time.Since(b.liveAt) < liveTTL {
		return
	}
	b.liveAt = time.Now()
	if nat, err := cs.NATEntries(""); err != nil {
		b.log.WithError(err).Warn("ilb: cannot list connections")
	} else {
		b.replaceRows(b.nat, natRows(nat))
	}
	if pt, err := cs.PersistEntries(""); err != nil {
		b.log.WithError(err).Warn("ilb: cannot list persistence entries")
	} else {
		b.replaceRows(b.pt, persistRows(pt))
	}
}

type liveRow struct {
	index  []agentx.Value
	values map[uint32]agentx.Value
}

// replaceRows makes the rows of t exactly rows.
func (b *Binding) replaceRows(t *table.Table, rows []liveRow) {
	keep := map[string]bool{}
	for _, r := range rows {
		key, err := t.EncodeIndex(r.index...)
		if err != nil {
			b.log.WithError(err).Warnf("ilb: %s: row not served", t.Name)
			continue
		}
		keep[key.String()] = true
		if err := b.group.PutRow(t, r.index, r.values, 0); err != nil {
			b.log.WithError(err).Warnf("ilb: %s: row not served", t.Name)
		}
	}
	for _, r := range b.group.Rows(t) {
		if !keep[r.Key().String()] {
			b.group.DeleteRow(t, r.Index)
		}
	}
}

func seconds(d time.Duration) agentx.Value {
	return agentx.Gauge32(uint32(min(max(d/time.Second, 0), 1<<32-1)))
}

func natRows(entries []lb.NATEntry) []liveRow {
	rows := make([]liveRow, 0, len(entries))
	for _, e := range entries {
		typ, client := addrValues(e.Client.Addr())
		rows = append(rows, liveRow{
			index: []agentx.Value{str(e.Rule), typ, client,
				agentx.Gauge32(uint32(e.Client.Port())), agentx.Gauge32(uint32(e.VIP.Port()))},
			values: map[uint32]agentx.Value{
				natProtocol:   agentx.Integer(int32(e.Protocol)),
				natVip:        addrBytes(e.VIP.Addr()),
				natProxyAddr:  addrBytes(e.Proxy.Addr()),
				natProxyPort:  agentx.Gauge32(uint32(e.Proxy.Port())),
				natServerAddr: addrBytes(e.Server.Addr()),
				natServerPort: agentx.Gauge32(uint32(e.Server.Port())),
				natServerID:   str(e.ServerID),
				natAge:        seconds(e.Age),
				natRemaining:  seconds(e.Remaining),
			},
		})
	}
	return rows
}

func persistRows(entries []lb.PersistEntry) []liveRow {
	rows := make([]liveRow, 0, len(entries))
	for _, e := range entries {
		typ, prefix := addrValues(e.Prefix.Addr())
		rows = append(rows, liveRow{
			index: []agentx.Value{str(e.Rule), typ, prefix},
			values: map[uint32]agentx.Value{
				perPrefixLen:  agentx.Gauge32(uint32(e.Prefix.Bits())),
				perServerAddr: addrBytes(e.Server),
				perServerID:   str(e.ServerID),
				perRemaining:  seconds(e.Remaining),
			},
		})
	}
	return rows
}
