package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tapagent/internal/netlab"
)

// udpFlow is the one flow of the throughput figures: small UDP datagrams
// from a host through the router to another host.
type udpFlow struct {
	srcMAC, dstMAC net.HardwareAddr // h1's MAC, the router's MAC on h1's link
	src, dst       netip.AddrPort
	payload        int // UDP payload bytes
}

// ipPacket is the flow's IP packet, as it leaves h1.
func (f udpFlow) ipPacket() ([]byte, error) {
	pkt, err := netlab.BuildUDP(netlab.IPHeader{Src: f.src.Addr(), Dst: f.dst.Addr(), ID: 1},
		f.src.Port(), f.dst.Port(), make([]byte, f.payload))
	if err != nil {
		return nil, fmt.Errorf("flow packet: %w", err)
	}
	return pkt, nil
}

// frame is the flow's Ethernet frame on h1's link (no FCS).
func (f udpFlow) frame() ([]byte, error) {
	pkt, err := f.ipPacket()
	if err != nil {
		return nil, err
	}
	frame, err := netlab.Frame{Dst: f.dstMAC, Src: f.srcMAC, EtherType: netlab.EtherTypeIPv4, Payload: pkt}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("flow frame: %w", err)
	}
	return frame, nil
}

// generator sends count packets of the flow as fast as it can, bounded in
// time, and says how many it sent and how long that took.
type generator interface {
	name() string
	send(count int) (sent int, elapsed time.Duration, err error)
}

// generatorBound is the longest a generator may run, whatever the count.
const generatorBound = 60 * time.Second

// trafgen is netsniff-ng's trafgen on one CPU, sending through a
// PACKET_MMAP TX ring on h1's eth0 (no qdisc): the fastest sender we have.
type trafgen struct {
	ns      *netlab.NS
	dev     string
	config  string // the flow as a trafgen packet configuration file
	version string
}

func newTrafgen(ns *netlab.NS, dev, dir string, flow udpFlow) (*trafgen, error) {
	frame, err := flow.frame()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "flow.trafgen")
	if err := os.WriteFile(path, []byte(trafgenConfig(frame)), 0o644); err != nil {
		return nil, fmt.Errorf("trafgen config: %w", err)
	}
	out, _ := exec.Command("trafgen", "--version").CombinedOutput()
	version := "trafgen"
	if f := strings.Fields(string(out)); len(f) >= 2 {
		version = f[0] + " " + f[1]
	}
	return &trafgen{ns: ns, dev: dev, config: path, version: version}, nil
}

func (t *trafgen) name() string {
	return t.version + " (netsniff-ng), one CPU, PACKET_MMAP TX ring"
}

func (t *trafgen) send(count int) (int, time.Duration, error) {
	// --no-sock-mem: leave the machine's socket memory sysctls alone.
	cmd := t.ns.Command("trafgen", "--no-sock-mem", "--no-cpu-stats", "--cpus", "1",
		"--in", t.config, "--out", t.dev, "--num", strconv.Itoa(count))
	// trafgen forks a worker: kill the whole group if it overruns.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start trafgen: %w", err)
	}
	timer := time.AfterFunc(generatorBound, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := cmd.Wait()
	elapsed := time.Since(start)
	timer.Stop()
	if err != nil {
		return 0, elapsed, fmt.Errorf("trafgen: %w: %s", err, out.String())
	}
	sent, err := trafgenSent(out.String())
	return sent, elapsed, err
}

// trafgenConfig writes frame as a trafgen packet: one byte list.
func trafgenConfig(frame []byte) string {
	var sb strings.Builder
	sb.WriteString("/* tapagent bench: the throughput flow, one Ethernet frame without FCS */\n{ ")
	for i, c := range frame {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "0x%02x", c)
	}
	sb.WriteString(" }\n")
	return sb.String()
}

var trafgenOutgoing = regexp.MustCompile(`(?m)^\s*(\d+) packets outgoing\s*$`)

// trafgenSent reads the packet count trafgen prints when it ends.
func trafgenSent(output string) (int, error) {
	m := trafgenOutgoing.FindStringSubmatch(output)
	if m == nil {
		return 0, fmt.Errorf("trafgen printed no packet count: %q", output)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("trafgen packet count %q: %w", m[1], err)
	}
	return n, nil
}

// flooder is netlab.FloodUDP: one raw-socket sendto per packet from the
// test process. The fallback when trafgen is not installed.
type flooder struct {
	ns   *netlab.NS
	flow udpFlow
}

func (f *flooder) name() string { return "netlab.FloodUDP, one raw-socket sendto per packet" }

func (f *flooder) send(count int) (int, time.Duration, error) {
	start := time.Now()
	n, err := f.ns.FloodUDP(netlab.UDPFlow{Src: f.flow.src.Addr(), SrcPort: f.flow.src.Port(), Dst: f.flow.dst,
		Payload: make([]byte, f.flow.payload), Pace: netlab.Pace{Count: count, MaxDuration: generatorBound}})
	return n, time.Since(start), err
}

// arrivals watches a UDP receiver's count and notes when datagrams first
// and last arrived after the watch started (polled every
// arrivalResolution, so the times are that precise).
type arrivals struct {
	recv *netlab.UDPReceiver
	base int64
	stop chan struct{}
	done chan struct{}

	mu          sync.Mutex
	n           int64
	first, last time.Time
}

const arrivalResolution = time.Millisecond

func watchArrivals(recv *netlab.UDPReceiver) *arrivals {
	a := &arrivals{recv: recv, base: recv.Count(), stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	return a
}

func (a *arrivals) loop() {
	defer close(a.done)
	tick := time.NewTicker(arrivalResolution)
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case now := <-tick.C:
			a.sample(now)
		}
	}
}

func (a *arrivals) sample(now time.Time) {
	n := a.recv.Count() - a.base
	a.mu.Lock()
	defer a.mu.Unlock()
	if n == a.n {
		return
	}
	if a.n == 0 {
		a.first = now
	}
	a.n, a.last = n, now
}

// count is the number of datagrams since the watch started.
func (a *arrivals) count() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// settle waits until want datagrams arrived, or none arrived for quiet,
// or bound passed; then it stops the watch.
func (a *arrivals) settle(ctx context.Context, want int64, quiet, bound time.Duration) (n int64, first, last time.Time) {
	deadline := time.Now().Add(bound)
	lastN, since := int64(-1), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := a.count()
		if n >= want {
			break
		}
		if n != lastN {
			lastN, since = n, time.Now()
		} else if time.Since(since) > quiet {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(a.stop)
	<-a.done
	a.sample(time.Now())
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n, a.first, a.last
}

// rateBetween is n events spread from first to last, per second: n-1
// intervals. 0 when it cannot be told.
func rateBetween(n uint64, first, last time.Time) float64 {
	d := last.Sub(first).Seconds()
	if n < 2 || d <= 0 {
		return 0
	}
	return float64(n-1) / d
}

var errNoGenerator = errors.New("unknown -intercept-generator (auto, trafgen or flood)")
