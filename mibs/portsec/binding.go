package portsec

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
	psec "tapagent/portsec"
)

// Engine is what the binding needs of the port-security engine
// (*portsec.Engine implements it).
type Engine interface {
	Validate(cs []psec.Change) error
	Apply(cs []psec.Change) error
	Global() (psec.Global, error)
	Port(ifindex int) (psec.PortState, bool, error)
	Ports() ([]psec.PortState, error)
	Events() <-chan psec.Event
}

// Notifier sends a notification through the master agent; the varbinds
// start with snmpTrapOID.0 (agent.Subagent implements it).
type Notifier interface {
	Notify(ctx context.Context, vbs []agentx.VarBind) error
}

// BridgePort is one port that can be secured.
type BridgePort struct {
	Ifindex int
	Name    string
}

// Options configure a Binding. Only Engine is required.
type Options struct {
	Engine   Engine
	Notifier Notifier
	// Ports lists the bridge ports (the rows of cpsIfConfigTable); default
	// BridgePorts, the bridge ports of the caller's network namespace.
	Ports func() ([]BridgePort, error)
	// Syslog receives one line per reported violation; default
	// NewSyslog (the local syslog socket, else a warn-level log line).
	Syslog func(line string)
	// Minute is the engine's minute (portsec.Options.Minute), the unit of
	// the remaining ages shown; default one minute.
	Minute time.Duration
	// SyncInterval is how often rows are reconciled with the engine and
	// the port list besides the engine's events (default 1 s).
	SyncInterval time.Duration
	Log          *logrus.Entry
}

// Binding serves CISCO-PORT-SECURITY-MIB from one table.Group.
type Binding struct {
	opts  Options
	eng   Engine
	log   *logrus.Entry
	group *table.Group

	config, vlanMAC, mac, multi          *table.Table
	scEnable, scRate, scControl, scClear *table.Scalar

	// syncMu serialises row reconciliation with Apply, so a sync that read
	// the engine before a commit cannot undo the commit's rows for long.
	syncMu sync.Mutex

	mu        sync.Mutex
	names     map[int]string // ifindex → name, from the last port listing
	cache     []psec.PortState
	cacheAt   time.Time
	undo      []psec.Change // inverse of the last applied change set
	undoTx    *table.Tx
	limiter   bucket
	syslogLim bucket
}

// cacheTTL bounds how stale a read of engine state may be; Apply clears
// the cache so a manager reads its own writes.
const cacheTTL = 100 * time.Millisecond

// New declares the module's objects and binds them to the engine. Call
// Sync (or Run) before serving so the rows exist.
func New(opts Options) *Binding {
	if opts.Log == nil {
		opts.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	if opts.Ports == nil {
		opts.Ports = BridgePorts
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	b := &Binding{opts: opts, eng: opts.Engine, log: opts.Log, names: map[int]string{}}
	if opts.Syslog == nil {
		b.opts.Syslog = NewSyslog(opts.Log)
	}
	b.syslogLim = bucket{rate: 10}
	b.config = b.newConfigTable()
	b.vlanMAC = b.newVlanMACTable()
	b.mac = b.newMACTable()
	b.multi = b.newMultiVlanTable()
	b.group = table.NewGroup([]agentx.OID{moduleRoot},
		[]*table.Table{b.config, b.mac, b.vlanMAC, b.multi}, b.scalars(),
		table.Hooks{Check: b.check, Apply: b.apply, Revert: b.revert})
	return b
}

// Handler is what the subagent registers (the whole .315 subtree).
func (b *Binding) Handler() agent.Handler { return b.group }

// Group exposes the table group (tests).
func (b *Binding) Group() *table.Group { return b.group }

// Run turns engine events into rows, notifications and syslog lines and
// reconciles the rows periodically, until ctx is done.
func (b *Binding) Run(ctx context.Context) {
	if err := b.Sync(); err != nil {
		b.log.WithError(err).Warn("port security: initial sync")
	}
	events := b.eng.Events()
	tick := time.NewTicker(b.opts.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			dirty := b.handle(ctx, ev)
			// Drain what is queued before one sync for all of it.
			for more := true; more; {
				select {
				case ev, ok := <-events:
					if !ok {
						return
					}
					dirty = b.handle(ctx, ev) || dirty
				default:
					more = false
				}
			}
			if dirty {
				b.invalidate()
				if err := b.Sync(); err != nil {
					b.log.WithError(err).Warn("port security: sync")
				}
			}
		case <-tick.C:
			b.invalidate()
			if err := b.Sync(); err != nil {
				b.log.WithError(err).Warn("port security: sync")
			}
		}
	}
}

// handle reports an event; it returns whether rows may have changed.
func (b *Binding) handle(ctx context.Context, ev psec.Event) bool {
	switch ev.Kind {
	case psec.EventViolation:
		b.violation(ctx, ev)
		return false
	case psec.EventShutdown:
		b.log.WithFields(logrus.Fields{"ifindex": ev.Ifindex, "port": b.name(ev.Ifindex)}).Warn("port security: port err-disabled")
	case psec.EventRecovered:
		b.log.WithFields(logrus.Fields{"ifindex": ev.Ifindex, "port": b.name(ev.Ifindex)}).Info("port security: port recovered")
	case psec.EventVLANShutdown:
		b.vlanShutdown(ev)
	case psec.EventVLANRecovered:
		b.log.WithFields(logrus.Fields{"ifindex": ev.Ifindex, "port": b.name(ev.Ifindex), "vlan": ev.VLAN}).Info("port security: VLAN recovered")
	}
	return true
}

// Sync makes the rows match the engine and the bridge ports: rows are
// added and removed, and configuration rows rewritten only where they
// differ (rewriting unchanged rows would fail concurrent SETs).
func (b *Binding) Sync() error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	return b.syncLocked()
}

func (b *Binding) syncLocked() error {
	ports, err := b.opts.Ports()
	if err != nil {
		return fmt.Errorf("list bridge ports: %w", err)
	}
	states, err := b.states()
	if err != nil {
		return err
	}
	byIndex := map[int]psec.PortState{}
	for _, s := range states {
		byIndex[s.Ifindex] = s
	}
	names := map[int]string{}
	wantConfig := map[string]map[uint32]agentx.Value{}
	wantVlanMAC := map[string]bool{}
	wantMAC := map[string]bool{}
	wantMulti := map[string]bool{}
	for _, p := range ports {
		names[p.Ifindex] = p.Name
		s, ok := byIndex[p.Ifindex]
		if !ok {
			s = unconfigured(p.Ifindex)
		}
		idx := []agentx.Value{agentx.Integer(int32(p.Ifindex))}
		vals := configValues(s.Config)
		wantConfig[b.key(b.config, idx)] = vals
		if err := b.ensureRow(b.config, idx, vals, 0); err != nil {
			return err
		}
		for _, e := range s.Entries {
			mac := agentx.OctetString(slices.Clone(e.MAC[:]))
			vidx := []agentx.Value{idx[0], mac, agentx.Gauge32(uint32(e.VLAN))}
			// The deprecated table has one row per MAC, whatever its VLANs.
			midx := []agentx.Value{idx[0], mac}
			wantVlanMAC[b.key(b.vlanMAC, vidx)] = true
			wantMAC[b.key(b.mac, midx)] = true
			if err := b.ensureRow(b.vlanMAC, vidx, nil, table.Active); err != nil {
				return err
			}
			if err := b.ensureRow(b.mac, midx, nil, table.Active); err != nil {
				return err
			}
		}
		for _, v := range multiVLANs(s) {
			uidx := []agentx.Value{idx[0], agentx.Gauge32(uint32(v))}
			wantMulti[b.key(b.multi, uidx)] = true
			vals := map[uint32]agentx.Value{multiMax: agentx.Gauge32(uint32(s.VLANLimits[v])), multiClear: agentx.Integer(clearDone)}
			if err := b.ensureRow(b.multi, uidx, vals, table.Active); err != nil {
				return err
			}
		}
	}
	b.mu.Lock()
	b.names = names
	b.mu.Unlock()
	for t, want := range map[*table.Table]map[string]bool{b.vlanMAC: wantVlanMAC, b.mac: wantMAC, b.multi: wantMulti} {
		for _, r := range b.group.Rows(t) {
			if !want[r.Key().String()] {
				b.group.DeleteRow(t, r.Index)
			}
		}
	}
	for _, r := range b.group.Rows(b.config) {
		if _, ok := wantConfig[r.Key().String()]; !ok {
			b.group.DeleteRow(b.config, r.Index)
		}
	}
	return nil
}

// multiVLANs are the rows of cpsIfMultiVlanTable for a port: the VLANs
// with a limit of their own and the VLANs holding secure addresses.
func multiVLANs(s psec.PortState) []uint16 {
	var out []uint16
	for v := range s.VLANLimits {
		out = append(out, v)
	}
	for _, e := range s.Entries {
		out = append(out, e.VLAN)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (b *Binding) key(t *table.Table, idx []agentx.Value) string {
	k, _ := t.EncodeIndex(idx...)
	return k.String()
}

// ensureRow puts a row unless one with exactly these stored values is
// there (nil values: any row will do).
func (b *Binding) ensureRow(t *table.Table, idx []agentx.Value, vals map[uint32]agentx.Value, status table.RowStatus) error {
	if r, ok := b.group.Row(t, idx...); ok {
		if vals == nil || sameValues(r.Values(), vals) {
			return nil
		}
	}
	if err := b.group.PutRow(t, idx, vals, status); err != nil {
		return fmt.Errorf("port security: %w", err)
	}
	return nil
}

func sameValues(a, b map[uint32]agentx.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Type != w.Type || v.Int != w.Int || v.Uint != w.Uint || string(v.Bytes) != string(w.Bytes) {
			return false
		}
	}
	return true
}

// configValues are the stored (writable) columns of a cpsIfConfigEntry;
// actions read done/false, features we lack read what we do.
func configValues(c psec.PortConfig) map[uint32]agentx.Value {
	return map[uint32]agentx.Value{
		ifEnable:          agentx.Integer(int32(truth(c.Enabled))),
		ifMax:             agentx.Integer(int32(c.Maximum)),
		ifAgingTime:       agentx.Integer(int32(c.AgingTime)),
		ifAgingType:       agentx.Integer(int32(c.AgingType)),
		ifStaticAging:     agentx.Integer(int32(truth(c.StaticAging))),
		ifViolationAction: agentx.Integer(int32(c.Violation)),
		ifClearAll:        agentx.Integer(truthFalse),
		ifUnicastFlooding: agentx.Integer(truthTrue),
		ifShutdownTimeout: agentx.Gauge32(uint32(c.ShutdownTimeout)),
		ifClear:           agentx.Integer(clearDone),
		ifSticky:          agentx.Integer(int32(truth(c.Sticky))),
		ifRateLimitEnable: agentx.Integer(truthFalse),
		ifRateLimitValue:  agentx.Integer(-1),
	}
}

// states returns the engine's ports, at most cacheTTL old.
func (b *Binding) states() ([]psec.PortState, error) {
	b.mu.Lock()
	if b.cache != nil && time.Since(b.cacheAt) < cacheTTL {
		s := b.cache
		b.mu.Unlock()
		return s, nil
	}
	b.mu.Unlock()
	s, err := b.eng.Ports()
	if err != nil {
		return nil, fmt.Errorf("port security engine: %w", err)
	}
	if s == nil {
		s = []psec.PortState{}
	}
	b.mu.Lock()
	b.cache, b.cacheAt = s, time.Now()
	b.mu.Unlock()
	return s, nil
}

func (b *Binding) invalidate() {
	b.mu.Lock()
	b.cache = nil
	b.mu.Unlock()
}

// portView is the engine's state of a port as the computed columns see it.
type portView struct {
	state psec.PortState
}

func (b *Binding) port(ifindex int) (portView, bool) {
	states, err := b.states()
	if err != nil {
		b.log.WithError(err).Warn("port security: read state")
		return portView{}, false
	}
	for _, s := range states {
		if s.Ifindex == ifindex {
			return portView{s}, true
		}
	}
	// A port never configured: defaults, secure-down.
	return portView{unconfigured(ifindex)}, true
}

// unconfigured is the state of a port the engine does not know yet.
func unconfigured(ifindex int) psec.PortState {
	return psec.PortState{Ifindex: ifindex, Config: psec.DefaultPortConfig(), Status: psec.StatusSecureDown,
		VLANs: psec.UnfilteredMembership()}
}

func rowIfindex(r *table.Row) int { return int(r.Index[0].Int) }

func (b *Binding) portInt(f func(portView) int64) func(*table.Row) agentx.Value {
	return func(r *table.Row) agentx.Value {
		p, ok := b.port(rowIfindex(r))
		if !ok {
			return agentx.NoSuchInstance()
		}
		return agentx.Integer(int32(f(p)))
	}
}

func (b *Binding) violationCount(r *table.Row) agentx.Value {
	p, ok := b.port(rowIfindex(r))
	if !ok {
		return agentx.NoSuchInstance()
	}
	return agentx.Counter32(uint32(p.state.Violations))
}

func (b *Binding) lastMAC(r *table.Row) agentx.Value {
	p, ok := b.port(rowIfindex(r))
	if !ok {
		return agentx.NoSuchInstance()
	}
	return agentx.OctetString(slices.Clone(p.state.LastMAC[:]))
}

func (b *Binding) lastVLAN(r *table.Row) agentx.Value {
	p, ok := b.port(rowIfindex(r))
	switch {
	case !ok:
		return agentx.NoSuchInstance()
	case p.state.LastVLAN == 0:
		// Nothing offended yet: the port's access VLAN (VlanIndex has no 0).
		return agentx.Gauge32(uint32(max(p.state.VLANs.PVID, 1)))
	}
	return agentx.Gauge32(uint32(p.state.LastVLAN))
}

// entryView is one secure address as the address tables show it.
type entryView struct {
	psec.Entry
	remainMinutes int64
}

// entryValue computes a column of an address row (both address tables
// start their index with ifIndex and the MAC; the VLAN, when present,
// must match too).
func (b *Binding) entryValue(f func(entryView) agentx.Value) func(*table.Row) agentx.Value {
	return func(r *table.Row) agentx.Value {
		p, ok := b.port(rowIfindex(r))
		if !ok {
			return agentx.NoSuchInstance()
		}
		var mac psec.MAC
		copy(mac[:], r.Index[1].Bytes)
		for _, e := range p.state.Entries {
			if e.MAC != mac || (len(r.Index) > 2 && uint64(e.VLAN) != r.Index[2].Uint) {
				continue
			}
			return f(entryView{Entry: e, remainMinutes: b.minutes(e.Remaining)})
		}
		return agentx.NoSuchInstance()
	}
}

// minutes rounds a remaining age up to whole minutes of the engine's
// minute (the MIB counts minutes; a shortened test minute shows as such).
func (b *Binding) minutes(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	m := b.minute()
	return int64((d + m - 1) / m)
}

func (b *Binding) minute() time.Duration {
	if b.opts.Minute > 0 {
		return b.opts.Minute
	}
	return time.Minute
}

func (b *Binding) vlanCount(r *table.Row) agentx.Value {
	p, ok := b.port(rowIfindex(r))
	if !ok {
		return agentx.NoSuchInstance()
	}
	n := 0
	for _, e := range p.state.Entries {
		if uint64(e.VLAN) == r.Index[1].Uint {
			n++
		}
	}
	return agentx.Gauge32(uint32(n))
}

// globalView is the engine's global settings.
type globalView = psec.Global

func (b *Binding) globalInt(f func(globalView) int64) func() agentx.Value {
	return func() agentx.Value {
		g, err := b.eng.Global()
		if err != nil {
			return agentx.NoSuchInstance()
		}
		return agentx.Integer(int32(f(g)))
	}
}

func (b *Binding) maxSecureAddress() agentx.Value {
	n := max(b.group.Len(b.config), 1) * psec.MaxPerPort
	return agentx.Integer(int32(n))
}

func (b *Binding) totalSecureAddress() agentx.Value {
	states, err := b.states()
	if err != nil {
		return agentx.NoSuchInstance()
	}
	n := 0
	for _, s := range states {
		n += len(s.Entries)
	}
	return agentx.Integer(int32(n))
}

func (b *Binding) name(ifindex int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.names[ifindex]
}
