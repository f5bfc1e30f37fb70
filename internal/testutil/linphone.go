package testutil

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// LinphoneOptions configures StartLinphone.
type LinphoneOptions struct {
	// User is the user part of its identity; default "linphone".
	User string
	// AutoAnswer answers incoming calls at once (linphonec -a).
	AutoAnswer bool
	// ToneHz is the frequency of the sine it plays as its microphone;
	// default 440.
	ToneHz float64
}

// Linphone is a running linphonec (Debian's linphone-cli 5.1), a second
// real softphone beside baresip, driven through its console on stdin. It
// listens for SIP on 127.0.0.1:Port (UDP and TCP) without an account, with
// its RTP bound to 127.0.0.1, and in file mode: it sends a WAV file of a
// sine as its microphone and records what it hears to RecordPath (8 kHz
// mono WAV, complete once the call has ended).
type Linphone struct {
	Port       int
	Dir        string
	RecordPath string
	User       string

	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	logPath string // liblinphone's log (-l)
	exited  chan struct{}
	lines   *eventLog[string] // what the console printed, line by line
}

// StartLinphone starts linphonec and waits until its console has taken the
// file-mode commands.
func StartLinphone(t testing.TB, opts LinphoneOptions) *Linphone {
	t.Helper()
	RequireTool(t, "linphonec")
	if opts.User == "" {
		opts.User = "linphone"
	}
	if opts.ToneHz == 0 {
		opts.ToneHz = 440
	}
	dir := t.TempDir()
	l := &Linphone{
		Port:       FreePort(t),
		Dir:        dir,
		RecordPath: filepath.Join(dir, "heard.wav"),
		User:       opts.User,
		t:          t,
		logPath:    filepath.Join(dir, "linphone.log"),
		exited:     make(chan struct{}),
		lines:      newEventLog[string](),
	}
	tone := filepath.Join(dir, "tone.wav")
	SineWAV(t, tone, 8000, 1, opts.ToneHz, -6, time.Minute)
	rtp := FreePortRange(t, 30)
	config := []string{
		"[sip]",
		"bind_address=127.0.0.1",
		fmt.Sprintf("sip_port=%d", l.Port),
		fmt.Sprintf("sip_tcp_port=%d", l.Port),
		"sip_tls_port=0",
		// Left to itself linphonec offers its first global address, IPv6
		// when the host has one (c=IN IP6 fd00::…), in From and SDP.
		"use_ipv6=0",
		"ipv6_migration_done=1",
		"guess_hostname=0",
		fmt.Sprintf("contact=sip:%s@127.0.0.1", opts.User),
		"[rtp]",
		"bind_address=127.0.0.1",
		fmt.Sprintf("audio_rtp_port=%d-%d", rtp, rtp+9),
		fmt.Sprintf("video_rtp_port=%d-%d", rtp+10, rtp+19),
		fmt.Sprintf("text_rtp_port=%d-%d", rtp+20, rtp+29),
		"[video]",
		"enabled=0",
		"display=0",
		"capture=0",
		"automatically_initiate=0",
		"automatically_accept=0",
		"[sound]",
		"echocancellation=0",
	}
	rc := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rc, []byte(strings.Join(config, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".local", "share", "linphone"), 0o700); err != nil {
		t.Fatal(err)
	}

	args := []string{"-c", rc, "-d", "5", "-l", l.logPath}
	if opts.AutoAnswer {
		args = append(args, "-a")
	}
	l.cmd = exec.Command("linphonec", args...)
	l.cmd.Dir = dir
	l.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, ".local", "share"))
	var err error
	if l.stdin, err = l.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	l.cmd.Stderr = l.cmd.Stdout
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("start linphonec: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.lines.add(strings.TrimPrefix(sc.Text(), "linphonec> "))
		}
		l.lines.finish()
		_ = l.cmd.Wait()
		close(l.exited)
	}()
	t.Cleanup(l.stop)

	l.Command(t, "soundcard use files")
	l.WaitLine(t, 10*time.Second, "Using wav files instead of soundcard")
	l.Command(t, "play "+tone)
	l.Command(t, "record "+l.RecordPath)
	return l
}

// URI returns its SIP URI, sip:USER@127.0.0.1:PORT.
func (l *Linphone) URI() string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", l.User, l.Port) }

// Command types a line at linphonec's console: "call URI", "terminate",
// "answer", or digits, which it sends as DTMF in a call.
func (l *Linphone) Command(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(l.stdin, line+"\n"); err != nil {
		t.Fatalf("linphonec %q: %v", line, err)
	}
}

// WaitLine waits for the next console line that contains substr, such as
// "connected.", "Receiving tone 5" or "ended", and returns it.
func (l *Linphone) WaitLine(t testing.TB, timeout time.Duration, substr string) string {
	t.Helper()
	line, err := l.lines.wait(timeout, func(s string) bool { return strings.Contains(s, substr) })
	if err != nil {
		t.Fatalf("linphonec: no line with %q: %v; console:\n%s", substr, err, strings.Join(l.lines.all(), "\n"))
	}
	return line
}

// Log returns liblinphone's log so far, which holds every SIP message it
// sent or received, after a line "… message sent to [UDP://127.0.0.1:PORT]"
// or "… new bytes from [TCP://127.0.0.1:PORT]:".
func (l *Linphone) Log() string { return readFile(l.logPath) }

func (l *Linphone) stop() {
	_, _ = io.WriteString(l.stdin, "quit\n")
	select {
	case <-l.exited:
	case <-time.After(5 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.exited
	}
	if l.t.Failed() {
		log := readFile(l.logPath)
		if len(log) > 20000 {
			log = log[len(log)-20000:]
		}
		l.t.Logf("linphonec %s console:\n%s\nlog (end):\n%s", l.URI(), strings.Join(l.lines.all(), "\n"), log)
	}
}
