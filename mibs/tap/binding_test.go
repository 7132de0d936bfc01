package tap

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/intercept"
	"tapagent/intercept/fakeclock"
)

// now is the fixture clock, years ahead of the wall clock that the binding's
// own ticker reads, so only explicit calls expire rows.
var now = time.Date(2036, 1, 1, 12, 0, 0, 0, time.UTC)

type recorder struct{ got chan []agentx.VarBind }

func (r *recorder) Notify(_ context.Context, vbs []agentx.VarBind) error {
	r.got <- vbs
	return nil
}

type fixture struct {
	b      *Binding
	engine *intercept.Engine
	clock  *fakeclock.Clock
	traps  *recorder
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := fakeclock.New(now)
	eng := intercept.New(intercept.Options{Clock: clock})
	traps := &recorder{got: make(chan []agentx.VarBind, 64)}
	b := New(eng, traps, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go eng.Run(ctx)
	go b.Run(ctx)
	return &fixture{b: b, engine: eng, clock: clock, traps: traps}
}

// set runs one SET PDU through TestSet, CommitSet and CleanupSet.
func (f *fixture) set(vbs ...agentx.VarBind) *agent.SetError {
	svbs := make([]agent.SetVarBind, len(vbs))
	for i, vb := range vbs {
		svbs[i] = agent.SetVarBind{Index: i + 1, VarBind: vb}
	}
	tx, serr := f.b.Handler().TestSet(svbs)
	if serr != nil {
		return serr
	}
	if serr := tx.Commit(); serr != nil {
		tx.Undo()
		return serr
	}
	tx.Cleanup()
	return nil
}

func (f *fixture) mustSet(t *testing.T, vbs ...agentx.VarBind) {
	t.Helper()
	if err := f.set(vbs...); err != nil {
		t.Fatalf("SET failed: %v", err)
	}
}

func (f *fixture) get(oid agentx.OID) agentx.Value { return f.b.Handler().Get(oid) }

func vb(oid agentx.OID, v agentx.Value) agentx.VarBind { return agentx.VarBind{Name: oid, Value: v} }
func i32(v int32) agentx.Value                         { return agentx.Integer(v) }
func oct(b ...byte) agentx.Value                       { return agentx.OctetString(b) }
func gauge(v uint32) agentx.Value                      { return agentx.Gauge32(v) }

func mdCol(col uint32, id uint32) agentx.OID { return tap2Objects.Append(1, 2, 1, col, id) }
func stCol(col, id, s uint32) agentx.OID     { return tap2Objects.Append(2, 1, 1, col, id, s) }
func ipCol(col, id, s uint32) agentx.OID     { return ipTapObjects.Append(1, 2, 1, col, id, s) }
func macCol(col, id, s uint32) agentx.OID    { return tap802Objects.Append(1, 2, 1, col, id, s) }

// dateAndTimeOf encodes t as an 8-octet DateAndTime in UTC+0 (11 octets).
func dateAndTimeOf(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0, '+', 0, 0}
}

// seedMD is the first seed line: an MD row created and activated in one PDU.
func seedMD(id uint32, timeout []byte) []agentx.VarBind {
	return []agentx.VarBind{
		vb(mdCol(mdStatus, id), i32(4)),
		vb(mdCol(mdDestAddressType, id), i32(1)),
		vb(mdCol(mdTimeout, id), oct(timeout...)),
		vb(mdCol(mdTransport, id), i32(1)),
		vb(mdCol(mdSrcInterface, id), i32(0)),
		vb(mdCol(mdDestAddress, id), oct(0x0a, 0x0a, 0x00, 0x35)),
		vb(mdCol(mdDestPort, id), gauge(63)),
	}
}

func seed802(id, s uint32) []agentx.VarBind {
	mac := []byte{0xc8, 0xfb, 0x26, 0xa5, 0x55, 0x98}
	return []agentx.VarBind{
		vb(macCol(macStatus, id, s), i32(4)),
		vb(macCol(macFields, id, s), oct(0x62)),
		vb(macCol(macInterface, id, s), i32(-1)),
		vb(macCol(macDstAddress, id, s), oct(mac...)),
		vb(macCol(macSrcAddress, id, s), oct(mac...)),
	}
}

func TestSeedLines(t *testing.T) {
	f := newFixture(t)
	timeout := dateAndTimeOf(now.Add(time.Hour))
	f.mustSet(t, seedMD(1, timeout)...)
	f.mustSet(t, seed802(1, 2)...)
	// The third seed line: the repeated status starts a second PDU.
	f.mustSet(t, vb(stCol(stStatus, 1, 2), i32(5)), vb(stCol(stType, 1, 2), i32(2)), vb(stCol(stInterceptEnable, 1, 2), i32(1)))
	f.mustSet(t, vb(stCol(stStatus, 1, 2), i32(4)))

	for _, c := range []struct {
		oid  agentx.OID
		want agentx.Value
	}{
		{mdCol(mdStatus, 1), i32(1)},
		{mdCol(mdDestAddress, 1), oct(0x0a, 0x0a, 0x00, 0x35)},
		{mdCol(mdDestPort, 1), gauge(63)},
		{mdCol(mdTimeout, 1), oct(timeout...)},
		{mdCol(mdDscp, 1), i32(34)},
		{mdCol(mdNotificationEnable, 1), i32(1)},
		{macCol(macStatus, 1, 2), i32(1)},
		{macCol(macFields, 1, 2), oct(0x62)},
		{macCol(macInterface, 1, 2), i32(-1)},
		{stCol(stStatus, 1, 2), i32(1)},
		{stCol(stInterceptedPackets, 1, 2), agentx.Counter32(0)},
		{stCol(stInterceptedHCPackets, 1, 2), agentx.Counter64(0)},
	} {
		if got := f.get(c.oid); !got.Equal(c.want) {
			t.Errorf("%s = %v, want %v", c.oid, got, c.want)
		}
	}
	armed := f.engine.Armed()
	if len(armed) != 1 || armed[0].MAC == nil || !armed[0].MAC.EitherDirection() ||
		!armed[0].MAC.Fields.Has(intercept.MatchCMMAC) {
		t.Fatalf("engine armed %+v, want one 802 tap with cmMacAddress on both MACs", armed)
	}
}

func TestSetErrors(t *testing.T) {
	timeout := dateAndTimeOf(now.Add(time.Hour))
	withMD := func(t *testing.T, f *fixture) { f.mustSet(t, seedMD(1, timeout)...) }
	withStream := func(t *testing.T, f *fixture) {
		withMD(t, f)
		f.mustSet(t, vb(stCol(stStatus, 1, 1), i32(4)), vb(stCol(stType, 1, 1), i32(1)))
	}
	ipRow := func(extra ...agentx.VarBind) []agentx.VarBind {
		return append([]agentx.VarBind{
			vb(ipCol(ipStatus, 1, 1), i32(4)), vb(ipCol(ipInterface, 1, 1), i32(0)),
			vb(ipCol(ipDstAddress, 1, 1), oct(198, 18, 0, 1)), vb(ipCol(ipDstLength, 1, 1), gauge(32)),
		}, extra...)
	}
	tests := []struct {
		name   string
		setup  func(*testing.T, *fixture)
		pdu    []agentx.VarBind
		status agentx.ErrorStatus
		index  int
		unseen agentx.OID // must not exist afterwards
	}{
		{name: "wrongType: integer for an address",
			pdu: append(seedMD(1, timeout)[:5], vb(mdCol(mdDestAddress, 1), i32(5))), status: agentx.WrongType, index: 6, unseen: mdCol(mdStatus, 1)},
		{name: "wrongLength: 5-octet MAC", setup: withMD,
			pdu:    []agentx.VarBind{vb(macCol(macStatus, 1, 1), i32(4)), vb(macCol(macFields, 1, 1), oct(0x20)), vb(macCol(macSrcAddress, 1, 1), oct(1, 2, 3, 4, 5))},
			status: agentx.WrongLength, index: 3, unseen: macCol(macStatus, 1, 1)},
		{name: "wrongValue: dscp 64",
			pdu: append(seedMD(1, timeout), vb(mdCol(mdDscp, 1), i32(64))), status: agentx.WrongValue, index: 8, unseen: mdCol(mdStatus, 1)},
		{name: "wrongValue: transport tcp is not implemented",
			pdu: append(seedMD(1, timeout), vb(mdCol(mdTransport, 1), i32(3))), status: agentx.WrongValue, index: 8, unseen: mdCol(mdStatus, 1)},
		{name: "wrongValue: unknown BITS",
			setup: withMD, pdu: []agentx.VarBind{vb(macCol(macStatus, 1, 1), i32(4)), vb(macCol(macFields, 1, 1), oct(0x01))},
			status: agentx.WrongValue, index: 2, unseen: macCol(macStatus, 1, 1)},
		{name: "inconsistentValue: IPv4 address with type ipv6",
			pdu: append(seedMD(1, timeout), vb(mdCol(mdDestAddressType, 1), i32(2))), status: agentx.InconsistentValue, index: 6, unseen: mdCol(mdStatus, 1)},
		{name: "inconsistentValue: timeout in the past",
			pdu: seedMD(1, dateAndTimeOf(now.Add(-time.Hour))), status: agentx.InconsistentValue, index: 3, unseen: mdCol(mdStatus, 1)},
		{name: "inconsistentValue: port min above max", setup: withStream,
			pdu: ipRow(vb(ipCol(ipDstL4PortMin, 1, 1), gauge(90)), vb(ipCol(ipDstL4PortMax, 1, 1), gauge(80))), status: agentx.InconsistentValue, index: 5, unseen: ipCol(ipStatus, 1, 1)},
		{name: "inconsistentValue: TOS outside its mask", setup: withStream,
			pdu: ipRow(vb(ipCol(ipTosByte, 1, 1), i32(0x88)), vb(ipCol(ipTosByteMask, 1, 1), i32(0x0f))), status: agentx.InconsistentValue, index: 5, unseen: ipCol(ipStatus, 1, 1)},
		{name: "inconsistentValue: destroy MD while streams exist", setup: withStream,
			pdu: []agentx.VarBind{vb(mdCol(mdStatus, 1), i32(6))}, status: agentx.InconsistentValue, index: 1},
		{name: "inconsistentValue: destroy MD while a user-connection row exists",
			setup: func(t *testing.T, f *fixture) {
				withMD(t, f)
				f.mustSet(t, vb(userConnObjects.Append(1, 2, 1, ucStatus, 1, 9), i32(4)), vb(userConnObjects.Append(1, 2, 1, ucAcctSessID, 1, 9), gauge(1234)))
			},
			pdu: []agentx.VarBind{vb(mdCol(mdStatus, 1), i32(6))}, status: agentx.InconsistentValue, index: 1},
		{name: "inconsistentValue: a 255-octet ipv4 address with prefix length 0", setup: withStream,
			pdu: []agentx.VarBind{vb(ipCol(ipStatus, 1, 1), i32(4)), vb(ipCol(ipInterface, 1, 1), i32(0)), vb(ipCol(ipProtocol, 1, 1), i32(6)),
				vb(ipCol(ipDstAddress, 1, 1), oct(bytes.Repeat([]byte{1}, 255)...)), vb(ipCol(ipSrcAddress, 1, 1), oct(1, 2, 3, 4, 5))},
			status: agentx.InconsistentValue, index: 4, unseen: ipCol(ipStatus, 1, 1)},
		{name: "wrongValue: VRF name that is not UTF-8", setup: withStream,
			pdu: ipRow(vb(ipCol(ipVRF, 1, 1), oct(0xff, 0x00))), status: agentx.WrongValue, index: 5, unseen: ipCol(ipStatus, 1, 1)},
		{name: "inconsistentValue: only the timeout may change while active", setup: withMD,
			pdu: []agentx.VarBind{vb(mdCol(mdDestPort, 1), gauge(64))}, status: agentx.InconsistentValue, index: 1},
		{name: "inconsistentName: column of a row nobody creates",
			pdu: []agentx.VarBind{vb(mdCol(mdDscp, 7), i32(10))}, status: agentx.InconsistentName, index: 1, unseen: mdCol(mdStatus, 7)},
		{name: "noCreation: index 0 is outside cTap2MediationContentId",
			pdu: []agentx.VarBind{vb(mdCol(mdStatus, 0), i32(4))}, status: agentx.NoCreation, index: 1},
		{name: "notWritable: a counter", setup: withStream,
			pdu: []agentx.VarBind{vb(stCol(stInterceptedPackets, 1, 1), agentx.Counter32(5))}, status: agentx.NotWritable, index: 1},
		{name: "notWritable: NewIndex",
			pdu: []agentx.VarBind{vb(tap2Objects.Append(1, 1, 0), i32(5))}, status: agentx.NotWritable, index: 1},
		{name: "noCreation: managers cannot create debug rows",
			pdu: []agentx.VarBind{vb(tap2Objects.Append(3, 3, 1, dbgStatus, 1), i32(4))}, status: agentx.NoCreation, index: 1},
		{name: "multi-varbind SET with one bad varbind changes nothing", setup: withMD,
			pdu: []agentx.VarBind{vb(stCol(stStatus, 1, 1), i32(4)), vb(stCol(stType, 1, 1), i32(1)),
				vb(mdCol(mdTimeout, 1), oct(dateAndTimeOf(now.Add(2*time.Hour))...)), vb(ipCol(ipStatus, 1, 1), i32(4)),
				vb(ipCol(ipInterface, 1, 1), i32(0)), vb(ipCol(ipProtocol, 1, 1), i32(256))},
			status: agentx.WrongValue, index: 6, unseen: stCol(stStatus, 1, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			before := f.engine.Snapshot()
			err := f.set(tc.pdu...)
			if err == nil {
				t.Fatalf("SET succeeded, want %s on varbind %d", tc.status, tc.index)
			}
			if err.Status != tc.status || err.Index != tc.index {
				t.Fatalf("got %v, want %s on varbind %d", err, tc.status, tc.index)
			}
			if tc.unseen != nil && !f.get(tc.unseen).IsException() {
				t.Errorf("%s exists after a failed SET", tc.unseen)
			}
			after := f.engine.Snapshot()
			if fmt.Sprint(before.Mediations, before.Streams, before.IPFilters, before.MACFilters) !=
				fmt.Sprint(after.Mediations, after.Streams, after.IPFilters, after.MACFilters) {
				t.Errorf("engine changed by a failed SET:\n%+v\n%+v", before, after)
			}
		})
	}
}

func TestFilterBeforeOrAfterStream(t *testing.T) {
	timeout := dateAndTimeOf(now.Add(time.Hour))
	stream := []agentx.VarBind{vb(stCol(stStatus, 1, 1), i32(4)), vb(stCol(stType, 1, 1), i32(1)), vb(stCol(stInterceptEnable, 1, 1), i32(1))}
	filter := []agentx.VarBind{vb(ipCol(ipStatus, 1, 1), i32(4)), vb(ipCol(ipInterface, 1, 1), i32(0)),
		vb(ipCol(ipDstAddress, 1, 1), oct(198, 18, 0, 0)), vb(ipCol(ipDstLength, 1, 1), gauge(24))}
	for name, order := range map[string][][]agentx.VarBind{
		"filter first": {filter, stream}, "stream first": {stream, filter}, "one PDU": {append(append([]agentx.VarBind{}, filter...), stream...)},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.mustSet(t, seedMD(1, timeout)...)
			for _, pdu := range order {
				f.mustSet(t, pdu...)
			}
			if armed := f.engine.Armed(); len(armed) != 1 || armed[0].IP == nil {
				t.Fatalf("armed %+v, want one IP tap", armed)
			}
			// Now the MD cannot go, but MD and all its rows in one PDU can.
			if err := f.set(vb(mdCol(mdStatus, 1), i32(6))); err == nil || err.Status != agentx.InconsistentValue {
				t.Fatalf("destroy MD with streams: %v", err)
			}
			f.mustSet(t, vb(ipCol(ipStatus, 1, 1), i32(6)), vb(stCol(stStatus, 1, 1), i32(6)), vb(mdCol(mdStatus, 1), i32(6)))
			if st := f.engine.Snapshot(); len(st.Mediations)+len(st.Streams)+len(st.IPFilters) != 0 {
				t.Fatalf("engine still holds %+v", st)
			}
		})
	}
}

func TestNewIndexIsFresh(t *testing.T) {
	f := newFixture(t)
	f.mustSet(t, seedMD(5, dateAndTimeOf(now.Add(time.Hour)))...)
	seen := map[int64]bool{}
	for i := 0; i < 50; i++ {
		v := f.get(tap2Objects.Append(1, 1, 0))
		if v.Type != agentx.TypeInteger || v.Int < 1 || v.Int == 5 || seen[v.Int] {
			t.Fatalf("NewIndex read %d gave %v (seen before: %v)", i, v, seen[v.Int])
		}
		seen[v.Int] = true
	}
}

func TestMediationTimeoutRemovesRowsAndNotifies(t *testing.T) {
	f := newFixture(t)
	f.mustSet(t, seedMD(1, dateAndTimeOf(now.Add(time.Minute)))...)
	f.mustSet(t, seed802(1, 2)...)
	f.mustSet(t, vb(stCol(stStatus, 1, 2), i32(4)), vb(stCol(stType, 1, 2), i32(2)))
	f.clock.Advance(2 * time.Minute)
	select {
	case vbs := <-f.traps.got:
		if len(vbs) != 2 || !vbs[1].Name.Equal(mdCol(mdStatus, 1)) || !vbs[0].Value.OID.Equal(oidNotifMediationTimedOut) {
			t.Fatalf("notification %v", vbs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ciscoTap2MediationTimedOut")
	}
	for _, oid := range []agentx.OID{mdCol(mdStatus, 1), stCol(stStatus, 1, 2), macCol(macStatus, 1, 2)} {
		if v := f.get(oid); v.Type != agentx.TypeNoSuchInstance {
			t.Errorf("%s = %v after the timeout", oid, v)
		}
	}
}

func TestUndoRestoresEngine(t *testing.T) {
	f := newFixture(t)
	svbs := []agent.SetVarBind{}
	for i, v := range seedMD(1, dateAndTimeOf(now.Add(time.Hour))) {
		svbs = append(svbs, agent.SetVarBind{Index: i + 1, VarBind: v})
	}
	tx, serr := f.b.Handler().TestSet(svbs)
	if serr != nil {
		t.Fatal(serr)
	}
	if serr := tx.Commit(); serr != nil {
		t.Fatal(serr)
	}
	if _, ok := f.engine.Mediation(1); !ok {
		t.Fatal("commit did not reach the engine")
	}
	if serr := tx.Undo(); serr != nil {
		t.Fatal(serr)
	}
	if _, ok := f.engine.Mediation(1); ok {
		t.Fatal("undo left the mediation device in the engine")
	}
	if v := f.get(mdCol(mdStatus, 1)); v.Type != agentx.TypeNoSuchInstance {
		t.Fatalf("row after undo: %v", v)
	}
}

func TestDebugUserRowTimesOut(t *testing.T) {
	f := newFixture(t)
	f.mustSet(t, seedMD(1, dateAndTimeOf(now.Add(time.Hour)))...)
	user := []uint32{3, 'm', 'd', '1'}
	col := func(c uint32) agentx.OID { return tap2Objects.Append(append([]uint32{3, 4, 1, c, 1}, user...)...) }
	f.mustSet(t, vb(col(dbgUserStatus), i32(4)), vb(col(dbgUserTimeout), oct(dateAndTimeOf(now.Add(time.Minute))...)))
	if v := f.get(col(dbgUserStorageType)); !v.Equal(i32(2)) {
		t.Fatalf("storage type %v, want volatile(2)", v)
	}
	f.b.expireDebugUsers(now.Add(30 * time.Second))
	if v := f.get(col(dbgUserStatus)); !v.Equal(i32(1)) {
		t.Fatalf("row gone before its timeout: %v", v)
	}
	f.b.expireDebugUsers(now.Add(2 * time.Minute))
	if v := f.get(col(dbgUserStatus)); v.Type != agentx.TypeNoSuchInstance {
		t.Fatalf("row still there after its timeout: %v", v)
	}
	// A debug user row needs its mediation device.
	other := func(c uint32) agentx.OID { return tap2Objects.Append(append([]uint32{3, 4, 1, c, 9}, user...)...) }
	if err := f.set(vb(other(dbgUserStatus), i32(4)), vb(other(dbgUserTimeout), oct(dateAndTimeOf(now.Add(time.Minute))...))); err == nil || err.Status != agentx.InconsistentValue {
		t.Fatalf("debug user row without its MD: %v", err)
	}
}

func (f *fixture) nextTrap(t *testing.T) []agentx.VarBind {
	t.Helper()
	select {
	case vbs := <-f.traps.got:
		return vbs
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	return nil
}

func TestMIBActiveWhenAStreamStartsIntercepting(t *testing.T) {
	f := newFixture(t)
	f.mustSet(t, seedMD(1, dateAndTimeOf(now.Add(time.Hour)))...)
	f.mustSet(t, seed802(1, 2)...)
	f.mustSet(t, vb(stCol(stStatus, 1, 2), i32(4)), vb(stCol(stType, 1, 2), i32(2)), vb(stCol(stInterceptEnable, 1, 2), i32(1)))
	if vbs := f.nextTrap(t); len(vbs) != 1 || !vbs[0].Value.OID.Equal(oidNotifMIBActive) {
		t.Fatalf("notification %v, want ciscoTap2MIBActive", vbs)
	}
}

func TestDebugRowsAndNotifications(t *testing.T) {
	f := newFixture(t)
	f.b.debugMax = 2
	ctx := context.Background()
	f.b.handle(ctx, intercept.Debug{Key: intercept.StreamKey{ContentID: 7}, Message: "md unreachable", NotificationEnable: true})
	vbs := f.nextTrap(t)
	if !vbs[0].Value.OID.Equal(oidNotifMediationDebug) || len(vbs) != 3 || string(vbs[2].Value.Bytes) != "md unreachable" {
		t.Fatalf("mediation debug notification %v", vbs)
	}
	// The row exists when the notification goes out.
	if v := f.get(vbs[2].Name); string(v.Bytes) != "md unreachable" {
		t.Fatalf("debug row message %v", v)
	}
	f.b.handle(ctx, intercept.Debug{Key: intercept.StreamKey{ContentID: 7, Index: 3}, Message: "stream filter not installed", NotificationEnable: true})
	if vbs := f.nextTrap(t); !vbs[0].Value.OID.Equal(oidNotifStreamDebug) || len(vbs) != 4 || vbs[2].Value.Uint != 3 {
		t.Fatalf("stream debug notification %v", vbs)
	}
	f.b.handle(ctx, intercept.Debug{Key: intercept.StreamKey{ContentID: 7}, Message: "third", NotificationEnable: false})
	if n := f.b.group.Len(f.b.debug); n != 2 {
		t.Fatalf("%d debug rows, want cTap2DebugMaxEntries = 2", n)
	}
	if v := f.get(tap2Objects.Append(3, 3, 1, dbgMessage, 1)); v.Type != agentx.TypeNoSuchInstance {
		t.Fatalf("oldest debug row not evicted: %v", v)
	}
	select {
	case vbs := <-f.traps.got:
		t.Fatalf("notification %v although NotificationEnable is false", vbs)
	case <-time.After(50 * time.Millisecond):
	}
	// A manager may destroy a debug row, nothing else.
	f.mustSet(t, vb(tap2Objects.Append(3, 3, 1, dbgStatus, 3), i32(6)))
	if n := f.b.group.Len(f.b.debug); n != 1 {
		t.Fatalf("%d debug rows after destroy, want 1", n)
	}
	if err := f.set(vb(tap2Objects.Append(3, 3, 1, dbgStatus, 2), i32(2))); err == nil || err.Status != agentx.WrongValue {
		t.Fatalf("notInService on a debug row: %v", err)
	}
	f.b.debugAge = time.Minute
	f.b.expireDebugRows(time.Now().Add(2 * time.Minute))
	if n := f.b.group.Len(f.b.debug); n != 0 {
		t.Fatalf("%d debug rows after cTap2DebugAge, want 0", n)
	}
}

func TestSwitchover(t *testing.T) {
	f := newFixture(t)
	f.b.Switchover(context.Background())
	select {
	case vbs := <-f.traps.got:
		t.Fatalf("switchover %v with no mediation device", vbs)
	case <-time.After(50 * time.Millisecond):
	}
	f.mustSet(t, seedMD(1, dateAndTimeOf(now.Add(time.Hour)))...)
	f.b.Switchover(context.Background())
	if vbs := f.nextTrap(t); !vbs[0].Value.OID.Equal(oidNotifSwitchover) {
		t.Fatalf("notification %v, want ciscoTap2Switchover", vbs)
	}
}

func TestCapabilitiesFollowTheDataPlane(t *testing.T) {
	capsOf := func(b *Binding) []string {
		var out []string
		for _, oid := range []agentx.OID{tap2Objects.Append(1, 3, 0), ipTapObjects.Append(1, 1, 0), tap802Objects.Append(1, 1, 0), userConnObjects.Append(1, 1, 0)} {
			out = append(out, fmt.Sprintf("%x", b.Handler().Get(oid).Bytes))
		}
		return out
	}
	provisioning := New(intercept.New(intercept.Options{}), nil, nil)
	if got := fmt.Sprint(capsOf(provisioning)); got != "[20 00 00 00]" {
		t.Errorf("provisioning only: %s, want udp only", got)
	}
	withDataPlane := New(intercept.New(intercept.Options{OnArmed: func() {}}), nil, nil)
	// udp + both source interfaces; IP: all but voip; 802: all seven; no user-connection taps.
	if got := fmt.Sprint(capsOf(withDataPlane)); got != "[e0 fc fe 00]" {
		t.Errorf("with a data plane: %s", got)
	}
}

// TestRowOfATimedOutMediationIsNotRevived: between the engine removing a
// timed-out MD and the binding deleting its rows, a SET on the stale row
// must fail rather than create the MD again in the engine only.
func TestRowOfATimedOutMediationIsNotRevived(t *testing.T) {
	f := newFixture(t)
	f.mustSet(t, seedMD(1, dateAndTimeOf(now.Add(time.Hour)))...)
	// The engine loses the MD behind the binding's back, as a timeout does
	// just before its event is handled.
	if err := f.engine.Apply([]intercept.Change{intercept.DeleteMediation(1)}); err != nil {
		t.Fatal(err)
	}
	err := f.set(vb(mdCol(mdStatus, 1), i32(4)), vb(mdCol(mdTimeout, 1), oct(dateAndTimeOf(now.Add(2*time.Hour))...)))
	if err == nil || err.Status != agentx.InconsistentValue {
		t.Fatalf("SET on the stale row: %v, want inconsistentValue", err)
	}
	if _, ok := f.engine.Mediation(1); ok {
		t.Fatal("the engine holds the timed-out MD again")
	}
}
