// Package lb is the integrated load balancer engine (the illumos ilbadm
// feature set on Linux). It knows nothing of SNMP: a MIB binding drives it
// through Engine.Update with closures over a Config, and reads back
// configuration, statistics and health.
//
// # Configuration
//
// Config holds server groups (servers with IDs _GROUP.N, the lowest free
// number reused), health checks and rules. A change set is a closure run
// on a copy of the configuration; the copy is validated as a whole
// (Config.Validate) and then programmed, so a refused set leaves nothing
// behind. Refusals are *Error values matching one of ErrWrongValue,
// ErrInconsistent, ErrNotFound, ErrExists, ErrInUse or ErrNoResources.
// The configuration is stored as JSON with atomic writes (FileStore).
//
// # Data plane
//
// One nftables table, inet tapagent_ilb, owned by the engine and changed
// by one netlink transaction per reconcile, so packets see either the old
// or the new ruleset. Only the first packet of a connection passes the
// nat chains; conntrack carries the rest:
//
//	prerouting (nat, dstnat)  VIP/protocol/ports → goto the rule's chain
//	rule chain                persistence lookup, then the algorithm
//	                          (numgen or jhash) picks one of a fixed
//	                          number of slots; a verdict map sends the
//	                          slot to a server chain; no usable server:
//	                          counted drop
//	server chain              ct mark := rule and server, ct timeout,
//	                          persistence update, connection count, dnat
//	postrouting (nat, srcnat) NAT rules: snat to the proxy-src range
//	forward (filter)          per-server packet/byte counts by ct mark
//
// DSR rules enter from a raw-priority prerouting chain instead (only
// present while a DSR rule exists): their packets, and answers passing
// back through this node, are notracked, every packet goes through the
// rule chain, and the server chain sets the packet mark (meta mark) to
// the server's mark rather than translating. A policy routing rule per
// server (priority 7300, fwmark M lookup table M) routes the packet,
// unchanged, by a default route via the server (onlink, on the link that
// reaches it). Routes and rules are added before the transaction that
// marks packets for them and removed after the one that stops. Without
// connection state a server is chosen per packet, so DSR refuses round
// robin (ErrInconsistent, lbalg): a hash or persistence keeps a flow on
// its server. A DSR server's connection count counts packets.
//
// The number of slots is fixed per rule (SlotCount, 65537 for maglev),
// so adding, removing, disabling or failing a server rewrites slot map
// elements, never the rule. Hash algorithms keep each slot on its server
// while it is usable and spread the slots of unusable servers over the
// usable ones.
//
// # Health checks
//
// Rules that name a health check have every server of their group
// checked as ilbd does (HealthResults, HealthEvents): at a jittered
// interval (0.5–1.5×) a preliminary ping (unless skipped), then the test
// — PING, a TCP connect, a UDP datagram (ICMP port unreachable is dead,
// silence alive) or an external program with the illumos arguments and
// answer. Failures are retried at once until hc-count in a row make the
// server unreach (ping) or dead (test); a passed test makes it alive.
// Dead and unreach servers stop taking new connections of that rule
// (their slots move, one transaction for all verdicts pending); a server
// whose configuration changes starts over as uninit. One scheduler
// goroutine with a timer heap and a fixed pool of workers run the
// probes, from sockets opened in the engine's namespace.
//
// # Connections
//
// NATEntries lists a rule's connections from conntrack (by ct mark),
// PersistEntries its persistence map. A server disabled or removed from
// a rule with conn-drain > 0 keeps its connections for that many
// seconds; then their conntrack entries are deleted (later packets are
// balanced anew and the old server's connection breaks). conn-drain 0
// lets them run until they end.
//
// # Ownership
//
// One goroutine owns the configuration, the data plane state and the
// store; every API call is a closure run there (the GoBGP style).
package lb
