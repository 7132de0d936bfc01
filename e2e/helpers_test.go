package e2e

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"tapagent/internal/testbed"
)

// The four lawful-intercept trees and the objects the tests touch. Column
// numbers are those of the MIB modules in mibs/modules.
const (
	ciscoMgmt = ".1.3.6.1.4.1.9.9"
	tap2Tree  = ciscoMgmt + ".399" // CISCO-TAP2-MIB
	ipTapTree = ciscoMgmt + ".394" // CISCO-IP-TAP-MIB
	tap802    = ciscoMgmt + ".395" // CISCO-802-TAP-MIB
	userConn  = ciscoMgmt + ".400" // CISCO-USER-CONNECTION-TAP-MIB

	newIndex0       = tap2Tree + ".1.1.1.0" // cTap2MediationNewIndex.0
	mdCapabilities0 = tap2Tree + ".1.1.3.0"
	debugAge0       = tap2Tree + ".1.3.1.0"
	debugMax0       = tap2Tree + ".1.3.2.0"
	ipCapabilities0 = ipTapTree + ".1.1.1.0"
	macCapabilities = tap802 + ".1.1.1.0"
	ucCapabilities0 = userConn + ".1.1.1.0"

	mdEntry        = tap2Tree + ".1.1.2.1"  // cTap2MediationEntry
	streamEntry    = tap2Tree + ".1.2.1.1"  // cTap2StreamEntry
	debugEntry     = tap2Tree + ".1.3.3.1"  // cTap2DebugEntry
	debugUserEntry = tap2Tree + ".1.3.4.1"  // cTap2DebugUserEntry
	ipEntry        = ipTapTree + ".1.1.2.1" // citapStreamEntry
	macEntry       = tap802 + ".1.1.2.1"    // c802tapStreamEntry
	ucEntry        = userConn + ".1.1.2.1"  // cuctTapStreamEntry
)

// cTap2MediationEntry columns.
const (
	mdDestAddressType = 2
	mdDestAddress     = 3
	mdDestPort        = 4
	mdSrcInterface    = 5
	mdRtcpPort        = 6
	mdDscp            = 7
	mdDataType        = 8
	mdRetransmitType  = 9
	mdTimeout         = 10
	mdTransport       = 11
	mdNotifEnable     = 12
	mdStatus          = 13
)

// cTap2StreamEntry columns, cTap2StreamType and TruthValue values.
const (
	stType        = 2
	stEnable      = 3
	stPackets     = 4
	stStatus      = 6
	stHCPackets   = 7
	stHCDrops     = 8
	streamTypeIP  = 1
	streamTypeMAC = 2
	truthTrue     = 1
	truthFalse    = 2
)

// cTap2DebugEntry, cTap2DebugUserEntry and cuctTapStreamEntry columns.
const (
	dbgStatus       = 5
	dbgUserTimeout  = 2
	dbgUserStorage  = 3
	dbgUserStatus   = 4
	ucAcctSessionID = 1
	ucStatus        = 2
)

// citapStreamEntry columns.
const (
	ipInterface  = 1
	ipAddrType   = 2
	ipDstAddress = 3
	ipDstLength  = 4
	ipProtocol   = 10
	ipDstPortMin = 11
	ipDstPortMax = 12
	ipVRF        = 15
	ipStatus     = 16
)

// c802tapStreamEntry columns.
const (
	macFields    = 1
	macInterface = 2
	macDst       = 3
	macSrc       = 4
	macStatus    = 8
)

// RowStatus values.
const (
	rsActive        = 1
	rsNotInService  = 2
	rsNotReady      = 3
	rsCreateAndGo   = 4
	rsCreateAndWait = 5
	rsDestroy       = 6
)

// oid builds entry.column.index... as a dotted string.
func oid(entry string, column int, index ...uint32) string {
	var b strings.Builder
	b.WriteString(entry)
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(column))
	for _, x := range index {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	}
	return b.String()
}

// strIndex is a variable-length OCTET STRING index: length, then octets.
func strIndex(s string) []uint32 {
	out := []uint32{uint32(len(s))}
	for i := 0; i < len(s); i++ {
		out = append(out, uint32(s[i]))
	}
	return out
}

// bed is one private snmpd with tapagent registered behind it.
type bed struct {
	t     testing.TB
	snmpd *testbed.Snmpd
	agent *testbed.Agent
	bin   testbed.Binaries
	li    *gosnmp.GoSNMP
}

// startBed starts snmpd and tapagent; t.Cleanup stops both.
func startBed(t testing.TB) *bed {
	t.Helper()
	bin := testbed.BuildBinaries(t)
	s := testbed.StartSnmpd(t, testbed.Options{})
	// Provisioning only: these tests make taps for addresses outside any
	// test namespace, so nothing may be captured or sent.
	a := testbed.StartTapagent(t, s, bin.Tapagent, "--capture", "none")
	return &bed{t: t, snmpd: s, agent: a, bin: bin, li: s.LIClient()}
}

// in is b reporting to t: subtests use it so that a fatal failure ends
// the subtest, not its parent.
func (b *bed) in(t testing.TB) *bed {
	c := *b
	c.t = t
	return &c
}

// cmdResult is what a command-line tool did.
type cmdResult struct {
	code           int
	stdout, stderr string
}

func (r cmdResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCmd runs cmd with a deadline and collects its outcome; a command that
// could not run at all fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	res := cmdResult{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v\n%s", strings.Join(cmd.Args, " "), err, res)
	}
	return res
}

// cli runs one of our commands (setany, getmany) with the test bed's
// net-snmp client environment, so v3 credentials come from its snmp.conf.
func (b *bed) cli(bin string, args ...string) cmdResult {
	b.t.Helper()
	if bin == "" {
		b.t.Fatal("command not built (cmd/setany or cmd/getmany missing)")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = b.snmpd.NetSNMPEnv()
	return runCmd(b.t, cmd)
}

// netsnmp runs a net-snmp tool as u with numeric OIDs and no retries.
func (b *bed) netsnmp(tool string, u testbed.User, args ...string) cmdResult {
	b.t.Helper()
	return runCmd(b.t, b.snmpd.NetSNMPCommand(tool, u, args...))
}

// vb is one varbind to SET, in net-snmp's notation: kind is snmpset's type
// letter (i integer, u unsigned/Gauge32, x hex octets, s string octets,
// a IpAddress, o OID).
type vb struct {
	oid  string
	kind byte
	val  string
}

func vInt(o string, n int) vb       { return vb{o, 'i', strconv.Itoa(n)} }
func vGauge(o string, n uint32) vb  { return vb{o, 'u', strconv.FormatUint(uint64(n), 10)} }
func vHex(o string, h string) vb    { return vb{o, 'x', h} }
func vString(o string, s string) vb { return vb{o, 's', s} }

// args are the snmpset arguments of v.
func (v vb) args() []string { return []string{v.oid, string(v.kind), v.val} }

// pdu is v for gosnmp.
func (v vb) pdu() (gosnmp.SnmpPDU, error) {
	p := gosnmp.SnmpPDU{Name: v.oid}
	switch v.kind {
	case 'i':
		n, err := strconv.Atoi(v.val)
		if err != nil {
			return p, fmt.Errorf("%s: %w", v.oid, err)
		}
		p.Type, p.Value = gosnmp.Integer, n
	case 'u':
		n, err := strconv.ParseUint(v.val, 10, 32)
		if err != nil {
			return p, fmt.Errorf("%s: %w", v.oid, err)
		}
		p.Type, p.Value = gosnmp.Gauge32, uint32(n)
	case 'x':
		raw, err := hex.DecodeString(strings.ReplaceAll(v.val, " ", ""))
		if err != nil {
			return p, fmt.Errorf("%s: %w", v.oid, err)
		}
		p.Type, p.Value = gosnmp.OctetString, raw
	case 's':
		p.Type, p.Value = gosnmp.OctetString, []byte(v.val)
	case 'a':
		p.Type, p.Value = gosnmp.IPAddress, v.val
	case 'o':
		p.Type, p.Value = gosnmp.ObjectIdentifier, v.val
	default:
		return p, fmt.Errorf("%s: unknown kind %q", v.oid, v.kind)
	}
	return p, nil
}

func pdus(vbs []vb) ([]gosnmp.SnmpPDU, error) {
	out := make([]gosnmp.SnmpPDU, len(vbs))
	for i, v := range vbs {
		p, err := v.pdu()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// setWith sends one SET PDU with c and returns the agent's error status and
// 1-based error index (0, 0 on success).
func setWith(c *gosnmp.GoSNMP, vbs ...vb) (gosnmp.SNMPError, int, error) {
	ps, err := pdus(vbs)
	if err != nil {
		return 0, 0, err
	}
	r, err := c.Set(ps)
	if err != nil {
		return 0, 0, fmt.Errorf("set: %w", err)
	}
	return r.Error, int(r.ErrorIndex), nil
}

// set sends one SET PDU as li and fails the test unless it succeeds.
func (b *bed) set(vbs ...vb) {
	b.t.Helper()
	st, idx, err := setWith(b.li, vbs...)
	if err != nil {
		b.t.Fatal(err)
	}
	if st != gosnmp.NoError {
		b.t.Fatalf("SET %v: %v on varbind %d", vbs, st, idx)
	}
}

// get reads one OID as li.
func (b *bed) get(o string) gosnmp.SnmpPDU {
	b.t.Helper()
	r, err := b.li.Get([]string{o})
	if err != nil {
		b.t.Fatalf("GET %s: %v", o, err)
	}
	if r.Error != gosnmp.NoError || len(r.Variables) != 1 {
		b.t.Fatalf("GET %s: %v (%d varbinds)", o, r.Error, len(r.Variables))
	}
	return r.Variables[0]
}

// walkLI bulk-walks root as li with gosnmp.
func (b *bed) walkLI(root string) []gosnmp.SnmpPDU {
	b.t.Helper()
	out, err := b.li.BulkWalkAll(root)
	if err != nil {
		b.t.Fatalf("bulk walk %s: %v", root, err)
	}
	return out
}

// snapshot renders everything li sees under ciscoMgmt, one "oid = type
// value" line each. cTap2MediationNewIndex changes on every read, so only
// its presence is kept.
func (b *bed) snapshot() string {
	b.t.Helper()
	var lines []string
	for _, p := range b.walkLI(ciscoMgmt) {
		if p.Name == newIndex0 {
			lines = append(lines, p.Name+" = (NewIndex)")
			continue
		}
		lines = append(lines, p.Name+" = "+renderValue(p))
	}
	return strings.Join(lines, "\n")
}

// renderValue prints a gosnmp value with its type; octets in hex.
func renderValue(p gosnmp.SnmpPDU) string {
	if raw, ok := p.Value.([]byte); ok {
		return fmt.Sprintf("%v %x", p.Type, raw)
	}
	return fmt.Sprintf("%v %v", p.Type, p.Value)
}

// futureTimeout is a DateAndTime (local time, 8 octets, as the agent reads
// it) d from now, in setany's colon-hex style with single-digit groups
// (07:EB:B:15:C:30:20:0) and as plain hex for snmpset and snmpget -Ox.
func futureTimeout(d time.Duration) (colon, plain string) {
	t := time.Now().Add(d).Local()
	raw := []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
	parts := []string{fmt.Sprintf("%02X", raw[0])}
	for _, x := range raw[1:] {
		parts = append(parts, fmt.Sprintf("%X", x))
	}
	return strings.Join(parts, ":"), hex.EncodeToString(raw)
}

// netLine is one varbind of net-snmp output: ".1.3... = TYPE: value".
type netLine struct {
	oid, typ, val string
}

// parseNetSNMP reads the varbind lines of net-snmp tool output with -On.
// Long hex strings continue on lines that do not start with a dot; they are
// joined to their varbind. Values without a "TYPE: " prefix (exceptions such
// as "No Such Object ...", empty strings) keep typ empty.
func parseNetSNMP(out string) []netLine {
	var lines []netLine
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		name, rest, ok := strings.Cut(l, " = ")
		if !ok || !strings.HasPrefix(name, ".") {
			if n := len(lines); n > 0 {
				lines[n-1].val = strings.TrimSpace(lines[n-1].val + " " + strings.TrimSpace(l))
			}
			continue
		}
		nl := netLine{oid: name, val: strings.TrimSpace(rest)}
		if typ, val, ok := strings.Cut(rest, ": "); ok && !strings.ContainsAny(typ, " \"") {
			nl.typ, nl.val = typ, strings.TrimSpace(val)
		}
		lines = append(lines, nl)
	}
	return lines
}

// setFailure is what net-snmp's snmpset prints for an error-status:
// "Error in packet. / Reason: X (...) / Failed object: OID".
type setFailure struct {
	reason, oid string
}

func parseSetFailure(out string) (setFailure, bool) {
	var f setFailure
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if r, ok := strings.CutPrefix(l, "Reason: "); ok {
			f.reason, _, _ = strings.Cut(r, " ")
		}
		if o, ok := strings.CutPrefix(l, "Failed object: "); ok {
			f.oid = strings.TrimSpace(o)
		}
	}
	return f, f.reason != "" && f.oid != ""
}

// normHex lowercases a hex dump and drops separators: "0A 0A 00 35 " → 0a0a0035.
func normHex(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", ":", "", "\n", "").Replace(s))
}

// mdRow is a complete, valid cTap2MediationTable row created with createAndGo.
func mdRow(id uint32, timeoutHex string) []vb {
	return []vb{
		vInt(oid(mdEntry, mdStatus, id), rsCreateAndGo),
		vInt(oid(mdEntry, mdDestAddressType, id), 1),
		vHex(oid(mdEntry, mdDestAddress, id), "c6120035"), // 198.18.0.53
		vGauge(oid(mdEntry, mdDestPort, id), 5000+id%1000),
		vInt(oid(mdEntry, mdSrcInterface, id), 0),
		vHex(oid(mdEntry, mdTimeout, id), timeoutHex),
		vInt(oid(mdEntry, mdTransport, id), 1),
	}
}

// macStream is the seed's 802 filter (cable modem MAC, both directions) and
// its generic stream row, created filter first like the seed does.
func macStream(id, idx uint32, mac string) [][]vb {
	return [][]vb{
		{
			vInt(oid(macEntry, macStatus, id, idx), rsCreateAndGo),
			vHex(oid(macEntry, macFields, id, idx), "62"),
			vInt(oid(macEntry, macInterface, id, idx), -1),
			vHex(oid(macEntry, macDst, id, idx), mac),
			vHex(oid(macEntry, macSrc, id, idx), mac),
		},
		{
			vInt(oid(streamEntry, stStatus, id, idx), rsCreateAndGo),
			vInt(oid(streamEntry, stType, id, idx), streamTypeMAC),
			vInt(oid(streamEntry, stEnable, id, idx), truthTrue),
		},
	}
}

// snmpErrors maps net-snmp's reason words to gosnmp's error statuses.
var snmpErrors = map[string]gosnmp.SNMPError{
	"noError": gosnmp.NoError, "tooBig": gosnmp.TooBig, "noSuchName": gosnmp.NoSuchName,
	"badValue": gosnmp.BadValue, "readOnly": gosnmp.ReadOnly, "genErr": gosnmp.GenErr,
	"noAccess": gosnmp.NoAccess, "wrongType": gosnmp.WrongType, "wrongLength": gosnmp.WrongLength,
	"wrongEncoding": gosnmp.WrongEncoding, "wrongValue": gosnmp.WrongValue,
	"noCreation": gosnmp.NoCreation, "inconsistentValue": gosnmp.InconsistentValue,
	"resourceUnavailable": gosnmp.ResourceUnavailable, "commitFailed": gosnmp.CommitFailed,
	"undoFailed": gosnmp.UndoFailed, "authorizationError": gosnmp.AuthorizationError,
	"notWritable": gosnmp.NotWritable, "inconsistentName": gosnmp.InconsistentName,
}
