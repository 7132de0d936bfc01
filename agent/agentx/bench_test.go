package agentx

import "testing"

// A typical exchange of the subagent: a GetNext for one table column from
// snmpd, answered by one OctetString instance.
var (
	benchGetNext = PDU{Header: Header{Version: 1, Type: PDUGetNext, SessionID: 7, TransactionID: 1234, PacketID: 99},
		Ranges: []SearchRange{{Start: MustParseOID("1.3.6.1.4.1.9.9.399.1.1.2.1.3.17"),
			End: MustParseOID("1.3.6.1.4.1.9.9.399.1.1.2.1.4")}}}
	benchResponse = PDU{Header: Header{Version: 1, Type: PDUResponse, SessionID: 7, TransactionID: 1234, PacketID: 99},
		SysUpTime: 123456, VarBinds: []VarBind{{Name: MustParseOID("1.3.6.1.4.1.9.9.399.1.1.2.1.3.18"),
			Value: OctetString([]byte("intercept-18 for MD 2"))}}}
)

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		pdu  PDU
	}{{"GetNext", benchGetNext}, {"Response", benchResponse}} {
		frame := mustEncode(b, c.pdu)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := Decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		pdu  PDU
	}{{"GetNext", benchGetNext}, {"Response", benchResponse}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 512)
			for b.Loop() {
				out, err := Encode(buf[:0], &c.pdu)
				if err != nil {
					b.Fatal(err)
				}
				buf = out
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
