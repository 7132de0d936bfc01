package agent

import (
	"errors"
	"testing"

	"tapagent/agent/agentx"
)

var oid = agentx.MustParseOID

// testMux: outer owns 1.3.6.1.4.1.99 except the nested 1.3.6.1.4.1.99.5
// (inner); other owns 1.3.6.1.4.1.200; nothing owns the gap between.
func testMux(t *testing.T) (*Mux, *mapHandler, *mapHandler, *mapHandler) {
	t.Helper()
	outer := newMapHandler([]agentx.OID{oid("1.3.6.1.4.1.99")}, map[string]agentx.Value{
		"1.3.6.1.4.1.99.1.0": agentx.Integer(1),
		"1.3.6.1.4.1.99.5.1": agentx.Integer(-1), // shadowed by inner: never visible
		"1.3.6.1.4.1.99.9.0": agentx.Integer(9),
	})
	inner := newMapHandler([]agentx.OID{oid("1.3.6.1.4.1.99.5")}, map[string]agentx.Value{
		"1.3.6.1.4.1.99.5.2": agentx.Integer(52),
	})
	other := newMapHandler([]agentx.OID{oid("1.3.6.1.4.1.200")}, map[string]agentx.Value{
		"1.3.6.1.4.1.200.1": agentx.Integer(200),
	})
	m := NewMux()
	for _, h := range []*mapHandler{outer, inner, other} {
		if err := m.Handle(h); err != nil {
			t.Fatal(err)
		}
	}
	return m, outer, inner, other
}

func TestMuxGet(t *testing.T) {
	m, _, _, _ := testMux(t)
	tests := []struct {
		oid  string
		want agentx.Value
	}{
		{"1.3.6.1.4.1.99.1.0", agentx.Integer(1)},
		{"1.3.6.1.4.1.99.5.2", agentx.Integer(52)},
		{"1.3.6.1.4.1.99.5.1", agentx.NoSuchInstance()}, // inner owns it, has nothing
		{"1.3.6.1.4.1.99.2", agentx.NoSuchInstance()},
		{"1.3.6.1.4.1.150", agentx.NoSuchObject()}, // gap
		{"1.3.6.1.4.1.99", agentx.NoSuchInstance()},
		{"1.3.6.1.4.1", agentx.NoSuchObject()},
		{"1.3.6.1.4.1.200.1", agentx.Integer(200)},
		{"1.3.6.1.4.1.201", agentx.NoSuchObject()},
	}
	for _, tt := range tests {
		if got := m.Get(oid(tt.oid)); !got.Equal(tt.want) {
			t.Errorf("Get(%s) = %v, want %v", tt.oid, got, tt.want)
		}
	}
}

func TestMuxNext(t *testing.T) {
	m, _, _, _ := testMux(t)
	tests := []struct {
		name    string
		start   string
		include bool
		end     string
		want    string // "" = nothing
	}{
		{"before everything", "1.3", false, "", "1.3.6.1.4.1.99.1.0"},
		{"at subtree root", "1.3.6.1.4.1.99", false, "", "1.3.6.1.4.1.99.1.0"},
		{"include hits exactly", "1.3.6.1.4.1.99.1.0", true, "", "1.3.6.1.4.1.99.1.0"},
		{"exclude skips exact", "1.3.6.1.4.1.99.1.0", false, "", "1.3.6.1.4.1.99.5.2"},
		{"nested shadows outer", "1.3.6.1.4.1.99.4", false, "", "1.3.6.1.4.1.99.5.2"},
		{"after nested back to outer", "1.3.6.1.4.1.99.5.2", false, "", "1.3.6.1.4.1.99.9.0"},
		{"across the gap", "1.3.6.1.4.1.99.9.0", false, "", "1.3.6.1.4.1.200.1"},
		{"start in the gap", "1.3.6.1.4.1.150", true, "", "1.3.6.1.4.1.200.1"},
		{"end bound excludes", "1.3.6.1.4.1.99.9.0", false, "1.3.6.1.4.1.200.1", ""},
		{"end bound just after", "1.3.6.1.4.1.99.9.0", false, "1.3.6.1.4.1.200.1.0", "1.3.6.1.4.1.200.1"},
		{"end equals start", "1.3.6.1.4.1.99.1.0", true, "1.3.6.1.4.1.99.1.0", ""},
		{"end bound before next", "1.3.6.1.4.1.99.1.0", false, "1.3.6.1.4.1.99.5", ""},
		{"past everything", "1.3.6.1.4.1.200.1", false, "", ""},
		{"beyond all subtrees", "1.4", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var end agentx.OID
			if tt.end != "" {
				end = oid(tt.end)
			}
			vb, ok := m.Next(oid(tt.start), tt.include, end)
			switch {
			case tt.want == "" && ok:
				t.Fatalf("got %s, want nothing", vb.Name)
			case tt.want != "" && !ok:
				t.Fatalf("got nothing, want %s", tt.want)
			case ok && vb.Name.String() != tt.want:
				t.Fatalf("got %s, want %s", vb.Name, tt.want)
			}
		})
	}
}

// sloppyHandler ignores its bounds, as a buggy table might.
type sloppyHandler struct{ mapHandler }

func (h *sloppyHandler) Next(start agentx.OID, include bool, end agentx.OID) (agentx.VarBind, bool) {
	return agentx.VarBind{Name: oid("1.3.6.1.4.1.99.100"), Value: agentx.Integer(1)}, true
}

func TestMuxNextRejectsOutOfRangeAnswers(t *testing.T) {
	m := NewMux()
	if err := m.Handle(&sloppyHandler{mapHandler{subtrees: []agentx.OID{oid("1.3.6.1.4.1.99")}}}); err != nil {
		t.Fatal(err)
	}
	if vb, ok := m.Next(oid("1.3.6.1.4.1.99.100"), false, nil); ok {
		t.Fatalf("answer %s not after the start was accepted", vb.Name)
	}
	if vb, ok := m.Next(oid("1.3.6.1.4.1.99"), false, oid("1.3.6.1.4.1.99.50")); ok {
		t.Fatalf("answer %s beyond the end was accepted", vb.Name)
	}
}

func TestMuxHandleErrors(t *testing.T) {
	m := NewMux()
	a := newMapHandler([]agentx.OID{oid("1.3.6.1.4.1.99")}, nil)
	if err := m.Handle(a); err != nil {
		t.Fatal(err)
	}
	dup := newMapHandler([]agentx.OID{oid("1.3.6.1.4.1.98"), oid("1.3.6.1.4.1.99")}, nil)
	if err := m.Handle(dup); !errors.Is(err, ErrDuplicateSubtree) {
		t.Fatalf("duplicate subtree: err = %v", err)
	}
	if m.Route(oid("1.3.6.1.4.1.98.1")) != nil {
		t.Fatal("a refused handler's first subtree was added")
	}
	if err := m.Handle(newMapHandler(nil, nil)); err == nil {
		t.Fatal("handler without subtrees accepted")
	}
	if err := m.Handle(nil); err == nil {
		t.Fatal("nil handler accepted")
	}
}

func TestSubtreeEnd(t *testing.T) {
	tests := []struct {
		in   agentx.OID
		want agentx.OID
	}{
		{oid("1.3.6"), oid("1.3.7")},
		{agentx.OID{1, 4294967295}, oid("2")},
		{agentx.OID{4294967295}, nil},
		{agentx.OID{}, nil},
	}
	for _, tt := range tests {
		if got := subtreeEnd(tt.in); !got.Equal(tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("subtreeEnd(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRecentRequests(t *testing.T) {
	r := newRecentRequests(2)
	k := func(p uint32) requestKey { return requestKey{1, 7, p, agentx.PDUTestSet} }
	steps := []struct {
		key  requestKey
		want bool
	}{
		{k(1), true}, {k(1), false}, // resend
		{requestKey{1, 7, 1, agentx.PDUCommitSet}, true}, // other type: new
		{k(2), true}, // evicts k(1)
		{k(1), true},
		{k(2), false},
	}
	for i, s := range steps {
		if got := r.firstTime(s.key); got != s.want {
			t.Fatalf("step %d: firstTime(%+v) = %v, want %v", i, s.key, got, s.want)
		}
	}
}
