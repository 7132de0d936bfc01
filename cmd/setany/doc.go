// Command setany sets MIB objects on an SNMP agent, in the command-line
// syntax of SNMP Research's setany:
//
//	setany [-v1|-v2c|-v3] [-timeout S] [-retries N] AGENT USER|COMMUNITY OBJ.IDX -TYPE VALUE ...
//
// Run setany -help for the options and value types. Exit status: 0 done,
// 1 the agent refused or did not answer, 2 bad input (nothing was sent).
package main
