package ilb

import (
	"fmt"
	"net/netip"
	"strings"

	"tapagent/agent/agentx"
	"tapagent/agent/table"
	"tapagent/lb"
)

// rowError names the column of a row that is at fault; status 0 means
// inconsistentValue.
func rowError(r *table.Row, col uint32, status agentx.ErrorStatus, format string, args ...any) *table.CheckError {
	return &table.CheckError{Status: status, Table: r.Table, Index: r.Index, Column: col, Err: fmt.Errorf(format, args...)}
}

// cells is a row's values by column: a *table.Row in the agent, a
// decoded walk in a manager.
type cells interface {
	Int(col uint32) int64
	Uint(col uint32) uint64
	Bytes(col uint32) []byte
	Truth(col uint32) bool
}

// colError is a conversion refusal naming the column at fault.
type colError struct {
	col    uint32
	status agentx.ErrorStatus // 0: inconsistentValue
	err    error
}

func (e *colError) Error() string { return e.err.Error() }

func colErr(col uint32, status agentx.ErrorStatus, format string, args ...any) *colError {
	return &colError{col: col, status: status, err: fmt.Errorf(format, args...)}
}

// onRow turns a colError into a CheckError on row r.
func onRow(r *table.Row, err error) error {
	if ce, ok := err.(*colError); ok {
		return &table.CheckError{Status: ce.status, Table: r.Table, Index: r.Index, Column: ce.col, Err: ce.err}
	}
	return err
}

func text(v agentx.Value) string { return string(v.Bytes) }

func truth(b bool) agentx.Value {
	if b {
		return agentx.Integer(truthTrue)
	}
	return agentx.Integer(truthFalse)
}

// inetAddr reads an InetAddressType/InetAddress pair; only ipv4 and ipv6
// are supported (the module's compliance says so).
func inetAddr(r cells, typeCol, addrCol uint32) (netip.Addr, error) {
	t, b := r.Int(typeCol), r.Bytes(addrCol)
	if t != table.InetIPv4 && t != table.InetIPv6 {
		return netip.Addr{}, colErr(typeCol, agentx.WrongValue, "address type %d: only ipv4(1) and ipv6(2)", t)
	}
	if !table.InetAddressFits(t, b) {
		return netip.Addr{}, colErr(addrCol, 0, "%d octets do not fit address type %d", len(b), t)
	}
	a, _ := netip.AddrFromSlice(b)
	return a, nil
}

// optionalAddr reads an address of the family of the rule's VIP; empty
// means none.
func optionalAddr(r cells, col uint32, family int64) (netip.Addr, error) {
	b := r.Bytes(col)
	if len(b) == 0 {
		return netip.Addr{}, nil
	}
	if !table.InetAddressFits(family, b) {
		return netip.Addr{}, colErr(col, 0, "%d octets are not an address of the VIP's family", len(b))
	}
	a, _ := netip.AddrFromSlice(b)
	return a, nil
}

func addrValues(a netip.Addr) (agentx.Value, agentx.Value) {
	if !a.IsValid() {
		return agentx.Integer(0), agentx.OctetString([]byte{})
	}
	if a.Is4() {
		b := a.As4()
		return agentx.Integer(table.InetIPv4), agentx.OctetString(b[:])
	}
	b := a.As16()
	return agentx.Integer(table.InetIPv6), agentx.OctetString(b[:])
}

func addrBytes(a netip.Addr) agentx.Value {
	_, v := addrValues(a)
	return v
}

func serverOf(id string, r cells) (lb.Server, error) {
	a, err := inetAddr(r, srvAddrType, srvAddr)
	if err != nil {
		return lb.Server{}, err
	}
	return lb.Server{
		ID:      id,
		Addr:    a,
		Ports:   lb.PortRange{Min: uint16(r.Uint(srvPortMin)), Max: uint16(r.Uint(srvPortMax))},
		Enabled: r.Truth(srvEnabled),
	}, nil
}

func serverValues(s *lb.Server) map[uint32]agentx.Value {
	t, a := addrValues(s.Addr)
	return map[uint32]agentx.Value{
		srvAddrType: t, srvAddr: a,
		srvPortMin: agentx.Gauge32(uint32(s.Ports.Min)), srvPortMax: agentx.Gauge32(uint32(s.Ports.Max)),
		srvEnabled: truth(s.Enabled), srvStorage: agentx.Integer(storageNonVolatile),
	}
}

var (
	hcTests = map[int64]lb.HCTest{hcTestPing: lb.HCPing, hcTestTCP: lb.HCTCP, hcTestUDP: lb.HCUDP, hcTestExternal: lb.HCExternal}
	algs    = map[int64]lb.Algorithm{algRoundRobin: lb.RoundRobin, algHashIP: lb.HashIP, algHashIPPort: lb.HashIPPort,
		algHashIPVIP: lb.HashIPVIP, algMaglev: lb.Maglev}
	topos     = map[int64]lb.Topology{topoDSR: lb.DSR, topoNAT: lb.NAT, topoHalfNAT: lb.HalfNAT}
	portModes = map[int64]lb.HCPortMode{hcPortAny: lb.HCPortAny, hcPortAll: lb.HCPortAll, hcPortFixed: lb.HCPortFixed}
)

func reverse[K comparable, V comparable](m map[K]V) map[V]K {
	r := make(map[V]K, len(m))
	for k, v := range m {
		r[v] = k
	}
	return r
}

var (
	hcTestNums   = reverse(hcTests)
	algNums      = reverse(algs)
	topoNums     = reverse(topos)
	portModeNums = reverse(portModes)
)

func healthCheckOf(name string, r cells) lb.HealthCheck {
	return lb.HealthCheck{
		Name:           name,
		Test:           hcTests[r.Int(hcTest)],
		ExternalMethod: string(r.Bytes(hcExternal)),
		Timeout:        uint32(r.Uint(hcTimeout)),
		Count:          uint32(r.Uint(hcCount)),
		Interval:       uint32(r.Uint(hcInterval)),
		DefaultPing:    r.Truth(hcDefaultPing),
	}
}

func healthCheckValues(h *lb.HealthCheck) map[uint32]agentx.Value {
	return map[uint32]agentx.Value{
		hcTest: agentx.Integer(int32(hcTestNums[h.Test])), hcExternal: agentx.OctetString([]byte(h.ExternalMethod)),
		hcTimeout: agentx.Gauge32(h.Timeout), hcCount: agentx.Gauge32(h.Count), hcInterval: agentx.Gauge32(h.Interval),
		hcDefaultPing: truth(h.DefaultPing), hcStorage: agentx.Integer(storageNonVolatile),
	}
}

func ruleOf(name string, r cells) (lb.Rule, error) {
	vip, err := inetAddr(r, ruleVipType, ruleVip)
	if err != nil {
		return lb.Rule{}, err
	}
	first, err := optionalAddr(r, ruleProxyFirst, r.Int(ruleVipType))
	if err != nil {
		return lb.Rule{}, err
	}
	last, err := optionalAddr(r, ruleProxyLast, r.Int(ruleVipType))
	if err != nil {
		return lb.Rule{}, err
	}
	if last.IsValid() && !first.IsValid() {
		return lb.Rule{}, colErr(ruleProxyLast, 0, "a range end needs ilbRuleProxySrcFirst")
	}
	pmax := uint16(r.Uint(rulePortMax))
	if r.Uint(rulePortMin) == 0 && pmax != 0 {
		return lb.Rule{}, colErr(rulePortMax, 0, "ilbRulePortMax needs ilbRulePortMin")
	}
	if pmax != 0 && uint64(pmax) < r.Uint(rulePortMin) {
		return lb.Rule{}, colErr(rulePortMax, 0, "port range ends before it starts")
	}
	return lb.Rule{
		Name:           name,
		VIP:            vip,
		Protocol:       lb.Protocol(r.Int(ruleProtocol)),
		Ports:          lb.PortRange{Min: uint16(r.Uint(rulePortMin)), Max: pmax},
		Enabled:        r.Truth(ruleEnabled),
		Algorithm:      algs[r.Int(ruleAlgorithm)],
		Topology:       topos[r.Int(ruleTopology)],
		ProxySrc:       lb.AddrRange{First: first, Last: last},
		Persist:        r.Truth(rulePersist),
		PersistMask:    int(r.Uint(rulePersistMask)),
		ServerGroup:    string(r.Bytes(ruleServerGroup)),
		HCName:         string(r.Bytes(ruleHcName)),
		HCPortMode:     portModes[r.Int(ruleHcPortMode)],
		HCPort:         uint16(r.Uint(ruleHcPort)),
		ConnDrain:      uint32(r.Uint(ruleConnDrain)),
		NATTimeout:     uint32(r.Uint(ruleNatTimeout)),
		PersistTimeout: uint32(r.Uint(rulePersistTimeout)),
	}, nil
}

func ruleValues(r *lb.Rule) map[uint32]agentx.Value {
	t, vip := addrValues(r.VIP)
	mode := r.HCPortMode
	if mode == 0 {
		mode = lb.HCPortAny
	}
	last := agentx.OctetString([]byte{})
	if r.ProxySrc.Last.IsValid() {
		last = addrBytes(r.ProxySrc.Last)
	}
	return map[uint32]agentx.Value{
		ruleVipType: t, ruleVip: vip,
		ruleProtocol: agentx.Integer(int32(r.Protocol)),
		rulePortMin:  agentx.Gauge32(uint32(r.Ports.Min)), rulePortMax: agentx.Gauge32(uint32(r.Ports.Max)),
		ruleEnabled:    truth(r.Enabled),
		ruleAlgorithm:  agentx.Integer(int32(algNums[r.Algorithm])),
		ruleTopology:   agentx.Integer(int32(topoNums[r.Topology])),
		ruleProxyFirst: addrBytes(r.ProxySrc.First), ruleProxyLast: last,
		rulePersist: truth(r.Persist), rulePersistMask: agentx.Gauge32(uint32(r.PersistMask)),
		ruleHcName: agentx.OctetString([]byte(r.HCName)), ruleHcPortMode: agentx.Integer(int32(portModeNums[mode])),
		ruleHcPort:    agentx.Gauge32(uint32(r.HCPort)),
		ruleConnDrain: agentx.Gauge32(r.ConnDrain), ruleNatTimeout: agentx.Gauge32(r.NATTimeout),
		rulePersistTimeout: agentx.Gauge32(r.PersistTimeout),
		ruleServerGroup:    agentx.OctetString([]byte(r.ServerGroup)),
		ruleStorage:        agentx.Integer(storageNonVolatile),
	}
}

// fieldColumns maps the field names of lb errors to columns per table.
var fieldColumns = map[string]map[string]uint32{
	"ilbServerTable": {"address": srvAddr, "port": srvPortMin},
	"ilbHcTable":     {"hc-test": hcTest, "default-ping": hcDefaultPing},
	"ilbRuleTable": {
		"vip": ruleVip, "protocol": ruleProtocol, "port": rulePortMin, "lbalg": ruleAlgorithm,
		"type": ruleTopology, "proxy-src": ruleProxyFirst, "pmask": rulePersistMask,
		"hc-name": ruleHcName, "hc-port": ruleHcPort, "servergroup": ruleServerGroup,
	},
}

// objectRow finds the table and index an lb error's Object names
// ("rule web", "server group g", "server _g.1", "health check hc").
func (b *Binding) objectRow(object string) (*table.Table, []agentx.Value, bool) {
	s := func(v string) agentx.Value { return agentx.OctetString([]byte(v)) }
	switch {
	case strings.HasPrefix(object, "server group "):
		return b.groups, []agentx.Value{s(strings.TrimPrefix(object, "server group "))}, true
	case strings.HasPrefix(object, "server "):
		id := strings.TrimPrefix(object, "server ")
		g, _, ok := lb.ParseServerID(id)
		return b.servers, []agentx.Value{s(g), s(id)}, ok
	case strings.HasPrefix(object, "health check "):
		return b.hcs, []agentx.Value{s(strings.TrimPrefix(object, "health check "))}, true
	case strings.HasPrefix(object, "rule "):
		return b.rules, []agentx.Value{s(strings.TrimPrefix(object, "rule "))}, true
	}
	return nil, nil, false
}
