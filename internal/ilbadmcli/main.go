package ilbadmcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tapagent/internal/snmpcli"
	"tapagent/mibs"
)

// Exit codes, as setany's.
const (
	ExitOK      = 0
	ExitFailure = 1 // refused by the agent or the configuration rules, or no answer
	ExitUsage   = 2 // bad command line; nothing was sent
)

// Env is what ilbadm needs from the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
	// Dial opens an SNMP session; the function it returns closes it.
	Dial  func(o snmpcli.Options) (snmpcli.Client, func(), error)
	Now   func() time.Time
	Sleep func(time.Duration)
}

// OSEnv is the environment of a real process.
func OSEnv() Env {
	return Env{
		Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv,
		Dial: func(o snmpcli.Options) (snmpcli.Client, func(), error) {
			g, err := snmpcli.Dial(context.Background(), o, maxVarBinds)
			if err != nil {
				return nil, nil, err
			}
			return g, func() { _ = g.Close() }, nil
		},
		Now: time.Now, Sleep: time.Sleep,
	}
}

// maxVarBinds bounds one SET: gosnmp refuses larger requests (an import
// of thousands of servers still fits a few hundred kilobytes, which
// snmpd's 64 KiB message limit does not; see the README).
const maxVarBinds = 1 << 16

// Usage is the synopsis.
const Usage = `usage: ilbadm [--agent HOST[:PORT]] [-u USER] [SNMPv3 options] SUBCOMMAND ...
  create-rule|create-rl [-e] [-p] -i vip=V,port=P[-P][,protocol=tcp|udp]
        -m lbalg=ALG,type=DSR|NAT|HALF-NAT[,proxy-src=A[-B]][,pmask=N]
        [-h hc-name=HC[,hc-port=ANY|ALL|N]] [-t [conn-drain=N][,nat-timeout=N][,persist-timeout=N]]
        -o servergroup=SG NAME
  delete-rule|delete-rl -a | NAME ...        enable-rule|enable-rl [NAME ...]
  disable-rule|disable-rl [NAME ...]         show-rule|show-rl [-e|-d] [-f|[-p] -o FIELD,...] [NAME ...]
  show-statistics|show-stats [[-p] -o FIELD,...] [-tdAvi] [-r RULE|-s SERVER] [INTERVAL [COUNT]]
  create-servergroup|create-sg [-s server=HOST[:PORT[-PORT]],...] SG
  delete-servergroup|delete-sg SG            show-servergroup|show-sg [-s|-f|[-p] -o FIELD,...] [SG]
  add-server|add-srv -s server=HOST[:PORT],... SG
  remove-server|remove-srv -s server=ID|HOST,... SG
  enable-server|enable-srv SERVER ...        disable-server|disable-srv SERVER ...
  show-server|show-srv [[-p] -o FIELD,...] [RULE ...]
  create-healthcheck|create-hc [-n] -h hc-test=PING|TCP|UDP|/path[,hc-timeout=N][,hc-count=N][,hc-interval=N] HC
  delete-healthcheck|delete-hc HC ...        show-healthcheck|show-hc [HC ...]
  show-hc-result|show-hc-res [RULE]          show-nat [COUNT]      show-persist|show-pt [COUNT]
  export-config|export-cf [FILE]             import-config|import-cf [-p] [FILE]
global options (before SUBCOMMAND):
  --agent HOST[:PORT]   the SNMP agent (default $ILBADM_AGENT, else 127.0.0.1; port from
                        snmp.conf defaultPort, else 161)
  -u USER               SNMPv3 user (default defSecurityName in snmp.conf)
  -level L -auth-proto P -auth-pass S -priv-proto P -priv-pass S -context C -timeout S -retries N
                        as for setany; v3 settings not given come from snmp.conf
                        (/etc/snmp, ~/.snmp, $SNMPCONFPATH)
`

// Main runs ilbadm with args (without the program name) and returns the
// exit code. Errors are one line on stderr.
func Main(env Env, args []string) int {
	g, rest, err := parseGlobals(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(env.Stdout, Usage)
		return ExitOK
	}
	if err != nil {
		return fail(env, err, ExitUsage)
	}
	cmd, err := Parse(rest)
	if err != nil {
		return fail(env, err, ExitUsage)
	}
	var imported []*Command
	if cmd.Verb == "import-config" {
		if imported, err = readImport(env, cmd); err != nil {
			return fail(env, err, ExitUsage)
		}
	}
	opts, err := g.options(env)
	if err != nil {
		return fail(env, err, ExitUsage)
	}
	c, closeFn, err := env.Dial(opts)
	if err != nil {
		var u *snmpcli.UsageError
		if errors.As(err, &u) {
			return fail(env, err, ExitUsage)
		}
		return fail(env, err, ExitFailure)
	}
	defer closeFn()
	r := &runner{env: env, agent: &Agent{c: c, addr: opts.Agent.String()}}
	if err := r.run(cmd, imported); err != nil {
		return fail(env, timeoutHint(err), ExitFailure)
	}
	return ExitOK
}

func fail(env Env, err error, code int) int {
	fmt.Fprintf(env.Stderr, "ilbadm: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	return code
}

var errHelp = errors.New("help")

// globals are the options before the subcommand.
type globals struct {
	agent string
	user  string
	snmp  []string // setany-style options handed to snmpcli
}

var snmpValueOpts = map[string]bool{"level": true, "auth-proto": true, "auth-pass": true, "priv-proto": true,
	"priv-pass": true, "context": true, "timeout": true, "retries": true}

func parseGlobals(args []string) (globals, []string, error) {
	var g globals
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		need := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		switch {
		case name == "h" || name == "help" || name == "?":
			return g, nil, errHelp
		case name == "agent" || name == "a":
			v, err := need()
			if err != nil {
				return g, nil, err
			}
			g.agent = v
		case name == "u" || name == "user":
			v, err := need()
			if err != nil {
				return g, nil, err
			}
			g.user = v
		case name == "v3":
			g.snmp = append(g.snmp, "-v3")
		case snmpValueOpts[name]:
			v, err := need()
			if err != nil {
				return g, nil, err
			}
			g.snmp = append(g.snmp, "-"+name, v)
		default:
			return g, nil, fmt.Errorf("unknown option %s (see ilbadm -h)", a)
		}
	}
	return g, args[i:], nil
}

// options merges the global options with snmp.conf, through the same
// code as setany and getmany.
func (g globals) options(env Env) (snmpcli.Options, error) {
	defs, err := snmpcli.LoadDefaults(snmpcli.ConfFiles(env.Getenv))
	if err != nil {
		return snmpcli.Options{}, err
	}
	agent := g.agent
	if agent == "" {
		agent = env.Getenv("ILBADM_AGENT")
	}
	if agent == "" {
		agent = "127.0.0.1"
	}
	user := g.user
	if user == "" {
		user = defs.SecurityName
	}
	if user == "" {
		return snmpcli.Options{}, errNoUser
	}
	tree, err := mibs.Tree()
	if err != nil {
		return snmpcli.Options{}, fmt.Errorf("load MIB modules: %w", err)
	}
	args := append(append([]string{}, g.snmp...), agent, user, ".1.3.6.1.4.1.8072.9999.9999.1")
	cmd, err := snmpcli.ParseGet(args, tree, defs)
	if err != nil {
		return snmpcli.Options{}, err
	}
	return cmd.Options, nil
}
