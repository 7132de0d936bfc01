package snmpcli

import (
	"context"
	"fmt"
	"net"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
)

// Client is the part of a gosnmp session the commands use; tests fake it.
type Client interface {
	Get(oids []string) (*gosnmp.SnmpPacket, error)
	GetNext(oids []string) (*gosnmp.SnmpPacket, error)
	GetBulk(oids []string, nonRepeaters uint8, maxRepetitions uint32) (*gosnmp.SnmpPacket, error)
	Set(pdus []gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error)
}

// UsageError marks errors caused by the command line or configuration;
// they exit with ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Session builds the gosnmp session for o without opening a socket.
// maxOids must cover the largest request: SETs are never split further
// because a SET's varbinds stand or fall together.
func Session(o Options, maxOids int) *gosnmp.GoSNMP {
	g := &gosnmp.GoSNMP{
		Target:         o.Agent.Host,
		Port:           o.Agent.Port,
		Transport:      o.Agent.Transport,
		Version:        o.Version,
		Timeout:        o.Timeout,
		Retries:        o.Retries,
		MaxOids:        max(maxOids, gosnmp.MaxOids),
		MaxRepetitions: o.MaxRepetitions,
		Community:      o.Principal,
	}
	if o.Version == gosnmp.Version3 {
		g.Community = ""
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = o.Security.Level
		g.ContextName = o.Security.Context
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 o.Principal,
			AuthenticationProtocol:   o.Security.AuthProto,
			AuthenticationPassphrase: o.Security.AuthPass,
			PrivacyProtocol:          o.Security.PrivProto,
			PrivacyPassphrase:        o.Security.PrivPass,
		}
	}
	return g
}

// Dial resolves the agent (an unknown host is a usage error: nothing has
// been sent) and opens the session.
func Dial(ctx context.Context, o Options, maxOids int) (*gosnmp.GoSNMP, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if net.ParseIP(o.Agent.Host) == nil {
		if _, err := net.DefaultResolver.LookupHost(ctx, o.Agent.Host); err != nil {
			return nil, &UsageError{fmt.Errorf("agent %s: cannot resolve host: %w", o.Agent.Host, err)}
		}
	}
	g := Session(o, maxOids)
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("agent %s: %w", o.Agent, err)
	}
	return g, nil
}

// ToPDU converts a varbind to gosnmp's form.
func ToPDU(vb agentx.VarBind) (gosnmp.SnmpPDU, error) {
	p := gosnmp.SnmpPDU{Name: "." + vb.Name.String()}
	v := vb.Value
	switch v.Type {
	case agentx.TypeInteger:
		p.Type, p.Value = gosnmp.Integer, int(v.Int)
	case agentx.TypeOctetString:
		p.Type, p.Value = gosnmp.OctetString, v.Bytes
	case agentx.TypeOpaque:
		p.Type, p.Value = gosnmp.Opaque, v.Bytes
	case agentx.TypeIPAddress:
		p.Type, p.Value = gosnmp.IPAddress, v.Bytes
	case agentx.TypeObjectIdentifier:
		p.Type, p.Value = gosnmp.ObjectIdentifier, "."+v.OID.String()
	case agentx.TypeCounter32:
		p.Type, p.Value = gosnmp.Counter32, uint32(v.Uint)
	case agentx.TypeGauge32:
		p.Type, p.Value = gosnmp.Gauge32, uint32(v.Uint)
	case agentx.TypeTimeTicks:
		p.Type, p.Value = gosnmp.TimeTicks, uint32(v.Uint)
	case agentx.TypeCounter64:
		p.Type, p.Value = gosnmp.Counter64, v.Uint
	case agentx.TypeNull:
		p.Type = gosnmp.Null
	default:
		return p, fmt.Errorf("cannot send a value of type %s", v.Type)
	}
	return p, nil
}

// FromPDU converts a varbind gosnmp decoded.
func FromPDU(p gosnmp.SnmpPDU) (agentx.VarBind, error) {
	oid, err := agentx.ParseOID(p.Name)
	if err != nil {
		return agentx.VarBind{}, fmt.Errorf("agent sent a bad OID %q: %w", p.Name, err)
	}
	vb := agentx.VarBind{Name: oid}
	bad := func() (agentx.VarBind, error) {
		return vb, fmt.Errorf("%s: unexpected %s value %T", p.Name, p.Type, p.Value)
	}
	switch p.Type {
	case gosnmp.Integer:
		n, ok := p.Value.(int)
		if !ok {
			return bad()
		}
		vb.Value = agentx.Value{Type: agentx.TypeInteger, Int: int64(n)}
	case gosnmp.OctetString, gosnmp.BitString, gosnmp.Opaque:
		b, ok := p.Value.([]byte)
		if !ok {
			return bad()
		}
		t := agentx.TypeOctetString
		if p.Type == gosnmp.Opaque {
			t = agentx.TypeOpaque
		}
		vb.Value = agentx.Value{Type: t, Bytes: b}
	case gosnmp.ObjectIdentifier:
		s, ok := p.Value.(string)
		if !ok {
			return bad()
		}
		o, err := agentx.ParseOID(s)
		if err != nil {
			return bad()
		}
		vb.Value = agentx.ObjectID(o)
	case gosnmp.IPAddress:
		s, ok := p.Value.(string)
		ip := net.ParseIP(s).To4()
		if !ok || ip == nil {
			return bad()
		}
		vb.Value = agentx.IPAddress([4]byte(ip))
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.Uinteger32, gosnmp.TimeTicks, gosnmp.Counter64:
		n, ok := toUint64(p.Value)
		if !ok {
			return bad()
		}
		types := map[gosnmp.Asn1BER]agentx.VarType{gosnmp.Counter32: agentx.TypeCounter32,
			gosnmp.Gauge32: agentx.TypeGauge32, gosnmp.Uinteger32: agentx.TypeGauge32,
			gosnmp.TimeTicks: agentx.TypeTimeTicks, gosnmp.Counter64: agentx.TypeCounter64}
		vb.Value = agentx.Value{Type: types[p.Type], Uint: n}
	case gosnmp.Null:
		vb.Value = agentx.Null()
	case gosnmp.NoSuchObject:
		vb.Value = agentx.NoSuchObject()
	case gosnmp.NoSuchInstance:
		vb.Value = agentx.NoSuchInstance()
	case gosnmp.EndOfMibView:
		vb.Value = agentx.EndOfMibView()
	default:
		return bad()
	}
	return vb, nil
}

func toUint64(v any) (uint64, bool) {
	switch n := v.(type) {
	case uint:
		return uint64(n), true
	case uint32:
		return uint64(n), true
	case uint64:
		return n, true
	case int:
		return uint64(n), n >= 0
	case int64:
		return uint64(n), n >= 0
	}
	return 0, false
}
