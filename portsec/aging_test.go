package portsec

import (
	"testing"
	"time"

	"github.com/florianl/go-nflog/v2"
)

// TestSystemAging shortens the minute to 600 ms: with inactivity aging a
// MAC that keeps talking stays; with absolute aging it expires anyway.
func TestSystemAging(t *testing.T) {
	const minute = 600 * time.Millisecond // 6 gaps between frames: margin under -race
	tests := []struct {
		name      string
		aging     AgingType
		wantAged  bool // while the MAC keeps sending for 4 "minutes"
		wantAfter bool // aged once it stops
	}{
		{"inactivity", AgingInactivity, false, true},
		{"absolute", AgingAbsolute, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Options{Minute: minute, PollInterval: 20 * time.Millisecond})
			p1 := r.lab.Port1.Index
			cfg := secureConfig(1, Restrict)
			cfg.AgingTime, cfg.AgingType = 1, tc.aging
			r.apply(SetPort(p1, cfg))
			mac := MAC(r.lab.H1.If.MAC)
			aged := 0
			for range 12 { // 1.2 s of traffic every 100 ms
				send(t, r.lab.H1, mac, 1)
				aged += len(waitEvents(t, r.eng, EventAged, p1, 1, 100*time.Millisecond))
			}
			if (aged > 0) != tc.wantAged {
				t.Fatalf("aged %d times while active, want aged=%v", aged, tc.wantAged)
			}
			// One more frame: the MAC is secure now whatever the loop's last
			// aging did (re-learned if it had just aged), so it ages once
			// more after the traffic stops.
			send(t, r.lab.H1, mac, 1)
			if ev := waitEvents(t, r.eng, EventAged, p1, 1, 5*minute); (len(ev) == 1) != tc.wantAfter {
				t.Fatalf("after going quiet: %d aged events", len(ev))
			}
			// The freed place takes a new MAC once the kernel's set garbage
			// collector (about once a second) has removed the expired one.
			other := testMAC(20)
			start := time.Now()
			for {
				send(t, r.lab.H1, other, 1)
				if ev := waitEvents(t, r.eng, EventLearned, p1, 1, 100*time.Millisecond); len(ev) == 1 {
					break
				}
				if time.Since(start) > 3*time.Second {
					t.Fatal("new MAC not learned after aging")
				}
			}
			t.Logf("learned after %v", time.Since(start))
		})
	}
}

func TestParseLog(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	str := func(s string) *string { return &s }
	// dst ff:ff:ff:ff:ff:ff, src 02:99:00:00:00:07, EtherType 0x88b5
	hdr := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x99, 0, 0, 0, 7, 0x88, 0xb5}
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		attr nflog.Attribute
		want logEvent
		ok   bool
	}{
		{"learn on port 5", nflog.Attribute{Prefix: str("portsec learn 3"), InDev: u32(2), PhysInDev: u32(5), HwHeader: &hdr},
			logEvent{gen: 3, ifindex: 5, mac: MAC{2, 0x99, 0, 0, 0, 7}, at: now}, true},
		// TPID 0x8100 and TCI 0x0064 (VLAN 100) arrive byte-swapped.
		{"violation tagged", nflog.Attribute{Prefix: str("portsec violation 4294967295"), PhysInDev: u32(6), HwHeader: &hdr,
			VLAN: &nflog.VLAN{Proto: 0x0081, TCI: 0x6400}},
			logEvent{violation: true, gen: 4294967295, ifindex: 6, mac: MAC{2, 0x99, 0, 0, 0, 7}, vlan: 100, at: now}, true},
		// An 802.1ad tag (0x88a8) is not a VLAN for the rules: untagged.
		{"802.1ad", nflog.Attribute{Prefix: str("portsec vlan-violation 2"), PhysInDev: u32(6), HwHeader: &hdr,
			VLAN: &nflog.VLAN{Proto: 0xa888, TCI: 0x6400}},
			logEvent{violation: true, vlanOnly: true, gen: 2, ifindex: 6, mac: MAC{2, 0x99, 0, 0, 0, 7}, at: now}, true},
		{"no generation", nflog.Attribute{Prefix: str(prefixLearn), PhysInDev: u32(6), HwHeader: &hdr}, logEvent{}, false},
		{"bad generation", nflog.Attribute{Prefix: str("portsec learn x1"), PhysInDev: u32(6), HwHeader: &hdr}, logEvent{}, false},
		{"foreign prefix", nflog.Attribute{Prefix: str("other"), PhysInDev: u32(6), HwHeader: &hdr}, logEvent{}, false},
		{"no header", nflog.Attribute{Prefix: str("portsec learn 1"), PhysInDev: u32(6)}, logEvent{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseLog(tc.attr, now)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
