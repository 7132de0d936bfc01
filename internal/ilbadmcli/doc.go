// Package ilbadmcli is the ilbadm command: the illumos ilbadm(1M)
// subcommands, options and output formats, speaking SNMPv3 to the
// agent's TAPAGENT-ILB-MIB.
//
// A command line is parsed into a Command before anything is sent (bad
// input never reaches the agent). A change reads the running
// configuration, applies the change to a copy with the load balancer's
// own rules (lb.Config), so a refusal is explained in the engine's words,
// and sends the difference as one SET request: the agent validates and
// applies it as one transaction, so a refused command leaves nothing half
// created.
package ilbadmcli
