package bench

import (
	"flag"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"tapagent/internal/netlab"
	"tapagent/portsec"
)

// Workload of the port-security figures.
var (
	flagPortsecMACs    = flag.Int("portsec-macs", 10_000, "distinct MACs sent for the port-security learn rate (at most 3 ports × portsec.MaxPerPort)")
	flagPortsecSamples = flag.Int("portsec-samples", 100, "offending frames per port-security reaction series (restrict: drop reported, shutdown: port down)")
)

// portsecPoll is the engine's kernel poll interval in the figures: the
// reactions come from nflog events, not from polling, and learning must
// not wait for a poll either, so a slow poll keeps it out of the way.
const portsecPoll = time.Second

// portsecEventTimeout bounds the wait for one engine event.
const portsecEventTimeout = 2 * time.Second

// portsecRig is a BridgeLab with the portsec engine in-process, bound to
// the bridge namespace.
type portsecRig struct {
	lab *netlab.BridgeLab
	eng *portsec.Engine
}

func newPortsecRig(b *testing.B, eventBuffer int) *portsecRig {
	b.Helper()
	lab := netlab.NewBridgeLab(b)
	h, err := netns.GetFromName(lab.Bridge.Name)
	if err != nil {
		b.Fatalf("open bridge namespace %s: %v", lab.Bridge.Name, err)
	}
	b.Cleanup(func() { h.Close() })
	eng, err := portsec.New(portsec.Options{NetNS: int(h), PollInterval: portsecPoll, EventBuffer: eventBuffer})
	if err != nil {
		b.Fatalf("portsec.New: %v", err)
	}
	b.Cleanup(func() {
		eng.RemoveTable()
		eng.Close()
	})
	return &portsecRig{lab: lab, eng: eng}
}

func (r *portsecRig) apply(b *testing.B, cs ...portsec.Change) {
	b.Helper()
	if err := r.eng.Apply(cs); err != nil {
		b.Fatalf("portsec apply: %v", err)
	}
}

// drainEvents empties the event channel.
func (r *portsecRig) drainEvents() {
	for {
		select {
		case <-r.eng.Events():
		default:
			return
		}
	}
}

// waitEvent waits for one event of kind on ifindex; false on timeout.
func (r *portsecRig) waitEvent(kind portsec.EventKind, ifindex int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-r.eng.Events():
			if ev.Kind == kind && ev.Ifindex == ifindex {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// benchMAC is the n-th locally administered test MAC (n < 2^24).
func benchMAC(n int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0xbe, 0x0c, byte(n >> 16), byte(n >> 8), byte(n)}
}

// frameSender sends raw frames out of a host's eth0 from a packet socket
// opened once in the host's namespace: NS.SendFrames enters and leaves
// the namespace on every call, which costs milliseconds after the frame
// is already on its way and would be timed with it.
type frameSender struct {
	fd int
	to unix.SockaddrLinklayer
}

func newFrameSender(b *testing.B, h *netlab.Host) *frameSender {
	b.Helper()
	s := &frameSender{fd: -1}
	err := h.Do(func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		s.to = unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
		// Protocol 0: the socket only sends.
		s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		b.Fatalf("packet socket in %s: %v", h.Name, err)
	}
	b.Cleanup(func() { unix.Close(s.fd) })
	return s
}

// send transmits the frames in order, waiting out a full transmit queue
// (bounded).
func (s *frameSender) send(frames ...[]byte) error {
	const retries = 1000
	for i, f := range frames {
		for try := 0; ; try++ {
			err := unix.Sendto(s.fd, f, 0, &s.to)
			if err == nil {
				break
			}
			if (err != unix.ENOBUFS && err != unix.EAGAIN) || try == retries {
				return fmt.Errorf("send frame %d of %d: %w", i+1, len(frames), err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	return nil
}

// portsecFrame is one broadcast frame from src: the bridge floods it, so
// it needs no known destination.
func portsecFrame(src net.HardwareAddr) ([]byte, error) {
	return netlab.Frame{Dst: netlab.Broadcast, Src: src, EtherType: 0x88b5,
		Payload: []byte("tapagent bench port-security frame ....................")}.Bytes()
}

func portsecFrames(first, n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	for i := range n {
		f, err := portsecFrame(benchMAC(first + i))
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func securePort(max int, mode portsec.ViolationMode) portsec.PortConfig {
	c := portsec.DefaultPortConfig()
	c.Enabled, c.Maximum, c.Violation = true, max, mode
	return c
}

// BenchmarkPortsecLearnRate sends one frame from each of -portsec-macs
// distinct MACs, spread over the three hosts of a BridgeLab and sent
// concurrently, into ports secured with restrict and the largest maximum,
// and times until the engine has reported every one learned (kernel
// learning plus the nflog event reaching the engine's model).
func BenchmarkPortsecLearnRate(b *testing.B) {
	recordLoad("portsec-learn")
	n := *flagPortsecMACs
	if n < 3 || n > 3*portsec.MaxPerPort {
		b.Fatalf("-portsec-macs %d: need 3 to %d", n, 3*portsec.MaxPerPort)
	}
	r := newPortsecRig(b, 2*n)
	hosts := r.lab.Hosts()
	ports := []*netlab.Iface{r.lab.Port1, r.lab.Port2, r.lab.Port3}
	batches := make([][][]byte, len(hosts))
	senders := make([]*frameSender, len(hosts))
	for i, h := range hosts {
		senders[i] = newFrameSender(b, h)
		lo, hi := i*n/len(hosts), (i+1)*n/len(hosts)
		fs, err := portsecFrames(lo+1, hi-lo)
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = fs
	}
	for _, p := range ports {
		r.apply(b, portsec.SetPort(p.Index, securePort(portsec.MaxPerPort, portsec.Restrict)))
	}
	r.drainEvents()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, s := range senders {
		wg.Go(func() { errs[i] = s.send(batches[i]...) })
	}
	learned, timeout := 0, learnTimeout(n)
	deadline := time.After(timeout)
wait:
	for learned < n {
		select {
		case ev := <-r.eng.Events():
			if ev.Kind == portsec.EventLearned {
				learned++
			}
		case <-deadline:
			break wait
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	fig := portsecLearnFigure{macs: n, learned: learned, elapsed: elapsed, eventsLost: r.eng.EventsDropped()}
	for _, p := range ports {
		ps, _, err := r.eng.Port(p.Index)
		if err != nil {
			b.Fatal(err)
		}
		fig.inModel += len(ps.Entries)
	}
	recordPortsecLearn(fig)
	if learned < n {
		b.Errorf("learned %d of %d MACs within %v (events lost %d)", learned, n, timeout, fig.eventsLost)
	}
	b.ReportMetric(fig.rate(), "MACs/s")
}

// learnTimeout bounds the learn figure: far above the target's time for
// n MACs, so a slow machine still gets a figure rather than a failure.
func learnTimeout(n int) time.Duration {
	return 5*time.Second + time.Duration(n)*time.Millisecond
}

// BenchmarkPortsecReaction measures, on h1's port with a maximum of one
// learned MAC, the time from sending an offending frame (a second MAC)
// to the engine reacting: with restrict, the violation event (the frame
// was dropped by the kernel and reported); with shutdown, the shutdown
// event (the engine has set the link down). Each sample starts from a
// freshly enabled port that learned h1's own MAC.
func BenchmarkPortsecReaction(b *testing.B) {
	recordLoad("portsec-react")
	samples := *flagPortsecSamples
	if samples < 1 || samples > 10_000 {
		b.Fatalf("-portsec-samples %d: need 1 to 10,000", samples)
	}
	r := newPortsecRig(b, 0)
	port := r.lab.Port1
	h1 := newFrameSender(b, r.lab.H1)
	first, err := portsecFrame(r.lab.H1.If.MAC)
	if err != nil {
		b.Fatal(err)
	}
	offending, err := portsecFrames(1, samples)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		mode portsec.ViolationMode
		want portsec.EventKind
		what string
	}{
		{portsec.Restrict, portsec.EventViolation, "dropped and reported (violation event)"},
		{portsec.Shutdown, portsec.EventShutdown, "port down (shutdown event, link set down)"},
	} {
		fig := portsecReactionFigure{mode: c.mode.String(), what: c.what}
		for i := range samples {
			r.apply(b, portsec.SetPort(port.Index, portsec.DefaultPortConfig()), portsec.ClearAddresses(port.Index, 0))
			r.apply(b, portsec.SetPort(port.Index, securePort(1, c.mode)))
			r.drainEvents()
			relearn(b, r, h1, port.Index, first)
			start := time.Now()
			if err := h1.send(offending[i]); err != nil {
				b.Fatal(err)
			}
			if !r.waitEvent(c.want, port.Index, portsecEventTimeout) {
				fig.missed++
				continue
			}
			fig.samples = append(fig.samples, time.Since(start))
		}
		if c.mode == portsec.Shutdown {
			fig.linkDown = linkDown(b, r.lab.Bridge, port.Name)
		}
		recordPortsecReaction(fig)
		lat := Summarize(fig.samples)
		b.Run(strings.ToLower(fig.mode), func(b *testing.B) {
			b.ReportMetric(Micros(lat.P50), "p50-µs")
			b.ReportMetric(Micros(lat.P99), "p99-µs")
		})
		if fig.missed > 0 {
			b.Errorf("%s: %d of %d offending frames brought no %s event within %v", fig.mode, fig.missed, samples, c.want, portsecEventTimeout)
		}
	}
	r.apply(b, portsec.SetPort(port.Index, portsec.DefaultPortConfig()))
}

// relearn sends the port's own frame until the engine learned it: the
// port has just come back up, and the first frames may meet a link that
// is not running yet.
func relearn(b *testing.B, r *portsecRig, tx *frameSender, ifindex int, frame []byte) {
	b.Helper()
	const tries = 40
	for range tries {
		if err := tx.send(frame); err != nil {
			b.Fatal(err)
		}
		if r.waitEvent(portsec.EventLearned, ifindex, 50*time.Millisecond) {
			return
		}
	}
	b.Fatalf("the port's first MAC was not learned after %d frames", tries)
}

// linkDown reports whether the bridge port's link is administratively down.
func linkDown(b *testing.B, ns *netlab.NS, name string) bool {
	b.Helper()
	out, err := ns.Command("ip", "-o", "link", "show", "dev", name).CombinedOutput()
	if err != nil {
		b.Fatalf("ip link show %s: %v: %s", name, err, out)
	}
	return adminDown(string(out))
}

// adminDown reads `ip -o link show`: the flags in angle brackets lack UP.
func adminDown(ipLink string) bool {
	open, end := strings.Index(ipLink, "<"), strings.Index(ipLink, ">")
	if open < 0 || end < open {
		return false
	}
	for _, f := range strings.Split(ipLink[open+1:end], ",") {
		if f == "UP" {
			return false
		}
	}
	return true
}
