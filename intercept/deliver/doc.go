// Package deliver sends intercepted packets to mediation devices in the
// PacketCable UDP format (transport udp(1) of CISCO-TAP2-MIB, design.md §3):
// one datagram per copy, addressed to the device's address and port, with
//
//	CCCID (4 bytes, big-endian, the stream's ContentId)
//	[NTP timestamp (8 bytes), only if Options.Timestamp]
//	the copy: an IP packet from its first header byte (IP taps) or a whole
//	Ethernet frame with its 802.1Q tags, no FCS (802 taps)
//
// Wireshark decodes it with `-d udp.port==PORT,pcli` (pcli12 with the
// timestamp) and `-d pcli.payload,ip` or `,eth`.
//
// A Sender owns one non-blocking UDP socket per mediation device: DSCP in
// IP_TOS / IPV6_TCLASS, bound to the source interface's address, connected
// to the device, marked with SO_MARK so the capture can leave our own
// copies out. Sends never wait and never allocate: a copy that does not fit
// now is dropped and reported (ErrDropped), because stalling capture would
// lose far more. Batch sends many copies with one sendmmsg call.
//
// Batch sends runs of equal-length copies (the last of a run may be
// shorter) as one UDP GSO message each (UDP_SEGMENT, Linux 4.18 and later;
// up to 128 copies since 6.9, 64 before, and 64 KiB): the kernel cuts it
// into exactly the datagrams that one send per copy would make — same
// bytes, DSCP, checksums — after one trip through the socket and IP layers
// instead of one per copy. A run is accepted or refused whole, so counting
// stays exact. Runs are only formed of copies that fit the path MTU
// unfragmented. When the kernel refuses GSO (EIO on older kernels for a
// device without transmit checksum offload, EINVAL, EMSGSIZE after an MTU
// change) Batch steps down — to 64 segments, to the new MTU, to one
// datagram per copy — and sends the refused run again, nothing lost.
// Behind a queue discipline that may cut a GSO packet and drop part of it
// while reporting success (tbf, cake, taprio, netem on the egress
// interface when the Sender is made), GSO stays off. One gap remains: a
// device without transmit checksum offload makes the kernel cut the GSO
// packet before the device, and a virtual device that can drop single
// datagrams (veth into a full receive backlog) reports only the last
// one's fate. Real NICs, and veth with checksum offload, take the GSO
// packet whole.
//
// What Linux does when the path is slower than the copies (measured, see
// the tests): a full socket send buffer answers EAGAIN; a full egress queue
// discipline drops the datagram and, only because the socket has
// IP_RECVERR / IPV6_RECVERR set, answers ENOBUFS — without RECVERR the
// kernel reports success for a datagram it dropped. Both are ErrDropped.
// Every datagram a send accepted reached the wire in our tests. An ICMP
// error from the device (closed port, unreachable host) fails the next send
// with ErrUnreachable, once.
//
// The package knows nothing of SNMP or of the capture; the engine passes
// bytes and targets.
package deliver
