package lb

import "hash/fnv"

// Slot counts: the algorithm picks a slot, a map sends the slot to a
// server. SlotCount is enough for the 1000 servers a group may hold; the
// Maglev table size is the prime the Maglev paper uses for small clusters.
const (
	SlotCount       = 1024
	MaglevSlotCount = 65537
)

// slotServer is what slot assignment needs to know of a server.
type slotServer struct {
	Key    string // stable name: server ID and address
	Usable bool   // enabled and not failed by its health check
}

// assignSlots maps each of n slots to an index into servers, or -1 when
// no server is usable. Round robin and the hash algorithms deal the slots
// over all servers in turn and then deal the slots of unusable servers
// over the usable ones, so a client keeps its server while that server
// stays usable. Maglev builds its lookup table over the usable servers.
func assignSlots(alg Algorithm, n int, servers []slotServer) []int {
	slots := make([]int, n)
	var usable []int
	for i, s := range servers {
		if s.Usable {
			usable = append(usable, i)
		}
	}
	if len(usable) == 0 {
		for i := range slots {
			slots[i] = -1
		}
		return slots
	}
	if alg == Maglev {
		keys := make([]string, len(usable))
		for j, i := range usable {
			keys[j] = servers[i].Key
		}
		for i, j := range maglevTable(keys, n) {
			slots[i] = usable[j]
		}
		return slots
	}
	next := 0
	for i := range slots {
		s := i % len(servers)
		if !servers[s].Usable {
			s = usable[next%len(usable)]
			next++
		}
		slots[i] = s
	}
	return slots
}

// maglevTable fills a table of size m (a prime) with indexes into keys by
// Maglev's permutation scheme: every node computing it from the same keys
// gets the same table, and removing a key moves few entries.
func maglevTable(keys []string, m int) []int {
	table := make([]int, m)
	for i := range table {
		table[i] = -1
	}
	offset := make([]uint64, len(keys))
	skip := make([]uint64, len(keys))
	next := make([]uint64, len(keys))
	for i, k := range keys {
		offset[i] = hashKey(k, 0xa1) % uint64(m)
		skip[i] = hashKey(k, 0xb2)%uint64(m-1) + 1
	}
	filled := 0
	for filled < m {
		for i := range keys {
			for {
				c := (offset[i] + next[i]*skip[i]) % uint64(m)
				next[i]++
				if table[c] < 0 {
					table[c] = i
					filled++
					break
				}
			}
			if filled == m {
				break
			}
		}
	}
	return table
}

func hashKey(k string, seed byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte{seed})
	h.Write([]byte(k))
	return h.Sum64()
}
