package capture

import (
	"encoding/binary"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fakeFrame is one packet for a synthetic ring, with the metadata the
// kernel would write next to it.
type fakeFrame struct {
	data    []byte
	wireLen int // 0: len(data)
	ifindex int32
	hatype  uint16
	pkttype uint8
	status  uint32 // TP_STATUS_* bits of the packet
	tci     uint32
	tpid    uint16
	ts      time.Time
}

// fakeRing lays frames out in memory the way the kernel fills a TPACKET_V3
// ring (linux/if_packet.h; one frame list per block), so Next can be tested
// and measured without a socket. Blocks are marked as handed to user space.
func fakeRing(t testing.TB, blockSize int, blocks [][]fakeFrame) *Ring {
	t.Helper()
	mem := make([]byte, blockSize*len(blocks))
	for i, frames := range blocks {
		base := i * blockSize
		off := 48 // first packet after the block descriptor
		for j, fr := range frames {
			const mac, net = 82, 96 // Ethernet: netoff = align16(68 + 16)
			end := off + mac + len(fr.data)
			next := (end + 15) &^ 15
			if next > blockSize {
				t.Fatalf("block %d: frames do not fit", i)
			}
			h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&mem[base+off]))
			if j < len(frames)-1 {
				h.Next_offset = uint32(next - off)
			}
			h.Sec, h.Nsec = uint32(fr.ts.Unix()), uint32(fr.ts.Nanosecond())
			h.Snaplen = uint32(len(fr.data))
			h.Len = uint32(len(fr.data))
			if fr.wireLen != 0 {
				h.Len = uint32(fr.wireLen)
			}
			h.Status = fr.status
			h.Mac, h.Net = mac, net
			h.Hv1.Vlan_tci, h.Hv1.Vlan_tpid = fr.tci, fr.tpid
			sll := mem[base+off+tpacket3HdrLen:]
			binary.NativeEndian.PutUint16(sll[0:], unix.AF_PACKET)
			binary.NativeEndian.PutUint32(sll[4:], uint32(fr.ifindex))
			binary.NativeEndian.PutUint16(sll[8:], fr.hatype)
			sll[10] = fr.pkttype
			copy(mem[base+off+mac:], fr.data)
			off = next
		}
		hdr := (*unix.TpacketHdrV1)(unsafe.Pointer(&(*unix.TpacketBlockDesc)(unsafe.Pointer(&mem[base])).Hdr[0]))
		hdr.Num_pkts = uint32(len(frames))
		hdr.Offset_to_first_pkt = 48
		hdr.Block_status = unix.TP_STATUS_USER
	}
	s := &ringSocket{
		opts: Options{BlockSize: blockSize, NumBlocks: len(blocks)},
		fd:   -1, wake: -1, ring: mem,
	}
	// A reader that runs out of blocks polls nothing (fd -1) for 0 ms and
	// gets ErrTimeout.
	return &Ring{s: s}
}

// markReady hands block i back to the reader, as the kernel does after
// refilling it.
func (r *Ring) markReady(i int) {
	r.s.block(i).Block_status = unix.TP_STATUS_USER
}
