package deliver

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapagent/intercept/capture/nstest"
)

// innerIPv4UDP builds the IPv4/UDP packet a tap intercepted, checksums
// included, so that Wireshark decodes it without complaint.
func innerIPv4UDP(src, dst string, sport, dport uint16, payload string) []byte {
	pkt := make([]byte, 20+8+len(payload))
	pkt[0], pkt[1] = 0x45, 0x88 // version 4, IHL 5; DSCP 34
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8], pkt[9] = 64, 17 // TTL, UDP
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(pkt[12:], s[:])
	copy(pkt[16:], d[:])
	binary.BigEndian.PutUint16(pkt[10:], checksum(pkt[:20], 0))
	udp := pkt[20:]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	pseudo := uint32(0)
	for i := 0; i < 4; i += 2 {
		pseudo += uint32(binary.BigEndian.Uint16(s[i:])) + uint32(binary.BigEndian.Uint16(d[i:]))
	}
	pseudo += 17 + uint32(len(udp))
	binary.BigEndian.PutUint16(udp[6:], checksum(udp, pseudo))
	return pkt
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// liveCapture is tshark capturing UDP in a namespace into a file while
// printing one summary line per packet, so the test knows when capture has
// really begun and when everything arrived.
type liveCapture struct {
	cmd   *exec.Cmd
	file  string
	lines chan string
}

func startCapture(t *testing.T, ns *nstest.NS, ifName string) *liveCapture {
	t.Helper()
	c := &liveCapture{file: filepath.Join(t.TempDir(), "md.pcapng"), lines: make(chan string, 1000)}
	c.cmd = ns.Command("tshark", "-i", ifName, "-f", "udp", "-w", c.file, "-P", "-l", "-a", "duration:60")
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("tshark: %v", err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c
}

// waitFor reads summary lines until want lines mention port (as a
// destination) or timeout; probe, if set, is called every 100 ms meanwhile.
func (c *liveCapture) waitFor(t *testing.T, port uint16, want int, probe func()) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(20 * time.Second)
	marks := []string{fmt.Sprintf("→ %d ", port), fmt.Sprintf("-> %d ", port)}
	for got := 0; got < want; {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatal("tshark ended early")
			}
			if strings.Contains(line, marks[0]) || strings.Contains(line, marks[1]) {
				got++
			}
		case <-tick.C:
			if probe != nil {
				probe()
			}
		case <-timeout:
			t.Fatalf("tshark did not see %d packets to port %d", want, port)
		}
	}
}

// stop ends the capture and returns the file.
func (c *liveCapture) stop(t *testing.T) string {
	t.Helper()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tshark did not stop")
	}
	return c.file
}

// tsharkFields decodes file with the given decode-as rules and returns one
// line of tab-separated fields per packet matching filter.
func tsharkFields(t *testing.T, file, filter string, decodeAs []string, fields ...string) []string {
	t.Helper()
	args := []string{"-r", file, "-Y", filter, "-T", "fields"}
	for _, d := range decodeAs {
		args = append(args, "-d", d)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestWiresharkDecodesCopies(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("needs tshark")
	}
	bd := newMDBed(t)
	ipTap, stamped, macTap := bd.listen(t, mdAddr4), bd.listen(t, mdAddr4), bd.listen(t, mdAddr6)
	probeMD := bd.listen(t, mdAddr4)
	live := startCapture(t, bd.md, "vm")
	// Capture has begun once a probe shows up.
	probe := bd.newSender(t, Target{ContentID: 1, Dest: probeMD.dest(t)}, Options{})
	live.waitFor(t, probeMD.port, 1, func() { _ = probe.Send([]byte("probe")) })

	const cccid = 1234567
	inner := innerIPv4UDP("198.18.9.1", "198.18.9.2", 5060, 5061, "intercepted")
	plain := bd.newSender(t, Target{ContentID: cccid, Dest: ipTap.dest(t), DSCP: 34}, Options{})
	for range 3 {
		if err := plain.Send(inner); err != nil {
			t.Fatal(err)
		}
	}
	withTime := bd.newSender(t, Target{ContentID: 7, Dest: stamped.dest(t), DSCP: 46}, Options{Timestamp: true, Clock: fixedClock})
	if err := withTime.Send(inner); err != nil {
		t.Fatal(err)
	}
	frame := append([]byte{0x02, 0xaa, 0, 0, 0, 1, 0x02, 0xbb, 0, 0, 0, 2, 0x08, 0x00}, inner...)
	eth := bd.newSender(t, Target{ContentID: 802, Dest: macTap.dest(t)}, Options{})
	if err := eth.SendTagged(time.Time{}, frame, 0x8100, 5<<13|100); err != nil {
		t.Fatal(err)
	}
	live.waitFor(t, ipTap.port, 3, nil)
	live.waitFor(t, stamped.port, 1, nil)
	live.waitFor(t, macTap.port, 1, nil)
	file := live.stop(t)

	asIP := func(port uint16, proto string) []string {
		return []string{fmt.Sprintf("udp.port==%d,%s", port, proto), "pcli.payload,ip"}
	}
	lines := tsharkFields(t, file, fmt.Sprintf("udp.dstport==%d", ipTap.port), asIP(ipTap.port, "pcli"),
		"pcli.cccid", "ip.src", "ip.dsfield.dscp", "udp.dstport", "data.data")
	if len(lines) != 3 {
		t.Fatalf("pcli copies decoded: %q, want 3", lines)
	}
	for _, line := range lines {
		f := strings.Split(line, "\t")
		// Outer and inner layers appear comma-separated, outer first.
		if f[0] != fmt.Sprint(cccid) || f[1] != elAddr4+",198.18.9.1" || f[2] != "34,34" ||
			f[3] != fmt.Sprintf("%d,5061", ipTap.port) || f[4] != fmt.Sprintf("%x", "intercepted") {
			t.Fatalf("pcli decode: %q", f)
		}
	}

	lines = tsharkFields(t, file, fmt.Sprintf("udp.dstport==%d", stamped.port), asIP(stamped.port, "pcli12"),
		"pcli.cccid", "pcli.timestamp", "ip.src", "ip.dsfield.dscp")
	if len(lines) != 1 {
		t.Fatalf("pcli12 copies: %q", lines)
	}
	if f := strings.Split(lines[0], "\t"); f[0] != "7" || !strings.Contains(f[1], "2025 07:08:09.12345") ||
		f[2] != elAddr4+",198.18.9.1" || f[3] != "46,34" {
		t.Fatalf("pcli12 decode: %q", f)
	}

	lines = tsharkFields(t, file, fmt.Sprintf("udp.dstport==%d", macTap.port),
		[]string{fmt.Sprintf("udp.port==%d,pcli", macTap.port), "pcli.payload,eth"},
		"pcli.cccid", "eth.src", "vlan.id", "vlan.priority", "ip.src", "ipv6.src")
	if len(lines) != 1 {
		t.Fatalf("802 copies: %q", lines)
	}
	// eth.src: the outer frame's source, then the copy's.
	if f := strings.Split(lines[0], "\t"); f[0] != "802" || !strings.HasSuffix(f[1], ",02:bb:00:00:00:02") || f[2] != "100" ||
		f[3] != "5" || f[4] != "198.18.9.1" || f[5] != elAddr6 {
		t.Fatalf("802 decode: %q", f)
	}
}
