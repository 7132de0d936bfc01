package smi

import (
	"os"
	"path/filepath"
	"testing"

	"tapagent/agent/agentx"
)

// FuzzParse feeds arbitrary module text to the reader: it may refuse it,
// but must not panic or loop.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/base", "testdata/modules"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Add("A DEFINITIONS ::= BEGIN a OBJECT IDENTIFIER ::= { a 1 } END")
	f.Add("A DEFINITIONS ::= BEGIN T ::= INTEGER (1..'FF'H | MIN..MAX) END")
	f.Fuzz(func(t *testing.T, src string) {
		tree, err := Parse(map[string]string{"FUZZ": src})
		if err != nil {
			return
		}
		for _, o := range tree.Objects() {
			tree.Format(o.OID.Append(1))
		}
	})
}

func BenchmarkFormat(b *testing.B) {
	tree, err := Load(os.DirFS("testdata"), "base", "modules")
	if err != nil {
		b.Fatal(err)
	}
	oid := agentx.MustParseOID(exampleRoot + ".1.2.1.3.7.42")
	b.ReportAllocs()
	for b.Loop() {
		_ = tree.Format(oid)
	}
}

func BenchmarkLoadFixtures(b *testing.B) {
	fsys := os.DirFS("testdata")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fsys, "base", "modules"); err != nil {
			b.Fatal(err)
		}
	}
}
