package agentx

import (
	"bytes"
	"reflect"
	"testing"
)

func TestRoundTripEveryPDU(t *testing.T) {
	for _, c := range pduCases() {
		for _, bo := range byteOrders {
			t.Run(c.name+"/"+bo.name, func(t *testing.T) {
				in := withOrder(c.pdu, bo.flag)
				frame := mustEncode(t, in)
				if (len(frame)-HeaderSize)%4 != 0 {
					t.Fatalf("payload of %d bytes is not 4-aligned", len(frame)-HeaderSize)
				}
				got, err := Decode(frame)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				assertPDU(t, got, canonical(in, len(frame)-HeaderSize))

				// The canonical form encodes to the very same bytes.
				again := mustEncode(t, *got)
				if !bytes.Equal(again, frame) {
					t.Errorf("re-encoding differs:\n got %x\nwant %x", again, frame)
				}
			})
		}
	}
}

// The two byte orders produce different bytes for the same PDU, except for
// the flag and single-octet fields, and decode to the same content.
func TestByteOrdersDifferOnlyInOrder(t *testing.T) {
	for _, c := range pduCases() {
		t.Run(c.name, func(t *testing.T) {
			le := mustEncode(t, withOrder(c.pdu, 0))
			be := mustEncode(t, withOrder(c.pdu, FlagNetworkByteOrder))
			if len(le) != len(be) {
				t.Fatalf("lengths differ: %d little-endian vs %d network", len(le), len(be))
			}
			if bytes.Equal(le[4:], be[4:]) {
				t.Fatalf("bytes after the first header word are identical in both orders")
			}
			pl, err := Decode(le)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := Decode(be)
			if err != nil {
				t.Fatal(err)
			}
			pb.Flags &^= FlagNetworkByteOrder
			assertPDU(t, pb, *pl)
		})
	}
}

func TestEncodeAppendsToDst(t *testing.T) {
	p := pduCases()[0].pdu
	prefix := []byte("keep")
	out, err := Encode(append([]byte{}, prefix...), &p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("dst prefix lost: %q", out[:4])
	}
	got, err := Decode(out[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	assertPDU(t, got, canonical(p, len(out)-len(prefix)-HeaderSize))
}

func TestEncodeDoesNotModifyInput(t *testing.T) {
	p := PDU{Header: hdr(PDUGetNext, 0), Context: []byte("c"), Ranges: allRanges()}
	before := p
	before.Ranges = append([]SearchRange{}, p.Ranges...)
	if _, err := Encode(nil, &p); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, before) {
		t.Fatalf("Encode changed its input:\n got %+v\nwant %+v", p, before)
	}
}

func TestDecodedPDUDoesNotAliasFrame(t *testing.T) {
	in := PDU{Header: hdr(PDUTestSet, 0), Context: []byte("ctx"),
		VarBinds: []VarBind{{Name: oidMib2, Value: OctetString([]byte("secret"))}}}
	frame := mustEncode(t, in)
	p, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := range frame {
		frame[i] = 0xee
	}
	assertPDU(t, p, canonical(in, len(frame)-HeaderSize))
}

// Decoded OIDs share a slab; appending to one must not clobber its neighbour.
func TestDecodedOIDsAreIndependent(t *testing.T) {
	in := PDU{Header: hdr(PDUGetNext, 0), Ranges: []SearchRange{
		{Start: oidMib2, End: oidCompressed}, {Start: oidNotIntnet, End: oidMib2}}}
	p, err := Decode(mustEncode(t, in))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p.Ranges[0].Start, 99, 99, 99)
	_ = append(p.Ranges[0].End, 99, 99, 99)
	if !p.Ranges[0].End.Equal(oidCompressed) || !p.Ranges[1].Start.Equal(oidNotIntnet) {
		t.Fatalf("append to a decoded OID changed another: %v", p.Ranges)
	}
}
