package minimal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"tapagent/agent/agentx"
)

// maxPayload bounds one PDU from the master, as the real session does.
const maxPayload = 1 << 20

// setupTimeout bounds the Open and Register exchanges.
const setupTimeout = 5 * time.Second

// Responder serves one registered subtree from a fixed set of values.
type Responder struct {
	conn    net.Conn
	in      *bufio.Reader
	subtree agentx.OID
	values  map[string]agentx.Value // by key(name)
	names   []agentx.OID            // sorted, for GetNext
	session uint32
	closed  atomic.Bool

	frame []byte // read buffer, reused
	out   []byte // write buffer, reused
	kbuf  []byte // map key scratch, reused
}

// Dial connects to the master at address ("unix:/path", "/path" or
// "tcp:host:port") and calls Open.
func Dial(address string, subtree agentx.OID, vbs []agentx.VarBind) (*Responder, error) {
	network, addr := "unix", strings.TrimPrefix(address, "unix:")
	if rest, ok := strings.CutPrefix(address, "tcp:"); ok {
		network, addr = "tcp", rest
	}
	conn, err := net.DialTimeout(network, addr, setupTimeout)
	if err != nil {
		return nil, fmt.Errorf("minimal responder: connect to %s: %w", address, err)
	}
	r, err := Open(conn, subtree, vbs)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return r, nil
}

// Open opens an AgentX session on conn, registers subtree and returns the
// responder; call Serve to answer the master. vbs are the values served;
// names outside subtree are refused.
func Open(conn net.Conn, subtree agentx.OID, vbs []agentx.VarBind) (*Responder, error) {
	r := &Responder{
		conn:    conn,
		in:      bufio.NewReaderSize(conn, 16<<10),
		subtree: subtree.Clone(),
		values:  make(map[string]agentx.Value, len(vbs)),
		names:   make([]agentx.OID, 0, len(vbs)),
	}
	for _, vb := range vbs {
		if !vb.Name.HasPrefix(subtree) {
			return nil, fmt.Errorf("minimal responder: %s is outside the subtree %s", vb.Name, subtree)
		}
		k := string(r.key(vb.Name))
		if _, dup := r.values[k]; !dup {
			r.names = append(r.names, vb.Name.Clone())
		}
		r.values[k] = vb.Value.Clone()
	}
	sort.Slice(r.names, func(i, j int) bool { return r.names[i].Compare(r.names[j]) < 0 })

	if err := conn.SetDeadline(time.Now().Add(setupTimeout)); err != nil {
		return nil, fmt.Errorf("minimal responder: %w", err)
	}
	open, err := r.request(&agentx.PDU{
		Header: agentx.Header{Type: agentx.PDUOpen, PacketID: 1},
		Descr:  []byte("tapagent bench: minimal AgentX responder"),
	})
	if err != nil {
		return nil, fmt.Errorf("minimal responder: open: %w", err)
	}
	r.session = open.SessionID
	if _, err := r.request(&agentx.PDU{
		Header:   agentx.Header{Type: agentx.PDURegister, SessionID: r.session, PacketID: 2},
		Priority: 127,
		Subtree:  r.subtree,
	}); err != nil {
		return nil, fmt.Errorf("minimal responder: register %s: %w", subtree, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("minimal responder: %w", err)
	}
	return r, nil
}

// request sends one of our own PDUs and waits for its answer. It is only
// used before Serve, when nothing else arrives.
func (r *Responder) request(p *agentx.PDU) (*agentx.PDU, error) {
	if err := r.write(p); err != nil {
		return nil, err
	}
	frame, err := agentx.ReadFrame(r.in, r.frame, maxPayload)
	if err != nil {
		return nil, err
	}
	r.frame = frame
	resp, err := agentx.Decode(frame)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Type != agentx.PDUResponse || resp.PacketID != p.PacketID:
		return nil, fmt.Errorf("want the response to packet %d, got %s packet %d", p.PacketID, resp.Type, resp.PacketID)
	case resp.Error != agentx.NoError:
		return nil, fmt.Errorf("master answered %s", resp.Error)
	}
	return resp, nil
}

func (r *Responder) write(p *agentx.PDU) error {
	out, err := agentx.Encode(r.out[:0], p)
	if err != nil {
		return err
	}
	r.out = out
	if _, err := r.conn.Write(out); err != nil {
		return fmt.Errorf("write %s: %w", p.Type, err)
	}
	return nil
}

// Serve answers the master until it sends Close (nil), Close is called
// (nil) or the connection fails (the error).
func (r *Responder) Serve() error {
	for {
		frame, err := agentx.ReadFrame(r.in, r.frame, maxPayload)
		if err != nil {
			if r.closed.Load() {
				return nil
			}
			return fmt.Errorf("minimal responder: %w", err)
		}
		r.frame = frame
		req, err := agentx.Decode(frame)
		if err != nil {
			return fmt.Errorf("minimal responder: %w", err)
		}
		if req.Type == agentx.PDUClose {
			return nil
		}
		resp := r.answer(req)
		if resp == nil {
			continue
		}
		if err := r.write(resp); err != nil {
			if r.closed.Load() {
				return nil
			}
			return fmt.Errorf("minimal responder: %w", err)
		}
	}
}

// Close ends the session by closing the connection; the master unregisters
// the subtree when it sees the socket close.
func (r *Responder) Close() error {
	r.closed.Store(true)
	return r.conn.Close()
}

// answer builds the response to one request, nil when none is due.
func (r *Responder) answer(req *agentx.PDU) *agentx.PDU {
	resp := &agentx.PDU{Header: agentx.Header{
		Type:          agentx.PDUResponse,
		Flags:         req.Flags & agentx.FlagNetworkByteOrder, // mirror the master's byte order
		SessionID:     req.SessionID,
		TransactionID: req.TransactionID,
		PacketID:      req.PacketID,
	}}
	switch req.Type {
	case agentx.PDUGet:
		resp.VarBinds = make([]agentx.VarBind, len(req.Ranges))
		for i, rg := range req.Ranges {
			resp.VarBinds[i] = r.get(rg.Start)
		}
	case agentx.PDUGetNext:
		resp.VarBinds = make([]agentx.VarBind, len(req.Ranges))
		for i, rg := range req.Ranges {
			resp.VarBinds[i] = r.next(rg)
		}
	case agentx.PDUTestSet:
		// Read-only values: refuse the first varbind.
		resp.Error, resp.Index = agentx.NotWritable, 1
	case agentx.PDUCleanupSet:
		return nil // snmpd expects no answer
	case agentx.PDUPing:
	default:
		// GetBulk (snmpd sends repetitions as GetNext), CommitSet, UndoSet
		// after a refused TestSet: not part of this baseline.
		resp.Error = agentx.ProcessingError
	}
	return resp
}

func (r *Responder) get(name agentx.OID) agentx.VarBind {
	if v, ok := r.values[string(r.key(name))]; ok {
		return agentx.VarBind{Name: name, Value: v}
	}
	return agentx.VarBind{Name: name, Value: agentx.NoSuchObject()}
}

// next returns the first name after rg.Start (or at it when Include) and
// before rg.End, or endOfMibView at rg.Start.
func (r *Responder) next(rg agentx.SearchRange) agentx.VarBind {
	i := sort.Search(len(r.names), func(i int) bool {
		c := r.names[i].Compare(rg.Start)
		return c > 0 || (c == 0 && rg.Include)
	})
	if i < len(r.names) && (len(rg.End) == 0 || r.names[i].Compare(rg.End) < 0) {
		name := r.names[i]
		return agentx.VarBind{Name: name, Value: r.values[string(r.key(name))]}
	}
	return agentx.VarBind{Name: rg.Start, Value: agentx.EndOfMibView()}
}

// key is the map key of an OID: its sub-identifiers as bytes, in scratch
// space (the string conversion in a map index does not allocate).
func (r *Responder) key(o agentx.OID) []byte {
	r.kbuf = r.kbuf[:0]
	for _, v := range o {
		r.kbuf = binary.LittleEndian.AppendUint32(r.kbuf, v)
	}
	return r.kbuf
}

// Table returns the cells of a conceptual table with cols columns and rows
// rows under subtree, entry subtree.1: subtree.1.col.row = Cell(col, row).
func Table(subtree agentx.OID, cols, rows int) []agentx.VarBind {
	vbs := make([]agentx.VarBind, 0, cols*rows)
	for c := 1; c <= cols; c++ {
		for i := 1; i <= rows; i++ {
			vbs = append(vbs, agentx.VarBind{Name: subtree.Append(1, uint32(c), uint32(i)), Value: Cell(c, i)})
		}
	}
	return vbs
}

// Cell is the value Table puts at column col, row row: odd columns are
// Integer (the row number), even columns an OctetString naming the cell.
func Cell(col, row int) agentx.Value {
	if col%2 == 1 {
		return agentx.Integer(int32(row))
	}
	return agentx.OctetString([]byte(fmt.Sprintf("c%d-r%d", col, row)))
}
