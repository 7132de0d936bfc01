package lb

import (
	"net/netip"
	"testing"
	"time"
)

// A maglev rule (65,537 slots) programs quickly and balances.
func TestSystemMaglev(t *testing.T) {
	l := newLBLab(t)
	e := l.engine(t)
	mustUpdate(t, e, groupWith("web", PortRange{Min: 8080}, "198.18.2.2", "198.18.3.2"))
	start := time.Now()
	mustUpdate(t, e, webRule("web", 80, func(r *Rule) { r.Algorithm = Maglev }))
	t.Logf("maglev rule programmed in %v", time.Since(start))
	got := l.spread(t, 20, addr("198.18.1.2"), netip.AddrPortFrom(vip, 80), "198.18.1.2")
	if len(got) != 2 {
		t.Errorf("20 connections from different ports went to %v, want both backends", got)
	}
}
