// Command tapagent is the AgentX subagent that serves the lawful-intercept
// MIBs behind net-snmp's snmpd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/intercept"
	"tapagent/mibs/tap"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tapagent:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("tapagent", flag.ContinueOnError)
	address := fs.String("agentx", agent.DefaultAddress, "master agent: unix:/path/to/socket or tcp:127.0.0.1:705")
	allowRemote := fs.Bool("agentx-allow-remote", false, "allow a TCP master that is not on loopback (AgentX has no authentication)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	jsonLogs := fs.Bool("log-json", false, "log in JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	logger := logrus.New()
	lvl, err := logrus.ParseLevel(*level)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger.SetLevel(lvl)
	if *jsonLogs {
		logger.SetFormatter(&logrus.JSONFormatter{})
	}
	log := logrus.NewEntry(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	engine := intercept.New(intercept.Options{Logger: log.WithField("component", "intercept")})
	sub := agent.New(agent.Config{
		Address:        *address,
		AllowRemoteTCP: *allowRemote,
		Descr:          "tapagent lawful-intercept subagent",
		Logger:         log.WithField("component", "agentx"),
	})
	binding := tap.New(engine, sub, log.WithField("component", "tap-mib"))
	if err := sub.Register(binding.Handler()); err != nil {
		return fmt.Errorf("register TAP MIBs: %w", err)
	}

	engineCtx, stopEngine := context.WithCancel(context.Background())
	defer stopEngine()
	go engine.Run(engineCtx)
	go binding.Run(engineCtx)

	// On SIGTERM/SIGINT tell the mediation devices first (ciscoTap2Switchover
	// goes out through the still open session), then close the session.
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	go func() {
		<-ctx.Done()
		notifyCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		binding.Switchover(notifyCtx)
		cancel()
		stopRun()
	}()

	log.WithField("agentx", *address).Info("tapagent starting")
	err = sub.Run(runCtx)
	log.Info("tapagent stopped")
	if errors.Is(err, agent.ErrRemoteTCP) {
		return fmt.Errorf("--agentx %s: %w (allow it with --agentx-allow-remote)", *address, err)
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	// Leave a moment for the Close PDU to be flushed before the process exits.
	time.Sleep(10 * time.Millisecond)
	return nil
}
