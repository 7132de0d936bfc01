// Command minagent runs the minimal AgentX responder of package
// bench/minimal as its own process, so that the latency figures compare it
// with the tapagent binary under the same conditions: a separate process
// on the same snmpd socket. It serves a table of --cols × --rows cells
// under --subtree (entry subtree.1) until SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tapagent/agent/agentx"
	"tapagent/bench/minimal"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "minagent:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("minagent", flag.ContinueOnError)
	address := fs.String("agentx", "unix:/var/agentx/master", "master agent: unix:/path or tcp:host:port")
	subtree := fs.String("subtree", ".1.3.6.1.4.1.9.9.397", "subtree to register and serve")
	cols := fs.Int("cols", 12, "columns of the served table")
	rows := fs.Int("rows", 1, "rows of the served table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tree, err := agentx.ParseOID(*subtree)
	if err != nil {
		return fmt.Errorf("--subtree: %w", err)
	}
	if *cols < 1 || *rows < 0 {
		return fmt.Errorf("--cols %d --rows %d: want at least one column and no negative rows", *cols, *rows)
	}
	r, err := minimal.Dial(*address, tree, minimal.Table(tree, *cols, *rows))
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		r.Close()
	}()
	fmt.Fprintf(os.Stderr, "minagent: serving %d × %d cells under %s\n", *cols, *rows, tree)
	return r.Serve()
}
