package ilb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
)

// Engine is what the binding needs of the load balancer (*lb.Engine).
type Engine interface {
	Config() *lb.Config
	Check(change func(*lb.Config) error) error
	Update(change func(*lb.Config) error) error
	Stats() ([]lb.RuleStats, error)
}

// Notifier sends a notification through the master agent; the varbinds
// start with snmpTrapOID.0 (agent.Subagent implements it).
type Notifier interface {
	Notify(ctx context.Context, vbs []agentx.VarBind) error
}

// Option tunes New.
type Option func(*Binding)

// WithStateFile keeps the notification switches (ilbServerHealthNotifEnabled,
// ilbRuleStateNotifEnabled) in path, so that they survive restarts.
func WithStateFile(path string) Option { return func(b *Binding) { b.stateFile = path } }

// statsTTL: a walk reads every counter of every rule; one kernel dump
// serves them all.
const statsTTL = time.Second

// Binding serves TAPAGENT-ILB-MIB from one table.Group.
type Binding struct {
	engine    Engine
	notifier  Notifier
	log       *logrus.Entry
	stateFile string
	started   time.Time

	group                                      *table.Group
	groups, servers, hcs, rules                *table.Table
	hcResults, ruleStats, serverStats, nat, pt *table.Table

	// The configuration before the last committed transaction: UndoSet
	// re-applies it (snmpd undoes only the PDU whose commit failed).
	mu       sync.Mutex
	lastTx   *table.Tx
	previous *lb.Config
	notif    notifSwitches
	health   map[healthKey]Health
	stats    map[string]*lb.RuleStats // lower-case rule name
	statsAt  time.Time
	events   chan []agentx.VarBind // notifications waiting for Run

	liveMu sync.Mutex // one refresh of the connection tables at a time
	liveAt time.Time
}

// New declares the module's objects, loads the running configuration of
// engine into the tables and returns the binding. A nil notifier sends
// nothing; a nil log logs to logrus' standard logger.
func New(engine Engine, notifier Notifier, log *logrus.Entry, opts ...Option) *Binding {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	b := &Binding{engine: engine, notifier: notifier, log: log, started: time.Now(),
		notif: notifSwitches{ServerHealth: true, RuleState: true}, health: map[healthKey]Health{},
		events: make(chan []agentx.VarBind, 256)}
	for _, o := range opts {
		o(b)
	}
	b.loadSwitches()
	b.groups, b.servers, b.hcs, b.rules = b.newGroupTable(), newServerTable(), newHcTable(), newRuleTable()
	b.hcResults, b.ruleStats, b.serverStats = b.newHcResultTable(), b.newRuleStatsTable(), b.newServerStatsTable()
	b.nat, b.pt = newNatTable(), newPersistTable()
	b.group = table.NewGroup(
		[]agentx.OID{ilbRoot},
		[]*table.Table{b.groups, b.servers, b.hcs, b.rules, b.hcResults, b.ruleStats, b.serverStats, b.nat, b.pt},
		b.scalars(),
		table.Hooks{Check: b.check, Apply: b.apply, Revert: b.revert},
	)
	if engine != nil {
		b.sync(engine.Config())
	}
	return b
}

// Handler is what the subagent registers.
func (b *Binding) Handler() agent.Handler { return liveHandler{Group: b.group, b: b} }

// Group exposes the table group (tests).
func (b *Binding) Group() *table.Group { return b.group }

// Run sends the notifications the binding queued (rule state changes,
// health changes reported with ReportHealth or, from an engine that is a
// HealthSource, its health events) until ctx is done. Notifications never go out from
// inside a SET: the session would wait on itself.
func (b *Binding) Run(ctx context.Context) {
	var health <-chan lb.HealthEvent
	if hs, ok := b.engine.(HealthSource); ok {
		health = hs.HealthEvents()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-health:
			if !ok {
				health = nil
				continue
			}
			b.healthEvent(ev)
		case vb := <-b.events:
			b.send(ctx, vb)
		}
	}
}

var snmpTrapOID = agentx.MustParseOID("1.3.6.1.6.3.1.1.4.1.0")

func (b *Binding) send(ctx context.Context, vbs []agentx.VarBind) {
	if b.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.notifier.Notify(ctx, vbs); err != nil {
		b.log.WithError(err).WithField("trap", vbs[0].Value.OID.String()).Warn("notification not sent")
	}
}

// queue hands a notification to Run; a full queue drops it (and says so)
// rather than stall a SET or the health checker.
func (b *Binding) queue(trap agentx.OID, vbs ...agentx.VarBind) {
	n := append([]agentx.VarBind{{Name: snmpTrapOID, Value: agentx.ObjectID(trap)}}, vbs...)
	select {
	case b.events <- n:
	default:
		b.log.WithField("trap", trap.String()).Warn("notification queue full: notification dropped")
	}
}

// check replays the PDU on a copy of the running configuration.
func (b *Binding) check(tx *table.Tx) error {
	change, err := b.changeOf(tx)
	if err != nil || change == nil {
		return err
	}
	return b.mapError(b.engine.Check(change))
}

func (b *Binding) apply(tx *table.Tx) error {
	change, err := b.changeOf(tx)
	if err != nil || change == nil {
		return err
	}
	prev := b.engine.Config()
	if err := b.engine.Update(change); err != nil {
		return b.mapError(err)
	}
	b.mu.Lock()
	b.lastTx, b.previous = tx, prev
	b.mu.Unlock()
	now := b.engine.Config()
	b.sync(now)
	b.ruleStateEvents(prev, now)
	return nil
}

func (b *Binding) revert(tx *table.Tx) error {
	b.mu.Lock()
	prev, same := b.previous, b.lastTx == tx
	b.lastTx, b.previous = nil, nil
	b.mu.Unlock()
	if !same {
		if c, _ := b.changeOf(tx); c == nil {
			return nil // the PDU changed no configuration
		}
		return errors.New("ilb: undo of a transaction that is not the last one committed")
	}
	if err := b.engine.Update(func(c *lb.Config) error { *c = *prev.Clone(); return nil }); err != nil {
		return fmt.Errorf("ilb: restore the previous configuration: %w", err)
	}
	b.sync(prev)
	return nil
}

// ruleStateEvents queues ilbRuleStateChange for rules whose enabled
// setting changed.
func (b *Binding) ruleStateEvents(prev, now *lb.Config) {
	if !b.switches().RuleState {
		return
	}
	for _, r := range now.Rules {
		if p := prev.Rule(r.Name); p != nil && p.Enabled != r.Enabled {
			oid, err := b.rules.InstanceOID(ruleEnabled, agentx.OctetString([]byte(r.Name)))
			if err == nil {
				b.queue(oidNotifRuleStateChange, agentx.VarBind{Name: oid, Value: truth(r.Enabled)})
			}
		}
	}
}

// active reports whether a row is (part of the) configuration.
func active(r *table.Row) bool { return r != nil && r.Status == table.Active }

// leaving: the row was configuration before the PDU and is not after it
// (or is replaced by a new row of the same name).
func leaving(ch *table.Change) bool {
	return active(ch.Old) && (!active(ch.New) || ch.Created())
}

// entering: the row is configuration after the PDU and was not before.
func entering(ch *table.Change) bool {
	return active(ch.New) && (!active(ch.Old) || ch.Created())
}

// changeError ties an engine refusal to the row change that caused it.
type changeError struct {
	ch  *table.Change
	col uint32
	err error
}

func (e *changeError) Error() string { return e.err.Error() }
func (e *changeError) Unwrap() error { return e.err }

// changeOf turns the PDU into one change of the configuration, nil when
// the PDU changes none (rows that are not active, scalars). Row checks
// that need no configuration are made here.
func (b *Binding) changeOf(tx *table.Tx) (func(*lb.Config) error, error) {
	var order [8][]*table.Change // removals rules..groups, then additions groups..rules
	var toggles []*table.Change
	for _, ch := range tx.Changes {
		if err := b.checkRow(tx, ch); err != nil {
			return nil, err
		}
		rank := map[*table.Table]int{b.rules: 0, b.hcs: 1, b.servers: 2, b.groups: 3}
		r, ok := rank[ch.Table]
		if !ok {
			continue
		}
		if leaving(ch) {
			order[r] = append(order[r], ch)
		}
		if entering(ch) {
			order[7-r] = append(order[7-r], ch)
		}
		if active(ch.Old) && active(ch.New) && !ch.Created() {
			toggles = append(toggles, ch)
		}
	}
	// Convert the rows now: a malformed row is the binding's verdict, not
	// the engine's.
	type op struct {
		ch *table.Change
		do func(c *lb.Config) error
	}
	var ops []op
	for stage, chs := range order {
		for _, ch := range chs {
			f, err := b.rowOp(ch, stage < 4)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op{ch, f})
		}
	}
	for _, ch := range toggles {
		ch := ch
		switch ch.Table {
		case b.servers:
			on := ch.New.Truth(srvEnabled)
			ops = append(ops, op{ch, func(c *lb.Config) error { return c.SetServerEnabled(text(ch.Index[1]), on) }})
		case b.rules:
			on := ch.New.Truth(ruleEnabled)
			ops = append(ops, op{ch, func(c *lb.Config) error { return c.SetRuleEnabled(text(ch.Index[0]), on) }})
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return func(c *lb.Config) error {
		for _, o := range ops {
			if err := o.do(c); err != nil {
				return &changeError{ch: o.ch, err: err}
			}
		}
		return nil
	}, nil
}

// rowOp is the configuration change one row makes: remove it, or add it.
func (b *Binding) rowOp(ch *table.Change, remove bool) (func(*lb.Config) error, error) {
	name := text(ch.Index[0])
	switch ch.Table {
	case b.groups:
		if remove {
			return func(c *lb.Config) error { return c.DeleteGroup(name) }, nil
		}
		return func(c *lb.Config) error { return c.CreateGroup(name) }, nil
	case b.servers:
		id := text(ch.Index[1])
		if remove {
			return func(c *lb.Config) error {
				if c.Group(name) == nil {
					return nil // its group goes in the same PDU
				}
				return c.RemoveServer(id)
			}, nil
		}
		s, err := serverOf(id, ch.New)
		if err != nil {
			return nil, onRow(ch.New, err)
		}
		return func(c *lb.Config) error { _, err := c.AddServer(name, s); return err }, nil
	case b.hcs:
		if remove {
			return func(c *lb.Config) error { return c.DeleteHealthCheck(name) }, nil
		}
		h := healthCheckOf(name, ch.New)
		return func(c *lb.Config) error { return c.CreateHealthCheck(h) }, nil
	case b.rules:
		if remove {
			return func(c *lb.Config) error { return c.DeleteRule(name) }, nil
		}
		r, err := ruleOf(name, ch.New)
		if err != nil {
			return nil, onRow(ch.New, err)
		}
		return func(c *lb.Config) error { return c.CreateRule(r) }, nil
	}
	return nil, fmt.Errorf("ilb: no configuration in table %s", ch.Table.Name)
}

// checkRow applies the module's rules that concern one row alone.
func (b *Binding) checkRow(tx *table.Tx, ch *table.Change) error {
	switch ch.Table {
	case b.groups:
		if active(ch.Old) && ch.New != nil && !active(ch.New) && !ch.Created() {
			return rowError(ch.New, sgStatus, 0, "a server group has nothing to change: destroy it instead")
		}
	case b.servers:
		if ch.New == nil || !ch.Created() {
			return nil
		}
		group, id := text(ch.Index[0]), text(ch.Index[1])
		if g, _, ok := lb.ParseServerID(id); !ok || g != group {
			return rowError(ch.New, srvStatus, agentx.NoCreation, "server ID %q is not _%s.N with N 0..999", id, group)
		}
		if _, ok := tx.Lookup(b.groups, ch.Index[0]); !ok {
			return rowError(ch.New, srvStatus, agentx.InconsistentName, "no server group %s", group)
		}
	case b.hcResults, b.ruleStats, b.serverStats, b.nat, b.pt:
		return &table.CheckError{Status: agentx.NotWritable, Table: ch.Table, Index: ch.Index, Err: errors.New("read-only table")}
	}
	return nil
}

// mapError turns an engine refusal into the SNMP error the module
// describes, on the varbind of the row and column at fault.
func (b *Binding) mapError(err error) error {
	if err == nil {
		return nil
	}
	var ce *table.CheckError
	if errors.As(err, &ce) {
		return err
	}
	var le *lb.Error
	if !errors.As(err, &le) {
		return err
	}
	var t *table.Table
	var index []agentx.Value
	var chErr *changeError
	if errors.As(err, &chErr) {
		t, index = chErr.ch.Table, chErr.ch.Index
	} else if tt, idx, ok := b.objectRow(le.Object); ok {
		t, index = tt, idx
	} else {
		return err
	}
	col := t.Status
	if c, ok := fieldColumns[t.Name][le.Field]; ok {
		col = c
	}
	return &table.CheckError{Status: b.statusOf(t, le), Table: t, Index: index, Column: col, Err: err}
}

// statusOf maps the classes of lb errors to error-status values.
func (b *Binding) statusOf(t *table.Table, le *lb.Error) agentx.ErrorStatus {
	switch {
	case errors.Is(le, lb.ErrWrongValue):
		return agentx.WrongValue
	case errors.Is(le, lb.ErrNoResources):
		return agentx.ResourceUnavailable
	case errors.Is(le, lb.ErrNotFound) && t == b.servers && strings.HasPrefix(le.Object, "server group "):
		return agentx.InconsistentName // a server of a group that does not exist
	case errors.Is(le, lb.ErrExists) && le.Field == "":
		return agentx.InconsistentName // a name taken (also in another case)
	}
	return agentx.InconsistentValue
}
