package agent

import (
	"fmt"
	"testing"

	"tapagent/agent/agentx"
)

// benchHandler is a 1000-row column under 1.3.6.1.4.1.99.
func benchHandler() *mapHandler {
	vals := map[string]agentx.Value{}
	for i := 1; i <= 1000; i++ {
		vals[fmt.Sprintf("1.3.6.1.4.1.99.1.%d", i)] = agentx.Integer(int32(i))
	}
	return newMapHandler([]agentx.OID{subtreeA}, vals)
}

// BenchmarkGetNextRoundTrip measures one GetNext from the fake master's
// write to its read of the answer: framing, decode, routing, handler,
// encode, both socket hops. Allocations include the fake master's own.
func BenchmarkGetNextRoundTrip(b *testing.B) {
	a, other := handlersAB()
	r := startRig(b, Config{PingInterval: -1}, false, benchHandler(), other)
	_ = a
	rng := agentx.SearchRange{Start: oid("1.3.6.1.4.1.99.1.500"), End: oid("1.3.6.1.4.1.100")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := r.c.GetNext(rng)
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.VarBinds) != 1 || resp.VarBinds[0].Value.Int != 501 {
			b.Fatalf("answer %v", resp.VarBinds)
		}
	}
}

// BenchmarkMuxNext is the routing part alone.
func BenchmarkMuxNext(b *testing.B) {
	m := NewMux()
	_, other := handlersAB()
	for _, h := range []Handler{benchHandler(), other} {
		if err := m.Handle(h); err != nil {
			b.Fatal(err)
		}
	}
	start := oid("1.3.6.1.4.1.99.1.500")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := m.Next(start, false, nil); !ok {
			b.Fatal("nothing found")
		}
	}
}
