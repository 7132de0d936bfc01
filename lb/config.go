package lb

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Config is the whole load balancer configuration: what survives
// restarts. Methods change it in place and check what they can see
// locally; Validate checks the result as a whole. Callers normally go
// through Engine.Update, which works on a copy and keeps it only if
// Validate and the data plane accept it.
type Config struct {
	Groups       []ServerGroup `json:",omitempty"` // by name
	HealthChecks []HealthCheck `json:",omitempty"` // by creation
	Rules        []Rule        `json:",omitempty"` // by creation
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	n := &Config{
		Groups:       slices.Clone(c.Groups),
		HealthChecks: slices.Clone(c.HealthChecks),
		Rules:        slices.Clone(c.Rules),
	}
	for i := range n.Groups {
		n.Groups[i].Servers = slices.Clone(n.Groups[i].Servers)
	}
	return n
}

// Group returns the group named exactly name.
func (c *Config) Group(name string) *ServerGroup {
	for i := range c.Groups {
		if c.Groups[i].Name == name {
			return &c.Groups[i]
		}
	}
	return nil
}

// Rule returns the rule whose name equals name without regard to case.
func (c *Config) Rule(name string) *Rule {
	for i := range c.Rules {
		if strings.EqualFold(c.Rules[i].Name, name) {
			return &c.Rules[i]
		}
	}
	return nil
}

// HealthCheck returns the check whose name equals name without regard to
// case.
func (c *Config) HealthCheck(name string) *HealthCheck {
	for i := range c.HealthChecks {
		if strings.EqualFold(c.HealthChecks[i].Name, name) {
			return &c.HealthChecks[i]
		}
	}
	return nil
}

// Server finds a server by its ID; the ID names the group.
func (c *Config) Server(id string) (*ServerGroup, *Server) {
	group, _, ok := ParseServerID(id)
	if !ok {
		return nil, nil
	}
	g := c.Group(group)
	if g == nil {
		return nil, nil
	}
	for i := range g.Servers {
		if g.Servers[i].ID == id {
			return g, &g.Servers[i]
		}
	}
	return g, nil
}

// ServerID forms the ID of server number n of group.
func ServerID(group string, n int) string { return "_" + group + "." + strconv.Itoa(n) }

// ParseServerID splits "_GROUP.N"; N is 0..999 without leading zeros.
func ParseServerID(id string) (group string, n int, ok bool) {
	dot := strings.LastIndexByte(id, '.')
	if len(id) < 4 || id[0] != '_' || dot < 2 {
		return "", 0, false
	}
	num := id[dot+1:]
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n >= MaxServersInGroup || strconv.Itoa(n) != num {
		return "", 0, false
	}
	return id[1:dot], n, true
}

// serverNum is N of a valid server ID (-1 otherwise).
func serverNum(id string) int {
	if _, n, ok := ParseServerID(id); ok {
		return n
	}
	return -1
}

// CreateGroup adds an empty server group (ilbadm create-servergroup).
func (c *Config) CreateGroup(name string) error {
	obj := "server group " + name
	if err := checkName(obj, name, MaxGroupNameLen); err != nil {
		return err
	}
	if c.Group(name) != nil {
		return errf(ErrExists, obj, "", "exists")
	}
	c.Groups = append(c.Groups, ServerGroup{Name: name})
	slices.SortFunc(c.Groups, func(a, b ServerGroup) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// DeleteGroup removes a group and its servers (ilbadm
// delete-servergroup); refused while a rule uses the group.
func (c *Config) DeleteGroup(name string) error {
	obj := "server group " + name
	if c.Group(name) == nil {
		return errf(ErrNotFound, obj, "", "no such server group")
	}
	for _, r := range c.Rules {
		if r.ServerGroup == name {
			return errf(ErrInUse, obj, "", "used by rule %s", r.Name)
		}
	}
	c.Groups = slices.DeleteFunc(c.Groups, func(g ServerGroup) bool { return g.Name == name })
	return nil
}

// AddServer adds s to group and returns its ID. An empty s.ID gets the
// lowest free number; a given ID must have the group's form and be free
// (an SNMP manager creates the row under the ID it read from
// NextServerID).
func (c *Config) AddServer(group string, s Server) (string, error) {
	g := c.Group(group)
	if g == nil {
		return "", errf(ErrNotFound, "server group "+group, "", "no such server group")
	}
	if s.ID == "" {
		n := g.nextFree()
		if n < 0 {
			return "", errf(ErrNoResources, "server group "+group, "", "holds %d servers already", MaxServersInGroup)
		}
		s.ID = ServerID(group, n)
	} else {
		gname, _, ok := ParseServerID(s.ID)
		if !ok || gname != group {
			return "", errf(ErrWrongValue, "server "+s.ID, "id", "not of the form _%s.N with N 0..%d", group, MaxServersInGroup-1)
		}
		if slices.ContainsFunc(g.Servers, func(o Server) bool { return o.ID == s.ID }) {
			return "", errf(ErrExists, "server "+s.ID, "", "exists")
		}
	}
	n := serverNum(s.ID)
	at, _ := slices.BinarySearchFunc(g.Servers, n, func(o Server, n int) int { return serverNum(o.ID) - n })
	g.Servers = slices.Insert(g.Servers, at, s)
	return s.ID, nil
}

// nextFree is the lowest unused server number, -1 when the group is full.
func (g *ServerGroup) nextFree() int {
	if k := len(g.Servers); k > 0 && serverNum(g.Servers[k-1].ID) == k-1 {
		// Numbers 0..k-1 all in use (the servers are kept in order).
		if k == MaxServersInGroup {
			return -1
		}
		return k
	}
	used := make([]bool, MaxServersInGroup)
	for _, s := range g.Servers {
		if n := serverNum(s.ID); n >= 0 {
			used[n] = true
		}
	}
	return slices.Index(used, false)
}

// NextServerID is the ID AddServer would assign ("" when full).
func (g *ServerGroup) NextServerID() string {
	if n := g.nextFree(); n >= 0 {
		return ServerID(g.Name, n)
	}
	return ""
}

// RemoveServer removes a server from its group (ilbadm remove-server).
func (c *Config) RemoveServer(id string) error {
	g, s := c.Server(id)
	if s == nil {
		return errf(ErrNotFound, "server "+id, "", "no such server")
	}
	g.Servers = slices.DeleteFunc(g.Servers, func(o Server) bool { return o.ID == id })
	return nil
}

// SetServerEnabled is ilbadm enable-server / disable-server.
func (c *Config) SetServerEnabled(id string, on bool) error {
	_, s := c.Server(id)
	if s == nil {
		return errf(ErrNotFound, "server "+id, "", "no such server")
	}
	s.Enabled = on
	return nil
}

// CreateHealthCheck adds hc (ilbadm create-healthcheck).
func (c *Config) CreateHealthCheck(hc HealthCheck) error {
	obj := "health check " + hc.Name
	if err := checkName(obj, hc.Name, MaxHCNameLen); err != nil {
		return err
	}
	if c.HealthCheck(hc.Name) != nil {
		return errf(ErrExists, obj, "", "exists")
	}
	c.HealthChecks = append(c.HealthChecks, hc)
	return nil
}

// DeleteHealthCheck removes a check; refused while a rule uses it.
func (c *Config) DeleteHealthCheck(name string) error {
	obj := "health check " + name
	if c.HealthCheck(name) == nil {
		return errf(ErrNotFound, obj, "", "no such health check")
	}
	for _, r := range c.Rules {
		if strings.EqualFold(r.HCName, name) {
			return errf(ErrInUse, obj, "", "used by rule %s", r.Name)
		}
	}
	c.HealthChecks = slices.DeleteFunc(c.HealthChecks, func(h HealthCheck) bool { return strings.EqualFold(h.Name, name) })
	return nil
}

// CreateRule adds r (ilbadm create-rule).
func (c *Config) CreateRule(r Rule) error {
	obj := "rule " + r.Name
	if err := checkName(obj, r.Name, MaxRuleNameLen); err != nil {
		return err
	}
	if c.Rule(r.Name) != nil {
		return errf(ErrExists, obj, "", "exists")
	}
	c.Rules = append(c.Rules, r)
	return nil
}

// DeleteRule removes a rule (ilbadm delete-rule).
func (c *Config) DeleteRule(name string) error {
	if c.Rule(name) == nil {
		return errf(ErrNotFound, "rule "+name, "", "no such rule")
	}
	c.Rules = slices.DeleteFunc(c.Rules, func(r Rule) bool { return strings.EqualFold(r.Name, name) })
	return nil
}

// SetRuleEnabled is ilbadm enable-rule / disable-rule.
func (c *Config) SetRuleEnabled(name string, on bool) error {
	r := c.Rule(name)
	if r == nil {
		return errf(ErrNotFound, "rule "+name, "", "no such rule")
	}
	r.Enabled = on
	return nil
}

// checkName: 1..max characters from letters, digits, '-', '_' and '.',
// so that names survive the ilbadm command line, nft object names and
// SNMP indexes unchanged.
func checkName(obj, name string, max int) error {
	if name == "" {
		return errf(ErrWrongValue, obj, "name", "empty")
	}
	if len(name) > max {
		return errf(ErrWrongValue, obj, "name", "longer than %d characters", max)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return errf(ErrWrongValue, obj, "name", "character %q not allowed", r)
		}
	}
	return nil
}

// Validate checks the configuration as a whole; the first problem found
// is returned.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	for i := range c.Groups {
		g := &c.Groups[i]
		if err := validateGroup(g); err != nil {
			return err
		}
		if seen[g.Name] {
			return errf(ErrExists, "server group "+g.Name, "", "defined twice")
		}
		seen[g.Name] = true
	}
	seen = map[string]bool{}
	for i := range c.HealthChecks {
		h := &c.HealthChecks[i]
		if err := validateHC(h); err != nil {
			return err
		}
		k := strings.ToLower(h.Name)
		if seen[k] {
			return errf(ErrExists, "health check "+h.Name, "", "defined twice")
		}
		seen[k] = true
	}
	seen = map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		if err := c.validateRule(r); err != nil {
			return err
		}
		k := strings.ToLower(r.Name)
		if seen[k] {
			return errf(ErrExists, "rule "+r.Name, "", "defined twice")
		}
		seen[k] = true
		for _, o := range c.Rules[:i] {
			if overlaps(r, &o) {
				return errf(ErrInconsistent, "rule "+r.Name, "", "overlaps rule %s (same VIP, protocol and ports)", o.Name)
			}
		}
	}
	return nil
}

func validateGroup(g *ServerGroup) error {
	obj := "server group " + g.Name
	if err := checkName(obj, g.Name, MaxGroupNameLen); err != nil {
		return err
	}
	if len(g.Servers) > MaxServersInGroup {
		return errf(ErrNoResources, obj, "", "more than %d servers", MaxServersInGroup)
	}
	ids := map[string]bool{}
	addrs := map[netip.Addr]string{}
	for _, s := range g.Servers {
		sobj := "server " + s.ID
		if grp, _, ok := ParseServerID(s.ID); !ok || grp != g.Name {
			return errf(ErrWrongValue, sobj, "id", "not of the form _%s.N with N 0..%d", g.Name, MaxServersInGroup-1)
		}
		if ids[s.ID] {
			return errf(ErrExists, sobj, "", "defined twice")
		}
		ids[s.ID] = true
		if !s.Addr.IsValid() || s.Addr.IsUnspecified() || s.Addr.IsMulticast() || s.Addr.Zone() != "" {
			return errf(ErrWrongValue, sobj, "address", "%v is not a unicast address", s.Addr)
		}
		a := s.Addr.Unmap()
		if other, ok := addrs[a]; ok {
			return errf(ErrExists, sobj, "address", "%v already belongs to %s", a, other)
		}
		addrs[a] = s.ID
		if err := checkPorts(sobj, s.Ports); err != nil {
			return err
		}
	}
	return nil
}

func checkPorts(obj string, p PortRange) error {
	if p.Min == 0 && p.Max != 0 {
		return errf(ErrWrongValue, obj, "port", "range end %d without a start", p.Max)
	}
	if p.Max != 0 && p.Max < p.Min {
		return errf(ErrWrongValue, obj, "port", "range %d-%d ends before it starts", p.Min, p.Max)
	}
	return nil
}

func validateHC(h *HealthCheck) error {
	obj := "health check " + h.Name
	if err := checkName(obj, h.Name, MaxHCNameLen); err != nil {
		return err
	}
	if _, ok := hcTestNames[h.Test]; !ok {
		return errf(ErrWrongValue, obj, "hc-test", "unknown test %d", h.Test)
	}
	if h.Timeout == 0 || h.Count == 0 || h.Interval == 0 || h.Timeout > 65535 || h.Count > 65535 || h.Interval > 65535 {
		return errf(ErrWrongValue, obj, "", "hc-timeout, hc-count and hc-interval must be 1..65535")
	}
	switch {
	case h.Test == HCExternal && !strings.HasPrefix(h.ExternalMethod, "/"):
		return errf(ErrInconsistent, obj, "hc-test", "an external test needs an absolute program path")
	case h.Test != HCExternal && h.ExternalMethod != "":
		return errf(ErrInconsistent, obj, "hc-test", "a program path is for external tests only")
	case !h.DefaultPing && (h.Test == HCPing || h.Test == HCUDP):
		return errf(ErrInconsistent, obj, "default-ping", "the %s test cannot skip the ping", h.Test)
	}
	return nil
}

func (c *Config) validateRule(r *Rule) error {
	obj := "rule " + r.Name
	if err := checkName(obj, r.Name, MaxRuleNameLen); err != nil {
		return err
	}
	if !r.VIP.IsValid() || r.VIP.IsUnspecified() || r.VIP.IsMulticast() || r.VIP.Zone() != "" || r.VIP.Is4In6() {
		return errf(ErrWrongValue, obj, "vip", "%v is not a unicast address", r.VIP)
	}
	if _, ok := protocolNames[r.Protocol]; !ok {
		return errf(ErrWrongValue, obj, "protocol", "unknown protocol %d", r.Protocol)
	}
	if err := checkPorts(obj, r.Ports); err != nil {
		return err
	}
	if _, ok := algorithmNames[r.Algorithm]; !ok {
		return errf(ErrWrongValue, obj, "lbalg", "unknown algorithm %d", r.Algorithm)
	}
	if _, ok := topologyNames[r.Topology]; !ok {
		return errf(ErrWrongValue, obj, "type", "topology missing or unknown")
	}
	if err := validateProxySrc(obj, r); err != nil {
		return err
	}
	if r.PersistMask != 0 && !r.Persist {
		return errf(ErrInconsistent, obj, "pmask", "a persistence mask needs persistence (-p)")
	}
	if r.PersistMask < 0 || r.PersistMask > r.VIP.BitLen() {
		return errf(ErrWrongValue, obj, "pmask", "/%d is not a prefix length of %v", r.PersistMask, r.VIP)
	}
	if r.HCName != "" {
		hc := c.HealthCheck(r.HCName)
		if hc == nil {
			return errf(ErrNotFound, obj, "hc-name", "no health check %s", r.HCName)
		}
		// ilbd refuses a TCP test for a UDP rule and the reverse.
		if hc.Test == HCTCP && r.Protocol != TCP || hc.Test == HCUDP && r.Protocol != UDP {
			return errf(ErrInconsistent, obj, "hc-name", "health check %s tests %s, the rule balances %s", hc.Name, hc.Test, r.Protocol)
		}
	}
	switch r.HCPortMode {
	case 0, HCPortAny, HCPortAll:
		if r.HCPort != 0 {
			return errf(ErrInconsistent, obj, "hc-port", "a port number needs the fixed mode")
		}
		if r.HCPortMode == HCPortAll && r.Ports.Width() > MaxHCAllPorts {
			return errf(ErrInconsistent, obj, "hc-port", "ALL probes every port: the rule's range %s is wider than %d", r.Ports, MaxHCAllPorts)
		}
	case HCPortFixed:
		if r.HCPort == 0 {
			return errf(ErrInconsistent, obj, "hc-port", "the fixed mode needs a port number")
		}
	default:
		return errf(ErrWrongValue, obj, "hc-port", "unknown mode %d", r.HCPortMode)
	}
	if r.ServerGroup == "" {
		return errf(ErrInconsistent, obj, "servergroup", "missing")
	}
	g := c.Group(r.ServerGroup)
	if g == nil {
		return errf(ErrNotFound, obj, "servergroup", "no server group %s", r.ServerGroup)
	}
	for _, s := range g.Servers {
		if s.Addr.Unmap().Is4() != r.VIP.Is4() {
			return errf(ErrInconsistent, obj, "servergroup", "server %s (%v) is not of the VIP's address family", s.ID, s.Addr)
		}
		if err := serverPortsFit(r, &s); err != nil {
			return errf(ErrInconsistent, obj, "servergroup", "server %s: %v", s.ID, err)
		}
	}
	return nil
}

// serverPortsFit: a server's port is none, one port, or a range as wide
// as the rule's starting at the same port (the kernel NAT cannot shift a
// range by an offset); DSR never translates.
func serverPortsFit(r *Rule, s *Server) error {
	if s.Ports.Min == 0 {
		return nil
	}
	rlo, rhi := r.Ports.Bounds()
	slo, shi := s.Ports.Bounds()
	if r.Topology == DSR {
		if slo != rlo || shi != rhi {
			return fmt.Errorf("port %s differs from the rule's %s and DSR does not translate ports", s.Ports, r.Ports)
		}
		return nil
	}
	if slo == shi {
		return nil
	}
	if slo != rlo || shi != rhi {
		return fmt.Errorf("port range %s must be the rule's range %s", s.Ports, r.Ports)
	}
	return nil
}

func validateProxySrc(obj string, r *Rule) error {
	p := r.ProxySrc
	if r.Topology != NAT {
		if p.IsSet() || p.Last.IsValid() {
			return errf(ErrInconsistent, obj, "proxy-src", "only NAT rules take a proxy source")
		}
		return nil
	}
	if !p.IsSet() {
		return errf(ErrInconsistent, obj, "proxy-src", "a NAT rule needs a proxy source")
	}
	last := p.End()
	for _, a := range []netip.Addr{p.First, last} {
		if a.Is4() != r.VIP.Is4() || a.Is4In6() || a.IsUnspecified() || a.IsMulticast() {
			return errf(ErrInconsistent, obj, "proxy-src", "%v is not a unicast address of the VIP's family", a)
		}
	}
	if last.Less(p.First) {
		return errf(ErrWrongValue, obj, "proxy-src", "range %v-%v ends before it starts", p.First, last)
	}
	n := 1
	for a := p.First; a != last; a = a.Next() {
		if n++; n > MaxProxySrc {
			return errf(ErrInconsistent, obj, "proxy-src", "more than %d addresses", MaxProxySrc)
		}
	}
	return nil
}

// overlaps: same VIP and protocol with port ranges in common.
func overlaps(a, b *Rule) bool {
	if a.VIP != b.VIP || a.Protocol != b.Protocol {
		return false
	}
	alo, ahi := a.Ports.Bounds()
	blo, bhi := b.Ports.Bounds()
	return alo <= bhi && blo <= ahi
}
