package portsec

import (
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.nft from the kernel")

// TestSystemRulesetGolden lists the table the engine builds for a mixed
// configuration and compares it with testdata/ruleset.nft, where @P1@..@P3@
// stand for the ports' ifindexes.
func TestSystemRulesetGolden(t *testing.T) {
	r := newRig(t, Options{NflogGroup: 7315})
	p1, p2, p3 := r.lab.Port1.Index, r.lab.Port2.Index, r.lab.Port3.Index
	c1 := secureConfig(2, Restrict)
	c1.AgingTime, c1.AgingType = 5, AgingInactivity
	c2 := secureConfig(3, Protect)
	c2.Sticky = true
	c3 := secureConfig(4, Shutdown)
	c3.AgingTime, c3.AgingType = 10, AgingAbsolute
	r.apply(SetPort(p1, c1), SetPort(p2, c2), SetPort(p3, c3), SetVLANLimit(p1, 1, 1),
		AddStatic(p3, MAC{0x02, 0, 0, 0, 0, 0x33}, 0), AddStatic(p2, MAC{0x02, 0, 0, 0, 0, 0x22}, 0))

	got := r.nft("list", "table", "bridge", DefaultTable)
	names := strings.NewReplacer(
		"_"+strconv.Itoa(p1)+" ", "_@P1@ ", "_"+strconv.Itoa(p2)+" ", "_@P2@ ", "_"+strconv.Itoa(p3)+" ", "_@P3@ ",
		"_"+strconv.Itoa(p1)+"\"", "_@P1@\"", "_"+strconv.Itoa(p2)+"\"", "_@P2@\"", "_"+strconv.Itoa(p3)+"\"", "_@P3@\"",
		"@allow_"+strconv.Itoa(p1)+" ", "@allow_@P1@ ", "vlan_"+strconv.Itoa(p1)+"_", "vlan_@P1@_", "@allow_"+strconv.Itoa(p2)+" ", "@allow_@P2@ ", "@allow_"+strconv.Itoa(p3)+" ", "@allow_@P3@ ",
		"iif "+strconv.Itoa(p1)+" ", "iif @P1@ ", "iif "+strconv.Itoa(p2)+" ", "iif @P2@ ", "iif "+strconv.Itoa(p3)+" ", "iif @P3@ ",
		"port_"+strconv.Itoa(p1)+"\n", "port_@P1@\n", "port_"+strconv.Itoa(p2)+"\n", "port_@P2@\n", "port_"+strconv.Itoa(p3)+"\n", "port_@P3@\n",
	)
	got = names.Replace(got)
	got = regexp.MustCompile(`packets \d+ bytes \d+`).ReplaceAllString(got, "packets 0 bytes 0")
	const golden = "testdata/ruleset.nft"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("ruleset differs from %s (run with -update to accept):\n%s", golden, got)
	}
}
