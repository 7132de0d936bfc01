package dataplane

import (
	"testing"
	"time"
)

// TestRecentDeparturesOfOneArrival: every departure of an arrived packet
// (routing: one, bridge flooding: one per port) is recognised, a packet
// that never arrived is not, and the memory ends with the window.
func TestRecentDeparturesOfOneArrival(t *testing.T) {
	var r recent
	const ms = int64(time.Millisecond)
	r.put(42, 1000*ms)
	for port := 0; port < 3; port++ {
		if !r.seen(42, 1000*ms+int64(port)) {
			t.Fatalf("departure %d of an arrived packet not recognised", port)
		}
	}
	if r.seen(43, 1000*ms) {
		t.Fatal("a packet that never arrived was taken for a departure")
	}
	if r.seen(42, 1000*ms+recentWindow+1) {
		t.Fatal("remembered past the window")
	}
	// A full neighbourhood forgets, it does not grow.
	for k := uint64(0); k < 64; k++ {
		r.put(k<<12, 2000*ms)
	}
	if !r.seen(63<<12, 2000*ms) {
		t.Fatal("latest arrival forgotten")
	}
}

func BenchmarkRecent(b *testing.B) {
	var r recent
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := uint64(i) * 0x9e3779b97f4a7c15
		now := int64(i) + 1 // 0 marks an empty slot
		r.put(k, now)
		if !r.seen(k, now) {
			b.Fatal("lost")
		}
	}
}
