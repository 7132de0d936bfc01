package e2e

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tapagent/internal/netlab"
)

// TestInterceptLogsNoTargets: with --log-level info, tapagent's log holds
// no intercept target — no tapped address, MAC or port in any spelling —
// from provisioning through interception to shutdown.
func TestInterceptLogsNoTargets(t *testing.T) {
	t.Parallel()
	b, lab := startRouterBed(t, "--log-level", "info")
	const dport, sport = 47123, 41234
	h1, h2, h2v6 := lab.H1.If.IPv4(), lab.H2.If.IPv4(), lab.H2.If.IPv6()
	mac := lab.H1.If.MAC
	ipMD := mdSpec{id: 91, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort)}
	macMD := mdSpec{id: 92, dest: netip.AddrPortFrom(lab.MD.If.IPv4(), mdPort+1)}
	ipCap, macCap := b.capture(mdPort), b.capture(mdPort+1)
	vbs := ipTap(ipMD,
		ipFilter{dst: host(h2), src: host(h1), proto: netlab.ProtoUDP, dstPorts: [2]uint16{dport, dport}, srcPorts: [2]uint16{sport, sport}},
		ipFilter{dst: host(h2v6), proto: netlab.ProtoUDP, dstPorts: [2]uint16{dport, dport}})
	vbs = append(vbs, macMD.vbs()...)
	vbs = append(vbs, macFilter{fields: fieldSrcMac, src: mac}.vbs(macMD.id, 1)...)
	vbs = append(vbs, streamRow(macMD.id, 1, streamTypeMAC, true)...)
	b.provision(3, vbs...)

	for _, dst := range []netip.Addr{h2, h2v6} {
		if _, err := lab.H1.SendUDP(netlab.UDPFlow{SrcPort: sport, Dst: netip.AddrPortFrom(dst, dport),
			Payload: []byte("confidential"), Pace: netlab.Pace{Count: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	// Intercepting for real: 6 IP copies, and the frames from the MAC.
	if err := ipCap.Receiver.WaitCount(6, 5*time.Second); err != nil {
		t.Errorf("IP taps: %v", err)
	}
	if err := macCap.Receiver.WaitCount(6, 5*time.Second); err != nil {
		t.Errorf("MAC tap: %v", err)
	}
	if err := b.agent.Stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}

	// The AgentX socket path holds random digits: not the agent's words.
	log := strings.ReplaceAll(b.agent.Log(), b.snmpd.Dir, "DIR")
	if !strings.Contains(log, "data plane updated") || !strings.Contains(log, "level=info") {
		t.Fatalf("the agent's info log looks empty, nothing to check:\n%s", log)
	}
	if strings.Contains(log, "level=debug") {
		t.Errorf("debug lines with --log-level info")
	}
	lower := strings.ToLower(log)
	secrets := []string{
		h1.String(), h2.String(), h2v6.String(), h2v6.StringExpanded(),
		hex.EncodeToString(h1.AsSlice()), hex.EncodeToString(h2.AsSlice()), hex.EncodeToString(h2v6.AsSlice()),
		"47123", "41234", "b813", "a112", // the ports, decimal and hex
		mac.String(), hex.EncodeToString(mac), strings.ReplaceAll(mac.String(), ":", "-"),
		strings.ReplaceAll(mac.String(), ":", " "), mac.String()[3:], // any MAC spelling, and its tail
	}
	for _, s := range secrets {
		if i := strings.Index(lower, strings.ToLower(s)); i >= 0 {
			start := strings.LastIndex(log[:i], "\n") + 1
			end := i + strings.Index(log[i:]+"\n", "\n")
			t.Errorf("the info log reveals the target %q:\n%s", s, log[start:end])
		}
	}
}
