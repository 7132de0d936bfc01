package lb

import (
	"cmp"
	"container/heap"
	"context"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HealthState is a server's health as one rule's health check sees it;
// the values are those of the MIB's IlbHealthState.
type HealthState uint8

const (
	HealthUninit   HealthState = iota + 1 // no check completed yet; takes connections
	HealthUnreach                         // the ping failed hc-count times in a row
	HealthAlive                           // the last check passed
	HealthDead                            // the test failed hc-count times in a row
	HealthDisabled                        // server or rule disabled: not checked
)

var healthStateNames = map[HealthState]string{HealthUninit: "uninit", HealthUnreach: "unreach",
	HealthAlive: "alive", HealthDead: "dead", HealthDisabled: "disabled"}

// String is the ilbadm show-hc-result spelling.
func (s HealthState) String() string { return enumString(healthStateNames, s) }

// Usable reports whether a server in this state takes new connections.
func (s HealthState) Usable() bool { return s != HealthDead && s != HealthUnreach }

// HealthResult is one row of show-hc-result.
type HealthResult struct {
	Rule      string // as configured
	ServerID  string
	HCName    string
	Server    netip.Addr
	State     HealthState
	FailCount uint32    // failed probes in a row
	LastCheck time.Time // end of the last check cycle; zero: none yet
	NextCheck time.Time // zero while not scheduled (disabled)
	RTT       uint32    // smoothed round trip in µs; 0: unknown
}

// HealthEvent reports a change of state. Every change is reported,
// including the first uninit → alive (the MIB's notification skips it)
// and changes made by configuration (→ disabled, → uninit).
type HealthEvent struct {
	Rule     string
	ServerID string
	HCName   string
	Server   netip.Addr
	Old, New HealthState
	Time     time.Time
}

// hcTarget is what checking one server for one rule depends on; a
// change of any field starts the server's health over (uninit), and the
// engine forgets the old verdict. Comparable on purpose.
type hcTarget struct {
	rule        string
	serverID    string
	hc          HealthCheck // zero: the rule has no health check
	vip         netip.Addr
	proto       Protocol
	topo        Topology
	rulePorts   PortRange
	serverPorts PortRange
	portMode    HCPortMode
	port        uint16
	server      netip.Addr
	active      bool // rule and server enabled
}

// hcTargets lists every (rule, server) pair of cfg by healthKey.
func hcTargets(cfg *Config) map[string]hcTarget {
	out := map[string]hcTarget{}
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		g := cfg.Group(r.ServerGroup)
		if g == nil {
			continue
		}
		var hc HealthCheck
		if r.HCName != "" {
			if h := cfg.HealthCheck(r.HCName); h != nil {
				hc = *h
			}
		}
		for _, s := range g.Servers {
			out[healthKey(r.Name, s.ID)] = hcTarget{rule: r.Name, serverID: s.ID, hc: hc, vip: r.VIP,
				proto: r.Protocol, topo: r.Topology, rulePorts: r.Ports, serverPorts: s.Ports,
				portMode: r.HCPortMode, port: r.HCPort, server: s.Addr, active: r.Enabled && s.Enabled}
		}
	}
	return out
}

// MaxHCAllPorts bounds hc-port ALL: every port of the range is probed
// in each check.
const MaxHCAllPorts = 64

// probePorts are the ports a check of t tests: fixed, one picked at
// random from the server's (or else the rule's) range for ANY, as
// illumos does, or all of that range.
func (t *hcTarget) probePorts() []uint16 {
	if t.portMode == HCPortFixed {
		return []uint16{t.port}
	}
	pr := t.rulePorts
	if t.serverPorts.Min != 0 {
		pr = t.serverPorts
	}
	lo, hi := pr.Bounds()
	if t.portMode == HCPortAll {
		ports := make([]uint16, 0, int(hi)-int(lo)+1)
		for p := int(lo); p <= int(hi) && len(ports) < MaxHCAllPorts; p++ {
			ports = append(ports, uint16(p))
		}
		return ports
	}
	return []uint16{lo + uint16(rand.IntN(int(hi)-int(lo)+1))}
}

// healthChange asks the engine to let a server take connections or not;
// it applies only while the target is still what the verdict was about.
type healthChange struct {
	key    string
	target hcTarget
	usable bool
}

// hcServer is the scheduler's state of one target.
type hcServer struct {
	key      string
	t        hcTarget
	res      HealthResult
	pinging  bool // the current cycle is at its preliminary ping
	running  bool
	seq      uint64
	cancel   context.CancelFunc
	due      time.Time
	index    int  // in the heap; -1 when not queued
	unusable bool // what the engine was last told
}

// hcHeap orders queued servers by due time.
type hcHeap []*hcServer

func (h hcHeap) Len() int           { return len(h) }
func (h hcHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h hcHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *hcHeap) Push(x any)        { s := x.(*hcServer); s.index = len(*h); *h = append(*h, s) }
func (h *hcHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.index = -1
	return s
}

// probeRunner runs probes (prober; tests script it).
type probeRunner interface {
	run(*probeJob) probeResult
	close()
}

// DefaultHCWorkers bounds the probes in flight at once.
const DefaultHCWorkers = 256

// eventBuffer: events beyond it are dropped (and counted) rather than
// stall the checker when nobody reads them.
const eventBuffer = 4096

// checker runs the health checks: one scheduler goroutine owns the state
// and a timer heap, a fixed pool of workers runs probes, and an applier
// hands verdicts to the engine in batches (one transaction for many).
type checker struct {
	prober  probeRunner
	apply   func([]healthChange) error
	workers int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	cfgMu     sync.Mutex
	nextCfg   map[string]hcTarget
	cfgSignal chan struct{}

	jobs    chan *probeJob
	results chan probeResult

	// Owned by the scheduler goroutine.
	servers  map[string]*hcServer
	queue    hcHeap
	inflight int
	seqGen   uint64

	resMu sync.RWMutex
	res   map[string]HealthResult

	events  chan HealthEvent
	dropped atomic.Uint64
	probes  atomic.Uint64 // completed, for figures

	pendMu      sync.Mutex
	pending     map[string]healthChange
	applySignal chan struct{}
}

func newChecker(p probeRunner, workers int, apply func([]healthChange) error) *checker {
	if workers <= 0 {
		workers = DefaultHCWorkers
	}
	c := &checker{prober: p, apply: apply, workers: workers,
		cfgSignal: make(chan struct{}, 1), jobs: make(chan *probeJob, workers),
		results: make(chan probeResult, workers), servers: map[string]*hcServer{},
		res: map[string]HealthResult{}, events: make(chan HealthEvent, eventBuffer),
		pending: map[string]healthChange{}, applySignal: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2 + workers)
	go c.loop()
	go c.applier()
	for range workers {
		go c.worker()
	}
	return c
}

func (c *checker) stop() {
	c.cancel()
	c.wg.Wait()
	c.prober.close()
}

// setTargets hands the scheduler the targets of a new configuration; it
// never blocks (the engine calls it from its own goroutine).
func (c *checker) setTargets(t map[string]hcTarget) {
	c.cfgMu.Lock()
	c.nextCfg = t
	c.cfgMu.Unlock()
	select {
	case c.cfgSignal <- struct{}{}:
	default:
	}
}

func (c *checker) loop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.dispatch()
		timer.Stop()
		if c.inflight < c.workers && len(c.queue) > 0 {
			timer.Reset(max(time.Until(c.queue[0].due), 0))
		}
		select {
		case <-c.ctx.Done():
			for _, s := range c.servers {
				if s.cancel != nil {
					s.cancel()
				}
			}
			return
		case <-c.cfgSignal:
			c.cfgMu.Lock()
			t := c.nextCfg
			c.cfgMu.Unlock()
			c.sync(t)
		case r := <-c.results:
			c.inflight--
			c.probes.Add(1)
			c.handle(r)
		case <-timer.C:
		}
	}
}

func (c *checker) worker() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case j := <-c.jobs:
			r := c.runJob(j)
			select {
			case c.results <- r:
			case <-c.ctx.Done():
				return
			}
		}
	}
}

// runJob runs a job's preliminary ping, then its test.
func (c *checker) runJob(j *probeJob) probeResult {
	if !j.pingFirst {
		return c.prober.run(j)
	}
	ping := *j
	ping.kind, ping.pingFirst = probePing, false
	pr := c.prober.run(&ping)
	if !pr.ok {
		return pr
	}
	test := *j
	test.pingFirst = false
	r := c.prober.run(&test)
	r.pinged, r.pingRTT = true, pr.rtt
	return r
}

// dispatch starts the probes that are due while workers are free.
func (c *checker) dispatch() {
	now := time.Now()
	for c.inflight < c.workers && len(c.queue) > 0 && !c.queue[0].due.After(now) {
		s := heap.Pop(&c.queue).(*hcServer)
		s.running = true
		c.inflight++
		c.jobs <- c.job(s) // room: jobs holds as many as there are workers
	}
}

func (c *checker) job(s *hcServer) *probeJob {
	t := &s.t
	j := &probeJob{key: s.key, seq: s.seq, vip: t.vip, server: t.server, proto: t.proto, topo: t.topo,
		timeout: time.Duration(t.hc.Timeout) * time.Second, ctx: c.ctx}
	j.pingFirst = s.pinging
	switch {
	case t.hc.Test == HCPing:
		j.kind = probePing
	case t.hc.Test == HCTCP:
		j.kind, j.ports = probeTCP, t.probePorts()
	case t.hc.Test == HCUDP:
		j.kind, j.ports = probeUDP, t.probePorts()
	default:
		var ctx context.Context
		ctx, s.cancel = context.WithCancel(c.ctx)
		j.kind, j.ports, j.method, j.ctx = probeExternal, t.probePorts(), t.hc.ExternalMethod, ctx
	}
	return j
}

// sync brings the scheduler to a new set of targets: new and changed
// ones start over, vanished ones are dropped with their probes.
func (c *checker) sync(targets map[string]hcTarget) {
	now := time.Now()
	was := map[string]HealthState{}
	for key, s := range c.servers {
		if t, ok := targets[key]; !ok || t != s.t || t.hc.Name == "" {
			was[key] = s.res.State
			c.drop(s)
		}
	}
	for key, t := range targets {
		if t.hc.Name == "" || c.servers[key] != nil {
			continue
		}
		c.seqGen++
		s := &hcServer{key: key, t: t, seq: c.seqGen, index: -1,
			res: HealthResult{Rule: t.rule, ServerID: t.serverID, HCName: t.hc.Name, Server: t.server, State: HealthDisabled}}
		c.servers[key] = s
		old, changed := was[key]
		if !changed {
			old = HealthDisabled // a new target: no event
		}
		if t.active {
			// The first check comes at a random point of one interval, so
			// that many new servers do not all probe at once.
			s.res.State = HealthUninit
			s.pinging = t.hc.DefaultPing && t.hc.Test != HCPing
			c.schedule(s, now.Add(time.Duration(rand.Int64N(int64(time.Duration(t.hc.Interval)*time.Second)))))
			if !changed {
				old = HealthUninit
			}
		}
		c.publish(s, old, now)
	}
}

func (c *checker) drop(s *hcServer) {
	if s.index >= 0 {
		heap.Remove(&c.queue, s.index)
	}
	if s.cancel != nil {
		s.cancel()
	}
	delete(c.servers, s.key)
	c.resMu.Lock()
	delete(c.res, s.key)
	c.resMu.Unlock()
	c.pendMu.Lock()
	delete(c.pending, s.key) // the engine forgets the verdict itself
	c.pendMu.Unlock()
}

func (c *checker) schedule(s *hcServer, at time.Time) {
	s.due = at
	s.res.NextCheck = at
	heap.Push(&c.queue, s)
}

// jitter: the next cycle starts 0.5 to 1.5 intervals later (illumos).
func jitter(interval uint32) time.Duration {
	d := time.Duration(interval) * time.Second
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}

// handle advances a server's state machine with a probe result, as
// ilbd does: a failure is retried at once until hc-count failures in a
// row, which make the server unreach (ping) or dead (test); a passed
// ping goes on to the test at once (in the same job); a passed test
// makes it alive.
func (c *checker) handle(r probeResult) {
	s := c.servers[r.key]
	if s == nil || s.seq != r.seq {
		return // a probe of a target that has changed since
	}
	s.running = false
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	now := time.Now()
	old := s.res.State
	hc := &s.t.hc
	if r.pinged {
		s.pinging = false // a retry after a failed test skips the ping
		s.smooth(r.pingRTT)
	}
	if r.ok {
		s.smooth(r.rtt)
		s.res.FailCount = 0
		s.res.State = HealthAlive
	} else {
		s.res.FailCount++
		if s.res.FailCount < hc.Count {
			c.schedule(s, now) // probe again (the same step)
			c.publish(s, old, now)
			return
		}
		if hc.Test == HCPing || s.pinging {
			s.res.State = HealthUnreach
		} else {
			s.res.State = HealthDead
		}
	}
	s.res.LastCheck = now
	s.pinging = hc.DefaultPing && hc.Test != HCPing
	c.schedule(s, now.Add(jitter(hc.Interval)))
	c.publish(s, old, now)
}

// smooth folds a round trip into the average as ilbd does.
func (s *hcServer) smooth(rtt uint32) {
	switch {
	case rtt == 0:
	case s.res.RTT == 0:
		s.res.RTT = rtt
	default:
		s.res.RTT = 3*(s.res.RTT>>2) + rtt>>2
	}
}

// publish makes s's result readable, reports a change of state and,
// when usability flipped, queues it for the engine.
func (c *checker) publish(s *hcServer, old HealthState, now time.Time) {
	c.resMu.Lock()
	c.res[s.key] = s.res
	c.resMu.Unlock()
	if old == s.res.State {
		return
	}
	ev := HealthEvent{Rule: s.t.rule, ServerID: s.t.serverID, HCName: s.t.hc.Name, Server: s.t.server,
		Old: old, New: s.res.State, Time: now}
	select {
	case c.events <- ev:
	default:
		c.dropped.Add(1)
	}
	if unusable := !s.res.State.Usable(); unusable != s.unusable {
		s.unusable = unusable
		c.pendMu.Lock()
		c.pending[s.key] = healthChange{key: s.key, target: s.t, usable: !unusable}
		c.pendMu.Unlock()
		select {
		case c.applySignal <- struct{}{}:
		default:
		}
	}
}

// applier gives the engine every verdict pending at once; a failed
// transaction is retried a second later unless newer verdicts replaced
// it.
func (c *checker) applier() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.applySignal:
		}
		c.pendMu.Lock()
		batch := c.pending
		c.pending = map[string]healthChange{}
		c.pendMu.Unlock()
		if len(batch) == 0 {
			continue
		}
		changes := slices.Collect(maps.Values(batch))
		if err := c.apply(changes); err != nil {
			c.pendMu.Lock()
			for k, ch := range batch {
				if _, newer := c.pending[k]; !newer {
					c.pending[k] = ch
				}
			}
			c.pendMu.Unlock()
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			select {
			case c.applySignal <- struct{}{}:
			default:
			}
		}
	}
}

// list returns the results of rule ("" for every rule), by rule name
// (without regard to case) and server number.
func (c *checker) list(rule string) []HealthResult {
	c.resMu.RLock()
	out := make([]HealthResult, 0, len(c.res))
	for _, r := range c.res {
		if rule == "" || strings.EqualFold(r.Rule, rule) {
			out = append(out, r)
		}
	}
	c.resMu.RUnlock()
	slices.SortFunc(out, func(a, b HealthResult) int {
		if c := strings.Compare(strings.ToLower(a.Rule), strings.ToLower(b.Rule)); c != 0 {
			return c
		}
		return cmp.Compare(serverNum(a.ServerID), serverNum(b.ServerID))
	})
	return out
}

func (c *checker) result(rule, serverID string) (HealthResult, bool) {
	c.resMu.RLock()
	defer c.resMu.RUnlock()
	r, ok := c.res[healthKey(rule, serverID)]
	return r, ok
}
