package lb

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
)

// PersistEntry is one session persistence entry (ilbadm show-persist):
// clients of Prefix go to the server until Remaining runs out; each new
// connection of the prefix starts the persist-timeout again.
type PersistEntry struct {
	Rule      string
	Prefix    netip.Prefix // client address masked with the rule's pmask
	ServerID  string
	Server    netip.Addr
	Remaining time.Duration
}

// PersistEntries lists the persistence entries of rule ("" for every
// rule with persistence), by rule name and prefix.
func (e *Engine) PersistEntries(rule string) ([]PersistEntry, error) {
	var out []PersistEntry
	var err error
	if derr := e.do(func() { out, err = e.persistEntries(rule) }); derr != nil {
		return nil, derr
	}
	return out, err
}

func (e *Engine) persistEntries(rule string) ([]PersistEntry, error) {
	if rule != "" && e.cfg.Rule(rule) == nil {
		return nil, errf(ErrNotFound, "rule "+rule, "", "no such rule")
	}
	var out []PersistEntry
	for i := range e.cfg.Rules {
		r := &e.cfg.Rules[i]
		if !r.Persist || rule != "" && !strings.EqualFold(rule, r.Name) {
			continue
		}
		gen, ok := e.gens[strings.ToLower(r.Name)]
		if !ok {
			continue
		}
		keyType := nftables.TypeIPAddr
		if !r.VIP.Is4() {
			keyType = nftables.TypeIP6Addr
		}
		elems, err := e.conn.GetSetElements(&nftables.Set{Table: e.table, Name: persistMapName(gen.id),
			IsMap: true, KeyType: keyType, DataType: nftables.TypeMark})
		if err != nil {
			return nil, fmt.Errorf("lb: read persistence of rule %s: %w", r.Name, err)
		}
		servers := map[int]Server{}
		if g := e.cfg.Group(r.ServerGroup); g != nil {
			for _, s := range g.Servers {
				servers[serverNum(s.ID)] = s
			}
		}
		for _, el := range elems {
			a, ok := netip.AddrFromSlice(el.Key)
			if !ok || len(el.Val) != 4 {
				continue
			}
			mark := binary.NativeEndian.Uint32(el.Val)
			pe := PersistEntry{Rule: r.Name, Prefix: netip.PrefixFrom(a, r.EffectivePersistMask()), Remaining: el.Expires}
			if s, ok := servers[int(mark&^ruleMask)]; ok && int(mark>>markShift) == gen.id {
				pe.ServerID, pe.Server = s.ID, s.Addr
			}
			out = append(out, pe)
		}
	}
	slices.SortFunc(out, func(a, b PersistEntry) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Rule), strings.ToLower(b.Rule)),
			cmp.Compare(a.Prefix.Addr().BitLen(), b.Prefix.Addr().BitLen()), a.Prefix.Addr().Compare(b.Prefix.Addr()))
	})
	return out, nil
}
