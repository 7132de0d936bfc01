package testbed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

var (
	repoRootOnce sync.Once
	repoRoot     string
	repoRootErr  error
)

// RepoRoot returns the directory of the tapagent module (the one holding
// go.mod and scripts/). go test runs in the package directory, so walking
// up from there finds it; the source file location is the fallback.
func RepoRoot() (string, error) {
	repoRootOnce.Do(func() {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if _, file, _, ok := runtime.Caller(0); ok {
			starts = append(starts, filepath.Dir(file))
		}
		for _, start := range starts {
			if root, ok := findModuleRoot(start); ok {
				repoRoot = root
				return
			}
		}
		repoRootErr = fmt.Errorf("testbed: no go.mod of module tapagent above %v", starts)
	})
	return repoRoot, repoRootErr
}

func findModuleRoot(dir string) (string, bool) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module tapagent")) {
			if _, err := os.Stat(filepath.Join(dir, "scripts", "snmpd-conf.sh")); err == nil {
				return dir, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// script returns the path of scripts/name.
func script(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "scripts", name), nil
}
