package table

import (
	"fmt"
	"testing"

	"tapagent/agent"
	"tapagent/agent/agentx"
)

// benchToy returns a toy group whose parent table has n active rows.
func benchToy(b *testing.B, n int) *toy {
	b.Helper()
	y := newToy(b)
	y.limitVal = 1 << 30
	y.parent.Index[0].Syntax = Integer32(1, 1<<30) // room for n rows
	for i := 1; i <= n; i++ {
		if err := y.g.PutRow(y.parent, []agentx.Value{integer(i)},
			map[uint32]agentx.Value{pName: str("bench")}, Active); err != nil {
			b.Fatal(err)
		}
		y.packets[int64(i)] = uint32(i)
	}
	return y
}

func BenchmarkGet(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n, "rows"), func(b *testing.B) {
			y := benchToy(b, n)
			oid := pOID(pName, uint32(n/2))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if v := y.g.Get(oid); v.Type != agentx.TypeOctetString {
					b.Fatal(v)
				}
			}
		})
	}
}

func BenchmarkGetComputed(b *testing.B) {
	y := benchToy(b, 10000)
	oid := pOID(pPackets, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v := y.g.Get(oid); v.Type != agentx.TypeCounter32 {
			b.Fatal(v)
		}
	}
}

// BenchmarkNext is one GETNEXT step in the middle of a column, the unit of
// a bulk walk; the cost must grow with log n, not n.
func BenchmarkNext(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n, "rows"), func(b *testing.B) {
			y := benchToy(b, n)
			start := pOID(pName, uint32(n/2))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := y.g.Next(start, false, nil); !ok {
					b.Fatal("no next")
				}
			}
		})
	}
}

func BenchmarkWalk10000(b *testing.B) {
	y := benchToy(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for start := parentEntry.Append(pName); ; n++ {
			vb, ok := y.g.Next(start, false, parentEntry.Append(pMode))
			if !ok {
				break
			}
			start = vb.Name
		}
		if n != 10000 {
			b.Fatal(n)
		}
	}
}

// BenchmarkCreateAndGo is a whole SET cycle (TestSet, Commit, Cleanup)
// creating a row from 6 varbinds next to 10,000 rows.
func BenchmarkCreateAndGo(b *testing.B) {
	y := benchToy(b, 10000)
	pdus := make([][]agent.SetVarBind, 100)
	for i := range pdus {
		id := uint32(20000 + i)
		pdus[i] = vbs(pOID(pStatus, id), status(CreateAndGo), pOID(pName, id), str("bench"),
			pOID(pMode, id), integer(2), pOID(pTimeout, id), agentx.Gauge32(30),
			pOID(pAddrType, id), integer(InetIPv4), pOID(pAddr, id), agentx.OctetString([]byte{198, 18, 0, 1}))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := i % len(pdus)
		if p == 0 && i > 0 {
			b.StopTimer()
			for id := 20000; id < 20000+len(pdus); id++ {
				y.g.DeleteRow(y.parent, []agentx.Value{integer(id)})
			}
			b.StartTimer()
		}
		tx, serr := y.g.TestSet(pdus[p])
		if serr != nil {
			b.Fatal(serr)
		}
		if serr := tx.Commit(); serr != nil {
			b.Fatal(serr)
		}
		tx.Cleanup()
	}
}
