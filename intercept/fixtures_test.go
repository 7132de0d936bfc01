package intercept

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/intercept/fakeclock"
)

// t0 is the fake "now" of every test.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

var (
	mdAddr  = netip.MustParseAddr("198.18.0.10")
	target  = netip.MustParsePrefix("198.18.1.0/24")
	cpeMAC  = net.HardwareAddr{0xc8, 0xfb, 0x26, 0xa5, 0x55, 0x98}
	otherMC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
)

func key(id ContentID, idx uint32) StreamKey { return StreamKey{ContentID: id, Index: idx} }

// md is a complete UDP mediation device timing out an hour after t0.
func md(id ContentID, active bool) Mediation {
	m := NewMediation(id)
	m.DestAddr = mdAddr
	m.DestPort = 5000
	m.Transport = TransportUDP
	m.Timeout = t0.Add(time.Hour)
	m.Active = active
	return m
}

func stream(k StreamKey, typ StreamType, active, enable bool) Stream {
	return Stream{Key: k, Type: typ, Active: active, Enable: enable}
}

// ipf is an IP filter for traffic to the target prefix.
func ipf(k StreamKey, active bool) IPFilter {
	f := NewIPFilter(k)
	f.Dst = target
	f.Active = active
	return f
}

// macf is the seed's CPE tap: from or to one MAC, cable modem semantics.
func macf(k StreamKey, active bool) MACFilter {
	f := NewMACFilter(k)
	f.Fields = MatchDstMAC | MatchSrcMAC | MatchCMMAC
	f.Dst = cloneMAC(cpeMAC)
	f.Src = cloneMAC(cpeMAC)
	f.Active = active
	return f
}

// ipTap is the change set of one armed IP tap created in one go.
func ipTap(id ContentID, idx uint32) []Change {
	k := key(id, idx)
	return []Change{Upsert(md(id, true)), Upsert(stream(k, StreamIP, true, true)), Upsert(ipf(k, true))}
}

func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// startEngine runs an engine on a fake clock at t0 until the test ends.
func startEngine(t testing.TB, opts ...func(*Options)) (*Engine, *fakeclock.Clock) {
	t.Helper()
	clk := fakeclock.New(t0)
	o := Options{Clock: clk, Logger: quietLogger()}
	for _, f := range opts {
		f(&o)
	}
	e := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, clk
}

func mustApply(t testing.TB, e *Engine, cs ...Change) {
	t.Helper()
	if err := e.Apply(cs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// wantRule asserts err is a *RuleError with the given index, field and kind.
func wantRule(t *testing.T, err error, index int, field string, kind Kind) {
	t.Helper()
	var r *RuleError
	if !errors.As(err, &r) {
		t.Fatalf("error = %v, want a *RuleError", err)
	}
	if r.Index != index || r.Field != field || r.Kind != kind {
		t.Fatalf("got change %d field %s %s (%s), want change %d field %s %s",
			r.Index, r.Field, r.Kind, r.Msg, index, field, kind)
	}
	sentinel := map[Kind]error{WrongValue: ErrWrongValue, Inconsistent: ErrInconsistent}
	if !errors.Is(err, sentinel[kind]) {
		t.Fatalf("errors.Is(%v, %v) = false", err, sentinel[kind])
	}
	for k, s := range sentinel {
		if k != kind && errors.Is(err, s) {
			t.Fatalf("errors.Is(%v, %v) = true for the wrong class", err, s)
		}
	}
}
