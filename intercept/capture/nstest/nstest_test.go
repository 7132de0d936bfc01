package nstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestNamespaceLifecycle(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		a, b := New(t), New(t)
		name = a.Name
		if _, err := os.Stat("/run/netns/" + a.Name); err != nil {
			t.Fatalf("namespace not created: %v", err)
		}
		Veth(t, a, "ta0", b, "tb0")
		var names []string
		if err := a.Do(func() error {
			ifcs, err := net.Interfaces()
			for _, ifc := range ifcs {
				names = append(names, ifc.Name)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(names) != "[lo ta0]" {
			t.Fatalf("interfaces inside a: %v, want [lo ta0]", names)
		}
		if a.IfIndex(t, "ta0") <= 1 || b.IfIndex(t, "tb0") <= 1 {
			t.Fatal("veth ends have no ifindex")
		}
		if out := b.Exec(t, "ip", "-o", "link", "show", "tb0"); !strings.Contains(out, "tb0") || !strings.Contains(out, "UP") {
			t.Fatalf("tb0 not up: %s", out)
		}
	})
	if _, err := os.Stat("/run/netns/" + name); !os.IsNotExist(err) {
		t.Fatalf("namespace %s survived its test: %v", name, err)
	}
}

func TestRemoveStaleDeletesNamespacesOfDeadProcesses(t *testing.T) {
	Require(t)
	// A process that has exited leaves a pid nobody has (until reuse).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-1", prefix, cmd.Process.Pid)
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", stale).Run() })
	own := New(t) // runs removeStale
	if _, err := os.Stat("/run/netns/" + stale); !os.IsNotExist(err) {
		t.Fatalf("stale namespace %s kept: %v", stale, err)
	}
	if _, err := os.Stat("/run/netns/" + own.Name); err != nil {
		t.Fatalf("own namespace removed: %v", err)
	}
}
