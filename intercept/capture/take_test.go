package capture

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNextDecodesKernelHeaders(t *testing.T) {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	blocks := [][]fakeFrame{
		{
			// Incoming untagged frame.
			{data: []byte("plain frame"), ifindex: 3, hatype: unix.ARPHRD_ETHER, pkttype: 0, ts: ts},
			// Outgoing, tag removed by offload, TPID known, checksum pending.
			{data: []byte("tagged out"), ifindex: 4, hatype: unix.ARPHRD_ETHER, pkttype: 4,
				status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID | unix.TP_STATUS_CSUMNOTREADY,
				tci:    0xa064, tpid: 0x88a8, ts: ts.Add(time.Microsecond)},
		},
		{}, // an empty block handed over on timeout is skipped
		{
			// Tag without a valid TPID: 802.1Q assumed. Truncated by snap length.
			{data: []byte("cut"), wireLen: 1514, ifindex: 5, hatype: 65534, pkttype: 2,
				status: unix.TP_STATUS_VLAN_VALID, tci: 7, ts: ts},
		},
	}
	want := []Frame{
		{Data: []byte("plain frame"), WireLen: 11, NetOffset: 14, IfIndex: 3, HwType: 1, Type: Host, Timestamp: ts},
		{Data: []byte("tagged out"), WireLen: 10, NetOffset: 14, IfIndex: 4, HwType: 1, Type: Outgoing,
			VLAN: VLAN{Present: true, TPID: 0x88a8, TCI: 0xa064}, Timestamp: ts.Add(time.Microsecond), ChecksumPending: true},
		{Data: []byte("cut"), WireLen: 1514, NetOffset: 14, IfIndex: 5, HwType: 65534, Type: Multicast,
			VLAN: VLAN{Present: true, TPID: 0x8100, TCI: 7}, Timestamp: ts},
	}
	r := fakeRing(t, 4096, blocks)
	for i, w := range want {
		if i == 0 && r.Buffered() != 0 {
			t.Fatalf("Buffered before the first Next = %d", r.Buffered())
		}
		got, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got.Data, w.Data) || !got.Timestamp.Equal(w.Timestamp) {
			t.Fatalf("frame %d: data %q at %v, want %q at %v", i, got.Data, got.Timestamp, w.Data, w.Timestamp)
		}
		if got.WireLen != w.WireLen || got.NetOffset != w.NetOffset || got.IfIndex != w.IfIndex ||
			got.HwType != w.HwType || got.Type != w.Type || got.VLAN != w.VLAN || got.ChecksumPending != w.ChecksumPending {
			t.Fatalf("frame %d:\n got %+v\nwant %+v", i, got, w)
		}
		if i == 0 && r.Buffered() != 1 {
			t.Fatalf("Buffered after the first of two = %d, want 1", r.Buffered())
		}
	}
	if !ready(r.s.block(2)) {
		t.Fatal("block 2 given back while its frame may still be in use")
	}
	if _, err := r.Next(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Next past the last block: %v, want ErrTimeout", err)
	}
	for i := range blocks {
		if ready(r.s.block(i)) {
			t.Fatalf("block %d not given back to the kernel", i)
		}
	}
	if got := r.s.truncated.Load(); got != 1 {
		t.Fatalf("truncated = %d, want 1", got)
	}
	if f := (&Frame{Type: Outgoing}); !f.Outgoing() || Outgoing.String() != "outgoing" || PacketType(9).String() != "pkttype(9)" {
		t.Fatal("PacketType helpers")
	}
}

// BenchmarkNext measures Next alone on ready blocks of 64-byte frames; the
// benchmark plays the kernel and hands each block back as soon as it is
// released.
func BenchmarkNext(b *testing.B) {
	const blockSize, perBlock, numBlocks = 1 << 16, 400, 4
	frame := make([]byte, 64)
	blocks := make([][]fakeFrame, numBlocks)
	for i := range blocks {
		for range perBlock {
			blocks[i] = append(blocks[i], fakeFrame{data: frame, ifindex: 2, hatype: 1, ts: time.Now()})
		}
	}
	r := fakeRing(b, blockSize, blocks)
	sum := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r.left == 0 && r.cur != nil {
			r.markReady((r.idx + 1) % numBlocks)
		}
		f, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		sum += len(f.Data)
	}
	if sum != 64*b.N {
		b.Fatalf("read %d bytes, want %d", sum, 64*b.N)
	}
}
