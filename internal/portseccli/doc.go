// Package portseccli is the portsec-show command: it walks
// CISCO-PORT-SECURITY-MIB (and IF-MIB's ifName for port names) over SNMP
// and prints what IOS's "show port-security" commands print: a summary of
// the secured ports, one interface in detail (with the per-VLAN maximums
// of trunk and voice ports), or the secure address table.
// Agent, user and SNMPv3 options are those of getmany (internal/snmpcli),
// snmp.conf defaults included.
package portseccli
