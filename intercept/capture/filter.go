package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// maxInterfaces bounds an interface list: each one is a conditional jump in
// the filter prologue, and a cBPF conditional jump reaches 255 instructions.
const maxInterfaces = 200

// maxInstructions is the kernel's limit for a classic BPF program
// (BPF_MAXINSNS).
const maxInstructions = 4096

// selection says which interfaces the kernel filter lets through.
type selection struct {
	only      bool   // true: only ifindexes; false: all but ifindexes
	ifindexes []int  // loopback ones when only is false
	mark      uint32 // frames with this skb mark are dropped; 0 = none
}

// acceptAll is the user part of the filter until SetBPF sets one.
var acceptAll = []bpf.RawInstruction{{Op: 0x06, K: MaxSnap}} // ret #MaxSnap

// build returns the kernel program: a prologue that drops frames of
// interfaces we do not capture on and frames carrying our own delivery mark,
// then the caller's program. cBPF has only forward jumps, all relative, so
// the caller's program runs unchanged after the prologue; the prologue
// leaves A = 0 and X untouched, as at the start of a program.
func (s selection) build(user []bpf.RawInstruction) ([]bpf.RawInstruction, error) {
	if len(user) == 0 {
		user = acceptAll
	}
	if len(s.ifindexes) > maxInterfaces {
		return nil, fmt.Errorf("filter: %d interfaces, at most %d", len(s.ifindexes), maxInterfaces)
	}
	k := len(s.ifindexes)
	markLen := 0
	if s.mark != 0 {
		markLen = 2
	}
	// Positions: 0 load ifindex, 1..k tests, then (only mode) one jump to
	// drop, the mark test, the jump over drop, drop, A reset, user.
	afterTests := 1 + k
	if s.only {
		afterTests++ // ja drop: the ifindex matched none of the list
	}
	skipDrop := afterTests + markLen
	drop := skipDrop + 1

	prog := make([]bpf.Instruction, 0, drop+2)
	prog = append(prog, bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
	for i, idx := range s.ifindexes {
		pos := 1 + i
		target := drop
		if s.only {
			target = afterTests
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(idx), SkipTrue: uint8(target - pos - 1)})
	}
	if s.only {
		prog = append(prog, bpf.Jump{Skip: uint32(drop - (1 + k) - 1)})
	}
	if s.mark != 0 {
		prog = append(prog,
			bpf.LoadExtension{Num: bpf.ExtMark},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: s.mark, SkipTrue: uint8(drop - (afterTests + 1) - 1)},
		)
	}
	prog = append(prog,
		bpf.Jump{Skip: 1},
		bpf.RetConstant{Val: 0},
		bpf.LoadConstant{Dst: bpf.RegA, Val: 0},
	)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble prologue: %w", err)
	}
	if len(raw)+len(user) > maxInstructions {
		return nil, fmt.Errorf("filter: %d instructions with the prologue, the kernel takes %d", len(raw)+len(user), maxInstructions)
	}
	return append(raw, user...), nil
}
