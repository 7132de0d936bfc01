package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Load of TestConcurrentBulkWalkers: managers × walks each over the TAP trees
// holding loadMDs mediation devices, each with an active 802 stream.
const (
	loadManagers = 16
	loadWalks    = 30
	loadMDs      = 50
)

// TestConcurrentBulkWalkers runs 16 managers (own gosnmp session each)
// bulk-walking the four TAP trees 30 times each while 50 mediation devices
// with 802 streams exist: no walk fails, and every walk returns the complete table
// contents, identical to a walk made before the load.
func TestConcurrentBulkWalkers(t *testing.T) {
	b := startBed(t)
	_, timeoutHex := futureTimeout(60 * 24 * time.Hour)
	for id := uint32(1); id <= loadMDs; id++ {
		b.set(mdRow(id, timeoutHex)...)
		for _, pdu := range macStream(id, 1, fmt.Sprintf("0200000000%02x", id)) {
			b.set(pdu...)
		}
	}
	render := func(ps []gosnmp.SnmpPDU) string {
		var lines []string
		for _, p := range ps {
			if p.Name == newIndex0 {
				lines = append(lines, p.Name) // its value changes on every read
				continue
			}
			lines = append(lines, p.Name+" = "+renderValue(p))
		}
		return strings.Join(lines, "\n")
	}
	reference := b.walkLI(ciscoMgmt)
	// 7 scalars; 12 MD, 7 stream and 5 filter columns per device.
	if want := 7 + loadMDs*(12+7+5); len(reference) != want {
		t.Fatalf("reference walk: %d varbinds, want %d", len(reference), want)
	}
	want := render(reference)

	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		walks    int
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	for m := range loadManagers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := b.snmpd.Client(b.snmpd.LI)
			if err != nil {
				fail("manager %d: %v", m, err)
				return
			}
			defer c.Conn.Close()
			for w := range loadWalks {
				ps, err := c.BulkWalkAll(ciscoMgmt)
				if err != nil {
					fail("manager %d walk %d: %v", m, w, err)
					continue
				}
				if got := render(ps); got != want {
					fail("manager %d walk %d: %d varbinds, differs from the reference walk", m, w, len(ps))
					continue
				}
				mu.Lock()
				walks++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, f := range failures {
		t.Error(f)
	}
	if walks != loadManagers*loadWalks {
		t.Errorf("%d of %d walks complete and identical", walks, loadManagers*loadWalks)
	}
	t.Logf("%d walks of %d varbinds in %v (%.0f varbinds/s)", walks, len(reference), elapsed.Round(time.Millisecond),
		float64(walks*len(reference))/elapsed.Seconds())

	// Still serving the same content afterwards.
	if got := render(b.walkLI(ciscoMgmt)); got != want {
		t.Error("after the load the tree differs from before")
	}
}
