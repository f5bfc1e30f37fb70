package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks Parse's contract on arbitrary input: it never panics; an
// error is a *Error of the form "f.ini:LINE: …" with LINE inside the file;
// a configuration it accepts is usable (levels 0-100, an RTP range, at
// least one account with an audio codec) and never shows a password.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"\n",
		"; comment only\n# another\n",
		"[Settings]\n",
		"[Settings]\nlisten=127.0.0.1:5060\nrtpPorts=10000-20000\nvolume=80\nmicVolume=90\n",
		"[Settings]\r\nDND=1\r\nhttpListen=\r\n",
		"[Settings]\nforwarding=all\nforwardingNumber=1009\nforwardingDelay=20\n",
		"[Settings]\nforwarding=all\n",
		"[Settings]\ncmdCallStart=\"/usr/bin/x\" {number}\napiToken=tok-secret\n",
		"[Account1]\nserver=pbx\nusername=1001\npassword=hunter2\ncodecs=PCMA/8000/1 PCMU,telephone-event\n",
		"[Account2]\npassword=a\n[Account1]\npassword=b\ntransport=TLS\nsrtp=optional\n",
		"[Account1]\ncodecs=telephone-event\n",
		"[Account01]\n[Account0]\n[Phonebook]\nx=1\n",
		"k=v\n[Settings]\nfoo=1\n",
		"[Settings]\nDND=1\n\n[settings]\n",
		"[Settings]\nDND=1\ndnd=0\n",
		"[Settings] x\n",
		"[Settings\n",
		"[]\n",
		"[Settings]\n=1\n",
		"[Settings]\nlisten 127.0.0.1:5060\n",
		"[Settings]\nrtpPorts=20000-10000\n",
		"[Settings]\nrtpPorts=10001-20000\n",
		"[Settings]\nautoHangUpTime=99999999999999999999\n",
		"[Settings]\nvolume=101\n",
		"[Settings]\ndataDir=~/x\ncontrolSocket=rel/sock\n",
		"\xef\xbb\xbf[Settings]\nvolume=5\n",
		"\xff\xfe[\x00S\x00e\x00t\x00t\x00i\x00n\x00g\x00s\x00]\x00\n\x00",
		"\xfe\xff\x00[\x00]\x00\n",
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "microsip.ini")); err == nil {
		seeds = append(seeds, string(b))
	}
	corpus, _ := filepath.Glob(filepath.Join("testdata", "microsip", "*.ini"))
	for _, name := range corpus {
		if b, err := os.ReadFile(name); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	seeds = append(seeds, "[Settings]\nrtpPortMin=65534\nrtpPortMax=1\naudioCodecs=G729\nautoAnswer=2\nDTMFMethod=3\n",
		"[Account1]\npassword=00112233445566778899aabbccddeeff\n")
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "f.ini"
		cfg, _, err := Parse(file, data)
		if err != nil {
			checkParseError(t, file, data, err)
			return
		}
		if cfg == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		if cfg.Volume < 0 || cfg.Volume > 100 {
			t.Errorf("Volume = %d, want 0-100", cfg.Volume)
		}
		if cfg.MicVolume < 0 || cfg.MicVolume > 100 {
			t.Errorf("MicVolume = %d, want 0-100", cfg.MicVolume)
		}
		if cfg.RTPPortMin >= cfg.RTPPortMax {
			t.Errorf("RTP ports %d-%d: min not below max", cfg.RTPPortMin, cfg.RTPPortMax)
		}
		if len(cfg.Accounts) == 0 {
			t.Fatal("no accounts")
		}
		for _, a := range cfg.Accounts {
			if a.ID == "" {
				t.Errorf("account without an ID: %v", a)
			}
			switch a.Transport {
			case "", "udp", "tcp", "tls":
			default:
				t.Errorf("account %s: transport %q", a.ID, a.Transport)
			}
			audio := false
			for _, c := range a.Codecs {
				audio = audio || c != "telephone-event"
			}
			if !audio {
				t.Errorf("account %s: codecs %v hold no audio codec", a.ID, a.Codecs)
			}
		}
		checkRedacted(t, cfg)
	})
}

func checkParseError(t *testing.T, file string, data []byte, err error) {
	t.Helper()
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, file+":")
	if !ok {
		t.Fatalf("error %q does not start with %q", msg, file+":")
	}
	num, _, ok := strings.Cut(rest, ":")
	if !ok {
		t.Fatalf("error %q has no LINE: part", msg)
	}
	line, aerr := strconv.Atoi(num)
	// Every line break of the decoded text is a '\n' byte of the input
	// (also in UTF-16), so this bounds the decoded line count.
	lines := bytes.Count(data, []byte("\n")) + 1
	if aerr != nil || line < 1 || line > lines {
		t.Fatalf("error %q: line %q not within 1-%d", msg, num, lines)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.File != file || ce.Line != line {
		t.Fatalf("error %#v is not a *Error for %s:%d", err, file, line)
	}
}

// checkRedacted checks that the printed forms of cfg do not depend on the
// account passwords (or the API token): changing them changes nothing.
func checkRedacted(t *testing.T, cfg *Config) {
	t.Helper()
	other := *cfg
	other.Accounts = append([]Account(nil), cfg.Accounts...)
	for i := range other.Accounts {
		if other.Accounts[i].Password != "" {
			other.Accounts[i].Password += "-changed"
		}
	}
	if other.APIToken != "" {
		other.APIToken += "-changed"
	}
	if got, want := cfg.String(), other.String(); got != want {
		t.Fatalf("String depends on the secrets:\n%s\n%s", got, want)
	}
	if got, want := cfg.GoString(), other.GoString(); got != want {
		t.Fatalf("GoString depends on the secrets:\n%s\n%s", got, want)
	}
	j1, err1 := json.Marshal(cfg)
	j2, err2 := json.Marshal(&other)
	if err1 != nil || err2 != nil {
		t.Fatalf("MarshalJSON: %v, %v", err1, err2)
	}
	if !bytes.Equal(j1, j2) {
		t.Fatalf("MarshalJSON depends on the secrets:\n%s\n%s", j1, j2)
	}
	for _, a := range cfg.Accounts {
		if a.Password != "" && !strings.Contains(a.String(), redacted) {
			t.Fatalf("account %s: String does not say %s", a.ID, redacted)
		}
	}
}
