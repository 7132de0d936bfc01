package ilbadmcli

import (
	"net/netip"
	"testing"
	"time"

	"tapagent/lb"
	"tapagent/mibs/ilb"
	"tapagent/mibs/ilb/ilbtest"
)

// connEngine is the in-memory engine with fixed connection listings.
type connEngine struct {
	*ilbtest.Engine
	nat     []lb.NATEntry
	persist []lb.PersistEntry
}

func (e *connEngine) NATEntries(string) ([]lb.NATEntry, error)         { return e.nat, nil }
func (e *connEngine) PersistEntries(string) ([]lb.PersistEntry, error) { return e.persist, nil }

func TestShowNatAndPersist(t *testing.T) {
	ap := netip.MustParseAddrPort
	e := &connEngine{Engine: ilbtest.NewEngine(nil),
		nat: []lb.NATEntry{
			{Rule: "nat1", ServerID: "_web.0", Protocol: lb.TCP, Client: ap("198.18.1.2:40000"), VIP: ap("198.18.9.1:82"),
				Proxy: ap("198.18.8.1:40000"), Server: ap("198.18.2.2:8080"), Remaining: time.Minute},
			{Rule: "udp1", ServerID: "_dns.1", Protocol: lb.UDP, Client: ap("198.18.1.3:5000"), VIP: ap("198.18.9.1:53"),
				Proxy: ap("198.18.1.3:5000"), Server: ap("198.18.3.2:5353"), Remaining: time.Minute},
		},
		persist: []lb.PersistEntry{
			{Rule: "p1", Prefix: netip.MustParsePrefix("198.18.1.0/24"), ServerID: "_web.1", Server: netip.MustParseAddr("198.18.3.2"), Remaining: time.Minute},
			{Rule: "p2", Prefix: netip.MustParsePrefix("198.18.0.0/16"), ServerID: "_web.0", Server: netip.MustParseAddr("198.18.2.2"), Remaining: time.Minute},
		},
	}
	l := &lab{engine: e.Engine, agent: &inProcess{h: ilb.New(e, nil, nil).Handler()}}
	for _, tc := range []struct{ line, want string }{
		{"show-nat", "TCP: 198.18.1.2:40000 > 198.18.9.1:82 >>> 198.18.8.1:40000 > 198.18.2.2:8080\n" +
			"UDP: 198.18.1.3:5000 > 198.18.9.1:53 >>> 198.18.1.3:5000 > 198.18.3.2:5353\n"},
		{"show-nat 1", "TCP: 198.18.1.2:40000 > 198.18.9.1:82 >>> 198.18.8.1:40000 > 198.18.2.2:8080\n"},
		{"show-persist", "p1: 198.18.1.0/24 --> 198.18.3.2\np2: 198.18.0.0/16 --> 198.18.2.2\n"},
		{"show-pt 1", "p1: 198.18.1.0/24 --> 198.18.3.2\n"},
	} {
		if got := l.must(t, tc.line); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.line, got, tc.want)
		}
	}
}
