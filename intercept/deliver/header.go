package deliver

import (
	"encoding/binary"
	"errors"
	"time"
)

// Sizes of the PacketCable header (design.md §3).
const (
	cccidLen     = 4 // Call Content Connection ID, big-endian
	timestampLen = 8 // NTP timestamp: seconds since 1900, 2^-32 fractions
	vlanTagLen   = 4 // TPID + TCI
	macPairLen   = 12
)

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP) to
// 1970-01-01 (Unix).
const ntpEpochOffset = 2_208_988_800

// PutNTP writes t as a 64-bit NTP timestamp into b[:8]. Seconds wrap in
// 2036 as NTP era 0 ends, which is what NTP readers expect.
func PutNTP(b []byte, t time.Time) {
	secs := uint32(t.Unix() + ntpEpochOffset)
	frac := uint32((uint64(t.Nanosecond()) << 32) / 1_000_000_000)
	binary.BigEndian.PutUint32(b[0:], secs)
	binary.BigEndian.PutUint32(b[4:], frac)
}

// NTPTime is the inverse of PutNTP for era 0 (until 2036).
func NTPTime(b []byte) time.Time {
	secs := int64(binary.BigEndian.Uint32(b[0:])) - ntpEpochOffset
	nanos := (uint64(binary.BigEndian.Uint32(b[4:]))*1_000_000_000 + 1<<31) >> 32
	return time.Unix(secs, int64(nanos))
}

// Errors of InsertVLAN.
var (
	ErrShortFrame = errors.New("deliver: frame shorter than two MAC addresses")
	ErrShortBuf   = errors.New("deliver: buffer too small for the tagged frame")
)

// InsertVLAN writes frame into dst with a VLAN tag (tpid, tci) put back
// after the MAC addresses, where the kernel took it from (VLAN offload),
// and returns the tagged frame, a prefix of dst. dst needs len(frame)+4
// bytes; dst and frame must not overlap. It never allocates.
func InsertVLAN(dst, frame []byte, tpid, tci uint16) ([]byte, error) {
	if len(frame) < macPairLen {
		return nil, ErrShortFrame
	}
	n := len(frame) + vlanTagLen
	if len(dst) < n {
		return nil, ErrShortBuf
	}
	copy(dst, frame[:macPairLen])
	binary.BigEndian.PutUint16(dst[macPairLen:], tpid)
	binary.BigEndian.PutUint16(dst[macPairLen+2:], tci)
	copy(dst[macPairLen+vlanTagLen:], frame[macPairLen:])
	return dst[:n], nil
}
