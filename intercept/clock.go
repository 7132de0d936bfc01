package intercept

import "time"

// Clock is the engine's source of time; tests inject a manual one (see
// package fakeclock). Only standard types appear in it so that any package
// can implement it without importing this one.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed (at once
	// for d <= 0) and a function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
