// Package capture reads the element's traffic from a Linux AF_PACKET
// TPACKET_V3 ring: every frame, in and out, of every interface except
// loopback (or of a given list), without copying or allocating per frame.
//
// # Design
//
// One socket bound to all interfaces (ifindex 0) feeds one ring. Which
// interfaces count is decided in the kernel by a small classic-BPF prologue
// in front of the caller's filter: "not loopback" by default (so interfaces
// created or brought up later are captured without reopening), or "one of
// these ifindexes" for an explicit list. The same prologue drops frames that
// carry Options.IgnoreMark, the SO_MARK of our delivery sockets, so copies
// we send are never intercepted again. SetBPF swaps the caller's part (the
// tap pre-filter) atomically; the socket is bound only after the first
// filter is attached, so no unfiltered frame ever reaches the ring.
//
// Frames are whole: TPACKET_V3 packs variable-size frames into blocks, so
// any frame up to a block (default 1 MiB) is kept entire — 64 KiB GRO/GSO
// aggregates included. A frame cut shorter (a filter's snap length, a block
// too small) has len(Data) < WireLen and is counted in Stats.Truncated.
// Outgoing frames (locally sent or forwarded) are captured and flagged
// (Frame.Type == Outgoing); a VLAN tag removed by offload is reported in
// Frame.VLAN. A frame that crosses a bridge, a VLAN device or leaves after
// arriving is seen once per interface and direction: de-duplication is the
// caller's business.
//
// The package uses golang.org/x/sys/unix rather than gopacket's afpacket:
// afpacket (v1.1.19) needs cgo, does not expose the packet direction
// (sll_pkttype), drops the VLAN PCP bits and TPID, and allocates for every
// VLAN-tagged frame. The Ring still is a gopacket PacketDataSource.
//
// BareReader is the baseline reader for throughput comparisons: the same
// ring, counting block headers only.
package capture
