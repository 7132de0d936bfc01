package smi

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"tapagent/agent/agentx"
)

// ErrUnknownName is wrapped by errors about names no loaded module defines.
var ErrUnknownName = errors.New("unknown object name")

// Tree holds the resolved nodes of a set of modules. It is read-only after
// Load and safe for concurrent use.
type Tree struct {
	modules map[string]*module
	order   []string // module names in load order
	objects []*Object
	byName  map[string][]*Object
	byQName map[string]*Object
	root    *node
}

type node struct {
	children map[uint32]*node
	objs     []*Object // several modules may name the same arc
}

// skippedExt are file name endings that never hold MIB text.
var skippedExt = map[string]bool{".md": true, ".go": true, ".json": true, ".yaml": true,
	".yml": true, ".sh": true, ".orig": true, ".rej": true}

// Load parses every module file in the given directories of fsys (not
// recursively; hidden files and documentation are skipped) and resolves all
// names. Directories are read in order, files in name order.
func Load(fsys fs.FS, dirs ...string) (*Tree, error) {
	var mods []*module
	for _, dir := range dirs {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("smi: read MIB directory: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") || skippedExt[path.Ext(name)] ||
				strings.EqualFold(name, "README") {
				continue
			}
			file := path.Join(dir, name)
			src, err := fs.ReadFile(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("smi: %w", err)
			}
			ms, err := parseFile(file, string(src))
			if err != nil {
				return nil, fmt.Errorf("smi: %w", err)
			}
			mods = append(mods, ms...)
		}
	}
	return build(mods)
}

// Parse builds a tree from module texts keyed by a file name used in errors.
// It is Load without a file system, for callers that hold the text already.
func Parse(files map[string]string) (*Tree, error) {
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	var mods []*module
	for _, f := range names {
		ms, err := parseFile(f, files[f])
		if err != nil {
			return nil, fmt.Errorf("smi: %w", err)
		}
		mods = append(mods, ms...)
	}
	return build(mods)
}

func build(mods []*module) (*Tree, error) {
	t := &Tree{modules: map[string]*module{}, byName: map[string][]*Object{},
		byQName: map[string]*Object{}, root: &node{}}
	for _, m := range mods {
		if prev, dup := t.modules[m.name]; dup {
			return nil, fmt.Errorf("smi: module %s defined in both %s and %s", m.name, prev.file, m.file)
		}
		t.modules[m.name] = m
		t.order = append(t.order, m.name)
	}
	for _, name := range t.order {
		if err := t.checkImports(t.modules[name]); err != nil {
			return nil, fmt.Errorf("smi: %w", err)
		}
	}
	r := &resolver{tree: t, done: map[*def]bool{}, busy: map[*def]bool{}}
	for _, name := range t.order {
		m := t.modules[name]
		for _, d := range m.defs {
			if err := r.oid(m, d); err != nil {
				return nil, fmt.Errorf("smi: %w", err)
			}
			if d.syntax != nil {
				s, err := r.syntax(m, d.syntax, 0)
				if err != nil {
					return nil, fmt.Errorf("smi: %s:%d: %s: %w", m.file, d.obj.Line, d.obj.Name, err)
				}
				d.obj.Syntax = s
			}
			t.insert(d.obj)
		}
	}
	if err := t.refine(); err != nil {
		return nil, fmt.Errorf("smi: %w", err)
	}
	slices.SortStableFunc(t.objects, func(a, b *Object) int { return a.OID.Compare(b.OID) })
	return t, nil
}

// checkImports insists that every import names a loaded module that
// defines the symbol: a missing base module is the mistake that makes other
// MIB readers resolve nothing without saying so.
func (t *Tree) checkImports(m *module) error {
	syms := make([]string, 0, len(m.imports))
	for s := range m.imports {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	for _, s := range syms {
		from := m.imports[s]
		src, ok := t.modules[from]
		if !ok {
			return fmt.Errorf("%s:%d: module %s imports %s from %s, which is not loaded",
				m.file, m.importLines[s], m.name, s, from)
		}
		if src.values[s] != nil || src.types[s] != nil || src.macros[s] ||
			(builtinSymbols[s] && (smiModules[from] || isConfOrTC(from))) {
			continue
		}
		return fmt.Errorf("%s:%d: module %s imports %s from %s, which does not define it",
			m.file, m.importLines[s], m.name, s, from)
	}
	return nil
}

func isConfOrTC(mod string) bool {
	return mod == "SNMPv2-TC" || mod == "SNMPv2-CONF" || mod == "RFC-1212" || mod == "RFC-1215"
}

func (t *Tree) insert(o *Object) {
	t.objects = append(t.objects, o)
	t.byName[o.Name] = append(t.byName[o.Name], o)
	t.byQName[o.QualifiedName()] = o
	n := t.root
	for _, arc := range o.OID {
		if n.children == nil {
			n.children = map[uint32]*node{}
		}
		c := n.children[arc]
		if c == nil {
			c = &node{}
			n.children[arc] = c
		}
		n = c
	}
	n.objs = append(n.objs, o)
}

// refine sets table/row/column kinds and copies the INDEX of augmented rows.
func (t *Tree) refine() error {
	for _, o := range t.objects {
		if o.Kind == KindScalar && o.Syntax != nil && o.Syntax.Base == BaseSequenceOf {
			o.Kind = KindTable
		}
	}
	for _, o := range t.objects {
		if o.Kind != KindScalar || len(o.OID) == 0 {
			continue
		}
		if p := t.exact(o.OID[:len(o.OID)-1]); p != nil && p.Kind == KindTable {
			o.Kind = KindRow
		}
	}
	for _, o := range t.objects {
		if o.Kind != KindScalar || len(o.OID) == 0 {
			continue
		}
		if p := t.exact(o.OID[:len(o.OID)-1]); p != nil && p.Kind == KindRow {
			o.Kind = KindColumn
		}
	}
	for _, o := range t.objects {
		if o.Kind != KindRow || o.Augments == "" {
			continue
		}
		base, err := t.lookupFrom(o.Module, o.Augments)
		if err != nil {
			return fmt.Errorf("%s: AUGMENTS: %w", o.QualifiedName(), err)
		}
		if len(o.Index) == 0 {
			o.Index = slices.Clone(base.Index)
			o.Implied = base.Implied
		}
	}
	return nil
}

// lookupFrom finds name as seen from module mod (local or imported).
func (t *Tree) lookupFrom(mod, name string) (*Object, error) {
	m := t.modules[mod]
	if m != nil {
		if from, ok := m.imports[name]; ok {
			mod = from
		}
	}
	if o := t.byQName[mod+"::"+name]; o != nil {
		return o, nil
	}
	return nil, fmt.Errorf("%w %q in module %s", ErrUnknownName, name, mod)
}

// exact returns the preferred object registered at exactly oid.
func (t *Tree) exact(oid agentx.OID) *Object {
	n := t.root
	for _, arc := range oid {
		if n = n.children[arc]; n == nil {
			return nil
		}
	}
	return preferred(n.objs)
}

// preferred picks the object to name an arc with: a real definition beats a
// plain OBJECT IDENTIFIER assignment, otherwise the first loaded wins.
func preferred(objs []*Object) *Object {
	for _, o := range objs {
		if o.Kind != KindNode {
			return o
		}
	}
	if len(objs) > 0 {
		return objs[0]
	}
	return nil
}

// Modules lists the loaded module names in load order.
func (t *Tree) Modules() []string { return slices.Clone(t.order) }

// Objects returns every named node, ordered by OID. The objects are shared:
// do not modify them.
func (t *Tree) Objects() []*Object { return slices.Clone(t.objects) }

// Lookup finds an object by "name" or "MODULE::name". A plain name defined
// with different OIDs in several modules is ambiguous and must be qualified.
func (t *Tree) Lookup(name string) (*Object, error) {
	if mod, n, ok := strings.Cut(name, "::"); ok {
		if _, known := t.modules[mod]; !known {
			return nil, fmt.Errorf("%w %q: module %s is not loaded", ErrUnknownName, name, mod)
		}
		if o := t.byQName[mod+"::"+n]; o != nil {
			return o, nil
		}
		return nil, fmt.Errorf("%w %q: module %s does not define %s", ErrUnknownName, name, mod, n)
	}
	objs := t.byName[name]
	switch {
	case len(objs) == 0:
		return nil, fmt.Errorf("%w %q", ErrUnknownName, name)
	case len(objs) > 1:
		for _, o := range objs[1:] {
			if !o.OID.Equal(objs[0].OID) {
				mods := make([]string, len(objs))
				for i, o := range objs {
					mods[i] = o.Module
				}
				return nil, fmt.Errorf("name %q is ambiguous (defined in %s): write MODULE::%s",
					name, strings.Join(mods, ", "), name)
			}
		}
	}
	return objs[0], nil
}

// Resolve turns a textual reference into an OID. Accepted forms:
// "name", "name.1.2", "MODULE::name.1.2", "1.3.6.1.2" and ".1.3.6.1.2".
// For a numeric OID, Object is the deepest known node above it (or nil).
func (t *Tree) Resolve(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, fmt.Errorf("empty object reference")
	}
	if s[0] == '.' || isDigit(s[0]) {
		oid, err := agentx.ParseOID(s)
		if err != nil || len(oid) == 0 {
			return Ref{}, fmt.Errorf("malformed numeric OID %q", s)
		}
		o, suffix := t.ObjectAt(oid)
		return Ref{Object: o, OID: oid, Suffix: suffix}, nil
	}
	// Names never contain dots, so the first dot after the "MODULE::" part
	// starts the instance suffix.
	qual, rest := "", s
	if i := strings.Index(s, "::"); i >= 0 {
		qual, rest = s[:i+2], s[i+2:]
	}
	name, suffixText, hasSuffix := strings.Cut(rest, ".")
	o, err := t.Lookup(qual + name)
	if err != nil {
		return Ref{}, err
	}
	var suffix agentx.OID
	if hasSuffix {
		if suffix, err = agentx.ParseOID(suffixText); err != nil || len(suffix) == 0 {
			return Ref{}, fmt.Errorf("%q: malformed instance suffix %q (want numbers separated by dots)", s, suffixText)
		}
	}
	return Ref{Object: o, OID: o.OID.Append(suffix...), Suffix: suffix}, nil
}

// ObjectAt returns the deepest named node at or above oid and the rest of
// oid below it; nil and the whole oid when no loaded module names a prefix.
func (t *Tree) ObjectAt(oid agentx.OID) (*Object, agentx.OID) {
	var best *Object
	depth := 0
	n := t.root
	for i, arc := range oid {
		if n = n.children[arc]; n == nil {
			break
		}
		if o := preferred(n.objs); o != nil {
			best, depth = o, i+1
		}
	}
	if best == nil {
		return nil, oid.Clone()
	}
	return best, oid[depth:].Clone()
}

// Name returns the name of the deepest named node at or above oid and the
// instance suffix below it; "" and the whole oid when nothing is known.
func (t *Tree) Name(oid agentx.OID) (string, agentx.OID) {
	o, suffix := t.ObjectAt(oid)
	if o == nil {
		return "", suffix
	}
	return o.Name, suffix
}

// Format renders oid as "name.suffix", or numerically when no name is known.
func (t *Tree) Format(oid agentx.OID) string {
	return Ref{OID: oid}.withObject(t).String()
}

func (r Ref) withObject(t *Tree) Ref {
	r.Object, r.Suffix = t.ObjectAt(r.OID)
	return r
}
