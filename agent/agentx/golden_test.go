package agentx

import (
	"bytes"
	"testing"
)

// Hand-checked frames, one or more per PDU family, commented field by field
// against RFC 2741 §5 and §6. Each must encode to exactly these bytes and
// decode back to the PDU.
var goldenFrames = []struct {
	name  string
	pdu   PDU
	frame []byte
}{
	{
		name: "Response Integer 42 little-endian",
		pdu: PDU{Header: Header{Version: 1, Type: PDUResponse, SessionID: 1, TransactionID: 2, PacketID: 3,
			PayloadLength: 36}, SysUpTime: 1000,
			VarBinds: []VarBind{{Name: MustParseOID("1.3.6.1.2.1.1.7.0"), Value: Integer(42)}}},
		frame: []byte{
			0x01, 0x12, 0x00, 0x00, // h.version 1, h.type 18 Response, h.flags 0, reserved
			0x01, 0x00, 0x00, 0x00, // h.sessionID 1
			0x02, 0x00, 0x00, 0x00, // h.transactionID 2
			0x03, 0x00, 0x00, 0x00, // h.packetID 3
			0x24, 0x00, 0x00, 0x00, // h.payload_length 36
			0xe8, 0x03, 0x00, 0x00, // res.sysUpTime 1000
			0x00, 0x00, 0x00, 0x00, // res.error 0 (2 bytes), res.index 0 (2 bytes)
			0x02, 0x00, 0x00, 0x00, // v.type 2 Integer, reserved
			0x04, 0x02, 0x00, 0x00, // v.name: n_subid 4, prefix 2 (1.3.6.1.2), include 0, reserved
			0x01, 0x00, 0x00, 0x00, // .1
			0x01, 0x00, 0x00, 0x00, // .1
			0x07, 0x00, 0x00, 0x00, // .7
			0x00, 0x00, 0x00, 0x00, // .0  -> 1.3.6.1.2.1.1.7.0
			0x2a, 0x00, 0x00, 0x00, // v.data 42
		},
	},
	{
		name: "Response Integer 42 network byte order",
		pdu: PDU{Header: Header{Version: 1, Type: PDUResponse, Flags: FlagNetworkByteOrder, SessionID: 1,
			TransactionID: 2, PacketID: 3, PayloadLength: 36}, SysUpTime: 1000,
			VarBinds: []VarBind{{Name: MustParseOID("1.3.6.1.2.1.1.7.0"), Value: Integer(42)}}},
		frame: []byte{
			0x01, 0x12, 0x10, 0x00, // version 1, type 18 Response, flags NETWORK_BYTE_ORDER, reserved
			0x00, 0x00, 0x00, 0x01, // sessionID 1
			0x00, 0x00, 0x00, 0x02, // transactionID 2
			0x00, 0x00, 0x00, 0x03, // packetID 3
			0x00, 0x00, 0x00, 0x24, // payload_length 36
			0x00, 0x00, 0x03, 0xe8, // sysUpTime 1000
			0x00, 0x00, 0x00, 0x00, // error 0, index 0
			0x00, 0x02, 0x00, 0x00, // type 2 Integer, reserved
			0x04, 0x02, 0x00, 0x00, // name: n_subid 4, prefix 2, include 0, reserved (octets: no order)
			0x00, 0x00, 0x00, 0x01, // .1
			0x00, 0x00, 0x00, 0x01, // .1
			0x00, 0x00, 0x00, 0x07, // .7
			0x00, 0x00, 0x00, 0x00, // .0
			0x00, 0x00, 0x00, 0x2a, // 42
		},
	},
	{
		name: "Response error with negative Integer and exception",
		pdu: PDU{Header: Header{Version: 1, Type: PDUResponse, PacketID: 0x0100, PayloadLength: 28},
			Error: NotWritable, Index: 2,
			VarBinds: []VarBind{
				{Name: MustParseOID("1.3.6.1.9"), Value: Integer(-2)},
				{Name: MustParseOID("1.3.6.1.9"), Value: NoSuchInstance()},
			}},
		frame: []byte{
			0x01, 0x12, 0x00, 0x00, // version 1, Response, flags 0
			0x00, 0x00, 0x00, 0x00, // sessionID 0
			0x00, 0x00, 0x00, 0x00, // transactionID 0
			0x00, 0x01, 0x00, 0x00, // packetID 256
			0x1c, 0x00, 0x00, 0x00, // payload_length 28
			0x00, 0x00, 0x00, 0x00, // sysUpTime 0
			0x11, 0x00, 0x02, 0x00, // error 17 notWritable, index 2
			0x02, 0x00, 0x00, 0x00, // type Integer
			0x00, 0x09, 0x00, 0x00, // name: n_subid 0, prefix 9 -> 1.3.6.1.9
			0xfe, 0xff, 0xff, 0xff, // -2 in two's complement
			0x81, 0x00, 0x00, 0x00, // type 129 noSuchInstance
			0x00, 0x09, 0x00, 0x00, // name 1.3.6.1.9
			// no data for an exception
		},
	},
	{
		name: "Open with padded description",
		pdu: PDU{Header: Header{Version: 1, Type: PDUOpen, PacketID: 1, PayloadLength: 36}, Timeout: 5,
			ID: MustParseOID("1.3.6.1.4.1.8072.3.2.10"), Descr: []byte("tap")},
		frame: []byte{
			0x01, 0x01, 0x00, 0x00, // version 1, type 1 Open, flags 0
			0x00, 0x00, 0x00, 0x00, // sessionID 0 (assigned by the master)
			0x00, 0x00, 0x00, 0x00, // transactionID 0
			0x01, 0x00, 0x00, 0x00, // packetID 1
			0x24, 0x00, 0x00, 0x00, // payload_length 36
			0x05, 0x00, 0x00, 0x00, // o.timeout 5 s, 3 reserved
			0x05, 0x04, 0x00, 0x00, // o.id: n_subid 5, prefix 4 (1.3.6.1.4), include 0
			0x01, 0x00, 0x00, 0x00, // .1
			0x88, 0x1f, 0x00, 0x00, // .8072
			0x03, 0x00, 0x00, 0x00, // .3
			0x02, 0x00, 0x00, 0x00, // .2
			0x0a, 0x00, 0x00, 0x00, // .10
			0x03, 0x00, 0x00, 0x00, // o.descr length 3
			0x74, 0x61, 0x70, 0x00, // "tap" + 1 padding byte
		},
	},
	{
		name:  "Close shutdown",
		pdu:   PDU{Header: Header{Version: 1, Type: PDUClose, SessionID: 9, PacketID: 4, PayloadLength: 4}, Reason: ReasonShutdown},
		frame: []byte{0x01, 0x02, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0x04, 0, 0, 0, 0x05, 0x00, 0x00, 0x00}, // c.reason 5, 3 reserved
	},
	{
		name: "Register instance range",
		pdu: PDU{Header: Header{Version: 1, Type: PDURegister, Flags: FlagInstanceRegistration, SessionID: 7,
			PacketID: 2, PayloadLength: 36}, Priority: 127, RangeSubID: 11,
			Subtree: MustParseOID("1.3.6.1.2.1.2.2.1.1.1"), UpperBound: 10},
		frame: []byte{
			0x01, 0x03, 0x01, 0x00, // version 1, type 3 Register, flags INSTANCE_REGISTRATION
			0x07, 0x00, 0x00, 0x00, // sessionID 7
			0x00, 0x00, 0x00, 0x00, // transactionID 0
			0x02, 0x00, 0x00, 0x00, // packetID 2
			0x24, 0x00, 0x00, 0x00, // payload_length 36
			0x00, 0x7f, 0x0b, 0x00, // r.timeout 0 (session default), r.priority 127, r.range_subid 11, reserved
			0x06, 0x02, 0x00, 0x00, // r.subtree: n_subid 6, prefix 2 (1.3.6.1.2)
			0x01, 0x00, 0x00, 0x00, // .1
			0x02, 0x00, 0x00, 0x00, // .2
			0x02, 0x00, 0x00, 0x00, // .2
			0x01, 0x00, 0x00, 0x00, // .1
			0x01, 0x00, 0x00, 0x00, // .1
			0x01, 0x00, 0x00, 0x00, // .1  (the 11th sub-identifier ranges 1..10)
			0x0a, 0x00, 0x00, 0x00, // r.upper_bound 10
		},
	},
	{
		name: "GetNext with context in network order",
		pdu: PDU{Header: Header{Version: 1, Type: PDUGetNext, Flags: FlagNetworkByteOrder | FlagNonDefaultContext,
			SessionID: 7, TransactionID: 8, PacketID: 9, PayloadLength: 72}, Context: []byte("ab"),
			Ranges: []SearchRange{
				{Start: MustParseOID("1.3.6.1.4.1.9.9.399"), Include: true, End: MustParseOID("1.3.6.1.4.1.9.9.400")},
				{Start: MustParseOID("1.3.6.2")},
			}},
		frame: []byte{
			0x01, 0x06, 0x18, 0x00, // version 1, type 6 GetNext, flags NETWORK_BYTE_ORDER|NON_DEFAULT_CONTEXT
			0x00, 0x00, 0x00, 0x07, // sessionID 7
			0x00, 0x00, 0x00, 0x08, // transactionID 8
			0x00, 0x00, 0x00, 0x09, // packetID 9
			0x00, 0x00, 0x00, 0x48, // payload_length 72
			0x00, 0x00, 0x00, 0x02, // h.context length 2
			0x61, 0x62, 0x00, 0x00, // "ab" + 2 padding bytes
			0x04, 0x04, 0x01, 0x00, // range 1 start: n_subid 4, prefix 4, include 1
			0x00, 0x00, 0x00, 0x01, // .1
			0x00, 0x00, 0x00, 0x09, // .9
			0x00, 0x00, 0x00, 0x09, // .9
			0x00, 0x00, 0x01, 0x8f, // .399
			0x04, 0x04, 0x00, 0x00, // range 1 end: n_subid 4, prefix 4, include 0
			0x00, 0x00, 0x00, 0x01, // .1
			0x00, 0x00, 0x00, 0x09, // .9
			0x00, 0x00, 0x00, 0x09, // .9
			0x00, 0x00, 0x01, 0x90, // .400
			0x04, 0x00, 0x00, 0x00, // range 2 start: n_subid 4, no prefix (1.3.6.2 is not under 1.3.6.1)
			0x00, 0x00, 0x00, 0x01, // .1
			0x00, 0x00, 0x00, 0x03, // .3
			0x00, 0x00, 0x00, 0x06, // .6
			0x00, 0x00, 0x00, 0x02, // .2
			0x00, 0x00, 0x00, 0x00, // range 2 end: the null OID (unbounded)
		},
	},
	{
		name: "GetBulk",
		pdu: PDU{Header: Header{Version: 1, Type: PDUGetBulk, PacketID: 5, PayloadLength: 16},
			NonRepeaters: 1, MaxRepetitions: 10,
			Ranges: []SearchRange{{Start: MustParseOID("1.3.6.1.2.1")}}},
		frame: []byte{
			0x01, 0x07, 0x00, 0x00, // version 1, type 7 GetBulk
			0, 0, 0, 0, 0, 0, 0, 0, // sessionID 0, transactionID 0
			0x05, 0x00, 0x00, 0x00, // packetID 5
			0x10, 0x00, 0x00, 0x00, // payload_length 16
			0x01, 0x00, 0x0a, 0x00, // g.non_repeaters 1, g.max_repetitions 10
			0x01, 0x02, 0x00, 0x00, // start: n_subid 1, prefix 2
			0x01, 0x00, 0x00, 0x00, // .1 -> 1.3.6.1.2.1
			0x00, 0x00, 0x00, 0x00, // end: null OID
		},
	},
	{
		name: "TestSet Counter64 and IpAddress in network order",
		pdu: PDU{Header: Header{Version: 1, Type: PDUTestSet, Flags: FlagNetworkByteOrder, TransactionID: 0x55,
			PayloadLength: 32}, VarBinds: []VarBind{
			{Name: MustParseOID("1.3.6.1.3"), Value: Counter64(0x0102030405060708)},
			{Name: MustParseOID("1.3.6.1.3"), Value: IPAddress([4]byte{10, 0, 0, 1})},
		}},
		frame: []byte{
			0x01, 0x08, 0x10, 0x00, // version 1, type 8 TestSet, flags NETWORK_BYTE_ORDER
			0x00, 0x00, 0x00, 0x00, // sessionID 0
			0x00, 0x00, 0x00, 0x55, // transactionID 0x55
			0x00, 0x00, 0x00, 0x00, // packetID 0
			0x00, 0x00, 0x00, 0x20, // payload_length 32
			0x00, 0x46, 0x00, 0x00, // type 70 Counter64
			0x00, 0x03, 0x00, 0x00, // name 1.3.6.1.3 (prefix only)
			0x01, 0x02, 0x03, 0x04, // Counter64, most significant half first...
			0x05, 0x06, 0x07, 0x08, // ...then the least significant half
			0x00, 0x40, 0x00, 0x00, // type 64 IpAddress
			0x00, 0x03, 0x00, 0x00, // name 1.3.6.1.3
			0x00, 0x00, 0x00, 0x04, // octet string length 4
			0x0a, 0x00, 0x00, 0x01, // 10.0.0.1 (octets: no order, no padding)
		},
	},
	{
		name: "TestSet Counter64 little-endian",
		pdu: PDU{Header: Header{Version: 1, Type: PDUTestSet, PayloadLength: 16}, VarBinds: []VarBind{
			{Name: MustParseOID("1.3.6.1.3"), Value: Counter64(0x0102030405060708)}}},
		frame: []byte{
			0x01, 0x08, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // header, ids 0
			0x10, 0x00, 0x00, 0x00, // payload_length 16
			0x46, 0x00, 0x00, 0x00, // type 70 Counter64
			0x00, 0x03, 0x00, 0x00, // name 1.3.6.1.3
			0x08, 0x07, 0x06, 0x05, // least significant byte first
			0x04, 0x03, 0x02, 0x01,
		},
	},
	{
		name: "Notify OID value and TimeTicks",
		pdu: PDU{Header: Header{Version: 1, Type: PDUNotify, SessionID: 3, PacketID: 6, PayloadLength: 84},
			VarBinds: []VarBind{
				{Name: MustParseOID("1.3.6.1.2.1.1.3.0"), Value: TimeTicks(100)},
				{Name: MustParseOID("1.3.6.1.6.3.1.1.4.1.0"), Value: ObjectID(MustParseOID("1.3.6.1.6.3.1.1.5.1"))},
			}},
		frame: []byte{
			0x01, 0x0c, 0x00, 0x00, // version 1, type 12 Notify
			0x03, 0x00, 0x00, 0x00, // sessionID 3
			0x00, 0x00, 0x00, 0x00, // transactionID 0
			0x06, 0x00, 0x00, 0x00, // packetID 6
			0x54, 0x00, 0x00, 0x00, // payload_length 84
			0x43, 0x00, 0x00, 0x00, // type 67 TimeTicks, reserved
			0x04, 0x02, 0x00, 0x00, // name: n_subid 4, prefix 2 (sysUpTime.0 = 1.3.6.1.2.1.1.3.0)
			0x01, 0x00, 0x00, 0x00, // .1
			0x01, 0x00, 0x00, 0x00, // .1
			0x03, 0x00, 0x00, 0x00, // .3
			0x00, 0x00, 0x00, 0x00, // .0
			0x64, 0x00, 0x00, 0x00, // 100 ticks
			0x06, 0x00, 0x00, 0x00, // type 6 ObjectIdentifier, reserved
			0x06, 0x06, 0x00, 0x00, // name: n_subid 6, prefix 6 (snmpTrapOID.0 = 1.3.6.1.6.3.1.1.4.1.0)
			0x03, 0x00, 0x00, 0x00, // .3
			0x01, 0x00, 0x00, 0x00, // .1
			0x01, 0x00, 0x00, 0x00, // .1
			0x04, 0x00, 0x00, 0x00, // .4
			0x01, 0x00, 0x00, 0x00, // .1
			0x00, 0x00, 0x00, 0x00, // .0
			0x05, 0x06, 0x00, 0x00, // value: n_subid 5, prefix 6, include 0 (coldStart = 1.3.6.1.6.3.1.1.5.1)
			0x03, 0x00, 0x00, 0x00, // .3
			0x01, 0x00, 0x00, 0x00, // .1
			0x01, 0x00, 0x00, 0x00, // .1
			0x05, 0x00, 0x00, 0x00, // .5
			0x01, 0x00, 0x00, 0x00, // .1
		},
	},
	{
		name:  "Ping",
		pdu:   PDU{Header: Header{Version: 1, Type: PDUPing, SessionID: 3, PacketID: 7}},
		frame: []byte{0x01, 0x0d, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0, 0}, // header only
	},
	{
		name: "RemoveAgentCaps with empty context",
		pdu: PDU{Header: Header{Version: 1, Type: PDURemoveAgentCaps, Flags: FlagNonDefaultContext, PayloadLength: 12},
			Context: []byte{}, ID: MustParseOID("1.3.6.1.4.1")},
		frame: []byte{
			0x01, 0x11, 0x08, 0x00, // version 1, type 17 RemoveAgentCaps, flags NON_DEFAULT_CONTEXT
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ids 0
			0x0c, 0x00, 0x00, 0x00, // payload_length 12
			0x00, 0x00, 0x00, 0x00, // context: length 0 (present, but empty)
			0x01, 0x04, 0x00, 0x00, // a.id: n_subid 1, prefix 4
			0x01, 0x00, 0x00, 0x00, // .1 -> 1.3.6.1.4.1
		},
	},
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range goldenFrames {
		t.Run(g.name, func(t *testing.T) {
			got := mustEncode(t, g.pdu)
			if !bytes.Equal(got, g.frame) {
				t.Errorf("Encode:\n got % x\nwant % x", got, g.frame)
			}
		})
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, g := range goldenFrames {
		t.Run(g.name, func(t *testing.T) {
			got, err := Decode(g.frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			assertPDU(t, got, g.pdu)
		})
	}
}

// Other encoders may skip the prefix compression, set the include byte on
// value OIDs (net-snmp does) or leave garbage in reserved bytes; all of that
// decodes to the same PDU.
func TestDecodeLenientForms(t *testing.T) {
	want := PDU{Header: Header{Version: 1, Type: PDUResponse, PacketID: 3, PayloadLength: 64},
		VarBinds: []VarBind{{Name: MustParseOID("1.3.6.1.2.1"), Value: ObjectID(MustParseOID("1.3.6.1.4"))}}}
	frame := []byte{
		0x01, 0x12, 0x00, 0xff, // version 1, Response, flags 0, reserved byte NOT zero
		0, 0, 0, 0, 0, 0, 0, 0, // sessionID 0, transactionID 0
		0x03, 0x00, 0x00, 0x00, // packetID 3
		0x40, 0x00, 0x00, 0x00, // payload_length 64
		0x00, 0x00, 0x00, 0x00, // sysUpTime 0
		0x00, 0x00, 0x00, 0x00, // error 0, index 0
		0x06, 0x00, 0xaa, 0xbb, // type ObjectIdentifier, reserved NOT zero
		0x06, 0x00, 0x01, 0xcc, // name: n_subid 6, no prefix, include 1 (meaningless here), reserved NOT zero
		0x01, 0x00, 0x00, 0x00, // .1
		0x03, 0x00, 0x00, 0x00, // .3
		0x06, 0x00, 0x00, 0x00, // .6
		0x01, 0x00, 0x00, 0x00, // .1
		0x02, 0x00, 0x00, 0x00, // .2
		0x01, 0x00, 0x00, 0x00, // .1 -> 1.3.6.1.2.1, uncompressed
		0x05, 0x00, 0x01, 0x00, // value: n_subid 5, no prefix, include 1 as net-snmp sends it
		0x01, 0x00, 0x00, 0x00, // .1
		0x03, 0x00, 0x00, 0x00, // .3
		0x06, 0x00, 0x00, 0x00, // .6
		0x01, 0x00, 0x00, 0x00, // .1
		0x04, 0x00, 0x00, 0x00, // .4 -> 1.3.6.1.4, uncompressed
	}
	got, err := Decode(frame)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	assertPDU(t, got, want)
}
