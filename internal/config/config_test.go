package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gophone/gophone/internal/codec"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testEnv is a home with no XDG variables set.
var testEnv = env(map[string]string{"HOME": "/home/u"})

// parseTest parses src as /cfg/t.ini in testEnv.
func parseTest(src string) (*Config, []Warning, error) {
	c, rep, err := parse("/cfg/t.ini", "/cfg", []byte(src), testEnv)
	if err != nil {
		return nil, nil, err
	}
	return c, rep.Warnings, nil
}

func TestDefault(t *testing.T) {
	c := defaults(testEnv)
	want := &Config{
		Listen:          "127.0.0.1:5060",
		RTPPortMin:      10000,
		RTPPortMax:      20000,
		ControlSocket:   "/home/u/.local/share/gophone/gophone.sock",
		HTTPListen:      "127.0.0.1:6060",
		DataDir:         "/home/u/.local/share/gophone",
		CallWaiting:     true,
		RecordingPath:   "/home/u/.local/share/gophone/recordings",
		UserAgent:       "gophone",
		AudioInput:      "null",
		AudioOutput:     "null",
		Volume:          100,
		MicVolume:       100,
		DTMFPause:       500 * time.Millisecond,
		DTMFMethod:      "auto",
		Codecs:          []string{"PCMU", "PCMA"},
		Hooks:           map[string]string{},
		MaxHooks:        8,
		MaxRingingCalls: 100,
		MaxRingRate:     20,
		Accounts: []Account{{
			ID:              "1",
			RegisterRefresh: 300 * time.Second,
			Codecs:          []string{"PCMU", "PCMA"},
		}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults =\n%+v\nwant\n%+v", c, want)
	}
	if !c.Accounts[0].Local() {
		t.Error("default account is not local")
	}
}

func TestDefaultDirs(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		dataDir, sock  string
		resolvedConfig string
	}{
		{
			name:           "home only",
			env:            map[string]string{"HOME": "/home/u"},
			dataDir:        "/home/u/.local/share/gophone",
			sock:           "/home/u/.local/share/gophone/gophone.sock",
			resolvedConfig: "/home/u/.config/gophone/gophone.ini",
		},
		{
			name:           "XDG set",
			env:            map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "/d", "XDG_RUNTIME_DIR": "/run/user/7", "XDG_CONFIG_HOME": "/c"},
			dataDir:        "/d/gophone",
			sock:           "/run/user/7/gophone/gophone.sock",
			resolvedConfig: "/c/gophone/gophone.ini",
		},
		{
			name:           "relative XDG ignored",
			env:            map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "d", "XDG_RUNTIME_DIR": "r", "XDG_CONFIG_HOME": "c"},
			dataDir:        "/home/u/.local/share/gophone",
			sock:           "/home/u/.local/share/gophone/gophone.sock",
			resolvedConfig: "/home/u/.config/gophone/gophone.ini",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(env(tt.env))
			if c.DataDir != tt.dataDir || c.ControlSocket != tt.sock {
				t.Errorf("dataDir, controlSocket = %q, %q; want %q, %q", c.DataDir, c.ControlSocket, tt.dataDir, tt.sock)
			}
			if got := Resolve("", env(tt.env)); got != tt.resolvedConfig {
				t.Errorf("Resolve = %q, want %q", got, tt.resolvedConfig)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"/f.ini", map[string]string{"GOPHONE_CONFIG": "/e.ini", "XDG_CONFIG_HOME": "/c"}, "/f.ini"},
		{"", map[string]string{"GOPHONE_CONFIG": "/e.ini", "XDG_CONFIG_HOME": "/c"}, "/e.ini"},
		{"", map[string]string{"XDG_CONFIG_HOME": "/c", "HOME": "/h"}, "/c/gophone/gophone.ini"},
		{"", map[string]string{"HOME": "/h"}, "/h/.config/gophone/gophone.ini"},
	}
	for _, tt := range tests {
		if got := Resolve(tt.flag, env(tt.env)); got != tt.want {
			t.Errorf("Resolve(%q, %v) = %q, want %q", tt.flag, tt.env, got, tt.want)
		}
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		ini  string
		get  func(*Config) any
		want any
	}{
		{"listen=0.0.0.0:5070", func(c *Config) any { return c.Listen }, "0.0.0.0:5070"},
		{"listen=[::1]:5060", func(c *Config) any { return c.Listen }, "[::1]:5060"},
		{"listen=:0", func(c *Config) any { return c.Listen }, ":0"},
		{"listen=", func(c *Config) any { return c.Listen }, "127.0.0.1:5060"},
		{"tlsListen=127.0.0.1:5061", func(c *Config) any { return c.TLSListen }, "127.0.0.1:5061"},
		{"tlsListen=", func(c *Config) any { return c.TLSListen }, ""},
		{"dnsServer=127.0.0.1:5353", func(c *Config) any { return c.DNSServer }, "127.0.0.1:5353"},
		{"rtpPorts=4000-4100", func(c *Config) any { return [2]int{c.RTPPortMin, c.RTPPortMax} }, [2]int{4000, 4100}},
		{"rtpPorts= 4000 - 4100 ", func(c *Config) any { return [2]int{c.RTPPortMin, c.RTPPortMax} }, [2]int{4000, 4100}},
		{"controlSocket=/run/g.sock", func(c *Config) any { return c.ControlSocket }, "/run/g.sock"},
		{"controlSocket=g.sock", func(c *Config) any { return c.ControlSocket }, "/cfg/g.sock"},
		{"controlSocket=~/g.sock", func(c *Config) any { return c.ControlSocket }, "/home/u/g.sock"},
		{"httpListen=127.0.0.1:8080", func(c *Config) any { return c.HTTPListen }, "127.0.0.1:8080"},
		{"httpListen=", func(c *Config) any { return c.HTTPListen }, ""},
		{"httpListen=\"\"", func(c *Config) any { return c.HTTPListen }, ""},
		{"apiToken=abc", func(c *Config) any { return c.APIToken }, "abc"},
		{"apiToken=YWJj==", func(c *Config) any { return c.APIToken }, "YWJj=="},
		{"dataDir=/var/lib/g", func(c *Config) any { return []string{c.DataDir, c.ControlSocket, c.RecordingPath} },
			[]string{"/var/lib/g", "/var/lib/g/gophone.sock", "/var/lib/g/recordings"}},
		{"dataDir=data", func(c *Config) any { return c.DataDir }, "/cfg/data"},
		{"logFile=/var/log/g.log", func(c *Config) any { return c.LogFile }, "/var/log/g.log"},
		{"autoAnswer=button", func(c *Config) any { return c.AutoAnswer }, "button"},
		{"autoAnswer=HEADER", func(c *Config) any { return c.AutoAnswer }, "header"},
		{"autoAnswer=all", func(c *Config) any { return c.AutoAnswer }, "all"},
		{"autoAnswer=", func(c *Config) any { return c.AutoAnswer }, ""},
		{"autoAnswerDelay=3", func(c *Config) any { return c.AutoAnswerDelay }, 3 * time.Second},
		{"autoAnswerNumber=1001", func(c *Config) any { return c.AutoAnswerNumber }, "1001"},
		{"denyIncoming=remotedomain", func(c *Config) any { return c.DenyIncoming }, "remotedomain"},
		{"denyIncoming=UserDomain", func(c *Config) any { return c.DenyIncoming }, "userdomain"},
		{"DND=1", func(c *Config) any { return c.DND }, true},
		{"dnd=yes", func(c *Config) any { return c.DND }, true},
		{"DND=off", func(c *Config) any { return c.DND }, false},
		{"forwarding=button\nforwardingNumber=1002", func(c *Config) any { return c.Forwarding + " " + c.ForwardingNumber }, "button 1002"},
		{"forwardingDelay=15", func(c *Config) any { return c.ForwardingDelay }, 15 * time.Second},
		{"maxConcurrentCalls=4", func(c *Config) any { return c.MaxConcurrentCalls }, 4},
		{"maxRingingCalls=0", func(c *Config) any { return c.MaxRingingCalls }, 0},
		{"maxRingRate=500", func(c *Config) any { return c.MaxRingRate }, 500},
		{"callWaiting=0", func(c *Config) any { return c.CallWaiting }, false},
		{"callWaiting=", func(c *Config) any { return c.CallWaiting }, true},
		{"autoHangUpTime=60", func(c *Config) any { return c.AutoHangUpTime }, time.Minute},
		{"recordingPath=/rec", func(c *Config) any { return c.RecordingPath }, "/rec"},
		{"autoRecording=TRUE", func(c *Config) any { return c.AutoRecording }, true},
		{"userAgent=Acme/1.0", func(c *Config) any { return c.UserAgent }, "Acme/1.0"},
		{"userAgent=", func(c *Config) any { return c.UserAgent }, "gophone"},
		{"disableMessaging=1", func(c *Config) any { return c.DisableMessaging }, true},
		{"audioInput=tone:440", func(c *Config) any { return c.AudioInput }, "tone:440"},
		{"audioOutput=file:out.wav", func(c *Config) any { return c.AudioOutput }, "file:out.wav"},
		{"audioOutput=\"file:a b.wav\"", func(c *Config) any { return c.AudioOutput }, "file:a b.wav"},
		{"volume=0", func(c *Config) any { return c.Volume }, 0},
		{"micVolume=55", func(c *Config) any { return c.MicVolume }, 55},
		{"dtmfPause=250", func(c *Config) any { return c.DTMFPause }, 250 * time.Millisecond},
		{"DTMFMethod=info", func(c *Config) any { return c.DTMFMethod }, "info"},
		{"dtmfmethod=InBand", func(c *Config) any { return c.DTMFMethod }, "inband"},
		{"DTMFMethod=0", func(c *Config) any { return c.DTMFMethod }, "auto"},
		{"DTMFMethod=1", func(c *Config) any { return c.DTMFMethod }, "inband"},
		{"DTMFMethod=2", func(c *Config) any { return c.DTMFMethod }, "rfc4733"},
		{"DTMFMethod=3", func(c *Config) any { return c.DTMFMethod }, "info"},
		{"cmdCallStart=\"/opt/x y/hook\" start {number}", func(c *Config) any { return c.Hooks },
			map[string]string{"cmdCallStart": `"/opt/x y/hook" start {number}`}},
		{"CMDDTMF=dtmf.sh\ncmdCallEnd=", func(c *Config) any { return c.Hooks }, map[string]string{"cmdDTMF": "dtmf.sh"}},
		{"maxHooks=2", func(c *Config) any { return c.MaxHooks }, 2},
		{"maxHooks=", func(c *Config) any { return c.MaxHooks }, 8},
	}
	for _, tt := range tests {
		t.Run(tt.ini, func(t *testing.T) {
			c, w, err := parseTest("[Settings]\n" + tt.ini + "\n")
			if err != nil {
				t.Fatal(err)
			}
			if len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestHookNamesAllKnown(t *testing.T) {
	var b strings.Builder
	b.WriteString("[Settings]\n")
	for i, h := range HookNames() {
		fmt.Fprintf(&b, "%s=hook %d\n", h, i)
	}
	c, w, err := parseTest(b.String())
	if err != nil || len(w) > 0 {
		t.Fatalf("err %v, warnings %v", err, w)
	}
	if len(c.Hooks) != 10 {
		t.Errorf("hooks = %v", c.Hooks)
	}
}

func TestAccounts(t *testing.T) {
	tests := []struct {
		ini  string
		get  func(*Account) any
		want any
	}{
		{"label=Office", func(a *Account) any { return a.Label }, "Office"},
		{"server=pbx.example.com", func(a *Account) any { return []any{a.Server, a.Domain, a.Local()} }, []any{"pbx.example.com", "pbx.example.com", false}},
		{"server=pbx\ndomain=example.com", func(a *Account) any { return a.Domain }, "example.com"},
		{"proxy=sip:proxy.example.com;lr", func(a *Account) any { return a.Proxy }, "sip:proxy.example.com;lr"},
		{"username=1001", func(a *Account) any { return a.Username }, "1001"},
		{"password=a;b#c", func(a *Account) any { return a.Password }, "a;b#c"},
		{"password=\" spaced \"", func(a *Account) any { return a.Password }, " spaced "},
		{"authID=u1001", func(a *Account) any { return a.AuthID }, "u1001"},
		{"displayName=Alice Example", func(a *Account) any { return a.DisplayName }, "Alice Example"},
		{"transport=TCP", func(a *Account) any { return a.Transport }, "tcp"},
		{"transport=tls", func(a *Account) any { return a.Transport }, "tls"},
		{"transport=", func(a *Account) any { return a.Transport }, ""},
		{"registerRefresh=120", func(a *Account) any { return a.RegisterRefresh }, 2 * time.Minute},
		{"keepAlive=15", func(a *Account) any { return a.KeepAlive }, 15 * time.Second},
		{"SRTP=optional", func(a *Account) any { return a.SRTP }, "optional"},
		{"srtp=Mandatory", func(a *Account) any { return a.SRTP }, "mandatory"},
		{"SRTP=", func(a *Account) any { return a.SRTP }, ""},
		{"SRTP=disabled", func(a *Account) any { return a.SRTP }, ""},
		{"srtpOverUDP=1", func(a *Account) any { return a.SRTPOverUDP }, true},
		{"srtpOverUDP=0", func(a *Account) any { return a.SRTPOverUDP }, false},
		{"tlsCAFile=ca.pem", func(a *Account) any { return a.TLSCAFile }, "/cfg/ca.pem"},
		{"codecs=G729, g722,pcma", func(a *Account) any { return a.Codecs }, []string{"G722", "PCMA"}},
		{"codecs=PCMU,G729", func(a *Account) any { return a.Codecs }, []string{"PCMU"}},
		{"codecs=telephone-event", func(a *Account) any { return a.Codecs }, []string{"PCMU", "PCMA", "telephone-event"}},
		{"codecs=,", func(a *Account) any { return a.Codecs }, []string{"PCMU", "PCMA"}},
		{"registerRefresh=0", func(a *Account) any { return a.RegisterRefresh }, 300 * time.Second},
		{"registerRefresh=5", func(a *Account) any { return a.RegisterRefresh }, 10 * time.Second},
		{"keepAlive=0", func(a *Account) any { return a.KeepAlive }, 15 * time.Second},
		{"keepAlive=-1", func(a *Account) any { return a.KeepAlive }, 15 * time.Second},
		{"transport=auto", func(a *Account) any { return a.Transport }, ""},
		{"transport=udp", func(a *Account) any { return a.Transport }, "udp"},
		{"insecure=1", func(a *Account) any { return a.Insecure }, true},
		{"codecs=PCMA/8000/1 Telephone-Event/8000", func(a *Account) any { return a.Codecs }, []string{"PCMA", "telephone-event"}},
		{"codecs=", func(a *Account) any { return a.Codecs }, []string{"PCMU", "PCMA"}},
	}
	for _, tt := range tests {
		t.Run(tt.ini, func(t *testing.T) {
			c, w, err := parseTest("[Account1]\n" + tt.ini + "\n")
			if err != nil {
				t.Fatal(err)
			}
			// A codec list gophone cannot take as written says so.
			lacking := strings.HasPrefix(tt.ini, "codecs=") && !reflect.DeepEqual(tt.want, []string{"PCMA", "telephone-event"}) && tt.ini != "codecs="
			if (len(w) > 0) != lacking {
				t.Errorf("warnings: %v", w)
			}
			if len(c.Accounts) != 1 || c.Accounts[0].ID != "1" {
				t.Fatalf("accounts = %v", c.Accounts)
			}
			if got := tt.get(&c.Accounts[0]); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestAccountSections(t *testing.T) {
	tests := []struct {
		name string
		ini  string
		ids  []string
	}{
		{"none keeps the local account", "[Settings]\nlisten=127.0.0.1:5070\n", []string{"1"}},
		{"numeric order", "[Account10]\n[Account2]\nserver=b\n[account1]\n", []string{"1", "2", "10"}},
		{"gaps kept", "[Account3]\n", []string{"3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := parseTest(tt.ini)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range c.Accounts {
				ids = append(ids, a.ID)
			}
			if !reflect.DeepEqual(ids, tt.ids) {
				t.Errorf("ids = %v, want %v", ids, tt.ids)
			}
		})
	}
	// Accounts must not share a codec slice.
	c, _, _ := parseTest("[Account1]\n[Account2]\n")
	c.Accounts[0].Codecs[0] = "opus"
	if c.Accounts[1].Codecs[0] != "PCMU" {
		t.Error("accounts share their default codecs")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		ini  string
		want string
	}{
		// Syntax.
		{"[Settings]\nlisten 127.0.0.1:5060\n", "/cfg/t.ini:2: line is not a [section], key=value or comment"},
		{"; c\n[Settings\n", "/cfg/t.ini:2: section header without closing ]"},
		{"[Settings] x\n", "/cfg/t.ini:1: text after section header"},
		{"[]\n", "/cfg/t.ini:1: empty section name"},
		{"[Settings]\n=1\n", "/cfg/t.ini:2: key=value line without a key"},
		{"[Settings]\nDND=1\n\n[settings]\n", "/cfg/t.ini:4: duplicate section [settings] (first on line 1)"},
		{"[Settings]\nDND=1\n; x\ndnd=0\n", "/cfg/t.ini:4: duplicate key dnd in [Settings] (first on line 2)"},
		{"[Account1]\nfoo=1\nFOO=2\n", "/cfg/t.ini:3: duplicate key FOO in [Account1] (first on line 2)"},
		// Values.
		{"[Settings]\n\nautoAnswer=sometimes\n", `/cfg/t.ini:3: autoAnswer: "sometimes" is not one of "", button, header, all (or MicroSIP's 0, 1, 2)`},
		{"[Settings]\ndenyIncoming=nobody\n", `/cfg/t.ini:2: denyIncoming: "nobody" is not one of "", button, user, domain, userdomain, remotedomain, all (or MicroSIP's address, rdomain)`},
		{"[Settings]\nforwarding=busy\n", `/cfg/t.ini:2: forwarding: "busy" is not one of "", button, all`},
		{"[Settings]\nforwarding=all\nforwardingDelay=5\n", "/cfg/t.ini:2: forwarding: all needs forwardingNumber"},
		{"[Settings]\nDND=maybe\n", `/cfg/t.ini:2: DND: "maybe" is not a boolean (0/1, true/false, yes/no, on/off)`},
		{"[Settings]\ncallWaiting=maybe\n", `/cfg/t.ini:2: callWaiting: "maybe" is not a boolean (0/1, true/false, yes/no, on/off)`},
		{"[Settings]\nvolume=101\n", "/cfg/t.ini:2: volume: 101 is out of range 0-100"},
		{"[Settings]\nmicVolume=-1\n", "/cfg/t.ini:2: micVolume: -1 is out of range 0-100"},
		{"[Settings]\nvolume=loud\n", `/cfg/t.ini:2: volume: "loud" is not an integer`},
		{"[Settings]\nmaxConcurrentCalls=2.5\n", `/cfg/t.ini:2: maxConcurrentCalls: "2.5" is not an integer`},
		{"[Settings]\nmaxConcurrentCalls=-1\n", "/cfg/t.ini:2: maxConcurrentCalls: -1 is out of range 0-2147483647"},
		{"[Settings]\nmaxRingRate=-1\n", "/cfg/t.ini:2: maxRingRate: -1 is out of range 0-2147483647"},
		{"[Settings]\nautoAnswerDelay=1s\n", `/cfg/t.ini:2: autoAnswerDelay: "1s" is not an integer`},
		{"[Settings]\nforwardingDelay=-3\n", "/cfg/t.ini:2: forwardingDelay: -3 is out of range 0-2147483647"},
		{"[Settings]\nautoHangUpTime=99999999999999999999\n", `/cfg/t.ini:2: autoHangUpTime: "99999999999999999999" is out of range 0-2147483647`},
		{"[Settings]\ndtmfPause=half\n", `/cfg/t.ini:2: dtmfPause: "half" is not an integer`},
		{"[Settings]\nDTMFMethod=4\n", `/cfg/t.ini:2: DTMFMethod: "4" is not one of auto, rfc4733, info, inband (or MicroSIP's 0, 1, 2, 3)`},
		{"[Settings]\nDTMFMethod=rfc2833\n", `/cfg/t.ini:2: DTMFMethod: "rfc2833" is not one of auto, rfc4733, info, inband (or MicroSIP's 0, 1, 2, 3)`},
		{"[Settings]\nmaxHooks=0\n", "/cfg/t.ini:2: maxHooks: 0 is out of range 1-1000"},
		{"[Settings]\ncmdCallEnd=log \"call ended\n", `/cfg/t.ini:2: cmdCallEnd: "log \"call ended" cannot be split into words: EOF found when expecting closing quote`},
		{"[Settings]\ncmdDTMF=log \\\n", `/cfg/t.ini:2: cmdDTMF: "log \\" cannot be split into words: EOF found after escape character`},
		{"[Settings]\ncmdCallRing=\"\" x\n", `/cfg/t.ini:2: cmdCallRing: "\"\" x" names no program`},
		{"[Settings]\nrtpPorts=10000\n", `/cfg/t.ini:2: rtpPorts: "10000" is not MIN-MAX`},
		{"[Settings]\nrtpPorts=a-b\n", `/cfg/t.ini:2: rtpPorts: "a-b" is not MIN-MAX`},
		{"[Settings]\nrtpPorts=20000-10000\n", `/cfg/t.ini:2: rtpPorts: "20000-10000": MIN must be less than MAX`},
		{"[Settings]\nrtpPorts=10001-20000\n", `/cfg/t.ini:2: rtpPorts: "10001-20000": MIN must be even (RTP uses even ports)`},
		{"[Settings]\nrtpPorts=1000-2000\n", `/cfg/t.ini:2: rtpPorts: "1000-2000": ports must be in 1024-65535`},
		{"[Settings]\nrtpPorts=60000-70000\n", `/cfg/t.ini:2: rtpPorts: "60000-70000": ports must be in 1024-65535`},
		{"[Settings]\nlisten=127.0.0.1\n", `/cfg/t.ini:2: listen: "127.0.0.1" is not host:port`},
		{"[Settings]\nlisten=127.0.0.1:sip\n", `/cfg/t.ini:2: listen: "127.0.0.1:sip": port "sip" is not a number 0-65535`},
		{"[Settings]\ntlsListen=h:70000\n", `/cfg/t.ini:2: tlsListen: "h:70000": port "70000" is not a number 0-65535`},
		{"[Settings]\nhttpListen=localhost\n", `/cfg/t.ini:2: httpListen: "localhost" is not host:port`},
		{"[Account1]\ntransport=sctp\n", `/cfg/t.ini:2: transport: "sctp" is not one of udp, tcp, tls (or MicroSIP's auto)`},
		{"[Account1]\nsrtp=always\n", `/cfg/t.ini:2: srtp: "always" is not one of "", disabled, optional, mandatory`},
		{"[Account1]\nkeepAlive=x\n", `/cfg/t.ini:2: keepAlive: "x" is not an integer`},
		{"[Account1]\ncodecs=PCMU,pcmu\n", "/cfg/t.ini:2: codecs: PCMU is listed twice"},
		{"[Account1]\n[Account2]\n\ncodecs=pcma pcma\n", "/cfg/t.ini:4: codecs: PCMA is listed twice"},
		{"[Settings]\nautoAnswer=3\n", `/cfg/t.ini:2: autoAnswer: "3" is not one of "", button, header, all (or MicroSIP's 0, 1, 2)`},
		{"[Settings]\nDTMFMethod=4\n", `/cfg/t.ini:2: DTMFMethod: "4" is not one of auto, rfc4733, info, inband (or MicroSIP's 0, 1, 2, 3)`},
		{"[Settings]\nvolumeOutput=101\n", "/cfg/t.ini:2: volumeOutput: 101 is out of range 0-100"},
		{"[Settings]\nvolume=-1\n", "/cfg/t.ini:2: volume: -1 is out of range 0-100"},
		{"[Settings]\nrtpPortMin=x\n", `/cfg/t.ini:2: rtpPortMin: "x" is not an integer`},
		{"[Settings]\nsourcePort=70000\n", "/cfg/t.ini:2: sourcePort: 70000 is out of range 0-65535"},
		{"[Settings]\naudioInput=Microphone (USB)\n", `/cfg/t.ini:2: audioInput: unknown audio device "Microphone (USB)" (want null, tone:HZ or file:PATH.wav)`},
		{"[Account1]\npasswordFile=/nonexistent/pw\n", "/cfg/t.ini:2: passwordFile: open /nonexistent/pw: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, _, err := parseTest(tt.ini)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "/cfg/t.ini" || ce.Line == 0 {
				t.Errorf("error %#v is not a *Error with file and line", err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	src := "k=v\n[Settings]\nfoo=1\nDND=1\nVAD=1\nmainX=12\n[Account1]\nICE=0\nICE2=1\n[Phonebook]\nx=1\n[Account0]\n[Account01]\n[Calls]\n0=x\n"
	_, w, err := parseTest(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/cfg/t.ini:1: key k outside any section",
		"/cfg/t.ini:3: unknown key foo in [Settings]",
		"/cfg/t.ini:9: unknown key ICE2 in [Account1]",
		"/cfg/t.ini:10: unknown section [Phonebook]",
		"/cfg/t.ini:13: unknown section [Account01]",
		"/cfg/t.ini: MicroSIP settings for features gophone lacks, ignored: VAD=1 (line 5)",
	}
	var got []string
	for _, x := range w {
		got = append(got, x.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEncodings(t *testing.T) {
	text := "; comment\r\n# comment\r\n[Settings]\r\n  userAgent = Zoë \r\n[Account1]\r\npassword=pässword\r\n"
	utf16le := []byte{0xFF, 0xFE}
	utf16be := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(text)) {
		utf16le = append(utf16le, byte(u), byte(u>>8))
		utf16be = append(utf16be, byte(u>>8), byte(u))
	}
	tests := []struct {
		name string
		src  []byte
	}{
		{"CRLF", []byte(text)},
		{"UTF-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, text...)},
		{"UTF-16LE", utf16le},
		{"UTF-16BE", utf16be},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rep, err := parse("/cfg/t.ini", "/cfg", tt.src, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Warnings) > 0 {
				t.Errorf("warnings: %v", rep.Warnings)
			}
			if c.UserAgent != "Zoë" || c.Accounts[0].Password != "pässword" {
				t.Errorf("userAgent %q, password %q", c.UserAgent, c.Accounts[0].Password)
			}
		})
	}
}

func TestSample(t *testing.T) {
	c, rep, err := parse("testdata/microsip.ini", "/cfg", mustRead(t, "testdata/microsip.ini"), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := defaults(testEnv)
	want.Path = "testdata/microsip.ini"
	want.Listen = "0.0.0.0:5070"
	want.RTPPortMin, want.RTPPortMax = 16000, 16999
	want.HTTPListen = ""
	want.APIToken = "s3cr3t-token"
	want.AutoAnswer = "button"
	want.AutoAnswerDelay = 2 * time.Second
	want.Forwarding = "all"
	want.ForwardingNumber = "1009"
	want.ForwardingDelay = 20 * time.Second
	want.CallWaiting = false
	want.MaxConcurrentCalls = 2
	want.AutoHangUpTime = time.Hour
	want.RecordingPath = "/cfg/recordings"
	want.AutoRecording = true
	want.AudioInput = "tone:440"
	want.AudioOutput = "file:/tmp/out.wav"
	want.Hooks = map[string]string{
		"cmdIncomingCall": `"/usr/local/bin/crm popup" {number}`,
		"cmdCallEnd":      `logger -t gophone "call ended"`,
	}
	want.Volume = 80
	want.MicVolume = 90
	want.DTMFPause = 300 * time.Millisecond
	want.Codecs = withOpus("opus", "G722", "PCMA", "PCMU")
	want.Accounts = []Account{
		{
			ID: "1", Label: "Office", Server: "pbx.example.com", Domain: "example.com",
			Username: "1001", Password: "hunter2", DisplayName: "Alice Example",
			Transport: "udp", RegisterRefresh: 300 * time.Second, KeepAlive: 15 * time.Second,
			Codecs: withOpus("opus", "G722", "PCMA", "PCMU"),
		},
		{
			ID: "2", Label: "Trunk TLS", Server: "sip.provider.net:5061", Domain: "sip.provider.net:5061",
			Username: "alice", Password: `p;a"ss`, Transport: "tls", RegisterRefresh: 600 * time.Second,
			SRTP: "mandatory", TLSCAFile: "/cfg/ca.pem", KeepAlive: 0,
			Codecs: withOpus("G722", "opus", "PCMA", "telephone-event"),
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}

	var got []string
	for _, x := range rep.Warnings {
		got = append(got, x.String())
	}
	wantWarnings := []string{
		"testdata/microsip.ini:10: audioCodecs: gophone lacks opus, left out",
		"testdata/microsip.ini:69: codecs: gophone lacks opus, left out",
	}
	if codec.HaveOpus {
		wantWarnings = nil
	}
	if !reflect.DeepEqual(got, wantWarnings) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantWarnings, "\n"))
	}
}

// withOpus returns names, less opus in a build without it (the with_opus_c
// tag): the codec list a config that names them gives.
func withOpus(names ...string) []string {
	if codec.HaveOpus {
		return names
	}
	return slices.DeleteFunc(names, func(n string) bool { return n == "opus" })
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gophone.ini")
	if err := os.WriteFile(path, []byte("[Settings]\ndataDir=data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env(map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/7"})
	c, _, err := load(path, e)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path || c.DataDir != filepath.Join(dir, "data") || c.ControlSocket != "/run/user/7/gophone/gophone.sock" {
		t.Errorf("path %q, dataDir %q, controlSocket %q", c.Path, c.DataDir, c.ControlSocket)
	}

	missing := filepath.Join(dir, "missing.ini")
	if _, _, err := load(missing, e); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
	}
	if _, _, err := loadOrDefault(missing, true, e); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("explicit missing error = %v, want fs.ErrNotExist", err)
	}
	c, w, err := loadOrDefault(missing, false, e)
	if err != nil || w != nil || !reflect.DeepEqual(c, defaults(e)) {
		t.Errorf("default missing = %v, %v, %v; want defaults", c, w, err)
	}
	// A bad file is an error even at the default path.
	bad := filepath.Join(dir, "bad.ini")
	if err := os.WriteFile(bad, []byte("[Settings]\nvolume=200\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrDefault(bad, false, e); err == nil || err.Error() != bad+":2: volume: 200 is out of range 0-100" {
		t.Errorf("bad file error = %v", err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	cfgDir := filepath.Join(dir, "gophone")
	if err := os.Mkdir(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(cfgDir, "gophone.ini")
	if err := os.WriteFile(ini, []byte("[Settings]\nuserAgent=found\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.ini")
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		ua      string // "" means an error is wanted
		wantErr bool
	}{
		{"default path exists", "", map[string]string{"XDG_CONFIG_HOME": dir}, "found", false},
		{"default path missing", "", map[string]string{"XDG_CONFIG_HOME": filepath.Join(dir, "x")}, "gophone", false},
		{"flag", ini, nil, "found", false},
		{"flag missing", missing, map[string]string{"XDG_CONFIG_HOME": dir}, "", true},
		{"env", "", map[string]string{"GOPHONE_CONFIG": ini}, "found", false},
		{"env missing", "", map[string]string{"GOPHONE_CONFIG": missing, "XDG_CONFIG_HOME": dir}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Find(tt.flag, env(tt.env))
			if tt.wantErr {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("error = %v, want fs.ErrNotExist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.UserAgent != tt.ua {
				t.Errorf("userAgent = %q, want %q", c.UserAgent, tt.ua)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	const password, token = "hunter2-secret", "tok-secret"
	c, _, err := parseTest("[Settings]\napiToken=" + token + "\n[Account1]\nserver=pbx\nusername=1001\npassword=" + password + "\n")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Accounts[0]

	var text, js bytes.Buffer
	tl := slog.New(slog.NewTextHandler(&text, nil))
	jl := slog.New(slog.NewJSONHandler(&js, nil))
	for _, l := range []*slog.Logger{tl, jl} {
		l.Info("cfg", "config", c, "account", a, "accounts", c.Accounts, "value", *c)
	}
	jc, _ := json.Marshal(c)
	ja, _ := json.Marshal(a)
	outputs := map[string]string{
		"%v config":   fmt.Sprintf("%v", c),
		"%+v config":  fmt.Sprintf("%+v", *c),
		"%#v config":  fmt.Sprintf("%#v", c),
		"%v account":  fmt.Sprintf("%v", a),
		"%+v account": fmt.Sprintf("%+v", &a),
		"%#v account": fmt.Sprintf("%#v", a),
		"%v accounts": fmt.Sprintf("%v", c.Accounts),
		"slog text":   text.String(),
		"slog json":   js.String(),
		"json config": string(jc),
		"json acct":   string(ja),
	}
	for name, out := range outputs {
		if strings.Contains(out, password) || strings.Contains(out, token) {
			t.Errorf("%s leaks a secret: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s does not say %s: %s", name, redacted, out)
		}
		if !strings.Contains(out, "1001") {
			t.Errorf("%s lacks the username: %s", name, out)
		}
	}

	// A malformed line holding a password is not echoed.
	_, _, err = parseTest("[Account1]\npassword " + password + "\n")
	if err == nil || strings.Contains(err.Error(), password) {
		t.Errorf("syntax error = %v", err)
	}
}
