package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Options configure an Engine.
type Options struct {
	// NetNS is the path of the network namespace to program
	// (/var/run/netns/NAME); empty: the caller's.
	NetNS string
	// Store keeps the configuration; nil: in memory only.
	Store Store
	// Slots is the slot count of non-maglev rules; 0: SlotCount. Tests
	// use small values to keep rulesets readable.
	Slots int
	// HCWorkers bounds the health check probes in flight; 0:
	// DefaultHCWorkers.
	HCWorkers int
	// OnError hears of failures in the background (connection draining,
	// health verdicts the kernel refused); nil: they are dropped.
	OnError func(error)
}

// Engine owns the configuration and the data plane. Its methods are safe
// for concurrent use: each runs as a closure on the engine's goroutine.
type Engine struct {
	ops  chan func()
	quit chan struct{}
	done chan struct{}

	// Owned by the loop goroutine.
	cfg       *Config
	store     Store
	slots     int
	conn      *nftables.Conn
	table     *nftables.Table
	applied   *nftPlan
	rt        *router
	dsr       dsrRoutes          // policy routes in place for DSR servers
	gens      map[string]ruleGen // lower-case rule name
	nextGen   int
	unhealthy map[string]bool // healthKey → not usable
	closeOnce sync.Once
	closeErr  error
	targets   map[string]hcTarget
	drains    map[uint32]*drainJob // by server mark

	ns      *nsThread
	hc      *checker
	ct      *conntrack
	onError func(error)
}

// ruleGen is the kernel generation of a rule: a rule whose settings
// (other than enabled) change gets new kernel objects, so changes never
// need to rewrite a set declaration in place.
type ruleGen struct {
	id    int
	fp    string
	since time.Time
}

func healthKey(rule, serverID string) string { return strings.ToLower(rule) + "\x00" + serverID }

// New loads the stored configuration, programs the data plane (replacing
// whatever table a previous run left, in the same transaction so that
// traffic never sees an empty table) and starts the engine.
func New(opts Options) (*Engine, error) {
	e := &Engine{ops: make(chan func()), quit: make(chan struct{}), done: make(chan struct{}),
		store: opts.Store, slots: opts.Slots, applied: newPlan(), gens: map[string]ruleGen{},
		unhealthy: map[string]bool{}, drains: map[uint32]*drainJob{}, onError: opts.OnError}
	if e.store == nil {
		e.store = &MemStore{}
	}
	if e.slots <= 0 {
		e.slots = SlotCount
	}
	cfg, err := e.store.Load()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lb: stored configuration: %w", err)
	}
	connOpts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(bigBuffers)}
	if opts.NetNS != "" {
		fd, err := unix.Open(opts.NetNS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("lb: open namespace %s: %w", opts.NetNS, err)
		}
		defer unix.Close(fd) // the netlink socket keeps the namespace
		connOpts = append(connOpts, nftables.WithNetNSFd(fd))
	}
	if e.conn, err = nftables.New(connOpts...); err != nil {
		return nil, fmt.Errorf("lb: nftables: %w", err)
	}
	if e.rt, err = newRouter(opts.NetNS); err != nil {
		e.conn.CloseLasting()
		return nil, err
	}
	e.table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	tables, err := e.conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		e.conn.CloseLasting()
		e.rt.close()
		return nil, fmt.Errorf("lb: list tables: %w", err)
	}
	stale := slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == TableName })
	if err := e.program(cfg, stale); err != nil {
		e.conn.CloseLasting()
		e.rt.close()
		return nil, err
	}
	e.cfg = cfg
	e.targets = hcTargets(cfg)
	if err := e.startRuntime(opts); err != nil {
		e.conn.CloseLasting()
		e.rt.close()
		return nil, err
	}
	go e.loop()
	e.hc.setTargets(e.targets)
	return e, nil
}

// startRuntime opens what health checks and show-nat need in the
// namespace.
func (e *Engine) startRuntime(opts Options) error {
	var err error
	if e.ns, err = newNSThread(opts.NetNS); err != nil {
		return err
	}
	if e.ct, err = newConntrack(opts.NetNS); err != nil {
		e.ns.close()
		return err
	}
	if err := enableTimestamps(e.ns); err != nil && e.onError != nil {
		e.onError(fmt.Errorf("lb: connection ages will read 0: %w", err))
	}
	e.hc = newChecker(&prober{ns: e.ns}, opts.HCWorkers, e.applyHealth)
	return nil
}

func (e *Engine) loop() {
	defer close(e.done)
	for {
		select {
		case f := <-e.ops:
			f()
		case <-e.quit:
			return
		}
	}
}

// do runs f on the engine goroutine and waits for it.
func (e *Engine) do(f func()) error {
	ran := make(chan struct{})
	select {
	case e.ops <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-e.done:
		return errors.New("lb: engine closed")
	}
}

// Close stops the engine. The table stays: traffic keeps flowing, and
// the next New adopts it. Remove deletes it too.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.hc.stop() // before the loop: the checker's applier calls into it
		close(e.quit)
		<-e.done
		for _, j := range e.drains {
			j.timer.Stop()
		}
		e.ct.close()
		e.ns.close()
		e.closeErr = e.conn.CloseLasting()
		e.rt.close()
	})
	return e.closeErr
}

// Remove stops the engine and deletes its table and DSR policy routes.
func (e *Engine) Remove() error {
	var err error
	if derr := e.do(func() {
		e.conn.DelTable(e.table)
		if err = e.conn.Flush(); err == nil {
			err = e.rt.prune(nil)
		}
	}); derr != nil {
		return derr
	}
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("lb: delete table: %w", err)
	}
	return nil
}

// Update runs change on a copy of the configuration; if it returns nil
// and the copy validates, the data plane is reprogrammed in one
// transaction and the copy stored. Otherwise nothing changes.
func (e *Engine) Update(change func(*Config) error) error {
	var err error
	if derr := e.do(func() { err = e.update(change) }); derr != nil {
		return derr
	}
	return err
}

func (e *Engine) update(change func(*Config) error) error {
	next := e.cfg.Clone()
	if err := change(next); err != nil {
		return err
	}
	if err := next.Validate(); err != nil {
		return err
	}
	prevPlan, prevGens, prevUnhealthy := e.applied, maps.Clone(e.gens), maps.Clone(e.unhealthy)
	targets := hcTargets(next)
	// A health verdict is about one server as it was configured: a
	// server changed, disabled or gone starts over.
	for k := range e.unhealthy {
		if t, ok := targets[k]; !ok || t != e.targets[k] || !t.active {
			delete(e.unhealthy, k)
		}
	}
	if err := e.program(next, false); err != nil {
		e.gens, e.unhealthy = prevGens, prevUnhealthy
		return err
	}
	if err := e.store.Save(next); err != nil {
		// Put the kernel back so that it matches what is stored.
		failed := e.applied
		e.unhealthy = prevUnhealthy
		if qerr := queueDiff(e.conn, e.table, failed, prevPlan); qerr == nil && e.conn.Flush() == nil {
			e.applied, e.gens = prevPlan, prevGens
		}
		return err
	}
	prev := e.cfg
	e.cfg, e.targets = next, targets
	e.scheduleDrains(prev, prevGens)
	e.hc.setTargets(targets)
	return nil
}

// applyHealth takes the health checker's verdicts into the data plane in
// one transaction. Verdicts about servers that changed since are
// ignored.
func (e *Engine) applyHealth(changes []healthChange) error {
	var err error
	if derr := e.do(func() {
		prev := maps.Clone(e.unhealthy)
		changed := false
		for _, ch := range changes {
			if t, ok := e.targets[ch.key]; !ok || t != ch.target || e.unhealthy[ch.key] == !ch.usable {
				continue
			}
			changed = true
			if ch.usable {
				delete(e.unhealthy, ch.key)
			} else {
				e.unhealthy[ch.key] = true
			}
		}
		if changed {
			if err = e.program(e.cfg, false); err != nil {
				e.unhealthy = prev
			}
		}
	}); derr != nil {
		return derr
	}
	if err != nil && e.onError != nil {
		e.onError(fmt.Errorf("lb: apply health checks: %w", err))
	}
	return err
}

// HealthResults returns the health of every server of rule ("" for
// every rule) that has a health check (ilbadm show-hc-result), by rule
// name and server number. Reading does not wait for the engine.
func (e *Engine) HealthResults(rule string) []HealthResult { return e.hc.list(rule) }

// HealthResult returns the health of one server of one rule.
func (e *Engine) HealthResult(rule, serverID string) (HealthResult, bool) {
	return e.hc.result(rule, serverID)
}

// HealthEvents delivers changes of health state (for notifications).
// The channel is buffered; when nobody reads, events are dropped and
// counted (HealthEventsDropped).
func (e *Engine) HealthEvents() <-chan HealthEvent { return e.hc.events }

// HealthEventsDropped counts events lost because the channel was full.
func (e *Engine) HealthEventsDropped() uint64 { return e.hc.dropped.Load() }

// Check reports whether change would be accepted, without applying it
// (an SNMP TestSet).
func (e *Engine) Check(change func(*Config) error) error {
	var err error
	if derr := e.do(func() {
		next := e.cfg.Clone()
		if err = change(next); err == nil {
			err = next.Validate()
		}
		if err == nil {
			// What only the data plane refuses (DSR with round robin).
			_, err = buildPlan(planInput{cfg: next, ruleIDs: e.previewGens(next), slots: e.slots})
		}
	}); derr != nil {
		return derr
	}
	return err
}

// Config returns a copy of the running configuration.
func (e *Engine) Config() *Config {
	var c *Config
	if e.do(func() { c = e.cfg.Clone() }) != nil {
		return &Config{}
	}
	return c
}

// SetServerHealth tells the engine whether a server may take new
// connections of a rule (health checks). Unknown rules are ignored.
func (e *Engine) SetServerHealth(rule, serverID string, usable bool) error {
	var err error
	if derr := e.do(func() {
		k := healthKey(rule, serverID)
		if e.unhealthy[k] == !usable {
			return
		}
		old := e.unhealthy[k]
		if usable {
			delete(e.unhealthy, k)
		} else {
			e.unhealthy[k] = true
		}
		if err = e.program(e.cfg, false); err != nil {
			e.unhealthy[k] = old
		}
	}); derr != nil {
		return derr
	}
	return err
}

// previewGens returns the generations cfg's rules would get.
func (e *Engine) previewGens(cfg *Config) map[string]int {
	ids := map[string]int{}
	next := e.nextGen
	for _, r := range cfg.Rules {
		k := strings.ToLower(r.Name)
		if g, ok := e.gens[k]; ok && g.fp == ruleFingerprint(&r) {
			ids[k] = g.id
			continue
		}
		next++
		ids[k] = next
	}
	return ids
}

// program makes the table match cfg in one transaction. replace deletes
// an existing table first (within the same transaction).
func (e *Engine) program(cfg *Config, replace bool) error {
	gens := map[string]ruleGen{}
	now := time.Now()
	for _, r := range cfg.Rules {
		k := strings.ToLower(r.Name)
		fp := ruleFingerprint(&r)
		if g, ok := e.gens[k]; ok && g.fp == fp {
			gens[k] = g
			continue
		}
		e.nextGen++
		gens[k] = ruleGen{id: e.nextGen, fp: fp, since: now}
	}
	ids := map[string]int{}
	for k, g := range gens {
		ids[k] = g.id
	}
	plan, err := buildPlan(planInput{cfg: cfg, ruleIDs: ids, slots: e.slots,
		usable: func(rule, id string) bool { return !e.unhealthy[healthKey(rule, id)] }})
	if err != nil {
		return err
	}
	// DSR policy routes go in before the rules that mark packets for
	// them and out after; a failed transaction takes the new ones back.
	wantDSR := wantedDSRRoutes(cfg, ids)
	dsrChanged := !maps.Equal(wantDSR, e.dsr)
	undoDSR := func() {
		if dsrChanged {
			e.rt.add(wantDSR, e.dsr)
			e.rt.prune(e.dsr)
		}
	}
	if dsrChanged {
		if err := e.rt.add(e.dsr, wantDSR); err != nil {
			undoDSR()
			return err
		}
	}
	prev := e.applied
	if replace {
		e.conn.DelTable(e.table)
		prev = newPlan()
	}
	if err := queueDiff(e.conn, e.table, prev, plan); err != nil {
		undoDSR()
		return fmt.Errorf("lb: %w", err)
	}
	if err := e.conn.Flush(); err != nil {
		undoDSR()
		return fmt.Errorf("lb: program nftables table %s: %w", TableName, err)
	}
	e.applied, e.gens = plan, gens
	if dsrChanged || replace {
		// Leftovers are harmless (nothing marks packets for them), so
		// failing to remove them does not fail the change.
		if err := e.rt.prune(wantDSR); err != nil && e.onError != nil {
			e.onError(err)
		}
	}
	e.dsr = wantDSR
	return nil
}

// ruleFingerprint covers everything of a rule the kernel objects depend
// on except Enabled, which only switches the prerouting entry.
func ruleFingerprint(r *Rule) string {
	c := *r
	c.Enabled = false
	c.Name = strings.ToLower(c.Name)
	b, _ := json.Marshal(c)
	return string(b)
}

// batchBuffer: a transaction goes to the kernel in one sendmsg, and
// 10,000 servers make a batch of several megabytes; dumps of large maps
// come back as big. FORCE variants pass net.core.[wr]mem_max (we are
// root; without it the kernel's limit applies).
const batchBuffer = 64 << 20

func bigBuffers(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, batchBuffer); e != nil {
				serr = e
			}
		}
	})
	if err == nil && serr != nil && !errors.Is(serr, unix.EPERM) {
		err = serr
	}
	return err
}
