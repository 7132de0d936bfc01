package portsec

import (
	"context"
	"fmt"
	"log/syslog"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent/agentx"
	psec "tapagent/portsec"
)

// bucket is a token bucket: rate tokens per second, as many in reserve.
// A rate of 0 means no cap.
type bucket struct {
	rate   int
	tokens float64
	last   time.Time
}

// allow takes a token if one is there.
func (k *bucket) allow(rate int, now time.Time) bool {
	if rate <= 0 {
		return true
	}
	if rate != k.rate || k.last.IsZero() {
		k.rate, k.tokens, k.last = rate, float64(rate), now
	}
	k.tokens = min(float64(rate), k.tokens+now.Sub(k.last).Seconds()*float64(rate))
	k.last = now
	if k.tokens < 1 {
		return false
	}
	k.tokens--
	return true
}

// violation reports one offending frame: a syslog line (capped at 10 per
// second) and, when cpsGlobalSNMPNotifControl is true and
// cpsGlobalSNMPNotifRate leaves room, a notification. Protect ports
// produce no events at all; shutdown ports report the frame that shut
// them down.
func (b *Binding) violation(ctx context.Context, ev psec.Event) {
	name := b.portName(ev.Ifindex)
	p, _ := b.port(ev.Ifindex)
	vlan := eventVLAN(ev, p.state)
	now := time.Now()
	g, err := b.eng.Global()
	if err != nil {
		b.log.WithError(err).Warn("port security: read global settings")
		return
	}
	b.mu.Lock()
	logOK := b.syslogLim.allow(10, now)
	notifyOK := g.NotifControl && b.limiter.allow(g.NotifRate, now)
	b.mu.Unlock()
	if logOK {
		b.opts.Syslog(fmt.Sprintf("%%PORT_SECURITY-2-PSECURE_VIOLATION: Security violation occurred, caused by MAC address %s on port %s (VLAN %d).",
			ciscoMAC(ev.MAC), name, vlan))
	}
	if !notifyOK || b.opts.Notifier == nil {
		return
	}
	idx := uint32(ev.Ifindex)
	mac := agentx.VarBind{Name: b.config.Entry.Append(ifLastMAC, idx), Value: agentx.OctetString(slices.Clone(ev.MAC[:]))}
	ifName := agentx.VarBind{Name: oidIfName.Append(idx), Value: agentx.OctetString([]byte(name))}
	trap := oidNotifViolation
	vbs := []agentx.VarBind{{Name: oidIfIndex.Append(idx), Value: agentx.Integer(int32(ev.Ifindex))}, ifName, mac}
	if ev.VLANOnly || p.state.VLANs.MultiVLAN() {
		// A multi-VLAN port, or one VLAN's own limit: the VLAN travels
		// with the notification.
		trap = oidNotifVlanViolation
		vbs = []agentx.VarBind{ifName, {Name: b.config.Entry.Append(ifLastVLAN, idx), Value: agentx.Gauge32(uint32(vlan))}, mac}
	}
	all := append([]agentx.VarBind{{Name: snmpTrapOID, Value: agentx.ObjectID(trap)}}, vbs...)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.opts.Notifier.Notify(ctx, all); err != nil {
		b.log.WithError(err).Warn("port security: violation notification not sent")
	}
}

// vlanShutdown logs one VLAN of a multi-VLAN port err-disabled, as IOS
// words it (one line per shutdown: not rate-capped).
func (b *Binding) vlanShutdown(ev psec.Event) {
	name := b.portName(ev.Ifindex)
	p, _ := b.port(ev.Ifindex)
	vlan := eventVLAN(ev, p.state)
	b.log.WithFields(logrus.Fields{"ifindex": ev.Ifindex, "port": name, "vlan": vlan}).Warn("port security: VLAN err-disabled")
	b.opts.Syslog(fmt.Sprintf("%%PORT_SECURITY-2-PSECURE_VIOLATION_VLAN: Security violation on port %s due to MAC address %s on VLAN %d",
		name, ciscoMAC(ev.MAC), vlan))
}

// eventVLAN is the VLAN of an event; untagged frames belong to the
// port's PVID (VLAN 1 on a bridge that does not filter VLANs).
func eventVLAN(ev psec.Event, s psec.PortState) uint16 {
	if ev.VLAN != 0 {
		return ev.VLAN
	}
	return max(s.VLANs.PVID, 1)
}

// portName is the port's name, or its ifindex when the port listing
// does not know it.
func (b *Binding) portName(ifindex int) string {
	if name := b.name(ifindex); name != "" {
		return name
	}
	return fmt.Sprintf("ifindex %d", ifindex)
}

// ciscoMAC writes a MAC the way IOS logs it: 0200.5e00.0001.
func ciscoMAC(m psec.MAC) string {
	return fmt.Sprintf("%02x%02x.%02x%02x.%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// NewSyslog returns the default violation logger: local syslog (facility
// daemon, severity warning, tag tapagent) when a syslog socket answers;
// otherwise, and whenever a write fails, a warn-level line on log with the
// field syslog=true.
func NewSyslog(log *logrus.Entry) func(string) {
	var mu sync.Mutex
	w, err := syslog.New(syslog.LOG_WARNING|syslog.LOG_DAEMON, "tapagent")
	if err != nil {
		log.WithError(err).Info("port security: no local syslog; violations are logged here with syslog=true")
	} else {
		log.Info("port security: violations go to the local syslog (daemon.warning, tag tapagent)")
	}
	return func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if w != nil && w.Warning(line) == nil {
			return
		}
		log.WithField("syslog", true).Warn(line)
	}
}
