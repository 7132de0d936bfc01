package agentx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecode: Decode must never panic; what it accepts must re-encode, and
// the re-encoding must decode to the same PDU and be a fixed point of
// Encode∘Decode. Seeds: every round-trip case in both byte orders, the golden
// frames, and testdata/fuzz/FuzzDecode.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=10m ./agent/agentx
func FuzzDecode(f *testing.F) {
	for _, c := range pduCases() {
		for _, bo := range byteOrders {
			f.Add(mustEncode(f, withOrder(c.pdu, bo.flag)))
		}
	}
	for _, g := range goldenFrames {
		f.Add(g.frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := Decode(frame)
		if err != nil {
			if p != nil {
				t.Fatalf("Decode returned a PDU with error %v", err)
			}
			if !errors.Is(err, ErrParse) {
				t.Fatalf("Decode error %q does not wrap ErrParse", err)
			}
			return
		}
		again, err := Encode(nil, p)
		if err != nil {
			// The one input Decode tolerates and Encode refuses.
			if errors.Is(err, errIPAddressLength) && hasOddIPAddress(p) {
				return
			}
			t.Fatalf("Encode of a decoded PDU: %v\nPDU: %+v", err, p)
		}
		q, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode of the re-encoding: %v\nframe % x", err, again)
		}
		// Only the payload length may change (prefix compression, padding).
		want := *p
		want.PayloadLength = q.PayloadLength
		if !reflect.DeepEqual(*q, want) {
			t.Fatalf("re-decoded PDU differs:\n got %+v\nwant %+v", *q, want)
		}
		if third, err := Encode(nil, q); err != nil || !bytes.Equal(third, again) {
			t.Fatalf("encoding is not canonical: %v\n got % x\nwant % x", err, third, again)
		}
	})
}

func hasOddIPAddress(p *PDU) bool {
	for _, vb := range p.VarBinds {
		if vb.Value.Type == TypeIPAddress && len(vb.Value.Bytes) != 4 {
			return true
		}
	}
	return false
}

// The named seed files say what Decode must do with them: valid_* decode,
// bad_* are rejected. (Entries the fuzzer adds have hash names.)
func TestFuzzSeedFiles(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		valid, bad := strings.HasPrefix(e.Name(), "valid_"), strings.HasPrefix(e.Name(), "bad_")
		if !valid && !bad {
			continue
		}
		frame := readFuzzSeed(t, filepath.Join(dir, e.Name()))
		_, err := Decode(frame)
		if valid && err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		if bad && err == nil {
			t.Errorf("%s: Decode accepted it", e.Name())
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("only %d named seed files found in %s", checked, dir)
	}
}

// readFuzzSeed parses a one-value "go test fuzz v1" file holding a []byte.
func readFuzzSeed(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" ||
		!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
		t.Fatalf("%s: not a single []byte fuzz entry", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
