// Package ilbtest provides an in-memory stand-in for the load balancer
// engine: the configuration rules of lb.Config without a data plane, for
// tests of the ILB binding and of ilbadm that need no namespace.
package ilbtest

import (
	"sync"

	"tapagent/lb"
)

// Engine keeps an lb.Config and validates changes as lb.Engine does; it
// has no data plane, so Stats reports rules with zero counters.
type Engine struct {
	mu  sync.Mutex
	cfg *lb.Config
	// Updates counts accepted changes.
	Updates int
}

// NewEngine starts from cfg (nil: empty).
func NewEngine(cfg *lb.Config) *Engine {
	if cfg == nil {
		cfg = &lb.Config{}
	}
	return &Engine{cfg: cfg.Clone()}
}

// Config returns a copy of the configuration.
func (e *Engine) Config() *lb.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.Clone()
}

func (e *Engine) try(change func(*lb.Config) error) (*lb.Config, error) {
	next := e.cfg.Clone()
	if err := change(next); err != nil {
		return nil, err
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	return next, nil
}

// Check validates change without keeping it.
func (e *Engine) Check(change func(*lb.Config) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.try(change)
	return err
}

// Update keeps change if it validates.
func (e *Engine) Update(change func(*lb.Config) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	next, err := e.try(change)
	if err == nil {
		e.cfg = next
		e.Updates++
	}
	return err
}

// Stats lists every rule and its servers with zero counters.
func (e *Engine) Stats() ([]lb.RuleStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []lb.RuleStats
	for _, r := range e.cfg.Rules {
		rs := lb.RuleStats{Rule: r.Name}
		if g := e.cfg.Group(r.ServerGroup); g != nil {
			for _, s := range g.Servers {
				if s.Enabled {
					rs.Servers++
				}
				rs.PerServer = append(rs.PerServer, lb.ServerStats{ID: s.ID})
			}
		}
		out = append(out, rs)
	}
	return out, nil
}
