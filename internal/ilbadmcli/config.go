package ilbadmcli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"tapagent/lb"
)

// ExportLines writes cfg as ilbadm commands (without the program name)
// that rebuild it on an empty load balancer: health checks, server groups
// and their servers in ID order, disabled servers, then rules.
func ExportLines(cfg *lb.Config) []string {
	var out []string
	for _, h := range cfg.HealthChecks {
		test := strings.ToUpper(h.Test.String())
		if h.Test == lb.HCExternal {
			test = quote(h.ExternalMethod)
		}
		out = append(out, fmt.Sprintf("create-healthcheck %s-h hc-test=%s,hc-timeout=%d,hc-count=%d,hc-interval=%d %s",
			yesNo(h.DefaultPing, "", "-n "), test, h.Timeout, h.Count, h.Interval, h.Name))
	}
	// The IDs an import assigns: the lowest free number per server.
	sim := &lb.Config{}
	var disabled []string
	for _, g := range cfg.Groups {
		out = append(out, "create-servergroup "+g.Name)
		_ = sim.CreateGroup(g.Name)
		for _, s := range g.Servers {
			out = append(out, fmt.Sprintf("add-server -s server=%s %s", addrPort(s.Addr, s.Ports), g.Name))
			id, _ := sim.AddServer(g.Name, lb.Server{Addr: s.Addr, Ports: s.Ports, Enabled: true})
			if !s.Enabled {
				disabled = append(disabled, "disable-server "+id)
			}
		}
	}
	out = append(out, disabled...)
	for _, r := range cfg.Rules {
		var b strings.Builder
		b.WriteString("create-rule ")
		if r.Enabled {
			b.WriteString("-e ")
		}
		if r.Persist {
			b.WriteString("-p ")
		}
		fmt.Fprintf(&b, "-i vip=%s", r.VIP)
		if r.Ports.Min != 0 {
			fmt.Fprintf(&b, ",port=%s", r.Ports)
		}
		fmt.Fprintf(&b, ",protocol=%s -m lbalg=%s,type=%s", strings.ToLower(r.Protocol.String()), r.Algorithm, r.Topology)
		if r.ProxySrc.IsSet() {
			fmt.Fprintf(&b, ",proxy-src=%s", r.ProxySrc.First)
			if r.ProxySrc.Last.IsValid() {
				fmt.Fprintf(&b, "-%s", r.ProxySrc.Last)
			}
		}
		if r.PersistMask != 0 {
			fmt.Fprintf(&b, ",pmask=%d", r.PersistMask)
		}
		if r.HCName != "" {
			port := "ANY"
			switch r.HCPortMode {
			case lb.HCPortAll:
				port = "ALL"
			case lb.HCPortFixed:
				port = strconv.Itoa(int(r.HCPort))
			}
			fmt.Fprintf(&b, " -h hc-name=%s,hc-port=%s", r.HCName, port)
		}
		fmt.Fprintf(&b, " -t conn-drain=%d,nat-timeout=%d,persist-timeout=%d -o servergroup=%s %s",
			r.ConnDrain, r.NATTimeout, r.PersistTimeout, r.ServerGroup, r.Name)
		out = append(out, b.String())
	}
	return out
}

func quote(s string) string {
	if strings.ContainsAny(s, " \t\"'\\#") {
		return strconv.Quote(s)
	}
	return s
}

func (r *runner) export(c *Command) error {
	cfg, err := r.config()
	if err != nil {
		return err
	}
	text := strings.Join(ExportLines(cfg), "\n") + "\n"
	if c.File == "" {
		_, err = io.WriteString(r.env.Stdout, text)
		return err
	}
	tmp := c.File + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return fmt.Errorf("export-config: %w", err)
	}
	if err := os.Rename(tmp, c.File); err != nil {
		return fmt.Errorf("export-config: %w", err)
	}
	return nil
}

// importVerbs may appear in an imported file.
var importVerbs = map[string]bool{"create-servergroup": true, "add-server": true, "create-healthcheck": true,
	"create-rule": true, "disable-server": true, "enable-server": true, "enable-rule": true, "disable-rule": true}

// readImport parses an import file (or stdin) completely before anything
// is sent: continuation lines end in '\', '#' starts a comment.
func readImport(env Env, c *Command) ([]*Command, error) {
	in := env.Stdin
	name := "stdin"
	if c.File != "" {
		f, err := os.Open(c.File)
		if err != nil {
			return nil, fmt.Errorf("import-config: %w", err)
		}
		defer f.Close()
		in, name = f, c.File
	}
	return ParseImport(in, name)
}

// ParseImport reads ilbadm command lines.
func ParseImport(in io.Reader, name string) ([]*Command, error) {
	var cmds []*Command
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var pending string
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending == "" {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, pending = pending+line, ""
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err != nil {
			return nil, fmt.Errorf("import-config: %s:%d: %w", name, start, err)
		}
		if len(words) > 0 && words[0] == "ilbadm" {
			words = words[1:]
		}
		cmd, err := Parse(words)
		if err != nil {
			return nil, fmt.Errorf("import-config: %s:%d: %w", name, start, err)
		}
		if !importVerbs[cmd.Verb] {
			return nil, fmt.Errorf("import-config: %s:%d: %s cannot be imported", name, start, cmd.Verb)
		}
		cmds = append(cmds, cmd)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("import-config: %s: %w", name, err)
	}
	return cmds, nil
}

// splitWords splits a line at blanks, honouring double quotes.
func splitWords(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted && ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case ch == '"':
			quoted, inWord = !quoted, true
		case !quoted && (ch == ' ' || ch == '\t'):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// importConfig applies the imported commands in one change: on an empty
// configuration (replacing the running one) or, with -p, on the running
// one.
func (r *runner) importConfig(c *Command, cmds []*Command) error {
	return r.change("import-config", func(cfg *lb.Config) error {
		if !c.Preserve {
			*cfg = lb.Config{}
		}
		for i, cmd := range cmds {
			if err := apply(cfg, cmd); err != nil {
				return fmt.Errorf("command %d (%s): %w", i+1, cmd.Verb, err)
			}
		}
		return nil
	})
}
