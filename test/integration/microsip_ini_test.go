package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/codec"
	"github.com/gophone/gophone/internal/testutil"
)

// corpusFiles returns the microsip.ini corpus (internal/config/testdata).
func corpusFiles(t *testing.T) []string {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "internal", "config", "testdata", "microsip", "*.ini"))
	if err != nil || len(files) < 4 {
		t.Fatalf("corpus: %v, %v", files, err)
	}
	return files
}

// withTestSettings puts the daemon's test settings (free loopback ports,
// private directories) right after the file's [Settings] line, leaving
// every other line as MicroSIP wrote it.
func withTestSettings(t *testing.T, src string, settings []string) string {
	t.Helper()
	i := strings.Index(src, "[Settings]")
	if i < 0 {
		t.Fatal("corpus file without [Settings]")
	}
	i += len("[Settings]")
	return src[:i] + "\n" + strings.Join(settings, "\n") + src[i:]
}

// TestMicroSIPCorpusStarts: every microsip.ini of the corpus starts the
// daemon, as stored and as Windows saves it (UTF-16 LE, BOM, CRLF), with no
// "unknown key" warning; `config check` classifies every line and exits 0;
// both encodings give the same Status. Volumes and the encrypted password
// show in Status.
func TestMicroSIPCorpusStarts(t *testing.T) {
	for _, file := range corpusFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var statuses [2]testutil.Status
			for i, windows := range []bool{false, true} {
				d := testutil.StartDaemonWith(t, gophoneBin, func(settings []string) []byte {
					src := withTestSettings(t, string(raw), settings)
					if windows {
						return testutil.WindowsINI(src)
					}
					return []byte(src)
				})
				log, err := os.ReadFile(filepath.Join(d.Dir, "gophone.log"))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(log), "unknown") {
					t.Errorf("windows=%v: the daemon warns of an unknown key or section:\n%s", windows, log)
				}
				check := d.RunCLI("config", "check", d.Config)
				if check.Exit != 0 {
					t.Errorf("windows=%v: config check: %s", windows, check)
				}
				lines := 0
				for _, l := range strings.Split(string(raw), "\n") {
					if l = strings.TrimSpace(l); l != "" && l[0] != ';' {
						lines++
					}
				}
				reported := 0
				for _, l := range strings.Split(check.Stdout, "\n") {
					if rest, ok := strings.CutPrefix(l, d.Config+":"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
						reported++
						if f := strings.Fields(l); len(f) > 2 && (f[len(f)-1] == "unknown" || strings.Contains(l, " unknown ")) {
							t.Errorf("windows=%v: config check: %s", windows, l)
						}
					}
				}
				// The test settings are lines of the file too.
				if want := lines + 6; reported != want {
					t.Errorf("windows=%v: config check reported %d lines, the file has %d:\n%s", windows, reported, want, check.Stdout)
				}
				statuses[i] = d.Status(t)
			}
			for i := range statuses {
				statuses[i].Calls = nil
				for j := range statuses[i].Accounts {
					statuses[i].Accounts[j].AOR = "" // a local account's AOR names the test's port
				}
			}
			if !reflect.DeepEqual(statuses[0], statuses[1]) {
				t.Errorf("UTF-16 LE with CRLF starts differently:\n%+v\n%+v", statuses[1], statuses[0])
			}
			st := statuses[0]
			switch filepath.Base(file) {
			case "provisioning.ini":
				if st.Audio.Volume != 50 || st.Audio.MicVolume != 25 {
					t.Errorf("volumeOutput=50/volumeInput=25 show as %v/%v", st.Audio.Volume, st.Audio.MicVolume)
				}
			case "3.21-installer.ini", "3.16-legacy.ini":
				if a := st.Accounts[0]; a.State != "needs-password" || !a.NeedsPassword {
					t.Errorf("account with MicroSIP's encrypted password: %+v", a)
				}
			}
		})
	}
}

// TestMicroSIPCodecsAndRTPPorts: MicroSIP's audioCodecs list is the
// INVITE's offer, in its order: opus (in a with_opus_c build, else left
// out), G722 at payload type 9 with RTP clock 8000 (RFC 3551 §4.5.2), PCMA,
// PCMU, then telephone-event (also at 48 kHz with opus); and
// rtpPortMin/rtpPortMax bound its RTP
// port, as SIPp receives the INVITE.
func TestMicroSIPCodecsAndRTPPorts(t *testing.T) {
	lo := testutil.FreePortRange(t, 20)
	hi := lo + 19
	d := startDaemon(t, "[Settings]\naudioCodecs=opus/48000/2 G722/16000/1 PCMA/8000/1 PCMU/8000/1\n"+
		"rtpPortMin="+strconv.Itoa(lo)+"\nrtpPortMax="+strconv.Itoa(hi)+"\n")
	ev := d.Events(t)
	uas := oneCallUAS(t, "uas.xml")
	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.established", id)
	d.MustRun(t, "hangup")
	wantSIPpOK(t, "uas.xml", uas.Wait())

	msgs, err := os.ReadFile(filepath.Join(uas.Dir, "messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The INVITE is the first message SIPp logs: its SDP ends where the
	// next message's log starts.
	var media string
	rtpmap := map[string]string{}
	for _, l := range strings.Split(string(msgs), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "m=audio ") {
			if media != "" {
				break
			}
			media = l
		}
		if v, ok := strings.CutPrefix(l, "a=rtpmap:"); ok && media != "" {
			pt, name, _ := strings.Cut(v, " ")
			rtpmap[pt] = name
		}
	}
	f := strings.Fields(media)
	if len(f) < 4 {
		t.Fatalf("no m=audio line in the INVITE:\n%s", msgs)
	}
	want := []string{"9", "8", "0", "101"}
	if codec.HaveOpus {
		want = append(append([]string{"96"}, want...), "102") // events at 48 kHz too
	}
	if !slices.Equal(f[3:], want) {
		t.Errorf("offer %q: want payload types %v (opus, G722, PCMA, PCMU, telephone-event; opus and telephone-event/48000 only in a with_opus_c build)", media, want)
	}
	if rtpmap["9"] != "G722/8000" {
		t.Errorf("offer's rtpmap for payload type 9 is %q, want G722/8000", rtpmap["9"])
	}
	if codec.HaveOpus && (rtpmap["96"] != "opus/48000/2" || rtpmap["102"] != "telephone-event/48000") {
		t.Errorf("offer's rtpmap for payload types 96 and 102: %q and %q, want opus/48000/2 and telephone-event/48000", rtpmap["96"], rtpmap["102"])
	}
	if port, _ := strconv.Atoi(f[1]); port < lo || port > hi {
		t.Errorf("offer %q: RTP port outside rtpPortMin-rtpPortMax %d-%d", media, lo, hi)
	}
}

// TestMicroSIPAutoAnswerForms: autoAnswer in MicroSIP's legacy numbers and
// its words, with the AA button, answers as MicroSIP would.
func TestMicroSIPAutoAnswerForms(t *testing.T) {
	tests := []struct {
		ini, header string
		answered    bool
	}{
		{"autoAnswer=1", "", true}, // legacy: all calls
		{"autoAnswer=0", "", false},
		{"autoAnswer=2", "X-AUTOANSWER: true", true}, // legacy: SIP header
		{"autoAnswer=2", "", false},
		{"autoAnswer=all", "", true},
		{"autoAnswer=button\nAA=1", "", true},
		{"autoAnswer=button\nAA=0", "", false},
		{"AA=1", "", true}, // MicroSIP's default is button
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.ini, "\n", " ")+" "+tt.header, func(t *testing.T) {
			d := startDaemon(t, "[Settings]\n"+tt.ini+"\n")
			ev := d.Events(t)
			if tt.answered {
				header := tt.header
				if header == "" {
					header = "X-Test: 1"
				}
				uac := testutil.NewSIPp(t, scenario(t, "uac_autoanswer_header.xml"))
				uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001", "-key", "aa_header", header)
				call := ev.WaitType(t, eventWait, "call.incoming", "").Call
				ev.WaitType(t, eventWait, "call.answered", call)
				wantSIPpOK(t, "uac_autoanswer_header.xml", uac.Wait())
				return
			}
			uac := testutil.NewSIPp(t, scenario(t, "uac_ringing_cancel.xml"))
			uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
			call := ev.WaitType(t, eventWait, "call.incoming", "").Call
			end := ev.WaitFor(t, eventWait, func(e testutil.Event) bool {
				return e.Call == call && (e.Type == "call.ended" || e.Type == "call.answered")
			})
			if end.Type != "call.ended" || end.Code != 487 {
				t.Errorf("got %s %d, want the call to ring until the caller's CANCEL (487)", end.Type, end.Code)
			}
			wantSIPpOK(t, "uac_ringing_cancel.xml", uac.Wait())
		})
	}
}

// TestMicroSIPPostDialDigits: `gophone NUMBER,1,,2` and `gophone dial
// NUMBER,1,,2` call NUMBER and, once answered, send 1 and 2 with a
// dtmfPause per comma between them, as a second daemon receives them
// (dtmf.received).
func TestMicroSIPPostDialDigits(t *testing.T) {
	const pause = 700 * time.Millisecond
	for _, form := range []string{"microsip", "dial"} {
		t.Run(form, func(t *testing.T) {
			b := startDaemon(t, "[Settings]\nautoAnswer=1\n")
			evB := b.Events(t)
			a := startDaemon(t, "[Settings]\ndtmfPause="+strconv.Itoa(int(pause/time.Millisecond))+"\n")
			args := []string{"1001@" + b.SIPAddr() + ",1,,2"}
			if form == "dial" {
				args = []string{"dial", "sip:1001@" + b.SIPAddr() + ",1,,2"}
			}
			res := a.RunCLI(args...)
			if res.Exit != 0 || strings.TrimSpace(res.Stdout) == "" {
				t.Fatalf("gophone %v: %s", args, res)
			}
			est := evB.WaitType(t, eventWait, "call.established", "")
			one := evB.WaitType(t, eventWait, "dtmf.received", est.Call)
			two := evB.WaitFor(t, eventWait, func(e testutil.Event) bool {
				return e.Type == "dtmf.received" && e.Seq > one.Seq
			})
			if one.Digit != "1" || two.Digit != "2" {
				t.Fatalf("digits %q %q, want 1 and 2", one.Digit, two.Digit)
			}
			// ",1,,2": a pause before 1, two between 1 and 2.
			if gap := one.Time.Sub(est.Time); gap < pause-100*time.Millisecond {
				t.Errorf("1 came %v after the answer, want a pause of %v first", gap, pause)
			}
			if gap := two.Time.Sub(one.Time); gap < 2*pause-100*time.Millisecond {
				t.Errorf("2 came %v after 1, want two pauses of %v", gap, pause)
			}
			if form == "dial" {
				// Digits that are no DTMF are refused before anything is sent.
				bad := a.RunCLI("dial", "sip:1001@"+b.SIPAddr()+",1x")
				if bad.Exit != 2 || !strings.Contains(bad.Stderr, "digits after the number") {
					t.Errorf("dial NUMBER,1x: %s", bad)
				}
			}
		})
	}
}

// TestVersion: `gophone --version` and `gophone version` exit 0 and print
// the version and the revision the binary was built from; Status carries
// the version. The binary is built with the revision given to the linker,
// as for a build from a git worktree, which the toolchain does not stamp.
func TestVersion(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	rev := strings.TrimSpace(string(out))
	bin, err := testutil.Build(ctx, root, t.TempDir(),
		"-ldflags=-X github.com/gophone/gophone/internal/buildinfo.revision="+rev)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, err := exec.CommandContext(ctx, bin, args...).Output()
		if err != nil {
			t.Fatalf("gophone %v: %v", args, err)
		}
		if s := string(out); !strings.HasPrefix(s, "gophone (devel) (revision "+rev) || !strings.Contains(s, " go1.") {
			t.Errorf("gophone %v printed %q, want version, revision %s and Go version", args, s, rev)
		}
	}
	d := testutil.StartDaemon(t, bin, "")
	raw := d.MustRun(t, "status", "--json")
	var st struct{ Version, Revision string }
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version == "" || st.Revision != rev {
		t.Errorf("status --json version %q revision %q, want a version and %s", st.Version, st.Revision, rev)
	}
}
