package snmpcli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfFiles(t *testing.T) {
	got := ConfFiles(env(map[string]string{"HOME": "/home/op"}))
	want := []string{"/etc/snmp/snmp.conf", "/usr/share/snmp/snmp.conf",
		"/usr/lib/x86_64-linux-gnu/snmp/snmp.conf", "/usr/lib/snmp/snmp.conf", "/home/op/.snmp/snmp.conf",
		"/etc/snmp/snmp.local.conf", "/usr/share/snmp/snmp.local.conf",
		"/usr/lib/x86_64-linux-gnu/snmp/snmp.local.conf", "/usr/lib/snmp/snmp.local.conf",
		"/home/op/.snmp/snmp.local.conf"}
	if !slices.Equal(got, want) {
		t.Errorf("default path:\n%q\nwant\n%q", got, want)
	}
	got = ConfFiles(env(map[string]string{"HOME": "/home/op", "SNMPCONFPATH": "/a:/b"}))
	want = []string{"/a/snmp.conf", "/b/snmp.conf", "/a/snmp.local.conf", "/b/snmp.local.conf"}
	if !slices.Equal(got, want) {
		t.Errorf("SNMPCONFPATH:\n%q\nwant\n%q", got, want)
	}
}

func TestLoadDefaults(t *testing.T) {
	dir := filepath.Join("testdata", "conf")
	files := ConfFiles(env(map[string]string{
		"SNMPCONFPATH": filepath.Join(dir, "etc") + ":" + filepath.Join(dir, "missing") + ":" + filepath.Join(dir, "home", ".snmp"),
	}))
	d, err := LoadDefaults(files)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults{
		Version: "3", Community: "sitecommunity", SecurityName: "user9", SecurityLevel: "authPriv",
		AuthType: "SHA-256", AuthPassphrase: "personalauthpass", PrivType: "aes-256",
		PrivPassphrase: "local priv pass", Passphrase: "sharedpassphrase", Context: "ctx-etc",
		Port: 1161, Timeout: 2 * time.Second, Retries: 4,
	}
	if d != want {
		t.Errorf("defaults:\n%+v\nwant\n%+v", d, want)
	}

	// The settings reach a session: flags win, snmp.conf fills the rest.
	o, err := flagSet{timeout: -1, retries: 0, maxRep: -1, privProto: "DES"}.options(d, "agent.example", "user1")
	if err != nil {
		t.Fatal(err)
	}
	s := o.Security
	if o.Version != gosnmp.Version3 || o.Timeout != 2*time.Second || o.Retries != 0 || o.Agent.Port != 1161 ||
		s.Level != gosnmp.AuthPriv || s.AuthProto != gosnmp.SHA256 || s.AuthPass != "personalauthpass" ||
		s.PrivProto != gosnmp.DES || s.PrivPass != "local priv pass" || s.Context != "ctx-etc" {
		t.Errorf("options = %+v", o)
	}
}

func TestParseConfErrors(t *testing.T) {
	d := NoDefaults()
	f, err := os.Open(filepath.Join("testdata", "conf", "bad.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = d.Parse(f, "bad.conf")
	if err == nil || !strings.Contains(err.Error(), `bad.conf:2: timeout: timeout "never"`) {
		t.Errorf("error = %v", err)
	}
	if d.Version != "2c" {
		t.Errorf("lines before the error still apply: version %q", d.Version)
	}
	tests := []struct{ line, want string }{
		{"defVersion 4", `version "4"`},
		{"defSecurityLevel most", `security level "most"`},
		{"defAuthType CRC32", `authentication protocol "CRC32"`},
		{"defPrivType XOR", `privacy protocol "XOR"`},
		{"defaultPort 0", `port "0"`},
		{"retries many", `retries "many"`},
		{"[snmp", "unterminated section"},
	}
	for _, tc := range tests {
		d := NoDefaults()
		if err := d.Parse(strings.NewReader(tc.line), "x.conf"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.line, err, tc.want)
		}
	}
}

func TestIncludeLoop(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "snmp.conf")
	if err := os.WriteFile(loop, []byte("includeFile snmp.conf\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDefaults([]string{loop}); err == nil || !strings.Contains(err.Error(), "nest deeper") {
		t.Errorf("error = %v", err)
	}
}

func TestOptionsSecurity(t *testing.T) {
	conf := NoDefaults()
	conf.SecurityLevel, conf.AuthPassphrase, conf.AuthType = "authNoPriv", "confauthpass", "SHA"
	tests := []struct {
		name  string
		flags flagSet
		conf  Defaults
		want  Security
	}{
		{"nothing: noAuthNoPriv", flagSet{}, NoDefaults(),
			Security{Level: gosnmp.NoAuthNoPriv, AuthProto: gosnmp.NoAuth, PrivProto: gosnmp.NoPriv}},
		{"auth pass implies authNoPriv with MD5", flagSet{authPass: "12345678"}, NoDefaults(),
			Security{Level: gosnmp.AuthNoPriv, AuthProto: gosnmp.MD5, AuthPass: "12345678", PrivProto: gosnmp.NoPriv}},
		{"both passes imply authPriv with DES", flagSet{authPass: "12345678", privPass: "abcdefgh"}, NoDefaults(),
			Security{Level: gosnmp.AuthPriv, AuthProto: gosnmp.MD5, AuthPass: "12345678", PrivProto: gosnmp.DES, PrivPass: "abcdefgh"}},
		{"explicit level drops unused passes", flagSet{level: "noAuthNoPriv", authPass: "12345678"}, NoDefaults(),
			Security{Level: gosnmp.NoAuthNoPriv, AuthProto: gosnmp.NoAuth, PrivProto: gosnmp.NoPriv}},
		{"snmp.conf level and pass", flagSet{}, conf,
			Security{Level: gosnmp.AuthNoPriv, AuthProto: gosnmp.SHA, AuthPass: "confauthpass", PrivProto: gosnmp.NoPriv}},
		{"flags beat snmp.conf", flagSet{level: "authPriv", authProto: "sha-512", privProto: "AES256C", privPass: "flagprivpass", context: "c1"}, conf,
			Security{Level: gosnmp.AuthPriv, AuthProto: gosnmp.SHA512, AuthPass: "confauthpass", PrivProto: gosnmp.AES256C, PrivPass: "flagprivpass", Context: "c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := tc.flags
			fs.timeout, fs.retries, fs.maxRep = -1, -1, -1
			o, err := fs.options(tc.conf, "10.0.0.1", "user1")
			if err != nil {
				t.Fatal(err)
			}
			if o.Security != tc.want {
				t.Errorf("security = %+v\nwant       %+v", o.Security, tc.want)
			}
			if o.Timeout != DefaultTimeout || o.Retries != DefaultRetries || o.Agent.Port != DefaultPort {
				t.Errorf("built-in defaults not applied: %+v", o)
			}
		})
	}
	// v1/v2c take the community from the command line and ignore USM settings.
	fs := flagSet{version: "1", timeout: -1, retries: -1, maxRep: -1}
	o, err := fs.options(conf, "10.0.0.1", "private")
	if err != nil || o.Version != gosnmp.Version1 || o.Principal != "private" || o.Security != (Security{}) {
		t.Errorf("v1 options = %+v, %v", o, err)
	}
	conf.Version = "2c"
	fs.version = ""
	if o, _ := fs.options(conf, "10.0.0.1", "public"); o.Version != gosnmp.Version2c {
		t.Errorf("defVersion 2c gave %v", o.Version)
	}
}

func TestParseAgent(t *testing.T) {
	tests := []struct {
		in, transport, host string
		port                uint16
	}{
		{"10.12.0.34", "udp", "10.12.0.34", 161},
		{"10.12.0.34:1161", "udp", "10.12.0.34", 1161},
		{"agent.example", "udp", "agent.example", 161},
		{"agent.example:16100", "udp", "agent.example", 16100},
		{"[2001:db8::1]:1161", "udp", "2001:db8::1", 1161},
		{"[2001:db8::1]", "udp", "2001:db8::1", 161},
		{"2001:db8::1", "udp", "2001:db8::1", 161},
		{"udp6:[::1]:1161", "udp6", "::1", 1161},
		{"tcp:127.0.0.1:1161", "tcp", "127.0.0.1", 1161},
		{"UDP:host", "udp", "host", 161},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAgent(tc.in, DefaultPort)
			if err != nil {
				t.Fatal(err)
			}
			if a.Transport != tc.transport || a.Host != tc.host || a.Port != tc.port {
				t.Errorf("got %+v", a)
			}
		})
	}
	bad := []struct{ in, want string }{
		{"", "empty host"},
		{":161", "empty host"},
		{"host:", "empty port"},
		{"host:x", `port "x"`},
		{"host:65536", `port "65536"`},
		{"[::1", "missing ]"},
		{"[::1]x", `unexpected "x"`},
		{"[::1]:", "empty port"},
		{"[host]:161", "not an IP address"},
		{"fe80::zz", "not an IPv6 address"},
		{"two words", "not a host name"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			if _, err := ParseAgent(tc.in, DefaultPort); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
