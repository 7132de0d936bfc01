package portseccli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/snmpcli"
)

// Usage is the one-line synopsis.
const Usage = "usage: portsec-show [getmany options] AGENT USER|COMMUNITY [interface NAME|IFINDEX] [address]"

const (
	psRoot     = ".1.3.6.1.4.1.9.9.315"
	globalRoot = psRoot + ".1.1."
	ifEntry    = psRoot + ".1.2.1.1."
	macEntry   = psRoot + ".1.2.3.1."
	multiEntry = psRoot + ".1.2.5.1." // cpsIfMultiVlanEntry
	ifNameRoot = ".1.3.6.1.2.1.31.1.1.1.1"
)

// View says what to print.
type View struct {
	Interface string // "" = every secured port
	Address   bool
}

// ParseArgs splits the trailing show words from the getmany-style options.
func ParseArgs(args []string) (rest []string, v View, err error) {
	rest = args
	if n := len(rest); n > 0 && rest[n-1] == "address" {
		v.Address, rest = true, rest[:n-1]
	}
	if n := len(rest); n >= 2 && rest[n-2] == "interface" {
		v.Interface, rest = rest[n-1], rest[:n-2]
	}
	return rest, v, nil
}

// Run is the command: args without the program name; it returns the exit
// code.
func Run(env snmpcli.Env, args []string) int {
	rest, view, _ := ParseArgs(args)
	tree, err := env.Tree()
	if err != nil {
		return fail(env, err, snmpcli.ExitFailure)
	}
	defs, err := snmpcli.LoadDefaults(snmpcli.ConfFiles(env.Getenv))
	if err != nil {
		return fail(env, err, snmpcli.ExitUsage)
	}
	cmd, err := snmpcli.ParseGet(append(rest, psRoot), tree, defs)
	if errors.Is(err, snmpcli.ErrHelp) {
		fmt.Fprintf(env.Stdout, "%s\n%s", Usage, snmpcli.OptionsHelp)
		return snmpcli.ExitOK
	}
	if err != nil {
		return fail(env, err, snmpcli.ExitUsage)
	}
	c, closeFn, err := env.Dial(cmd.Options, 1)
	if err != nil {
		var u *snmpcli.UsageError
		if errors.As(err, &u) {
			return fail(env, err, snmpcli.ExitUsage)
		}
		return fail(env, err, snmpcli.ExitFailure)
	}
	defer closeFn()
	st, err := Load(c, cmd.Options)
	if err != nil {
		return fail(env, err, snmpcli.ExitFailure)
	}
	if err := Print(env.Stdout, st, view); err != nil {
		return fail(env, err, snmpcli.ExitUsage)
	}
	return snmpcli.ExitOK
}

func fail(env snmpcli.Env, err error, code int) int {
	fmt.Fprintf(env.Stderr, "portsec-show: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	return code
}

// Port is one cpsIfConfigEntry.
type Port struct {
	Ifindex                   int
	Name                      string
	Enabled, StaticAging      bool
	Sticky                    bool
	Status, Violation         int
	Max, Count                int
	AgingTime, AgingType      int
	ViolationCount            uint64
	ShutdownTimeout           int
	LastMAC                   []byte
	LastVLAN                  int
	Static, StickyN, DynamicN int
	// VLANs are the port's rows of cpsIfMultiVlanTable, by VLAN.
	VLANs []VLANLimit
}

// VLANLimit is one cpsIfMultiVlanEntry: a VLAN's own maximum (0: none,
// only the port's applies) and how many secure addresses it holds.
type VLANLimit struct {
	VLAN, Max, Count int
}

// Address is one cpsIfVlanSecureMacAddrEntry.
type Address struct {
	Ifindex   int
	MAC       []byte
	VLAN      int
	Type      int
	RemainAge int
}

// State is what a walk of the module found.
type State struct {
	Ports         []*Port // by ifindex
	Addresses     []Address
	Total, Limit  int
	GlobalEnabled bool
}

// walk walks a subtree with GETBULK (GETNEXT for SNMPv1).
func walk(c snmpcli.Client, o snmpcli.Options, root string) ([]gosnmp.SnmpPDU, error) {
	var out []gosnmp.SnmpPDU
	next := root
	for range 100000 {
		var res *gosnmp.SnmpPacket
		var err error
		if o.Version == gosnmp.Version1 {
			res, err = c.GetNext([]string{next})
		} else {
			res, err = c.GetBulk([]string{next}, 0, max(o.MaxRepetitions, 1))
		}
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", root, err)
		}
		if res.Error != gosnmp.NoError {
			if res.Error == gosnmp.NoSuchName { // SNMPv1 end of MIB
				return out, nil
			}
			return nil, fmt.Errorf("walk %s: %v", root, res.Error)
		}
		if len(res.Variables) == 0 {
			return out, nil
		}
		for _, v := range res.Variables {
			if v.Type == gosnmp.EndOfMibView || !strings.HasPrefix(v.Name, root+".") {
				return out, nil
			}
			out = append(out, v)
			next = v.Name
		}
	}
	return nil, fmt.Errorf("walk %s: too many objects", root)
}

// suffix parses the sub-identifiers after prefix.
func suffix(name, prefix string) ([]int, bool) {
	if !strings.HasPrefix(name, prefix) {
		return nil, false
	}
	var out []int
	for _, f := range strings.Split(name[len(prefix):], ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func num(v gosnmp.SnmpPDU) int64 {
	if b := gosnmp.ToBigInt(v.Value); b != nil {
		return b.Int64()
	}
	return 0
}

// Load walks the module and ifName.
func Load(c snmpcli.Client, o snmpcli.Options) (*State, error) {
	vars, err := walk(c, o, psRoot)
	if err != nil {
		return nil, err
	}
	names, err := walk(c, o, ifNameRoot)
	if err != nil {
		names = nil // ifName is a nicety: fall back to ifindex
	}
	st := &State{}
	ports := map[int]*Port{}
	port := func(i int) *Port {
		if ports[i] == nil {
			ports[i] = &Port{Ifindex: i, Name: strconv.Itoa(i)}
		}
		return ports[i]
	}
	addrs := map[string]*Address{}
	vlans := map[[2]int]*VLANLimit{}
	for _, v := range vars {
		if s, ok := suffix(v.Name, globalRoot); ok && len(s) == 2 {
			switch s[0] {
			case 1:
				st.Limit = int(num(v))
			case 2:
				st.Total = int(num(v))
			case 3:
				st.GlobalEnabled = num(v) == 1
			}
			continue
		}
		if s, ok := suffix(v.Name, ifEntry); ok && len(s) == 2 {
			p := port(s[1])
			n := num(v)
			switch s[0] {
			case 1:
				p.Enabled = n == 1
			case 2:
				p.Status = int(n)
			case 3:
				p.Max = int(n)
			case 4:
				p.Count = int(n)
			case 5:
				p.AgingTime = int(n)
			case 6:
				p.AgingType = int(n)
			case 7:
				p.StaticAging = n == 1
			case 8:
				p.Violation = int(n)
			case 9:
				p.ViolationCount = uint64(n)
			case 10:
				p.LastMAC, _ = v.Value.([]byte)
			case 13:
				p.ShutdownTimeout = int(n)
			case 15:
				p.Sticky = n == 1
			case 18:
				p.LastVLAN = int(n)
			}
			continue
		}
		if s, ok := suffix(v.Name, multiEntry); ok && len(s) == 3 {
			key := [2]int{s[1], s[2]}
			l := vlans[key]
			if l == nil {
				l = &VLANLimit{VLAN: s[2]}
				vlans[key] = l
			}
			switch s[0] {
			case 2:
				l.Max = int(num(v))
			case 3:
				l.Count = int(num(v))
			}
			continue
		}
		if s, ok := suffix(v.Name, macEntry); ok && len(s) == 9 {
			key := fmt.Sprint(s[1:])
			a := addrs[key]
			if a == nil {
				mac := make([]byte, 6)
				for i := range mac {
					mac[i] = byte(s[2+i])
				}
				a = &Address{Ifindex: s[1], MAC: mac, VLAN: s[8]}
				addrs[key] = a
			}
			switch s[0] {
			case 3:
				a.Type = int(num(v))
			case 4:
				a.RemainAge = int(num(v))
			}
		}
	}
	for _, a := range addrs {
		st.Addresses = append(st.Addresses, *a)
		p := port(a.Ifindex)
		switch a.Type {
		case 1:
			p.Static++
		case 3:
			p.StickyN++
		default:
			p.DynamicN++
		}
	}
	for key, l := range vlans {
		p := port(key[0])
		p.VLANs = append(p.VLANs, *l)
	}
	for _, p := range ports {
		sort.Slice(p.VLANs, func(i, j int) bool { return p.VLANs[i].VLAN < p.VLANs[j].VLAN })
	}
	sort.Slice(st.Addresses, func(i, j int) bool {
		a, b := st.Addresses[i], st.Addresses[j]
		if a.VLAN != b.VLAN {
			return a.VLAN < b.VLAN
		}
		if c := strings.Compare(string(a.MAC), string(b.MAC)); c != 0 {
			return c < 0
		}
		return a.Ifindex < b.Ifindex
	})
	for _, v := range names {
		if s, ok := suffix(v.Name, ifNameRoot+"."); ok && len(s) == 1 && ports[s[0]] != nil {
			if b, ok := v.Value.([]byte); ok && len(b) > 0 {
				ports[s[0]].Name = string(b)
			}
		}
	}
	for _, p := range ports {
		st.Ports = append(st.Ports, p)
	}
	sort.Slice(st.Ports, func(i, j int) bool { return st.Ports[i].Ifindex < st.Ports[j].Ifindex })
	return st, nil
}

// ciscoMAC prints 0200.5e00.0001.
func ciscoMAC(m []byte) string {
	if len(m) != 6 {
		return "-"
	}
	return fmt.Sprintf("%02x%02x.%02x%02x.%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func (s *State) find(name string) *Port {
	for _, p := range s.Ports {
		if p.Name == name || strconv.Itoa(p.Ifindex) == name {
			return p
		}
	}
	return nil
}

var actions = map[int]string{1: "Shutdown", 2: "Restrict", 3: "Protect"}
var statuses = map[int]string{1: "Secure-up", 2: "Secure-down", 3: "Secure-shutdown"}
var addrTypes = map[int]string{1: "SecureConfigured", 2: "SecureDynamic", 3: "SecureSticky"}

func onOff(b bool, on, off string) string {
	if b {
		return on
	}
	return off
}

// Print writes the view of st.
func Print(w io.Writer, st *State, v View) error {
	switch {
	case v.Interface != "" && v.Address:
		p := st.find(v.Interface)
		if p == nil {
			return fmt.Errorf("no port security interface %q", v.Interface)
		}
		printAddresses(w, st, p.Ifindex)
	case v.Interface != "":
		p := st.find(v.Interface)
		if p == nil {
			return fmt.Errorf("no port security interface %q", v.Interface)
		}
		printInterface(w, p)
	case v.Address:
		printAddresses(w, st, 0)
	default:
		printSummary(w, st)
	}
	return nil
}

const rule = "---------------------------------------------------------------------------"

func printSummary(w io.Writer, st *State) {
	fmt.Fprintln(w, "Secure Port  MaxSecureAddr  CurrentAddr  SecurityViolation  Security Action")
	fmt.Fprintln(w, "                (Count)       (Count)          (Count)")
	fmt.Fprintln(w, rule)
	for _, p := range st.Ports {
		if !p.Enabled {
			continue
		}
		fmt.Fprintf(w, "%11s  %13d  %11d  %17d  %15s\n", p.Name, p.Max, p.Count, p.ViolationCount, actions[p.Violation])
	}
	fmt.Fprintln(w, rule)
	fmt.Fprintf(w, "Total Addresses in System : %d\n", st.Total)
	fmt.Fprintf(w, "Max Addresses limit in System : %d\n", st.Limit)
	if !st.GlobalEnabled {
		fmt.Fprintln(w, "Port security is disabled globally (cpsGlobalPortSecurityEnable false)")
	}
}

func printInterface(w io.Writer, p *Port) {
	row := func(k, v string) { fmt.Fprintf(w, "%-27s: %s\n", k, v) }
	row("Port Security", onOff(p.Enabled, "Enabled", "Disabled"))
	row("Port Status", statuses[p.Status])
	row("Violation Mode", actions[p.Violation])
	row("Aging Time", fmt.Sprintf("%d mins", p.AgingTime))
	row("Aging Type", onOff(p.AgingType == 2, "Inactivity", "Absolute"))
	row("SecureStatic Address Aging", onOff(p.StaticAging, "Enabled", "Disabled"))
	row("Maximum MAC Addresses", strconv.Itoa(p.Max))
	row("Total MAC Addresses", strconv.Itoa(p.Count))
	row("Configured MAC Addresses", strconv.Itoa(p.Static))
	row("Sticky MAC Addresses", strconv.Itoa(p.StickyN))
	row("Last Source Address:Vlan", fmt.Sprintf("%s:%d", ciscoMAC(p.LastMAC), p.LastVLAN))
	row("Security Violation Count", strconv.FormatUint(p.ViolationCount, 10))
	if !p.perVLAN() {
		return
	}
	// Per-VLAN maximums (trunk and voice ports), as IOS's "vlan" view.
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Vlan    Maximum    Current     (Maximum - : only the port's maximum applies)")
	fmt.Fprintln(w, "----    -------    -------")
	for _, v := range p.VLANs {
		limit := "-"
		if v.Max > 0 {
			limit = strconv.Itoa(v.Max)
		}
		fmt.Fprintf(w, "%4d    %7s    %7d\n", v.VLAN, limit, v.Count)
	}
}

// perVLAN reports whether the port's VLANs are worth a table: several
// VLANs hold addresses, or one has a maximum of its own.
func (p *Port) perVLAN() bool {
	for _, v := range p.VLANs {
		if v.Max > 0 {
			return true
		}
	}
	return len(p.VLANs) > 1
}

func printAddresses(w io.Writer, st *State, ifindex int) {
	names := map[int]string{}
	for _, p := range st.Ports {
		names[p.Ifindex] = p.Name
	}
	fmt.Fprintln(w, "               Secure Mac Address Table")
	fmt.Fprintln(w, rule)
	fmt.Fprintln(w, "Vlan    Mac Address       Type                Ports     Remaining Age")
	fmt.Fprintln(w, "                                                           (mins)")
	fmt.Fprintln(w, "----    -----------       ----                -----     -------------")
	n := 0
	for _, a := range st.Addresses {
		if ifindex != 0 && a.Ifindex != ifindex {
			continue
		}
		n++
		age := "-"
		if a.RemainAge > 0 {
			age = strconv.Itoa(a.RemainAge)
		}
		name := names[a.Ifindex]
		if name == "" {
			name = strconv.Itoa(a.Ifindex)
		}
		fmt.Fprintf(w, "%4d    %-14s    %-18s  %-8s  %13s\n", a.VLAN, ciscoMAC(a.MAC), addrTypes[a.Type], name, age)
	}
	fmt.Fprintln(w, rule)
	fmt.Fprintf(w, "Total Addresses: %d\n", n)
}
