package minimal

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"tapagent/agent/agentx"
)

var tree = agentx.MustParseOID("1.3.6.1.4.1.9.9.397")

// master plays snmpd's side of the session over a pipe.
type master struct {
	t    *testing.T
	conn net.Conn
	in   *bufio.Reader
}

func (m *master) send(p *agentx.PDU) {
	m.t.Helper()
	b, err := agentx.Encode(nil, p)
	if err != nil {
		m.t.Fatalf("encode %s: %v", p.Type, err)
	}
	if _, err := m.conn.Write(b); err != nil {
		m.t.Fatalf("write %s: %v", p.Type, err)
	}
}

func (m *master) recv() *agentx.PDU {
	m.t.Helper()
	if err := m.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		m.t.Fatal(err)
	}
	frame, err := agentx.ReadFrame(m.in, nil, 1<<20)
	if err != nil {
		m.t.Fatalf("read: %v", err)
	}
	p, err := agentx.Decode(frame)
	if err != nil {
		m.t.Fatalf("decode: %v", err)
	}
	return p
}

// answer replies to the responder's own request p.
func (m *master) answer(p *agentx.PDU, session uint32, status agentx.ErrorStatus) {
	m.t.Helper()
	m.send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUResponse, SessionID: session, PacketID: p.PacketID}, Error: status})
}

// start opens a responder serving a 3 × 2 table and returns the master
// side; Serve runs until the test ends.
func start(t *testing.T) *master {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	m := &master{t: t, conn: b, in: bufio.NewReader(b)}
	type opened struct {
		r   *Responder
		err error
	}
	got := make(chan opened, 1)
	go func() {
		r, err := Open(a, tree, Table(tree, 3, 2))
		got <- opened{r, err}
	}()
	open := m.recv()
	if open.Type != agentx.PDUOpen {
		t.Fatalf("first PDU %s, want Open", open.Type)
	}
	m.answer(open, 42, agentx.NoError)
	reg := m.recv()
	if reg.Type != agentx.PDURegister || reg.SessionID != 42 || !reg.Subtree.Equal(tree) {
		t.Fatalf("second PDU %s session %d subtree %s, want Register of %s in session 42", reg.Type, reg.SessionID, reg.Subtree, tree)
	}
	m.answer(reg, 42, agentx.NoError)
	o := <-got
	if o.err != nil {
		t.Fatal(o.err)
	}
	served := make(chan error, 1)
	go func() { served <- o.r.Serve() }()
	t.Cleanup(func() {
		o.r.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return m
}

func cell(col, row uint32) agentx.OID { return tree.Append(1, col, row) }

func TestResponderAnswers(t *testing.T) {
	m := start(t)
	rng := func(start agentx.OID, include bool, end agentx.OID) agentx.SearchRange {
		return agentx.SearchRange{Start: start, Include: include, End: end}
	}
	tests := []struct {
		name   string
		req    agentx.PDU
		want   []agentx.VarBind
		status agentx.ErrorStatus
		index  uint16
	}{
		{name: "get two cells and a missing one",
			req: agentx.PDU{Header: agentx.Header{Type: agentx.PDUGet}, Ranges: []agentx.SearchRange{
				rng(cell(1, 2), false, nil), rng(cell(2, 1), false, nil), rng(cell(4, 1), false, nil)}},
			want: []agentx.VarBind{{Name: cell(1, 2), Value: agentx.Integer(2)},
				{Name: cell(2, 1), Value: agentx.OctetString([]byte("c2-r1"))},
				{Name: cell(4, 1), Value: agentx.NoSuchObject()}}},
		{name: "getnext from the subtree root and across columns",
			req: agentx.PDU{Header: agentx.Header{Type: agentx.PDUGetNext}, Ranges: []agentx.SearchRange{
				rng(tree, false, nil), rng(cell(1, 2), false, nil)}},
			want: []agentx.VarBind{{Name: cell(1, 1), Value: agentx.Integer(1)},
				{Name: cell(2, 1), Value: agentx.OctetString([]byte("c2-r1"))}}},
		{name: "getnext include returns the start itself",
			req: agentx.PDU{Header: agentx.Header{Type: agentx.PDUGetNext}, Ranges: []agentx.SearchRange{
				rng(cell(3, 2), true, nil)}},
			want: []agentx.VarBind{{Name: cell(3, 2), Value: agentx.Integer(2)}}},
		{name: "getnext stops at the end of the range and of the data",
			req: agentx.PDU{Header: agentx.Header{Type: agentx.PDUGetNext}, Ranges: []agentx.SearchRange{
				rng(cell(1, 2), false, cell(2, 1)), rng(cell(3, 2), false, nil)}},
			want: []agentx.VarBind{{Name: cell(1, 2), Value: agentx.EndOfMibView()},
				{Name: cell(3, 2), Value: agentx.EndOfMibView()}}},
		{name: "big-endian request gets a big-endian answer",
			req: agentx.PDU{Header: agentx.Header{Type: agentx.PDUGet, Flags: agentx.FlagNetworkByteOrder},
				Ranges: []agentx.SearchRange{rng(cell(3, 1), false, nil)}},
			want: []agentx.VarBind{{Name: cell(3, 1), Value: agentx.Integer(1)}}},
		{name: "testset is refused", req: agentx.PDU{Header: agentx.Header{Type: agentx.PDUTestSet},
			VarBinds: []agentx.VarBind{{Name: cell(1, 1), Value: agentx.Integer(5)}}},
			status: agentx.NotWritable, index: 1},
		{name: "getbulk is not part of the baseline",
			req:    agentx.PDU{Header: agentx.Header{Type: agentx.PDUGetBulk}, MaxRepetitions: 2, Ranges: []agentx.SearchRange{rng(tree, false, nil)}},
			status: agentx.ProcessingError},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m.t = t
			req := tc.req
			req.SessionID, req.TransactionID, req.PacketID = 42, uint32(100+i), uint32(200+i)
			m.send(&req)
			resp := m.recv()
			if resp.Type != agentx.PDUResponse || resp.SessionID != 42 || resp.TransactionID != req.TransactionID || resp.PacketID != req.PacketID {
				t.Fatalf("answer %s session %d tx %d packet %d, want a Response to session 42 tx %d packet %d",
					resp.Type, resp.SessionID, resp.TransactionID, resp.PacketID, req.TransactionID, req.PacketID)
			}
			if got, want := resp.Flags&agentx.FlagNetworkByteOrder, req.Flags&agentx.FlagNetworkByteOrder; got != want {
				t.Errorf("byte order flag %v, want %v", got, want)
			}
			if resp.Error != tc.status || resp.Index != tc.index {
				t.Errorf("error %s index %d, want %s index %d", resp.Error, resp.Index, tc.status, tc.index)
			}
			if len(resp.VarBinds) != len(tc.want) {
				t.Fatalf("varbinds %v, want %v", resp.VarBinds, tc.want)
			}
			for j, vb := range resp.VarBinds {
				if !vb.Name.Equal(tc.want[j].Name) || !vb.Value.Equal(tc.want[j].Value) {
					t.Errorf("varbind %d = %s %v, want %s %v", j, vb.Name, vb.Value, tc.want[j].Name, tc.want[j].Value)
				}
			}
		})
	}
}

func TestCleanupSetHasNoAnswer(t *testing.T) {
	m := start(t)
	m.send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUCleanupSet, SessionID: 42, PacketID: 7}})
	m.send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUGet, SessionID: 42, PacketID: 8},
		Ranges: []agentx.SearchRange{{Start: cell(1, 1)}}})
	if resp := m.recv(); resp.PacketID != 8 {
		t.Fatalf("first answer is to packet %d, want 8 (CleanupSet is not answered)", resp.PacketID)
	}
}

func TestCloseFromMasterEndsServe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	m := &master{t: t, conn: b, in: bufio.NewReader(b)}
	got := make(chan *Responder, 1)
	go func() {
		r, err := Open(a, tree, nil)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	m.answer(m.recv(), 1, agentx.NoError)
	m.answer(m.recv(), 1, agentx.NoError)
	r := <-got
	served := make(chan error, 1)
	go func() { served <- r.Serve() }()
	m.send(&agentx.PDU{Header: agentx.Header{Type: agentx.PDUClose, SessionID: 1}, Reason: agentx.ReasonShutdown})
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after the master's Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the master's Close")
	}
}

func TestOpenFailures(t *testing.T) {
	tests := []struct {
		name    string
		values  []agentx.VarBind
		refuse  agentx.PDUType // the request the master refuses, 0 = none reached
		wantErr string
	}{
		{name: "value outside the subtree", values: []agentx.VarBind{{Name: agentx.MustParseOID("1.3.6.1.2.1.1.1.0"), Value: agentx.Null()}},
			wantErr: "outside the subtree"},
		{name: "open refused", refuse: agentx.PDUOpen, wantErr: "open: master answered openFailed"},
		{name: "register refused", refuse: agentx.PDURegister, wantErr: "register 1.3.6.1.4.1.9.9.397: master answered duplicateRegistration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			errc := make(chan error, 1)
			go func() {
				_, err := Open(a, tree, tc.values)
				errc <- err
			}()
			if tc.refuse != 0 {
				m := &master{t: t, conn: b, in: bufio.NewReader(b)}
				for {
					p := m.recv()
					if p.Type == tc.refuse {
						status := agentx.OpenFailed
						if p.Type == agentx.PDURegister {
							status = agentx.DuplicateRegistration
						}
						m.answer(p, 1, status)
						break
					}
					m.answer(p, 1, agentx.NoError)
				}
			}
			err := <-errc
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Open error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
