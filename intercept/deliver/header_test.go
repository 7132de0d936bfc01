package deliver

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPutNTP(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want []byte
	}{
		// 2,208,988,800 s from 1900 to 1970 = 0x83AA7E80.
		{name: "unix epoch", at: time.Unix(0, 0), want: []byte{0x83, 0xaa, 0x7e, 0x80, 0, 0, 0, 0}},
		// 2000-01-01 is 3,155,673,600 s = 0xBC17C200; half a second = 2^31.
		{name: "Y2K and a half", at: time.Date(2000, 1, 1, 0, 0, 0, 500_000_000, time.UTC), want: []byte{0xbc, 0x17, 0xc2, 0x00, 0x80, 0, 0, 0}},
		// A quarter second = 2^30; the time zone does not matter.
		{name: "quarter in another zone", at: time.Date(2000, 1, 1, 1, 0, 0, 250_000_000, time.FixedZone("CET", 3600)), want: []byte{0xbc, 0x17, 0xc2, 0x00, 0x40, 0, 0, 0}},
		// NTP era 0 ends 2036-02-07T06:28:16Z: the seconds wrap to 0.
		{name: "era rollover", at: time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), want: []byte{0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]byte, 8)
			PutNTP(got, tt.at)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("PutNTP(%v) = %x, want %x", tt.at, got, tt.want)
			}
		})
	}
}

func TestNTPRoundTripKeepsNanoseconds(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2025, 6, 1, 12, 0, 0, 1, time.UTC),
		time.Date(2025, 6, 1, 12, 0, 0, 999_999_999, time.UTC),
		time.Date(2030, 12, 31, 23, 59, 59, 123_456_789, time.UTC),
	} {
		b := make([]byte, 8)
		PutNTP(b, at)
		if got := NTPTime(b); !got.Equal(at) {
			t.Fatalf("round trip of %v gave %v", at, got)
		}
	}
}

func TestInsertVLAN(t *testing.T) {
	frame := []byte{
		1, 2, 3, 4, 5, 6, // destination MAC
		7, 8, 9, 10, 11, 12, // source MAC
		0x08, 0x00, // EtherType IPv4
		0x45, 0x00, // start of the IP header
	}
	tests := []struct {
		name    string
		frame   []byte
		dstLen  int
		tpid    uint16
		tci     uint16
		want    []byte
		wantErr error
	}{
		{name: "802.1Q PCP 5 VID 100", frame: frame, dstLen: 64, tpid: 0x8100, tci: 0xa064,
			want: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, 0x45, 0x00}},
		{name: "802.1ad exact fit", frame: frame, dstLen: len(frame) + 4, tpid: 0x88a8, tci: 7,
			want: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xa8, 0x00, 0x07, 0x08, 0x00, 0x45, 0x00}},
		{name: "MACs only", frame: frame[:12], dstLen: 16, tpid: 0x8100, tci: 1,
			want: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0x00, 0x01}},
		{name: "frame too short", frame: frame[:11], dstLen: 64, wantErr: ErrShortFrame},
		{name: "buffer too small", frame: frame, dstLen: len(frame) + 3, wantErr: ErrShortBuf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InsertVLAN(make([]byte, tt.dstLen), tt.frame, tt.tpid, tt.tci)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("InsertVLAN = %x, want %x", got, tt.want)
			}
		})
	}
	dst := make([]byte, 64)
	if n := testing.AllocsPerRun(100, func() { _, _ = InsertVLAN(dst, frame, 0x8100, 5) }); n != 0 {
		t.Fatalf("InsertVLAN allocates %.1f times", n)
	}
}

func TestSendErrorKinds(t *testing.T) {
	tests := []struct {
		errno unix.Errno
		kind  error
	}{
		{unix.EAGAIN, ErrDropped},
		{unix.ENOBUFS, ErrDropped},
		{unix.ECONNREFUSED, ErrUnreachable},
		{unix.EHOSTUNREACH, ErrUnreachable},
		{unix.ENETUNREACH, ErrUnreachable},
		{unix.ENETDOWN, ErrUnreachable},
		{unix.EMSGSIZE, ErrTooBig},
		{unix.EBADF, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			err := sendErr(tt.errno)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("sendErr(%v) = %v, want kind %v", tt.errno, err, tt.kind)
			}
			if tt.kind != ErrClosed && !errors.Is(err, tt.errno) {
				t.Fatalf("sendErr(%v) = %v hides the errno", tt.errno, err)
			}
			if n := testing.AllocsPerRun(50, func() { _ = sendErr(tt.errno) }); n != 0 {
				t.Fatalf("sendErr(%v) allocates %.1f times", tt.errno, n)
			}
		})
	}
	other := sendErr(unix.EPERM)
	if !errors.Is(other, unix.EPERM) || errors.Is(other, ErrDropped) || errors.Is(other, ErrUnreachable) {
		t.Fatalf("unexpected errno mapped to %v", other)
	}
}
