// Package classify decides which armed lawful-intercept taps a captured
// frame matches, and builds the kernel pre-filter (classic BPF) that keeps
// frames no tap can match out of user space.
//
// Build compiles the armed taps (intercept.Tap) into an immutable
// Classifier; Match reads one frame and appends one Hit per mediation device
// whose taps match it, listing every matching stream of that device. A tap
// change means a new Classifier (and a new BPF program). The package knows
// nothing of SNMP.
//
// # Cost
//
// Each tap is filed under its most selective field: exact host addresses
// (/32, /128) and MACs in hash tables (flat open addressing for 64-bit
// keys), other prefixes in one small table per prefix length in use, then
// the interface, the EtherType, and a wildcard list for taps with none of
// these. A frame costs one decode plus
// one lookup per non-empty index, whatever the number of taps; only the
// taps found get their remaining fields checked. Match does not allocate
// when dst has room (MakeHits).
//
// # IP taps (citapStreamTable)
//
//   - IPv4 and IPv6 in Ethernet II, behind up to two in-frame 802.1Q/802.1ad
//     tags (0x8100, 0x88A8, 0x9100), or in 802.2 LLC/SNAP with an EtherType
//     (OUI 00-00-00 or 00-00-F8). A tag the kernel stripped is not in Data
//     and changes nothing. A tap matches packets of its AddrFamily only,
//     even with no address.
//   - Dst and Src prefixes: host bits are ignored; length 0 or unset = any.
//   - Protocol -1 matches any. Otherwise, IPv4: the protocol field. IPv6:
//     the upper-layer protocol after the extension headers (Hop-by-Hop,
//     Routing, Fragment, Destination Options, AH, Mobility, HIP, Shim6; at
//     most 8 followed) or any next-header value on the way, so 0 (HOPOPT)
//     matches IPv6 packets with a Hop-by-Hop header and 44 fragments.
//   - Ports: TCP, UDP and SCTP only. A tap whose source or destination range
//     is narrower than 0..65535 needs a packet with ports in range; packets
//     without ports (other protocols, non-first fragments, truncated
//     headers) match only taps with both ranges full.
//   - TOS: (TOS byte & mask) == byte; for IPv6 the traffic class.
//   - FlowID -1: unused; else the IPv6 flow label must equal it (IPv4
//     packets never match).
//   - Interface >0: the ifIndex the frame is seen on (either direction).
//     0: any. -1: the interface Config.RouteIfIndex gives for Dst (or Src
//     if Dst is any), resolved at Build; unknown = any. -2 (VoIP): the
//     session is described by Src and the source ports, which are matched
//     as written; the interface is any.
//   - VRF: the VRF of the interface the frame is seen on (Config.VRFOf) must
//     equal the tap's; "" is the global table. Without VRFOf every interface
//     is global, so taps on a named VRF never match.
//
// # 802 taps (c802tapStreamTable)
//
// Every flagged field must match:
//
//   - interface: >0 the ifIndex the frame is seen on; 0 any; -1 the port
//     Config.LearnedPort gives for the flagged source MAC (else destination
//     MAC), resolved at Build; unknown = any.
//   - dstMac, srcMac: equal. Both flagged with the same address: the frame
//     is from OR to that address (intercept.MACFilter.EitherDirection).
//   - ethernetPid: the EtherType after in-frame VLAN tags, or of an
//     LLC/SNAP header as above.
//   - dstLlcSap, srcLlcSap: 802.3 frames (length field) with an LLC header;
//     the DSAP compares as is, the SSAP without its command/response bit.
//   - cmMacAddress (the modem: Src, else Dst): every frame seen on the port
//     where LearnedPort says the modem's MAC is learned, from the modem or
//     from devices behind it; the dstMac/srcMac fields naming the modem are
//     covered by that. Port unknown: frames from or to the modem's MAC.
//
// Multicast and broadcast frames are matched like any other.
//
// # Hits
//
// One Hit per mediation device, even when several of its streams match;
// two devices with identical taps get two Hits. The Hit lists each matching
// stream once. IP taps deliver from the IP header (Layer IP, Offset of the
// header in Data); a device whose 802 tap matches gets the whole frame
// (Layer Ethernet), also when an IP tap of it matched too. A packet seen on
// ingress and egress is matched twice: one copy per device and packet is the
// delivery's job (Packet.Outgoing).
//
// # Pre-filter
//
// BPF returns a classic BPF program built from the same taps: it compares
// MACs, EtherTypes and addresses, coarsening to shorter prefixes, the MAC
// OUI, the EtherType alone or "accept" when the keys exceed the compare
// budget. It accepts every frame Match would match (tested with random taps
// and frames on the x/net/bpf VM) and can drop our own deliveries by skb
// mark.
package classify
