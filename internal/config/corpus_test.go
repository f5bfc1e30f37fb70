package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestCorpus reads the microsip.ini files of testdata/microsip, written as
// MicroSIP 3.16-3.21 and a provisioning script write them, as stored and
// as Windows saves them (UTF-16 LE with BOM, CRLF): each is read the same
// way, without an error or an unknown key, and every key line is reported.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/microsip/*.ini")
	if err != nil || len(files) < 4 {
		t.Fatalf("corpus: %v, %v", files, err)
	}
	check := map[string]func(t *testing.T, c *Config){
		"3.21-installer.ini": func(t *testing.T, c *Config) {
			a := c.Accounts[0]
			want(t, "autoAnswer", c.AutoAnswer, "button")
			want(t, "AA", c.AA, false)
			want(t, "DTMFMethod", c.DTMFMethod, "auto")
			want(t, "codecs", a.Codecs, withOpus("opus", "G722", "PCMA", "PCMU"))
			want(t, "needsPassword", [2]any{a.NeedsPassword, a.Password}, [2]any{true, ""})
			want(t, "audio", [2]string{c.AudioInput, c.AudioOutput}, [2]string{"null", "null"})
			want(t, "rtp", [2]int{c.RTPPortMin, c.RTPPortMax}, [2]int{10000, 20000})
		},
		"3.19-portable.ini": func(t *testing.T, c *Config) {
			want(t, "autoAnswer", c.AutoAnswer, "header")
			want(t, "DTMFMethod", c.DTMFMethod, "info")
			want(t, "denyIncoming", c.DenyIncoming, "userdomain")
			want(t, "accountId first", c.Accounts[0].ID, "2")
			want(t, "codecs", c.Accounts[0].Codecs, []string{"PCMU", "PCMA"})
			want(t, "rtp", [2]int{c.RTPPortMin, c.RTPPortMax}, [2]int{20000, 20100})
			want(t, "listen", c.Listen, "127.0.0.1:5062")
			want(t, "levels", [2]int{c.Volume, c.MicVolume}, [2]int{80, 60})
			want(t, "registerRefresh clamp", c.Accounts[1].RegisterRefresh.Seconds(), 10.0)
			want(t, "keepAlive default", c.Accounts[1].KeepAlive.Seconds(), 15.0)
			want(t, "enableLog", c.EnableLog, true)
		},
		"3.16-legacy.ini": func(t *testing.T, c *Config) {
			want(t, "autoAnswer", c.AutoAnswer, "all")
			want(t, "denyIncoming", c.DenyIncoming, "remotedomain")
			want(t, "DTMFMethod", c.DTMFMethod, "rfc4733")
			want(t, "codecs", c.Accounts[0].Codecs, []string{"PCMU", "PCMA"})
			want(t, "needsPassword", c.Accounts[0].NeedsPassword, true)
		},
		"provisioning.ini": func(t *testing.T, c *Config) {
			want(t, "autoAnswer", c.AutoAnswer, "")
			want(t, "DTMFMethod", c.DTMFMethod, "inband")
			want(t, "levels", [2]int{c.Volume, c.MicVolume}, [2]int{50, 25})
			want(t, "codecs", c.Accounts[0].Codecs, []string{"PCMA", "PCMU"})
			want(t, "rtp", [2]int{c.RTPPortMin, c.RTPPortMax}, [2]int{16000, 16100})
			want(t, "listen", c.Listen, "127.0.0.1:5070")
			want(t, "password", c.Accounts[0].Password, "Summer2024!")
		},
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src := mustRead(t, file)
			c, rep, err := parse("/cfg/microsip.ini", "/cfg", src, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range rep.Warnings {
				if strings.Contains(w.Msg, "unknown") {
					t.Errorf("warning for a MicroSIP key: %s", w)
				}
			}
			lines := 0
			for _, l := range strings.Split(string(src), "\n") {
				if l = strings.TrimSpace(l); l != "" && l[0] != ';' {
					lines++
				}
			}
			if len(rep.Keys) != lines {
				t.Errorf("%d lines reported, the file has %d", len(rep.Keys), lines)
			}
			for _, k := range rep.Keys {
				if k.Class == ClassUnknown {
					t.Errorf("line %d [%s] %s is unknown", k.Line, k.Section, k.Name)
				}
			}
			if f := check[filepath.Base(file)]; f != nil {
				f(t, c)
			} else {
				t.Error("no expectations for this file")
			}

			c16, rep16, err := parse("/cfg/microsip.ini", "/cfg", testutil.WindowsINI(string(src)), testEnv)
			if err != nil {
				t.Fatalf("UTF-16 LE, CRLF: %v", err)
			}
			if !reflect.DeepEqual(c16, c) || !reflect.DeepEqual(rep16, rep) {
				t.Errorf("UTF-16 LE, CRLF read differently:\n%+v\n%+v", c16, c)
			}
		})
	}
}

func want(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
