package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/codec"
	"github.com/gophone/gophone/internal/testutil"
)

// TestMicroSIPValues reads MicroSIP's keys in the forms its versions
// write, and gophone's aliases.
func TestMicroSIPValues(t *testing.T) {
	ports := func(c *Config) any { return [2]int{c.RTPPortMin, c.RTPPortMax} }
	tests := []struct {
		ini  string
		get  func(*Config) any
		want any
		warn string // a warning expected, "" for none
	}{
		{"autoAnswer=0", func(c *Config) any { return c.AutoAnswer }, "", ""},
		{"autoAnswer=1", func(c *Config) any { return c.AutoAnswer }, "all", ""},
		{"autoAnswer=2", func(c *Config) any { return c.AutoAnswer }, "header", ""},
		{"autoAnswer=button", func(c *Config) any { return c.AutoAnswer }, "button", ""},
		{"AA=1", func(c *Config) any { return [2]any{c.AutoAnswer, c.AA} }, [2]any{"button", true}, ""},
		{"AA=1\nautoAnswer=", func(c *Config) any { return [2]any{c.AutoAnswer, c.AA} }, [2]any{"", true}, ""},
		{"DTMFMethod=0", func(c *Config) any { return c.DTMFMethod }, "auto", ""},
		{"DTMFMethod=1", func(c *Config) any { return c.DTMFMethod }, "inband", ""},
		{"DTMFMethod=2", func(c *Config) any { return c.DTMFMethod }, "rfc4733", ""},
		{"DTMFMethod=3", func(c *Config) any { return c.DTMFMethod }, "info", ""},
		{"DTMFMethod=INFO", func(c *Config) any { return c.DTMFMethod }, "info", ""},
		{"DTMFMethod=", func(c *Config) any { return c.DTMFMethod }, "auto", ""},
		{"denyIncoming=rdomain", func(c *Config) any { return c.DenyIncoming }, "remotedomain", ""},
		{"denyIncoming=address", func(c *Config) any { return c.DenyIncoming }, "userdomain", ""},
		{"denyIncoming=userdomain", func(c *Config) any { return c.DenyIncoming }, "userdomain", ""},
		{"DND=1", func(c *Config) any { return c.DND }, true, ""},
		{"callWaiting=0", func(c *Config) any { return c.CallWaiting }, false, ""},
		{"maxConcurrentCalls=0", func(c *Config) any { return c.MaxConcurrentCalls }, 0, ""},
		{"volumeOutput=50", func(c *Config) any { return c.Volume }, 50, ""},
		{"volumeInput=25", func(c *Config) any { return c.MicVolume }, 25, ""},
		{"volume=50", func(c *Config) any { return c.Volume }, 50, ""},
		{"audioInputDevice=\"\"", func(c *Config) any { return c.AudioInput }, "null", ""},
		{"audioInputDevice=\"tone:440\"", func(c *Config) any { return c.AudioInput }, "tone:440", ""},
		{"audioOutputDevice=\"Speakers (Realtek(R) Audio)\"", func(c *Config) any { return c.AudioOutput }, "null",
			`audioOutputDevice: "Speakers (Realtek(R) Audio)" is not an audio device of this build; using null`},
		{"audioCodecs=PCMA/8000/1 PCMU/8000/1", func(c *Config) any { return c.Accounts[0].Codecs }, []string{"PCMA", "PCMU"}, ""},
		{"audioCodecs=opus/48000/2 G722/16000/1 PCMA/8000/1", func(c *Config) any { return c.Accounts[0].Codecs },
			withOpus("opus", "G722", "PCMA"), lacksOpus("audioCodecs: gophone lacks opus, left out")},
		{"audioCodecs=G722/16000/1 PCMU/8000/1 G729/8000/1", func(c *Config) any { return c.Accounts[0].Codecs },
			[]string{"G722", "PCMU"}, "audioCodecs: gophone lacks G729, left out"},
		{"audioCodecs=G729/8000/1 speex/8000/1", func(c *Config) any { return c.Accounts[0].Codecs }, []string{"PCMU", "PCMA"},
			`audioCodecs: gophone lacks G729, speex, left out; no audio codec gophone has in "G729/8000/1 speex/8000/1"; using PCMU,PCMA`},
		{"rtpPortMin=16000\nrtpPortMax=16100", ports, [2]int{16000, 16100}, ""},
		{"rtpPortMax=16100\nrtpPortMin=16000", ports, [2]int{16000, 16100}, ""},
		{"rtpPortMin=30000", ports, [2]int{30000, 65535}, ""},
		{"rtpPortMin=30000\nrtpPortMax=0", ports, [2]int{30000, 65535}, ""},
		{"rtpPortMin=0\nrtpPortMax=0", ports, [2]int{10000, 20000}, ""},
		{"rtpPorts=4000-4100", ports, [2]int{4000, 4100}, ""},
		{"sourcePort=5070", func(c *Config) any { return c.Listen }, "127.0.0.1:5070", ""},
		{"sourcePort=0", func(c *Config) any { return c.Listen }, "127.0.0.1:5060", ""},
		{"sourcePort=5070\nlisten=127.0.0.2:5080", func(c *Config) any { return c.Listen }, "127.0.0.2:5080", ""},
		{"recordingFormat=wav", func(c *Config) any { return c.AutoRecording }, false, ""},
		{"recordingFormat=mp3", func(c *Config) any { return c.AutoRecording }, false,
			`recordingFormat: gophone records WAV only; "mp3" gives WAV files`},
		{"autoRecording=1", func(c *Config) any { return c.AutoRecording }, true, ""},
		{"enableLog=1", func(c *Config) any { return c.EnableLog }, true, ""},
		{"userAgent=", func(c *Config) any { return c.UserAgent }, "gophone", ""},
		{"STUN=stun.l.google.com:19302\nenableSTUN=1", func(c *Config) any { return c.Listen }, "127.0.0.1:5060",
			"MicroSIP settings for features gophone lacks, ignored: STUN=stun.l.google.com:19302 (line 2), enableSTUN=1 (line 3)"},
		{"EC=1\nVAD=0\nrport=1\nmainX=10\ncallsWidth3=70", func(c *Config) any { return c.Listen }, "127.0.0.1:5060", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ini, func(t *testing.T) {
			c, w, err := parseTest("[Settings]\n" + tt.ini + "\n")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range w {
				got = append(got, x.Msg)
			}
			if want := []string{tt.warn}; tt.warn == "" && len(got) > 0 || tt.warn != "" && !reflect.DeepEqual(got, want) {
				t.Errorf("warnings %q, want %q", got, tt.warn)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestMicroSIPAccountID(t *testing.T) {
	c, _, err := parseTest("[Settings]\naccountId=2\n[Account1]\nlabel=one\n[Account2]\nlabel=two\n[Account3]\nlabel=three\n")
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, a := range c.Accounts {
		labels = append(labels, a.Label)
	}
	if want := []string{"two", "one", "three"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("accounts %v, want %v (accountId first)", labels, want)
	}
}

func TestEncryptedPassword(t *testing.T) {
	const blob = "8f0c3b1e5d2a4c6e9b7a1f3d5c2e4a6b" // 16 bytes as MicroSIP writes them
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, account string
		env           map[string]string
		password      string
		needs         bool
		warn          bool
	}{
		{"blob", "password=" + blob, nil, "", true, true},
		{"blob with env", "password=" + blob, map[string]string{"GOPHONE_ACCOUNT1_PASSWORD": "from-env"}, "from-env", false, false},
		{"blob with file", "password=" + blob + "\npasswordFile=" + pwFile, nil, "from-file", false, false},
		{"env over file", "passwordFile=" + pwFile, map[string]string{"GOPHONE_ACCOUNT1_PASSWORD": "from-env"}, "from-env", false, false},
		{"plain", "password=hunter2", nil, "hunter2", false, false},
		{"plain hex, odd length", "password=8f0c3b1e5d2a4c6", nil, "8f0c3b1e5d2a4c6", false, false},
		{"upper-case hex is plain", "password=" + strings.ToUpper(blob), nil, strings.ToUpper(blob), false, false},
		{"pre-3.x struct with checksum", "password=" + strings.ToUpper(blob) + "7E\npasswordSize=16", nil, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": "/home/u"}
			for k, v := range tt.env {
				env[k] = v
			}
			c, rep, err := parse("/cfg/t.ini", "/cfg", []byte("[Account1]\nserver=pbx.example.com\nusername=1001\n"+tt.account+"\n"), envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			a := c.Accounts[0]
			if a.Password != tt.password || a.NeedsPassword != tt.needs {
				t.Errorf("password %q, needs %v; want %q, %v", a.Password, a.NeedsPassword, tt.password, tt.needs)
			}
			if (len(rep.Warnings) > 0) != tt.warn {
				t.Errorf("warnings %v", rep.Warnings)
			}
			for _, w := range rep.Warnings {
				if strings.Contains(w.Msg, blob) || !strings.Contains(w.Msg, "GOPHONE_ACCOUNT1_PASSWORD") {
					t.Errorf("warning %q: shows the blob or does not say how to give the password", w)
				}
			}
			for _, k := range rep.Keys {
				if k.Name == "password" && k.Value != "" && k.Value != redacted {
					t.Errorf("config check shows the password: %q", k.Value)
				}
			}
		})
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestReportClasses checks that every key line is classified as the
// MicroSIP tables say.
func TestReportClasses(t *testing.T) {
	src := "[Settings]\nvolumeOutput=50\nvolume=40\nmainX=3\nVAD=1\nfrobnicate=1\nautoAnswer=2\npassword=x\n" +
		"[Account1]\npassword=hunter2\nICE=1\nvoicemailNumber=*97\n[Calls]\n0=1001;Bob\n[Phonebook]\nx=1\n"
	_, rep, err := parse("/cfg/t.ini", "/cfg", []byte(src), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{
		{Line: 1, Section: "Settings", Class: ClassUsed},
		{Line: 2, Section: "Settings", Name: "volumeOutput", Class: ClassUsed, Canonical: "volumeOutput", Value: "50"},
		{Line: 3, Section: "Settings", Name: "volume", Class: ClassAlias, Canonical: "volumeOutput", Value: "40"},
		{Line: 4, Section: "Settings", Name: "mainX", Class: ClassIgnored, Canonical: "mainX"},
		{Line: 5, Section: "Settings", Name: "VAD", Class: ClassUnsupported, Canonical: "VAD", Value: "1"},
		{Line: 6, Section: "Settings", Name: "frobnicate", Class: ClassUnknown},
		{Line: 7, Section: "Settings", Name: "autoAnswer", Class: ClassUsed, Canonical: "autoAnswer", Value: "header"},
		{Line: 8, Section: "Settings", Name: "password", Class: ClassUnknown},
		{Line: 9, Section: "Account1", Class: ClassUsed},
		{Line: 10, Section: "Account1", Name: "password", Class: ClassUsed, Canonical: "password", Value: redacted},
		{Line: 11, Section: "Account1", Name: "ICE", Class: ClassUnsupported, Canonical: "ICE", Value: "1"},
		{Line: 12, Section: "Account1", Name: "voicemailNumber", Class: ClassIgnored, Canonical: "voicemailNumber"},
		{Line: 13, Section: "Calls", Class: ClassIgnored},
		{Line: 14, Section: "Calls", Name: "0", Class: ClassIgnored},
		{Line: 15, Section: "Phonebook", Class: ClassUnknown},
		{Line: 16, Section: "Phonebook", Name: "x", Class: ClassUnknown},
	}
	if !reflect.DeepEqual(rep.Keys, want) {
		t.Errorf("keys\n%+v\nwant\n%+v", rep.Keys, want)
	}
}

// TestWindowsFileErrors: a file saved as UTF-16 LE with CRLF reports the
// same FILE:LINE errors as its UTF-8 form.
func TestWindowsFileErrors(t *testing.T) {
	src := "[Settings]\r\nvolumeOutput=50\r\n\r\nDTMFMethod=9\r\n"
	for _, b := range [][]byte{[]byte(src), testutil.WindowsINI(src)} {
		_, _, err := parse("/cfg/t.ini", "/cfg", b, testEnv)
		if err == nil || err.Error() != `/cfg/t.ini:4: DTMFMethod: "9" is not one of auto, rfc4733, info, inband (or MicroSIP's 0, 1, 2, 3)` {
			t.Errorf("error %v", err)
		}
	}
}

// lacksOpus returns warning in a build without Opus, "" in one with it.
func lacksOpus(warning string) string {
	if codec.HaveOpus {
		return ""
	}
	return warning
}
