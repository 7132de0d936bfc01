package agentx

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// rawFrame builds a little-endian frame by hand: a header whose
// payload_length matches the payload, then the payload words.
func rawFrame(t PDUType, f Flags, payload ...byte) []byte {
	b := []byte{Version, byte(t), byte(f), 0}
	b = binary.LittleEndian.AppendUint32(b, 1) // sessionID
	b = binary.LittleEndian.AppendUint32(b, 2) // transactionID
	b = binary.LittleEndian.AppendUint32(b, 3) // packetID
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// oidBytes encodes an OID header and its sub-identifiers, little-endian.
func oidBytes(n, prefix, include byte, subs ...uint32) []byte {
	b := []byte{n, prefix, include, 0}
	for _, s := range subs {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	return b
}

func TestDecodeRejectsMalformed(t *testing.T) {
	valid := mustEncode(t, PDU{Header: hdr(PDUResponse, 0),
		VarBinds: []VarBind{{Name: oidMib2, Value: Integer(1)}}})
	withHeader := func(mut func(b []byte)) []byte {
		b := append([]byte{}, valid...)
		mut(b)
		return b
	}
	responseHead := cat(le32(0), le32(0)) // sysUpTime, error+index
	vbHead := func(typ uint16) []byte { return cat([]byte{byte(typ), byte(typ >> 8), 0, 0}, oidBytes(1, 2, 0, 1)) }
	subs129 := make([]uint32, 129)

	cases := []struct {
		name    string
		frame   []byte
		wantErr string
	}{
		{"empty", nil, "header truncated"},
		{"19-byte header", valid[:19], "header truncated"},
		{"version 0", withHeader(func(b []byte) { b[0] = 0 }), "version 0"},
		{"version 2", withHeader(func(b []byte) { b[0] = 2 }), "version 2"},
		{"type 0", withHeader(func(b []byte) { b[1] = 0 }), "unknown AgentX PDU type 0"},
		{"type 19", withHeader(func(b []byte) { b[1] = 19 }), "unknown AgentX PDU type 19"},
		{"type 255", withHeader(func(b []byte) { b[1] = 255 }), "unknown AgentX PDU type 255"},
		{"payload shorter than its length field", valid[:len(valid)-4], "payload length field"},
		{"payload longer than its length field", append(append([]byte{}, valid...), 0, 0, 0, 0), "payload length field"},
		{"length field in the other byte order", withHeader(func(b []byte) { b[2] |= byte(FlagNetworkByteOrder) }), "payload length field"},
		{"Close without reason", rawFrame(PDUClose, 0), "close reason truncated"},
		{"Close with trailing garbage", rawFrame(PDUClose, 0, 5, 0, 0, 0, 1, 2, 3, 4), "4 trailing bytes"},
		{"Ping with trailing garbage", rawFrame(PDUPing, 0, 0, 0, 0, 0), "4 trailing bytes"},
		{"CommitSet with context flag", rawFrame(PDUCommitSet, FlagNonDefaultContext, le32(0)...), "NON_DEFAULT_CONTEXT"},
		{"Response with context flag", rawFrame(PDUResponse, FlagNonDefaultContext, cat(le32(0), responseHead)...), "NON_DEFAULT_CONTEXT"},
		{"Open with context flag", rawFrame(PDUOpen, FlagNonDefaultContext, le32(0)...), "NON_DEFAULT_CONTEXT"},
		{"context length beyond payload", rawFrame(PDUGet, FlagNonDefaultContext, cat(le32(8), []byte("abcd"))...), "context truncated"},
		{"context length 2^32-1", rawFrame(PDUPing, FlagNonDefaultContext, le32(0xffffffff)...), "context truncated"},
		{"context padding missing", rawFrame(PDUPing, FlagNonDefaultContext, cat(le32(3), []byte("abc"))[:7]...), "context truncated"},
		{"Open without OID", rawFrame(PDUOpen, 0, 5, 0, 0, 0), "open id OID header truncated"},
		{"Open OID n_subid 129", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(129, 0, 0, subs129...), le32(0))...), "129 sub-identifiers"},
		{"Open OID prefix + n_subid 124", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(124, 4, 0, subs129[:124]...), le32(0))...), "129 sub-identifiers"},
		{"Open OID n_subid 255 header only", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(255, 0, 0))...), "255 sub-identifiers"},
		{"Open OID missing sub-identifiers", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(3, 0, 0, 1, 3))...), "open id OID truncated"},
		{"Open without description", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(0, 0, 0))...), "open description length truncated"},
		{"Open description length 2^32-1", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(0, 0, 0), le32(0xffffffff))...), "open description truncated"},
		{"Open description without padding", rawFrame(PDUOpen, 0, cat([]byte{5, 0, 0, 0}, oidBytes(0, 0, 0), le32(5), []byte("abcde"))...), "open description truncated"},
		{"Register range_subid beyond subtree", rawFrame(PDURegister, 0, cat([]byte{0, 127, 3, 0}, oidBytes(2, 0, 0, 1, 3), le32(9))...), "range_subid 3 beyond"},
		{"Register range without upper_bound", rawFrame(PDURegister, 0, cat([]byte{0, 127, 2, 0}, oidBytes(2, 0, 0, 1, 3))...), "upper_bound truncated"},
		{"Register without subtree", rawFrame(PDURegister, 0, 0, 127, 0, 0), "subtree OID header truncated"},
		{"GetNext range without end", rawFrame(PDUGetNext, 0, oidBytes(1, 2, 1, 1)...), "search range 1: end OID header truncated"},
		{"GetNext second range truncated", rawFrame(PDUGetNext, 0, cat(oidBytes(0, 2, 0), oidBytes(0, 0, 0), oidBytes(2, 0, 0, 1))...), "search range 2: start OID truncated"},
		{"GetBulk header truncated", rawFrame(PDUGetBulk, 0, 1, 0), "max_repetitions truncated"},
		{"Response truncated before error", rawFrame(PDUResponse, 0, le32(0)...), "error truncated"},
		{"varbind unknown type 3", rawFrame(PDUResponse, 0, cat(responseHead, vbHead(3), le32(0))...), "varbind 1: unknown value type 3"},
		{"varbind unknown type 131", rawFrame(PDUResponse, 0, cat(responseHead, vbHead(131))...), "unknown value type 131"},
		{"varbind type 0x0102 read little-endian", rawFrame(PDUTestSet, 0, cat(vbHead(0x0102), le32(0))...), "unknown value type 258"},
		{"varbind type only", rawFrame(PDUTestSet, 0, 2, 0), "varbind 1: reserved truncated"},
		{"varbind Integer without data", rawFrame(PDUTestSet, 0, vbHead(uint16(TypeInteger))...), "Integer truncated"},
		{"varbind Counter32 without data", rawFrame(PDUTestSet, 0, vbHead(uint16(TypeCounter32))...), "Counter32 truncated"},
		{"varbind Counter64 half data", rawFrame(PDUTestSet, 0, cat(vbHead(uint16(TypeCounter64)), le32(1))...), "Counter64 truncated"},
		{"varbind OctetString long length", rawFrame(PDUTestSet, 0, cat(vbHead(uint16(TypeOctetString)), le32(1<<31))...), "OctetString truncated"},
		{"varbind OID value truncated", rawFrame(PDUTestSet, 0, cat(vbHead(uint16(TypeObjectIdentifier)), oidBytes(2, 0, 0, 1))...), "ObjectIdentifier value OID truncated"},
		{"second varbind truncated name", rawFrame(PDUTestSet, 0, cat(vbHead(uint16(TypeNull)), []byte{5, 0, 0, 0})...), "varbind 2: name OID header truncated"},
		{"AddAgentCaps without description", rawFrame(PDUAddAgentCaps, 0, oidBytes(0, 4, 0)...), "agent caps description length truncated"},
		{"RemoveAgentCaps with trailing garbage", rawFrame(PDURemoveAgentCaps, 0, cat(oidBytes(0, 4, 0), le32(7))...), "4 trailing bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode(c.frame)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", p)
			}
			if !errors.Is(err, ErrParse) {
				t.Errorf("error %q does not wrap ErrParse", err)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, c.wantErr)
			}
			if p != nil {
				t.Errorf("Decode returned a PDU along with the error")
			}
		})
	}
}

func TestDecodeHeaderKeepsFieldsOnError(t *testing.T) {
	b := rawFrame(PDUType(42), 0)
	h, err := DecodeHeader(b)
	if !errors.Is(err, ErrParse) {
		t.Fatalf("DecodeHeader error %v, want ErrParse", err)
	}
	if h.Type != 42 || h.SessionID != 1 || h.TransactionID != 2 || h.PacketID != 3 {
		t.Fatalf("header fields lost: %+v", h)
	}
}

func TestEncodeRejects(t *testing.T) {
	long := seqOID(nil, MaxSubIDs+1)
	longPrefixed := seqOID(OID{1, 3, 6, 1, 4}, MaxSubIDs+1)
	vb := func(v Value) []VarBind { return []VarBind{{Name: oidMib2, Value: v}} }
	cases := []struct {
		name    string
		pdu     *PDU
		wantErr string
	}{
		{"nil PDU", nil, "nil PDU"},
		{"version 2", &PDU{Header: Header{Version: 2, Type: PDUPing}}, "version 2"},
		{"type 0", &PDU{}, "unknown PDU type 0"},
		{"type 19", &PDU{Header: Header{Type: 19}}, "unknown PDU type 19"},
		{"context on Open", &PDU{Header: hdr(PDUOpen, 0), Context: []byte("c")}, "may not carry a context"},
		{"context on Close", &PDU{Header: hdr(PDUClose, 0), Context: []byte{}}, "may not carry a context"},
		{"context flag on Response", &PDU{Header: hdr(PDUResponse, FlagNonDefaultContext)}, "may not carry a context"},
		{"context on CommitSet", &PDU{Header: hdr(PDUCommitSet, 0), Context: []byte("c")}, "may not carry a context"},
		{"context on UndoSet", &PDU{Header: hdr(PDUUndoSet, 0), Context: []byte("c")}, "may not carry a context"},
		{"context on CleanupSet", &PDU{Header: hdr(PDUCleanupSet, 0), Context: []byte("c")}, "may not carry a context"},
		{"varbinds on GetNext", &PDU{Header: hdr(PDUGetNext, 0), VarBinds: vb(Null())}, "carries no varbinds"},
		{"ranges on Response", &PDU{Header: hdr(PDUResponse, 0), Ranges: allRanges()}, "carries no search ranges"},
		{"Open ID too long", &PDU{Header: hdr(PDUOpen, 0), ID: long}, "129 sub-identifiers"},
		{"Register subtree too long, even if prefixed", &PDU{Header: hdr(PDURegister, 0), Subtree: longPrefixed}, "129 sub-identifiers"},
		{"range start too long", &PDU{Header: hdr(PDUGet, 0), Ranges: []SearchRange{{Start: long}}}, "search range 1 start"},
		{"range end too long", &PDU{Header: hdr(PDUGetBulk, 0), Ranges: []SearchRange{{Start: oidMib2}, {End: long}}}, "search range 2 end"},
		{"varbind name too long", &PDU{Header: hdr(PDUTestSet, 0), VarBinds: []VarBind{{Name: long, Value: Null()}}}, "varbind 1: name"},
		{"OID value too long", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(ObjectID(long))}, "varbind 1: value"},
		{"Integer 2^31", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: TypeInteger, Int: 1 << 31})}, "outside the 32-bit range"},
		{"Integer -2^31-1", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: TypeInteger, Int: -1<<31 - 1})}, "outside the 32-bit range"},
		{"Counter32 2^32", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: TypeCounter32, Uint: 1 << 32})}, "Counter32 4294967296"},
		{"Gauge32 2^32", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: TypeGauge32, Uint: 1 << 32})}, "Gauge32"},
		{"TimeTicks 2^40", &PDU{Header: hdr(PDUNotify, 0), VarBinds: vb(Value{Type: TypeTimeTicks, Uint: 1 << 40})}, "TimeTicks"},
		{"IpAddress 3 octets", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: TypeIPAddress, Bytes: []byte{1, 2, 3}})}, "4 octets, got 3"},
		{"IpAddress 16 octets", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: TypeIPAddress, Bytes: make([]byte, 16)})}, "4 octets, got 16"},
		{"unknown value type", &PDU{Header: hdr(PDUResponse, 0), VarBinds: vb(Value{Type: 3})}, "unknown value type 3"},
		{"zero value", &PDU{Header: hdr(PDUResponse, 0), VarBinds: []VarBind{{Name: oidMib2}}}, "unknown value type 0"},
		{"range_subid beyond subtree", &PDU{Header: hdr(PDURegister, 0), Subtree: oidMib2, RangeSubID: 10, UpperBound: 3}, "range_subid 10"},
		{"upper_bound without range_subid", &PDU{Header: hdr(PDUUnregister, 0), Subtree: oidMib2, UpperBound: 3}, "upper_bound set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("prefix")
			out, err := Encode(dst, c.pdu)
			if err == nil {
				t.Fatalf("Encode accepted it: % x", out)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, c.wantErr)
			}
			if string(out) != "prefix" {
				t.Errorf("dst changed on error: %q", out)
			}
		})
	}
}

// Decode accepts an IpAddress of the wrong length (a manager's bad SET must
// not tear down the session: the SNMP layer answers wrongLength), while
// Encode never produces one.
func TestIPAddressLengthAsymmetry(t *testing.T) {
	frame := rawFrame(PDUTestSet, 0, cat(
		[]byte{byte(TypeIPAddress), 0, 0, 0}, oidBytes(1, 2, 0, 1), le32(5), []byte{1, 2, 3, 4, 5, 0, 0, 0})...)
	p, err := Decode(frame)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got := p.VarBinds[0].Value; got.Type != TypeIPAddress || len(got.Bytes) != 5 {
		t.Fatalf("decoded %v", got)
	}
	if _, err := Encode(nil, p); !errors.Is(err, errIPAddressLength) {
		t.Fatalf("Encode of a 5-octet IpAddress: %v, want errIPAddressLength", err)
	}
}
