package ilbadmcli

import (
	"fmt"
	"net/netip"
	"strings"

	"tapagent/lb"
)

// apply makes the change of one command on cfg, with the load balancer's
// own rules, so that refusals read as the engine words them.
func apply(cfg *lb.Config, c *Command) error {
	switch c.Verb {
	case "create-servergroup":
		if err := cfg.CreateGroup(c.Names[0]); err != nil {
			return err
		}
		return addServers(cfg, c.Names[0], c.Servers)
	case "delete-servergroup":
		return cfg.DeleteGroup(c.Names[0])
	case "add-server":
		return addServers(cfg, c.Names[0], c.Servers)
	case "remove-server":
		g := cfg.Group(c.Names[0])
		if g == nil {
			return fmt.Errorf("server group %s: no such server group", c.Names[0])
		}
		for _, s := range c.Servers {
			id, err := serverIn(g, s)
			if err != nil {
				return err
			}
			if err := cfg.RemoveServer(id); err != nil {
				return err
			}
		}
		return nil
	case "enable-server", "disable-server":
		for _, name := range c.Names {
			id, err := findServer(cfg, name)
			if err != nil {
				return err
			}
			if err := cfg.SetServerEnabled(id, c.Verb == "enable-server"); err != nil {
				return err
			}
		}
		return nil
	case "create-healthcheck":
		return cfg.CreateHealthCheck(c.HC)
	case "delete-healthcheck":
		for _, n := range c.Names {
			if err := cfg.DeleteHealthCheck(n); err != nil {
				return err
			}
		}
		return nil
	case "create-rule":
		return cfg.CreateRule(c.Rule)
	case "delete-rule":
		names := c.Names
		if c.All {
			names = ruleNames(cfg)
		}
		for _, n := range names {
			if err := cfg.DeleteRule(n); err != nil {
				return err
			}
		}
		return nil
	case "enable-rule", "disable-rule":
		names := c.Names
		if len(names) == 0 {
			names = ruleNames(cfg)
		}
		for _, n := range names {
			if err := cfg.SetRuleEnabled(n, c.Verb == "enable-rule"); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s changes nothing", c.Verb)
}

func ruleNames(cfg *lb.Config) []string {
	var out []string
	for _, r := range cfg.Rules {
		out = append(out, r.Name)
	}
	return out
}

// addServers adds the servers in order, each with the lowest free ID;
// the servers of a group used by rules start enabled (as ilbadm's).
func addServers(cfg *lb.Config, group string, specs []ServerSpec) error {
	for _, s := range specs {
		if s.ID != "" {
			return fmt.Errorf("server %s: give an address, not a server ID", s.ID)
		}
		if _, err := cfg.AddServer(group, lb.Server{Addr: s.Addr, Ports: s.Ports, Enabled: true}); err != nil {
			return err
		}
	}
	return nil
}

// serverIn finds a server of g by ID or address.
func serverIn(g *lb.ServerGroup, s ServerSpec) (string, error) {
	for _, srv := range g.Servers {
		if (s.ID != "" && srv.ID == s.ID) || (s.ID == "" && srv.Addr == s.Addr) {
			return srv.ID, nil
		}
	}
	return "", fmt.Errorf("server %s: not in server group %s", s.Text, g.Name)
}

// findServer resolves a server ID, address or host name over all groups;
// an address in several groups is ambiguous.
func findServer(cfg *lb.Config, name string) (string, error) {
	if strings.HasPrefix(name, "_") {
		if _, s := cfg.Server(name); s != nil {
			return s.ID, nil
		}
		return "", fmt.Errorf("server %s: no such server", name)
	}
	a, err := parseAddr(name)
	if err != nil {
		return "", fmt.Errorf("server %s: %w", name, err)
	}
	var found []string
	for _, g := range cfg.Groups {
		for _, s := range g.Servers {
			if s.Addr == a {
				found = append(found, s.ID)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("server %s: no such server", name)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("server %s: in several server groups (%s): give a server ID", name, strings.Join(found, ", "))
}

func addrPort(a netip.Addr, p lb.PortRange) string {
	host := a.String()
	if a.Is6() {
		host = "[" + host + "]"
	}
	if p.Min == 0 {
		return host
	}
	return host + ":" + p.String()
}
