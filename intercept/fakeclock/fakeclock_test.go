package fakeclock

import (
	"testing"
	"time"
)

func fired(c <-chan time.Time) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestTimers(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		d       time.Duration
		advance time.Duration
		stop    bool
		want    bool
	}{
		{name: "not yet due", d: time.Minute, advance: 59 * time.Second, want: false},
		{name: "exactly due", d: time.Minute, advance: time.Minute, want: true},
		{name: "overdue", d: time.Minute, advance: time.Hour, want: true},
		{name: "zero duration fires at once", d: 0, advance: 0, want: true},
		{name: "negative duration fires at once", d: -time.Second, advance: 0, want: true},
		{name: "stopped never fires", d: time.Minute, advance: time.Hour, stop: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(start)
			ch, stop := c.NewTimer(tt.d)
			if tt.stop && !stop() {
				t.Fatal("stop of a pending timer returned false")
			}
			c.Advance(tt.advance)
			if got := fired(ch); got != tt.want {
				t.Fatalf("fired = %v, want %v", got, tt.want)
			}
			if got := c.Now(); !got.Equal(start.Add(tt.advance)) {
				t.Fatalf("Now = %v, want %v", got, start.Add(tt.advance))
			}
			if c.Pending() != 0 && tt.want {
				t.Fatalf("a fired timer is still pending")
			}
		})
	}
}

func TestTimerFiresOnce(t *testing.T) {
	c := New(time.Unix(0, 0))
	ch, stop := c.NewTimer(time.Second)
	c.Advance(time.Second)
	c.Advance(time.Second)
	if !fired(ch) {
		t.Fatal("timer did not fire")
	}
	if fired(ch) {
		t.Fatal("timer fired twice")
	}
	if stop() {
		t.Fatal("stop after firing reported a pending timer")
	}
}
