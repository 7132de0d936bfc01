package snmpcli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults are the client settings of net-snmp's snmp.conf files that these
// commands honour. Empty strings and negative numbers mean "not set".
type Defaults struct {
	Version        string // defVersion: 1, 2c or 3
	Community      string // defCommunity
	SecurityName   string // defSecurityName
	SecurityLevel  string // defSecurityLevel
	AuthType       string // defAuthType
	AuthPassphrase string // defAuthPassphrase
	PrivType       string // defPrivType
	PrivPassphrase string // defPrivPassphrase
	Passphrase     string // defPassphrase: fallback for both pass phrases
	Context        string // defContext
	Port           int    // defaultPort
	Timeout        time.Duration
	Retries        int
}

// NoDefaults is the zero configuration: nothing set.
func NoDefaults() Defaults { return Defaults{Port: -1, Timeout: -1, Retries: -1} }

// maxIncludeDepth stops includeFile loops.
const maxIncludeDepth = 8

// ConfFiles lists the snmp.conf files net-snmp applications read, in the
// order they are read (later settings win): snmp.conf in every directory of
// the search path, then snmp.local.conf in every directory. SNMPCONFPATH
// (colon separated) replaces the default path /etc/snmp, /usr/share/snmp,
// /usr/lib/<arch>/snmp, $HOME/.snmp.
func ConfFiles(getenv func(string) string) []string {
	var dirs []string
	if p := getenv("SNMPCONFPATH"); p != "" {
		dirs = filepath.SplitList(p)
	} else {
		dirs = []string{"/etc/snmp", "/usr/share/snmp", "/usr/lib/x86_64-linux-gnu/snmp", "/usr/lib/snmp"}
		if home := getenv("HOME"); home != "" {
			dirs = append(dirs, filepath.Join(home, ".snmp"))
		}
	}
	var files []string
	for _, name := range []string{"snmp.conf", "snmp.local.conf"} {
		for _, d := range dirs {
			if d != "" {
				files = append(files, filepath.Join(d, name))
			}
		}
	}
	return files
}

// LoadDefaults reads the given files in order; missing or unreadable files
// are skipped, as net-snmp does.
func LoadDefaults(files []string) (Defaults, error) {
	d := NoDefaults()
	for _, f := range files {
		if err := d.readFile(f, 0); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (d *Defaults) readFile(file string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nest deeper than %d (a loop?)", file, maxIncludeDepth)
	}
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil
		}
		return fmt.Errorf("read snmp.conf: %w", err)
	}
	defer f.Close()
	return d.parse(f, file, depth)
}

// Parse applies the lines of one snmp.conf to d. Tokens these commands do
// not use are ignored, as are lines in sections other than [snmp].
func (d *Defaults) Parse(r io.Reader, file string) error { return d.parse(r, file, 0) }

func (d *Defaults) parse(r io.Reader, file string, depth int) error {
	sc := bufio.NewScanner(r)
	inSnmp := true
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' { // "[snmp]" switches section; "[snmp] token value" applies one line
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return fmt.Errorf("%s:%d: unterminated section name", file, lineNo)
			}
			section, rest := line[1:end], strings.TrimSpace(line[end+1:])
			if rest == "" {
				inSnmp = section == "snmp"
				continue
			}
			if section != "snmp" {
				continue
			}
			line = rest
		} else if !inSnmp {
			continue
		}
		token, value := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			token, value = line[:i], line[i+1:]
		}
		value = unquote(strings.TrimSpace(value))
		if err := d.apply(token, value, file, depth); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", file, lineNo, token, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	return nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

func (d *Defaults) apply(token, value, file string, depth int) error {
	switch strings.ToLower(token) { // net-snmp matches tokens case-insensitively
	case "defversion":
		switch value {
		case "1", "2c", "3":
			d.Version = value
		default:
			return fmt.Errorf("version %q is not 1, 2c or 3", value)
		}
	case "defcommunity":
		d.Community = value
	case "defsecurityname":
		d.SecurityName = value
	case "defsecuritylevel":
		if _, err := parseLevel(value); err != nil {
			return err
		}
		d.SecurityLevel = value
	case "defauthtype":
		if _, err := parseAuthProto(value); err != nil {
			return err
		}
		d.AuthType = value
	case "defprivtype":
		if _, err := parsePrivProto(value); err != nil {
			return err
		}
		d.PrivType = value
	case "defauthpassphrase":
		d.AuthPassphrase = value
	case "defprivpassphrase":
		d.PrivPassphrase = value
	case "defpassphrase":
		d.Passphrase = value
	case "defcontext":
		d.Context = value
	case "defaultport":
		p, err := strconv.ParseUint(value, 10, 16)
		if err != nil || p == 0 {
			return fmt.Errorf("port %q is not a number from 1 to 65535", value)
		}
		d.Port = int(p)
	case "timeout":
		s, err := strconv.ParseFloat(value, 64)
		if err != nil || s <= 0 {
			return fmt.Errorf("timeout %q is not a positive number of seconds", value)
		}
		d.Timeout = time.Duration(s * float64(time.Second))
	case "retries":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return fmt.Errorf("retries %q is not a count", value)
		}
		d.Retries = n
	case "includefile":
		if !filepath.IsAbs(value) {
			value = filepath.Join(filepath.Dir(file), value)
		}
		return d.readFile(value, depth+1)
	case "includedir":
		if !filepath.IsAbs(value) {
			value = filepath.Join(filepath.Dir(file), value)
		}
		matches, err := filepath.Glob(filepath.Join(value, "*.conf"))
		if err != nil {
			return fmt.Errorf("includeDir %s: %w", value, err)
		}
		sort.Strings(matches)
		for _, m := range matches {
			if err := d.readFile(m, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
