package portseccli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
	"tapagent/internal/snmpcli"
	"tapagent/mibs"
)

// fakeAgent answers GETNEXT/GETBULK from a fixed set of instances.
type fakeAgent struct{ vars []gosnmp.SnmpPDU }

func newFakeAgent(vars ...gosnmp.SnmpPDU) *fakeAgent {
	slices.SortFunc(vars, func(a, b gosnmp.SnmpPDU) int {
		return agentx.MustParseOID(a.Name).Compare(agentx.MustParseOID(b.Name))
	})
	return &fakeAgent{vars: vars}
}

func (f *fakeAgent) next(oid string, n int) *gosnmp.SnmpPacket {
	from := agentx.MustParseOID(oid)
	res := &gosnmp.SnmpPacket{}
	for _, v := range f.vars {
		if agentx.MustParseOID(v.Name).Compare(from) > 0 && len(res.Variables) < n {
			res.Variables = append(res.Variables, v)
		}
	}
	if len(res.Variables) == 0 {
		res.Variables = []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.EndOfMibView}}
	}
	return res
}

func (f *fakeAgent) Get([]string) (*gosnmp.SnmpPacket, error) { return nil, fmt.Errorf("no GET") }
func (f *fakeAgent) GetNext(o []string) (*gosnmp.SnmpPacket, error) {
	return f.next(o[0], 1), nil
}
func (f *fakeAgent) GetBulk(o []string, _ uint8, n uint32) (*gosnmp.SnmpPacket, error) {
	return f.next(o[0], int(n)), nil
}
func (f *fakeAgent) Set([]gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error) {
	return nil, fmt.Errorf("no SET")
}

func i(name string, v int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Integer, Value: v}
}
func g(name string, v uint) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Gauge32, Value: v}
}

// agent: p1 (ifindex 3) restrict, max 1, 6 violations by 02:5e:c0:00:00:02,
// one dynamic address; p2 (4) not secured with a static address.
func fixtureAgent() *fakeAgent {
	mac := ".2.94.192.0.0.7.1"
	return newFakeAgent(
		i(globalRoot+"1.0", 8192), i(globalRoot+"2.0", 2), i(globalRoot+"3.0", 1),
		i(ifEntry+"1.3", 1), i(ifEntry+"1.4", 2), i(ifEntry+"2.3", 1), i(ifEntry+"2.4", 2),
		i(ifEntry+"3.3", 1), i(ifEntry+"3.4", 1), i(ifEntry+"4.3", 1), i(ifEntry+"4.4", 1),
		i(ifEntry+"8.3", 2), i(ifEntry+"8.4", 1),
		gosnmp.SnmpPDU{Name: ifEntry + "9.3", Type: gosnmp.Counter32, Value: uint(6)},
		gosnmp.SnmpPDU{Name: ifEntry + "10.3", Type: gosnmp.OctetString, Value: []byte{2, 0x5e, 0xc0, 0, 0, 2}},
		g(ifEntry+"18.3", 1),
		i(macEntry+"3.3"+mac, 2), g(macEntry+"4.3"+mac, 0),
		i(macEntry+"3.4.2.94.192.0.0.8.1", 1), g(macEntry+"4.4.2.94.192.0.0.8.1", 3),
		g(multiEntry+"2.3.1", 0), g(multiEntry+"3.3.1", 1), g(multiEntry+"2.4.1", 0), g(multiEntry+"3.4.1", 1),
		gosnmp.SnmpPDU{Name: ifNameRoot + ".3", Type: gosnmp.OctetString, Value: []byte("p1")},
		gosnmp.SnmpPDU{Name: ifNameRoot + ".4", Type: gosnmp.OctetString, Value: []byte("p2")},
	)
}

func TestPrint(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // lines (trimmed, spaces collapsed) that must appear
		not  []string
	}{
		{[]string{"127.0.0.1", "admin"}, []string{"p1 1 1 6 Restrict", "Total Addresses in System : 2", "Max Addresses limit in System : 8192"}, []string{"p2"}},
		{[]string{"127.0.0.1", "admin", "interface", "p1"}, []string{"Port Security : Enabled", "Port Status : Secure-up",
			"Violation Mode : Restrict", "Last Source Address:Vlan : 025e.c000.0002:1", "Security Violation Count : 6", "Total MAC Addresses : 1"}, nil},
		{[]string{"127.0.0.1", "admin", "interface", "4"}, []string{"Port Security : Disabled", "Configured MAC Addresses : 1"}, nil},
		{[]string{"127.0.0.1", "admin", "address"}, []string{"1 025e.c000.0007 SecureDynamic p1 -", "1 025e.c000.0008 SecureConfigured p2 3", "Total Addresses: 2"}, nil},
		{[]string{"127.0.0.1", "admin", "interface", "p2", "address"}, []string{"1 025e.c000.0008 SecureConfigured p2 3", "Total Addresses: 1"}, []string{"0007"}},
	} {
		t.Run(strings.Join(c.args[2:], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			env := snmpcli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Tree: mibs.Tree,
				Dial: func(snmpcli.Options, int) (snmpcli.Client, func(), error) { return fixtureAgent(), func() {}, nil }}
			args := append([]string{"-v3", "-level", "noAuthNoPriv"}, c.args...)
			if code := Run(env, args); code != snmpcli.ExitOK {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var lines []string
			for _, l := range strings.Split(out.String(), "\n") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			text := strings.Join(lines, "\n")
			for _, w := range c.want {
				if !slices.Contains(lines, w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range c.not {
				if strings.Contains(text, w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestUnknownInterface(t *testing.T) {
	var out, errb bytes.Buffer
	env := snmpcli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Tree: mibs.Tree,
		Dial: func(snmpcli.Options, int) (snmpcli.Client, func(), error) { return fixtureAgent(), func() {}, nil }}
	if code := Run(env, []string{"-level", "noAuthNoPriv", "h", "admin", "interface", "p9"}); code != snmpcli.ExitUsage || !strings.Contains(errb.String(), "p9") {
		t.Fatalf("exit %d, stderr %q: want a usage error naming p9", code, errb.String())
	}
}

// show runs the command against agent and returns its lines with runs of
// spaces collapsed.
func show(t *testing.T, agent *fakeAgent, words ...string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	env := snmpcli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Tree: mibs.Tree,
		Dial: func(snmpcli.Options, int) (snmpcli.Client, func(), error) { return agent, func() {}, nil }}
	if code := Run(env, append([]string{"-level", "noAuthNoPriv", "127.0.0.1", "admin"}, words...)); code != snmpcli.ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

// voiceAgent: p5 (ifindex 5) carries data VLAN 10 and voice VLAN 20.
// 02:5e:c0:00:00:09 is secure in both VLANs (a PC behind a phone would
// not be; a test of the same MAC twice), 02:5e:c0:00:00:0a in VLAN 20.
// VLAN 10 has a maximum of 1, VLAN 20 none of its own.
func voiceAgent() *fakeAgent {
	a, b := ".2.94.192.0.0.9", ".2.94.192.0.0.10"
	return newFakeAgent(
		i(globalRoot+"1.0", 4096), i(globalRoot+"2.0", 3), i(globalRoot+"3.0", 1),
		i(ifEntry+"1.5", 1), i(ifEntry+"2.5", 1), i(ifEntry+"3.5", 3), i(ifEntry+"4.5", 3), i(ifEntry+"8.5", 2),
		g(ifEntry+"18.5", 10),
		i(macEntry+"3.5"+a+".10", 2), g(macEntry+"4.5"+a+".10", 0),
		i(macEntry+"3.5"+a+".20", 3), g(macEntry+"4.5"+a+".20", 0),
		i(macEntry+"3.5"+b+".20", 1), g(macEntry+"4.5"+b+".20", 0),
		g(multiEntry+"2.5.10", 1), g(multiEntry+"3.5.10", 1), i(multiEntry+"4.5.10", 0), i(multiEntry+"5.5.10", 1),
		g(multiEntry+"2.5.20", 0), g(multiEntry+"3.5.20", 2), i(multiEntry+"4.5.20", 0), i(multiEntry+"5.5.20", 1),
		gosnmp.SnmpPDU{Name: ifNameRoot + ".5", Type: gosnmp.OctetString, Value: []byte("p5")},
	)
}

func TestPrintMultiVLAN(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  []string // in this order
	}{
		{[]string{"interface", "p5"}, []string{"Maximum MAC Addresses : 3", "Total MAC Addresses : 3",
			"Configured MAC Addresses : 1", "Sticky MAC Addresses : 1", "Last Source Address:Vlan : -:10",
			"Vlan Maximum Current (Maximum - : only the port's maximum applies)", "10 1 1", "20 - 2"}},
		{[]string{"address"}, []string{"10 025e.c000.0009 SecureDynamic p5 -", "20 025e.c000.0009 SecureSticky p5 -",
			"20 025e.c000.000a SecureConfigured p5 -", "Total Addresses: 3"}},
		{nil, []string{"p5 3 3 0 Restrict"}},
	} {
		t.Run(strings.Join(c.words, " "), func(t *testing.T) {
			lines := show(t, voiceAgent(), c.words...)
			at := 0
			for _, w := range c.want {
				n := slices.Index(lines[at:], w)
				if n < 0 {
					t.Fatalf("output lacks %q after line %d:\n%s", w, at, strings.Join(lines, "\n"))
				}
				at += n + 1
			}
		})
	}
}

// TestPrintSingleVLANPort: a port with addresses in one VLAN and no limit
// of the VLAN's own shows no per-VLAN table.
func TestPrintSingleVLANPort(t *testing.T) {
	for _, l := range show(t, fixtureAgent(), "interface", "p1") {
		if strings.HasPrefix(l, "Vlan") {
			t.Fatalf("per-VLAN table on a single-VLAN port: %q", l)
		}
	}
}
