package agentx

import (
	"encoding/binary"
	"fmt"
)

// Decode parses one frame (header+payload) into a PDU. Every multi-byte field
// is read in the byte order FlagNetworkByteOrder selects. Malformed input
// returns an error wrapping ErrParse; Decode never panics and allocates at
// most a small multiple of len(frame).
//
// The PDU does not alias frame. Empty OIDs, octet strings and lists decode
// as nil, except Context, which is non-nil (possibly empty) exactly when
// FlagNonDefaultContext is set. Reserved bytes and the include byte of OIDs
// that have no include semantics (names, values, end OIDs, subtrees) are
// ignored, as RFC 2741 asks of receivers.
func Decode(frame []byte) (*PDU, error) {
	h, err := DecodeHeader(frame)
	if err != nil {
		return nil, err
	}
	payload := frame[HeaderSize:]
	if uint64(len(payload)) != uint64(h.PayloadLength) {
		return nil, parseErrorf("decode %s: payload length field %d but %d payload bytes",
			h.Type, h.PayloadLength, len(payload))
	}
	p := &PDU{Header: h}
	d := decoder{b: payload, big: h.Flags&FlagNetworkByteOrder != 0}
	if err := d.pdu(p); err != nil {
		return nil, fmt.Errorf("decode %s: %w", h.Type, err)
	}
	if len(d.b) != 0 {
		return nil, parseErrorf("decode %s: %d trailing bytes", h.Type, len(d.b))
	}
	return p, nil
}

// decoder walks a payload; every read checks the remaining length first.
type decoder struct {
	b   []byte // unread part of the payload
	big bool   // FlagNetworkByteOrder
	// Slabs the decoded OIDs and octet strings are carved from, so a PDU
	// costs a handful of allocations instead of one per field.
	subs []uint32
	octs []byte
}

func (d *decoder) pdu(p *PDU) error {
	if p.Flags&FlagNonDefaultContext != 0 {
		if !p.Type.CarriesContext() {
			return parseErrorf("NON_DEFAULT_CONTEXT flag on a PDU type without a context field")
		}
		ctx, err := d.octets("context")
		if err != nil {
			return err
		}
		if ctx == nil {
			ctx = []byte{}
		}
		p.Context = ctx
	}

	var err error
	switch p.Type {
	case PDUOpen:
		var w [4]byte // o.timeout, 3 reserved
		if w, err = d.word("open timeout"); err != nil {
			return err
		}
		p.Timeout = w[0]
		if p.ID, _, err = d.oid("open id"); err != nil {
			return err
		}
		p.Descr, err = d.octets("open description")
	case PDUClose:
		var w [4]byte // c.reason, 3 reserved
		if w, err = d.word("close reason"); err != nil {
			return err
		}
		p.Reason = CloseReason(w[0])
	case PDURegister, PDUUnregister:
		err = d.registration(p)
	case PDUGetBulk:
		if p.NonRepeaters, err = d.u16("non_repeaters"); err != nil {
			return err
		}
		if p.MaxRepetitions, err = d.u16("max_repetitions"); err != nil {
			return err
		}
		p.Ranges, err = d.searchRanges()
	case PDUGet, PDUGetNext:
		p.Ranges, err = d.searchRanges()
	case PDUTestSet, PDUNotify, PDUIndexAllocate, PDUIndexDeallocate:
		p.VarBinds, err = d.varBinds()
	case PDUCommitSet, PDUUndoSet, PDUCleanupSet, PDUPing:
		// No payload beyond the optional context.
	case PDUAddAgentCaps:
		if p.ID, _, err = d.oid("agent caps id"); err != nil {
			return err
		}
		p.Descr, err = d.octets("agent caps description")
	case PDURemoveAgentCaps:
		p.ID, _, err = d.oid("agent caps id")
	case PDUResponse:
		if p.SysUpTime, err = d.u32("sysUpTime"); err != nil {
			return err
		}
		var v uint16
		if v, err = d.u16("error"); err != nil {
			return err
		}
		p.Error = ErrorStatus(v)
		if p.Index, err = d.u16("index"); err != nil {
			return err
		}
		p.VarBinds, err = d.varBinds()
	default:
		err = parseErrorf("unknown PDU type %d", uint8(p.Type))
	}
	return err
}

// registration reads the body shared by Register and Unregister.
func (d *decoder) registration(p *PDU) error {
	w, err := d.word("registration header")
	if err != nil {
		return err
	}
	// w[0] is r.timeout for Register and reserved for Unregister; w[3] is reserved.
	if p.Type == PDURegister {
		p.Timeout = w[0]
	}
	p.Priority, p.RangeSubID = w[1], w[2]
	if p.Subtree, _, err = d.oid("subtree"); err != nil {
		return err
	}
	if p.RangeSubID == 0 {
		return nil
	}
	// range_subid counts sub-identifiers of the expanded subtree, from 1.
	if int(p.RangeSubID) > len(p.Subtree) {
		return parseErrorf("range_subid %d beyond the %d sub-identifiers of the subtree",
			p.RangeSubID, len(p.Subtree))
	}
	p.UpperBound, err = d.u32("upper_bound")
	return err
}

func (d *decoder) searchRanges() ([]SearchRange, error) {
	var rs []SearchRange
	for i := 1; len(d.b) > 0; i++ {
		var r SearchRange
		var err error
		if r.Start, r.Include, err = d.oid("start"); err != nil {
			return nil, fmt.Errorf("search range %d: %w", i, err)
		}
		if r.End, _, err = d.oid("end"); err != nil {
			return nil, fmt.Errorf("search range %d: %w", i, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (d *decoder) varBinds() ([]VarBind, error) {
	var vbs []VarBind
	for i := 1; len(d.b) > 0; i++ {
		vb, err := d.varBind()
		if err != nil {
			return nil, fmt.Errorf("varbind %d: %w", i, err)
		}
		vbs = append(vbs, vb)
	}
	return vbs, nil
}

func (d *decoder) varBind() (VarBind, error) {
	t, err := d.u16("type")
	if err != nil {
		return VarBind{}, err
	}
	if _, err := d.u16("reserved"); err != nil {
		return VarBind{}, err
	}
	vt := VarType(t)
	if !vt.Known() {
		return VarBind{}, parseErrorf("unknown value type %d", t)
	}
	vb := VarBind{Value: Value{Type: vt}}
	if vb.Name, _, err = d.oid("name"); err != nil {
		return VarBind{}, err
	}
	v := &vb.Value
	switch vt {
	case TypeInteger:
		var u uint32
		u, err = d.u32("Integer")
		v.Int = int64(int32(u))
	case TypeCounter32, TypeGauge32, TypeTimeTicks:
		var u uint32
		u, err = d.u32(vt.String())
		v.Uint = uint64(u)
	case TypeCounter64:
		v.Uint, err = d.u64("Counter64")
	case TypeOctetString, TypeOpaque, TypeIPAddress:
		// An IpAddress of another length than 4 is accepted here and left to
		// the SNMP layer (wrongLength): a bad SET value must not kill the session.
		v.Bytes, err = d.octets(vt.String())
	case TypeObjectIdentifier:
		v.OID, _, err = d.oid("ObjectIdentifier value")
	case TypeNull, TypeNoSuchObject, TypeNoSuchInstance, TypeEndOfMibView:
		// No data.
	}
	if err != nil {
		return VarBind{}, err
	}
	return vb, nil
}

// need checks that n more bytes are left.
func (d *decoder) need(n int, what string) error {
	if len(d.b) < n {
		return d.truncated(n, what, "")
	}
	return nil
}

// truncated builds the error for a field (what+part) that needs n bytes.
// Callers pass the parts separately so that no string is built unless the
// input is actually short.
func (d *decoder) truncated(n int, what, part string) error {
	return parseErrorf("%s%s truncated: need %d bytes, %d left", what, part, n, len(d.b))
}

// word reads four raw octets (fields made of single bytes and reserved bytes).
func (d *decoder) word(what string) ([4]byte, error) {
	var w [4]byte
	if err := d.need(4, what); err != nil {
		return w, err
	}
	copy(w[:], d.b)
	d.b = d.b[4:]
	return w, nil
}

func (d *decoder) u16(what string) (uint16, error) {
	if err := d.need(2, what); err != nil {
		return 0, err
	}
	var v uint16
	if d.big {
		v = binary.BigEndian.Uint16(d.b)
	} else {
		v = binary.LittleEndian.Uint16(d.b)
	}
	d.b = d.b[2:]
	return v, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	if err := d.need(4, what); err != nil {
		return 0, err
	}
	v := d.get32(d.b)
	d.b = d.b[4:]
	return v, nil
}

func (d *decoder) u64(what string) (uint64, error) {
	if err := d.need(8, what); err != nil {
		return 0, err
	}
	var v uint64
	if d.big {
		v = binary.BigEndian.Uint64(d.b)
	} else {
		v = binary.LittleEndian.Uint64(d.b)
	}
	d.b = d.b[8:]
	return v, nil
}

func (d *decoder) get32(b []byte) uint32 {
	if d.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// oid reads an encoded Object Identifier (RFC 2741 §5.1) and its include byte.
// The null OID (n_subid 0, prefix 0) decodes as nil.
func (d *decoder) oid(what string) (OID, bool, error) {
	if len(d.b) < 4 {
		return nil, false, d.truncated(4, what, " OID header")
	}
	n, prefix, include := int(d.b[0]), d.b[1], d.b[2] != 0
	total := n
	if prefix != 0 {
		total += len(internetPrefix) + 1
	}
	if total > MaxSubIDs {
		return nil, false, parseErrorf("%s OID has %d sub-identifiers (n_subid %d, prefix %d), over %d",
			what, total, n, prefix, MaxSubIDs)
	}
	if len(d.b) < 4+4*n {
		return nil, false, d.truncated(4+4*n, what, " OID")
	}
	body := d.b[4 : 4+4*n]
	d.b = d.b[4+4*n:]
	if total == 0 {
		return nil, include, nil
	}
	o := d.allocOID(total)
	i := 0
	if prefix != 0 {
		i = copy(o, internetPrefix[:])
		o[i] = uint32(prefix)
		i++
	}
	for j := 0; j < n; j++ {
		o[i+j] = d.get32(body[4*j:])
	}
	return o, include, nil
}

// allocOID carves an n-sub-identifier OID out of the slab. The slab is sized
// from the bytes still unread, so its total size stays proportional to the
// frame; the capacity of the result is clipped so that appending to one
// decoded OID can never overwrite the next.
func (d *decoder) allocOID(n int) OID {
	if cap(d.subs)-len(d.subs) < n {
		d.subs = make([]uint32, 0, n+len(d.b)/4+2*(len(internetPrefix)+1))
	}
	start := len(d.subs)
	d.subs = d.subs[:start+n]
	return OID(d.subs[start : start+n : start+n])
}

// octets reads an Octet String (RFC 2741 §5.3): a 4-byte length, the octets,
// and padding to a multiple of 4. An empty string decodes as nil.
func (d *decoder) octets(what string) ([]byte, error) {
	if len(d.b) < 4 {
		return nil, d.truncated(4, what, " length")
	}
	l := uint64(d.get32(d.b))
	d.b = d.b[4:]
	padded := (l + 3) &^ 3
	if padded > uint64(len(d.b)) {
		return nil, parseErrorf("%s truncated: length %d needs %d bytes with padding, %d left",
			what, l, padded, len(d.b))
	}
	data := d.b[:l]
	d.b = d.b[padded:]
	if l == 0 {
		return nil, nil
	}
	if cap(d.octs)-len(d.octs) < len(data) {
		// Every later string fits too: none can be longer than what is left.
		d.octs = make([]byte, 0, len(data)+len(d.b))
	}
	start := len(d.octs)
	d.octs = append(d.octs, data...)
	return d.octs[start:len(d.octs):len(d.octs)], nil
}
