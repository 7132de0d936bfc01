package agentx

import (
	"math"
	"reflect"
	"testing"
)

// Shared test material: a PDU of every type with every value type, used by
// the round-trip tests, as fuzz seeds and in benchmarks.

var (
	oidCompressed = MustParseOID("1.3.6.1.4.1.9.9.399.1.1.1.1.2.7") // prefix 4
	oidJustPrefix = MustParseOID("1.3.6.1.2")                       // n_subid 0, prefix 2
	oidMib2       = MustParseOID("1.3.6.1.2.1.1.7.0")
	oidNotIntnet  = MustParseOID("1.3.6.2.1")     // no 1.3.6.1 head
	oidZeroFifth  = MustParseOID("1.3.6.1.0.5")   // prefix 0 would mean "none"
	oidBigFifth   = MustParseOID("1.3.6.1.256.1") // does not fit the prefix byte
	oidFour       = MustParseOID("1.3.6.1")       // too short for the prefix
	oidMaxPlain   = seqOID(nil, MaxSubIDs)
	oidMaxPrefix  = seqOID(OID{1, 3, 6, 1, 4}, MaxSubIDs) // n_subid 123 + prefix
	oidHighSubIDs = OID{2, math.MaxUint32, 0, 1 << 31}
)

// seqOID returns head followed by 1, 2, 3... up to n sub-identifiers.
func seqOID(head OID, n int) OID {
	o := head.Clone()
	for i := uint32(1); len(o) < n; i++ {
		o = append(o, i)
	}
	return o
}

// allValueVarBinds has every value type, with edge values and every padding
// length for octet strings.
func allValueVarBinds() []VarBind {
	vals := []Value{
		Integer(42), Integer(-1), Integer(math.MinInt32), Integer(math.MaxInt32), Integer(0),
		OctetString(nil), OctetString([]byte("a")), OctetString([]byte("ab")),
		OctetString([]byte("abc")), OctetString([]byte("abcd")), OctetString([]byte("abcde")),
		OctetString([]byte{0, 0xff, 0, 0x80}),
		Null(),
		ObjectID(oidCompressed), ObjectID(oidNotIntnet), ObjectID(nil), ObjectID(oidJustPrefix),
		ObjectID(oidMaxPrefix),
		IPAddress([4]byte{192, 0, 2, 1}), IPAddress([4]byte{}),
		Counter32(0), Counter32(math.MaxUint32), Gauge32(7), TimeTicks(123456),
		{Type: TypeOpaque, Bytes: []byte{0x9f, 0x78, 0x04, 0x3f, 0x80, 0, 0}},
		Counter64(math.MaxUint64), Counter64(0x0102030405060708),
		NoSuchObject(), NoSuchInstance(), EndOfMibView(),
	}
	vbs := make([]VarBind, len(vals))
	for i, v := range vals {
		vbs[i] = VarBind{Name: oidCompressed.Append(uint32(i)), Value: v}
	}
	// Names in every OID encoding form.
	for _, name := range []OID{oidJustPrefix, oidMib2, oidNotIntnet, oidZeroFifth,
		oidBigFifth, oidFour, oidMaxPlain, oidMaxPrefix, oidHighSubIDs, nil} {
		vbs = append(vbs, VarBind{Name: name, Value: Integer(1)})
	}
	return vbs
}

func allRanges() []SearchRange {
	return []SearchRange{
		{Start: oidCompressed, Include: true, End: MustParseOID("1.3.6.1.4.1.9.9.400")},
		{Start: oidMib2},
		{Start: oidNotIntnet, Include: true},
		{Start: nil, End: oidBigFifth},
		{Start: oidMaxPrefix, End: oidMaxPlain},
		{Start: oidJustPrefix, Include: true, End: oidZeroFifth},
	}
}

type pduCase struct {
	name string
	pdu  PDU
}

func hdr(t PDUType, f Flags) Header {
	return Header{Version: Version, Type: t, Flags: f, SessionID: 0x01020304,
		TransactionID: 0xa0b0c0d0, PacketID: 0xfffffffe}
}

// pduCases covers every PDU type, with and without context where allowed,
// with empty and non-empty lists.
func pduCases() []pduCase {
	ctx := []byte("vrf-blue")
	cases := []pduCase{
		{"Open", PDU{Header: hdr(PDUOpen, 0), Timeout: 5, ID: oidCompressed, Descr: []byte("tapagent")}},
		{"Open/null id, empty descr", PDU{Header: hdr(PDUOpen, 0)}},
		{"Close", PDU{Header: hdr(PDUClose, 0), Reason: ReasonShutdown}},
		{"Register", PDU{Header: hdr(PDURegister, 0), Timeout: 3, Priority: 127, Subtree: oidCompressed}},
		{"Register/instance+range+context", PDU{Header: hdr(PDURegister, FlagInstanceRegistration),
			Context: ctx, Priority: 1, RangeSubID: 11, Subtree: oidMib2.Append(1, 1), UpperBound: 10}},
		{"Register/range on last subid", PDU{Header: hdr(PDURegister, 0),
			RangeSubID: 5, Subtree: oidJustPrefix, UpperBound: 9}},
		{"Unregister", PDU{Header: hdr(PDUUnregister, 0), Priority: 127, Subtree: oidNotIntnet}},
		{"Unregister/range+context", PDU{Header: hdr(PDUUnregister, 0), Context: []byte{},
			Priority: 2, RangeSubID: 1, Subtree: oidMib2, UpperBound: 4}},
		{"Get", PDU{Header: hdr(PDUGet, 0), Ranges: []SearchRange{{Start: oidMib2}}}},
		{"Get/empty", PDU{Header: hdr(PDUGet, 0)}},
		{"GetNext", PDU{Header: hdr(PDUGetNext, 0), Ranges: allRanges()}},
		{"GetNext/context", PDU{Header: hdr(PDUGetNext, 0), Context: ctx, Ranges: allRanges()[:1]}},
		{"GetBulk", PDU{Header: hdr(PDUGetBulk, 0), NonRepeaters: 1, MaxRepetitions: 0xfffe, Ranges: allRanges()}},
		{"GetBulk/empty+context", PDU{Header: hdr(PDUGetBulk, 0), Context: ctx, MaxRepetitions: 10}},
		{"TestSet", PDU{Header: hdr(PDUTestSet, 0), VarBinds: allValueVarBinds()}},
		{"TestSet/context", PDU{Header: hdr(PDUTestSet, 0), Context: ctx, VarBinds: allValueVarBinds()[:3]}},
		{"CommitSet", PDU{Header: hdr(PDUCommitSet, 0)}},
		{"UndoSet", PDU{Header: hdr(PDUUndoSet, 0)}},
		{"CleanupSet", PDU{Header: hdr(PDUCleanupSet, 0)}},
		{"Notify", PDU{Header: hdr(PDUNotify, 0), VarBinds: []VarBind{
			{Name: MustParseOID("1.3.6.1.2.1.1.3.0"), Value: TimeTicks(100)},
			{Name: MustParseOID("1.3.6.1.6.3.1.1.4.1.0"), Value: ObjectID(oidCompressed)},
		}}},
		{"Notify/context", PDU{Header: hdr(PDUNotify, 0), Context: ctx, VarBinds: allValueVarBinds()}},
		{"Ping", PDU{Header: hdr(PDUPing, 0)}},
		{"Ping/context", PDU{Header: hdr(PDUPing, 0), Context: ctx}},
		{"IndexAllocate", PDU{Header: hdr(PDUIndexAllocate, FlagNewIndex), VarBinds: []VarBind{
			{Name: oidCompressed, Value: Integer(0)}}}},
		{"IndexAllocate/any+context", PDU{Header: hdr(PDUIndexAllocate, FlagAnyIndex), Context: ctx,
			VarBinds: []VarBind{{Name: oidCompressed, Value: OctetString([]byte("x"))}}}},
		{"IndexDeallocate", PDU{Header: hdr(PDUIndexDeallocate, 0), VarBinds: []VarBind{
			{Name: oidCompressed, Value: Integer(3)}}}},
		{"IndexDeallocate/empty", PDU{Header: hdr(PDUIndexDeallocate, 0)}},
		{"AddAgentCaps", PDU{Header: hdr(PDUAddAgentCaps, 0), ID: oidCompressed, Descr: []byte("caps")}},
		{"AddAgentCaps/context", PDU{Header: hdr(PDUAddAgentCaps, 0), Context: ctx, ID: oidNotIntnet}},
		{"RemoveAgentCaps", PDU{Header: hdr(PDURemoveAgentCaps, 0), ID: oidCompressed}},
		{"RemoveAgentCaps/context", PDU{Header: hdr(PDURemoveAgentCaps, 0), Context: ctx, ID: oidBigFifth}},
		{"Response", PDU{Header: hdr(PDUResponse, 0), SysUpTime: 4242, VarBinds: allValueVarBinds()}},
		{"Response/error", PDU{Header: hdr(PDUResponse, 0), SysUpTime: math.MaxUint32,
			Error: ProcessingError, Index: 0xffff}},
		{"Response/unknown flag bits", PDU{Header: hdr(PDUResponse, 0xe0), Error: NotWritable, Index: 1,
			VarBinds: allValueVarBinds()[:1]}},
	}
	return cases
}

// byteOrders are the two encodings every case is run in.
var byteOrders = []struct {
	name string
	flag Flags
}{{"little-endian", 0}, {"network", FlagNetworkByteOrder}}

func withOrder(p PDU, f Flags) PDU {
	p.Flags = p.Flags&^FlagNetworkByteOrder | f
	return p
}

// canonical returns what Decode yields for p once encoded: version 1, the
// given payload length, the context flag iff a context, empty slices nil
// (Context aside), value fields other than the type's own cleared.
func canonical(p PDU, payloadLen int) PDU {
	p.Version = Version
	p.PayloadLength = uint32(payloadLen)
	if p.Context != nil || p.Flags&FlagNonDefaultContext != 0 {
		p.Flags |= FlagNonDefaultContext
		if p.Context == nil {
			p.Context = []byte{}
		}
	}
	p.ID, p.Subtree, p.Descr = nilIfEmptyOID(p.ID), nilIfEmptyOID(p.Subtree), nilIfEmpty(p.Descr)
	if p.Type == PDUUnregister {
		p.Timeout = 0
	}
	if len(p.Ranges) == 0 {
		p.Ranges = nil
	} else {
		rs := make([]SearchRange, len(p.Ranges))
		for i, r := range p.Ranges {
			rs[i] = SearchRange{Start: nilIfEmptyOID(r.Start), Include: r.Include, End: nilIfEmptyOID(r.End)}
		}
		p.Ranges = rs
	}
	if len(p.VarBinds) == 0 {
		p.VarBinds = nil
	} else {
		vbs := make([]VarBind, len(p.VarBinds))
		for i, vb := range p.VarBinds {
			v := Value{Type: vb.Value.Type}
			switch v.Type {
			case TypeInteger:
				v.Int = vb.Value.Int
			case TypeCounter32, TypeGauge32, TypeTimeTicks, TypeCounter64:
				v.Uint = vb.Value.Uint
			case TypeOctetString, TypeOpaque, TypeIPAddress:
				v.Bytes = nilIfEmpty(vb.Value.Bytes)
			case TypeObjectIdentifier:
				v.OID = nilIfEmptyOID(vb.Value.OID)
			}
			vbs[i] = VarBind{Name: nilIfEmptyOID(vb.Name), Value: v}
		}
		p.VarBinds = vbs
	}
	return p
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nilIfEmptyOID(o OID) OID {
	if len(o) == 0 {
		return nil
	}
	return o
}

// mustEncode encodes p or fails the test.
func mustEncode(tb testing.TB, p PDU) []byte {
	tb.Helper()
	b, err := Encode(nil, &p)
	if err != nil {
		tb.Fatalf("Encode(%s): %v", p.Type, err)
	}
	return b
}

// assertPDU compares field by field first (readable failures), then deeply.
func assertPDU(tb testing.TB, got *PDU, want PDU) {
	tb.Helper()
	if got.Header != want.Header {
		tb.Errorf("header:\n got %+v\nwant %+v", got.Header, want.Header)
	}
	for i := 0; i < len(got.VarBinds) && i < len(want.VarBinds); i++ {
		if !reflect.DeepEqual(got.VarBinds[i], want.VarBinds[i]) {
			tb.Errorf("varbind %d:\n got %s = %v\nwant %s = %v", i+1,
				got.VarBinds[i].Name, got.VarBinds[i].Value, want.VarBinds[i].Name, want.VarBinds[i].Value)
		}
	}
	if !reflect.DeepEqual(*got, want) {
		tb.Errorf("PDU differs:\n got %+v\nwant %+v", *got, want)
	}
}
