package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"tapagent/internal/testbed"
)

// Targets of the foundation issue.
const (
	targetLatencyRatio = 1.2 // tapagent / minimal, p50
	targetWalkFlat     = 1.2 // cost per varbind, 10,000 rows / 100 rows
	targetTapsPerSec   = 500
)

type latencyFigure struct {
	target, object, user string
	lat                  Latency
}

type walkFigure struct {
	name, table, served string
	rows, cols          int
	walks, varbinds     int
	elapsed             time.Duration // sum of this table's requests
	cost                Latency       // per request: duration / varbinds
}

type provisionFigure struct {
	managers, taps, sets int
	elapsed              time.Duration
	setLat               Latency
	streams, filters     int
}

// figures collects what the benchmarks measured, for the closing table.
var figures struct {
	sync.Mutex
	latency    []latencyFigure
	walks      []walkFigure
	provisions []provisionFigure
	notes      []string
	load       map[string]string // figure → load average when it started
}

// recordLoad notes the machine's load average as figure starts: the
// figures are only comparable within one run, and other processes on a
// 2-CPU machine move them a lot.
func recordLoad(figure string) {
	data, err := os.ReadFile("/proc/loadavg")
	figures.Lock()
	defer figures.Unlock()
	if figures.load == nil {
		figures.load = map[string]string{}
	}
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		figures.load[figure] = fmt.Sprintf("load average %s %s %s at start", f[0], f[1], f[2])
	}
}

func recordLatency(f latencyFigure) {
	figures.Lock()
	defer figures.Unlock()
	figures.latency = append(figures.latency, f)
}

func recordWalk(f walkFigure) {
	figures.Lock()
	defer figures.Unlock()
	figures.walks = append(figures.walks, f)
}

func recordProvision(f provisionFigure) {
	figures.Lock()
	defer figures.Unlock()
	figures.provisions = append(figures.provisions, f)
}

func recordNote(s string) {
	figures.Lock()
	defer figures.Unlock()
	figures.notes = append(figures.notes, s)
}

// reportSection is a part of the table kept in another file (e.g. the
// intercept figures): measured reports whether it has figures, print
// writes them. Both run with figures locked.
type reportSection struct {
	measured func() bool
	print    func(io.Writer)
}

// sections are the further parts of the table, in order; files add theirs
// from init.
var sections []reportSection

// printFigures writes the table of every figure measured in this run;
// nothing when no figure ran (go test ./..., unit tests only).
func printFigures() {
	figures.Lock()
	defer figures.Unlock()
	measured := len(figures.latency)+len(figures.walks)+len(figures.provisions)+len(figures.notes) > 0
	for _, s := range sections {
		measured = measured || s.measured()
	}
	if !measured {
		return
	}
	w := os.Stdout
	fmt.Fprintln(w)
	fmt.Fprintln(w, "==================== tapagent figures ====================")
	fmt.Fprintf(w, "machine: %d CPUs, GOMAXPROCS %d, %s %s/%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "through: %s (private, udp 127.0.0.1, AgentX unix socket), SNMPv3 authPriv SHA/AES, client %s\n", snmpdVersion(), gosnmpVersion())
	fmt.Fprintln(w, "v2c:     not measured; the test bed configures SNMPv3 users only")
	printLatency(w)
	printWalks(w)
	printProvisions(w)
	for _, s := range sections {
		if s.measured() {
			s.print(w)
		}
	}
	for _, n := range figures.notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintln(w, "==========================================================")
}

func printLatency(w io.Writer) {
	if len(figures.latency) == 0 {
		return
	}
	by := map[string]Latency{}
	fmt.Fprintf(w, "\n1. GET latency: %d sequential GETs per target after %d warm-up, targets interleaved (%s)\n",
		figures.latency[0].lat.N, *flagWarmup, figures.load["latency"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tobject\tuser\tp50 µs\tp99 µs\tmean µs\tmax µs\t")
	for _, f := range figures.latency {
		by[f.target] = f.lat
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t\n", f.target, f.object, f.user,
			Micros(f.lat.P50), Micros(f.lat.P99), Micros(f.lat.Mean), Micros(f.lat.Max))
	}
	tw.Flush()
	ratios := func(a, b Latency) (p50, mean, p99 float64) {
		return Ratio(Micros(a.P50), Micros(b.P50)), Ratio(Micros(a.Mean), Micros(b.Mean)), Ratio(Micros(a.P99), Micros(b.P99))
	}
	tap, haveTap := by["tapagent"]
	if minl, ok := by["minimal"]; ok && haveTap {
		p50, mean, p99 := ratios(tap, minl)
		fmt.Fprintf(w, "tapagent/minimal: p50 %.2f, mean %.2f, p99 %.2f   target p50 ≤ %.1f: %s\n",
			p50, mean, p99, targetLatencyRatio, verdict(p50 <= targetLatencyRatio))
	}
	if native, ok := by["native"]; ok && haveTap {
		p50, mean, p99 := ratios(tap, native)
		fmt.Fprintf(w, "tapagent/native:  p50 %.2f, mean %.2f, p99 %.2f   (AgentX hop vs answered inside snmpd)\n", p50, mean, p99)
	}
}

func printWalks(w io.Writer) {
	if len(figures.walks) == 0 {
		return
	}
	fmt.Fprintf(w, "\n2. Bulk walk: GETBULK max-repetitions %d as gosnmp BulkWalk sends them, tables interleaved request by request\n", bulkRepetitions)
	fmt.Fprintf(w, "   (li; the native table as admin; each tapagent table has its own snmpd and in-process subagent; %s)\n", figures.load["walk"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tserved by\trows\tcols\twalks\tvarbinds\tseconds\tvarbinds/s\tmean µs/vb\tp50 µs/vb\t")
	p50 := map[string]float64{}
	for _, f := range figures.walks {
		p50[f.name] = Micros(f.cost.P50)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%.0f\t%.1f\t%.1f\t\n", f.table, f.served, f.rows, f.cols,
			f.walks, f.varbinds, f.elapsed.Seconds(), PerSecond(f.varbinds, f.elapsed),
			Micros(f.elapsed)/float64(f.varbinds), Micros(f.cost.P50))
	}
	tw.Flush()
	fmt.Fprintln(w, "p50 µs/vb: median over the GETBULK requests of (request time / varbinds it fetched); robust to load bursts")
	small, big := p50["tapagent/rows=100"], p50["tapagent/rows=10000"]
	if small > 0 && big > 0 {
		r := Ratio(big, small)
		fmt.Fprintf(w, "p50 cost per varbind, 10,000 rows / 100 rows: %.2f   target flat (≤ %.1f): %s\n", r, targetWalkFlat, verdict(r <= targetWalkFlat))
	}
	if m := p50["minimal/rows=10000"]; m > 0 && big > 0 {
		fmt.Fprintf(w, "p50 cost per varbind at 10,000 rows, tapagent / minimal: %.2f\n", Ratio(big, m))
	}
}

func printProvisions(w io.Writer) {
	if len(figures.provisions) == 0 {
		return
	}
	fmt.Fprintln(w, "\n3. Tap provisioning into the tapagent binary: per tap one SET (MD createAndGo) + one SET (stream + IP filter createAndGo), li")
	fmt.Fprintf(w, "   (managers run concurrently, each its own SNMPv3 client; snmpd serialises SETs; %s)\n", figures.load["provision"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "managers\ttaps\tSET PDUs\tseconds\ttaps/s\tSET p50 µs\tSET p99 µs\tactive streams / filters after\ttarget ≥ 500 taps/s\t")
	for _, f := range figures.provisions {
		rate := PerSecond(f.taps, f.elapsed)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.0f\t%.0f\t%.0f\t%d / %d\t%s\t\n", f.managers, f.taps, f.sets, f.elapsed.Seconds(),
			rate, Micros(f.setLat.P50), Micros(f.setLat.P99), f.streams, f.filters, verdict(rate >= targetTapsPerSec))
	}
	tw.Flush()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// snmpdVersion asks the installed snmpd for its version.
func snmpdVersion() string {
	out, _ := exec.Command("snmpd", "-v").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "NET-SNMP version:"); ok {
			return "snmpd " + strings.TrimSpace(v)
		}
	}
	return "snmpd (version unknown)"
}

// gosnmpVersion is the gosnmp requirement of go.mod (test binaries carry
// no module build info).
func gosnmpVersion() string {
	if root, err := testbed.RepoRoot(); err == nil {
		if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/gosnmp/gosnmp" {
					return "gosnmp " + f[1]
				}
			}
		}
	}
	return "gosnmp"
}
