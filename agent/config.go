package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/agent/agentx"
)

// DefaultAddress is net-snmp's default AgentX socket.
const DefaultAddress = "unix:/var/agentx/master"

// Defaults applied by New to zero Config fields.
const (
	DefaultPriority       = 127
	DefaultReconnectMin   = 100 * time.Millisecond
	DefaultReconnectMax   = 2 * time.Second // with jitter, back within 5 s of a master restart
	DefaultPingInterval   = 15 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultDescr          = "tapagent"
	// DefaultMaxBulkVarBinds caps one GetBulk answer; the master asks again.
	DefaultMaxBulkVarBinds = 1024
	// maxPayload bounds one incoming PDU; snmpd's own PDUs are far smaller.
	maxPayload = 1 << 20
)

// Config describes how the subagent reaches the master and presents itself.
// The zero value connects to DefaultAddress with the defaults above.
type Config struct {
	// Address is "unix:/path" or "tcp:host:port" (a bare "/path" is unix).
	Address string
	// AllowRemoteTCP permits a TCP master that is not on loopback. AgentX has
	// no authentication: whoever reaches the port can register subtrees.
	AllowRemoteTCP bool
	// Timeout is the o.timeout of the Open PDU (whole seconds, at most 255 s):
	// how long the master waits for our answers. 0 keeps the master's
	// default (snmpd: agentxTimeout, 1 s).
	Timeout time.Duration
	// ID and Descr identify the subagent in the Open PDU.
	ID    agentx.OID
	Descr string
	// Logger receives structured logs; nil uses logrus' standard logger.
	Logger *logrus.Entry
	// Priority of every registration (1 highest … 255 lowest); 0 = 127.
	Priority uint8
	// ReconnectMin and ReconnectMax bound the exponential reconnect backoff.
	ReconnectMin, ReconnectMax time.Duration
	// Context is the SNMP context the subtrees live in; nil = default context.
	Context []byte
	// NetworkByteOrder makes our own PDUs big-endian. Answers always mirror
	// the byte order of the master's request.
	NetworkByteOrder bool
	// PingInterval is how often a Ping checks that the master is alive;
	// negative disables pinging.
	PingInterval time.Duration
	// RequestTimeout bounds the wait for the master's answer to our own
	// PDUs (Open, Register, Ping, Notify, Close) and the connect itself.
	RequestTimeout time.Duration
	// MaxBulkVarBinds caps the varbinds of one GetBulk answer.
	MaxBulkVarBinds int
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.Descr == "" {
		c.Descr = DefaultDescr
	}
	if c.Logger == nil {
		c.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	if c.Priority == 0 {
		c.Priority = DefaultPriority
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxBulkVarBinds <= 0 {
		c.MaxBulkVarBinds = DefaultMaxBulkVarBinds
	}
	return c
}

// openTimeout is Timeout as the o.timeout octet.
func (c Config) openTimeout() uint8 {
	secs := (c.Timeout + time.Second - 1) / time.Second
	switch {
	case secs <= 0:
		return 0
	case secs > 255:
		return 255
	}
	return uint8(secs)
}

// ErrRemoteTCP is returned for a TCP master off loopback without AllowRemoteTCP.
var ErrRemoteTCP = errors.New("AgentX over TCP to a non-loopback address is refused: AgentX has no authentication")

// endpoint is a parsed Address.
type endpoint struct {
	network string // "unix" or "tcp"
	address string
}

func (e endpoint) String() string { return e.network + ":" + e.address }

// parseAddress checks addr and, for TCP, that it stays on loopback unless
// allowRemote. Host names are resolved so "localhost" works but a name that
// points elsewhere does not slip through.
func parseAddress(ctx context.Context, addr string, allowRemote bool) (endpoint, error) {
	switch {
	case strings.HasPrefix(addr, "unix:"):
		path := strings.TrimPrefix(addr, "unix:")
		if path == "" {
			return endpoint{}, fmt.Errorf("AgentX address %q: empty socket path", addr)
		}
		return endpoint{"unix", path}, nil
	case strings.HasPrefix(addr, "/"):
		return endpoint{"unix", addr}, nil
	case strings.HasPrefix(addr, "tcp:"):
		hostport := strings.TrimPrefix(addr, "tcp:")
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return endpoint{}, fmt.Errorf("AgentX address %q: %w", addr, err)
		}
		if port == "" {
			return endpoint{}, fmt.Errorf("AgentX address %q: missing port", addr)
		}
		if allowRemote {
			return endpoint{"tcp", hostport}, nil
		}
		ip, err := loopbackIP(ctx, host)
		if err != nil {
			return endpoint{}, fmt.Errorf("AgentX address %q: %w", addr, err)
		}
		// Dial the checked address, so a name cannot resolve elsewhere later.
		return endpoint{"tcp", net.JoinHostPort(ip, port)}, nil
	}
	return endpoint{}, fmt.Errorf("AgentX address %q: want unix:/path or tcp:host:port", addr)
}

// loopbackIP returns host as a loopback IP literal, resolving a name; any
// non-loopback address of the name is refused.
func loopbackIP(ctx context.Context, host string) (string, error) {
	if host == "" {
		return "", ErrRemoteTCP // "tcp::705" means every local address
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return "", ErrRemoteTCP
		}
		return ip.String(), nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", host, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("resolve %q: no address", host)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return "", ErrRemoteTCP
		}
	}
	return ips[0].IP.String(), nil
}
