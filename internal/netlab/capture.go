package netlab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Capture records, with dumpcap in the mediation device's namespace, the
// UDP datagrams arriving for one port, and decodes them as PacketCable
// lawful-intercept datagrams (CCCID, optional timestamp, intercepted
// packet).
type Capture struct {
	NS    *NS
	Iface string
	Port  uint16
	Path  string // the pcap file
	// Receiver holds the port open (no ICMP port unreachable goes back to
	// the sender) and counts what arrived; use it to wait for traffic.
	Receiver *UDPReceiver

	tb       testing.TB
	cmd      *exec.Cmd
	errPath  string
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// CaptureMD starts capturing "udp port udpPort" on iface in ns and a UDP
// receiver on that port, and returns once dumpcap is capturing. t.Cleanup
// stops both. It fails the test if dumpcap does not start.
func (l *Lab) CaptureMD(tb testing.TB, ns *NS, iface string, udpPort uint16) *Capture {
	tb.Helper()
	c, err := startCapture(tb, ns, iface, udpPort)
	if err != nil {
		tb.Fatalf("netlab: %v", err)
	}
	return c
}

func startCapture(tb testing.TB, ns *NS, iface string, port uint16) (*Capture, error) {
	dir := tb.TempDir()
	c := &Capture{NS: ns, Iface: iface, Port: port, tb: tb,
		Path: filepath.Join(dir, "md.pcap"), errPath: filepath.Join(dir, "dumpcap.log"), done: make(chan struct{})}
	var err error
	if c.Receiver, err = ns.ListenUDP(port); err != nil {
		return nil, err
	}
	tb.Cleanup(func() { c.Receiver.Close() })
	logf, err := os.Create(c.errPath)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	defer logf.Close()
	// -P: classic pcap, read back below; -B: room for bursts.
	c.cmd = ns.Command("dumpcap", "-q", "-P", "-B", "32", "-i", iface,
		"-f", fmt.Sprintf("udp port %d", port), "-w", c.Path)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("capture: start dumpcap: %w", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("netlab: %v", err)
		}
	})
	// dumpcap names its output file once the capture is running.
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(c.errPath)
		if strings.Contains(string(log), "File: ") {
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("capture on %s/%s: dumpcap exited: %s", ns.Name, iface, log)
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("capture on %s/%s: dumpcap not ready after 10 s: %s", ns.Name, iface, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the capture once the pcap file holds at least as many
// datagrams as the receiver got (dumpcap reads the kernel's buffer in
// blocks, up to a few hundred ms late, and drops the unread part of a
// block when stopped). Calling it again is harmless.
func (c *Capture) Stop() error {
	c.stopOnce.Do(func() {
		want := c.Receiver.Count()
		deadline := time.Now().Add(3 * time.Second)
		for countPcap(c.Path) < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// SIGINT lets dumpcap write what it holds and close the file.
		_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
			c.stopErr = fmt.Errorf("capture: dumpcap ignored SIGINT for 5 s")
		}
	})
	return c.stopErr
}

// Datagram is one captured PacketCable datagram.
type Datagram struct {
	Src     netip.Addr // outer source address
	SrcPort uint16
	Dst     netip.AddrPort
	DSCP    uint8 // outer DSCP (IPv4 TOS or IPv6 traffic class, >> 2)
	CCCID   uint32
	NTP     uint64 // the 8-byte timestamp (DecodeTimestamped only)
	Inner   []byte // the intercepted packet or frame
	// Protocols is tshark's frame.protocols, e.g.
	// eth:ethertype:ip:udp:pcli:ip:udp:data.
	Protocols string
}

// Decode stops the capture and returns its datagrams in order, each
// parsed as CCCID + intercepted packet. layer is what follows the CCCID:
// "ip" (IP taps) or "eth" (802 taps). tshark must decode every datagram
// as pcli with the same CCCID and an inner layer, or Decode fails.
func (c *Capture) Decode(layer string) ([]Datagram, error) { return c.decode(layer, false) }

// DecodeTimestamped is Decode for datagrams with the 8-byte timestamp
// after the CCCID (tshark's pcli12).
func (c *Capture) DecodeTimestamped(layer string) ([]Datagram, error) {
	return c.decode(layer, true)
}

func (c *Capture) decode(layer string, timestamped bool) ([]Datagram, error) {
	if layer != "ip" && layer != "eth" {
		return nil, fmt.Errorf("decode: layer %q is neither ip nor eth", layer)
	}
	if err := c.Stop(); err != nil {
		return nil, err
	}
	frames, err := readPcap(c.Path)
	if err != nil {
		return nil, err
	}
	header := 4
	if timestamped {
		header = 12
	}
	var out []Datagram
	for i, f := range frames {
		d, err := parseDatagram(f, header)
		if err != nil {
			return nil, fmt.Errorf("decode %s frame %d: %w", c.Path, i+1, err)
		}
		out = append(out, d)
	}
	if err := c.checkWithTshark(out, layer, timestamped); err != nil {
		return nil, err
	}
	return out, nil
}

// parseDatagram takes an Ethernet frame with an IPv4/IPv6 UDP datagram
// apart.
func parseDatagram(frame []byte, header int) (Datagram, error) {
	var d Datagram
	p := l3(frame)
	if len(p) == 0 {
		return d, errors.New("not an Ethernet frame")
	}
	src, dst, proto, l4, ok := ipHeader(p)
	if !ok || proto != ProtoUDP || len(l4) < 8 {
		return d, fmt.Errorf("not a UDP datagram: % x", p[:min(len(p), 48)])
	}
	if p[0]>>4 == 4 {
		d.DSCP = p[1] >> 2
	} else {
		d.DSCP = uint8(binary.BigEndian.Uint16(p[0:])>>4) >> 2
	}
	d.Src, d.SrcPort = src, binary.BigEndian.Uint16(l4)
	d.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:]))
	ulen := int(binary.BigEndian.Uint16(l4[4:]))
	if ulen < 8 || ulen > len(l4) {
		return d, fmt.Errorf("UDP length %d with %d bytes present", ulen, len(l4))
	}
	payload := l4[8:ulen]
	if len(payload) < header {
		return d, fmt.Errorf("payload of %d bytes has no %d-byte PacketCable header", len(payload), header)
	}
	d.CCCID = binary.BigEndian.Uint32(payload)
	if header == 12 {
		d.NTP = binary.BigEndian.Uint64(payload[4:])
	}
	d.Inner = append([]byte(nil), payload[header:]...)
	return d, nil
}

// checkWithTshark decodes the capture the way the acceptance criteria
// say (-d udp.port==PORT,pcli -d pcli.payload,LAYER) and compares tshark's
// CCCIDs with ours; it fills in Datagram.Protocols.
func (c *Capture) checkWithTshark(ds []Datagram, layer string, timestamped bool) error {
	proto := "pcli"
	if timestamped {
		proto = "pcli12"
	}
	args := []string{"-r", c.Path, "-n",
		"-d", fmt.Sprintf("udp.port==%d,%s", c.Port, proto), "-d", "pcli.payload," + layer,
		"-T", "fields", "-E", "separator=;", "-e", "pcli.cccid", "-e", "frame.protocols"}
	cmd := exec.Command("tshark", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("tshark %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(ds) == 0 {
		lines = nil
	}
	if len(lines) != len(ds) {
		return fmt.Errorf("tshark decoded %d frames, the pcap holds %d", len(lines), len(ds))
	}
	for i, line := range lines {
		cccid, protocols, _ := strings.Cut(line, ";")
		n, err := strconv.ParseUint(cccid, 10, 32)
		if err != nil {
			return fmt.Errorf("frame %d: tshark has no pcli.cccid (%q): not decoded as %s", i+1, line, proto)
		}
		if uint32(n) != ds[i].CCCID {
			return fmt.Errorf("frame %d: tshark pcli.cccid %d, the datagram says %d", i+1, n, ds[i].CCCID)
		}
		if !innerDecoded(protocols, layer, timestamped) {
			return fmt.Errorf("frame %d: tshark did not decode %s after %s: %s", i+1, layer, proto, protocols)
		}
		ds[i].Protocols = protocols
	}
	return nil
}

// countPcap counts the complete records of a pcap file being written.
func countPcap(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var gh [24]byte
	if _, err := io.ReadFull(r, gh[:]); err != nil {
		return 0
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if m := binary.BigEndian.Uint32(gh[:]); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
		order = binary.BigEndian
	}
	var n int64
	for {
		var rh [16]byte
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			return n
		}
		if _, err := r.Discard(int(order.Uint32(rh[8:]))); err != nil {
			return n
		}
		n++
	}
}

// innerDecoded reports whether tshark's protocol list shows the layer
// right after the PacketCable header: "eth:ethertype:ip:udp:pcli:ip:...".
// pcli12 does not name itself in the list: the layer follows udp.
func innerDecoded(protocols, layer string, timestamped bool) bool {
	_, rest, ok := strings.Cut(protocols, ":udp:")
	if !ok {
		return false
	}
	if !timestamped {
		if rest, ok = strings.CutPrefix(rest, "pcli:"); !ok {
			return false
		}
	}
	return rest == layer || strings.HasPrefix(rest, layer+":")
}

// readPcap returns the frames of a classic pcap file (either byte order,
// micro- or nanosecond stamps).
func readPcap(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pcap: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var gh [24]byte
	if _, err := io.ReadFull(r, gh[:]); err != nil {
		return nil, fmt.Errorf("read pcap %s: header: %w", path, err)
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(gh[:]) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("read pcap %s: not a pcap file", path)
	}
	if lt := order.Uint32(gh[20:]); lt != 1 {
		return nil, fmt.Errorf("read pcap %s: link type %d, want Ethernet", path, lt)
	}
	var frames [][]byte
	for {
		var rh [16]byte
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return frames, nil
			}
			return nil, fmt.Errorf("read pcap %s: record %d: %w", path, len(frames)+1, err)
		}
		n := order.Uint32(rh[8:])
		if n > 1<<18 {
			return nil, fmt.Errorf("read pcap %s: record %d of %d bytes", path, len(frames)+1, n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("read pcap %s: record %d: %w", path, len(frames)+1, err)
		}
		frames = append(frames, data)
	}
}
