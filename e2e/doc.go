// Package e2e holds the end-to-end acceptance tests of tapagent: each test
// starts a private net-snmp snmpd on loopback with tapagent behind it
// (internal/testbed) and drives them the way a mediation device, an
// administrator or a script would — with our setany/getmany, with
// net-snmp's own command-line tools and with gosnmp managers — then checks
// what comes back on the wire.
//
// The package has no non-test code; run it with
//
//	go test -count=1 ./e2e/
package e2e
