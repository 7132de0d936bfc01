package portsec

import (
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tapagent/internal/netlab"
)

// frameSender keeps one packet socket open in a host's namespace: closing
// a packet socket waits for an RCU grace period (~10-20 ms), which would
// otherwise dominate every latency measured around a send.
type frameSender struct {
	fd int
	to unix.SockaddrLinklayer
}

func newFrameSender(t testing.TB, h *netlab.Host) *frameSender {
	t.Helper()
	s := &frameSender{fd: -1}
	err := h.Do(func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		s.to = unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
		s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatalf("packet socket in %s: %v", h.Name, err)
	}
	t.Cleanup(func() { unix.Close(s.fd) })
	return s
}

// send transmits the frames, waiting out a full transmit queue.
func (s *frameSender) send(fs ...[]byte) error {
	for i, f := range fs {
		for tries := 0; ; tries++ {
			err := unix.Sendto(s.fd, f, 0, &s.to)
			if err == nil {
				break
			}
			if (err != unix.ENOBUFS && err != unix.EAGAIN) || tries == 1000 {
				return fmt.Errorf("send frame %d of %d: %w", i+1, len(fs), err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	return nil
}

// distinctFrames builds one frame from each of n MACs starting at testMAC(first).
func distinctFrames(t testing.TB, first, n int) [][]byte {
	t.Helper()
	out := make([][]byte, 0, n)
	for i := range n {
		out = append(out, frames(t, testMAC(first+i), 1)[0])
	}
	return out
}

// kernelNow reads the engine's table from inside the engine loop.
func kernelNow(t testing.TB, e *Engine) kernelState {
	t.Helper()
	var ks kernelState
	var err error
	if derr := e.do(func() { ks, err = e.k.read() }); derr != nil || err != nil {
		t.Fatalf("read kernel table: %v %v", derr, err)
	}
	return ks
}

// TestSystemManyLearned covers the netlink limits: clearing, disabling
// and re-enabling a port holding 4,000 learned MACs are transactions of
// several thousand element deletes (the element list of one message
// used to overflow its 16-bit length: ENOENT/ENOBUFS).
func TestSystemManyLearned(t *testing.T) {
	const n = 4000
	r := newRig(t, Options{EventBuffer: 2 * n})
	p1 := r.lab.Port1.Index
	tx := newFrameSender(t, r.lab.H1)
	fs := distinctFrames(t, 1, n)
	on := secureConfig(MaxPerPort, Restrict)
	learn := func(step string) {
		t.Helper()
		if err := tx.send(fs...); err != nil {
			t.Fatal(err)
		}
		if got := waitEvents(t, r.eng, EventLearned, p1, n, 10*time.Second); len(got) != n {
			t.Fatalf("%s: learned %d of %d", step, len(got), n)
		}
		if ks := kernelNow(t, r.eng); len(ks.ports[p1]) != n || len(ks.secure) != n {
			t.Fatalf("%s: kernel holds %d port / %d secure addresses, want %d", step, len(ks.ports[p1]), len(ks.secure), n)
		}
	}
	steps := []struct {
		name       string
		change     []Change
		wantSet    bool // the port's set still exists
		relearnOff bool // learning again needs the port enabled first
	}{
		{"clear dynamic", []Change{ClearAddresses(p1, Dynamic)}, true, false},
		{"disable", []Change{SetPort(p1, DefaultPortConfig())}, false, true},
	}
	r.apply(SetPort(p1, on))
	for _, st := range steps {
		learn("before " + st.name)
		start := time.Now()
		if err := r.eng.Apply(st.change); err != nil {
			t.Fatalf("%s with %d learned: %v", st.name, n, err)
		}
		t.Logf("%s with %d learned MACs: %v", st.name, n, time.Since(start))
		ks := kernelNow(t, r.eng)
		if _, ok := ks.ports[p1]; ok != st.wantSet || len(ks.ports[p1]) != 0 || len(ks.secure) != 0 {
			t.Fatalf("after %s: port set present=%v with %d, secure %d; want present=%v, both empty",
				st.name, ok, len(ks.ports[p1]), len(ks.secure), st.wantSet)
		}
		if ps := r.port(p1); len(ps.Entries) != 0 {
			t.Fatalf("after %s: model keeps %d entries", st.name, len(ps.Entries))
		}
		if st.relearnOff {
			r.apply(SetPort(p1, on))
		}
	}
	// Enabled again, the port learns the same MACs afresh.
	learn("after re-enable")
}

// TestSystemResetDropsStaleEvents resets a port while the learn messages
// of a burst are still queued: they belong to the old generation and
// must not bring their addresses back into the model or the new set.
func TestSystemResetDropsStaleEvents(t *testing.T) {
	const n = 3000
	r := newRig(t, Options{EventBuffer: 2 * n})
	p1 := r.lab.Port1.Index
	on := secureConfig(MaxPerPort, Restrict)
	r.apply(SetPort(p1, on))
	if err := newFrameSender(t, r.lab.H1).send(distinctFrames(t, 1, n)...); err != nil {
		t.Fatal(err)
	}
	// The frames went through the bridge during the sends (veth delivers
	// in the sender's softirq); their nflog messages are still queued.
	r.apply(SetPort(p1, DefaultPortConfig()))
	r.apply(SetPort(p1, on))
	time.Sleep(300 * time.Millisecond) // several polls
	ks := kernelNow(t, r.eng)
	if ps := r.port(p1); len(ps.Entries) != 0 || len(ks.ports[p1]) != 0 || len(ks.secure) != 0 {
		t.Fatalf("after reset: model %d, kernel %d port / %d secure addresses; want none",
			len(ps.Entries), len(ks.ports[p1]), len(ks.secure))
	}
}
