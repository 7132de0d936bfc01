package snmpcli

import (
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"tapagent/agent/agentx"
	"tapagent/mibs/smi"
)

// TypeLetters lists the value types setany accepts after an object name.
const TypeLetters = "i o g a c t d s"

// ParseOctets reads an octet string written in hex: groups of one or two
// hex digits separated by colons ("07:E0:4:1") or blanks ("c8 fb 26"), or
// one run of digits of even length ("62", "0a0a0035", optionally "0x…").
// An empty string is zero octets.
func ParseOctets(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []byte{}, nil
	}
	var groups []string
	switch {
	case strings.Contains(s, ":"):
		groups = strings.Split(s, ":")
		for i := range groups {
			groups[i] = strings.TrimSpace(groups[i])
		}
	case strings.ContainsAny(s, " \t"):
		groups = strings.Fields(s)
	default:
		digits := s
		if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
			digits = s[2:]
		}
		if len(digits)%2 != 0 {
			return nil, fmt.Errorf("hex %q has an odd number of digits (write 0%s, or separate bytes with colons)", s, digits)
		}
		b, err := hex.DecodeString(digits)
		if err != nil {
			return nil, fmt.Errorf("hex %q: %q is not a hex digit", s, firstNonHex(digits))
		}
		return b, nil
	}
	out := make([]byte, 0, len(groups))
	for i, g := range groups {
		if g == "" || len(g) > 2 {
			return nil, fmt.Errorf("hex %q: byte %d is %q; each byte is one or two hex digits", s, i+1, g)
		}
		v, err := strconv.ParseUint(g, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("hex %q: byte %d %q is not hex", s, i+1, g)
		}
		out = append(out, byte(v))
	}
	return out, nil
}

func firstNonHex(s string) string {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return string(r)
		}
	}
	return ""
}

// ParseValue turns "-TYPE VALUE" into a value. obj (may be nil) is the
// object being set: it lets -i take enumeration labels ("createAndGo").
// The type letter is the user's choice; it is not checked against the MIB
// (the agent judges).
func ParseValue(tree *smi.Tree, obj *smi.Object, letter, text string) (agentx.Value, error) {
	switch letter {
	case "i":
		if n, err := strconv.ParseInt(text, 10, 32); err == nil {
			return agentx.Integer(int32(n)), nil
		}
		if v, ok := enumValue(obj, text); ok {
			return agentx.Integer(int32(v)), nil
		}
		hint := ""
		if obj != nil && obj.Syntax != nil && len(obj.Syntax.Enums) > 0 {
			hint = " or one of " + enumList(obj.Syntax)
		}
		return agentx.Value{}, fmt.Errorf("-i %q: not a 32-bit integer%s", text, hint)
	case "o":
		b, err := ParseOctets(text)
		if err != nil {
			return agentx.Value{}, fmt.Errorf("-o: %w", err)
		}
		return agentx.OctetString(b), nil
	case "s":
		return agentx.OctetString([]byte(text)), nil
	case "g", "c", "t":
		n, err := strconv.ParseUint(text, 10, 32)
		if err != nil {
			return agentx.Value{}, fmt.Errorf("-%s %q: not a number from 0 to 4294967295", letter, text)
		}
		switch letter {
		case "g":
			return agentx.Gauge32(uint32(n)), nil
		case "c":
			return agentx.Counter32(uint32(n)), nil
		}
		return agentx.TimeTicks(uint32(n)), nil
	case "a":
		ip := net.ParseIP(text)
		if ip == nil || ip.To4() == nil || strings.Contains(text, ":") {
			return agentx.Value{}, fmt.Errorf("-a %q: not an IPv4 address (IpAddress is IPv4 only; use -o for InetAddress)", text)
		}
		return agentx.IPAddress([4]byte(ip.To4())), nil
	case "d":
		ref, err := tree.Resolve(text)
		if err != nil {
			return agentx.Value{}, fmt.Errorf("-d %q: %w", text, err)
		}
		if len(ref.OID) < 2 {
			return agentx.Value{}, fmt.Errorf("-d %q: an OID value needs at least two sub-identifiers", text)
		}
		return agentx.ObjectID(ref.OID), nil
	}
	return agentx.Value{}, fmt.Errorf("unknown type -%s (want one of %s)", letter, TypeLetters)
}

// enumValue accepts "label" and "label(n)" for an enumerated object.
func enumValue(obj *smi.Object, text string) (int64, bool) {
	if obj == nil || obj.Syntax == nil {
		return 0, false
	}
	label := text
	if i := strings.IndexByte(text, '('); i > 0 && strings.HasSuffix(text, ")") {
		label = text[:i]
		n, err := strconv.ParseInt(text[i+1:len(text)-1], 10, 32)
		if v, ok := obj.Syntax.EnumValue(label); ok && err == nil && v == n {
			return v, true
		}
		return 0, false
	}
	return obj.Syntax.EnumValue(label)
}

func enumList(s *smi.Syntax) string {
	parts := make([]string, len(s.Enums))
	for i, e := range s.Enums {
		parts[i] = fmt.Sprintf("%s(%d)", e.Name, e.Value)
	}
	return strings.Join(parts, ", ")
}

// textHint matches DISPLAY-HINTs that render the whole string as text
// ("255a", "255t").
var textHint = regexp.MustCompile(`^[0-9]+[at]$`)

// FormatValue renders a value for people, using the syntax of obj when
// known: enumeration labels, BITS names, quoted text for DisplayString-like
// objects, hex (space separated, upper case, reusable with -o) for other
// octets, names for OIDs.
func FormatValue(tree *smi.Tree, obj *smi.Object, v agentx.Value) string {
	var syn *smi.Syntax
	if obj != nil {
		syn = obj.Syntax
	}
	switch v.Type {
	case agentx.TypeInteger:
		if name, ok := syn.EnumName(v.Int); ok {
			return fmt.Sprintf("%s(%d)", name, v.Int)
		}
		return strconv.FormatInt(v.Int, 10)
	case agentx.TypeCounter32, agentx.TypeGauge32, agentx.TypeTimeTicks, agentx.TypeCounter64:
		return strconv.FormatUint(v.Uint, 10)
	case agentx.TypeIPAddress:
		if len(v.Bytes) == 4 {
			return net.IP(v.Bytes).String()
		}
		return hexBytes(v.Bytes)
	case agentx.TypeObjectIdentifier:
		return tree.Format(v.OID)
	case agentx.TypeOctetString, agentx.TypeOpaque:
		if len(v.Bytes) == 0 {
			return `""`
		}
		if syn != nil && syn.Base == smi.BaseBits {
			return hexBytes(v.Bytes) + bitNames(syn, v.Bytes)
		}
		// Text where the syntax says so, or, for objects we have no syntax
		// for, where the bytes look like text; hex otherwise.
		if (syn == nil || textHint.MatchString(syn.Hint)) && printable(v.Bytes) {
			return strconv.Quote(string(v.Bytes))
		}
		return hexBytes(v.Bytes)
	case agentx.TypeNull:
		return "NULL"
	case agentx.TypeNoSuchObject:
		return "noSuchObject"
	case agentx.TypeNoSuchInstance:
		return "noSuchInstance"
	case agentx.TypeEndOfMibView:
		return "endOfMibView"
	}
	return v.String()
}

func hexBytes(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

// bitNames lists the set bits as " (name, name)"; bit n is in octet n/8
// under mask 0x80>>(n%8).
func bitNames(syn *smi.Syntax, b []byte) string {
	var names []string
	for n := 0; n < len(b)*8; n++ {
		if b[n/8]&(0x80>>(n%8)) == 0 {
			continue
		}
		if name, ok := syn.BitName(int64(n)); ok {
			names = append(names, fmt.Sprintf("%s(%d)", name, n))
		} else {
			names = append(names, strconv.Itoa(n))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\t' {
			return false
		}
	}
	return true
}

// FormatVarBind renders "name.index = value".
func FormatVarBind(tree *smi.Tree, vb agentx.VarBind) string {
	obj, _ := tree.ObjectAt(vb.Name)
	return tree.Format(vb.Name) + " = " + FormatValue(tree, obj, vb.Value)
}
