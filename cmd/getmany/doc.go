// Command getmany reads MIB objects from an SNMP agent, in the
// command-line syntax of SNMP Research's getmany: an object with an
// instance is fetched, anything else is walked.
//
//	getmany [-v1|-v2c|-v3] [-timeout S] [-retries N] AGENT USER|COMMUNITY OBJ[.IDX] ...
//
// Output is one "name.index = value" line per instance. Exit status: 0
// done, 1 the agent refused or did not answer, 2 bad input.
package main
