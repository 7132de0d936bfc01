package smi

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgreesWithLibsmi compares every OID and node kind we resolve with
// what libsmi's smidump makes of the same files: our fixtures and, when
// present, the project's own modules in ../base and ../modules.
func TestAgreesWithLibsmi(t *testing.T) {
	smidump, err := exec.LookPath("smidump")
	if err != nil {
		t.Skip("smidump (Debian package smitools) is not installed")
	}
	sets := []struct{ name, root string }{
		{"fixtures", "testdata"},
		{"project modules", ".."},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			base, mods := filepath.Join(set.root, "base"), filepath.Join(set.root, "modules")
			if _, err := os.Stat(mods); err != nil {
				t.Skipf("no modules in %s", mods)
			}
			tree, err := Load(os.DirFS(set.root), "base", "modules")
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, dir := range []string{base, mods} {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if e.IsDir() || strings.Contains(e.Name(), ".") {
						continue
					}
					checked += compareWithSmidump(t, tree, smidump, filepath.Join(dir, e.Name()), base+":"+mods)
				}
			}
			if checked == 0 {
				t.Fatal("smidump listed no identifiers")
			}
		})
	}
}

// compareWithSmidump checks one file and returns how many nodes it compared.
func compareWithSmidump(t *testing.T, tree *Tree, smidump, file, path string) int {
	t.Helper()
	cmd := exec.Command(smidump, "-f", "identifiers", file)
	cmd.Env = append(os.Environ(), "SMIPATH="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("smidump %s: %v: %s", file, err, stderr.String())
	}
	kinds := map[string][]Kind{
		"node":         {KindNode, KindModuleIdentity, KindObjectIdentity},
		"scalar":       {KindScalar},
		"table":        {KindTable},
		"row":          {KindRow},
		"column":       {KindColumn},
		"notification": {KindNotification},
		"group":        {KindGroup},
		"compliance":   {KindCompliance},
		"capabilities": {KindCapabilities},
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "MODULE name kind oid"; types have no OID, "<unknown>" marks arcs
		// named only inside a value such as { iso(1) org(3) }.
		if len(f) != 4 || strings.HasPrefix(f[0], "#") || f[2] == "<unknown>" {
			continue
		}
		o, err := tree.Lookup(f[0] + "::" + f[1])
		if err != nil {
			t.Errorf("%s: libsmi knows %s::%s (%s), we do not: %v", file, f[0], f[1], f[3], err)
			continue
		}
		if o.OID.String() != f[3] {
			t.Errorf("%s: %s: OID %s, libsmi says %s", file, o.QualifiedName(), o.OID, f[3])
		}
		want, known := kinds[f[2]]
		if !known {
			t.Errorf("%s: %s: unexpected libsmi kind %q", file, o.QualifiedName(), f[2])
		} else if !containsKind(want, o.Kind) {
			t.Errorf("%s: %s: kind %s, libsmi says %s", file, o.QualifiedName(), o.Kind, f[2])
		}
		n++
	}
	return n
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
