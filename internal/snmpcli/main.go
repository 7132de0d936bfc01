package snmpcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"tapagent/mibs"
	"tapagent/mibs/smi"
)

// Exit codes.
const (
	ExitOK      = 0 // done
	ExitFailure = 1 // the agent refused, or did not answer
	ExitUsage   = 2 // bad command line or configuration; nothing was sent
)

// Env is what a command needs from the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Tree           func() (*smi.Tree, error)
	// Dial opens a session; the returned function closes it.
	Dial func(o Options, maxOids int) (Client, func(), error)
}

// OSEnv is the environment of a real process: os streams, the embedded
// MIB modules and gosnmp over the network.
func OSEnv() Env {
	return Env{
		Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Tree: mibs.Tree,
		Dial: func(o Options, maxOids int) (Client, func(), error) {
			g, err := Dial(context.Background(), o, maxOids)
			if err != nil {
				return nil, nil, err
			}
			return g, func() { _ = g.Close() }, nil
		},
	}
}

// SetAny runs setany with args (without the program name) and returns the
// exit code.
func SetAny(env Env, args []string) int {
	tree, defs, code := env.prepare("setany")
	if tree == nil {
		return code
	}
	cmd, err := ParseSet(args, tree, defs)
	if errors.Is(err, ErrHelp) {
		fmt.Fprintf(env.Stdout, "%s\n%s%s", SetUsage, OptionsHelp, SetTypesHelp)
		return ExitOK
	}
	if err != nil {
		return env.fail("setany", &UsageError{err})
	}
	maxOids := 0
	for _, p := range cmd.PDUs() {
		maxOids = max(maxOids, len(p))
	}
	c, closeFn, err := env.Dial(cmd.Options, maxOids)
	if err != nil {
		return env.fail("setany", err)
	}
	defer closeFn()
	return env.fail("setany", RunSet(c, tree, cmd, env.Stdout))
}

// GetMany runs getmany with args (without the program name) and returns
// the exit code.
func GetMany(env Env, args []string) int {
	tree, defs, code := env.prepare("getmany")
	if tree == nil {
		return code
	}
	cmd, err := ParseGet(args, tree, defs)
	if errors.Is(err, ErrHelp) {
		fmt.Fprintf(env.Stdout, "%s\n%s", GetUsage, OptionsHelp)
		return ExitOK
	}
	if err != nil {
		return env.fail("getmany", &UsageError{err})
	}
	c, closeFn, err := env.Dial(cmd.Options, 1)
	if err != nil {
		return env.fail("getmany", err)
	}
	defer closeFn()
	return env.fail("getmany", RunGet(c, tree, cmd, env.Stdout))
}

func (env Env) prepare(prog string) (*smi.Tree, Defaults, int) {
	tree, err := env.Tree()
	if err != nil {
		return nil, Defaults{}, env.fail(prog, fmt.Errorf("load MIB modules: %w", err))
	}
	defs, err := LoadDefaults(ConfFiles(env.Getenv))
	if err != nil {
		return nil, Defaults{}, env.fail(prog, &UsageError{err})
	}
	return tree, defs, ExitOK
}

// fail prints err as one line and maps it to an exit code.
func (env Env) fail(prog string, err error) int {
	if err == nil {
		return ExitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(env.Stderr, "%s: %s\n", prog, msg)
	var usage *UsageError
	if errors.As(err, &usage) {
		return ExitUsage
	}
	return ExitFailure
}
