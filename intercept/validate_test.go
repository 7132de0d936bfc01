package intercept

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// TestValidateCrossObject checks the rules between objects against the
// state a whole change set produces.
func TestValidateCrossObject(t *testing.T) {
	k := key(1, 1)
	inactiveMD := md(1, false)
	deactivatedMD := md(1, false)
	laterTimeout := md(1, true)
	laterTimeout.Timeout = t0.Add(2 * time.Hour)
	otherPort := md(1, true)
	otherPort.DestPort = 6000
	otherPortOff := otherPort
	otherPortOff.Active = false
	pastTimeout := md(2, true)
	pastTimeout.Timeout = t0.Add(-time.Second)
	tcpFilter := ipf(k, true)
	tcpFilter.Protocol = 6
	tcpFilterOff := tcpFilter
	tcpFilterOff.Active = false
	otherMAC := macf(k, true)
	otherMAC.Dst = cloneMAC(otherMC)

	tests := []struct {
		name  string
		setup []Change
		cs    []Change
		index int    // of the offending change; -1 = accepted
		field string // of the offending value
		kind  Kind
	}{
		{name: "create MD, stream and filter in one set", cs: ipTap(1, 1), index: -1},
		{name: "filter before stream before MD", index: -1,
			cs: []Change{Upsert(ipf(k, true)), Upsert(stream(k, StreamIP, true, true)), Upsert(md(1, true))}},
		{name: "destroy MD with its streams and filters", setup: ipTap(1, 1), index: -1,
			cs: []Change{DeleteMediation(1), DeleteStream(k), DeleteIPFilter(k)}},
		{name: "destroy streams, then MD", setup: ipTap(1, 1), index: -1,
			cs: []Change{DeleteIPFilter(k), DeleteStream(k), DeleteMediation(1)}},
		{name: "destroy MD while a stream remains", setup: ipTap(1, 1),
			cs:    []Change{DeleteIPFilter(k), DeleteMediation(1)},
			index: 1, field: FieldActive, kind: Inconsistent},
		{name: "destroy MD while a filter remains", setup: ipTap(1, 1),
			cs:    []Change{DeleteMediation(1), DeleteStream(k)},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "destroy inactive MD with a stream",
			setup: []Change{Upsert(inactiveMD), Upsert(stream(k, StreamIP, false, false))},
			cs:    []Change{DeleteMediation(1)},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "deactivate MD while streams exist", setup: ipTap(1, 1),
			cs:    []Change{Upsert(deactivatedMD)},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "deactivate MD and destroy its streams", setup: ipTap(1, 1), index: -1,
			cs: []Change{Upsert(deactivatedMD), DeleteStream(k), DeleteIPFilter(k)}},
		{name: "inactive MD with streams stays inactive", index: -1,
			setup: []Change{Upsert(inactiveMD), Upsert(stream(k, StreamIP, false, false))},
			cs:    []Change{Upsert(md(1, false))}},
		{name: "stream without MD",
			cs:    []Change{Upsert(md(2, true)), Upsert(stream(k, StreamIP, true, true))},
			index: 1, field: FieldActive, kind: Inconsistent},
		{name: "ip filter without MD",
			cs:    []Change{Upsert(ipf(k, false))},
			index: 0, field: FieldActive, kind: Inconsistent},
		// Both changes break a rule; the earlier one is reported.
		{name: "mac filter for an MD destroyed in the same set", setup: []Change{Upsert(md(1, true))},
			cs:    []Change{Upsert(macf(k, true)), DeleteMediation(1)},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "MD destroyed before a mac filter for it", setup: []Change{Upsert(md(1, true))},
			cs:    []Change{DeleteMediation(1), Upsert(macf(k, true))},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "mac filter on an ip stream", setup: []Change{Upsert(md(1, true)), Upsert(stream(k, StreamIP, true, true))},
			cs:    []Change{Upsert(macf(k, true))},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "ip stream on a mac filter", setup: []Change{Upsert(md(1, true)), Upsert(macf(k, true))},
			cs:    []Change{Upsert(stream(k, StreamIP, false, false))},
			index: 0, field: FieldType, kind: Inconsistent},
		{name: "ip and mac filter for one stream", setup: []Change{Upsert(md(1, true)), Upsert(ipf(k, false))},
			cs:    []Change{Upsert(macf(k, false))},
			index: 0, field: FieldActive, kind: Inconsistent},
		{name: "replace ip filter by mac filter in one set", setup: ipTap(1, 1), index: -1,
			cs: []Change{DeleteIPFilter(k), Upsert(stream(k, StreamMAC, false, true)), Upsert(macf(k, true))}},
		{name: "active MD: timeout may change", setup: ipTap(1, 1), index: -1,
			cs: []Change{Upsert(laterTimeout)}},
		{name: "active MD: port may not change", setup: ipTap(1, 1),
			cs:    []Change{Upsert(otherPort)},
			index: 0, field: FieldDestPort, kind: Inconsistent},
		{name: "active MD: notInService, change, active in one set", setup: []Change{Upsert(md(1, true))}, index: -1,
			cs: []Change{Upsert(md(1, false)), Upsert(otherPortOff), Upsert(otherPort)}},
		{name: "activation with a past timeout",
			cs:    []Change{Upsert(pastTimeout)},
			index: 0, field: FieldTimeout, kind: Inconsistent},
		{name: "active stream: enable may change", setup: ipTap(1, 1), index: -1,
			cs: []Change{Upsert(stream(k, StreamIP, true, false))}},
		{name: "active stream: type may not change", setup: []Change{Upsert(md(1, true)), Upsert(stream(k, StreamIP, true, false))},
			cs:    []Change{Upsert(stream(k, StreamMAC, true, false))},
			index: 0, field: FieldType, kind: Inconsistent},
		{name: "active ip filter: nothing may change", setup: ipTap(1, 1),
			cs:    []Change{Upsert(tcpFilter)},
			index: 0, field: FieldProtocol, kind: Inconsistent},
		{name: "ip filter: notInService then change then active", setup: ipTap(1, 1), index: -1,
			cs: []Change{Upsert(ipf(k, false)), Upsert(tcpFilterOff), Upsert(tcpFilter)}},
		{name: "active mac filter: nothing may change",
			setup: []Change{Upsert(md(1, true)), Upsert(stream(k, StreamMAC, true, true)), Upsert(macf(k, true))},
			cs:    []Change{Upsert(otherMAC)},
			index: 0, field: FieldDst, kind: Inconsistent},
		{name: "destroy what does not exist", index: -1,
			cs: []Change{DeleteMediation(9), DeleteStream(key(9, 9)), DeleteIPFilter(key(9, 9)), DeleteMACFilter(key(9, 9))}},
		{name: "single-object rule reports its change index",
			cs:    []Change{Upsert(md(1, true)), Upsert(stream(k, StreamMobility, false, false))},
			index: 1, field: FieldType, kind: WrongValue},
		{name: "lowest index wins among cross-object violations",
			cs:    []Change{Upsert(md(3, true)), Upsert(stream(key(5, 1), StreamIP, false, false)), Upsert(stream(key(4, 1), StreamIP, false, false))},
			index: 1, field: FieldActive, kind: Inconsistent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := startEngine(t)
			mustApply(t, e, tt.setup...)
			err := e.Validate(tt.cs)
			if tt.index < 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				// What validates must apply.
				mustApply(t, e, tt.cs...)
				return
			}
			wantRule(t, err, tt.index, tt.field, tt.kind)
			// Apply gives the same answer.
			wantRule(t, e.Apply(tt.cs), tt.index, tt.field, tt.kind)
		})
	}
}

func TestValidateMalformedChange(t *testing.T) {
	e, _ := startEngine(t)
	m := md(1, true)
	for _, cs := range [][]Change{
		{{Op: OpUpsert}},
		{{Op: OpUpsert, Object: &m}},
		{{Op: 0, Object: m}},
	} {
		err := e.Validate(cs)
		var r *RuleError
		if err == nil || errors.As(err, &r) {
			t.Errorf("Validate(%+v) = %v, want a plain error", cs, err)
		}
	}
}

// TestApplyAllOrNothing: a failing change set leaves no trace.
func TestApplyAllOrNothing(t *testing.T) {
	e, _ := startEngine(t)
	mustApply(t, e, ipTap(1, 1)...)
	before := e.Snapshot()
	k := key(2, 1)
	bad := ipf(k, true)
	bad.TOS = 0xff
	err := e.Apply([]Change{
		Upsert(md(2, true)),
		Upsert(stream(k, StreamIP, true, true)),
		DeleteIPFilter(key(1, 1)),
		DeleteStream(key(1, 1)),
		Upsert(bad),
	})
	wantRule(t, err, 4, FieldTOS, Inconsistent)
	after := e.Snapshot()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed by a failed Apply:\nbefore %+v\nafter  %+v", before, after)
	}
	if len(e.Armed()) != 1 {
		t.Fatalf("armed taps changed by a failed Apply")
	}
}

func TestApplyRevertible(t *testing.T) {
	e, _ := startEngine(t)
	mustApply(t, e, ipTap(1, 1)...)
	mustApply(t, e, Upsert(md(2, false)), Upsert(stream(key(2, 1), StreamMAC, false, false)))
	before := e.Snapshot()
	later := md(1, true)
	later.Timeout = t0.Add(3 * time.Hour)
	rv, err := e.ApplyRevertible([]Change{
		Upsert(later),
		DeleteIPFilter(key(1, 1)),
		Upsert(ipf(key(1, 2), false)),
		Upsert(stream(key(1, 2), StreamIP, false, false)),
		DeleteStream(key(2, 1)),
		DeleteMediation(2),
		Upsert(md(3, true)),
		Upsert(macf(key(3, 1), true)),
	})
	if err != nil {
		t.Fatalf("ApplyRevertible: %v", err)
	}
	if reflect.DeepEqual(before.Mediations, e.Snapshot().Mediations) {
		t.Fatal("ApplyRevertible changed nothing")
	}
	if err := e.Revert(rv); err != nil {
		t.Fatalf("Revert: %v", err)
	}
	after := e.Snapshot()
	if after.Version <= before.Version {
		t.Errorf("version did not move: %d -> %d", before.Version, after.Version)
	}
	after.Version = before.Version
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("Revert did not restore exactly:\nbefore %+v\nafter  %+v", before, after)
	}
	// The restored timeout is the one in force.
	if m, _ := e.Mediation(1); !m.Timeout.Equal(t0.Add(time.Hour)) {
		t.Fatalf("timeout after revert = %v", m.Timeout)
	}
}

// TestCallerKeepsItsSlices: the engine copies MACs in and out.
func TestCallerKeepsItsSlices(t *testing.T) {
	e, _ := startEngine(t)
	f := macf(key(1, 1), false)
	mustApply(t, e, Upsert(md(1, true)), Upsert(f))
	f.Dst[0] = 0xff
	got, ok := e.MACFilter(key(1, 1))
	if !ok || got.Dst[0] != cpeMAC[0] {
		t.Fatalf("stored MAC follows the caller's slice: %v", got.Dst)
	}
	got.Src[0] = 0xff
	again, _ := e.MACFilter(key(1, 1))
	if again.Src[0] != cpeMAC[0] {
		t.Fatalf("stored MAC follows a returned slice: %v", again.Src)
	}
	snap := e.Snapshot()
	snap.MACFilters[0].Dst[1] = 0xff
	if again, _ := e.MACFilter(key(1, 1)); again.Dst[1] != cpeMAC[1] {
		t.Fatalf("stored MAC follows a snapshot slice")
	}
}

func TestLookups(t *testing.T) {
	e, _ := startEngine(t)
	mustApply(t, e, ipTap(1, 1)...)
	if m, ok := e.Mediation(1); !ok || m.DestAddr != mdAddr || m.DSCP != DefaultDSCP || !m.NotificationEnable {
		t.Errorf("Mediation(1) = %+v, %v", m, ok)
	}
	if _, ok := e.Mediation(2); ok {
		t.Error("Mediation(2) found")
	}
	if s, ok := e.Stream(key(1, 1)); !ok || s.Type != StreamIP {
		t.Errorf("Stream = %+v, %v", s, ok)
	}
	if f, ok := e.IPFilter(key(1, 1)); !ok || f.Dst != target {
		t.Errorf("IPFilter = %+v, %v", f, ok)
	}
	if _, ok := e.MACFilter(key(1, 1)); ok {
		t.Error("MACFilter found for an ip stream")
	}
	if _, ok := e.Stream(key(2, 1)); ok {
		t.Error("stream of a missing MD found")
	}
	if in, drops := e.Counters(key(1, 1)); in != 0 || drops != 0 {
		t.Errorf("Counters = %d, %d before any data plane", in, drops)
	}
	snap := e.Snapshot()
	if len(snap.Mediations) != 1 || len(snap.Streams) != 1 || len(snap.IPFilters) != 1 || len(snap.MACFilters) != 0 {
		t.Errorf("Snapshot = %+v", snap)
	}
	if snap.Version != e.Version() || snap.Version == 0 {
		t.Errorf("Snapshot version %d, engine version %d", snap.Version, e.Version())
	}
	if f := snap.IPFilters[0]; f.Dst.Masked() != netip.MustParsePrefix("198.18.1.0/24") {
		t.Errorf("snapshot filter %+v", f)
	}
}

// TestUpdateNeedsTheObject: Update replaces an existing object and refuses
// to create one (a row whose object a timeout removed).
func TestUpdateNeedsTheObject(t *testing.T) {
	e, _ := startEngine(t)
	err := e.Validate([]Change{Update(md(1, true))})
	var re *RuleError
	if !errors.As(err, &re) || re.Kind != Inconsistent || re.Index != 0 {
		t.Fatalf("update of a missing MD: %v", err)
	}
	mustApply(t, e, ipTap(1, 1)...)
	if err := e.Validate([]Change{Update(md(1, true)), Update(stream(key(1, 1), StreamIP, true, false))}); err != nil {
		t.Fatalf("update of existing objects: %v", err)
	}
	// Created earlier in the same change set counts as existing.
	if err := e.Validate([]Change{Upsert(md(2, false)), Update(md(2, false))}); err != nil {
		t.Fatalf("update after upsert in one change set: %v", err)
	}
}
