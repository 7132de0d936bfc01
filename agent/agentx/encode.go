package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// errIPAddressLength reports an IpAddress value that is not 4 octets long.
// Decode accepts such values (the SNMP layer answers wrongLength), Encode
// refuses to produce them.
var errIPAddressLength = errors.New("IpAddress must be 4 octets")

// Encode appends the encoded PDU to dst, in the byte order of
// p.Flags&FlagNetworkByteOrder, computing PayloadLength itself (the field in
// p is ignored, and p is not modified). Version must be 0 or 1; 1 is written.
//
// A context is written, and FlagNonDefaultContext set, when p.Context is
// non-nil or the flag is already set; for a PDU type that may not carry one
// (Open, Close, CommitSet, UndoSet, CleanupSet, Response) that is an error.
// Other errors: unknown PDU or value type, an OID over MaxSubIDs
// sub-identifiers, an Integer outside int32, a Counter32/Gauge32/TimeTicks
// over uint32, an IpAddress not 4 octets long, RangeSubID beyond the subtree
// (or UpperBound without RangeSubID), VarBinds or Ranges on a PDU type that
// has none. On error dst is returned with its original length.
func Encode(dst []byte, p *PDU) ([]byte, error) {
	if p == nil {
		return dst, errors.New("encode AgentX PDU: nil PDU")
	}
	out, err := encode(dst, p)
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", p.Type, err)
	}
	return out, nil
}

func encode(dst []byte, p *PDU) ([]byte, error) {
	if p.Version != 0 && p.Version != Version {
		return nil, fmt.Errorf("version %d, only %d exists", p.Version, Version)
	}
	if !p.Type.Valid() {
		return nil, fmt.Errorf("unknown PDU type %d", uint8(p.Type))
	}
	flags := p.Flags
	withContext := flags&FlagNonDefaultContext != 0 || p.Context != nil
	if withContext {
		if !p.Type.CarriesContext() {
			return nil, errors.New("this PDU type may not carry a context")
		}
		flags |= FlagNonDefaultContext
	}
	if len(p.VarBinds) > 0 && !carriesVarBinds(p.Type) {
		return nil, errors.New("this PDU type carries no varbinds")
	}
	if len(p.Ranges) > 0 && !carriesRanges(p.Type) {
		return nil, errors.New("this PDU type carries no search ranges")
	}

	start := len(dst)
	e := encoder{b: dst, big: flags&FlagNetworkByteOrder != 0}
	e.b = append(e.b, Version, byte(p.Type), byte(flags), 0)
	e.u32(p.SessionID)
	e.u32(p.TransactionID)
	e.u32(p.PacketID)
	e.u32(0) // payload_length, patched below
	if withContext {
		if err := e.octets(p.Context); err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
	}
	if err := e.body(p); err != nil {
		return nil, err
	}
	n := len(e.b) - start - HeaderSize
	if uint64(n) > math.MaxUint32 {
		return nil, fmt.Errorf("payload of %d bytes does not fit the length field", n)
	}
	e.put32(e.b[start+16:], uint32(n))
	return e.b, nil
}

func carriesVarBinds(t PDUType) bool {
	switch t {
	case PDUTestSet, PDUNotify, PDUIndexAllocate, PDUIndexDeallocate, PDUResponse:
		return true
	}
	return false
}

func carriesRanges(t PDUType) bool {
	return t == PDUGet || t == PDUGetNext || t == PDUGetBulk
}

// encoder appends fields to b in the PDU's byte order.
type encoder struct {
	b   []byte
	big bool // FlagNetworkByteOrder
}

func (e *encoder) body(p *PDU) error {
	switch p.Type {
	case PDUOpen:
		e.b = append(e.b, p.Timeout, 0, 0, 0)
		if err := e.oid(p.ID, false); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		return e.octets(p.Descr)
	case PDUClose:
		e.b = append(e.b, byte(p.Reason), 0, 0, 0)
	case PDURegister, PDUUnregister:
		return e.registration(p)
	case PDUGetBulk:
		e.u16(p.NonRepeaters)
		e.u16(p.MaxRepetitions)
		return e.searchRanges(p.Ranges)
	case PDUGet, PDUGetNext:
		return e.searchRanges(p.Ranges)
	case PDUTestSet, PDUNotify, PDUIndexAllocate, PDUIndexDeallocate:
		return e.varBinds(p.VarBinds)
	case PDUCommitSet, PDUUndoSet, PDUCleanupSet, PDUPing:
		// Header (and context) only.
	case PDUAddAgentCaps:
		if err := e.oid(p.ID, false); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		return e.octets(p.Descr)
	case PDURemoveAgentCaps:
		if err := e.oid(p.ID, false); err != nil {
			return fmt.Errorf("id: %w", err)
		}
	case PDUResponse:
		e.u32(p.SysUpTime)
		e.u16(uint16(p.Error))
		e.u16(p.Index)
		return e.varBinds(p.VarBinds)
	}
	return nil
}

func (e *encoder) registration(p *PDU) error {
	if int(p.RangeSubID) > len(p.Subtree) {
		return fmt.Errorf("range_subid %d beyond the %d sub-identifiers of the subtree",
			p.RangeSubID, len(p.Subtree))
	}
	if p.RangeSubID == 0 && p.UpperBound != 0 {
		return errors.New("upper_bound set without range_subid")
	}
	timeout := p.Timeout
	if p.Type == PDUUnregister {
		timeout = 0 // reserved in an Unregister
	}
	e.b = append(e.b, timeout, p.Priority, p.RangeSubID, 0)
	if err := e.oid(p.Subtree, false); err != nil {
		return fmt.Errorf("subtree: %w", err)
	}
	if p.RangeSubID != 0 {
		e.u32(p.UpperBound)
	}
	return nil
}

func (e *encoder) searchRanges(rs []SearchRange) error {
	for i, r := range rs {
		if err := e.oid(r.Start, r.Include); err != nil {
			return fmt.Errorf("search range %d start: %w", i+1, err)
		}
		// RFC 2741 §5.2: the include byte of the end OID is always 0.
		if err := e.oid(r.End, false); err != nil {
			return fmt.Errorf("search range %d end: %w", i+1, err)
		}
	}
	return nil
}

func (e *encoder) varBinds(vbs []VarBind) error {
	for i := range vbs {
		if err := e.varBind(&vbs[i]); err != nil {
			return fmt.Errorf("varbind %d: %w", i+1, err)
		}
	}
	return nil
}

func (e *encoder) varBind(vb *VarBind) error {
	v := &vb.Value
	if !v.Type.Known() {
		return fmt.Errorf("unknown value type %d", uint16(v.Type))
	}
	e.u16(uint16(v.Type))
	e.u16(0) // reserved
	if err := e.oid(vb.Name, false); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	switch v.Type {
	case TypeInteger:
		if v.Int < math.MinInt32 || v.Int > math.MaxInt32 {
			return fmt.Errorf("value %d outside the 32-bit range of Integer", v.Int)
		}
		e.u32(uint32(int32(v.Int)))
	case TypeCounter32, TypeGauge32, TypeTimeTicks:
		if v.Uint > math.MaxUint32 {
			return fmt.Errorf("%s %d outside the 32-bit range", v.Type, v.Uint)
		}
		e.u32(uint32(v.Uint))
	case TypeCounter64:
		e.u64(v.Uint)
	case TypeIPAddress:
		if len(v.Bytes) != 4 {
			return fmt.Errorf("%w, got %d", errIPAddressLength, len(v.Bytes))
		}
		return e.octets(v.Bytes)
	case TypeOctetString, TypeOpaque:
		return e.octets(v.Bytes)
	case TypeObjectIdentifier:
		if err := e.oid(v.OID, false); err != nil {
			return fmt.Errorf("value: %w", err)
		}
	case TypeNull, TypeNoSuchObject, TypeNoSuchInstance, TypeEndOfMibView:
		// No data.
	}
	return nil
}

// oid appends an Object Identifier (RFC 2741 §5.1), abbreviating a leading
// 1.3.6.1.X (0 < X < 256) into the prefix byte as net-snmp does. An empty OID
// is the null OID.
func (e *encoder) oid(o OID, include bool) error {
	if len(o) > MaxSubIDs {
		return fmt.Errorf("OID has %d sub-identifiers, over %d", len(o), MaxSubIDs)
	}
	var prefix byte
	if len(o) > len(internetPrefix) && [4]uint32(o[:4]) == internetPrefix &&
		o[4] > 0 && o[4] < 256 {
		prefix = byte(o[4])
		o = o[5:]
	}
	var inc byte
	if include {
		inc = 1
	}
	e.b = append(e.b, byte(len(o)), prefix, inc, 0)
	for _, s := range o {
		e.u32(s)
	}
	return nil
}

// octets appends an Octet String (RFC 2741 §5.3) padded to 4 bytes.
func (e *encoder) octets(s []byte) error {
	if uint64(len(s)) > math.MaxUint32 {
		return fmt.Errorf("octet string of %d bytes is too long", len(s))
	}
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	for pad := (4 - len(s)%4) % 4; pad > 0; pad-- {
		e.b = append(e.b, 0)
	}
	return nil
}

func (e *encoder) u16(v uint16) {
	if e.big {
		e.b = binary.BigEndian.AppendUint16(e.b, v)
	} else {
		e.b = binary.LittleEndian.AppendUint16(e.b, v)
	}
}

func (e *encoder) u32(v uint32) {
	if e.big {
		e.b = binary.BigEndian.AppendUint32(e.b, v)
	} else {
		e.b = binary.LittleEndian.AppendUint32(e.b, v)
	}
}

func (e *encoder) u64(v uint64) {
	if e.big {
		e.b = binary.BigEndian.AppendUint64(e.b, v)
	} else {
		e.b = binary.LittleEndian.AppendUint64(e.b, v)
	}
}

func (e *encoder) put32(b []byte, v uint32) {
	if e.big {
		binary.BigEndian.PutUint32(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, v)
	}
}
