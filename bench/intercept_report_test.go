package bench

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the intercept data-plane issue.
const (
	targetClassifyNs      = 100.0 // ns per Match at 100,000 taps
	targetClassifyTaps    = 100_000
	targetThroughputRatio = 0.8 // tapagent / bare reader, packets per second
)

// classifyFigure is one classifier case.
type classifyFigure struct {
	kind            string
	taps            int
	matches, rounds int
	nsPerOp         float64 // median round
	minNsPerOp      float64 // fastest round
	allocsPerOp     float64
	hitsPerOp       float64
}

// readerRun is one reader's view of one generator run.
type readerRun struct {
	reader, metricName string
	round              int
	sent               int           // packets the generator sent
	genTime            time.Duration // how long it took
	handled            uint64        // packets counted / delivered / in the counter
	ringDrops          uint64        // kernel ring drops (bare reader)
	counterDrops       uint64        // cTap2StreamInterceptHCDrops (stream counter)
	counter            bool          // the stream counter's run, timed by the MD receiver
	first, last        time.Time     // first and last packet handled
}

func (r readerRun) offered() float64 { return PerSecond(r.sent, r.genTime) }
func (r readerRun) rate() float64    { return rateBetween(r.handled, r.first, r.last) }

// lost is what the generator sent and this reader did not handle.
func (r readerRun) lost() uint64 {
	if uint64(r.sent) <= r.handled {
		return 0
	}
	return uint64(r.sent) - r.handled
}

// mdPathFigure is the MD path without capture: one deliver.Sender in the
// router sending to the receiver in the MD namespace.
type mdPathFigure struct {
	copies, accepted, dropped int
	sendTime                  time.Duration
	received                  uint64
	recvRate                  float64
}

// drainFigure is tapagent emptying a ring filled while it was stopped.
type drainFigure struct {
	sent      int
	delivered uint64
	rate      float64
}

type throughputFigure struct {
	generator string
	packets   int
	rounds    int
	frameLen  int
	flow      udpFlow
	captureIf string
	mdPath    mdPathFigure
	runs      []readerRun // per round: bare, tapagent at the MD, tapagent counter
	drain     drainFigure
	bareDrain drainFigure // the bare reader emptying the same kind of filled ring
}

// median is the median rate of the runs of one reader (metricName).
func (f throughputFigure) median(name string) float64 {
	var rates []float64
	for _, r := range f.runs {
		if r.metricName == name {
			rates = append(rates, r.rate())
		}
	}
	return medianOf(rates)
}

// medianOf is the median of xs (the mean of the middle two for an even
// count); NaN for none.
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// interceptFigures are guarded by figures' lock, like the others.
var interceptFigures struct {
	classify   []classifyFigure
	throughput []throughputFigure
}

func recordClassify(f classifyFigure) {
	figures.Lock()
	defer figures.Unlock()
	interceptFigures.classify = append(interceptFigures.classify, f)
}

func recordThroughput(f throughputFigure) {
	figures.Lock()
	defer figures.Unlock()
	interceptFigures.throughput = append(interceptFigures.throughput, f)
}

func init() {
	sections = append(sections,
		reportSection{
			measured: func() bool { return len(interceptFigures.classify) > 0 },
			print:    printClassify,
		},
		reportSection{
			measured: func() bool { return len(interceptFigures.throughput) > 0 },
			print:    printThroughput,
		})
}

func printClassify(w io.Writer) {
	figs := interceptFigures.classify
	fmt.Fprintf(w, "\n4. Intercept classifier: classify.Classifier.Match in-process, %d distinct frames rotated, median of %d rounds of %d matches (%s)\n",
		classifyFrames, figs[0].rounds, figs[0].matches, figures.load["classify"])
	fmt.Fprintln(w, "   (IP taps: /32 destination hosts over 1,000 MDs plus a /24 destination, a /10 source and a protocol-only tap; 802 taps: source MACs, a third \"from or to\")")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\ttaps\tns/op\tfastest ns/op\tallocs/op\thits/op\ttarget ≤ %.0f ns, 0 allocs at %d taps\t\n", targetClassifyNs, targetClassifyTaps)
	for _, f := range figs {
		target := ""
		if f.taps == targetClassifyTaps {
			target = verdict(f.nsPerOp <= targetClassifyNs && f.allocsPerOp == 0)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.3f\t%.2f\t%s\t\n", f.kind, f.taps, f.nsPerOp, f.minNsPerOp, f.allocsPerOp, f.hitsPerOp, target)
	}
	tw.Flush()
}

func printThroughput(w io.Writer) {
	for _, f := range interceptFigures.throughput {
		printOneThroughput(w, f)
	}
}

func printOneThroughput(w io.Writer, f throughputFigure) {
	fmt.Fprintf(w, "\n5. Intercept throughput: UDP %v → %v (%d-byte frames) from h1 through the router to h2, network namespaces and veth\n",
		f.flow.src, f.flow.dst, f.frameLen)
	fmt.Fprintf(w, "   one IPv4 tap on the flow (dst %v/32) to an MD receiver (netlab.ListenUDP) in the md namespace; both readers capture on the\n", f.flow.dst.Addr())
	fmt.Fprintf(w, "   router's %s with the same kernel pre-filter; generator %s;\n", f.captureIf, f.generator)
	fmt.Fprintf(w, "   %d packets per run; rounds: %d, each a bare run (tapagent's stream disabled) then a tapagent run (%s)\n",
		f.packets, f.rounds, figures.load["intercept"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\treader\tsent\tsent pkts/s\thandled\tlost\tring drops\tcounter drops\thandled pkts/s\t")
	var ratios []string
	var bareRate float64
	var beforeCounter, mdPath, counterDrops uint64
	for _, r := range f.runs {
		ring, drops := "-", "-"
		switch {
		case r.metricName == "bare":
			ring, bareRate = fmt.Sprint(r.ringDrops), r.rate()
		case r.metricName == "tapagent-md":
			ratios = append(ratios, fmt.Sprintf("%.2f", Ratio(r.rate(), bareRate)))
		case r.counter:
			drops = fmt.Sprint(r.counterDrops)
			counterDrops += r.counterDrops
			if counted := r.handled + r.counterDrops; counted < uint64(r.sent) {
				beforeCounter += uint64(r.sent) - counted
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.0f\t%d\t%d\t%s\t%s\t%.0f\t\n", r.round, r.reader, r.sent, r.offered(), r.handled, r.lost(), ring, drops, r.rate())
	}
	tw.Flush()
	for i, r := range f.runs {
		if r.metricName == "tapagent-md" && i+1 < len(f.runs) && f.runs[i+1].handled > r.handled {
			mdPath += f.runs[i+1].handled - r.handled
		}
	}
	fmt.Fprintln(w, "handled pkts/s: (handled-1) / (last - first handled); the bare reader by kernel ring timestamps, tapagent by arrival at the MD")
	fmt.Fprintf(w, "receiver (polled every %v); the stream counter (cTap2StreamInterceptedHCPackets) is read over SNMP around each run, timed by the MD\n", arrivalResolution)
	bare, tap := f.median("bare"), f.median("tapagent-md")
	ratio := Ratio(tap, bare)
	fmt.Fprintf(w, "median handled pkts/s on the same traffic: bare %.0f, tapagent %.0f; tapagent/bare %.2f (rounds: %s)   target ≥ %.1f: %s\n",
		bare, tap, ratio, strings.Join(ratios, ", "), targetThroughputRatio, verdict(ratio >= targetThroughputRatio))
	fmt.Fprintln(w, "   (the generator shares the 2 CPUs with the reader under test, so a reader that costs more CPU also slows what it is offered)")
	fmt.Fprintf(w, "tapagent's losses, all rounds: %d before the stream counter (not read from its capture ring in time), %d counted as drops, %d counted but not received by the MD\n",
		beforeCounter, counterDrops, mdPath)
	fmt.Fprintln(w, saturation(f))
	p := f.mdPath
	fmt.Fprintf(w, "MD path alone (one deliver.Sender in the router, %d copies as fast as it sends, no capture): %.0f copies/s sent, %d dropped by the sender, %d received at %.0f pkts/s\n",
		p.copies, PerSecond(p.copies, p.sendTime), p.dropped, p.received, p.recvRate)
	fmt.Fprintln(w, "   (over veth the MD namespace's receive path runs as softirq on the sending CPU: a delivery costs more here than towards a remote MD)")
	d, bd := f.drain, f.bareDrain
	fmt.Fprintf(w, "tapagent capacity: stopped (SIGSTOP) while %d packets arrived, its ring kept %d, delivered them at %.0f pkts/s once continued\n",
		d.sent, d.delivered, d.rate)
	fmt.Fprintf(w, "bare reader, same filled ring: kept %d of %d and counted them at %.0f pkts/s — it adds up each ring block's packet count without\n",
		bd.delivered, bd.sent, bd.rate)
	fmt.Fprintln(w, "   touching the packets, so this is no per-packet cost to compare with; tapagent's drain rate above is its own limit")
}

// keptUpShare is how close to the generator's rate a reader must stay to
// have kept up with it (not worked off a backlog after it stopped).
const keptUpShare = 0.97

// saturation says whether the generator drove the readers to their limit.
func saturation(f throughputFigure) string {
	var bareLost, bareDrops uint64
	var keptUp, behind, lost int
	var bareOffered, tapOffered []float64
	for _, r := range f.runs {
		switch r.metricName {
		case "bare":
			bareLost += r.lost()
			bareDrops += r.ringDrops
			bareOffered = append(bareOffered, r.offered())
		case "tapagent-md":
			tapOffered = append(tapOffered, r.offered())
			switch {
			case r.lost() > 0:
				lost++
			case r.rate() < keptUpShare*r.offered():
				behind++
			default:
				keptUp++
			}
		}
	}
	gen := fmt.Sprintf("the generator sent a median %.0f pkts/s in bare runs and %.0f in tapagent runs (it shares the %d CPUs with the reader)",
		medianOf(bareOffered), medianOf(tapOffered), runtime.NumCPU())
	switch {
	case bareLost > 0:
		return fmt.Sprintf("saturation: the bare reader missed %d packets (%d ring drops), so the kernel path limits both readers; %s", bareLost, bareDrops, gen)
	case keptUp == len(tapOffered):
		return fmt.Sprintf("not saturated: tapagent kept up with every run (within %.0f %%), its rates are the offered load and its limit is the drain rate below; %s",
			100*(1-keptUpShare), gen)
	}
	return fmt.Sprintf("saturated: the bare reader kept up; tapagent kept up in %d of %d runs, fell behind and worked off its ring after the generator stopped in %d, lost packets in %d; %s",
		keptUp, len(tapOffered), behind, lost, gen)
}
