// Package testbed runs real net-snmp processes for tests and benchmarks: a
// private snmpd (AgentX master on a socket in a temp dir, SNMPv3 users li
// and admin, an LI view holding the TAP trees and an admin view without
// them), a snmptrapd playing the mediation device, and the tapagent binary
// built once per test process.
//
// The snmpd configuration comes from scripts/snmpd-conf.sh and snmpd is
// started by scripts/snmpd-start.sh, the same code path `make run` and the
// Dockerfile use. Every process is started in its own process group and
// killed with it by t.Cleanup, also when the test fails.
//
// Options.NetNS, TrapdOptions.NetNS and AgentOptions.NetNS run the
// processes inside a network namespace (see internal/netlab); the clients
// the bed makes (Client, LIClient, AdminClient, NetSNMPCommand) then run
// there too, so 127.0.0.1 means the namespace's own loopback.
package testbed
