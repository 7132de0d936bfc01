package smi

import (
	"fmt"
	"slices"
)

// resolver computes OIDs and syntaxes across modules, memoising results
// and catching definitions that depend on themselves.
type resolver struct {
	tree *Tree
	done map[*def]bool
	busy map[*def]bool
}

// maxTypeDepth bounds textual-convention chains; real ones are 1–3 deep.
const maxTypeDepth = 16

// value finds a value definition as seen from module m.
func (r *resolver) value(m *module, name string) (*module, *def, error) {
	if d := m.values[name]; d != nil {
		return m, d, nil
	}
	if from, ok := m.imports[name]; ok {
		src := r.tree.modules[from]
		if d := src.values[name]; d != nil {
			return src, d, nil
		}
		return nil, nil, fmt.Errorf("%s is imported from %s but is not a value there", name, from)
	}
	return nil, nil, fmt.Errorf("%w %q (not defined in %s nor imported)", ErrUnknownName, name, m.name)
}

func (r *resolver) oid(m *module, d *def) error {
	if r.done[d] {
		return nil
	}
	if r.busy[d] {
		return fmt.Errorf("%s:%d: %s: OID definition loops back on itself", m.file, d.obj.Line, d.obj.Name)
	}
	r.busy[d] = true
	defer delete(r.busy, d)

	if d.trap != nil { // SMIv1 trap n of enterprise E is E.0.n in SMIv2 terms
		pm, pd, err := r.value(m, d.trap.enterprise)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: ENTERPRISE: %w", m.file, d.obj.Line, d.obj.Name, err)
		}
		if err := r.oid(pm, pd); err != nil {
			return err
		}
		d.obj.OID = pd.obj.OID.Append(0, d.trap.number)
		r.done[d] = true
		return nil
	}

	first := d.oid[0]
	if first.hasNum {
		d.obj.OID = append(d.obj.OID[:0], first.num)
	} else {
		pm, pd, err := r.value(m, first.name)
		switch arc, isRoot := roots[first.name]; {
		case err == nil:
			if err := r.oid(pm, pd); err != nil {
				return err
			}
			d.obj.OID = pd.obj.OID.Clone()
		case isRoot:
			d.obj.OID = append(d.obj.OID[:0], arc)
		default:
			return fmt.Errorf("%s:%d: %s: %w", m.file, first.line, d.obj.Name, err)
		}
	}
	for _, part := range d.oid[1:] {
		d.obj.OID = append(d.obj.OID, part.num)
	}
	r.done[d] = true
	return nil
}

// typeDef finds a type as seen from module m.
func (r *resolver) typeDef(m *module, name string) (*module, *typeDef) {
	if td := m.types[name]; td != nil {
		return m, td
	}
	if from, ok := m.imports[name]; ok {
		src := r.tree.modules[from]
		return src, src.types[name]
	}
	return nil, nil
}

// syntax follows textual conventions down to a base type. Constraints and
// labels written at an outer level replace the inner ones.
func (r *resolver) syntax(m *module, rt *rawType, depth int) (*Syntax, error) {
	if depth > maxTypeDepth {
		return nil, fmt.Errorf("type %s: textual conventions nest too deep (a loop?)", rt.name)
	}
	s := &Syntax{}
	switch rt.name {
	case "INTEGER":
		s.Base = BaseInteger
	case "OCTET STRING":
		s.Base = BaseOctetString
	case "OBJECT IDENTIFIER":
		s.Base = BaseObjectIdentifier
	case "BITS":
		s.Base = BaseBits
	case "SEQUENCE OF":
		s.Base, s.Entry = BaseSequenceOf, rt.entry
	case "SEQUENCE":
		s.Base = BaseSequence
	case "CHOICE", "NULL":
	default:
		tm, td := r.typeDef(m, rt.name)
		base, isApp := applicationTypes[rt.name]
		switch {
		case isApp && (td == nil || smiModules[tm.name]):
			s.Base = base
		case td == nil:
			return nil, fmt.Errorf("%w: type %s (not defined in %s nor imported)", ErrUnknownName, rt.name, m.name)
		default:
			inner, err := r.syntax(tm, td.syntax, depth+1)
			if err != nil {
				return nil, fmt.Errorf("type %s: %w", rt.name, err)
			}
			*s = *inner
			if td.hint != "" {
				s.Hint = td.hint
			}
			s.TC, s.TCModule = rt.name, tm.name
		}
	}
	if len(rt.enums) > 0 {
		s.Enums = slices.Clone(rt.enums)
	}
	if len(rt.bits) > 0 {
		s.Bits = slices.Clone(rt.bits)
	}
	if len(rt.ranges) > 0 {
		s.Ranges = slices.Clone(rt.ranges)
	}
	if len(rt.sizes) > 0 {
		s.Sizes = slices.Clone(rt.sizes)
	}
	return s, nil
}
