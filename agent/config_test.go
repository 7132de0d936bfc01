package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tapagent/agent/agentx"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		want        string // "" = error
		remote      bool   // the error is ErrRemoteTCP
	}{
		{"unix:/var/agentx/master", false, "unix:/var/agentx/master", false},
		{"/tmp/x.sock", false, "unix:/tmp/x.sock", false},
		{"unix:", false, "", false},
		{"tcp:127.0.0.1:705", false, "tcp:127.0.0.1:705", false},
		{"tcp:[::1]:705", false, "tcp:[::1]:705", false},
		{"tcp:localhost:705", false, "tcp:", false}, // resolves to a loopback literal
		{"tcp:192.0.2.1:705", false, "", true},
		{"tcp::705", false, "", true},
		{"tcp:192.0.2.1:705", true, "tcp:192.0.2.1:705", false},
		{"tcp:127.0.0.1", false, "", false},
		{"udp:127.0.0.1:705", false, "", false},
	}
	for _, tt := range tests {
		ep, err := parseAddress(context.Background(), tt.addr, tt.allowRemote)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%q: accepted as %s", tt.addr, ep)
		case tt.want == "" && tt.remote && !errors.Is(err, ErrRemoteTCP):
			t.Errorf("%q: err = %v, want ErrRemoteTCP", tt.addr, err)
		case tt.want != "" && err != nil:
			t.Errorf("%q: %v", tt.addr, err)
		case tt.want != "" && !strings.HasPrefix(ep.String(), tt.want):
			t.Errorf("%q: endpoint %s, want %s", tt.addr, ep, tt.want)
		}
	}
}

func TestOpenTimeout(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want uint8
	}{
		{0, 0}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {time.Hour, 255},
	}
	for _, tt := range tests {
		if got := (Config{Timeout: tt.d}).openTimeout(); got != tt.want {
			t.Errorf("openTimeout(%s) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestCheckNotifyOrder(t *testing.T) {
	trapOID := agentx.VarBind{Name: SnmpTrapOID0, Value: agentx.ObjectID(oid("1.3.6.1.4.1.9.9.399.0.1"))}
	upTime := agentx.VarBind{Name: SysUpTime0, Value: agentx.TimeTicks(42)}
	payload := agentx.VarBind{Name: oid("1.3.6.1.4.1.9.9.399.1.1.1.0"), Value: agentx.Integer(1)}
	tests := []struct {
		name string
		vbs  []agentx.VarBind
		ok   bool
	}{
		{"uptime then trap", []agentx.VarBind{upTime, trapOID, payload}, true},
		{"trap only", []agentx.VarBind{trapOID}, true},
		{"trap then payload", []agentx.VarBind{trapOID, payload}, true},
		{"empty", nil, false},
		{"uptime alone", []agentx.VarBind{upTime}, false},
		{"trap before uptime", []agentx.VarBind{trapOID, upTime}, true}, // snmpd adds its own sysUpTime; ours is payload
		{"payload first", []agentx.VarBind{payload, trapOID}, false},
		{"uptime then payload", []agentx.VarBind{upTime, payload, trapOID}, false},
		{"trap oid wrong type", []agentx.VarBind{{Name: SnmpTrapOID0, Value: agentx.Integer(1)}}, false},
		{"uptime wrong type", []agentx.VarBind{{Name: SysUpTime0, Value: agentx.Integer(1)}, trapOID}, false},
	}
	for _, tt := range tests {
		if err := checkNotifyOrder(tt.vbs); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestRunRefusesRemoteTCP(t *testing.T) {
	sa := New(Config{Address: "tcp:192.0.2.1:705"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := sa.Run(ctx); !errors.Is(err, ErrRemoteTCP) {
		t.Fatalf("Run = %v, want ErrRemoteTCP", err)
	}
}
