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
// The number of slots is fixed per rule (SlotCount, 65537 for maglev),
// so adding, removing, disabling or failing a server rewrites slot map
// elements, never the rule. Hash algorithms keep each slot on its server
// while it is usable and spread the slots of unusable servers over the
// usable ones.
//
// # Ownership
//
// One goroutine owns the configuration, the data plane state and the
// store; every API call is a closure run there (the GoBGP style).
package lb
