// Package snmpcli is the shared code of the setany and getmany commands:
// command-line parsing in the SNMP Research style, value parsing and
// printing by MIB syntax, net-snmp snmp.conf defaults, and the gosnmp
// session that carries the requests.
//
// Parsing is kept apart from I/O: a command line becomes a SetCommand or
// GetCommand (every name resolved, every value parsed) before any socket is
// opened, so bad input never sends anything. The exit codes are ExitOK,
// ExitFailure (the agent said no, or did not answer) and ExitUsage (the
// command line or configuration is wrong).
package snmpcli
