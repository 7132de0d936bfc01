package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"tapagent/intercept/capture/nstest"
)

// bed is two namespaces joined by a veth pair: "a" (198.18.0.1, va) sends,
// "b" (198.18.0.2, vb) captures.
type bed struct {
	a, b   *nstest.NS
	bIndex int // ifindex of vb inside b
}

func newBed(t testing.TB) *bed {
	t.Helper()
	a, b := nstest.New(t), nstest.New(t)
	nstest.Veth(t, a, "va", b, "vb")
	a.IP(t, "addr", "add", "198.18.0.1/24", "dev", "va")
	b.IP(t, "addr", "add", "198.18.0.2/24", "dev", "vb")
	// Static neighbours: no ARP frames among the ones we count.
	a.IP(t, "neigh", "add", "198.18.0.2", "lladdr", mac(t, b, "vb"), "dev", "va")
	b.IP(t, "neigh", "add", "198.18.0.1", "lladdr", mac(t, a, "va"), "dev", "vb")
	return &bed{a: a, b: b, bIndex: b.IfIndex(t, "vb")}
}

func mac(t testing.TB, ns *nstest.NS, ifName string) string {
	t.Helper()
	var hw string
	if err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(ifName)
		if err != nil {
			return err
		}
		hw = ifc.HardwareAddr.String()
		return nil
	}); err != nil {
		t.Fatalf("mac of %s: %v", ifName, err)
	}
	return hw
}

// openRing opens a ring inside ns and closes it when the test ends.
func openRing(t testing.TB, ns *nstest.NS, opts Options) *Ring {
	t.Helper()
	var r *Ring
	if err := ns.Do(func() (err error) {
		r, err = Open(opts)
		return err
	}); err != nil {
		t.Fatalf("Open in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// udpConn opens a UDP socket bound to laddr inside ns.
func udpConn(t testing.TB, ns *nstest.NS, laddr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	if err := ns.Do(func() error {
		pc, err := net.ListenPacket("udp", laddr)
		if err != nil {
			return err
		}
		c = pc.(*net.UDPConn)
		return nil
	}); err != nil {
		t.Fatalf("udp socket %s in %s: %v", laddr, ns.Name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func sendUDP(t testing.TB, c *net.UDPConn, to string, payloads ...[]byte) {
	t.Helper()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if _, err := c.WriteToUDP(p, dst); err != nil {
			t.Fatalf("send to %s: %v", to, err)
		}
	}
}

// seen is a frame copied out of the ring.
type seen struct {
	Frame
	data []byte
}

// collect reads frames until match accepted want of them or for at most
// within; frames match rejects are skipped.
func collect(t testing.TB, r *Ring, want int, within time.Duration, match func(*Frame) bool) []seen {
	t.Helper()
	var got []seen
	deadline := time.Now().Add(within)
	for len(got) < want && time.Now().Before(deadline) {
		f, err := r.Next()
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if match(f) {
			got = append(got, seen{Frame: *f, data: bytes.Clone(f.Data)})
		}
	}
	return got
}

// drain reads until the ring stays quiet for one poll timeout and returns
// how many frames matched.
func drain(t testing.TB, r *Ring, match func(*Frame) bool) int {
	t.Helper()
	n := 0
	for {
		f, err := r.Next()
		if errors.Is(err, ErrTimeout) {
			return n
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if match(f) {
			n++
		}
	}
}

// udpPayload returns the UDP payload of an untagged Ethernet/IPv4 frame.
func udpPayload(data []byte) ([]byte, bool) {
	const eth = 14
	if len(data) < eth+20 || binary.BigEndian.Uint16(data[12:]) != 0x0800 || data[eth+9] != 17 {
		return nil, false
	}
	ihl := int(data[eth]&0x0f) * 4
	if len(data) < eth+ihl+8 {
		return nil, false
	}
	return data[eth+ihl+8:], true
}

// hasPrefix matches UDP frames whose payload starts with prefix.
func hasPrefix(prefix string) func(*Frame) bool {
	return func(f *Frame) bool {
		p, ok := udpPayload(f.Data)
		return ok && bytes.HasPrefix(p, []byte(prefix))
	}
}
