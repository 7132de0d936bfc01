package agentx

import (
	"fmt"
	"testing"
	"time"

	gapdu "github.com/posteo/go-agentx/pdu"
	gavalue "github.com/posteo/go-agentx/value"
)

// Cross-checks against github.com/posteo/go-agentx v0.3.0's pdu package, an
// independent encoder, where it is correct. It only writes little-endian and
// only has encoders for Open, Close, Register and Response, and decoders for
// Get, GetNext and Response.
//
// What we found wrong in it (each shown by a test below):
//   - Variable.UnmarshalBinary reads Integer, Counter32, Gauge32, TimeTicks
//     and Counter64 data from offset 2 of the varbind (its reserved bytes and
//     the name's OID header) instead of after the name.
//   - Response.UnmarshalBinary panics on a varbind with an OID value: it
//     stores the value as value.OID, then re-marshals the varbind to learn
//     its size, and the marshaller asserts the value is a string.
//   - Response sysUpTime is scaled wrongly both ways: it writes
//     Seconds()/100 instead of hundredths of seconds (Seconds()*100).
//   - Header ignores NETWORK_BYTE_ORDER and always reads little-endian.
//   - ObjectIdentifier and OctetString decoders index the input without
//     bounds checks, so a truncated PDU panics instead of failing.
//   - It never uses the 1.3.6.1.X prefix compression on encode (valid, but
//     not what net-snmp sends).

func gaOID(o OID) gapdu.ObjectIdentifier {
	var id gapdu.ObjectIdentifier
	id.SetIdentifier(gavalue.OID(o))
	return id
}

func gaFrame(t *testing.T, h gapdu.Header, p gapdu.Packet) []byte {
	t.Helper()
	b, err := (&gapdu.HeaderPacket{Header: &h, Packet: p}).MarshalBinary()
	if err != nil {
		t.Fatalf("go-agentx MarshalBinary: %v", err)
	}
	return b
}

func TestGoAgentxEncodesWeDecode(t *testing.T) {
	var vars gapdu.Variables
	vars.Add(gavalue.OID(oidCompressed), gapdu.VariableTypeOctetString, "hello")
	vars.Add(gavalue.OID(oidMib2), gapdu.VariableTypeObjectIdentifier, "1.3.6.1.4.1.9.9.399")
	vars.Add(gavalue.OID(oidNotIntnet), gapdu.VariableTypeOctetString, "")
	vars.Add(gavalue.OID(oidMib2), gapdu.VariableTypeNoSuchInstance, nil)

	cases := []struct {
		name   string
		header gapdu.Header
		packet gapdu.Packet
		want   PDU
	}{
		{
			name:   "Open",
			header: gapdu.Header{PacketID: 1},
			packet: &gapdu.Open{Timeout: gapdu.Timeout{Duration: 5 * time.Second}, ID: gaOID(oidCompressed),
				Description: gapdu.OctetString{Text: "go-agentx"}},
			want: PDU{Header: Header{Version: 1, Type: PDUOpen, PacketID: 1}, Timeout: 5, ID: oidCompressed,
				Descr: []byte("go-agentx")},
		},
		{
			name:   "Close",
			header: gapdu.Header{SessionID: 4, PacketID: 9},
			packet: &gapdu.Close{Reason: gapdu.ReasonShutdown},
			want:   PDU{Header: Header{Version: 1, Type: PDUClose, SessionID: 4, PacketID: 9}, Reason: ReasonShutdown},
		},
		{
			name:   "Register",
			header: gapdu.Header{SessionID: 4, PacketID: 2},
			packet: &gapdu.Register{Timeout: gapdu.Timeout{Duration: 3 * time.Second, Priority: 127},
				Subtree: gaOID(oidCompressed)},
			want: PDU{Header: Header{Version: 1, Type: PDURegister, SessionID: 4, PacketID: 2}, Timeout: 3,
				Priority: 127, Subtree: oidCompressed},
		},
		{
			name:   "Response with OctetString and OID values",
			header: gapdu.Header{SessionID: 4, TransactionID: 5, PacketID: 6},
			packet: &gapdu.Response{Error: gapdu.ErrorNone, Index: 0, Variables: vars},
			want: PDU{Header: Header{Version: 1, Type: PDUResponse, SessionID: 4, TransactionID: 5, PacketID: 6},
				VarBinds: []VarBind{
					{Name: oidCompressed, Value: OctetString([]byte("hello"))},
					{Name: oidMib2, Value: ObjectID(MustParseOID("1.3.6.1.4.1.9.9.399"))},
					{Name: oidNotIntnet, Value: OctetString(nil)},
					{Name: oidMib2, Value: NoSuchInstance()},
				}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame := gaFrame(t, c.header, c.packet)
			got, err := Decode(frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			c.want.PayloadLength = uint32(len(frame) - HeaderSize)
			assertPDU(t, got, c.want)
		})
	}
}

func TestWeEncodeGoAgentxDecodes(t *testing.T) {
	t.Run("Get", func(t *testing.T) {
		frame := mustEncode(t, PDU{Header: hdr(PDUGet, 0), Ranges: []SearchRange{{Start: oidCompressed}}})
		var h gapdu.Header
		if err := h.UnmarshalBinary(frame); err != nil {
			t.Fatal(err)
		}
		var g gapdu.Get
		if err := g.UnmarshalBinary(frame[HeaderSize:]); err != nil {
			t.Fatal(err)
		}
		if h.Type != gapdu.TypeGet || h.SessionID != 0x01020304 || h.PacketID != 0xfffffffe ||
			h.PayloadLength != uint32(len(frame)-HeaderSize) {
			t.Errorf("go-agentx header %+v", h)
		}
		if got := OID(g.GetOID()); !got.Equal(oidCompressed) {
			t.Errorf("go-agentx Get OID %v, want %v", got, oidCompressed)
		}
	})

	t.Run("GetNext", func(t *testing.T) {
		ranges := []SearchRange{
			{Start: oidCompressed, Include: true, End: MustParseOID("1.3.6.1.4.1.9.9.400")},
			{Start: oidNotIntnet},
			{Start: oidJustPrefix, End: oidBigFifth},
		}
		frame := mustEncode(t, PDU{Header: hdr(PDUGetNext, 0), Ranges: ranges})
		var g gapdu.GetNext
		if err := g.UnmarshalBinary(frame[HeaderSize:]); err != nil {
			t.Fatal(err)
		}
		if len(g.SearchRanges) != len(ranges) {
			t.Fatalf("go-agentx decoded %d ranges, want %d", len(g.SearchRanges), len(ranges))
		}
		for i, r := range g.SearchRanges {
			got := SearchRange{Start: OID(r.From.GetIdentifier()), Include: r.From.GetInclude(),
				End: OID(r.To.GetIdentifier())}
			if !got.Start.Equal(ranges[i].Start) || got.Include != ranges[i].Include ||
				!got.End.Equal(ranges[i].End) || r.To.GetInclude() {
				t.Errorf("range %d: go-agentx got %+v, want %+v", i+1, got, ranges[i])
			}
		}
	})

	t.Run("Response with OctetString values", func(t *testing.T) {
		frame := mustEncode(t, PDU{Header: hdr(PDUResponse, 0), Error: NotWritable, Index: 2,
			VarBinds: []VarBind{
				{Name: oidCompressed, Value: OctetString([]byte("abc"))},
				{Name: oidMib2, Value: OctetString([]byte("abcd"))},
				{Name: oidNotIntnet, Value: EndOfMibView()},
			}})
		var r gapdu.Response
		if err := r.UnmarshalBinary(frame[HeaderSize:]); err != nil {
			t.Fatal(err)
		}
		if r.Error != gapdu.Error(NotWritable) || r.Index != 2 || len(r.Variables) != 3 {
			t.Fatalf("go-agentx response %v (error %d, index %d)", r, r.Error, r.Index)
		}
		want := []struct {
			name OID
			typ  gapdu.VariableType
			val  any
		}{
			{oidCompressed, gapdu.VariableTypeOctetString, "abc"},
			{oidMib2, gapdu.VariableTypeOctetString, "abcd"},
			{oidNotIntnet, gapdu.VariableTypeEndOfMIBView, nil},
		}
		for i, w := range want {
			v := r.Variables[i]
			if !OID(v.Name.GetIdentifier()).Equal(w.name) || v.Type != w.typ || v.Value != w.val {
				t.Errorf("varbind %d: go-agentx got %s %v = %v, want %s %v = %v", i+1,
					v.Name, v.Type, v.Value, w.name, w.typ, w.val)
			}
		}
	})

	t.Run("Response with an OID value panics go-agentx", func(t *testing.T) {
		frame := mustEncode(t, PDU{Header: hdr(PDUResponse, 0),
			VarBinds: []VarBind{{Name: oidMib2, Value: ObjectID(oidCompressed)}}})
		// The OID value itself is decoded correctly by go-agentx's
		// ObjectIdentifier, as this shows...
		var id gapdu.ObjectIdentifier
		if err := id.UnmarshalBinary(frame[HeaderSize+8+4+len(oidBytes(4, 2, 0, 1, 1, 7, 0)):]); err != nil {
			t.Fatal(err)
		}
		if !OID(id.GetIdentifier()).Equal(oidCompressed) {
			t.Fatalf("go-agentx OID value %v, want %v", id.GetIdentifier(), oidCompressed)
		}
		// ...but its varbind-list decoder then re-marshals the value as a string.
		err := catchPanic(func() error {
			var r gapdu.Response
			return r.UnmarshalBinary(frame[HeaderSize:])
		})
		if err == nil {
			t.Fatalf("go-agentx decoded an OID value in a Response without panicking: fixed upstream?")
		}
		t.Logf("go-agentx: %v", err)
	})
}

// catchPanic runs f and reports its panic, if any, as an error; what f
// returns normally is ignored.
func catchPanic(f func() error) (panicked error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = fmt.Errorf("panic: %v", r)
		}
	}()
	_ = f()
	return nil
}

// go-agentx reads numeric varbind data from the wrong offset: for
// 1.3.6.1.2.1.1.7.0 = Integer 42 it reads the bytes 00 00 04 02 (reserved
// bytes, then n_subid 4 and prefix 2) and gets 0x02040000.
func TestGoAgentxMisdecodesNumericVarBinds(t *testing.T) {
	frame := goldenFrames[0].frame // Response, 1.3.6.1.2.1.1.7.0 = Integer 42, little-endian
	ours, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if ours.VarBinds[0].Value.Int != 42 {
		t.Fatalf("we decoded %v, want 42", ours.VarBinds[0].Value)
	}
	var r gapdu.Response
	if err := r.UnmarshalBinary(frame[HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Variables[0].Value, int32(0x02040000); got != want {
		t.Fatalf("go-agentx decoded %v (%T), want its known wrong value %d", got, got, want)
	}
}

// go-agentx writes sysUpTime as Seconds()/100 instead of hundredths.
func TestGoAgentxSysUpTimeScale(t *testing.T) {
	frame := gaFrame(t, gapdu.Header{}, &gapdu.Response{UpTime: 1000 * time.Second})
	p, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if p.SysUpTime != 10 {
		t.Fatalf("go-agentx 1000 s became %d ticks on the wire; the known bug gives 10 (RFC: 100000)", p.SysUpTime)
	}
}

// go-agentx ignores NETWORK_BYTE_ORDER in the header.
func TestGoAgentxIgnoresNetworkByteOrder(t *testing.T) {
	frame := mustEncode(t, PDU{Header: hdr(PDUGet, FlagNetworkByteOrder), Ranges: []SearchRange{{Start: oidMib2}}})
	var h gapdu.Header
	if err := h.UnmarshalBinary(frame); err != nil {
		t.Fatal(err)
	}
	if h.SessionID == 0x01020304 {
		t.Fatalf("go-agentx decoded a network-order session ID correctly: fixed upstream?")
	}
	if h.SessionID != 0x04030201 {
		t.Fatalf("go-agentx session ID %#x, want the byte-swapped 0x04030201", h.SessionID)
	}
	ours, err := Decode(frame)
	if err != nil || ours.SessionID != 0x01020304 {
		t.Fatalf("ours: %v, %v", ours, err)
	}
}

// go-agentx's OID decoder indexes a truncated input and panics; ours fails.
func TestGoAgentxPanicsOnTruncatedOID(t *testing.T) {
	truncated := rawFrame(PDUGet, 0, 3, 0, 0)
	if err := catchPanic(func() error {
		var g gapdu.Get
		return g.UnmarshalBinary(truncated[HeaderSize:])
	}); err == nil {
		t.Fatalf("go-agentx did not panic on a truncated OID: fixed upstream?")
	}
	if _, err := Decode(truncated); err == nil {
		t.Fatalf("we accepted a truncated OID")
	}
}
