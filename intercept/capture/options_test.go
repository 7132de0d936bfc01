package capture

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaultsAndLimits(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string // substring; "" = valid
	}{
		{name: "zero value is valid", opts: Options{}},
		{name: "small ring", opts: Options{BlockSize: 4096, NumBlocks: 2, FrameSize: 2048}},
		{name: "block not page multiple", opts: Options{BlockSize: 5000}, wantErr: "block size 5000"},
		{name: "block too big", opts: Options{BlockSize: 2 << 30}, wantErr: "larger than 1 GiB"},
		{name: "negative blocks", opts: Options{NumBlocks: -1}, wantErr: "number of blocks -1"},
		{name: "frame not multiple of 16", opts: Options{FrameSize: 1000}, wantErr: "frame size 1000"},
		{name: "frame not dividing block", opts: Options{BlockSize: 4096, FrameSize: 4000}, wantErr: "frame size 4000"},
		{name: "frame too small", opts: Options{FrameSize: 64}, wantErr: "frame size 64"},
		{name: "block timeout below 1ms", opts: Options{BlockTimeout: time.Microsecond}, wantErr: "block timeout"},
		{name: "too many interfaces", opts: Options{Interfaces: make([]string, maxInterfaces+1)}, wantErr: "interfaces: at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.withDefaults()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("withDefaults: %v", err)
				}
				if got.BlockSize == 0 || got.NumBlocks == 0 || got.FrameSize == 0 || got.BlockTimeout == 0 || got.PollTimeout == 0 {
					t.Fatalf("defaults not filled: %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("withDefaults error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestMaxFrameHoldsGSOFrames(t *testing.T) {
	if got := (Options{}).MaxFrame(); got < 65536+14 {
		t.Fatalf("default MaxFrame %d cannot hold a 64 KiB GSO frame", got)
	}
	if got := (Options{BlockSize: 8192}).MaxFrame(); got != 8192-144 {
		t.Fatalf("MaxFrame of 8 KiB blocks = %d, want %d", got, 8192-144)
	}
}

func TestOpenRejectsUnknownInterface(t *testing.T) {
	_, err := Open(Options{Interfaces: []string{"no-such-if0"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-if0") {
		t.Fatalf("Open with unknown interface: err = %v, want one naming it", err)
	}
}
