package smi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// module is one parsed module before names are resolved.
type module struct {
	name        string
	file        string
	imports     map[string]string // symbol → module it comes from
	importLines map[string]int
	defs        []*def // value definitions in text order
	values      map[string]*def
	types       map[string]*typeDef
	macros      map[string]bool
}

// def is a value assignment that yields an OID.
type def struct {
	obj    *Object
	oid    []oidPart
	syntax *rawType // OBJECT-TYPE only
	trap   *trapValue
}

// trapValue is an SMIv1 TRAP-TYPE value: ENTERPRISE and the trap number.
type trapValue struct {
	enterprise string
	number     uint32
}

type oidPart struct {
	name   string // "" for a bare number
	num    uint32
	hasNum bool
	line   int
}

// rawType is a syntax as written, before textual conventions are followed.
type rawType struct {
	name   string // base keyword ("INTEGER", "OCTET STRING", …) or a type name
	line   int
	enums  []NamedNumber
	bits   []NamedNumber
	ranges []Range
	sizes  []Range
	entry  string // SEQUENCE OF entry type
}

type typeDef struct {
	name   string
	line   int
	isTC   bool
	hint   string
	syntax *rawType
}

type parser struct {
	file string
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, t.line, fmt.Sprintf(format, args...))
}

func (p *parser) expect(s string) (token, error) {
	t := p.next()
	if !t.is(s) {
		return t, p.errorf(t, "expected %q, found %s", s, t)
	}
	return t, nil
}

func (p *parser) ident() (token, error) {
	t := p.next()
	if t.kind != tokIdent {
		return t, p.errorf(t, "expected a name, found %s", t)
	}
	return t, nil
}

func (p *parser) str() (string, error) {
	t := p.next()
	if t.kind != tokString {
		return "", p.errorf(t, "expected a quoted string, found %s", t)
	}
	return t.text, nil
}

// parseFile parses every module in one file.
func parseFile(file, src string) ([]*module, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &parser{file: file, toks: toks}
	var mods []*module
	for p.peek().kind != tokEOF {
		m, err := p.module()
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s: no module definition found", file)
	}
	return mods, nil
}

func (p *parser) module() (*module, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	m := &module{name: name.text, file: p.file, imports: map[string]string{},
		importLines: map[string]int{}, values: map[string]*def{}, types: map[string]*typeDef{},
		macros: map[string]bool{}}
	if p.peek().is("{") { // ASN.1 allows the module's own OID here
		if err := p.skipBalanced(); err != nil {
			return nil, err
		}
	}
	if _, err := p.expect("DEFINITIONS"); err != nil {
		return nil, err
	}
	for !p.peek().is("::=") { // e.g. IMPLICIT TAGS
		if p.peek().kind == tokEOF {
			return nil, p.errorf(p.peek(), "module %s: missing ::= BEGIN", m.name)
		}
		p.next()
	}
	p.next()
	if _, err := p.expect("BEGIN"); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tokEOF:
			return nil, p.errorf(t, "module %s: missing END", m.name)
		case t.is("END"):
			p.next()
			return m, nil
		case t.is("IMPORTS"):
			p.next()
			if err := p.imports(m); err != nil {
				return nil, err
			}
		case t.is("EXPORTS"):
			if err := p.skipTo(";"); err != nil {
				return nil, err
			}
		case t.is(";"):
			p.next()
		case t.kind == tokIdent:
			if err := p.assignment(m); err != nil {
				return nil, err
			}
		default:
			return nil, p.errorf(t, "module %s: unexpected %s", m.name, t)
		}
	}
}

// imports reads "sym, sym FROM Module sym FROM Module ;".
func (p *parser) imports(m *module) error {
	var pending []token
	for {
		t := p.next()
		switch {
		case t.is(";"):
			if len(pending) > 0 {
				return p.errorf(t, "IMPORTS: %s has no FROM", pending[0].text)
			}
			return nil
		case t.is(","):
		case t.is("FROM"):
			from, err := p.ident()
			if err != nil {
				return err
			}
			if len(pending) == 0 {
				return p.errorf(from, "IMPORTS: FROM %s imports nothing", from.text)
			}
			for _, s := range pending {
				m.imports[s.text] = from.text
				m.importLines[s.text] = s.line
			}
			pending = pending[:0]
		case t.kind == tokIdent:
			pending = append(pending, t)
		default:
			return p.errorf(t, "IMPORTS: unexpected %s", t)
		}
	}
}

func (p *parser) assignment(m *module) error {
	name := p.next()
	t := p.peek()
	switch {
	case t.is("MACRO"):
		m.macros[name.text] = true
		return p.skipMacro(name)
	case t.is("::="):
		p.next()
		return p.typeAssignment(m, name)
	case t.is("OBJECT") && p.peekAt(1).is("IDENTIFIER"):
		p.next()
		p.next()
		if _, err := p.expect("::="); err != nil {
			return err
		}
		parts, err := p.oidValue()
		if err != nil {
			return err
		}
		return m.add(p, name, &def{obj: &Object{Kind: KindNode}, oid: parts})
	}
	if kind, ok := macroKinds[t.text]; ok && t.kind == tokIdent {
		macro := p.next()
		clauses, err := p.clauseTokens()
		if err != nil {
			return err
		}
		d := &def{obj: &Object{Kind: kind}}
		cp := &parser{file: p.file, toks: append(clauses, token{tokEOF, "", p.peek().line})}
		switch macro.text {
		case "OBJECT-TYPE":
			err = cp.objectTypeClauses(d)
		case "TRAP-TYPE":
			d.trap = &trapValue{}
			err = cp.otherClauses(d)
		default:
			err = cp.otherClauses(d)
		}
		if err != nil {
			return err
		}
		if d.trap != nil {
			num := p.next()
			v, err := strconv.ParseUint(num.text, 10, 32)
			if num.kind != tokNumber || err != nil {
				return p.errorf(num, "TRAP-TYPE %s: expected a trap number, found %s", name.text, num)
			}
			d.trap.number = uint32(v)
		} else if d.oid, err = p.oidValue(); err != nil {
			return err
		}
		return m.add(p, name, d)
	}
	// Any other value assignment ("name Type ::= value") yields no OID we
	// track: skip the type and the value.
	if _, err := p.clauseTokens(); err != nil {
		return err
	}
	if p.peek().is("{") {
		return p.skipBalanced()
	}
	p.next()
	return nil
}

func (m *module) add(p *parser, name token, d *def) error {
	if isTypeName(name.text) {
		return p.errorf(name, "value name %s must start with a lower-case letter", name.text)
	}
	if _, dup := m.values[name.text]; dup {
		return p.errorf(name, "%s defined twice in module %s", name.text, m.name)
	}
	d.obj.Name = name.text
	d.obj.Module = m.name
	d.obj.Line = name.line
	m.values[name.text] = d
	m.defs = append(m.defs, d)
	return nil
}

// clauseTokens collects the tokens up to the "::=" that ends a macro
// invocation's clauses and consumes the "::=".
func (p *parser) clauseTokens() ([]token, error) {
	start := p.pos
	depth := 0
	for {
		t := p.peek()
		switch {
		case t.kind == tokEOF:
			return nil, p.errorf(t, "missing ::=")
		case t.is("{") || t.is("("):
			depth++
		case t.is("}") || t.is(")"):
			depth--
		case t.is("::=") && depth == 0:
			toks := p.toks[start:p.pos]
			p.next()
			return toks, nil
		case t.is("END") && depth == 0:
			return nil, p.errorf(t, "missing ::= before END")
		}
		p.next()
	}
}

// skipMacro skips "NAME MACRO ::= BEGIN … END".
func (p *parser) skipMacro(name token) error {
	for {
		t := p.next()
		if t.kind == tokEOF {
			return p.errorf(name, "MACRO %s: missing END", name.text)
		}
		if t.is("END") {
			return nil
		}
	}
}

func (p *parser) skipTo(s string) error {
	for {
		t := p.next()
		if t.kind == tokEOF {
			return p.errorf(t, "missing %q", s)
		}
		if t.is(s) {
			return nil
		}
	}
}

// skipBalanced skips a {…} or (…) group including nested groups.
func (p *parser) skipBalanced() error {
	_, err := p.balancedText()
	return err
}

// balancedText consumes a {…} or (…) group and returns its inner tokens as
// text: strings re-quoted, spaces between tokens but not before "," or a
// closing bracket, nor after an opening one (so "{ {a, b} }" → "{a, b}").
func (p *parser) balancedText() (string, error) {
	open := p.next()
	if !open.is("{") && !open.is("(") {
		return "", p.errorf(open, "expected { or (, found %s", open)
	}
	depth := 1
	var b strings.Builder
	prev := ""
	for {
		t := p.next()
		switch {
		case t.kind == tokEOF:
			return "", p.errorf(open, "unbalanced %s", open.text)
		case t.is("{") || t.is("("):
			depth++
		case t.is("}") || t.is(")"):
			depth--
			if depth == 0 {
				return b.String(), nil
			}
		}
		text := t.text
		if t.kind == tokString {
			text = `"` + t.text + `"`
		}
		glued := t.is(",") || t.is("}") || t.is(")") || prev == "{" || prev == "("
		if b.Len() > 0 && !glued {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		prev = text
		if t.kind == tokString {
			prev = ""
		}
	}
}

// oidValue reads "{ parent 4 }", "{ iso(1) org(3) 6 }" and the like.
func (p *parser) oidValue() ([]oidPart, error) {
	open, err := p.expect("{")
	if err != nil {
		return nil, err
	}
	var parts []oidPart
	for {
		t := p.next()
		switch {
		case t.is("}"):
			if len(parts) == 0 {
				return nil, p.errorf(open, "empty OBJECT IDENTIFIER value")
			}
			return parts, nil
		case t.kind == tokNumber:
			v, err := strconv.ParseUint(t.text, 10, 32)
			if err != nil {
				return nil, p.errorf(t, "OID arc %s out of range", t.text)
			}
			parts = append(parts, oidPart{num: uint32(v), hasNum: true, line: t.line})
		case t.kind == tokIdent:
			part := oidPart{name: t.text, line: t.line}
			if p.peek().is("(") {
				p.next()
				n := p.next()
				v, err := strconv.ParseUint(n.text, 10, 32)
				if n.kind != tokNumber || err != nil {
					return nil, p.errorf(n, "expected an arc number after %s(, found %s", t.text, n)
				}
				if _, err := p.expect(")"); err != nil {
					return nil, err
				}
				part.num, part.hasNum = uint32(v), true
			}
			if len(parts) > 0 && !part.hasNum {
				return nil, p.errorf(t, "OID arc %s needs a number", t.text)
			}
			parts = append(parts, part)
		default:
			return nil, p.errorf(t, "unexpected %s in OBJECT IDENTIFIER value", t)
		}
	}
}

func (p *parser) typeAssignment(m *module, name token) error {
	if !isTypeName(name.text) {
		return p.errorf(name, "type name %s must start with an upper-case letter", name.text)
	}
	td := &typeDef{name: name.text, line: name.line}
	if p.peek().is("TEXTUAL-CONVENTION") {
		p.next()
		td.isTC = true
	clauses:
		for {
			t := p.next()
			switch t.text {
			case "DISPLAY-HINT":
				h, err := p.str()
				if err != nil {
					return err
				}
				td.hint = h
			case "STATUS":
				if _, err := p.ident(); err != nil {
					return err
				}
			case "DESCRIPTION", "REFERENCE":
				if _, err := p.str(); err != nil {
					return err
				}
			case "SYNTAX":
				break clauses
			default:
				return p.errorf(t, "TEXTUAL-CONVENTION %s: unexpected %s", name.text, t)
			}
		}
	}
	syn, err := p.syntax()
	if err != nil {
		return fmt.Errorf("type %s: %w", name.text, err)
	}
	td.syntax = syn
	if _, dup := m.types[name.text]; dup {
		return p.errorf(name, "type %s defined twice in module %s", name.text, m.name)
	}
	m.types[name.text] = td
	return nil
}

// syntax reads a type: a base type or type name with optional named numbers
// or constraints, SEQUENCE OF, SEQUENCE {…}, CHOICE {…} or a tagged type.
func (p *parser) syntax() (*rawType, error) {
	if p.peek().is("[") { // [APPLICATION n] IMPLICIT: the tag is implied by the name
		if err := p.skipTo("]"); err != nil {
			return nil, err
		}
		if p.peek().is("IMPLICIT") || p.peek().is("EXPLICIT") {
			p.next()
		}
	}
	t, err := p.ident()
	if err != nil {
		return nil, err
	}
	rt := &rawType{name: t.text, line: t.line}
	switch t.text {
	case "OCTET", "BIT":
		if _, err := p.expect("STRING"); err != nil {
			return nil, err
		}
		rt.name = "OCTET STRING"
		if t.text == "BIT" {
			rt.name = "BITS"
		}
	case "OBJECT":
		if _, err := p.expect("IDENTIFIER"); err != nil {
			return nil, err
		}
		rt.name = "OBJECT IDENTIFIER"
		return rt, nil
	case "SEQUENCE":
		if p.peek().is("OF") {
			p.next()
			e, err := p.ident()
			if err != nil {
				return nil, err
			}
			rt.name, rt.entry = "SEQUENCE OF", e.text
			return rt, nil
		}
		return rt, p.skipBalanced()
	case "CHOICE":
		return rt, p.skipBalanced()
	case "NULL":
		return rt, nil
	default:
		if !isTypeName(t.text) {
			return nil, p.errorf(t, "expected a type, found %s", t)
		}
		if p.peek().is(".") { // Module.Type
			p.next()
			n, err := p.ident()
			if err != nil {
				return nil, err
			}
			rt.name = n.text
		}
	}
	switch {
	case p.peek().is("{"):
		nn, err := p.namedNumbers()
		if err != nil {
			return nil, err
		}
		if rt.name == "BITS" {
			rt.bits = nn
		} else {
			rt.enums = nn
		}
	case p.peek().is("("):
		if err := p.constraint(rt); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

func (p *parser) namedNumbers() ([]NamedNumber, error) {
	if _, err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []NamedNumber
	for {
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("("); err != nil {
			return nil, err
		}
		v := p.next()
		num, err := strconv.ParseInt(v.text, 10, 64)
		if v.kind != tokNumber || err != nil {
			return nil, p.errorf(v, "%s: expected a number, found %s", n.text, v)
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		out = append(out, NamedNumber{Name: n.text, Value: num})
		sep := p.next()
		if sep.is("}") {
			return out, nil
		}
		if !sep.is(",") {
			return nil, p.errorf(sep, "expected , or } in named numbers, found %s", sep)
		}
	}
}

// constraint reads "(range | range)" or "(SIZE (range | range))".
func (p *parser) constraint(rt *rawType) error {
	if _, err := p.expect("("); err != nil {
		return err
	}
	size := false
	if p.peek().is("SIZE") {
		p.next()
		size = true
		if _, err := p.expect("("); err != nil {
			return err
		}
	}
	var ranges []Range
	for {
		lo, err := p.bound()
		if err != nil {
			return err
		}
		hi := lo
		if p.peek().is("..") {
			p.next()
			if hi, err = p.bound(); err != nil {
				return err
			}
		}
		ranges = append(ranges, Range{Min: lo, Max: hi})
		sep := p.next()
		if sep.is(")") {
			break
		}
		if !sep.is("|") {
			return p.errorf(sep, "expected | or ) in a range, found %s", sep)
		}
	}
	if size {
		if _, err := p.expect(")"); err != nil {
			return err
		}
		rt.sizes = ranges
	} else {
		rt.ranges = ranges
	}
	return nil
}

// bound reads one range bound: a number, a hex or binary string, MIN or MAX.
func (p *parser) bound() (int64, error) {
	t := p.next()
	switch t.kind {
	case tokNumber:
		if v, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return v, nil
		}
		if _, err := strconv.ParseUint(t.text, 10, 64); err == nil {
			return math.MaxInt64, nil
		}
	case tokHex, tokBin:
		base := 16
		if t.kind == tokBin {
			base = 2
		}
		digits := t.text[1 : len(t.text)-2]
		if digits == "" {
			return 0, nil
		}
		if v, err := strconv.ParseUint(digits, base, 64); err == nil {
			if v > math.MaxInt64 {
				return math.MaxInt64, nil
			}
			return int64(v), nil
		}
	case tokIdent:
		switch t.text {
		case "MIN":
			return math.MinInt64, nil
		case "MAX":
			return math.MaxInt64, nil
		}
	}
	return 0, p.errorf(t, "bad range bound %s", t)
}

// objectTypeClauses interprets the clauses of an OBJECT-TYPE.
func (p *parser) objectTypeClauses(d *def) error {
	o := d.obj
	for {
		t := p.next()
		var err error
		switch t.text {
		case "":
			if t.kind == tokEOF {
				if d.syntax == nil {
					return p.errorf(t, "OBJECT-TYPE without SYNTAX")
				}
				return nil
			}
		case "SYNTAX":
			d.syntax, err = p.syntax()
		case "UNITS":
			o.Units, err = p.str()
		case "MAX-ACCESS", "ACCESS":
			var a token
			a, err = p.ident()
			o.Access = a.text
		case "STATUS":
			var s token
			s, err = p.ident()
			o.Status = s.text
		case "DESCRIPTION", "REFERENCE":
			_, err = p.str()
		case "INDEX":
			err = p.index(o)
		case "AUGMENTS":
			var names []string
			if names, err = p.nameList(); err == nil {
				if len(names) != 1 {
					err = p.errorf(t, "AUGMENTS needs exactly one row")
				} else {
					o.Augments = names[0]
				}
			}
		case "DEFVAL":
			if !p.peek().is("{") {
				return p.errorf(t, "DEFVAL needs { value }")
			}
			o.DefVal, err = p.balancedText()
		default:
			return p.errorf(t, "unexpected %s in OBJECT-TYPE", t)
		}
		if err != nil {
			return err
		}
	}
}

func (p *parser) index(o *Object) error {
	if _, err := p.expect("{"); err != nil {
		return err
	}
	for {
		t := p.next()
		if t.is("IMPLIED") {
			o.Implied = true
			t = p.next()
		}
		if t.kind != tokIdent {
			return p.errorf(t, "INDEX: expected an object name, found %s", t)
		}
		o.Index = append(o.Index, t.text)
		sep := p.next()
		if sep.is("}") {
			return nil
		}
		if !sep.is(",") {
			return p.errorf(sep, "INDEX: expected , or }, found %s", sep)
		}
		if o.Implied {
			return p.errorf(sep, "INDEX: only the last object may be IMPLIED")
		}
	}
}

// nameList reads "{ a, b, c }".
func (p *parser) nameList() ([]string, error) {
	if _, err := p.expect("{"); err != nil {
		return nil, err
	}
	var names []string
	for {
		t := p.next()
		switch {
		case t.is("}"):
			return names, nil
		case t.is(","):
		case t.kind == tokIdent:
			names = append(names, t.text)
		default:
			return nil, p.errorf(t, "expected a name, found %s", t)
		}
	}
}

// otherClauses picks STATUS, OBJECTS, NOTIFICATIONS (and for TRAP-TYPE
// ENTERPRISE and VARIABLES) out of the clauses of the other macros and
// skips the rest (compliance and capability statements have nested
// clauses that name modules and groups, not OIDs of their own).
func (p *parser) otherClauses(d *def) error {
	o := d.obj
	for {
		t := p.next()
		var err error
		switch {
		case t.kind == tokEOF:
			return nil
		case t.is("STATUS") && o.Status == "":
			var s token
			s, err = p.ident()
			o.Status = s.text
		case (t.is("OBJECTS") || t.is("NOTIFICATIONS") || t.is("VARIABLES")) && p.peek().is("{"):
			var names []string
			names, err = p.nameList()
			o.Objects = append(o.Objects, names...)
		case t.is("ENTERPRISE") && d.trap != nil:
			var e token
			e, err = p.ident()
			d.trap.enterprise = e.text
		case t.is("{") || t.is("("):
			p.pos--
			err = p.skipBalanced()
		}
		if err != nil {
			return err
		}
	}
}
