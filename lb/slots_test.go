package lb

import (
	"fmt"
	"testing"
)

func servers(usable ...bool) []slotServer {
	var s []slotServer
	for i, u := range usable {
		s = append(s, slotServer{Key: fmt.Sprintf("_g.%d", i), Usable: u})
	}
	return s
}

func TestAssignSlots(t *testing.T) {
	cases := []struct {
		name    string
		alg     Algorithm
		servers []slotServer
		want    []int
	}{
		{"round robin deals in turn", RoundRobin, servers(true, true), []int{0, 1, 0, 1, 0, 1}},
		{"a disabled server's slots go to the others", HashIP, servers(true, false, true), []int{0, 0, 2, 0, 2, 2}},
		{"nobody usable", HashIP, servers(false, false), []int{-1, -1, -1, -1, -1, -1}},
		{"no servers", RoundRobin, nil, []int{-1, -1, -1, -1, -1, -1}},
	}
	for _, tc := range cases {
		got := assignSlots(tc.alg, 6, tc.servers)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Slots of usable servers stay where they were when another server goes.
func TestHashSlotsStayWithUsableServers(t *testing.T) {
	all := assignSlots(HashIPPort, SlotCount, servers(true, true, true, true))
	one := assignSlots(HashIPPort, SlotCount, servers(true, true, false, true))
	for i := range all {
		if all[i] != 2 && one[i] != all[i] {
			t.Fatalf("slot %d moved from %d to %d", i, all[i], one[i])
		}
		if one[i] == 2 {
			t.Fatalf("slot %d still on the disabled server", i)
		}
	}
}

// Maglev: every server gets about the same share, and removing one of
// ten moves little more than that server's share.
func TestMaglevTable(t *testing.T) {
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("_g.%d 10.0.0.%d", i, i+1))
	}
	full := maglevTable(keys, MaglevSlotCount)
	count := make([]int, len(keys))
	for _, k := range full {
		count[k]++
	}
	for i, c := range count {
		if c < MaglevSlotCount/10*9/10 || c > MaglevSlotCount/10*11/10 {
			t.Errorf("server %d has %d of %d slots", i, c, MaglevSlotCount)
		}
	}
	less := maglevTable(append(append([]string{}, keys[:3]...), keys[4:]...), MaglevSlotCount)
	moved := 0
	for i := range full {
		was := keys[full[i]]
		now := append(append([]string{}, keys[:3]...), keys[4:]...)[less[i]]
		if was != keys[3] && was != now {
			moved++
		}
	}
	if moved > MaglevSlotCount/20 {
		t.Errorf("removing one server moved %d other slots", moved)
	}
	again := maglevTable(keys, MaglevSlotCount)
	for i := range full {
		if full[i] != again[i] {
			t.Fatal("the table is not deterministic")
		}
	}
}
