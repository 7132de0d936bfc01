package agentx

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// A stream of frames of both byte orders, read back one by one, also when
// the reader hands out one byte at a time (stream framing).
func TestReadFrameSplitsAStream(t *testing.T) {
	var stream []byte
	var frames [][]byte
	for _, c := range pduCases() {
		for _, bo := range byteOrders {
			f := mustEncode(t, withOrder(c.pdu, bo.flag))
			frames = append(frames, f)
			stream = append(stream, f...)
		}
	}
	readers := map[string]func() io.Reader{
		"whole":        func() io.Reader { return bytes.NewReader(stream) },
		"byte-by-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half":         func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
	}
	for name, newReader := range readers {
		t.Run(name, func(t *testing.T) {
			r := newReader()
			var buf []byte
			for i, want := range frames {
				got, err := ReadFrame(r, buf, 1<<20)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d:\n got % x\nwant % x", i, got, want)
				}
				if _, err := Decode(got); err != nil {
					t.Fatalf("frame %d: Decode: %v", i, err)
				}
				buf = got
			}
			if _, err := ReadFrame(r, buf, 1<<20); !errors.Is(err, io.EOF) {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	frame := goldenFrames[0].frame
	buf := make([]byte, 0, 512)
	got, err := ReadFrame(bytes.NewReader(frame), buf, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[:1][0] {
		t.Fatalf("a large enough buffer was not reused")
	}
	small := make([]byte, 4)
	got, err = ReadFrame(bytes.NewReader(frame), small, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, frame) {
		t.Fatalf("with a small buffer:\n got % x\nwant % x", got, frame)
	}
}

func TestReadFrameErrors(t *testing.T) {
	ping := mustEncode(t, PDU{Header: hdr(PDUPing, 0)}) // header only
	response := goldenFrames[0].frame                   // 36-byte payload
	bigEndianHuge := append([]byte{}, ping...)
	bigEndianHuge[2] = byte(FlagNetworkByteOrder)
	copy(bigEndianHuge[16:], []byte{0x7f, 0xff, 0xff, 0xfc})
	unaligned := append([]byte{}, ping...)
	unaligned[16] = 6

	cases := []struct {
		name       string
		stream     []byte
		maxPayload int
		wantParse  bool
		wantErr    error
	}{
		{"empty stream", nil, 1024, false, io.EOF},
		{"cut in header", ping[:7], 1024, false, io.ErrUnexpectedEOF},
		{"cut in payload", response[:30], 1024, false, io.ErrUnexpectedEOF},
		{"header only, payload missing", response[:HeaderSize], 1024, false, io.ErrUnexpectedEOF},
		{"payload over limit", response, 32, true, nil},
		{"2 GiB payload in network order", bigEndianHuge, 1 << 20, true, nil},
		{"negative limit", ping, -1, true, nil},
		{"payload not a multiple of 4", append(unaligned, 1, 2, 3, 4, 5, 6), 1024, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(c.stream), nil, c.maxPayload)
			if err == nil {
				t.Fatalf("ReadFrame accepted it: % x", got)
			}
			if errors.Is(err, ErrParse) != c.wantParse {
				t.Errorf("error %q: wraps ErrParse = %v, want %v", err, errors.Is(err, ErrParse), c.wantParse)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %q, want it to wrap %v", err, c.wantErr)
			}
		})
	}
}

// The limit is inclusive and a zero-length payload always fits.
func TestReadFrameLimitBoundary(t *testing.T) {
	response := goldenFrames[0].frame // 36-byte payload
	if _, err := ReadFrame(bytes.NewReader(response), nil, 36); err != nil {
		t.Fatalf("payload equal to the limit: %v", err)
	}
	ping := mustEncode(t, PDU{Header: hdr(PDUPing, 0)})
	if _, err := ReadFrame(bytes.NewReader(ping), nil, 0); err != nil {
		t.Fatalf("empty payload with limit 0: %v", err)
	}
}
