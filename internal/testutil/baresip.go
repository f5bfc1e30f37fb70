package testutil

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BaresipModules is where Debian's baresip-core keeps its modules.
const BaresipModules = "/usr/lib/baresip/modules"

// BaresipOptions configures StartBaresip.
type BaresipOptions struct {
	// User is the account's user part; default "baresip".
	User string
	// AutoAnswer answers incoming calls at once (answermode=auto).
	AutoAnswer bool
	// ToneHz is the frequency of the sine baresip sends as its microphone
	// (module ausine); default 440.
	ToneHz int
	// Codecs is the account's audio_codecs list; default
	// "PCMU/8000/1,PCMA/8000/1". telephone-event is always offered.
	Codecs string
	// AccountParams are appended to the account line (";key=value…").
	AccountParams string
	// ExtraConfig lines are appended to the config file.
	ExtraConfig []string
	// Registrar, when set (host:port), makes the account User@Registrar,
	// registered there every 60 s with digest password Password, instead
	// of a serverless account.
	Registrar string
	Password  string
}

// Baresip is a running baresip (Debian's baresip-core 1.0.0) controlled
// over its ctrl_tcp interface. It listens for SIP on 127.0.0.1:Port (UDP and
// TCP) with a serverless account, sends a sine tone as its microphone,
// discards what it plays, and records every call's received audio (module
// sndfile) under RecordDir.
type Baresip struct {
	Port      int
	CtrlPort  int
	Dir       string // config directory (-f)
	RecordDir string // sndfile's snd_path
	User      string

	t       testing.TB
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}

	ctrl   *BaresipCtrl
	events *eventLog[BaresipEvent]
}

// BaresipEvent is one ctrl_tcp event, such as
// {"event":true,"type":"CALL_ESTABLISHED","class":"call","accountaor":…,
// "direction":"incoming","peeruri":…,"id":…,"param":…}.
type BaresipEvent struct {
	Type       string          `json:"type"`
	Class      string          `json:"class"`
	AccountAOR string          `json:"accountaor"`
	Direction  string          `json:"direction"`
	PeerURI    string          `json:"peeruri"`
	ID         string          `json:"id"`
	Param      string          `json:"param"`
	Raw        json.RawMessage `json:"-"`
}

// BaresipResponse is the reply to a ctrl_tcp command.
type BaresipResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// StartBaresip writes a config directory and runs `baresip -f DIR` until the
// test ends. It returns once the ctrl_tcp interface is connected.
func StartBaresip(t testing.TB, opts BaresipOptions) *Baresip {
	t.Helper()
	RequireTool(t, "baresip")
	if _, err := os.Stat(filepath.Join(BaresipModules, "ctrl_tcp.so")); err != nil {
		t.Fatalf("baresip modules missing (%v); install Debian's baresip-core", err)
	}
	if opts.User == "" {
		opts.User = "baresip"
	}
	if opts.ToneHz == 0 {
		opts.ToneHz = 440
	}
	if opts.Codecs == "" {
		opts.Codecs = "PCMU/8000/1,PCMA/8000/1"
	}
	dir := t.TempDir()
	b := &Baresip{
		Port:      FreePortPair(t), // and Port+1: baresip listens for SIP over TLS there
		CtrlPort:  FreePort(t),
		Dir:       dir,
		RecordDir: filepath.Join(dir, "rec"),
		User:      opts.User,
		t:         t,
		logPath:   filepath.Join(dir, "baresip.log"),
		exited:    make(chan struct{}),
		events:    newEventLog[BaresipEvent](),
	}
	if err := os.Mkdir(b.RecordDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rtp := FreePortRange(t, 20)
	config := []string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", b.Port),
		// Without this baresip puts the first non-loopback address in SDP.
		"net_interface 127.0.0.1",
		"call_local_timeout 120",
		"call_max_calls 4",
		"audio_player alsa,null",
		"audio_alert alsa,null",
		fmt.Sprintf("audio_source ausine,%d", opts.ToneHz),
		// ausine only produces 48 kHz stereo.
		"ausrc_srate 48000",
		"ausrc_channels 2",
		fmt.Sprintf("rtp_ports %d-%d", rtp, rtp+19),
		"module_path " + BaresipModules,
		"module g711.so",
		"module ausine.so",
		"module alsa.so",
		"module sndfile.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", b.CtrlPort),
		"snd_path " + b.RecordDir,
	}
	config = append(config, opts.ExtraConfig...)
	answer := "manual"
	if opts.AutoAnswer {
		answer = "auto"
	}
	account := fmt.Sprintf("<sip:%s@127.0.0.1:%d>;regint=0;answermode=%s;audio_codecs=%s%s\n",
		opts.User, b.Port, answer, opts.Codecs, opts.AccountParams)
	if opts.Registrar != "" {
		account = fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;regint=60;answermode=%s;audio_codecs=%s%s\n",
			opts.User, opts.Registrar, opts.Password, answer, opts.Codecs, opts.AccountParams)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(strings.Join(config, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
		t.Fatal(err)
	}

	logf, err := os.Create(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command("baresip", "-f", dir)
	b.cmd.Dir = dir
	b.cmd.Stdout = logf
	b.cmd.Stderr = logf
	if err := b.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start baresip: %v", err)
	}
	go func() {
		_ = b.cmd.Wait()
		logf.Close()
		close(b.exited)
	}()
	t.Cleanup(b.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := DialBaresipCtrl(fmt.Sprintf("127.0.0.1:%d", b.CtrlPort), b.events.add)
		if err == nil {
			b.ctrl = c
			break
		}
		select {
		case <-b.exited:
			t.Fatalf("baresip exited at start:\n%s", readFile(b.logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp not up within 10s: %v\n%s", err, readFile(b.logPath))
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	go func() {
		<-b.ctrl.Closed()
		b.events.finish()
	}()
	return b
}

// URI returns the account's SIP URI, sip:USER@127.0.0.1:PORT.
func (b *Baresip) URI() string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", b.User, b.Port) }

// Addr returns baresip's SIP address, 127.0.0.1:port.
func (b *Baresip) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.Port) }

// Log returns what baresip printed so far.
func (b *Baresip) Log() string { return readFile(b.logPath) }

func (b *Baresip) stop() {
	if b.ctrl != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = b.Command("quit", "")
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
		}
	}
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	if b.ctrl != nil {
		b.ctrl.Close()
	}
	if b.t.Failed() {
		b.t.Logf("baresip %s log:\n%s", b.URI(), b.Log())
	}
}

// Command sends a ctrl_tcp command (the long names of baresip's menu:
// "dial", "accept", "hangup", "sndcode", "listcalls", "quit", …) and waits
// up to 10 s for its response.
func (b *Baresip) Command(cmd, params string) (BaresipResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.ctrl.Command(ctx, cmd, params)
}

// MustCommand is Command that fails the test on error.
func (b *Baresip) MustCommand(t testing.TB, cmd, params string) BaresipResponse {
	t.Helper()
	r, err := b.Command(cmd, params)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Events returns every event received so far.
func (b *Baresip) Events() []BaresipEvent { return b.events.all() }

// WaitEvent returns the first event after the one the previous WaitEvent
// returned for which match is true, waiting up to timeout; it fails the
// test otherwise.
func (b *Baresip) WaitEvent(t testing.TB, timeout time.Duration, match func(BaresipEvent) bool) BaresipEvent {
	t.Helper()
	e, err := b.events.wait(timeout, match)
	if err != nil {
		var sb strings.Builder
		for _, e := range b.events.all() {
			sb.WriteString("\n  ")
			sb.Write(e.Raw)
		}
		t.Fatalf("baresip %s: %v (waited up to %v); events:%s", b.URI(), err, timeout, sb.String())
	}
	return e
}

// WaitEventType waits for the next event of type typ (e.g. "CALL_INCOMING",
// "CALL_ESTABLISHED", "CALL_CLOSED", "CALL_DTMF_START").
func (b *Baresip) WaitEventType(t testing.TB, timeout time.Duration, typ string) BaresipEvent {
	t.Helper()
	return b.WaitEvent(t, timeout, func(e BaresipEvent) bool { return e.Type == typ })
}

// Recordings returns sndfile's files of received (decoded) audio, one per
// call, oldest first.
func (b *Baresip) Recordings() []string {
	files, _ := filepath.Glob(filepath.Join(b.RecordDir, "dump-*-dec.wav"))
	sort.Strings(files)
	return files
}

// RecordingPath returns the newest recording of received audio, or "".
func (b *Baresip) RecordingPath() string {
	files := b.Recordings()
	if len(files) == 0 {
		return ""
	}
	return files[len(files)-1]
}

// WaitRecording waits until the newest recording of received audio is
// complete (its WAV header finalized, which sndfile does when the call's
// audio stream is closed) and returns its path.
func (b *Baresip) WaitRecording(t testing.TB, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if p := b.RecordingPath(); p != "" && wavFinalized(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip: no finished recording in %s within %v (have %v)", b.RecordDir, timeout, b.Recordings())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// wavFinalized reports whether the RIFF size in path's header matches the
// file's size.
func wavFinalized(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() <= 44 {
		return false
	}
	var h [8]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:4]) != "RIFF" {
		return false
	}
	return int64(binary.LittleEndian.Uint32(h[4:]))+8 == st.Size()
}

// WaitRecorded waits until the newest recording of received audio holds at
// least d of audio, so that a test can let a call run for a while without
// sleeping for a fixed time.
func (b *Baresip) WaitRecorded(t testing.TB, timeout, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if p := b.RecordingPath(); p != "" && wavDuration(p) >= d {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip: recording %q did not reach %v within %v", b.RecordingPath(), d, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// wavDuration estimates the audio in a (possibly still growing) canonical
// WAV file from its size and the byte rate in its header.
func wavDuration(path string) time.Duration {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var h [44]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0
	}
	byteRate := int64(binary.LittleEndian.Uint32(h[28:32]))
	st, err := f.Stat()
	if err != nil || byteRate == 0 {
		return 0
	}
	return time.Duration((st.Size() - 44) * int64(time.Second) / byteRate)
}
