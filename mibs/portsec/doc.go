// Package portsec binds CISCO-PORT-SECURITY-MIB (ciscoMgmt 315) to the
// port-security engine (tapagent/portsec). One table.Group serves the
// global scalars, cpsIfConfigTable (one row per Linux bridge port, indexed
// by the kernel ifindex), cpsIfVlanSecureMacAddrTable (one row per secure
// MAC and VLAN; static addresses are created and destroyed there, learned
// ones are shown), its deprecated VLAN-less twin cpsSecureMacAddressTable
// (one row per MAC: creating secures it in the port's PVID, destroying
// removes it from every VLAN), and cpsIfMultiVlanTable (per port, the
// VLANs with a limit of their own and the VLANs holding addresses:
// createAndGo and the maximum column set a limit, destroy removes it).
//
// A SET PDU becomes one engine change set. The engine validates it against
// the state after the whole PDU (PacketFence's destroy + createAndGo at a
// maximum of 1 passes) and this package maps its RuleErrors to SNMP codes
// on the varbind at fault. Rows follow the engine: learned, aged and
// flushed addresses appear and disappear as its events arrive, and a
// periodic sync catches the rest (new bridge ports, missed events).
//
// Violation events of dropNotify and shutdown ports become
// cpsSecureMacAddrViolation, or cpsIfVlanSecureMacAddrViolation (with the
// VLAN) on ports that carry several VLANs and for violations of a
// per-VLAN limit, gated by cpsGlobalSNMPNotifControl and capped by
// cpsGlobalSNMPNotifRate with a token bucket, and a syslog line (see
// Syslog); a VLAN err-disabled on a multi-VLAN port ("shutdown vlan") is
// a syslog line of its own.
package portsec
