package bench

import (
	"bytes"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTrafgenConfigCarriesTheFrame(t *testing.T) {
	flow := udpFlow{
		srcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, dstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		src: netip.MustParseAddrPort("198.18.1.2:40000"), dst: netip.MustParseAddrPort("198.18.2.2:9"), payload: flowPayload,
	}
	frame, err := flow.frame()
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) != 60 {
		t.Errorf("flow frame is %d bytes, want 60 (64 on the wire with FCS)", len(frame))
	}
	cfg := trafgenConfig(frame)
	// Read the byte list back: everything between the braces.
	open, end := strings.Index(cfg, "{"), strings.LastIndex(cfg, "}")
	if open < 0 || end < open {
		t.Fatalf("no packet braces in %q", cfg)
	}
	var back []byte
	for _, tok := range strings.Split(cfg[open+1:end], ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(tok), 0, 8)
		if err != nil {
			t.Fatalf("token %q: %v", tok, err)
		}
		back = append(back, byte(v))
	}
	if !bytes.Equal(back, frame) {
		t.Errorf("config bytes % x, want % x", back, frame)
	}
	if strings.Count(cfg, "{") != 1 {
		t.Errorf("config holds %d packets, want 1:\n%s", strings.Count(cfg, "{"), cfg)
	}
}

func TestTrafgenSent(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      int
		wantErr   bool
	}{
		{name: "end summary", want: 300000, out: "     1 packets to schedule\n    60 bytes in total\nRunning! Hang up with ^C!\n\n\n" +
			"      300000 packets outgoing\n    18000000 bytes outgoing\n"},
		{name: "no summary", out: "trafgen: invalid option -- 'A'\n", wantErr: true},
		{name: "scheduled is not sent", out: "     1 packets to schedule\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := trafgenSent(tc.out)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("trafgenSent = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestRateBetween(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name        string
		n           uint64
		first, last time.Time
		want        float64
	}{
		{"1001 packets in a second", 1001, t0, t0.Add(time.Second), 1000},
		{"one packet has no rate", 1, t0, t0, 0},
		{"no time elapsed", 50, t0, t0, 0},
		{"clock backwards", 50, t0.Add(time.Second), t0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rateBetween(tc.n, tc.first, tc.last); got != tc.want {
				t.Errorf("rateBetween = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMedianOf(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		in := append([]float64(nil), tc.xs...)
		if got := medianOf(tc.xs); got != tc.want {
			t.Errorf("medianOf(%v) = %v, want %v", in, got, tc.want)
		}
		for i := range in {
			if tc.xs[i] != in[i] {
				t.Errorf("medianOf reordered its argument: %v", tc.xs)
				break
			}
		}
	}
	if got := medianOf(nil); !math.IsNaN(got) {
		t.Errorf("medianOf(nil) = %v, want NaN", got)
	}
}

func TestSaturationVerdict(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// run is a reader that handled n of 1001 packets sent in one second,
	// over d.
	run := func(name string, n uint64, d time.Duration) readerRun {
		return readerRun{metricName: name, sent: 1001, genTime: time.Second, handled: n, first: t0, last: t0.Add(d)}
	}
	for _, tc := range []struct {
		name string
		runs []readerRun
		want string
	}{
		{"tapagent kept up", []readerRun{run("bare", 1001, time.Second), run("tapagent-md", 1001, time.Second)}, "not saturated"},
		{"tapagent worked off a backlog", []readerRun{run("bare", 1001, time.Second), run("tapagent-md", 1001, 2*time.Second)}, "fell behind"},
		{"tapagent lost packets", []readerRun{run("bare", 1001, time.Second), run("tapagent-md", 900, time.Second)}, "lost packets in 1"},
		{"the kernel lost packets", []readerRun{run("bare", 900, time.Second), run("tapagent-md", 900, time.Second)}, "bare reader missed 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := saturation(throughputFigure{runs: tc.runs}); !strings.Contains(got, tc.want) {
				t.Errorf("saturation = %q, want it to say %q", got, tc.want)
			}
		})
	}
}
