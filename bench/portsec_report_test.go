package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"tapagent/portsec"
)

// Targets of the port-security issue.
const (
	targetPortsecP99     = 10 * time.Millisecond // offending frame → drop / port down
	targetPortsecLearned = 10_000.0              // MACs learned per second
)

type portsecLearnFigure struct {
	macs, learned int
	inModel       int // entries the engine's model holds afterwards
	elapsed       time.Duration
	eventsLost    uint64
}

func (f portsecLearnFigure) rate() float64 { return PerSecond(f.learned, f.elapsed) }

type portsecReactionFigure struct {
	mode, what string
	samples    []time.Duration
	missed     int
	linkDown   bool // shutdown series: the port's link is down at the end
}

// portsecFigures are guarded by figures' lock, like the others.
var portsecFigures struct {
	learn     []portsecLearnFigure
	reactions []portsecReactionFigure
}

func recordPortsecLearn(f portsecLearnFigure) {
	figures.Lock()
	defer figures.Unlock()
	portsecFigures.learn = append(portsecFigures.learn, f)
}

func recordPortsecReaction(f portsecReactionFigure) {
	figures.Lock()
	defer figures.Unlock()
	portsecFigures.reactions = append(portsecFigures.reactions, f)
}

func init() {
	sections = append(sections, reportSection{
		measured: func() bool { return len(portsecFigures.learn)+len(portsecFigures.reactions) > 0 },
		print:    printPortsec,
	})
}

func printPortsec(w io.Writer) {
	fmt.Fprintln(w, "\n7. Port security: portsec engine in-process on the bridge namespace of a netlab BridgeLab (h1, h2, h3 on br0), raw frames from the hosts")
	if rs := portsecFigures.reactions; len(rs) > 0 {
		fmt.Fprintf(w, "   reaction: h1's port secured with maximum 1, h1's MAC learned, then one frame from a new MAC; time from sending it to the engine's event;\n")
		fmt.Fprintf(w, "   each sample starts from a freshly enabled port (%s)\n", figures.load["portsec-react"])
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "violation mode\tmeasured until\tsamples\tmissed\tp50 µs\tp99 µs\tmax µs\ttarget p99 < %v\t\n", targetPortsecP99)
		for _, f := range rs {
			lat := Summarize(f.samples)
			ok := f.missed == 0 && lat.N > 0 && lat.P99 < targetPortsecP99
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%s\t\n", f.mode, f.what, lat.N, f.missed,
				Micros(lat.P50), Micros(lat.P99), Micros(lat.Max), verdict(ok))
		}
		tw.Flush()
		for _, f := range rs {
			if f.mode == "shutdown" {
				fmt.Fprintf(w, "after the shutdown series the port's link is down: %v (the kernel drops the port's frames from the offending one on, before the link goes down)\n", f.linkDown)
			}
		}
	}
	for _, f := range portsecFigures.learn {
		fmt.Fprintf(w, "   learn rate: one frame from each of %d distinct MACs, spread over the 3 ports (restrict, maximum %d) and sent concurrently;\n", f.macs, portsec.MaxPerPort)
		fmt.Fprintf(w, "   timed from the first send to the last learned event (%s)\n", figures.load["portsec-learn"])
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "MACs sent\tlearned events\tin the model\tevents lost\tseconds\tMACs/s\ttarget ≥ %.0f MACs/s\t\n", targetPortsecLearned)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.3f\t%.0f\t%s\t\n", f.macs, f.learned, f.inModel, f.eventsLost, f.elapsed.Seconds(), f.rate(),
			verdict(f.learned == f.macs && f.rate() >= targetPortsecLearned))
		tw.Flush()
	}
}
