package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestAdminDown(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       bool
	}{
		{"up", "5: p1@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP", false},
		{"set down", "5: p1@if4: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue master br0 state DOWN", true},
		{"lower up only is not up", "5: p1@if4: <BROADCAST,MULTICAST,LOWER_UP> mtu 1500 state DOWN", true},
		{"no flags", "garbage", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := adminDown(tc.line); got != tc.want {
				t.Errorf("adminDown(%q) = %v, want %v", tc.line, got, tc.want)
			}
		})
	}
}

func TestPortsecFramesAreDistinct(t *testing.T) {
	const n = 300 // crosses a byte boundary of the MAC counter
	fs, err := portsecFrames(250, n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, f := range fs {
		if len(f) < 60 {
			t.Errorf("frame %d is %d bytes, want a full Ethernet frame", i, len(f))
		}
		if !bytes.Equal(f[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
			t.Errorf("frame %d goes to % x, want broadcast", i, f[:6])
		}
		if f[6]&0x02 == 0 || f[6]&0x01 != 0 {
			t.Errorf("frame %d source % x is not a locally administered unicast MAC", i, f[6:12])
		}
		seen[string(f[6:12])] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct sources in %d frames", len(seen), n)
	}
}

func TestPortsecReport(t *testing.T) {
	saved := portsecFigures
	defer func() { portsecFigures = saved }()
	ms := func(xs ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x*float64(time.Millisecond)))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		reaction portsecReactionFigure
		learn    portsecLearnFigure
		want     []string
		missed   bool
	}{
		{"fast", portsecReactionFigure{mode: "shutdown", samples: ms(0.2, 0.3, 0.4), linkDown: true},
			portsecLearnFigure{macs: 10_000, learned: 10_000, inModel: 10_000, elapsed: 500 * time.Millisecond},
			[]string{"20000", "300", "link is down: true"}, false},
		{"slow reaction", portsecReactionFigure{mode: "restrict", samples: ms(1, 2, 30)},
			portsecLearnFigure{macs: 10_000, learned: 10_000, elapsed: 500 * time.Millisecond},
			[]string{"30000", "MISSED"}, true},
		{"events lost", portsecReactionFigure{mode: "restrict", samples: ms(1)},
			portsecLearnFigure{macs: 10_000, learned: 9000, elapsed: 100 * time.Millisecond, eventsLost: 1000},
			[]string{"9000", "MISSED"}, true},
		{"a missed reaction", portsecReactionFigure{mode: "restrict", samples: ms(1), missed: 1},
			portsecLearnFigure{macs: 3, learned: 3, elapsed: time.Microsecond},
			[]string{"MISSED"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			portsecFigures.reactions = []portsecReactionFigure{tc.reaction}
			portsecFigures.learn = []portsecLearnFigure{tc.learn}
			var buf bytes.Buffer
			printPortsec(&buf)
			out := buf.String()
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
			if got := strings.Contains(out, "MISSED"); got != tc.missed {
				t.Errorf("report says MISSED: %v, want %v:\n%s", got, tc.missed, out)
			}
		})
	}
}
