package tap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/intercept"
)

// Notifier sends a notification through the master agent; the varbinds
// start with snmpTrapOID.0 (agent.Subagent implements it).
type Notifier interface {
	Notify(ctx context.Context, vbs []agentx.VarBind) error
}

// Engine is what the binding needs of the intercept engine.
type Engine interface {
	Validate(cs []intercept.Change) error
	ApplyRevertible(cs []intercept.Change) (*intercept.Revert, error)
	Revert(r *intercept.Revert) error
	NewContentID() intercept.ContentID
	Counters(k intercept.StreamKey) (intercepted, drops uint64)
	Events() <-chan intercept.Event
}

// capabilities lists the BITS each capabilities scalar advertises: only
// what really works.
type capabilities struct {
	mediation, ipStream, macStream, userConn []int
}

// Binding serves the four TAP modules from one table.Group.
type Binding struct {
	engine   Engine
	notifier Notifier
	log      *logrus.Entry
	caps     capabilities
	debugAge time.Duration
	debugMax int
	// intercepting: a data plane serves the taps (capabilities advertise it).
	intercepting bool

	group                                     *table.Group
	md, stream, debug, debugUser, ip, mac, uc *table.Table

	// The last committed transaction and how to revert it in the engine:
	// snmpd serialises SETs and sends UndoSet only for the PDU whose commit
	// failed, so one slot is enough.
	mu         sync.Mutex
	lastTx     *table.Tx
	lastRevert *intercept.Revert
	debugSeq   int32
	debugRows  []debugRow // oldest first
}

type debugRow struct {
	index int32
	at    time.Time
}

// New declares the TAP tables and binds them to the engine.
func New(engine Engine, notifier Notifier, log *logrus.Entry) *Binding {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	b := &Binding{
		engine:   engine,
		notifier: notifier,
		log:      log,
		debugAge: 60 * time.Minute,
		debugMax: 100,
	}
	b.caps = capabilities{mediation: []int{capUDP}}
	if b.intercepting = intercepting(engine); b.intercepting {
		b.caps = capabilities{
			mediation: []int{capIPv4SrcInterface, capIPv6SrcInterface, capUDP},
			ipStream:  []int{ipCapTapEnable, ipCapInterface, ipCapIPv4, ipCapIPv6, ipCapL4Port, ipCapDSCP},
			macStream: []int{0, 1, 2, 3, 4, 5, 6}, // tapEnable … srcLlcSap: all of them
		}
	}
	b.md = newMediationTable()
	b.stream = b.newStreamTable()
	b.debug = newDebugTable()
	b.debugUser = newDebugUserTable()
	b.ip = newIPStreamTable()
	b.mac = newMACStreamTable()
	b.uc = newUserConnTable()
	var scalars []*table.Scalar
	scalars = append(scalars, b.tap2Scalars()...)
	scalars = append(scalars, b.ipTapScalars()...)
	scalars = append(scalars, b.tap802Scalars()...)
	scalars = append(scalars, b.userConnScalars()...)
	b.group = table.NewGroup(
		[]agentx.OID{tap2Root, ipTapRoot, tap802Root, userConnRoot},
		[]*table.Table{b.md, b.stream, b.debug, b.debugUser, b.ip, b.mac, b.uc},
		scalars,
		table.Hooks{Check: b.check, Apply: b.apply, Revert: b.revert},
	)
	return b
}

// Intercepting is implemented by an engine that tells whether a packet
// data plane serves its taps (without one, provisioning works but nothing
// is intercepted, and the capabilities say so).
type Intercepting interface{ Intercepting() bool }

func intercepting(e Engine) bool {
	i, ok := e.(Intercepting)
	return ok && i.Intercepting()
}

// Handler is what the subagent registers.
func (b *Binding) Handler() agent.Handler { return b.group }

// Group exposes the table group (tests, benchmarks).
func (b *Binding) Group() *table.Group { return b.group }

// Run consumes the engine's events and ages debug-user rows until ctx is
// done.
func (b *Binding) Run(ctx context.Context) {
	events := b.engine.Events()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			b.handle(ctx, ev)
		case now := <-tick.C:
			b.expireDebugUsers(now)
			b.expireDebugRows(now)
		}
	}
}

// debugMessage writes a cTap2DebugTable row, dropping the oldest beyond
// cTap2DebugMaxEntries, and then notifies (the row exists before the trap).
func (b *Binding) debugMessage(ctx context.Context, ev intercept.Debug) {
	b.mu.Lock()
	b.debugSeq++
	if b.debugSeq > math.MaxInt32 {
		b.debugSeq = 1
	}
	idx := b.debugSeq
	b.debugRows = append(b.debugRows, debugRow{index: idx, at: time.Now()})
	var evict []int32
	for len(b.debugRows) > b.debugMax {
		evict = append(evict, b.debugRows[0].index)
		b.debugRows = b.debugRows[1:]
	}
	b.mu.Unlock()
	for _, old := range evict {
		b.group.DeleteRow(b.debug, []agentx.Value{agentx.Integer(old)})
	}
	msg := ev.Message
	if len(msg) > 255 {
		msg = msg[:255]
	}
	index := []agentx.Value{agentx.Integer(idx)}
	err := b.group.PutRow(b.debug, index, map[uint32]agentx.Value{
		dbgMediationID: agentx.Gauge32(uint32(ev.Key.ContentID)),
		dbgStreamID:    agentx.Gauge32(ev.Key.Index),
		dbgMessage:     agentx.OctetString([]byte(msg)),
	}, table.Active)
	if err != nil {
		b.log.WithError(err).Error("cannot write a debug row")
		return
	}
	b.log.WithFields(logrus.Fields{"content_id": ev.Key.ContentID, "stream": ev.Key.Index}).Warn(ev.Message)
	if !ev.NotificationEnable {
		return
	}
	col := func(c uint32) agentx.OID { return b.debug.Entry.Append(c, uint32(idx)) }
	vbs := []agentx.VarBind{{Name: col(dbgMediationID), Value: agentx.Gauge32(uint32(ev.Key.ContentID))}}
	trap := oidNotifMediationDebug
	if ev.Key.Index != 0 {
		trap = oidNotifStreamDebug
		vbs = append(vbs, agentx.VarBind{Name: col(dbgStreamID), Value: agentx.Gauge32(ev.Key.Index)})
	}
	vbs = append(vbs, agentx.VarBind{Name: col(dbgMessage), Value: agentx.OctetString([]byte(msg))})
	b.notify(ctx, trap, vbs...)
}

// expireDebugRows removes cTap2DebugTable rows older than cTap2DebugAge.
func (b *Binding) expireDebugRows(now time.Time) {
	b.mu.Lock()
	var old []int32
	for len(b.debugRows) > 0 && now.Sub(b.debugRows[0].at) >= b.debugAge {
		old = append(old, b.debugRows[0].index)
		b.debugRows = b.debugRows[1:]
	}
	b.mu.Unlock()
	for _, idx := range old {
		b.group.DeleteRow(b.debug, []agentx.Value{agentx.Integer(idx)})
	}
}

// Switchover tells the trap sinks that this agent stops serving the taps
// (graceful shutdown), unless every mediation device silenced notifications.
func (b *Binding) Switchover(ctx context.Context) {
	rows := b.group.Rows(b.md)
	for _, r := range rows {
		if r.Truth(mdNotificationEnable) {
			b.notify(ctx, oidNotifSwitchover)
			return
		}
	}
}

// expireDebugUsers removes active cTap2DebugUserTable rows whose
// cTap2DebugUserTimeout has passed.
func (b *Binding) expireDebugUsers(now time.Time) {
	for _, r := range b.group.Rows(b.debugUser) {
		if active(r) && !dateAndTime(r.Bytes(dbgUserTimeout)).After(now) {
			b.group.DeleteRow(b.debugUser, r.Index)
			b.log.WithField("content_id", r.Index[0].Int).Info("debug user row timed out")
		}
	}
}

func (b *Binding) handle(ctx context.Context, ev intercept.Event) {
	switch ev := ev.(type) {
	case intercept.StreamArmed:
		b.log.WithField("stream", ev.Key.String()).Info("stream intercepting")
		if ev.NotificationEnable {
			b.notify(ctx, oidNotifMIBActive)
		}
	case intercept.Debug:
		b.debugMessage(ctx, ev)
	case intercept.MediationTimedOut:
		b.removeContent(ev.ContentID)
		b.log.WithField("content_id", ev.ContentID).Info("mediation device timed out; its rows are removed")
		if !ev.NotificationEnable {
			return
		}
		status := int32(table.NotInService)
		if ev.WasActive {
			status = int32(table.Active)
		}
		b.notify(ctx, oidNotifMediationTimedOut, agentx.VarBind{
			Name:  b.md.Entry.Append(mdStatus, uint32(ev.ContentID)),
			Value: agentx.Integer(status),
		})
	}
}

// removeContent deletes the rows of a mediation device the engine removed.
func (b *Binding) removeContent(id intercept.ContentID) {
	idx := agentx.Integer(int32(id))
	for _, t := range []*table.Table{b.stream, b.ip, b.mac, b.uc, b.debugUser} {
		for _, r := range b.group.Rows(t, idx) {
			b.group.DeleteRow(t, r.Index)
		}
	}
	b.group.DeleteRow(b.md, []agentx.Value{idx})
}

var snmpTrapOID = agentx.MustParseOID("1.3.6.1.6.3.1.1.4.1.0")

func (b *Binding) notify(ctx context.Context, trap agentx.OID, vbs ...agentx.VarBind) {
	if b.notifier == nil {
		return
	}
	all := append([]agentx.VarBind{{Name: snmpTrapOID, Value: agentx.ObjectID(trap)}}, vbs...)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.notifier.Notify(ctx, all); err != nil {
		b.log.WithError(err).WithField("trap", trap.String()).Warn("notification not sent")
	}
}

// check validates the post-PDU state: syntax and RowStatus are the
// framework's; address/type fit is ours; every intercept rule is the engine's.
func (b *Binding) check(tx *table.Tx) error {
	changes, origin, err := b.changeSet(tx)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	return b.mapRuleError(b.engine.Validate(changes), origin)
}

func (b *Binding) apply(tx *table.Tx) error {
	changes, origin, err := b.changeSet(tx)
	if err != nil {
		return err
	}
	rv, err := b.engine.ApplyRevertible(changes)
	if err != nil {
		return b.mapRuleError(err, origin)
	}
	b.mu.Lock()
	b.lastTx, b.lastRevert = tx, rv
	b.mu.Unlock()
	return nil
}

func (b *Binding) revert(tx *table.Tx) error {
	b.mu.Lock()
	rv := b.lastRevert
	same := b.lastTx == tx
	b.lastTx, b.lastRevert = nil, nil
	b.mu.Unlock()
	if !same {
		return errors.New("tap: undo of a transaction that is not the last one committed")
	}
	return b.engine.Revert(rv)
}

// changeSet turns the rows a PDU touches into intercept changes, recording
// which table change each came from so engine verdicts map back to varbinds.
func (b *Binding) changeSet(tx *table.Tx) ([]intercept.Change, []*table.Change, error) {
	var (
		cs     []intercept.Change
		origin []*table.Change
	)
	for _, ch := range tx.Changes {
		c, ok, err := b.engineChange(tx, ch)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			cs = append(cs, c)
			origin = append(origin, ch)
		}
	}
	return cs, origin, nil
}

func (b *Binding) engineChange(tx *table.Tx, ch *table.Change) (intercept.Change, bool, error) {
	row := ch.New
	// A row that existed before this PDU names an object the engine must
	// still hold: if a timeout removed it meanwhile (its rows are about to
	// go), the SET fails instead of bringing it back.
	put := intercept.Upsert
	if ch.Old != nil && !ch.Created() {
		put = intercept.Update
	}
	switch ch.Table {
	case b.md:
		// The engine guards streams and its filters; the rows only this
		// binding keeps must not be orphaned either. A user-connection row
		// is a stream filter: it holds the MD in service like the others.
		// A debug-user row only prevents the destroy.
		leaving := row == nil || (ch.Old != nil && active(ch.Old) && !active(row))
		guards := map[*table.Table]bool{b.uc: leaving, b.debugUser: row == nil}
		for _, t := range []*table.Table{b.uc, b.debugUser} {
			if guards[t] && len(tx.Rows(t, ch.Index[0])) > 0 {
				return intercept.Change{}, false, &table.CheckError{Table: b.md, Index: ch.Index, Column: mdStatus,
					Err: fmt.Errorf("%s rows of mediation device %d exist", t.Name, ch.Index[0].Int)}
			}
		}
		if row == nil {
			return intercept.DeleteMediation(contentID(ch.Index)), true, nil
		}
		m, err := mediationOf(row)
		return put(m), true, err
	case b.stream:
		if row == nil {
			return intercept.DeleteStream(streamKey(ch.Index)), true, nil
		}
		return put(streamOf(row)), true, nil
	case b.ip:
		if row == nil {
			return intercept.DeleteIPFilter(streamKey(ch.Index)), true, nil
		}
		f, err := ipFilterOf(row)
		return put(f), true, err
	case b.mac:
		if row == nil {
			return intercept.DeleteMACFilter(streamKey(ch.Index)), true, nil
		}
		f, err := macFilterOf(row)
		return put(f), true, err
	case b.debug:
		if ch.Created() {
			return intercept.Change{}, false, &table.CheckError{Status: agentx.NoCreation, Table: b.debug,
				Index: ch.Index, Column: dbgStatus, Err: errors.New("debug rows are written by the agent only")}
		}
		if row != nil && ch.Op != 0 && ch.Op != table.Destroy {
			return intercept.Change{}, false, &table.CheckError{Status: agentx.WrongValue, Table: b.debug,
				Index: ch.Index, Column: dbgStatus, Err: errors.New("only destroy may be written")}
		}
	case b.debugUser, b.uc:
		// Rows that belong to a mediation device need it to exist.
		if row != nil && ch.Created() {
			if _, ok := tx.Lookup(b.md, ch.Index[0]); !ok {
				return intercept.Change{}, false, &table.CheckError{Table: ch.Table, Index: ch.Index,
					Column: ch.Table.Status, Err: fmt.Errorf("no mediation device %d", ch.Index[0].Int)}
			}
		}
	}
	return intercept.Change{}, false, nil
}

// mapRuleError turns an engine verdict into a CheckError on the column the
// rule names.
func (b *Binding) mapRuleError(err error, origin []*table.Change) error {
	if err == nil {
		return nil
	}
	var re *intercept.RuleError
	if !errors.As(err, &re) || re.Index < 0 || re.Index >= len(origin) {
		return err
	}
	ch := origin[re.Index]
	status := agentx.InconsistentValue
	if re.Kind == intercept.WrongValue {
		status = agentx.WrongValue
	}
	return &table.CheckError{Status: status, Table: ch.Table, Index: ch.Index,
		Column: b.columnOf(ch.Table, re.Field), Err: err}
}

// columnOf maps an engine field name to the column that carries it.
func (b *Binding) columnOf(t *table.Table, field string) uint32 {
	var m map[string]uint32
	switch t {
	case b.md:
		m = map[string]uint32{
			intercept.FieldDestAddr: mdDestAddress, intercept.FieldDestPort: mdDestPort,
			intercept.FieldSrcInterface: mdSrcInterface, intercept.FieldDSCP: mdDscp,
			intercept.FieldDataType: mdDataType, intercept.FieldRetransmitType: mdRetransmitType,
			intercept.FieldTimeout: mdTimeout, intercept.FieldTransport: mdTransport,
			intercept.FieldNotificationEnable: mdNotificationEnable,
		}
	case b.stream:
		m = map[string]uint32{intercept.FieldType: stType, intercept.FieldEnable: stInterceptEnable}
	case b.ip:
		m = map[string]uint32{
			intercept.FieldInterface: ipInterface, intercept.FieldAddrFamily: ipAddrType,
			intercept.FieldDst: ipDstAddress, intercept.FieldDstLen: ipDstLength,
			intercept.FieldSrc: ipSrcAddress, intercept.FieldSrcLen: ipSrcLength,
			intercept.FieldTOS: ipTosByte, intercept.FieldTOSMask: ipTosByteMask,
			intercept.FieldFlowID: ipFlowID, intercept.FieldProtocol: ipProtocol,
			intercept.FieldDstPortMin: ipDstL4PortMin, intercept.FieldDstPortMax: ipDstL4PortMax,
			intercept.FieldSrcPortMin: ipSrcL4PortMin, intercept.FieldSrcPortMax: ipSrcL4PortMax,
			intercept.FieldVRF: ipVRF,
		}
	case b.mac:
		m = map[string]uint32{
			intercept.FieldFields: macFields, intercept.FieldInterface: macInterface,
			intercept.FieldDst: macDstAddress, intercept.FieldSrc: macSrcAddress,
			intercept.FieldEtherType: macEthernetPid, intercept.FieldDstLLCSAP: macDstLlcSap,
			intercept.FieldSrcLLCSAP: macSrcLlcSap,
		}
	}
	if col, ok := m[field]; ok {
		return col
	}
	return t.Status // Active, ContentID, Index …: the row's status varbind
}
