package smi

import (
	"errors"
	"strings"
	"testing"
)

// miniSMI is the smallest base module the error cases need.
const miniSMI = `SNMPv2-SMI DEFINITIONS ::= BEGIN
internet OBJECT IDENTIFIER ::= { iso 3 6 1 }
enterprises OBJECT IDENTIFIER ::= { internet 4 1 }
Integer32 ::= INTEGER (-2147483648..2147483647)
END
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    string // substring of the error
		unknown bool   // wraps ErrUnknownName
	}{
		{
			name: "import from a module that is not loaded",
			files: map[string]string{"modules/A-MIB": `A-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises FROM SNMPv2-SMI;
a OBJECT IDENTIFIER ::= { enterprises 1 }
END`},
			want: "modules/A-MIB:2: module A-MIB imports enterprises from SNMPv2-SMI, which is not loaded",
		},
		{
			name: "import of a symbol the module lacks",
			files: map[string]string{"SNMPv2-SMI": miniSMI, "A-MIB": `A-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, private FROM SNMPv2-SMI;
a OBJECT IDENTIFIER ::= { private 1 }
END`},
			want: "A-MIB:2: module A-MIB imports private from SNMPv2-SMI, which does not define it",
		},
		{
			name: "parent neither defined nor imported",
			files: map[string]string{"SNMPv2-SMI": miniSMI, "A-MIB": `A-MIB DEFINITIONS ::= BEGIN
a OBJECT IDENTIFIER ::= { enterprises 1 }
END`},
			want:    `A-MIB:2: a: unknown object name "enterprises"`,
			unknown: true,
		},
		{
			name: "definitions that loop",
			files: map[string]string{"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
a OBJECT IDENTIFIER ::= { b 1 }
b OBJECT IDENTIFIER ::= { a 1 }
END`},
			want: "loops back on itself",
		},
		{
			name: "unknown type in SYNTAX",
			files: map[string]string{"SNMPv2-SMI": miniSMI, "A-MIB": `A-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises FROM SNMPv2-SMI;
a OBJECT-TYPE SYNTAX NoSuchType MAX-ACCESS read-only STATUS current DESCRIPTION "x" ::= { enterprises 1 }
END`},
			want:    "A-MIB:3: a: unknown object name: type NoSuchType",
			unknown: true,
		},
		{
			name:  "unterminated string",
			files: map[string]string{"A-MIB": "A-MIB DEFINITIONS ::= BEGIN\n\na OBJECT-TYPE DESCRIPTION \"never closed\nEND\n"},
			want:  "A-MIB: line 3: unterminated string",
		},
		{
			name:  "missing END",
			files: map[string]string{"A-MIB": "A-MIB DEFINITIONS ::= BEGIN\na OBJECT IDENTIFIER ::= { iso 1 }\n"},
			want:  "module A-MIB: missing END",
		},
		{
			name:  "missing DEFINITIONS",
			files: map[string]string{"A-MIB": "A-MIB ::= BEGIN END"},
			want:  `A-MIB:1: expected "DEFINITIONS"`,
		},
		{
			name:  "not a MIB at all",
			files: map[string]string{"notes": "   -- only a comment\n"},
			want:  "notes: no module definition found",
		},
		{
			name: "defined twice",
			files: map[string]string{"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
a OBJECT IDENTIFIER ::= { iso 1 }
a OBJECT IDENTIFIER ::= { iso 2 }
END`},
			want: "A-MIB:3: a defined twice in module A-MIB",
		},
		{
			name: "module in two files",
			files: map[string]string{"one": "A-MIB DEFINITIONS ::= BEGIN END",
				"two": "A-MIB DEFINITIONS ::= BEGIN END"},
			want: "module A-MIB defined in both one and two",
		},
		{
			name: "bad OBJECT-TYPE clause",
			files: map[string]string{"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
a OBJECT-TYPE SYNTAX INTEGER MAX-ACCESS read-only STATUS current
  FROBNICATE "x" ::= { iso 1 }
END`},
			want: `A-MIB:3: unexpected "FROBNICATE" in OBJECT-TYPE`,
		},
		{
			name: "bad range",
			files: map[string]string{"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
T ::= INTEGER (1..)
END`},
			want: `A-MIB:2: bad range bound ")"`,
		},
		{
			name: "arc without a number",
			files: map[string]string{"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
a OBJECT IDENTIFIER ::= { iso org }
END`},
			want: "A-MIB:2: OID arc org needs a number",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.files)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if errors.Is(err, ErrUnknownName) != tc.unknown {
				t.Errorf("errors.Is(ErrUnknownName) = %v, want %v", !tc.unknown, tc.unknown)
			}
		})
	}
}

func TestAmbiguousNames(t *testing.T) {
	tree, err := Parse(map[string]string{
		"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
shared OBJECT IDENTIFIER ::= { iso 1 }
clash OBJECT IDENTIFIER ::= { iso 2 }
END`,
		"B-MIB": `B-MIB DEFINITIONS ::= BEGIN
shared OBJECT IDENTIFIER ::= { iso 1 }
clash OBJECT IDENTIFIER ::= { iso 3 }
END`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := tree.Lookup("shared"); err != nil || o.OID.String() != "1.1" {
		t.Errorf("same name, same OID: %v, %v", o, err)
	}
	if _, err := tree.Lookup("clash"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("same name, different OIDs: err = %v", err)
	}
	if ref, err := tree.Resolve("B-MIB::clash.4"); err != nil || ref.OID.String() != "1.3.4" {
		t.Errorf("qualified: %v, %v", ref, err)
	}
}

// The SMI macros and application types may be imported from trimmed base
// modules that do not spell them out, as long as they come from the SMI
// modules themselves.
func TestBuiltinImports(t *testing.T) {
	files := map[string]string{
		"SNMPv2-SMI": miniSMI,
		"SNMPv2-TC":  "SNMPv2-TC DEFINITIONS ::= BEGIN END",
		"A-MIB": `A-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, Counter64, Gauge32, enterprises FROM SNMPv2-SMI
        TEXTUAL-CONVENTION FROM SNMPv2-TC;
c OBJECT-TYPE SYNTAX Counter64 MAX-ACCESS read-only STATUS current DESCRIPTION "x" ::= { enterprises 1 }
g OBJECT-TYPE SYNTAX Gauge32 MAX-ACCESS read-only STATUS current DESCRIPTION "x" ::= { enterprises 2 }
END`,
	}
	tree, err := Parse(files)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]BaseType{"c": BaseCounter64, "g": BaseGauge32} {
		o, _ := tree.Lookup(name)
		if o.Syntax.Base != want {
			t.Errorf("%s: base %s, want %s", name, o.Syntax.Base, want)
		}
	}
	// From any other module the same names must really exist.
	files["B-MIB"] = `B-MIB DEFINITIONS ::= BEGIN
IMPORTS Counter64 FROM A-MIB;
END`
	if _, err := Parse(files); err == nil || !strings.Contains(err.Error(), "imports Counter64 from A-MIB, which does not define it") {
		t.Errorf("import of a built-in name from a non-SMI module: err = %v", err)
	}
}

func TestLex(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // kind:text
	}{
		{"comment to end of line", "a -- b c\nd", []string{"id:a", "id:d"}},
		{"comment ended by --", "a -- b -- c", []string{"id:a", "id:c"}},
		{"hyphenated names", "mib-2 ifIndex-x", []string{"id:mib-2", "id:ifIndex-x"}},
		{"name followed by comment", "abc--x\ny", []string{"id:abc", "id:y"}},
		{"numbers and ranges", "(-2|0..65535)", []string{"p:(", "n:-2", "p:|", "n:0", "p:..", "n:65535", "p:)"}},
		{"assignment", "a ::= { b 1 }", []string{"id:a", "p:::=", "p:{", "id:b", "n:1", "p:}"}},
		{"string with comment marks", `"x -- y ::= END"`, []string{"s:x -- y ::= END"}},
		{"string over lines", "\"a\nb\" c", []string{"s:a\nb", "id:c"}},
		{"doubled quote", `"say ""hi"""`, []string{`s:say "hi"`}},
		{"hex and binary", "'0aFF'H ''h '101'B", []string{"h:'0aFF'H", "h:''h", "b:'101'B"}},
	}
	kinds := map[tokenKind]string{tokIdent: "id", tokNumber: "n", tokString: "s", tokHex: "h",
		tokBin: "b", tokPunct: "p"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := lex(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tok := range toks {
				if tok.kind != tokEOF {
					got = append(got, kinds[tok.kind]+":"+tok.text)
				}
			}
			if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
				t.Errorf("tokens = %q, want %q", got, tc.want)
			}
		})
	}
	toks, _ := lex("a\n\"x\ny\"\nb")
	if toks[2].text != "b" || toks[2].line != 4 {
		t.Errorf("line counting across strings: %v at line %d", toks[2], toks[2].line)
	}
	if _, err := lex("'abc'Q"); err == nil {
		t.Error("a quoted string with a bad suffix was accepted")
	}
}
