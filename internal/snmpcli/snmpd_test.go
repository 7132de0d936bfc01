package snmpcli

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgainstSnmpd drives setany and getmany through real gosnmp sessions
// against a private net-snmp snmpd on loopback: SNMPv3 authPriv with the
// credentials from an snmp.conf (as in the seed lines), v2c, a refused SET,
// a repeated object split into two SETs, and a wrong pass phrase.
func TestAgainstSnmpd(t *testing.T) {
	snmpd, err := exec.LookPath("snmpd")
	if err != nil {
		t.Skip("snmpd (Debian package snmpd) is not installed")
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := filepath.Join(dir, "snmpd.conf")
	writeFile(t, conf, fmt.Sprintf(`[snmp] persistentDir %s
createUser liuser SHA "li-auth-pass" AES "li-priv-pass"
rwuser liuser priv
rwcommunity private 127.0.0.1
rocommunity public 127.0.0.1
`, filepath.Join(dir, "persist")))
	clientConf := filepath.Join(dir, "client")
	if err := os.Mkdir(clientConf, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(clientConf, "snmp.conf"), `defSecurityLevel authPriv
defAuthType SHA
defAuthPassphrase li-auth-pass
defPrivType AES
defPrivPassphrase li-priv-pass
`)

	cmd := exec.Command(snmpd, "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "snmpd.log"),
		"-I", "-smux", "-m", "", "-M", dir, fmt.Sprintf("udp:127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "SNMPCONFPATH="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	e := OSEnv()
	e.Getenv = env(map[string]string{"SNMPCONFPATH": clientConf})
	agent := fmt.Sprintf("127.0.0.1:%d", port)
	// Generous timeouts: a loaded test machine can stall snmpd for seconds.
	run := func(get bool, line string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		e.Stdout, e.Stderr = &stdout, &stderr
		args := append([]string{"-timeout", "5", "-retries", "1"}, words(line)...)
		if get {
			return GetMany(e, args), stdout.String(), stderr.String()
		}
		return SetAny(e, args), stdout.String(), stderr.String()
	}

	// Wait for snmpd to answer (it creates the user at start-up).
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, stderr := run(true, "-timeout 0.5 -retries 0 "+agent+" liuser .1.3.6.1.2.1.1.3.0")
		if code == ExitOK {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "snmpd.log"))
			t.Fatalf("snmpd did not answer: %s\nlog:\n%s", stderr, log)
		}
		time.Sleep(100 * time.Millisecond)
	}

	sysDescr, sysContact, sysLocation := ".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.4.0", ".1.3.6.1.2.1.1.6.0"
	tests := []struct {
		name           string
		get            bool
		line           string
		code           int
		stdout, stderr string
	}{
		{name: "v3 set with snmp.conf credentials",
			line:   agent + " liuser " + sysContact + ` -s "li ops" ` + sysLocation + " -o 6c:61:62",
			stdout: "mib-2.1.4.0 = \"li ops\"\nmib-2.1.6.0 = \"lab\"\n"},
		{name: "v3 get back", get: true, line: agent + " liuser " + sysContact + " " + sysLocation,
			stdout: "mib-2.1.4.0 = \"li ops\"\nmib-2.1.6.0 = \"lab\"\n"},
		{name: "repeated object: two SETs in order",
			line:   agent + " liuser " + sysContact + " -s first " + sysContact + " -s second",
			stdout: "mib-2.1.4.0 = \"first\"\nmib-2.1.4.0 = \"second\"\n"},
		{name: "v2c walk", get: true, line: "-v2c " + agent + " public .1.3.6.1.2.1.1.4",
			stdout: "mib-2.1.4.0 = \"second\"\n"},
		{name: "refused SET", line: agent + " liuser " + sysContact + " -s x " + sysDescr + " -s y",
			code: ExitFailure, stderr: "setany: mib-2.1.1.0: notWritable (varbind 2)\n"},
		{name: "wrong type", line: agent + " liuser " + sysContact + " -i 5",
			code: ExitFailure, stderr: "setany: mib-2.1.4.0: wrongType (varbind 1)\n"},
		{name: "v1 read-only community", line: "-v1 " + agent + " public " + sysContact + " -s x",
			code: ExitFailure, stderr: "setany: mib-2.1.4.0: noSuchName (varbind 1)\n"},
		{name: "wrong pass phrase", get: true, line: "-auth-pass wrong-pass " + agent + " liuser " + sysContact,
			code: ExitFailure, stderr: "getmany: agent " + agent + ": incoming packet is not authentic, discarding\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(tc.get, tc.line)
			if code != tc.code || stdout != tc.stdout || stderr != tc.stderr {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	// The refused SET changed nothing: the PDU is all or nothing.
	if _, stdout, _ := run(true, agent+" liuser "+sysContact); !strings.Contains(stdout, `"second"`) {
		t.Errorf("after the refused SET sysContact is %q", stdout)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
