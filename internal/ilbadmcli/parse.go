package ilbadmcli

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"tapagent/lb"
)

// Verbs: canonical subcommand names and their short forms.
var verbAliases = map[string]string{
	"create-rule": "create-rule", "create-rl": "create-rule",
	"delete-rule": "delete-rule", "delete-rl": "delete-rule",
	"enable-rule": "enable-rule", "enable-rl": "enable-rule",
	"disable-rule": "disable-rule", "disable-rl": "disable-rule",
	"show-rule": "show-rule", "show-rl": "show-rule",
	"show-statistics": "show-statistics", "show-stats": "show-statistics",
	"create-servergroup": "create-servergroup", "create-sg": "create-servergroup",
	"delete-servergroup": "delete-servergroup", "delete-sg": "delete-servergroup",
	"show-servergroup": "show-servergroup", "show-sg": "show-servergroup",
	"enable-server": "enable-server", "enable-srv": "enable-server",
	"disable-server": "disable-server", "disable-srv": "disable-server",
	"show-server": "show-server", "show-srv": "show-server",
	"add-server": "add-server", "add-srv": "add-server",
	"remove-server": "remove-server", "remove-srv": "remove-server",
	"create-healthcheck": "create-healthcheck", "create-hc": "create-healthcheck",
	"delete-healthcheck": "delete-healthcheck", "delete-hc": "delete-healthcheck",
	"show-healthcheck": "show-healthcheck", "show-hc": "show-healthcheck",
	"show-hc-result": "show-hc-result", "show-hc-res": "show-hc-result",
	"show-nat": "show-nat", "show-persist": "show-persist", "show-pt": "show-persist",
	"export-config": "export-config", "export-cf": "export-config",
	"import-config": "import-config", "import-cf": "import-config",
}

// optSpec lists a subcommand's options: a letter followed by ':' takes an
// argument.
var optSpecs = map[string]string{
	"create-rule":        "epi:m:h:t:o:",
	"delete-rule":        "a",
	"enable-rule":        "",
	"disable-rule":       "",
	"show-rule":          "edfpo:",
	"show-statistics":    "po:tdAvir:s:",
	"create-servergroup": "s:",
	"delete-servergroup": "",
	"show-servergroup":   "sfpo:v",
	"enable-server":      "",
	"disable-server":     "",
	"show-server":        "po:",
	"add-server":         "es:",
	"remove-server":      "s:",
	"create-healthcheck": "nh:",
	"delete-healthcheck": "",
	"show-healthcheck":   "",
	"show-hc-result":     "",
	"show-nat":           "",
	"show-persist":       "",
	"export-config":      "",
	"import-config":      "p",
}

// ServerSpec is one value of -s server=...: an address with an optional
// port or port range, or (remove-server) a server ID.
type ServerSpec struct {
	Text  string
	Addr  netip.Addr
	Ports lb.PortRange
	ID    string // _GROUP.N given instead of an address
}

// StatsOptions are the options of show-statistics.
type StatsOptions struct {
	Timestamp, Delta, Absolute, Verbose, Itemize bool
	Rule, Server                                 string
	Interval, Count                              int // 0: one sample; Count 0: forever
}

// Command is a checked ilbadm command line.
type Command struct {
	Verb       string
	Names      []string // operands: rules, groups, checks or servers
	All        bool     // delete-rule -a
	Servers    []ServerSpec
	Rule       lb.Rule
	HC         lb.HealthCheck
	Fields     []string // -o, upper case
	Parseable  bool     // -p
	Full       bool     // -f (show-rule, show-servergroup)
	Enabled    bool     // show-rule -e
	Disabled   bool     // show-rule -d
	Stats      StatsOptions
	Count      int    // show-nat, show-persist: 0 all
	File       string // export-config, import-config; "" stdio
	Preserve   bool   // import-config -p
	setOptions map[byte]string
}

// options parses getopt-style short options (clusters like -itA, an
// argument attached or in the next word) up to the first operand.
func options(verb string, args []string) (map[byte]string, []string, error) {
	spec := optSpecs[verb]
	got := map[byte]string{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' || isNumber(a) {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(spec, c)
			if k < 0 || c == ':' {
				return nil, nil, fmt.Errorf("%s: unknown option -%c", verb, c)
			}
			if k+1 < len(spec) && spec[k+1] == ':' {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("%s: option -%c needs a value", verb, c)
					}
					i++
					v = args[i]
				}
				if _, dup := got[c]; dup && c != 's' {
					return nil, nil, fmt.Errorf("%s: option -%c given twice", verb, c)
				}
				if prev, dup := got[c]; dup {
					v = prev + "," + v
				}
				got[c] = v
				break
			}
			got[c] = ""
		}
	}
	return got, args[i:], nil
}

func isNumber(s string) bool { _, err := strconv.Atoi(s); return err == nil }

// Parse checks a subcommand and its arguments (without global options).
func Parse(args []string) (*Command, error) {
	if len(args) == 0 {
		return nil, errors.New("missing subcommand (see ilbadm -h)")
	}
	verb, ok := verbAliases[strings.ToLower(args[0])]
	if !ok {
		return nil, fmt.Errorf("unknown subcommand %q (see ilbadm -h)", args[0])
	}
	opts, operands, err := options(verb, args[1:])
	if err != nil {
		return nil, err
	}
	c := &Command{Verb: verb, Names: operands, setOptions: opts}
	if o, ok := opts['o']; ok && verb != "create-rule" {
		for _, f := range strings.Split(o, ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.Fields = append(c.Fields, strings.ToUpper(f))
			}
		}
	}
	_, c.Parseable = opts['p']
	if c.Parseable && verb != "create-rule" && verb != "import-config" && len(c.Fields) == 0 {
		return nil, fmt.Errorf("%s: -p needs -o field[,field...]", verb)
	}
	switch verb {
	case "create-rule":
		return c, c.parseCreateRule(opts, operands)
	case "delete-rule":
		_, c.All = opts['a']
		if !c.All && len(operands) == 0 {
			return nil, errors.New("delete-rule: give rule names or -a")
		}
		return c, checkNames("rule", operands, lb.MaxRuleNameLen)
	case "enable-rule", "disable-rule", "show-hc-result":
		if verb == "show-hc-result" && len(operands) > 1 {
			return nil, errors.New("show-hc-result: at most one rule name")
		}
		return c, checkNames("rule", operands, lb.MaxRuleNameLen)
	case "show-rule":
		_, c.Enabled = opts['e']
		_, c.Disabled = opts['d']
		_, c.Full = opts['f']
		if c.Enabled && c.Disabled {
			return nil, errors.New("show-rule: -e and -d exclude each other")
		}
		if c.Full && len(c.Fields) > 0 {
			return nil, errors.New("show-rule: -f and -o exclude each other")
		}
		if err := checkFields(verb, c.Fields, ruleFields); err != nil {
			return nil, err
		}
		return c, checkNames("rule", operands, lb.MaxRuleNameLen)
	case "show-statistics":
		return c, c.parseStats(opts, operands)
	case "create-servergroup", "add-server", "remove-server":
		if len(operands) != 1 {
			return nil, fmt.Errorf("%s: give exactly one server group name", verb)
		}
		if err := checkNames("server group", operands, lb.MaxGroupNameLen); err != nil {
			return nil, err
		}
		s, has := opts['s']
		if !has && verb != "create-servergroup" {
			return nil, fmt.Errorf("%s: -s server=... is required", verb)
		}
		if has {
			specs, err := parseServers(s, verb == "remove-server")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", verb, err)
			}
			c.Servers = specs
		}
		return c, nil
	case "delete-servergroup":
		if len(operands) != 1 {
			return nil, errors.New("delete-servergroup: give exactly one server group name")
		}
		return c, checkNames("server group", operands, lb.MaxGroupNameLen)
	case "show-servergroup":
		_, c.Full = opts['f']
		if len(operands) > 1 {
			return nil, errors.New("show-servergroup: at most one server group name")
		}
		if err := checkFields(verb, c.Fields, groupFields); err != nil {
			return nil, err
		}
		return c, checkNames("server group", operands, lb.MaxGroupNameLen)
	case "enable-server", "disable-server":
		if len(operands) == 0 {
			return nil, fmt.Errorf("%s: give one or more servers (ID, host name or address)", verb)
		}
		return c, nil
	case "show-server":
		if err := checkFields(verb, c.Fields, serverFields); err != nil {
			return nil, err
		}
		return c, checkNames("rule", operands, lb.MaxRuleNameLen)
	case "create-healthcheck":
		return c, c.parseHealthCheck(opts, operands)
	case "delete-healthcheck", "show-healthcheck":
		if verb == "delete-healthcheck" && len(operands) == 0 {
			return nil, errors.New("delete-healthcheck: give health check names")
		}
		return c, checkNames("health check", operands, lb.MaxHCNameLen)
	case "show-nat", "show-persist":
		if len(operands) > 1 {
			return nil, fmt.Errorf("%s: at most one count", verb)
		}
		if len(operands) == 1 {
			n, err := strconv.Atoi(operands[0])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s: count %q is not a positive number", verb, operands[0])
			}
			c.Count = n
		}
		return c, nil
	case "export-config", "import-config":
		_, c.Preserve = opts['p']
		if len(operands) > 1 {
			return nil, fmt.Errorf("%s: at most one file name", verb)
		}
		if len(operands) == 1 {
			c.File = operands[0]
		}
		return c, nil
	}
	return c, nil
}

func checkNames(what string, names []string, max int) error {
	for _, n := range names {
		if n == "" {
			return fmt.Errorf("empty %s name", what)
		}
		if len(n) > max {
			return fmt.Errorf("%s name %q is too long (at most %d characters)", what, n, max)
		}
	}
	return nil
}

func checkFields(verb string, fields []string, known []string) error {
	for _, f := range fields {
		if f == "ALL" {
			continue
		}
		ok := false
		for _, k := range known {
			ok = ok || k == f
		}
		if !ok {
			return fmt.Errorf("%s: unknown field %q (fields: %s)", verb, strings.ToLower(f), strings.ToLower(strings.Join(known, ",")))
		}
	}
	return nil
}

// keyValues splits "k=v,k=v" with case-insensitive keys, checking them
// against allowed (aliases map to the canonical key).
func keyValues(opt byte, s string, allowed map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		key, known := allowed[strings.ToLower(strings.TrimSpace(k))]
		if !ok || !known {
			return nil, fmt.Errorf("-%c: %q is not key=value with a key of %s", opt, kv, keyNames(allowed))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("-%c: %s given twice", opt, key)
		}
		out[key] = strings.TrimSpace(v)
	}
	return out, nil
}

// splitList splits at commas outside brackets ([v6]:port lists).
func splitList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

func keyNames(m map[string]string) string {
	seen := map[string]bool{}
	var out []string
	for _, v := range m {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}

var (
	incomingKeys = map[string]string{"vip": "vip", "port": "port", "protocol": "protocol"}
	methodKeys   = map[string]string{"lbalg": "lbalg", "type": "type", "proxy-src": "proxy-src", "pmask": "pmask", "stickiness": "pmask"}
	hcKeys       = map[string]string{"hc-name": "hc-name", "hc-port": "hc-port"}
	timerKeys    = map[string]string{"conn-drain": "conn-drain", "nat-timeout": "nat-timeout", "persist-timeout": "persist-timeout"}
	outKeys      = map[string]string{"servergroup": "servergroup"}
	hcTestKeys   = map[string]string{"hc-test": "hc-test", "hc-timeout": "hc-timeout", "hc-count": "hc-count", "hc-interval": "hc-interval"}
)

var algAliases = map[string]lb.Algorithm{
	"roundrobin": lb.RoundRobin, "rr": lb.RoundRobin, "hash-ip": lb.HashIP, "hip": lb.HashIP,
	"hash-ip-port": lb.HashIPPort, "hipp": lb.HashIPPort, "hash-ip-vip": lb.HashIPVIP, "hipv": lb.HashIPVIP,
	"maglev": lb.Maglev,
}

var topoAliases = map[string]lb.Topology{
	"dsr": lb.DSR, "d": lb.DSR, "nat": lb.NAT, "n": lb.NAT, "half-nat": lb.HalfNAT, "h": lb.HalfNAT, "half_nat": lb.HalfNAT,
}

func (c *Command) parseCreateRule(opts map[byte]string, operands []string) error {
	if len(operands) != 1 {
		return errors.New("create-rule: give exactly one rule name")
	}
	if err := checkNames("rule", operands, lb.MaxRuleNameLen); err != nil {
		return err
	}
	r := lb.NewRule(operands[0])
	_, r.Enabled = opts['e']
	_, r.Persist = opts['p']
	for _, need := range []byte{'i', 'm', 'o'} {
		if _, ok := opts[need]; !ok {
			return fmt.Errorf("create-rule: -%c is required", need)
		}
	}
	in, err := keyValues('i', opts['i'], incomingKeys)
	if err != nil {
		return fmt.Errorf("create-rule: %w", err)
	}
	if in["vip"] == "" {
		return errors.New("create-rule: -i vip=... is required")
	}
	if r.VIP, err = parseAddr(in["vip"]); err != nil {
		return fmt.Errorf("create-rule: vip: %w", err)
	}
	if p := in["protocol"]; p != "" {
		if r.Protocol, err = lb.ParseProtocol(p); err != nil {
			return fmt.Errorf("create-rule: protocol %q is not TCP or UDP", p)
		}
	}
	if p := in["port"]; p != "" {
		if r.Ports, err = parsePorts(p, r.Protocol); err != nil {
			return fmt.Errorf("create-rule: port: %w", err)
		}
	}
	m, err := keyValues('m', opts['m'], methodKeys)
	if err != nil {
		return fmt.Errorf("create-rule: %w", err)
	}
	if a := m["lbalg"]; a != "" {
		alg, ok := algAliases[strings.ToLower(a)]
		if !ok {
			return fmt.Errorf("create-rule: lbalg %q is not roundrobin, hash-ip, hash-ip-port, hash-ip-vip or maglev", a)
		}
		r.Algorithm = alg
	}
	topo, ok := topoAliases[strings.ToLower(m["type"])]
	if !ok {
		return fmt.Errorf("create-rule: type %q is not DSR, NAT or HALF-NAT", m["type"])
	}
	r.Topology = topo
	if p := m["proxy-src"]; p != "" {
		if r.ProxySrc, err = parseAddrRange(p); err != nil {
			return fmt.Errorf("create-rule: proxy-src: %w", err)
		}
	}
	if p := m["pmask"]; p != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(p, "/"))
		if err != nil || n < 0 || n > 128 {
			return fmt.Errorf("create-rule: pmask %q is not a prefix length", p)
		}
		r.PersistMask = n
		if !r.Persist {
			return errors.New("create-rule: pmask needs a persistent rule (-p)")
		}
	}
	if h, ok := opts['h']; ok {
		hv, err := keyValues('h', h, hcKeys)
		if err != nil {
			return fmt.Errorf("create-rule: %w", err)
		}
		r.HCName = hv["hc-name"]
		if err := checkNames("health check", []string{r.HCName}, lb.MaxHCNameLen); err != nil {
			return fmt.Errorf("create-rule: hc-name: %w", err)
		}
		switch p := strings.ToUpper(hv["hc-port"]); p {
		case "", "ANY":
		case "ALL":
			r.HCPortMode = lb.HCPortAll
		default:
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil || n == 0 {
				return fmt.Errorf("create-rule: hc-port %q is not ANY, ALL or a port", hv["hc-port"])
			}
			r.HCPortMode, r.HCPort = lb.HCPortFixed, uint16(n)
		}
	}
	if t, ok := opts['t']; ok {
		tv, err := keyValues('t', t, timerKeys)
		if err != nil {
			return fmt.Errorf("create-rule: %w", err)
		}
		for key, dst := range map[string]*uint32{"conn-drain": &r.ConnDrain, "nat-timeout": &r.NATTimeout, "persist-timeout": &r.PersistTimeout} {
			if v, ok := tv[key]; ok {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return fmt.Errorf("create-rule: %s %q is not a number of seconds", key, v)
				}
				*dst = uint32(n)
			}
		}
	}
	ov, err := keyValues('o', opts['o'], outKeys)
	if err != nil {
		return fmt.Errorf("create-rule: %w", err)
	}
	r.ServerGroup = ov["servergroup"]
	if r.ServerGroup == "" {
		return errors.New("create-rule: -o servergroup=... is required")
	}
	if err := checkNames("server group", []string{r.ServerGroup}, lb.MaxGroupNameLen); err != nil {
		return fmt.Errorf("create-rule: %w", err)
	}
	c.Rule = r
	return nil
}

func (c *Command) parseHealthCheck(opts map[byte]string, operands []string) error {
	if len(operands) != 1 {
		return errors.New("create-healthcheck: give exactly one health check name")
	}
	if err := checkNames("health check", operands, lb.MaxHCNameLen); err != nil {
		return err
	}
	h, ok := opts['h']
	if !ok {
		return errors.New("create-healthcheck: -h hc-test=... is required")
	}
	kv, err := keyValues('h', h, hcTestKeys)
	if err != nil {
		return fmt.Errorf("create-healthcheck: %w", err)
	}
	test := kv["hc-test"]
	if test == "" {
		return errors.New("create-healthcheck: hc-test is required")
	}
	var hc lb.HealthCheck
	if strings.HasPrefix(test, "/") {
		hc = lb.NewHealthCheck(operands[0], lb.HCExternal)
		hc.ExternalMethod = test
	} else {
		t, err := lb.ParseHCTest(test)
		if err != nil || t == lb.HCExternal {
			return fmt.Errorf("create-healthcheck: hc-test %q is not PING, TCP, UDP or an absolute program path", test)
		}
		hc = lb.NewHealthCheck(operands[0], t)
	}
	_, noPing := opts['n']
	hc.DefaultPing = !noPing
	for key, dst := range map[string]*uint32{"hc-timeout": &hc.Timeout, "hc-count": &hc.Count, "hc-interval": &hc.Interval} {
		if v, ok := kv[key]; ok {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return fmt.Errorf("create-healthcheck: %s %q is not a number from 1 to 65535", key, v)
			}
			*dst = uint32(n)
		}
	}
	c.HC = hc
	return nil
}

func (c *Command) parseStats(opts map[byte]string, operands []string) error {
	s := &c.Stats
	_, s.Timestamp = opts['t']
	_, s.Delta = opts['d']
	_, s.Absolute = opts['A']
	_, s.Verbose = opts['v']
	_, s.Itemize = opts['i']
	s.Rule, s.Server = opts['r'], opts['s']
	switch {
	case s.Delta && s.Absolute:
		return errors.New("show-statistics: -d and -A exclude each other")
	case s.Rule != "" && s.Server != "":
		return errors.New("show-statistics: -r and -s exclude each other")
	case s.Itemize && s.Rule == "" && s.Server == "":
		return errors.New("show-statistics: -i needs -r or -s")
	case s.Itemize && s.Verbose:
		return errors.New("show-statistics: -i and -v exclude each other")
	case len(operands) > 2:
		return errors.New("show-statistics: at most interval and count")
	}
	if err := checkFields(c.Verb, c.Fields, append(append([]string{}, statFieldsAll...), "TIME")); err != nil {
		return err
	}
	for i, dst := range []*int{&s.Interval, &s.Count} {
		if i < len(operands) {
			n, err := strconv.Atoi(operands[i])
			if err != nil || n < 1 {
				return fmt.Errorf("show-statistics: %q is not a positive number", operands[i])
			}
			*dst = n
		}
	}
	return nil
}

// parseServers reads the values of -s server=a,b,...; remove-server also
// takes server IDs.
func parseServers(s string, idsToo bool) ([]ServerSpec, error) {
	var out []ServerSpec
	for i, part := range splitList(s) {
		v := part
		if k, rest, ok := strings.Cut(part, "="); ok {
			if kk := strings.ToLower(k); kk != "server" && kk != "servers" {
				return nil, fmt.Errorf("-s: %q: the key is server", part)
			}
			v = rest
		} else if i == 0 {
			return nil, fmt.Errorf("-s: %q is not server=value", part)
		}
		if idsToo && strings.HasPrefix(v, "_") {
			if _, _, ok := lb.ParseServerID(v); !ok {
				return nil, fmt.Errorf("-s: %q is not a server ID", v)
			}
			out = append(out, ServerSpec{Text: v, ID: v})
			continue
		}
		spec, err := parseHostPort(v)
		if err != nil {
			return nil, fmt.Errorf("-s: %w", err)
		}
		out = append(out, spec)
	}
	if len(out) == 0 {
		return nil, errors.New("-s: no server given")
	}
	return out, nil
}

// parseHostPort reads hostspec[:portspec]; IPv6 addresses in brackets.
func parseHostPort(v string) (ServerSpec, error) {
	spec := ServerSpec{Text: v}
	host, port := v, ""
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return spec, fmt.Errorf("%q: missing ]", v)
		}
		host, port = v[1:end], strings.TrimPrefix(v[end+1:], ":")
		if v[end+1:] != "" && !strings.HasPrefix(v[end+1:], ":") {
			return spec, fmt.Errorf("%q: unexpected text after ]", v)
		}
	} else if strings.Count(v, ":") == 1 {
		host, port, _ = strings.Cut(v, ":")
	}
	a, err := parseAddr(host)
	if err != nil {
		return spec, err
	}
	spec.Addr = a
	if port != "" {
		if spec.Ports, err = parsePorts(port, lb.TCP); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// parseAddr takes an address literal or a host name (first address).
func parseAddr(s string) (netip.Addr, error) {
	s = strings.Trim(s, "[]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	if s == "" {
		return netip.Addr{}, errors.New("empty address")
	}
	ips, err := net.LookupIP(s)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("%q is not an address or a host name that resolves", s)
	}
	a, _ := netip.AddrFromSlice(ips[0])
	return a.Unmap(), nil
}

// parsePorts reads "80", "http", "5000-5009".
func parsePorts(s string, proto lb.Protocol) (lb.PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parsePort(lo, proto)
	if err != nil {
		return lb.PortRange{}, err
	}
	if !isRange {
		return lb.PortRange{Min: a}, nil
	}
	b, err := parsePort(hi, proto)
	if err != nil {
		return lb.PortRange{}, err
	}
	if b < a {
		return lb.PortRange{}, fmt.Errorf("port range %q ends before it starts", s)
	}
	return lb.PortRange{Min: a, Max: b}, nil
}

func parsePort(s string, proto lb.Protocol) (uint16, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		if n == 0 {
			return 0, errors.New("port 0 is not a port")
		}
		return uint16(n), nil
	}
	n, err := net.LookupPort(strings.ToLower(proto.String()), s)
	if err != nil && proto != lb.TCP {
		n, err = net.LookupPort("tcp", s) // most services name both
	}
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number or service name", s)
	}
	return uint16(n), nil
}

// parseAddrRange reads "a" or "a-b" (IPv6 possibly in brackets).
func parseAddrRange(s string) (lb.AddrRange, error) {
	first, last, isRange := strings.Cut(s, "-")
	a, err := netip.ParseAddr(strings.Trim(first, "[]"))
	if err != nil {
		return lb.AddrRange{}, fmt.Errorf("%q is not an address", first)
	}
	r := lb.AddrRange{First: a.Unmap()}
	if isRange {
		b, err := netip.ParseAddr(strings.Trim(last, "[]"))
		if err != nil {
			return lb.AddrRange{}, fmt.Errorf("%q is not an address", last)
		}
		r.Last = b.Unmap()
	}
	return r, nil
}
