package snmpcli

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Agent is where requests go.
type Agent struct {
	Transport string // udp, udp6, tcp or tcp6
	Host      string // name or address, without brackets
	Port      uint16
}

func (a Agent) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(int(a.Port))) }

// ParseAgent reads "host", "host:port", "[v6addr]", "[v6addr]:port" or a bare
// IPv6 address, optionally prefixed by a net-snmp transport ("udp:",
// "udp6:", "tcp:", "tcp6:").
func ParseAgent(s string, defaultPort uint16) (Agent, error) {
	a := Agent{Transport: "udp", Port: defaultPort}
	rest := s
	for _, tr := range []string{"udp6", "udp", "tcp6", "tcp"} {
		if after, ok := strings.CutPrefix(strings.ToLower(rest), tr+":"); ok {
			a.Transport, rest = tr, rest[len(rest)-len(after):]
			break
		}
	}
	port := ""
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return a, fmt.Errorf("agent %q: missing ]", s)
		}
		a.Host = rest[1:end]
		tail := rest[end+1:]
		if tail != "" {
			p, ok := strings.CutPrefix(tail, ":")
			if !ok {
				return a, fmt.Errorf("agent %q: unexpected %q after ]", s, tail)
			}
			port = p
			if port == "" {
				return a, fmt.Errorf("agent %q: empty port", s)
			}
		}
		if net.ParseIP(a.Host) == nil {
			return a, fmt.Errorf("agent %q: %q is not an IP address", s, a.Host)
		}
	case strings.Count(rest, ":") > 1: // a bare IPv6 address
		if net.ParseIP(rest) == nil {
			return a, fmt.Errorf("agent %q: not an IPv6 address (write [address]:port)", s)
		}
		a.Host = rest
	default:
		host, p, hasPort := strings.Cut(rest, ":")
		a.Host = host
		if hasPort {
			if p == "" {
				return a, fmt.Errorf("agent %q: empty port", s)
			}
			port = p
		}
	}
	if a.Host == "" {
		return a, fmt.Errorf("agent %q: empty host", s)
	}
	if strings.ContainsAny(a.Host, " \t/\\@") {
		return a, fmt.Errorf("agent %q: %q is not a host name", s, a.Host)
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return a, fmt.Errorf("agent %q: port %q is not a number from 1 to 65535", s, port)
		}
		a.Port = uint16(n)
	}
	return a, nil
}

// Security holds SNMPv3 USM settings.
type Security struct {
	Level     gosnmp.SnmpV3MsgFlags // NoAuthNoPriv, AuthNoPriv or AuthPriv
	AuthProto gosnmp.SnmpV3AuthProtocol
	AuthPass  string
	PrivProto gosnmp.SnmpV3PrivProtocol
	PrivPass  string
	Context   string
}

// Options are the settings before AGENT on the command line, merged with
// the snmp.conf defaults.
type Options struct {
	Version        gosnmp.SnmpVersion
	Timeout        time.Duration
	Retries        int
	Agent          Agent
	Principal      string // community (v1, v2c) or user name (v3)
	Security       Security
	MaxRepetitions uint32 // GETBULK size for walks (getmany)
}

// Built-in defaults when neither the command line nor snmp.conf says.
const (
	DefaultTimeout        = 5 * time.Second
	DefaultRetries        = 1
	DefaultPort           = 161
	DefaultMaxRepetitions = 25
	minPassphrase         = 8 // USM keys from shorter pass phrases are refused by net-snmp
)

func parseLevel(s string) (gosnmp.SnmpV3MsgFlags, error) {
	switch strings.ToLower(s) {
	case "noauthnopriv", "nanp":
		return gosnmp.NoAuthNoPriv, nil
	case "authnopriv", "anp":
		return gosnmp.AuthNoPriv, nil
	case "authpriv", "ap":
		return gosnmp.AuthPriv, nil
	}
	return 0, fmt.Errorf("security level %q is not noAuthNoPriv, authNoPriv or authPriv", s)
}

// normalizeProto folds "SHA-256", "sha256" and "Sha_256" together.
func normalizeProto(s string) string {
	return strings.NewReplacer("-", "", "_", "").Replace(strings.ToUpper(s))
}

func parseAuthProto(s string) (gosnmp.SnmpV3AuthProtocol, error) {
	switch normalizeProto(s) {
	case "MD5":
		return gosnmp.MD5, nil
	case "SHA", "SHA1":
		return gosnmp.SHA, nil
	case "SHA224":
		return gosnmp.SHA224, nil
	case "SHA256":
		return gosnmp.SHA256, nil
	case "SHA384":
		return gosnmp.SHA384, nil
	case "SHA512":
		return gosnmp.SHA512, nil
	}
	return 0, fmt.Errorf("authentication protocol %q is not MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512", s)
}

func parsePrivProto(s string) (gosnmp.SnmpV3PrivProtocol, error) {
	switch normalizeProto(s) {
	case "DES":
		return gosnmp.DES, nil
	case "AES", "AES128":
		return gosnmp.AES, nil
	case "AES192":
		return gosnmp.AES192, nil
	case "AES256":
		return gosnmp.AES256, nil
	case "AES192C":
		return gosnmp.AES192C, nil
	case "AES256C":
		return gosnmp.AES256C, nil
	}
	return 0, fmt.Errorf("privacy protocol %q is not DES, AES, AES-192, AES-256, AES-192C or AES-256C", s)
}

// flagSet is what the options before AGENT said, before defaults apply.
type flagSet struct {
	version             string
	timeout             time.Duration
	retries             int
	level               string
	authProto, authPass string
	privProto, privPass string
	context             string
	maxRep              int
	help                bool
}

// valueFlags take an argument; the bool is whether getmany-only.
var valueFlags = map[string]bool{
	"timeout": false, "retries": false, "level": false, "auth-proto": false, "auth-pass": false,
	"priv-proto": false, "priv-pass": false, "context": false, "max-repetitions": true,
}

// parseFlags consumes the options before AGENT and returns the rest.
func parseFlags(prog string, args []string, getmany bool) (flagSet, []string, error) {
	fs := flagSet{timeout: -1, retries: -1, maxRep: -1}
	i := 0
	for ; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			break
		}
		if arg == "--" {
			i++
			break
		}
		name := strings.TrimLeft(arg, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		switch name {
		case "v1", "v2c", "v2", "v3":
			if hasValue {
				return fs, nil, fmt.Errorf("option -%s takes no value", name)
			}
			fs.version = strings.TrimSuffix(name[1:], "c")
			continue
		case "h", "help":
			fs.help = true
			continue
		}
		getmanyOnly, known := valueFlags[name]
		if !known || (getmanyOnly && !getmany) {
			return fs, nil, fmt.Errorf("unknown option %s (see %s -help)", arg, prog)
		}
		if !hasValue {
			if i+1 >= len(args) {
				return fs, nil, fmt.Errorf("option -%s needs a value", name)
			}
			i++
			value = args[i]
		}
		if err := fs.set(name, value); err != nil {
			return fs, nil, err
		}
	}
	return fs, args[i:], nil
}

func (fs *flagSet) set(name, value string) error {
	switch name {
	case "timeout":
		s, err := strconv.ParseFloat(value, 64)
		if err != nil || s <= 0 || math.IsInf(s, 0) || s > 3600 {
			return fmt.Errorf("-timeout %q: want seconds, more than 0 and at most 3600", value)
		}
		fs.timeout = time.Duration(s * float64(time.Second))
	case "retries":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("-retries %q: want a count from 0 to 100", value)
		}
		fs.retries = n
	case "max-repetitions":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("-max-repetitions %q: want a count from 1 to 1000", value)
		}
		fs.maxRep = n
	case "level":
		if _, err := parseLevel(value); err != nil {
			return fmt.Errorf("-level: %w", err)
		}
		fs.level = value
	case "auth-proto":
		if _, err := parseAuthProto(value); err != nil {
			return fmt.Errorf("-auth-proto: %w", err)
		}
		fs.authProto = value
	case "priv-proto":
		if _, err := parsePrivProto(value); err != nil {
			return fmt.Errorf("-priv-proto: %w", err)
		}
		fs.privProto = value
	case "auth-pass":
		fs.authPass = value
	case "priv-pass":
		fs.privPass = value
	case "context":
		fs.context = value
	}
	return nil
}

// options merges the flags, snmp.conf defaults and built-in defaults, and
// checks that the v3 settings can work.
func (fs flagSet) options(d Defaults, agent, principal string) (Options, error) {
	var o Options
	version := fs.version
	if version == "" {
		version = strings.TrimSuffix(d.Version, "c")
	}
	switch version {
	case "1":
		o.Version = gosnmp.Version1
	case "2":
		o.Version = gosnmp.Version2c
	case "3", "":
		o.Version = gosnmp.Version3
	}
	o.Timeout = pick(fs.timeout, d.Timeout, DefaultTimeout)
	o.Retries = pick(fs.retries, d.Retries, DefaultRetries)
	o.MaxRepetitions = uint32(pick(fs.maxRep, -1, DefaultMaxRepetitions))
	port := uint16(DefaultPort)
	if d.Port > 0 {
		port = uint16(d.Port)
	}
	a, err := ParseAgent(agent, port)
	if err != nil {
		return o, err
	}
	o.Agent = a
	o.Principal = principal
	if principal == "" {
		if o.Version == gosnmp.Version3 {
			return o, fmt.Errorf("empty user name")
		}
		return o, fmt.Errorf("empty community")
	}
	if o.Version != gosnmp.Version3 {
		return o, nil
	}

	sec := &o.Security
	sec.Context = first(fs.context, d.Context)
	sec.AuthPass = first(fs.authPass, d.AuthPassphrase, d.Passphrase)
	sec.PrivPass = first(fs.privPass, d.PrivPassphrase, d.Passphrase)
	levelText := first(fs.level, d.SecurityLevel)
	switch {
	case levelText != "":
		sec.Level, _ = parseLevel(levelText) // validated when read
	case sec.AuthPass != "" && sec.PrivPass != "":
		sec.Level = gosnmp.AuthPriv
	case sec.AuthPass != "":
		sec.Level = gosnmp.AuthNoPriv
	default:
		sec.Level = gosnmp.NoAuthNoPriv
	}
	sec.AuthProto, sec.PrivProto = gosnmp.NoAuth, gosnmp.NoPriv
	if sec.Level == gosnmp.NoAuthNoPriv {
		sec.AuthPass, sec.PrivPass = "", ""
		return o, nil
	}
	sec.AuthProto, _ = parseAuthProto(first(fs.authProto, d.AuthType, "MD5"))
	if len(sec.AuthPass) < minPassphrase {
		return o, fmt.Errorf("security level %s needs an authentication pass phrase of at least %d characters (-auth-pass or defAuthPassphrase in snmp.conf)",
			levelName(sec.Level), minPassphrase)
	}
	if sec.Level == gosnmp.AuthNoPriv {
		sec.PrivPass = ""
		return o, nil
	}
	sec.PrivProto, _ = parsePrivProto(first(fs.privProto, d.PrivType, "DES"))
	if len(sec.PrivPass) < minPassphrase {
		return o, fmt.Errorf("security level authPriv needs a privacy pass phrase of at least %d characters (-priv-pass or defPrivPassphrase in snmp.conf)",
			minPassphrase)
	}
	return o, nil
}

func levelName(l gosnmp.SnmpV3MsgFlags) string {
	switch l {
	case gosnmp.AuthNoPriv:
		return "authNoPriv"
	case gosnmp.AuthPriv:
		return "authPriv"
	}
	return "noAuthNoPriv"
}

// pick returns the first setting that is not negative.
func pick[T int | time.Duration](flag, conf, builtin T) T {
	if flag >= 0 {
		return flag
	}
	if conf >= 0 {
		return conf
	}
	return builtin
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
