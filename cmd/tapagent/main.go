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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/intercept"
	"tapagent/intercept/capture"
	"tapagent/intercept/dataplane"
	"tapagent/intercept/deliver"
	"tapagent/lb"
	"tapagent/mibs/ilb"
	portsecmib "tapagent/mibs/portsec"
	"tapagent/mibs/tap"
	"tapagent/portsec"
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
	captureOn := fs.String("capture", "all", "interfaces to intercept on: all (every interface but loopback), none (provisioning only), or a comma-separated list")
	timestamp := fs.Bool("ntp-timestamp", false, "put an 8-byte NTP timestamp after the CCCID of every copy (PacketCable 1.5 style)")
	mark := fs.Uint("delivery-mark", dataplane.DefaultMark, "SO_MARK of delivery sockets; frames with it are never intercepted")
	portsecOn := fs.Bool("portsec", false, "serve CISCO-PORT-SECURITY-MIB and enforce port security on the bridge ports of this namespace (nftables)")
	portsecState := fs.String("portsec-state", "", "directory keeping port-security settings and sticky/static addresses (portsec.json, atomic writes); empty: memory only")
	portsecMinute := fs.Duration("portsec-minute", time.Minute, "length of a port-security minute (aging, shutdown timeout); for tests only")
	portVLANs := map[string]portsec.Membership{}
	fs.Func("portsec-vlans", "NAME=PVID[,VLAN...]: a bridge port's access VLAN and tagged (voice, trunk) VLANs, for bridges without vlan_filtering (repeatable; e.g. p1=10,20)", func(v string) error {
		name, m, err := portsec.ParsePortVLANs(v)
		if err != nil {
			return err
		}
		portVLANs[name] = m
		return nil
	})
	ilbOn := fs.Bool("ilb", false, "serve TAPAGENT-ILB-MIB with the nftables load balancer of this namespace")
	ilbState := fs.String("ilb-state", "/var/lib/tapagent/ilb", "directory of the load balancer's stored configuration")
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

	var dp *dataplane.DataPlane
	engineOpts := intercept.Options{Logger: log.WithField("component", "intercept")}
	if *captureOn != "none" {
		engineOpts.OnArmed = func() { dp.Changed() }
	}
	engine := intercept.New(engineOpts)
	if *captureOn != "none" {
		var ifaces []string
		if *captureOn != "all" {
			ifaces = strings.Split(*captureOn, ",")
		}
		dp = dataplane.NewDataPlane(dataplane.DataPlaneOptions{
			Capture: capture.Options{Interfaces: ifaces},
			Deliver: deliver.Options{Mark: uint32(*mark), Timestamp: *timestamp},
			Logger:  log,
			Taps:    engine.Armed,
			Report:  engine.Report,
		}, engine.StreamCounters())
	}
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
	if *portsecOn {
		closePortsec, err := startPortsec(engineCtx, sub, log, *portsecState, *portsecMinute, portVLANs)
		if err != nil {
			return err
		}
		defer closePortsec() // the kernel table stays and keeps enforcing
	}
	if *ilbOn {
		closeILB, err := startILB(engineCtx, sub, log, *ilbState)
		if err != nil {
			return err
		}
		defer closeILB() // the nftables table stays; the next start adopts it
	}
	go engine.Run(engineCtx)
	go binding.Run(engineCtx)
	if dp != nil {
		go func() {
			if err := dp.Run(engineCtx); err != nil {
				log.WithError(err).Error("intercept data plane stopped: nothing is intercepted")
			}
		}()
	}

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

// startPortsec runs the port-security engine and serves its MIB.
func startPortsec(ctx context.Context, sub *agent.Subagent, log *logrus.Entry, stateDir string, minute time.Duration,
	vlans map[string]portsec.Membership) (func(), error) {
	opts := portsec.Options{Minute: minute, PortVLANs: vlans, Log: log.WithField("component", "portsec")}
	if stateDir != "" {
		opts.Store = portsec.FileStore{Path: filepath.Join(stateDir, "portsec.json")}
	}
	engine, err := portsec.New(opts)
	if err != nil {
		return nil, fmt.Errorf("port security: %w", err)
	}
	binding := portsecmib.New(portsecmib.Options{Engine: engine, Notifier: sub, Minute: minute,
		Log: log.WithField("component", "portsec-mib")})
	if err := binding.Sync(); err != nil {
		engine.Close()
		return nil, fmt.Errorf("port security: %w", err)
	}
	if err := sub.Register(binding.Handler()); err != nil {
		engine.Close()
		return nil, fmt.Errorf("register CISCO-PORT-SECURITY-MIB: %w", err)
	}
	go binding.Run(ctx)
	return func() { engine.Close() }, nil
}

// startILB runs the load balancer engine and serves its MIB.
func startILB(ctx context.Context, sub *agent.Subagent, log *logrus.Entry, stateDir string) (func(), error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("--ilb-state: %w", err)
	}
	engine, err := lb.New(lb.Options{Store: lb.FileStore{Dir: stateDir}})
	if err != nil {
		return nil, fmt.Errorf("--ilb: %w", err)
	}
	binding := ilb.New(engine, sub, log.WithField("component", "ilb-mib"),
		ilb.WithStateFile(filepath.Join(stateDir, "ilb-snmp.json")))
	if err := sub.Register(binding.Handler()); err != nil {
		engine.Close()
		return nil, fmt.Errorf("register TAPAGENT-ILB-MIB: %w", err)
	}
	go binding.Run(ctx) // the only reader of the engine's health events
	return func() { engine.Close() }, nil
}
