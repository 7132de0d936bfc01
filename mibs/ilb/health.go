package ilb

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
)

// HealthState is IlbHealthState.
type HealthState int

// Health states (TAPAGENT-ILB-MIB IlbHealthState).
const (
	HealthUninitialized HealthState = 1
	HealthUnreachable   HealthState = 2
	HealthAlive         HealthState = 3
	HealthDead          HealthState = 4
	HealthDisabled      HealthState = 5
)

// Health is what a health checker knows of one server of one rule.
type Health struct {
	State     HealthState
	FailCount uint32
	LastCheck time.Time
	NextCheck time.Time
	RTT       time.Duration
}

type healthKey struct{ rule, server string } // rule in lower case

// HealthSource is implemented by an engine that runs the health checks
// itself (*lb.Engine): results are read from it and its events become
// ilbServerHealthChange notifications (Run).
type HealthSource interface {
	HealthResult(rule, serverID string) (lb.HealthResult, bool)
	HealthEvents() <-chan lb.HealthEvent
}

func (b *Binding) healthOf(rule, server string) Health {
	if hs, ok := b.engine.(HealthSource); ok {
		if r, ok := hs.HealthResult(rule, server); ok {
			return Health{State: HealthState(r.State), FailCount: r.FailCount, LastCheck: r.LastCheck,
				NextCheck: r.NextCheck, RTT: time.Duration(r.RTT) * time.Microsecond}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if h, ok := b.health[healthKey{strings.ToLower(rule), server}]; ok {
		return h
	}
	return Health{State: HealthUninitialized}
}

// ReportHealth is the hook for the health checker: it records the health
// of server serverID for rule (ilbHcResultTable) and queues
// ilbServerHealthChange when the state changed, except for the expected
// first change from uninitialized to alive.
func (b *Binding) ReportHealth(rule, serverID string, h Health) {
	b.mu.Lock()
	k := healthKey{strings.ToLower(rule), serverID}
	old, seen := b.health[k]
	if !seen {
		old.State = HealthUninitialized
	}
	b.health[k] = h
	notify := b.notif.ServerHealth && old.State != h.State &&
		!(old.State == HealthUninitialized && h.State == HealthAlive)
	b.mu.Unlock()
	if notify {
		b.queueHealth(rule, serverID, h.State)
	}
}

// healthEvent turns an engine event into a notification (the expected
// first uninit → alive is not one).
func (b *Binding) healthEvent(ev lb.HealthEvent) {
	if !b.switches().ServerHealth || ev.Old == ev.New ||
		(ev.Old == lb.HealthUninit && ev.New == lb.HealthAlive) {
		return
	}
	b.queueHealth(ev.Rule, ev.ServerID, HealthState(ev.New))
}

func (b *Binding) queueHealth(rule, serverID string, state HealthState) {
	index := []agentx.Value{str(rule), str(serverID)}
	if r, ok := b.group.Row(b.rules, str(rule)); ok {
		index[0] = r.Index[0] // the rule's name as stored
	}
	var vbs []agentx.VarBind
	for _, col := range []uint32{hcrAddrType, hcrAddr, hcrState} {
		oid, err := b.hcResults.InstanceOID(col, index...)
		if err != nil {
			return
		}
		v := agentx.Integer(int32(state))
		if r, ok := b.group.Row(b.hcResults, index...); ok && col != hcrState {
			v = b.hcResult(col)(r)
		}
		vbs = append(vbs, agentx.VarBind{Name: oid, Value: v})
	}
	b.queue(oidNotifServerHealthChange, vbs...)
}

// notifSwitches are the two read-write scalars, kept in the state file.
type notifSwitches struct {
	ServerHealth bool
	RuleState    bool
}

func (b *Binding) switches() notifSwitches {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.notif
}

func (b *Binding) loadSwitches() {
	if b.stateFile == "" {
		return
	}
	data, err := os.ReadFile(b.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		err = json.Unmarshal(data, &b.notif)
	}
	if err != nil {
		b.log.WithError(err).Warn("ilb: notification switches not read; both are on")
	}
}

// saveSwitches writes the switches atomically (temporary file, rename).
func (b *Binding) saveSwitches(s notifSwitches) error {
	if b.stateFile == "" {
		return nil
	}
	data, _ := json.Marshal(s)
	tmp, err := os.CreateTemp(filepath.Dir(b.stateFile), ".ilb-snmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), b.stateFile)
	}
	return err
}

func (b *Binding) scalars() []*table.Scalar {
	sw := func(name string, oid agentx.OID, field func(*notifSwitches) *bool) *table.Scalar {
		return &table.Scalar{
			Name: name, OID: oid, Syntax: table.TruthValue(), Access: table.ReadWrite,
			Get: func() agentx.Value { s := b.switches(); return truth(*field(&s)) },
			Set: func(v agentx.Value) error {
				b.mu.Lock()
				s := b.notif
				*field(&s) = v.Int == truthTrue
				b.mu.Unlock()
				if err := b.saveSwitches(s); err != nil {
					return err
				}
				b.mu.Lock()
				b.notif = s
				b.mu.Unlock()
				return nil
			},
		}
	}
	return []*table.Scalar{
		sw("ilbServerHealthNotifEnabled", oidServerHealthNotifEnabled, func(s *notifSwitches) *bool { return &s.ServerHealth }),
		sw("ilbRuleStateNotifEnabled", oidRuleStateNotifEnabled, func(s *notifSwitches) *bool { return &s.RuleState }),
	}
}
