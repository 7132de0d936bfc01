// Command portsec-show prints port security like IOS's show port-security
// commands, from a walk of CISCO-PORT-SECURITY-MIB over SNMP:
//
//	portsec-show [options] AGENT USER                  summary of the secured ports
//	portsec-show [options] AGENT USER interface p1     one port in detail
//	portsec-show [options] AGENT USER address          the secure address table
//	portsec-show [options] AGENT USER interface p1 address
//
// Options, agent syntax and snmp.conf defaults are getmany's. Exit status:
// 0 done, 1 the agent refused or did not answer, 2 bad input.
package main

import (
	"os"

	"tapagent/internal/portseccli"
	"tapagent/internal/snmpcli"
)

func main() { os.Exit(portseccli.Run(snmpcli.OSEnv(), os.Args[1:])) }
