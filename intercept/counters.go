package intercept

import (
	"sync"
	"sync/atomic"
)

// StreamCounters are the packet counters of one stream. The data plane
// adds to them; the SNMP binding reads them. They live as long as the
// stream exists, armed or not, so disabling and enabling a stream keeps
// its counts.
type StreamCounters struct {
	// Intercepted counts copies handed to the kernel for the mediation device.
	Intercepted atomic.Uint64
	// Drops counts matched packets whose copy could not be sent.
	Drops atomic.Uint64
}

// Counters holds the counters of every stream.
type Counters struct {
	mu sync.RWMutex
	m  map[StreamKey]*StreamCounters
}

func newCounters() *Counters { return &Counters{m: make(map[StreamKey]*StreamCounters)} }

// For returns the counters of k, creating them.
func (c *Counters) For(k StreamKey) *StreamCounters {
	c.mu.RLock()
	sc := c.m[k]
	c.mu.RUnlock()
	if sc != nil {
		return sc
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc = c.m[k]; sc == nil {
		sc = new(StreamCounters)
		c.m[k] = sc
	}
	return sc
}

// Get reads the counters of k (0, 0 for an unknown stream).
func (c *Counters) Get(k StreamKey) (intercepted, drops uint64) {
	c.mu.RLock()
	sc := c.m[k]
	c.mu.RUnlock()
	if sc == nil {
		return 0, 0
	}
	return sc.Intercepted.Load(), sc.Drops.Load()
}

func (c *Counters) delete(keys ...StreamKey) {
	if len(keys) == 0 {
		return
	}
	c.mu.Lock()
	for _, k := range keys {
		delete(c.m, k)
	}
	c.mu.Unlock()
}
