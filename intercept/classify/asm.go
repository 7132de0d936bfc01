package classify

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// asm assembles classic BPF with forward labels. Conditional jumps reach at
// most 255 instructions ahead; the emitters keep their targets close (see
// acceptAny) and use ja for far targets.
type asm struct {
	ins    []bpf.Instruction
	fixes  []fix
	labels []int // label -> instruction index, -1 until placed
}

// fix is a jump whose targets are labels.
type fix struct {
	at     int
	jt, jf label // conditional: both; ja: jt only
}

type label int

// fallThrough is the pseudo-label "the next instruction".
const fallThrough label = -1

func (a *asm) newLabel() label {
	a.labels = append(a.labels, -1)
	return label(len(a.labels) - 1)
}

func (a *asm) place(l label) { a.labels[l] = len(a.ins) }

func (a *asm) emit(i ...bpf.Instruction) { a.ins = append(a.ins, i...) }

// jumpIf emits "if A cond val goto jt else goto jf".
func (a *asm) jumpIf(cond bpf.JumpTest, val uint32, jt, jf label) {
	a.fixes = append(a.fixes, fix{at: len(a.ins), jt: jt, jf: jf})
	a.emit(bpf.JumpIf{Cond: cond, Val: val})
}

// jump emits "goto l", any distance ahead.
func (a *asm) jump(l label) {
	a.fixes = append(a.fixes, fix{at: len(a.ins), jt: l})
	a.emit(bpf.Jump{})
}

// jumpUnlessEqual emits "if A != val goto l" for a target of any distance.
func (a *asm) jumpUnlessEqual(val uint32, l label) {
	skip := a.newLabel()
	a.jumpIf(bpf.JumpEqual, val, skip, fallThrough)
	a.jump(l)
	a.place(skip)
}

// acceptAny emits "if A equals any of vals, return accept", falling through
// otherwise. Every chunk of compares ends with its own return, so each
// conditional jump stays within reach.
func (a *asm) acceptAny(vals []uint32, accept uint32) {
	const chunk = 200
	for len(vals) > 0 {
		n := min(len(vals), chunk)
		yes, after := a.newLabel(), a.newLabel()
		for _, v := range vals[:n] {
			a.jumpIf(bpf.JumpEqual, v, yes, fallThrough)
		}
		a.jump(after)
		a.place(yes)
		a.emit(bpf.RetConstant{Val: accept})
		a.place(after)
		vals = vals[n:]
	}
}

// resolve fills in jump offsets and returns the program.
func (a *asm) resolve() ([]bpf.Instruction, error) {
	dist := func(from int, l label) (int, error) {
		if l == fallThrough {
			return 0, nil
		}
		to := a.labels[l]
		if to < 0 {
			return 0, fmt.Errorf("bpf: label %d never placed", l)
		}
		d := to - (from + 1)
		if d < 0 {
			return 0, fmt.Errorf("bpf: backward jump at %d", from)
		}
		return d, nil
	}
	for _, f := range a.fixes {
		switch ins := a.ins[f.at].(type) {
		case bpf.Jump:
			d, err := dist(f.at, f.jt)
			if err != nil {
				return nil, err
			}
			ins.Skip = uint32(d)
			a.ins[f.at] = ins
		case bpf.JumpIf:
			dt, err := dist(f.at, f.jt)
			if err != nil {
				return nil, err
			}
			df, err := dist(f.at, f.jf)
			if err != nil {
				return nil, err
			}
			if dt > 255 || df > 255 {
				return nil, fmt.Errorf("bpf: conditional jump at %d out of reach (%d, %d)", f.at, dt, df)
			}
			ins.SkipTrue, ins.SkipFalse = uint8(dt), uint8(df)
			a.ins[f.at] = ins
		}
	}
	return a.ins, nil
}
