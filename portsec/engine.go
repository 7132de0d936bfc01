package portsec

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/florianl/go-nflog/v2"
	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Options configure an Engine. Zero values take the defaults.
type Options struct {
	// NetNS is an open file descriptor of the network namespace holding
	// the bridge; 0 means the caller's namespace.
	NetNS int
	// Table is the nftables bridge table (default DefaultTable).
	Table string
	// NflogGroup receives learn and violation events (default 7315).
	NflogGroup uint16
	// Minute is the unit of AgingTime and ShutdownTimeout (default one
	// minute; tests shorten it).
	Minute time.Duration
	// PollInterval is how often the kernel sets, counters and link states
	// are read: the kernel reports no expiry (default 1 s).
	PollInterval time.Duration
	// Store keeps settings and static/sticky addresses (default MemStore).
	Store Store
	// PortVLANs declares the VLANs of ports, by interface name, where the
	// bridge does not filter VLANs (a kernel without
	// CONFIG_BRIDGE_VLAN_FILTERING, or filtering off): see ParsePortVLANs.
	// A filtering bridge's own configuration wins.
	PortVLANs map[string]Membership
	// EventBuffer is the capacity of Events (default 4096); events that do
	// not fit are counted in EventsDropped, never block the engine.
	EventBuffer int
	Log         logrus.FieldLogger
}

func (o *Options) defaults() {
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if o.NflogGroup == 0 {
		o.NflogGroup = 7315
	}
	if o.Minute <= 0 {
		o.Minute = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Store == nil {
		o.Store = &MemStore{}
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 4096
	}
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
}

// Engine enforces port security on the bridge ports of one namespace.
type Engine struct {
	opts   Options
	k      *kernel
	links  *netlink.Handle
	nf     *nflog.Nflog
	ops    chan func()
	logs   chan logEvent
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	// linkUpdates reports link changes at once, so dynamic addresses
	// flush when a port goes down, not at the next poll.
	linkUpdates chan netlink.LinkUpdate
	linkDone    chan struct{}

	eventsDropped atomic.Uint64
	logsDropped   atomic.Uint64

	s   *state // owned by the loop
	gen uint32 // last port generation handed out (loop)
	// stale: an enforced port's VLANs changed since the table was last
	// synced; the poll resyncs until a sync succeeds.
	stale bool
	// pendingDrop are addresses the model dropped (VLANs a port no
	// longer carries) that the next sync removes from the kernel.
	pendingDrop map[int][]addr
}

// New loads the store, adopts what the kernel table already holds (a
// previous agent's learned addresses stay), makes the table match the
// model in one transaction and starts the engine.
func New(opts Options) (*Engine, error) {
	opts.defaults()
	e := &Engine{opts: opts, ops: make(chan func()), logs: make(chan logEvent, 65536),
		events: make(chan Event, opts.EventBuffer), done: make(chan struct{})}
	var err error
	if e.k, err = newKernel(opts.NetNS, opts.Table, opts.NflogGroup, opts.Minute); err != nil {
		return nil, err
	}
	if opts.NetNS > 0 {
		e.links, err = netlink.NewHandleAt(netns.NsHandle(opts.NetNS))
	} else {
		e.links, err = netlink.NewHandle()
	}
	if err != nil {
		e.k.close()
		return nil, fmt.Errorf("portsec: netlink: %w", err)
	}
	if err := e.start(); err != nil {
		e.links.Close()
		e.k.close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) start() error {
	snap, ok, err := e.opts.Store.Load()
	if err != nil {
		return err
	}
	e.s = newState()
	if ok {
		if e.s, err = stateFrom(snap); err != nil {
			return fmt.Errorf("portsec: store: %w", err)
		}
	}
	now := time.Now()
	ks, err := e.k.read()
	if err != nil {
		return err
	}
	e.refreshMembership()
	if ks.legacy {
		// Addresses keyed by MAC only (an older agent): the table is
		// rebuilt in one transaction with what was adopted from it (its
		// addresses and err-disabled ports; the violation counters start
		// again), and stored addresses move to the untagged VLAN.
		e.opts.Log.Info("portsec: rebuilding a table of MAC-only sets with MAC . VLAN keys")
		e.k.rebuild = true
		for _, p := range e.s.ports {
			old := p.entries
			p.entries = make(map[addr]entry, len(old))
			for a, en := range old {
				p.entries[addr{a.mac, max(p.untaggedVLAN(), 1)}] = en
			}
		}
	}
	e.adopt(ks, now)
	// Keep the generations the table logs with: the table stays as it is.
	gens, err := e.k.generations(slices.Collect(maps.Keys(ks.ports)))
	if err != nil {
		return err
	}
	for i, p := range e.s.ports {
		p.operUp = e.operUp(i)
		p.gen = gens[i]
		e.gen = max(e.gen, p.gen)
	}
	e.adoptShutdowns(ks, now)
	// Listen before enforcing so no learn event is missed.
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if err := e.openNflog(ctx); err != nil {
		cancel()
		return err
	}
	if err := e.k.sync(e.s, ks, nil, nil, now); err != nil {
		cancel()
		e.nf.Close()
		return err
	}
	e.refreshCounters()
	e.subscribeLinks()
	go e.loop(ctx)
	return nil
}

// subscribeLinks asks for link notifications; without them the poll
// still sees links go down, a poll interval later.
func (e *Engine) subscribeLinks() {
	opts := netlink.LinkSubscribeOptions{ErrorCallback: func(err error) {
		e.opts.Log.WithError(err).Debug("portsec: link notifications")
	}}
	if e.opts.NetNS > 0 {
		ns := netns.NsHandle(e.opts.NetNS)
		opts.Namespace = &ns
	}
	ch, done := make(chan netlink.LinkUpdate, 256), make(chan struct{})
	if err := netlink.LinkSubscribeWithOptions(ch, done, opts); err != nil {
		e.opts.Log.WithError(err).Warn("portsec: no link notifications; link state is polled")
		return
	}
	e.linkUpdates, e.linkDone = ch, done
}

func (e *Engine) openNflog(ctx context.Context) error {
	nf, err := nflog.Open(&nflog.Config{NetNS: e.opts.NetNS, Group: e.opts.NflogGroup,
		Copymode: nflog.CopyPacket, Bufsize: 64, QThresh: 1, Timeout: 1})
	if err != nil {
		return fmt.Errorf("portsec: nflog group %d: %w", e.opts.NflogGroup, err)
	}
	// A burst of learns (a switch behind the port, a scan) arrives faster
	// than one goroutine reads; what overflows is lost (ENOBUFS) and only
	// the next poll finds it. Room for tens of thousands of messages.
	if err := setReadBuffer(nf.Con, nflogBuffer); err != nil {
		e.opts.Log.WithError(err).Warn("portsec: nflog receive buffer")
	}
	hook := func(a nflog.Attribute) int {
		if ev, ok := parseLog(a, time.Now()); ok {
			select {
			case e.logs <- ev:
			default:
				e.logsDropped.Add(1)
			}
		}
		return 0
	}
	errf := func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		// ENOBUFS: the kernel dropped messages; the poll catches up.
		e.logsDropped.Add(1)
		return 0
	}
	if err := nf.RegisterWithErrorFunc(ctx, hook, errf); err != nil {
		nf.Close()
		return fmt.Errorf("portsec: nflog group %d: %w", e.opts.NflogGroup, err)
	}
	e.nf = nf
	return nil
}

// Close stops the engine. The kernel table stays and keeps enforcing.
func (e *Engine) Close() error {
	e.once.Do(func() {
		e.cancel()
		<-e.done
		if e.linkDone != nil {
			close(e.linkDone)
			go func() { // the subscriber may be blocked sending
				for range e.linkUpdates {
				}
			}()
		}
		e.nf.Close()
		e.links.Close()
		e.k.close()
	})
	return nil
}

// RemoveTable stops enforcement by deleting the table (uninstall, tests).
func (e *Engine) RemoveTable() error {
	var err error
	if derr := e.do(func() { err = e.k.remove() }); derr != nil {
		return derr
	}
	return err
}

// Events delivers learn, violation, aging, shutdown and recovery events.
func (e *Engine) Events() <-chan Event { return e.events }

// EventsDropped counts events that did not fit into Events and nflog
// messages lost before the engine saw them.
func (e *Engine) EventsDropped() uint64 { return e.eventsDropped.Load() + e.logsDropped.Load() }

func (e *Engine) do(f func()) error {
	done := make(chan struct{})
	select {
	case e.ops <- func() { f(); close(done) }:
	case <-e.done:
		return ErrStopped
	}
	<-done
	return nil
}

func (e *Engine) loop(ctx context.Context) {
	defer close(e.done)
	tick := time.NewTicker(e.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-e.ops:
			f()
		case ev := <-e.logs:
			e.handleLog(ev)
		case u, ok := <-e.linkUpdates:
			if !ok {
				e.linkUpdates = nil // closed on error: the poll carries on
				continue
			}
			// The update may be old (the engine's own shutdown, queued):
			// the link's state now decides.
			i := int(u.Attrs().Index)
			if p := e.s.ports[i]; p != nil && e.s.enforced(p) {
				e.linkState(i, p, e.operUp(i), time.Now())
			}
		case <-tick.C:
			e.poll()
		}
	}
}

// Validate checks a change set against the state it would produce.
func (e *Engine) Validate(cs []Change) error {
	var err error
	if derr := e.do(func() {
		e.refreshMembership()
		err = applyAll(e.s.clone(), cs, time.Now(), e.opts.Minute)
	}); derr != nil {
		return derr
	}
	return err
}

// Apply validates and applies a change set: all of it or nothing.
func (e *Engine) Apply(cs []Change) error {
	var err error
	if derr := e.do(func() { err = e.apply(cs) }); derr != nil {
		return derr
	}
	return err
}

func (e *Engine) apply(cs []Change) error {
	// The change set is checked against what the kernel holds now:
	// queued events first, then the sets themselves (learns whose
	// messages are not read yet).
	for n := len(e.logs); n > 0; n-- {
		e.handleLog(<-e.logs)
	}
	now := time.Now()
	// Rules depend on the ports' VLANs: read them as they are now.
	e.refreshMembership()
	ks, err := e.k.read()
	if err != nil {
		return err
	}
	e.adopt(ks, now)
	next := e.s.clone()
	if err := applyAll(next, cs, now, e.opts.Minute); err != nil {
		return err
	}
	drop := map[int][]addr{}
	release := map[shutKey]bool{}
	for i, p := range e.s.ports {
		q := next.ports[i]
		for a := range p.entries {
			if _, ok := q.entries[a]; !ok {
				drop[i] = append(drop[i], a)
			}
		}
		release[shutKey{ifindex: i}] = p.shutdown && !q.shutdown
		for v := range p.shutVLANs {
			if _, ok := q.shutVLANs[v]; !ok {
				release[shutKey{i, v}] = true
			}
		}
	}
	gen := e.gen + 1 // one new generation for every port reset here
	for i, q := range next.ports {
		p := e.s.ports[i]
		if next.enforced(q) && (p == nil || !e.s.enforced(p) || len(drop[i]) > 0) {
			q.gen = gen
		}
	}
	if err := e.k.sync(next, ks, drop, release, now); err != nil {
		return err
	}
	e.stale = false
	prev := e.s
	e.s, e.gen = next, gen
	for i, q := range next.ports {
		p := prev.ports[i]
		wasOn := p != nil && prev.enforced(p)
		if next.enforced(q) && !wasOn {
			if _, err := e.k.counter(i, true); err != nil {
				e.opts.Log.WithError(err).Warn("portsec: reset violation counter")
			}
			q.violations = 0
		}
		if p != nil && p.shutdown && !q.shutdown {
			e.setLink(i, true)
		}
		q.operUp = e.operUp(i)
	}
	return e.save()
}

func (e *Engine) save() error {
	if err := e.opts.Store.Save(e.s.snapshot()); err != nil {
		return fmt.Errorf("portsec: save: %w", err)
	}
	return nil
}

// Global returns the global settings.
func (e *Engine) Global() (Global, error) {
	var g Global
	err := e.do(func() { g = e.s.global })
	return g, err
}

// Port returns the state of a port; ok is false for a port never configured.
func (e *Engine) Port(ifindex int) (ps PortState, ok bool, err error) {
	err = e.do(func() {
		p := e.s.ports[ifindex]
		if p == nil {
			return
		}
		e.refreshCounter(ifindex, p)
		ps, ok = e.s.portState(ifindex, time.Now()), true
	})
	return ps, ok, err
}

// Ports returns every configured port, by ifindex.
func (e *Engine) Ports() ([]PortState, error) {
	var out []PortState
	err := e.do(func() {
		now := time.Now()
		for _, i := range slices.Sorted(maps.Keys(e.s.ports)) {
			e.refreshCounter(i, e.s.ports[i])
			out = append(out, e.s.portState(i, now))
		}
	})
	return out, err
}

func (e *Engine) emit(ev Event) {
	select {
	case e.events <- ev:
	default:
		e.eventsDropped.Add(1)
	}
}

func (e *Engine) handleLog(ev logEvent) {
	p := e.s.ports[ev.ifindex]
	if p == nil || !e.s.enforced(p) || ev.gen != p.gen {
		return // stale: the poll finds what the kernel really holds
	}
	vlan := ev.vlan
	if vlan == 0 {
		vlan = p.untaggedVLAN()
	}
	key := addr{ev.mac, vlan}
	if !ev.violation {
		if _, ok := p.entries[key]; ok {
			return
		}
		t := Dynamic
		if p.cfg.Sticky {
			t = Sticky
		}
		p.entries[key] = entry{typ: t, expires: entryExpiry(p.cfg, t, ev.at, e.opts.Minute)}
		if t == Sticky {
			if err := e.save(); err != nil {
				e.opts.Log.WithError(err).Error("portsec: sticky address not saved")
			}
		}
		e.emit(Event{Kind: EventLearned, Ifindex: ev.ifindex, MAC: ev.mac, VLAN: vlan, At: ev.at})
		return
	}
	if p.cfg.Violation == Protect {
		return
	}
	p.violations++
	p.lastMAC, p.lastVLAN = ev.mac, vlan
	e.emit(Event{Kind: EventViolation, Ifindex: ev.ifindex, MAC: ev.mac, VLAN: vlan, At: ev.at,
		Violations: p.violations, VLANOnly: ev.vlanOnly})
	if p.cfg.Violation != Shutdown || p.shutdown {
		return
	}
	if ev.vlanOnly && p.vlans.MultiVLAN() {
		if _, done := p.shutVLANs[vlan]; !done {
			e.shutVLAN(ev.ifindex, p, vlan, ev.at)
		}
		return
	}
	e.shut(ev.ifindex, p, ev.at)
}

// adoptShutdowns takes over ports and VLANs the kernel err-disabled
// (shut sets) that the model still has open: the violation happened
// while no engine ran, or its nflog message was lost. Recovery counts
// from now.
func (e *Engine) adoptShutdowns(ks kernelState, now time.Time) {
	for key := range ks.shut {
		p := e.s.ports[key.ifindex]
		if p == nil || !e.s.enforced(p) || p.cfg.Violation != Shutdown || p.shutdown {
			continue
		}
		if key.vlan == 0 {
			e.shut(key.ifindex, p, now)
		} else if _, ok := p.shutVLANs[key.vlan]; !ok {
			e.shutVLAN(key.ifindex, p, key.vlan, now)
		}
	}
}

// recovery is when an err-disabled port or VLAN shut at now comes back
// (zero: only by disabling and enabling port security).
func (e *Engine) recovery(p *port, now time.Time) time.Time {
	if p.cfg.ShutdownTimeout > 0 {
		return now.Add(time.Duration(p.cfg.ShutdownTimeout) * e.opts.Minute)
	}
	return time.Time{}
}

// shut err-disables a port: link down, dynamic addresses flushed,
// recovery scheduled when ShutdownTimeout is set. The kernel already
// drops the port's frames (the violation rule put it in the shut set).
func (e *Engine) shut(ifindex int, p *port, now time.Time) {
	p.shutdown = true
	p.until = e.recovery(p, now)
	e.setLink(ifindex, false)
	e.emit(Event{Kind: EventShutdown, Ifindex: ifindex, MAC: p.lastMAC, VLAN: p.lastVLAN, At: now, Violations: p.violations})
	e.flushDynamic(ifindex, p, 0, now)
	if err := e.save(); err != nil {
		e.opts.Log.WithError(err).Error("portsec: shutdown not saved")
	}
}

// shutVLAN err-disables one VLAN of a multi-VLAN port ("shutdown vlan"):
// the kernel already drops the VLAN's frames on the port (shutvlan set);
// the VLAN's dynamic addresses are flushed and the port stays up.
func (e *Engine) shutVLAN(ifindex int, p *port, vlan uint16, now time.Time) {
	p.shutVLANs[vlan] = e.recovery(p, now)
	e.emit(Event{Kind: EventVLANShutdown, Ifindex: ifindex, MAC: p.lastMAC, VLAN: vlan, At: now, Violations: p.violations})
	if synced, _ := e.flushDynamic(ifindex, p, vlan, now); !synced {
		e.resync(now) // the egress set learns of the VLAN
	}
	if err := e.save(); err != nil {
		e.opts.Log.WithError(err).Error("portsec: VLAN shutdown not saved")
	}
}

// resync makes the table match the model again.
func (e *Engine) resync(now time.Time) {
	ks, err := e.k.read()
	if err == nil {
		err = e.k.sync(e.s, ks, e.pendingDrop, nil, now)
	}
	if err != nil {
		e.opts.Log.WithError(err).Warn("portsec: resync")
		return
	}
	e.stale, e.pendingDrop = false, nil
}

// flushDynamic removes the port's dynamic addresses (of one VLAN, or all
// when vlan is 0) from the model and the kernel; it reports whether the
// table was synced, and why not if it failed.
func (e *Engine) flushDynamic(ifindex int, p *port, vlan uint16, now time.Time) (synced bool, err error) {
	var gone []addr
	for a, en := range p.entries {
		if en.typ == Dynamic && (vlan == 0 || a.vlan == vlan) {
			gone = append(gone, a)
		}
	}
	if len(gone) == 0 {
		return false, nil
	}
	// A reconcile with a new generation: learn messages already queued
	// must not bring the flushed addresses back.
	old, oldGen := maps.Clone(p.entries), p.gen
	for _, a := range gone {
		delete(p.entries, a)
	}
	p.gen = e.gen + 1
	ks, err := e.k.read()
	if err == nil {
		err = e.k.sync(e.s, ks, map[int][]addr{ifindex: gone}, nil, now)
	}
	if err != nil {
		p.entries, p.gen = old, oldGen
		e.opts.Log.WithError(err).Warn("portsec: flush dynamic addresses")
		return false, err
	}
	e.gen++
	for _, a := range gone {
		e.emit(Event{Kind: EventAged, Ifindex: ifindex, MAC: a.mac, VLAN: a.vlan, At: now})
	}
	return true, nil
}

func (e *Engine) setLink(ifindex int, up bool) {
	l, err := e.links.LinkByIndex(ifindex)
	if err == nil {
		if up {
			err = e.links.LinkSetUp(l)
		} else {
			err = e.links.LinkSetDown(l)
		}
	}
	if err != nil {
		e.opts.Log.WithError(err).WithField("ifindex", ifindex).Warn("portsec: set link state")
	}
}

func (e *Engine) operUp(ifindex int) bool {
	l, err := e.links.LinkByIndex(ifindex)
	if err != nil {
		return false
	}
	return linkUp(l)
}

func linkUp(l netlink.Link) bool {
	a := l.Attrs()
	return a.Flags&(1<<0) != 0 && (a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown)
}

func (e *Engine) refreshCounter(ifindex int, p *port) {
	if !e.s.enforced(p) || p.cfg.Violation == Protect {
		return
	}
	if n, err := e.k.counter(ifindex, false); err == nil {
		p.violations = n
	}
}

func (e *Engine) refreshCounters() {
	for i, p := range e.s.ports {
		e.refreshCounter(i, p)
	}
}

// adopt takes the kernel's addresses into the model: learned ones the
// model does not know become dynamic (sticky on sticky ports), and
// remaining lifetimes come from the kernel.
func (e *Engine) adopt(ks kernelState, now time.Time) {
	for i, have := range ks.ports {
		p := e.s.ports[i]
		if p == nil || !e.s.enforced(p) {
			continue
		}
		for a, left := range have {
			if a.vlan == 0 { // a legacy table's MAC-only key
				a.vlan = max(p.untaggedVLAN(), 1)
			}
			en, ok := p.entries[a]
			if !ok {
				en = entry{typ: Dynamic}
				if p.cfg.Sticky {
					en.typ = Sticky
				}
			}
			en.expires = time.Time{}
			if left > 0 {
				en.expires = now.Add(left)
			}
			p.entries[a] = en
		}
	}
}

// poll reads what the kernel does not report: expiries, missed learns,
// counters, VLAN membership, link state and due recoveries.
func (e *Engine) poll() {
	// Events already queued go first, so a violation is seen as such
	// before its traces in the kernel sets.
	for n := len(e.logs); n > 0; n-- {
		e.handleLog(<-e.logs)
	}
	now := time.Now()
	e.refreshMembership()
	resync := false
	ks, err := e.k.read()
	if err != nil {
		e.opts.Log.WithError(err).Warn("portsec: poll")
		return
	}
	for i, p := range e.s.ports {
		if !e.s.enforced(p) {
			continue
		}
		have := ks.ports[i]
		for a, en := range p.entries {
			if _, ok := have[a]; ok {
				continue
			}
			if en.expires.IsZero() && en.typ != Dynamic {
				resync = true // a static or sticky address went missing: put it back
				continue
			}
			delete(p.entries, a)
			e.emit(Event{Kind: EventAged, Ifindex: i, MAC: a.mac, VLAN: a.vlan, At: now})
		}
		for a := range have {
			if _, ok := p.entries[a]; !ok {
				e.handleLog(logEvent{ifindex: i, mac: a.mac, vlan: a.vlan, at: now, gen: p.gen})
			}
		}
		e.linkState(i, p, e.operUp(i), now)
		e.recover(i, p, ks, now)
	}
	e.adopt(ks, now)
	e.adoptShutdowns(ks, now)
	e.refreshCounters()
	if resync || e.stale {
		e.resync(now)
	}
}

// linkState follows a port's link: dynamic addresses go when it goes
// down (not when port security itself took it down).
func (e *Engine) linkState(ifindex int, p *port, up bool, now time.Time) {
	if p.operUp && !up && !p.shutdown {
		if _, err := e.flushDynamic(ifindex, p, 0, now); err != nil {
			return // still "up" here: the next poll tries again
		}
	}
	p.operUp = up
}

// recover ends err-disabled states whose ShutdownTimeout has passed.
func (e *Engine) recover(ifindex int, p *port, ks kernelState, now time.Time) {
	due := func(until time.Time) bool { return !until.IsZero() && !now.Before(until) }
	changed, vlans := false, false
	if p.shutdown && due(p.until) {
		key := shutKey{ifindex: ifindex}
		if err := e.k.unshut(key); err != nil {
			e.opts.Log.WithError(err).WithField("ifindex", ifindex).Warn("portsec: recovery")
			return // the next poll tries again
		}
		delete(ks.shut, key) // read before the release
		p.shutdown, p.until = false, time.Time{}
		e.setLink(ifindex, true)
		p.operUp = e.operUp(ifindex)
		e.emit(Event{Kind: EventRecovered, Ifindex: ifindex, At: now})
		changed = true
	}
	for _, v := range slices.Sorted(maps.Keys(p.shutVLANs)) {
		if !due(p.shutVLANs[v]) {
			continue
		}
		key := shutKey{ifindex, v}
		if err := e.k.unshut(key); err != nil {
			e.opts.Log.WithError(err).WithField("ifindex", ifindex).Warn("portsec: VLAN recovery")
			continue
		}
		delete(ks.shut, key)
		delete(p.shutVLANs, v)
		e.emit(Event{Kind: EventVLANRecovered, Ifindex: ifindex, VLAN: v, At: now})
		changed, vlans = true, true
	}
	if vlans {
		e.resync(now) // the egress set forgets the VLAN
	}
	if changed {
		if err := e.save(); err != nil {
			e.opts.Log.WithError(err).Error("portsec: recovery not saved")
		}
	}
}

// refreshMembership reads every port's VLANs from the bridge. It reports
// whether an enforced port's rules depend on what changed (its PVID, or
// whether it carries several VLANs); limits of VLANs a port no longer
// carries are dropped, as the MIB says.
func (e *Engine) refreshMembership() (changed bool) {
	all, err := e.memberships()
	if err != nil {
		e.opts.Log.WithError(err).Warn("portsec: read VLAN membership")
		return false
	}
	e.s.members = all
	dropped := false
	for i, p := range e.s.ports {
		m, ok := all[i]
		if !ok {
			m = UnfilteredMembership()
		}
		if m.equal(p.vlans) {
			continue
		}
		if e.s.enforced(p) {
			changed = true
			e.stale = true
		}
		p.vlans = m
		// Learned addresses of VLANs the port no longer carries go.
		for a, en := range p.entries {
			if en.typ == Dynamic && m.Filtering && !m.Carries(a.vlan) {
				delete(p.entries, a)
				if e.pendingDrop == nil {
					e.pendingDrop = map[int][]addr{}
				}
				e.pendingDrop[i] = append(e.pendingDrop[i], a)
			}
		}
		for v := range p.limits {
			if !m.Carries(v) {
				delete(p.limits, v)
				dropped = true
			}
		}
	}
	if dropped {
		if err := e.save(); err != nil {
			e.opts.Log.WithError(err).Error("portsec: VLAN limits not saved")
		}
	}
	return changed
}

// memberships reads the VLANs of every bridge port of the namespace.
func (e *Engine) memberships() (map[int]Membership, error) {
	links, err := e.links.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	filtering := map[int]bool{}
	for _, l := range links {
		if br, ok := l.(*netlink.Bridge); ok {
			filtering[br.Attrs().Index] = br.VlanFiltering != nil && *br.VlanFiltering
		}
	}
	out := map[int]Membership{}
	anyFiltering := false
	for _, l := range links {
		a := l.Attrs()
		if f, ok := filtering[a.MasterIndex]; ok {
			m := UnfilteredMembership()
			if d, ok := e.opts.PortVLANs[a.Name]; ok && !f {
				m = d
				m.Tagged = slices.Clone(d.Tagged)
			}
			if f {
				m = Membership{Filtering: true}
			}
			out[a.Index] = m
			anyFiltering = anyFiltering || f
		}
	}
	if !anyFiltering {
		return out, nil
	}
	vlans, err := e.links.BridgeVlanList()
	if err != nil {
		return nil, fmt.Errorf("bridge VLANs: %w", err)
	}
	for i, infos := range vlans {
		m, ok := out[int(i)]
		if !ok || !m.Filtering || m.Declared {
			continue
		}
		for _, info := range infos {
			switch {
			case info.PortVID():
				m.PVID = info.Vid
			default:
				m.Tagged = append(m.Tagged, info.Vid)
			}
		}
		slices.Sort(m.Tagged)
		m.Tagged = slices.Compact(m.Tagged)
		out[int(i)] = m
	}
	return out, nil
}
