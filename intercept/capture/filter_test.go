package capture

import (
	"testing"

	"golang.org/x/net/bpf"
)

// runProlog interprets the few cBPF instructions the prologue uses (the
// x/net/bpf VM has no ancillary loads), with the user program reduced to
// its first return. It returns the snap length, 0 = dropped.
func runProlog(t *testing.T, prog []bpf.RawInstruction, ifindex, mark uint32) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc].Disassemble()
		switch in := ins.(type) {
		case bpf.LoadExtension:
			switch in.Num {
			case bpf.ExtInterfaceIndex:
				a = ifindex
			case bpf.ExtMark:
				a = mark
			default:
				t.Fatalf("pc %d: unexpected extension %v", pc, in.Num)
			}
		case bpf.LoadConstant:
			if in.Dst != bpf.RegA {
				t.Fatalf("pc %d: prologue touches X", pc)
			}
			a = in.Val
		case bpf.JumpIf:
			if in.Cond != bpf.JumpEqual {
				t.Fatalf("pc %d: unexpected condition %v", pc, in.Cond)
			}
			if a == in.Val {
				pc += int(in.SkipTrue)
			} else {
				pc += int(in.SkipFalse)
			}
		case bpf.Jump:
			pc += int(in.Skip)
		case bpf.RetConstant:
			if in.Val != 0 && a != 0 {
				t.Fatalf("pc %d: user program entered with A=%d, want 0", pc, a)
			}
			return in.Val
		default:
			t.Fatalf("pc %d: unexpected instruction %#v", pc, ins)
		}
	}
	t.Fatal("ran off the end of the program")
	return 0
}

func TestFilterPrologue(t *testing.T) {
	user := []bpf.RawInstruction{{Op: 0x06, K: 77}} // ret #77
	tests := []struct {
		name    string
		sel     selection
		ifindex uint32
		mark    uint32
		want    uint32
	}{
		{name: "default passes non-loopback", sel: selection{ifindexes: []int{1}}, ifindex: 2, want: 77},
		{name: "default drops loopback", sel: selection{ifindexes: []int{1}}, ifindex: 1, want: 0},
		{name: "no loopback known passes all", sel: selection{}, ifindex: 1, want: 77},
		{name: "list passes member", sel: selection{only: true, ifindexes: []int{4, 7, 9}}, ifindex: 7, want: 77},
		{name: "list passes last member", sel: selection{only: true, ifindexes: []int{4, 7, 9}}, ifindex: 9, want: 77},
		{name: "list drops non-member", sel: selection{only: true, ifindexes: []int{4, 7, 9}}, ifindex: 5, want: 0},
		{name: "own mark dropped", sel: selection{ifindexes: []int{1}, mark: 0x5a}, ifindex: 3, mark: 0x5a, want: 0},
		{name: "other mark passes", sel: selection{ifindexes: []int{1}, mark: 0x5a}, ifindex: 3, mark: 0x5b, want: 77},
		{name: "list member with own mark dropped", sel: selection{only: true, ifindexes: []int{4}, mark: 9}, ifindex: 4, mark: 9, want: 0},
		{name: "list member other mark passes", sel: selection{only: true, ifindexes: []int{4}, mark: 9}, ifindex: 4, mark: 1, want: 77},
		{name: "list non-member unmarked dropped", sel: selection{only: true, ifindexes: []int{4}, mark: 9}, ifindex: 5, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := tt.sel.build(user)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if got := runProlog(t, prog, tt.ifindex, tt.mark); got != tt.want {
				t.Fatalf("snap = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFilterLongListReachesItsTargets(t *testing.T) {
	sel := selection{only: true, mark: 3}
	for i := 1; i <= maxInterfaces; i++ {
		sel.ifindexes = append(sel.ifindexes, 1000+i)
	}
	prog, err := sel.build(nil)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	for _, idx := range []uint32{1001, 1100, 1000 + maxInterfaces} {
		if got := runProlog(t, prog, idx, 0); got != MaxSnap {
			t.Fatalf("ifindex %d: snap %d, want MaxSnap", idx, got)
		}
	}
	if got := runProlog(t, prog, 999, 0); got != 0 {
		t.Fatalf("ifindex 999: snap %d, want 0", got)
	}
}

func TestFilterLimits(t *testing.T) {
	tests := []struct {
		name string
		sel  selection
		user int
	}{
		{name: "too many interfaces", sel: selection{only: true, ifindexes: make([]int, maxInterfaces+1)}, user: 1},
		{name: "program too long", sel: selection{}, user: maxInstructions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := make([]bpf.RawInstruction, tt.user)
			if _, err := tt.sel.build(user); err == nil {
				t.Fatal("build accepted it")
			}
		})
	}
}
