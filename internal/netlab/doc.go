// Package netlab builds throw-away networks of Linux network namespaces for
// data-plane tests: namespaces, veth pairs, bridges, addresses from
// 198.18.0.0/15 and 2001:db8::/32, routes and forwarding, plus two ready
// topologies (RouterLab: h1 — router — h2 with a mediation device and a
// management link; BridgeLab: three hosts on one bridge and a routed MD).
//
// Everything a Lab creates is named after the test process id
// (nl<pid>-<lab>-<role>, root links nl<pid>m<n>) and removed by t.Cleanup,
// also when the test fails; leftovers of test processes that died are
// removed by the next New. The namespaces are kept quiet so that tests can
// count packets: no IPv6 DAD, no link-local addresses (so no router
// solicitations), MLD reports dropped by an nft table (netlab_quiet),
// static neighbour entries instead of ARP/ND, and no transmit checksum
// offload, so captured packets carry their real checksums.
//
// Tools for the namespaces: NS.Do runs Go code on a thread inside a
// namespace (sockets made there stay there), NS.Command and Lab.Exec run
// programs there, and the senders (UDP, TCP, ICMP echo, raw Ethernet
// frames) send exact counts, bounded in time, and return the bytes they
// sent. Sniff records an interface (802.1Q tags restored), ListenUDP
// counts datagrams, and CaptureMD records what a mediation device receives
// with dumpcap and decodes it with tshark's PacketCable (pcli) dissector.
// internal/testbed starts snmpd, snmptrapd and subagents inside a lab
// namespace (Options.NetNS, TrapdOptions.NetNS).
//
// All namespaces share the kernel's per-CPU receive backlog: a flood in
// one lab can make another lab running at the same time lose packets, so
// keep flooding tests out of parallel exact-count tests.
//
// Tests using netlab must run as root.
package netlab
