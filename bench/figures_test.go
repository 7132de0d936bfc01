package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/sirupsen/logrus"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/bench/minimal"
	"tapagent/intercept"
	"tapagent/internal/testbed"
	"tapagent/mibs/tap"
)

// Workload sizes; the defaults keep all figures well under two minutes.
var (
	flagGets   = flag.Int("gets", 2000, "measured GETs per target in the latency figure")
	flagWarmup = flag.Int("warmup", 200, "unmeasured GETs per target before them")
	flagTaps   = flag.Int("taps", 1000, "taps per provisioning run (split over the managers)")
	flagWalk   = flag.Int("walk-varbinds", 120000, "varbinds per table in the walk figure (at least one full walk each)")
)

// OIDs of the objects measured (numeric: no MIB files are loaded).
const (
	// minimalTree is in the li user's view (CISCO-H225-MIB, which nobody
	// serves here), so tapagent and the minimal responder are read by the
	// same user through the same view.
	minimalTree = ".1.3.6.1.4.1.9.9.397"
	// cTap2MediationTable and its entry; cTap2StreamEntry; citapStreamEntry.
	mdTable     = ".1.3.6.1.4.1.9.9.399.1.1.2"
	mdEntry     = mdTable + ".1"
	streamEntry = ".1.3.6.1.4.1.9.9.399.1.2.1.1"
	ipEntry     = ".1.3.6.1.4.1.9.9.394.1.1.2.1"
	// hrSWInstalledTable (HOST-RESOURCES-MIB): one row per installed
	// package, the largest table a stock snmpd serves here.
	hrSWInstalledTable = ".1.3.6.1.2.1.25.6.3"
	hrSWInstalledIndex = hrSWInstalledTable + ".1.1"
)

// Column numbers (CISCO-TAP2-MIB, CISCO-IP-TAP-MIB).
const (
	mdDestAddressType = 2
	mdDestAddress     = 3
	mdDestPort        = 4
	mdSrcInterface    = 5
	mdTimeout         = 10
	mdTransport       = 11
	mdStatus          = 13
	mdReadable        = 12 // columns 2..13

	stType            = 2
	stInterceptEnable = 3
	stStatus          = 6

	ipInterface  = 1
	ipDstAddress = 3
	ipDstLength  = 4
	ipStatus     = 16

	createAndGo = 4
	active      = 1
)

// TestMain prints the table of the figures measured after the benchmarks.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	printFigures()
	os.Exit(code)
}

// ---- 1. GET latency -------------------------------------------------------

// getTarget is one object whose GET latency is measured.
type getTarget struct {
	name, object, user string
	client             *gosnmp.GoSNMP
	oid                string
	check              func(gosnmp.SnmpPDU) error
	samples            []time.Duration
}

func (t *getTarget) get() (time.Duration, error) {
	start := time.Now()
	r, err := t.client.Get([]string{t.oid})
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("GET %s as %s: %w", t.oid, t.user, err)
	}
	if r.Error != gosnmp.NoError || len(r.Variables) != 1 {
		return d, fmt.Errorf("GET %s as %s: %v at %d, %d varbinds", t.oid, t.user, r.Error, r.ErrorIndex, len(r.Variables))
	}
	if err := t.check(r.Variables[0]); err != nil {
		return d, fmt.Errorf("GET %s as %s: %w", t.oid, t.user, err)
	}
	return d, nil
}

// BenchmarkGetLatency measures sequential GETs through snmpd of a tapagent
// object, a native object and the minimal responder's object. The parent
// takes every sample, interleaving the three targets round by round so that
// they see the same machine load; each sub-benchmark then reports its
// target's share (its ns/op is the mean latency of one GET).
func BenchmarkGetLatency(b *testing.B) {
	recordLoad("latency")
	s := testbed.StartSnmpd(b, testbed.Options{})
	startTapagent(b, s)
	testbed.StartAgent(b, s, testbed.AgentOptions{
		Bin:        testbed.Build(b, "./bench/cmd/minagent"),
		Args:       []string{"--subtree", minimalTree, "--cols", "12", "--rows", "1"},
		WaitPrefix: minimalTree,
	})
	li, admin := s.LIClient(), s.AdminClient()
	const id, port = 1, 4001
	if err := set(li, mdPDU(id, port, timeoutIn(time.Hour))); err != nil {
		b.Fatalf("provision the measured MD row: %v", err)
	}
	targets := []*getTarget{
		{name: "tapagent", object: fmt.Sprintf("cTap2MediationDestPort.%d (tapagent binary)", id), user: "li", client: li,
			oid: fmt.Sprintf("%s.%d.%d", mdEntry, mdDestPort, id), check: wantUint(port)},
		{name: "native", object: "sysDescr.0 (snmpd itself)", user: "admin", client: admin,
			oid: testbed.SysDescr0, check: wantOctets("tapagent test bed")},
		{name: "minimal", object: minimalTree[1:] + ".1.4.1 (minimal responder process)", user: "li", client: li,
			oid: minimalTree + ".1.4.1", check: wantOctets(string(minimal.Cell(4, 1).Bytes))},
	}
	warmup, gets := *flagWarmup, *flagGets
	for round := 0; round < warmup+gets; round++ {
		for k := range targets {
			t := targets[(round+k)%len(targets)] // rotate who goes first
			d, err := t.get()
			if err != nil {
				b.Fatal(err)
			}
			if round >= warmup {
				t.samples = append(t.samples, d)
			}
		}
	}
	for _, t := range targets {
		lat := Summarize(t.samples)
		recordLatency(latencyFigure{target: t.name, object: t.object, user: t.user, lat: lat})
		b.Run(t.name, func(b *testing.B) {
			b.ReportMetric(float64(lat.Mean.Nanoseconds()), "ns/op")
			b.ReportMetric(Micros(lat.P50), "p50-µs")
			b.ReportMetric(Micros(lat.P99), "p99-µs")
		})
	}
}

// ---- 2. Bulk walk ---------------------------------------------------------

// walker steps through one table with the GETBULK requests gosnmp's
// BulkWalk sends (max-repetitions 50, each request continuing from the last
// name returned), one request per step, so that several tables can be
// walked interleaved. Every full pass must return perWalk varbinds.
type walker struct {
	fig     walkFigure
	client  *gosnmp.GoSNMP
	root    string
	perWalk int

	next   string          // name to continue from
	inWalk int             // varbinds of the current pass so far
	costs  []time.Duration // per request: its duration / varbinds fetched
}

func (w *walker) step() error {
	if w.next == "" {
		w.next = w.root
	}
	t0 := time.Now()
	r, err := w.client.GetBulk([]string{w.next}, 0, bulkRepetitions)
	d := time.Since(t0)
	if err != nil {
		return fmt.Errorf("GETBULK %s: %w", w.next, err)
	}
	if r.Error != gosnmp.NoError || len(r.Variables) == 0 {
		return fmt.Errorf("GETBULK %s: %v at %d, %d varbinds", w.next, r.Error, r.ErrorIndex, len(r.Variables))
	}
	w.fig.elapsed += d
	w.costs = append(w.costs, d/time.Duration(len(r.Variables)))
	done := false
	for _, vb := range r.Variables {
		if vb.Type == gosnmp.EndOfMibView || !strings.HasPrefix(vb.Name, w.root+".") {
			done = true
			break
		}
		if vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance {
			return fmt.Errorf("GETBULK %s: %s is %v", w.next, vb.Name, vb.Type)
		}
		w.inWalk++
		w.fig.varbinds++
		w.next = vb.Name
	}
	if done {
		if w.inWalk != w.perWalk {
			return fmt.Errorf("walk of %s returned %d varbinds, want %d", w.root, w.inWalk, w.perWalk)
		}
		w.fig.walks++
		w.inWalk, w.next = 0, w.root
	}
	return nil
}

// bulkRepetitions is the max-repetitions of every GETBULK.
const bulkRepetitions = 50

// BenchmarkBulkWalk walks cTap2MediationTable with 100, 1,000 and 10,000
// rows, each served by its own in-process subagent (agent.Subagent + the
// TAP binding, rows put directly into its table group) behind its own
// snmpd, a same-shaped 10,000-row table of the minimal responder (in this
// process too) and snmpd's own hrSWInstalledTable. The walks are
// interleaved one GETBULK at a time, so every table sees the same machine
// load, until each has returned the same number of varbinds: -walk-varbinds,
// or one full walk of the largest table if that is more. Sub-benchmarks
// report each table's share: ns/op is the time per varbind.
func BenchmarkBulkWalk(b *testing.B) {
	recordLoad("walk")
	var walkers []*walker
	var native *testbed.Snmpd
	for _, rows := range []int{100, 1000, 10000} {
		s := testbed.StartSnmpd(b, testbed.Options{})
		startWalkSubagent(b, s).grow(b, rows)
		walkers = append(walkers, &walker{
			fig:  walkFigure{name: fmt.Sprintf("tapagent/rows=%d", rows), table: "cTap2MediationTable", served: "in-process tapagent", rows: rows, cols: mdReadable},
			root: mdTable, perWalk: rows * mdReadable, client: walkClient(b, s, s.LI),
		})
		if rows == 10000 {
			startInProcessMinimal(b, s, rows)
			walkers = append(walkers, &walker{
				fig:  walkFigure{name: "minimal/rows=10000", table: "same shape, .397", served: "in-process minimal", rows: rows, cols: mdReadable},
				root: minimalTree, perWalk: rows * mdReadable, client: walkClient(b, s, s.LI),
			})
		}
		if native == nil {
			native = s
		}
	}
	nativeRows := 0
	nativeVBs, err := walkTable(walkClient(b, native, native.Admin), hrSWInstalledTable, func(vb gosnmp.SnmpPDU) {
		if strings.HasPrefix(vb.Name, hrSWInstalledIndex+".") {
			nativeRows++
		}
	})
	switch {
	case err != nil:
		b.Fatal(err)
	case nativeRows == 0:
		recordNote("native walk skipped: snmpd serves no hrSWInstalledTable rows on this machine")
	default:
		walkers = append(walkers, &walker{
			fig:  walkFigure{name: "native/hrSWInstalledTable", table: "hrSWInstalledTable", served: "snmpd (native)", rows: nativeRows, cols: nativeVBs / nativeRows},
			root: hrSWInstalledTable, perWalk: nativeVBs, client: walkClient(b, native, native.Admin),
		})
	}
	// Warm-up and check: one gosnmp BulkWalk of every table.
	for _, w := range walkers {
		n, err := walkTable(w.client, w.root, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n != w.perWalk {
			b.Fatalf("BulkWalk %s (%s): %d varbinds, want %d", w.root, w.fig.name, n, w.perWalk)
		}
	}

	// The same count for every table, so that they are interleaved to the end.
	quota := *flagWalk
	for _, w := range walkers {
		quota = max(quota, w.perWalk)
	}
	quota *= b.N
	for round, busy := 0, true; busy; round++ {
		busy = false
		for k := range walkers {
			w := walkers[(round+k)%len(walkers)] // rotate who goes first
			if w.fig.varbinds >= quota && w.fig.walks > 0 {
				continue
			}
			busy = true
			if err := w.step(); err != nil {
				b.Fatalf("%s: %v", w.fig.name, err)
			}
		}
	}
	for _, w := range walkers {
		fig := w.fig
		fig.cost = Summarize(w.costs)
		recordWalk(fig)
		b.Run(fig.name, func(b *testing.B) {
			b.ReportMetric(float64(fig.elapsed.Nanoseconds())/float64(fig.varbinds), "ns/op")
			b.ReportMetric(PerSecond(fig.varbinds, fig.elapsed), "varbinds/s")
			b.ReportMetric(float64(fig.cost.P50.Nanoseconds()), "p50-ns/varbind")
		})
	}
}

// walkClient is an SNMPv3 client for u, closed at the end of the benchmark.
func walkClient(b *testing.B, s *testbed.Snmpd, u testbed.User) *gosnmp.GoSNMP {
	b.Helper()
	c, err := s.Client(u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Conn.Close() })
	c.MaxRepetitions = bulkRepetitions
	return c
}

// walkTable bulk-walks root and returns the number of varbinds under it.
func walkTable(c *gosnmp.GoSNMP, root string, each func(gosnmp.SnmpPDU)) (int, error) {
	n := 0
	err := c.BulkWalk(root, func(vb gosnmp.SnmpPDU) error {
		switch vb.Type {
		case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
			return fmt.Errorf("%s: %v", vb.Name, vb.Type)
		}
		n++
		if each != nil {
			each(vb)
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("bulk walk %s: %w", root, err)
	}
	return n, nil
}

// mdRows fills the MD table of an in-process TAP binding.
type mdRows struct {
	group   *table.Group
	table   *table.Table
	timeout agentx.Value
}

// grow adds rows until the table holds n of them.
func (m *mdRows) grow(b *testing.B, n int) {
	b.Helper()
	for id := m.group.Len(m.table) + 1; id <= n; id++ {
		err := m.group.PutRow(m.table, []agentx.Value{agentx.Integer(int32(id))}, map[uint32]agentx.Value{
			mdDestAddressType: agentx.Integer(1),
			mdDestAddress:     agentx.OctetString(mdAddress(id)),
			mdDestPort:        agentx.Gauge32(uint32(4000 + id%1000)),
			mdSrcInterface:    agentx.Integer(0),
			mdTimeout:         m.timeout,
			mdTransport:       agentx.Integer(1),
		}, table.Active)
		if err != nil {
			b.Fatalf("put MD row %d: %v", id, err)
		}
	}
}

// startWalkSubagent runs agent.Subagent with the TAP binding in this
// process against s and returns its MD table.
func startWalkSubagent(b *testing.B, s *testbed.Snmpd) *mdRows {
	b.Helper()
	log := quietLogger()
	engine := intercept.New(intercept.Options{Logger: log})
	sub := agent.New(agent.Config{
		Address:      "unix:" + s.AgentXSocket,
		Descr:        "tapagent bench: in-process TAP binding",
		Logger:       log,
		PingInterval: -1,
	})
	binding := tap.New(engine, sub, log)
	if err := sub.Register(binding.Handler()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go engine.Run(ctx)
	go binding.Run(ctx)
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("in-process subagent: %v", err)
		}
	})
	select {
	case <-sub.Ready():
	case err := <-done:
		b.Fatalf("in-process subagent ended before registering: %v", err)
	case <-time.After(15 * time.Second):
		b.Fatal("in-process subagent did not register within 15 s")
	}
	if err := s.WaitRegistered(testbed.Tap2MIB, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	for _, t := range binding.Group().Tables() {
		if t.Name == "cTap2MediationTable" {
			return &mdRows{group: binding.Group(), table: t,
				timeout: agentx.OctetString(timeoutIn(24 * time.Hour))}
		}
	}
	b.Fatal("the TAP binding has no cTap2MediationTable")
	return nil
}

// startInProcessMinimal serves a rows × 12 table of the minimal responder
// under minimalTree from this process, as the walk subagent is.
func startInProcessMinimal(b *testing.B, s *testbed.Snmpd, rows int) {
	b.Helper()
	tree := agentx.MustParseOID(minimalTree)
	r, err := minimal.Dial("unix:"+s.AgentXSocket, tree, minimal.Table(tree, mdReadable, rows))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve() }()
	b.Cleanup(func() {
		r.Close()
		if err := <-done; err != nil {
			b.Errorf("minimal responder: %v", err)
		}
	})
	if err := s.WaitRegistered(minimalTree, 10*time.Second); err != nil {
		b.Fatal(err)
	}
}

// ---- 3. Provisioning ------------------------------------------------------

// BenchmarkProvision creates taps in the tapagent binary through snmpd:
// per tap one SET PDU creates the MD row (createAndGo) and one creates its
// stream and IP filter rows (createAndGo both). It runs -taps taps from one
// manager, then -taps taps from four concurrent managers, and afterwards
// walks cTap2StreamStatus and citapStreamStatus to check that every tap is
// there and active. ns/op is per tap.
func BenchmarkProvision(b *testing.B) {
	recordLoad("provision")
	s := testbed.StartSnmpd(b, testbed.Options{})
	startTapagent(b, s)
	checker := s.LIClient()
	checker.MaxRepetitions = 50
	created := 0
	for _, managers := range []int{1, 4} {
		b.Run(fmt.Sprintf("managers=%d", managers), func(b *testing.B) {
			taps := max(managers, *flagTaps/managers*managers) * b.N
			fig := provision(b, s, created, taps, managers)
			created += taps
			fig.streams, fig.filters = countActive(b, checker, streamEntry, stStatus), countActive(b, checker, ipEntry, ipStatus)
			if fig.streams != created || fig.filters != created {
				b.Fatalf("after %d taps the agent has %d active streams and %d active IP filters", created, fig.streams, fig.filters)
			}
			b.ReportMetric(float64(fig.elapsed.Nanoseconds())/float64(taps), "ns/op")
			b.ReportMetric(PerSecond(taps, fig.elapsed), "taps/s")
			b.ReportMetric(Micros(fig.setLat.P50), "set-p50-µs")
			recordProvision(fig)
		})
	}
}

// provision creates taps first+1 … first+taps, split in contiguous blocks
// over managers clients running concurrently.
func provision(b *testing.B, s *testbed.Snmpd, first, taps, managers int) provisionFigure {
	b.Helper()
	clients := make([]*gosnmp.GoSNMP, managers)
	for i := range clients {
		c, err := s.Client(s.LI)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Conn.Close()
		// Engine discovery and key setup happen before the clock starts.
		if _, err := c.Get([]string{testbed.Tap2MIB + ".1.1.1.0"}); err != nil {
			b.Fatalf("manager %d warm-up: %v", i, err)
		}
		clients[i] = c
	}
	timeout := timeoutIn(time.Hour)
	per := taps / managers
	lats := make([][]time.Duration, managers)
	errs := make([]error, managers)
	var wg sync.WaitGroup
	start := time.Now()
	for m, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := first + m*per + 1; id <= first+(m+1)*per; id++ {
				for _, pdu := range [][]gosnmp.SnmpPDU{mdPDU(id, 4000+id%1000, timeout), tapPDU(id)} {
					t0 := time.Now()
					if err := set(c, pdu); err != nil {
						errs[m] = fmt.Errorf("manager %d, tap %d: %w", m, id, err)
						return
					}
					lats[m] = append(lats[m], time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return provisionFigure{managers: managers, taps: taps, sets: len(all), elapsed: elapsed, setLat: Summarize(all)}
}

// countActive walks one RowStatus column and counts its active rows; any
// other status fails the benchmark.
func countActive(b *testing.B, c *gosnmp.GoSNMP, entry string, statusCol int) int {
	b.Helper()
	root := fmt.Sprintf("%s.%d", entry, statusCol)
	var bad []string
	n, err := walkTable(c, root, func(vb gosnmp.SnmpPDU) {
		if v, ok := vb.Value.(int); !ok || v != active {
			bad = append(bad, fmt.Sprintf("%s = %v", vb.Name, vb.Value))
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(bad) > 0 {
		b.Fatalf("%d rows of %s are not active, e.g. %s", len(bad), root, bad[0])
	}
	return n
}

// ---- SNMP helpers -----------------------------------------------------------

// startTapagent runs the tapagent binary at its default log level (info),
// as it is shipped, rather than testbed.StartTapagent's debug.
func startTapagent(b *testing.B, s *testbed.Snmpd) {
	b.Helper()
	testbed.StartAgent(b, s, testbed.AgentOptions{
		Bin: testbed.Build(b, "./cmd/tapagent"),
		// The provisioned taps name addresses outside any test
		// namespace: nothing may be captured or sent.
		Args:       []string{"--capture", "none"},
		WaitPrefix: testbed.Tap2MIB,
	})
}

// mdPDU creates and activates MD row id (UDP to 10.x.y.z:port).
func mdPDU(id, port int, timeout []byte) []gosnmp.SnmpPDU {
	col := func(c int) string { return fmt.Sprintf("%s.%d.%d", mdEntry, c, id) }
	return []gosnmp.SnmpPDU{
		{Name: col(mdStatus), Type: gosnmp.Integer, Value: createAndGo},
		{Name: col(mdDestAddressType), Type: gosnmp.Integer, Value: 1}, // ipv4
		{Name: col(mdDestAddress), Type: gosnmp.OctetString, Value: mdAddress(id)},
		{Name: col(mdDestPort), Type: gosnmp.Gauge32, Value: uint(port)},
		{Name: col(mdSrcInterface), Type: gosnmp.Integer, Value: 0},
		{Name: col(mdTimeout), Type: gosnmp.OctetString, Value: timeout},
		{Name: col(mdTransport), Type: gosnmp.Integer, Value: 1}, // udp
	}
}

// tapPDU creates stream 1 of MD id (type ip, intercept enabled) and its IP
// filter (any interface, destination 198.18.x.y/32) in one PDU.
func tapPDU(id int) []gosnmp.SnmpPDU {
	st := func(c int) string { return fmt.Sprintf("%s.%d.%d.1", streamEntry, c, id) }
	ip := func(c int) string { return fmt.Sprintf("%s.%d.%d.1", ipEntry, c, id) }
	return []gosnmp.SnmpPDU{
		{Name: st(stStatus), Type: gosnmp.Integer, Value: createAndGo},
		{Name: st(stType), Type: gosnmp.Integer, Value: 1}, // ip
		{Name: st(stInterceptEnable), Type: gosnmp.Integer, Value: 1},
		{Name: ip(ipStatus), Type: gosnmp.Integer, Value: createAndGo},
		{Name: ip(ipInterface), Type: gosnmp.Integer, Value: 0},
		{Name: ip(ipDstAddress), Type: gosnmp.OctetString, Value: []byte{198, 18, byte(id >> 8), byte(id)}},
		{Name: ip(ipDstLength), Type: gosnmp.Gauge32, Value: uint(32)},
	}
}

func mdAddress(id int) []byte { return []byte{10, byte(id >> 16), byte(id >> 8), byte(id)} }

// set sends one SET PDU and wants noError.
func set(c *gosnmp.GoSNMP, pdus []gosnmp.SnmpPDU) error {
	r, err := c.Set(pdus)
	if err != nil {
		return fmt.Errorf("SET %s: %w", pdus[0].Name, err)
	}
	if r.Error != gosnmp.NoError {
		at := "?"
		if i := int(r.ErrorIndex) - 1; i >= 0 && i < len(pdus) {
			at = pdus[i].Name
		}
		return fmt.Errorf("SET %s: %v on varbind %d (%s)", pdus[0].Name, r.Error, r.ErrorIndex, at)
	}
	return nil
}

// timeoutIn is a DateAndTime (RFC 2579, 11 octets, UTC) d from now.
func timeoutIn(d time.Duration) []byte {
	t := time.Now().Add(d).UTC()
	return []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0, '+', 0, 0}
}

func wantUint(want uint) func(gosnmp.SnmpPDU) error {
	return func(vb gosnmp.SnmpPDU) error {
		if v, ok := vb.Value.(uint); vb.Type != gosnmp.Gauge32 || !ok || v != want {
			return fmt.Errorf("got %v %v, want Gauge32 %d", vb.Type, vb.Value, want)
		}
		return nil
	}
}

func wantOctets(want string) func(gosnmp.SnmpPDU) error {
	return func(vb gosnmp.SnmpPDU) error {
		if v, ok := vb.Value.([]byte); vb.Type != gosnmp.OctetString || !ok || string(v) != want {
			return fmt.Errorf("got %v %v, want OCTET STRING %q", vb.Type, vb.Value, want)
		}
		return nil
	}
}

// quietLogger keeps the in-process agent's logs to warnings and worse.
func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return logrus.NewEntry(l)
}
