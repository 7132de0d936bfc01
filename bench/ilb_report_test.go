package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the ILB issue.
const (
	targetILBProgram      = time.Second // to program 10,000 servers
	targetILBProgramCount = 10_000
	targetILBRequestRatio = 0.95 // HALF-NAT / plain dnat, requests per second
	targetILBHCShare      = 0.20 // of one core, 1,000 servers at 1 s
	targetILBHCServers    = 1000
)

type ilbProgramFigure struct {
	servers, groups int
	usable          int // servers the kernel counts as taking connections
	program, remove time.Duration
	removeErr       error
}

type ilbRequestRun struct {
	round   int
	variant string
	requestRun
}

type ilbRequestFigure struct {
	requests, clients int
	runs              []ilbRequestRun
}

// median is the median requests per second of one variant's runs.
func (f ilbRequestFigure) median(variant string) float64 {
	var rates []float64
	for _, r := range f.runs {
		if r.variant == variant {
			rates = append(rates, r.rate())
		}
	}
	return medianOf(rates)
}

type ilbHCFigure struct {
	servers        int
	ping           bool
	window, cpu    time.Duration
	checked, alive int // alive with a check ended in the window; alive at the end
}

func (f ilbHCFigure) share() float64 { return Ratio(float64(f.cpu), float64(f.window)) }

func (f ilbHCFigure) test() string {
	if f.ping {
		return "ping+tcp"
	}
	return "tcp"
}

// ilbFigures are guarded by figures' lock, like the others.
var ilbFigures struct {
	program  []ilbProgramFigure
	requests []ilbRequestFigure
	hc       []ilbHCFigure
}

func recordILBProgram(f ilbProgramFigure) {
	figures.Lock()
	defer figures.Unlock()
	ilbFigures.program = append(ilbFigures.program, f)
}

func recordILBRequests(f ilbRequestFigure) {
	figures.Lock()
	defer figures.Unlock()
	ilbFigures.requests = append(ilbFigures.requests, f)
}

func recordILBHC(f ilbHCFigure) {
	figures.Lock()
	defer figures.Unlock()
	ilbFigures.hc = append(ilbFigures.hc, f)
}

func init() {
	sections = append(sections, reportSection{
		measured: func() bool { return len(ilbFigures.program)+len(ilbFigures.requests)+len(ilbFigures.hc) > 0 },
		print:    printILB,
	})
}

func printILB(w io.Writer) {
	fmt.Fprintln(w, "\n6. ILB: lb engine in-process on the lb namespace of a lab client — lb — backends (veth, everybody routes via lb)")
	printILBProgram(w)
	printILBRequests(w)
	printILBHC(w)
}

func printILBProgram(w io.Writer) {
	if len(ilbFigures.program) == 0 {
		return
	}
	fmt.Fprintf(w, "   programming: one Engine.Update creating the groups (≤ 1,000 servers each) with one HALF-NAT roundrobin rule each, one nftables\n")
	fmt.Fprintf(w, "   transaction; then one Update deleting them (%s)\n", figures.load["ilb-program"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "servers\tgroups/rules\tusable in the kernel\tprogram s\tservers/s\tremove s\ttarget < %v for %d\t\n", targetILBProgram, targetILBProgramCount)
	for _, f := range ilbFigures.program {
		target := "-"
		if f.servers >= targetILBProgramCount {
			target = verdict(f.usable == f.servers && f.program < targetILBProgram)
		}
		remove := fmt.Sprintf("%.3f", f.remove.Seconds())
		if f.removeErr != nil {
			remove = "FAILED"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.3f\t%.0f\t%s\t%s\t\n", f.servers, f.groups, f.usable, f.program.Seconds(),
			PerSecond(f.servers, f.program), remove, target)
	}
	tw.Flush()
	for _, f := range ilbFigures.program {
		if f.removeErr != nil {
			fmt.Fprintf(w, "removing them failed: %s\n", firstLine(f.removeErr))
		}
	}
}

func printILBRequests(w io.Writer) {
	for _, f := range ilbFigures.requests {
		fmt.Fprintf(w, "   requests: short TCP connections (connect, read one line, close) from the client namespace to the VIP, %d per run over %d\n", f.requests, f.clients)
		fmt.Fprintln(w, "   concurrent clients, balanced over the same two backends (in-process Go servers): the engine's HALF-NAT roundrobin rule on one")
		fmt.Fprintln(w, "   VIP vs a hand-written `nft -f` table in the same lb namespace on a second VIP, one nat prerouting rule")
		fmt.Fprintln(w, "   `dnat to numgen inc mod 2 map { 0 : b1, 1 : b2 }` (round robin over the same backends); both tables stay loaded, so each")
		fmt.Fprintf(w, "   variant also passes the other's chain once; runs alternate (%s)\n", figures.load["ilb-requests"])
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "round\tbalanced by\tconnections\tanswered\tfailed\tper backend\tseconds\trequests/s\t")
		for _, r := range f.runs {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%.3f\t%.0f\t\n", r.round, r.variant, r.sent, r.ok, r.failed,
				perBackend(r.perBackend), r.elapsed.Seconds(), r.rate())
		}
		tw.Flush()
		ilb, plain := f.median("ILB HALF-NAT"), f.median("plain dnat")
		ratio := Ratio(ilb, plain)
		fmt.Fprintf(w, "median requests/s: ILB HALF-NAT %.0f, plain dnat %.0f; ILB/plain %.2f   target ≥ %.2f: %s\n",
			ilb, plain, ratio, targetILBRequestRatio, verdict(ratio >= targetILBRequestRatio))
		fmt.Fprintln(w, "   (clients, backends and both NAT paths share the machine's CPUs: the ratio compares the whole path per connection)")
	}
}

// firstLine is the first line of err's text (joined netlink errors repeat).
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func perBackend(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func printILBHC(w io.Writer) {
	if len(ilbFigures.hc) == 0 {
		return
	}
	fmt.Fprintln(w, "   health checks: servers are addresses on one backend's loopback, a TCP acceptor in another process answers; interval 1 s")
	fmt.Fprintln(w, "   (jittered 0.5–1.5 s), hc-count 3; CPU is this process's user+system time over the window, which runs only the engine — the kernel's")
	fmt.Fprintf(w, "   work for the servers' side of each probe is charged to the prober in a veth lab, so it is an upper bound (%s)\n", figures.load["ilb-hc"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "test\tservers\twindow s\tCPU s\t%% of one core\tchecked alive in window\talive at end\ttarget < %.0f %% at %d servers\t\n", 100*targetILBHCShare, targetILBHCServers)
	for _, f := range ilbFigures.hc {
		target := "-"
		if f.servers >= targetILBHCServers {
			target = verdict(f.alive == f.servers && f.share() < targetILBHCShare)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.3f\t%.1f\t%d\t%d\t%s\t\n", f.test(), f.servers, f.window.Seconds(), f.cpu.Seconds(),
			100*f.share(), f.checked, f.alive, target)
	}
	tw.Flush()
}
