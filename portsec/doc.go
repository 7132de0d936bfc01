// Package portsec is the port-security engine: it limits which source MAC
// addresses may enter the ports of a Linux bridge, the way switch port
// security does (CISCO-PORT-SECURITY-MIB semantics), and knows nothing of
// SNMP.
//
// # Enforcement lives in the kernel
//
// Everything that decides the fate of a frame is one nftables table,
// bridge tapagent_portsec, rebuilt by one atomic transaction per
// reconcile. Per secure port (by ifindex) it holds a set of allowed
// source MACs whose size is the port's maximum. Frames from a MAC in the
// set pass (refreshing its timeout for inactivity aging); a MAC secured on
// another port is a violation; any other MAC is learned by the kernel
// itself (a dynset "add"), which fails once the set is full so the frame
// falls through to the violation rule. Learn and violation events go to an
// nflog group and violations are also counted in a named counter per
// port. On a shutdown port the violation rule also puts the port into
// the "shut" set, which the base chain drops first: the port is closed
// with the offending frame, before the engine sets the link down. The
// table outlives the process: if the agent dies, unknown MACs are still
// dropped and shut ports stay shut (fail-closed), and a new agent adopts
// the kernel's sets instead of flushing them.
//
// # Generations
//
// Every reset of a port's set (enable, addresses removed, link-down
// flush) gives the port a new generation, written into its log prefixes
// in the same transaction. nflog messages of an older generation, read
// after the reset, are ignored instead of bringing addresses back; the
// poll of the kernel sets catches any real learn ignored that way.
//
// # Netlink limits
//
// Element lists go in messages of at most 1,024 elements (the list's
// length field has 16 bits) within one batch, on a socket with large
// buffers and capped acknowledgements, so a reconcile of thousands of
// addresses stays one atomic transaction.
//
// # Ownership
//
// One goroutine (the engine loop) owns the model; every API call is a
// closure run there. nflog events and a periodic poll of the kernel sets
// (the kernel reports no expiry) feed the same loop.
//
// # Changes are transactions
//
// Validate and Apply take a change set, the shape of one SNMP SET PDU.
// Rules such as "the maximum may not drop below the current number of
// secure addresses" are checked against the state the whole set produces
// (PacketFence replaces a MAC at maximum 1 by destroy + create in one
// PDU). Broken rules come back as *RuleError, matching ErrWrongValue or
// ErrInconsistent with errors.Is, for a binding to map to SNMP codes.
//
// # VLANs
//
// A secure address is a MAC in a VLAN (nft key "ether saddr . vlan id"):
// tagged frames are in their VLAN, untagged and priority-tagged ones in
// the port's PVID. The ports' VLANs come from the bridge when it filters
// VLANs, else from Options.PortVLANs (tapagent --portsec-vlans; kernels
// built without CONFIG_BRIDGE_VLAN_FILTERING, like the ones our tests run
// on, need it). A port with a PVID and one tagged VLAN is an access port
// with a voice VLAN (IOS "switchport voice vlan"), and needs a maximum of
// at least 2; one with more VLANs is a trunk. Tagged frames of VLANs a
// port does not carry are dropped before learning.
//
// A VLAN may have a limit of its own below the port's (the MIB's
// cpsIfMultiVlanTable): its addresses also go into a set of that size,
// learned in the same rule as the port's set. When the VLAN is full the
// violation is VLAN-only; on a multi-VLAN port in shutdown mode it
// err-disables only that VLAN on the port ("shutdown vlan", set
// shutvlan): its frames are dropped in both directions, the link stays
// up, and ShutdownTimeout brings the VLAN back.
//
// # Restarts
//
// Err-disabled ports and VLANs and their recovery times are stored with
// the configuration, so a restarted agent recovers them when it was due
// to, not a full timeout later. Link changes come by netlink
// notification: dynamic addresses flush as the link goes down.
package portsec
