package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Binaries are the project's commands built by BuildBinaries.
type Binaries struct {
	Dir      string
	Tapagent string
	Setany   string // empty while cmd/setany does not exist
	Getmany  string // empty while cmd/getmany does not exist
}

// BuildBinaries builds ./cmd/tapagent, and ./cmd/setany and ./cmd/getmany
// when present, once per test process, and returns their paths.
func BuildBinaries(tb testing.TB) Binaries {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatalf("testbed: %v", err)
	}
	b := Binaries{Tapagent: Build(tb, "./cmd/tapagent")}
	b.Dir = filepath.Dir(b.Tapagent)
	for _, c := range []struct {
		dst *string
		pkg string
	}{{&b.Setany, "./cmd/setany"}, {&b.Getmany, "./cmd/getmany"}} {
		if _, err := os.Stat(filepath.Join(root, c.pkg)); err == nil {
			*c.dst = Build(tb, c.pkg)
		}
	}
	return b
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

var (
	buildMu      sync.Mutex
	builds       = map[string]*buildResult{}
	binDirOnce   sync.Once
	binDir       string
	binDirErr    error
	binDirPrefix = "tb-bin-"
)

// Build compiles the main package pkg (a path relative to the module root,
// e.g. "./cmd/tapagent") once per test process and returns the binary.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	r, ok := builds[pkg]
	if !ok {
		r = &buildResult{}
		builds[pkg] = r
	}
	buildMu.Unlock()
	r.once.Do(func() { r.path, r.err = build(pkg) })
	if r.err != nil {
		tb.Fatalf("testbed: %v", r.err)
	}
	return r.path
}

func build(pkg string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := sharedBinDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command(goTool(), "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// sharedBinDir is this process's binary dir, tb-bin-PID-*. The test
// process has no exit hook, so each new process removes the dirs of
// processes that are gone.
func sharedBinDir() (string, error) {
	binDirOnce.Do(func() {
		old, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
		for _, d := range old {
			pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(filepath.Base(d), binDirPrefix), "-", 2)[0])
			if err == nil && !alive(pid) {
				os.RemoveAll(d)
			}
		}
		binDir, binDirErr = os.MkdirTemp("", fmt.Sprintf("%s%d-", binDirPrefix, os.Getpid()))
		if binDirErr != nil {
			binDirErr = fmt.Errorf("binary dir: %w", binDirErr)
		}
	})
	return binDir, binDirErr
}

// goTool is the go command that runs this test, or the one on PATH.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
