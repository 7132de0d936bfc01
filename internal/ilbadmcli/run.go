package ilbadmcli

import (
	"errors"
	"fmt"
	"strings"

	"tapagent/agent/agentx"
	"tapagent/lb"
	"tapagent/mibs/ilb"
)

type runner struct {
	env   Env
	agent *Agent
}

func (r *runner) run(c *Command, imported []*Command) error {
	switch c.Verb {
	case "show-rule":
		return r.showRule(c)
	case "show-servergroup":
		return r.showGroup(c)
	case "show-server":
		return r.showServer(c)
	case "show-healthcheck":
		return r.showHealthCheck(c)
	case "show-hc-result":
		return r.showHcResult(c)
	case "show-statistics":
		return r.showStats(c)
	case "show-nat":
		return r.showNat(c)
	case "show-persist":
		return r.showPersist(c)
	case "export-config":
		return r.export(c)
	case "import-config":
		return r.importConfig(c, imported)
	}
	return r.change(c.Verb, func(cfg *lb.Config) error { return apply(cfg, c) })
}

// config reads the running configuration.
func (r *runner) config() (*lb.Config, error) {
	var vbs []agentx.VarBind
	for _, t := range ilb.ConfigTables {
		got, err := r.agent.Walk(t)
		if err != nil {
			return nil, err
		}
		vbs = append(vbs, got...)
	}
	cfg, err := ilb.DecodeConfig(vbs)
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	return cfg, nil
}

// change reads the configuration, applies edit to a copy, checks the
// result as the engine will, and sends the difference.
func (r *runner) change(verb string, edit func(*lb.Config) error) error {
	old, err := r.config()
	if err != nil {
		return err
	}
	next := old.Clone()
	if err := edit(next); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	if err := next.Validate(); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	for _, p := range ilb.ConfigPDUs(old, next) {
		if err := r.agent.Set(p.VarBinds); err != nil {
			var se *SetError
			if errors.As(err, &se) {
				what := "the request"
				if se.Index >= 1 && se.Index <= len(p.Objects) {
					what = p.Objects[se.Index-1]
				}
				return fmt.Errorf("%s: the agent refused %s: %s", verb, what, statusText(se.Status))
			}
			return fmt.Errorf("%s: %w", verb, err)
		}
	}
	return nil
}

// findRules resolves rule names without regard to case; no names: all.
func findRules(cfg *lb.Config, names []string) ([]*lb.Rule, error) {
	if len(names) == 0 {
		out := make([]*lb.Rule, len(cfg.Rules))
		for i := range cfg.Rules {
			out[i] = &cfg.Rules[i]
		}
		return out, nil
	}
	var out []*lb.Rule
	for _, n := range names {
		rl := cfg.Rule(n)
		if rl == nil {
			return nil, fmt.Errorf("rule %s: no such rule", n)
		}
		out = append(out, rl)
	}
	return out, nil
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func dash(s string) string {
	if s == "" {
		return "--"
	}
	return s
}

// escapeParseable escapes ':' and '\' in -p output.
func escapeParseable(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}
