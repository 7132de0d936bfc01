// Package portsec binds CISCO-PORT-SECURITY-MIB (ciscoMgmt 315) to the
// port-security engine (tapagent/portsec). One table.Group serves the
// global scalars, cpsIfConfigTable (one row per Linux bridge port, indexed
// by the kernel ifindex), cpsIfVlanSecureMacAddrTable and its deprecated
// VLAN-less twin cpsSecureMacAddressTable (static addresses are created
// and destroyed there; learned ones are shown), and cpsIfMultiVlanTable
// (per port and VLAN counts; the engine has no per-VLAN limit yet, so only
// "no limit of its own" is accepted).
//
// A SET PDU becomes one engine change set. The engine validates it against
// the state after the whole PDU (PacketFence's destroy + createAndGo at a
// maximum of 1 passes) and this package maps its RuleErrors to SNMP codes
// on the varbind at fault. Rows follow the engine: learned, aged and
// flushed addresses appear and disappear as its events arrive, and a
// periodic sync catches the rest (new bridge ports, missed events).
//
// Violation events of dropNotify and shutdown ports become
// cpsSecureMacAddrViolation (cpsIfVlanSecureMacAddrViolation when the
// frame's VLAN is not the port's access VLAN), gated by
// cpsGlobalSNMPNotifControl and capped by cpsGlobalSNMPNotifRate with a
// token bucket, and a syslog line (see Syslog).
package portsec
