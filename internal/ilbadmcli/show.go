package ilbadmcli

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"tapagent/lb"
	"tapagent/mibs/ilb"
)

// Fields of the show subcommands, in their display order.
var (
	ruleFields = []string{"RULENAME", "STATUS", "PORT", "PROTOCOL", "LBALG", "TYPE", "PROXY-SRC", "PERSIST",
		"HC-NAME", "HC-PORT", "CONN-DRAIN", "NAT-TIMEOUT", "PERSIST-TIMEOUT", "SERVERGROUP", "VIP", "SERVERS"}
	ruleDefault   = []string{"RULENAME", "STATUS", "LBALG", "TYPE", "PROTOCOL", "VIP", "PORT"}
	groupFields   = []string{"SGNAME", "SERVERID", "MINPORT", "MAXPORT", "IP_ADDRESS"}
	serverFields  = []string{"SERVERID", "ADDRESS", "PORT", "RULENAME", "STATUS", "SERVERGROUP"}
	hcFields      = []string{"HCNAME", "TIMEOUT", "COUNT", "INTERVAL", "DEF_PING", "TEST"}
	hcResFields   = []string{"RULENAME", "HCNAME", "SERVERID", "STATUS", "FAIL", "LAST", "NEXT", "RTT"}
	statFieldsAll = ilb.StatFields
	statDefault   = []string{"PKT_P", "BYTES_P", "PKT_U", "BYTES_U", "PKT_D", "BYTES_D"}
	statVerbose   = []string{"ICMP_P", "ICMP_D", "ICMP2BIG_P", "ICMP2BIG_D", "NOMEMP_D", "NOPORTP_D"}
)

func sortStrings(s []string) { sort.Strings(s) }

// chosen is the field list: -o (ALL: every field) or the defaults.
func chosen(fields, all, defaults []string) []string {
	if len(fields) == 0 {
		return defaults
	}
	if slices.Contains(fields, "ALL") {
		return all
	}
	return fields
}

// printRows writes a header and aligned columns, or with parseable the
// ilbadm -p format: fields joined by ':' (escaped), no header.
func printRows(w io.Writer, fields []string, rows []map[string]string, parseable, header bool) {
	if parseable {
		for _, r := range rows {
			vals := make([]string, len(fields))
			for i, f := range fields {
				vals[i] = escapeParseable(r[f])
			}
			fmt.Fprintln(w, strings.Join(vals, ":"))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	if header {
		fmt.Fprintln(tw, strings.Join(fields, "\t"))
	}
	for _, r := range rows {
		vals := make([]string, len(fields))
		for i, f := range fields {
			vals[i] = r[f]
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	tw.Flush()
}

func ruleRow(cfg *lb.Config, rl *lb.Rule) map[string]string {
	proxy := "--"
	if rl.ProxySrc.IsSet() {
		proxy = rl.ProxySrc.First.String()
		if rl.ProxySrc.Last.IsValid() && rl.ProxySrc.Last != rl.ProxySrc.First {
			proxy += "-" + rl.ProxySrc.Last.String()
		}
	}
	persist := "--"
	if rl.Persist {
		persist = "/" + strconv.Itoa(rl.EffectivePersistMask())
	}
	hcPort := "--"
	if rl.HCName != "" {
		hcPort = "ANY"
		switch rl.HCPortMode {
		case lb.HCPortAll:
			hcPort = "ALL"
		case lb.HCPortFixed:
			hcPort = strconv.Itoa(int(rl.HCPort))
		}
	}
	var servers []string
	if g := cfg.Group(rl.ServerGroup); g != nil {
		for _, s := range g.Servers {
			servers = append(servers, s.ID)
		}
	}
	return map[string]string{
		"RULENAME": rl.Name, "STATUS": yesNo(rl.Enabled, "E", "D"), "PORT": rl.Ports.String(),
		"PROTOCOL": rl.Protocol.String(), "LBALG": rl.Algorithm.String(), "TYPE": rl.Topology.String(),
		"PROXY-SRC": proxy, "PERSIST": persist, "HC-NAME": dash(rl.HCName), "HC-PORT": hcPort,
		"CONN-DRAIN":  strconv.Itoa(int(rl.ConnDrain)),
		"NAT-TIMEOUT": strconv.Itoa(int(rl.EffectiveNATTimeout())), "PERSIST-TIMEOUT": strconv.Itoa(int(rl.EffectivePersistTimeout())),
		"SERVERGROUP": rl.ServerGroup, "VIP": rl.VIP.String(), "SERVERS": dash(strings.Join(servers, ",")),
	}
}

func (r *runner) showRule(c *Command) error {
	cfg, err := r.config()
	if err != nil {
		return err
	}
	rules, err := findRules(cfg, c.Names)
	if err != nil {
		return fmt.Errorf("show-rule: %w", err)
	}
	var rows []map[string]string
	for _, rl := range rules {
		if (c.Enabled && !rl.Enabled) || (c.Disabled && rl.Enabled) {
			continue
		}
		rows = append(rows, ruleRow(cfg, rl))
	}
	w := r.env.Stdout
	if c.Full {
		width := 0
		for _, f := range ruleFields {
			width = max(width, len(f))
		}
		for i, row := range rows {
			if i > 0 {
				fmt.Fprintln(w)
			}
			for _, f := range ruleFields {
				fmt.Fprintf(w, "%*s: %s\n", width, f, row[f])
			}
		}
		return nil
	}
	printRows(w, chosen(c.Fields, ruleFields, ruleDefault), rows, c.Parseable, true)
	return nil
}

func portText(p uint16) string {
	if p == 0 {
		return "--"
	}
	return strconv.Itoa(int(p))
}

func (r *runner) showGroup(c *Command) error {
	cfg, err := r.config()
	if err != nil {
		return err
	}
	var rows []map[string]string
	found := len(c.Names) == 0
	for _, g := range cfg.Groups {
		if len(c.Names) > 0 && g.Name != c.Names[0] {
			continue
		}
		found = true
		if len(g.Servers) == 0 {
			rows = append(rows, map[string]string{"SGNAME": g.Name, "SERVERID": "--", "MINPORT": "--", "MAXPORT": "--", "IP_ADDRESS": "--"})
		}
		for _, s := range g.Servers {
			lo, hi := s.Ports.Min, s.Ports.Max
			if lo != 0 && hi == 0 {
				hi = lo
			}
			rows = append(rows, map[string]string{"SGNAME": g.Name, "SERVERID": s.ID, "MINPORT": portText(lo),
				"MAXPORT": portText(hi), "IP_ADDRESS": s.Addr.String(), "SHORT": addrPort(s.Addr, s.Ports)})
		}
	}
	if !found {
		return fmt.Errorf("show-servergroup: server group %s: no such server group", c.Names[0])
	}
	if _, short := c.setOptions['s']; short {
		for _, row := range rows {
			if row["SERVERID"] != "--" {
				fmt.Fprintf(r.env.Stdout, "%s: id:%s %s\n", row["SGNAME"], row["SERVERID"], row["SHORT"])
			}
		}
		return nil
	}
	printRows(r.env.Stdout, chosen(c.Fields, groupFields, groupFields), rows, c.Parseable, true)
	return nil
}

func (r *runner) showServer(c *Command) error {
	cfg, err := r.config()
	if err != nil {
		return err
	}
	rules, err := findRules(cfg, c.Names)
	if err != nil {
		return fmt.Errorf("show-server: %w", err)
	}
	var rows []map[string]string
	used := map[string]bool{}
	add := func(g *lb.ServerGroup, rule string) {
		for _, s := range g.Servers {
			port := "--"
			if s.Ports.Min != 0 {
				port = s.Ports.String()
			}
			rows = append(rows, map[string]string{"SERVERID": s.ID, "ADDRESS": s.Addr.String(), "PORT": port,
				"RULENAME": rule, "STATUS": yesNo(s.Enabled, "E", "D"), "SERVERGROUP": g.Name})
		}
	}
	for _, rl := range rules {
		if g := cfg.Group(rl.ServerGroup); g != nil {
			used[g.Name] = true
			add(g, rl.Name)
		}
	}
	if len(c.Names) == 0 {
		for i := range cfg.Groups {
			if !used[cfg.Groups[i].Name] {
				add(&cfg.Groups[i], "--")
			}
		}
	}
	printRows(r.env.Stdout, chosen(c.Fields, serverFields, serverFields), rows, c.Parseable, true)
	return nil
}

func (r *runner) showHealthCheck(c *Command) error {
	cfg, err := r.config()
	if err != nil {
		return err
	}
	var rows []map[string]string
	for _, h := range cfg.HealthChecks {
		if len(c.Names) > 0 && !slices.ContainsFunc(c.Names, func(n string) bool { return strings.EqualFold(n, h.Name) }) {
			continue
		}
		test := strings.ToLower(h.Test.String())
		if h.Test == lb.HCExternal {
			test = h.ExternalMethod
		}
		rows = append(rows, map[string]string{"HCNAME": h.Name, "TIMEOUT": strconv.Itoa(int(h.Timeout)),
			"COUNT": strconv.Itoa(int(h.Count)), "INTERVAL": strconv.Itoa(int(h.Interval)),
			"DEF_PING": yesNo(h.DefaultPing, "Y", "N"), "TEST": test})
	}
	for _, n := range c.Names {
		if cfg.HealthCheck(n) == nil {
			return fmt.Errorf("show-healthcheck: health check %s: no such health check", n)
		}
	}
	printRows(r.env.Stdout, hcFields, rows, false, true)
	return nil
}

var stateNames = map[ilb.HealthState]string{ilb.HealthUninitialized: "uninit", ilb.HealthUnreachable: "unreach",
	ilb.HealthAlive: "alive", ilb.HealthDead: "dead", ilb.HealthDisabled: "disabled"}

// clock shows the time of a DateAndTime, "--" for none.
func clock(b []byte) string {
	if len(b) < 8 || (b[0] == 0 && b[1] == 0) {
		return "--"
	}
	return fmt.Sprintf("%02d:%02d:%02d", b[4], b[5], b[6])
}

func (r *runner) showHcResult(c *Command) error {
	vbs, err := r.agent.Walk(ilb.HcResultTable)
	if err != nil {
		return err
	}
	var rows []map[string]string
	for _, h := range ilb.DecodeHcResults(vbs) {
		if len(c.Names) > 0 && !strings.EqualFold(c.Names[0], h.Rule) {
			continue
		}
		rows = append(rows, map[string]string{"RULENAME": h.Rule, "HCNAME": h.HcName, "SERVERID": h.ServerID,
			"STATUS": stateNames[h.State], "FAIL": strconv.Itoa(int(h.FailCount)), "LAST": clock(h.LastCheck),
			"NEXT": clock(h.NextCheck), "RTT": strconv.Itoa(int(h.RTT))})
	}
	printRows(r.env.Stdout, hcResFields, rows, false, true)
	return nil
}

func (r *runner) showNat(c *Command) error {
	vbs, err := r.agent.Walk(ilb.NatTable)
	if err != nil {
		return err
	}
	for i, e := range ilb.DecodeNat(vbs) {
		if c.Count > 0 && i >= c.Count {
			break
		}
		fmt.Fprintf(r.env.Stdout, "%s: %s > %s >>> %s > %s\n", e.Protocol, e.Client, e.Vip, e.Proxy, e.Server)
	}
	return nil
}

func (r *runner) showPersist(c *Command) error {
	vbs, err := r.agent.Walk(ilb.PersistTable)
	if err != nil {
		return err
	}
	for i, e := range ilb.DecodePersist(vbs) {
		if c.Count > 0 && i >= c.Count {
			break
		}
		fmt.Fprintf(r.env.Stdout, "%s: %s --> %s\n", e.Rule, e.Client, e.Server)
	}
	return nil
}

// statSample is one reading: per line key (rule, server, or "" for the
// total), per field.
type statSample map[string]map[string]uint64

func (r *runner) sample(s *StatsOptions) (statSample, []string, error) {
	out := statSample{}
	var keys []string
	put := func(key string, vals map[string]uint64) {
		m, ok := out[key]
		if !ok {
			m = map[string]uint64{}
			out[key] = m
			keys = append(keys, key)
		}
		for f, v := range vals {
			m[f] += v
		}
	}
	if s.Server != "" {
		vbs, err := r.agent.Walk(ilb.ServerStatsTable)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range ilb.DecodeServerStats(vbs) {
			if c.ServerID == s.Server {
				put(yesNo(s.Itemize, c.Rule, ""), c.Values)
			}
		}
		if len(out) == 0 {
			return nil, nil, fmt.Errorf("show-statistics: server %s: in no rule", s.Server)
		}
		return out, keys, nil
	}
	if s.Itemize {
		vbs, err := r.agent.Walk(ilb.ServerStatsTable)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range ilb.DecodeServerStats(vbs) {
			if strings.EqualFold(c.Rule, s.Rule) {
				put(c.ServerID, c.Values)
			}
		}
		return out, keys, nil
	}
	vbs, err := r.agent.Walk(ilb.RuleStatsTable)
	if err != nil {
		return nil, nil, err
	}
	found := s.Rule == ""
	put("", nil)
	for _, c := range ilb.DecodeRuleStats(vbs) {
		if s.Rule == "" || strings.EqualFold(c.Rule, s.Rule) {
			found = true
			put("", c.Values)
		}
	}
	if !found {
		return nil, nil, fmt.Errorf("show-statistics: rule %s: no such rule", s.Rule)
	}
	return out, keys, nil
}

func (r *runner) showStats(c *Command) error {
	s := &c.Stats
	fields := chosen(c.Fields, append(append([]string{}, statFieldsAll...), "TIME"), nil)
	if fields == nil {
		fields = statDefault
		if s.Itemize {
			fields = []string{"PKT_P", "BYTES_P"}
		}
		if s.Verbose {
			fields = append(append([]string{}, statDefault...), statVerbose...)
		}
		if s.Timestamp {
			fields = append(append([]string{}, fields...), "TIME")
		}
	}
	cols := fields
	if s.Itemize {
		cols = append([]string{yesNo(s.Server != "", "RULENAME", "SERVERNAME")}, fields...)
	}
	var prev statSample
	for n := 0; ; n++ {
		cur, keys, err := r.sample(s)
		if err != nil {
			return err
		}
		now := r.env.Now().Format("2006-01-02:15.04.05")
		var rows []map[string]string
		for _, k := range keys {
			row := map[string]string{"TIME": now, "RULENAME": k, "SERVERNAME": k}
			for _, f := range fields {
				if f == "TIME" {
					continue
				}
				v, shown := cur[k][f], ""
				switch p, ok := prev[k]; {
				case prev == nil || s.Absolute || s.Interval == 0:
					shown = strconv.FormatUint(v, 10)
				case !ok || p[f] > v:
					shown = "?" // the rule or server came or went
				case s.Delta:
					shown = strconv.FormatUint(v-p[f], 10)
				default:
					shown = strconv.FormatUint((v-p[f])/uint64(s.Interval), 10)
				}
				row[f] = shown
			}
			rows = append(rows, row)
		}
		printRows(r.env.Stdout, cols, rows, c.Parseable, n%10 == 0)
		prev = cur
		if s.Interval == 0 || (s.Count > 0 && n+1 >= s.Count) {
			return nil
		}
		r.env.Sleep(time.Duration(s.Interval) * time.Second)
	}
}
