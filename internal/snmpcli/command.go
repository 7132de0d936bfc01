package snmpcli

import (
	"errors"
	"fmt"
	"strings"

	"tapagent/agent/agentx"
	"tapagent/mibs/smi"
)

// ErrHelp is returned by the parsers when -h or -help was given.
var ErrHelp = errors.New("help requested")

// SetVar is one "OBJ -TYPE VALUE" triple of a setany command line.
type SetVar struct {
	Arg    string  // the object as written
	Ref    smi.Ref // resolved object and instance
	Letter string  // type letter without the dash
	Text   string  // the value as written
	Value  agentx.Value
}

// VarBind is the name and value to send.
func (v SetVar) VarBind() agentx.VarBind { return agentx.VarBind{Name: v.Ref.OID, Value: v.Value} }

// SetCommand is a fully checked setany command line.
type SetCommand struct {
	Options
	Vars []SetVar
}

// PDUs splits the variables into SET requests (see SplitPDUs).
func (c *SetCommand) PDUs() [][]SetVar { return SplitPDUs(c.Vars) }

// GetCommand is a fully checked getmany command line.
type GetCommand struct {
	Options
	Objects []GetObject
}

// GetObject is one object of a getmany command line.
type GetObject struct {
	Arg string
	Ref smi.Ref
}

// IsInstance reports whether the reference names one instance of a scalar
// or column, which getmany fetches with GET instead of walking.
func (g GetObject) IsInstance() bool {
	o := g.Ref.Object
	return o != nil && len(g.Ref.Suffix) > 0 && (o.Kind == smi.KindScalar || o.Kind == smi.KindColumn)
}

// SetUsage and GetUsage are the one-line synopses.
const (
	SetUsage = "usage: setany [-v1|-v2c|-v3] [-timeout S] [-retries N] [v3 options] AGENT USER|COMMUNITY OBJ.IDX -TYPE VALUE ..."
	GetUsage = "usage: getmany [-v1|-v2c|-v3] [-timeout S] [-retries N] [-max-repetitions N] [v3 options] AGENT USER|COMMUNITY OBJ[.IDX] ..."
)

// OptionsHelp describes the options both commands share.
const OptionsHelp = `options (before AGENT):
  -v1 | -v2c | -v3        SNMP version (default: defVersion in snmp.conf, else 3)
  -timeout S              seconds to wait for each answer (default 5)
  -retries N              resends after a timeout (default 1)
  -level L                noAuthNoPriv | authNoPriv | authPriv
  -auth-proto P           MD5 | SHA | SHA-224 | SHA-256 | SHA-384 | SHA-512
  -auth-pass S            authentication pass phrase
  -priv-proto P           DES | AES | AES-192 | AES-256 | AES-192C | AES-256C
  -priv-pass S            privacy pass phrase
  -context NAME           SNMPv3 context
v3 settings not given default to snmp.conf (defSecurityLevel, defAuthType,
defAuthPassphrase, defPrivType, defPrivPassphrase, defContext) in /etc/snmp,
~/.snmp or $SNMPCONFPATH.
AGENT is host, host:port, [IPv6] or [IPv6]:port (port 161 by default).
OBJ is a name from our MIB modules (cTap2MediationStatus.1,
CISCO-TAP2-MIB::cTap2MediationStatus.1) or a numeric OID (.1.3.6.1...).
`

// SetTypesHelp describes the setany value types.
const SetTypesHelp = `types:
  -i integer (or an enumeration label)   -g Gauge32/Unsigned32
  -o octets in hex: 07:E0:04:01:B:15:1A:0, "c8 fb 26 a5 55 98" or 0a0a0035
  -s string   -a IpAddress   -c Counter32   -t TimeTicks   -d OID (name or numeric)
An object repeated in one command starts a new SET request; requests go in
order and the command stops at the first error.
`

// ParseSet checks a whole setany command line (without the program name).
func ParseSet(args []string, tree *smi.Tree, d Defaults) (*SetCommand, error) {
	fs, rest, err := parseFlags("setany", args, false)
	if err != nil {
		return nil, err
	}
	if fs.help {
		return nil, ErrHelp
	}
	if len(rest) < 2 {
		return nil, fmt.Errorf("missing AGENT and USER|COMMUNITY (see setany -help)")
	}
	opts, err := fs.options(d, rest[0], rest[1])
	if err != nil {
		return nil, err
	}
	cmd := &SetCommand{Options: opts}
	args = rest[2:]
	if len(args) == 0 {
		return nil, fmt.Errorf("nothing to set: give OBJ.IDX -TYPE VALUE (see setany -help)")
	}
	for i := 0; i < len(args); {
		obj := args[i]
		if strings.HasPrefix(obj, "-") {
			return nil, fmt.Errorf("expected an object name, found %q (options go before AGENT; each value needs OBJ -TYPE VALUE)", obj)
		}
		ref, err := tree.Resolve(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", obj, err)
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("%s: missing -TYPE VALUE (types: %s)", obj, TypeLetters)
		}
		flag := args[i+1]
		letter, ok := strings.CutPrefix(flag, "-")
		if !ok || len(letter) != 1 || !strings.Contains(strings.ReplaceAll(TypeLetters, " ", ""), letter) {
			return nil, fmt.Errorf("%s: expected a type -i, -o, -g, -a, -c, -t, -d or -s, found %q", obj, flag)
		}
		if i+2 >= len(args) {
			return nil, fmt.Errorf("%s: %s: missing value", obj, flag)
		}
		text := args[i+2] // taken verbatim, even if it starts with '-'
		val, err := ParseValue(tree, ref.Object, letter, text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", obj, err)
		}
		cmd.Vars = append(cmd.Vars, SetVar{Arg: obj, Ref: ref, Letter: letter, Text: text, Value: val})
		i += 3
	}
	return cmd, nil
}

// ParseGet checks a whole getmany command line (without the program name).
func ParseGet(args []string, tree *smi.Tree, d Defaults) (*GetCommand, error) {
	fs, rest, err := parseFlags("getmany", args, true)
	if err != nil {
		return nil, err
	}
	if fs.help {
		return nil, ErrHelp
	}
	if len(rest) < 2 {
		return nil, fmt.Errorf("missing AGENT and USER|COMMUNITY (see getmany -help)")
	}
	opts, err := fs.options(d, rest[0], rest[1])
	if err != nil {
		return nil, err
	}
	cmd := &GetCommand{Options: opts}
	if len(rest) == 2 {
		return nil, fmt.Errorf("nothing to get: give at least one OBJ (see getmany -help)")
	}
	for _, obj := range rest[2:] {
		if strings.HasPrefix(obj, "-") {
			return nil, fmt.Errorf("expected an object name, found %q (options go before AGENT)", obj)
		}
		ref, err := tree.Resolve(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", obj, err)
		}
		cmd.Objects = append(cmd.Objects, GetObject{Arg: obj, Ref: ref})
	}
	return cmd, nil
}

// SplitPDUs groups variables into SET requests in command-line order. An
// OID already present in the current request starts the next one, so
// "status=createAndWait … status=active" becomes two SETs.
func SplitPDUs(vars []SetVar) [][]SetVar {
	var pdus [][]SetVar
	var cur []SetVar
	seen := map[string]bool{}
	for _, v := range vars {
		key := v.Ref.OID.String()
		if seen[key] {
			pdus = append(pdus, cur)
			cur, seen = nil, map[string]bool{}
		}
		seen[key] = true
		cur = append(cur, v)
	}
	if len(cur) > 0 {
		pdus = append(pdus, cur)
	}
	return pdus
}
