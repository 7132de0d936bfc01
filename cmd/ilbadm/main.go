// Command ilbadm manages the integrated load balancer over SNMPv3, with
// the subcommands, options and output formats of illumos ilbadm(1M).
package main

import (
	"os"

	"tapagent/internal/ilbadmcli"
)

func main() { os.Exit(ilbadmcli.Main(ilbadmcli.OSEnv(), os.Args[1:])) }
