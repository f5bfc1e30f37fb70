package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CLIResult is the outcome of one gophone client run.
type CLIResult struct {
	Stdout, Stderr string
	// Exit is the exit status (-1 when the process did not exit normally).
	Exit int
}

// String renders the result for a failure message.
func (r CLIResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Exit, r.Stdout, r.Stderr)
}

// runCLI runs cmd (bounded by its context) and collects its output and exit
// status.
func runCLI(cmd *exec.Cmd) CLIResult {
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := CLIResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	default:
		r.Exit = -1
		r.Stderr += "\n" + err.Error()
	}
	return r
}

// RunCLI runs `bin -c FILE args…` as a client like Run does, but returns
// stdout, stderr and the exit status separately instead of an error.
func (d *Daemon) RunCLI(args ...string) CLIResult {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return runCLI(d.command(ctx, args...))
}

// SocketPath returns the daemon's control socket (the controlSocket key of
// its ini file).
func (d *Daemon) SocketPath(t testing.TB) string {
	t.Helper()
	return iniSetting(t, d.Config, "controlSocket")
}

// RTPPorts returns the daemon's RTP port range (the rtpPorts key of its ini
// file) as "LO-HI", the form a capture filter's portrange takes.
func (d *Daemon) RTPPorts(t testing.TB) string {
	t.Helper()
	return iniSetting(t, d.Config, "rtpPorts")
}

// iniSetting returns the last value of key (case-insensitive) in path's
// [Settings] section.
func iniSetting(t testing.TB, path, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	section, val := "", ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "settings" && strings.EqualFold(strings.TrimSpace(k), key) {
			val = strings.TrimSpace(v)
		}
	}
	if val == "" {
		t.Fatalf("%s: no %s in [Settings]", path, key)
	}
	return val
}

// Offline is a gophone configuration (ini file, private directories, free
// loopback ports) with no daemon started by the test: what a client does
// when it finds no daemon is up to the client. Cleanup asks any daemon a
// client started to close (`gophone -c FILE close`), and waits until its
// socket stops answering.
type Offline struct {
	Bin    string
	Config string
	// Socket is the control socket path, LogFile the daemon's logFile.
	Socket  string
	LogFile string
	SIPPort int
	Dir     string

	env []string
}

// NewOffline writes an ini file as StartDaemon does (ini adds or overrides
// keys and sections) but starts nothing.
func NewOffline(t testing.TB, bin, ini string) *Offline {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "gph")
	if err != nil {
		t.Fatal(err)
	}
	o := &Offline{
		Bin:     bin,
		Config:  filepath.Join(dir, "gophone.ini"),
		Socket:  filepath.Join(sockDir, "ctl.sock"),
		LogFile: filepath.Join(dir, "gophone.log"),
		SIPPort: FreePort(t),
		Dir:     dir,
	}
	rtp := FreePortRange(t, 40)
	settings := []string{
		"listen=127.0.0.1:" + strconv.Itoa(o.SIPPort),
		"controlSocket=" + o.Socket,
		"httpListen=127.0.0.1:" + strconv.Itoa(FreePort(t)),
		"dataDir=" + filepath.Join(dir, "data"),
		"logFile=" + o.LogFile,
		fmt.Sprintf("rtpPorts=%d-%d", rtp, rtp+39),
	}
	if err := os.WriteFile(o.Config, []byte(MergeINI(settings, ini)), 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	for _, sub := range []string{"config", "data", "state", "run"} {
		if err := os.MkdirAll(filepath.Join(home, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	o.env = append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
	)
	// Registered before any client runs, so it runs after the cleanups of
	// the test's own helpers registered later (LIFO) and before the
	// directories are removed (TempDir registered earlier).
	t.Cleanup(func() {
		o.closeDaemon(t)
		os.RemoveAll(sockDir)
	})
	return o
}

// Run runs `bin -c FILE args…`, bounded to 60 s.
func (o *Offline) Run(args ...string) CLIResult {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.Bin, append([]string{"-c", o.Config}, args...)...)
	cmd.Env = o.env
	cmd.Dir = o.Dir
	// A daemon the client starts in the background inherits nothing of
	// ours but may keep the output pipes open if it did; WaitDelay bounds
	// that.
	cmd.WaitDelay = 5 * time.Second
	return runCLI(cmd)
}

// ServeLog returns the log file a client writes a daemon it started to,
// next to the control socket.
func (o *Offline) ServeLog() string {
	return filepath.Join(filepath.Dir(o.Socket), "gophone-serve.log")
}

// closeDaemon closes a daemon a client started, if one runs, and waits
// until `status` reports that none is running.
func (o *Offline) closeDaemon(t testing.TB) {
	if r := o.Run("status"); r.Exit == 3 {
		return
	}
	if r := o.Run("close"); r.Exit != 0 {
		t.Errorf("gophone close at cleanup: %s", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := o.Run("status")
		if r.Exit == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("daemon still answers 10s after close: %s", r)
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if t.Failed() {
		b, _ := os.ReadFile(o.LogFile)
		t.Logf("gophone log file:\n%s", b)
		b, _ = os.ReadFile(o.ServeLog())
		t.Logf("gophone-serve.log:\n%s", b)
	}
}

// UseBaresipSIPTrace makes StartBaresip, for the rest of the test, run
// baresip with -s (SIP trace): every SIP message baresip sends or receives
// is printed to its log (Baresip.Log) as a block that starts with a line
// "TRANSPORT SRC -> DST". It puts a wrapper named baresip first on PATH, so
// the test must not be parallel.
func UseBaresipSIPTrace(t testing.TB) {
	t.Helper()
	real := RequireTool(t, "baresip")
	dir := t.TempDir()
	script := "#!/bin/sh\nexec " + strconv.Quote(real) + " -s \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "baresip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// SIPTraceMessage is one message of a baresip SIP trace.
type SIPTraceMessage struct {
	// From and To are the addresses of the trace's header line.
	From, To string
	// Text is the message, with \r\n line ends turned into \n.
	Text string
}

// FirstLine is the request or status line.
func (m SIPTraceMessage) FirstLine() string {
	l, _, _ := strings.Cut(m.Text, "\n")
	return l
}

// Body is the message body (after the first empty line).
func (m SIPTraceMessage) Body() string {
	_, body, _ := strings.Cut(m.Text, "\n\n")
	return body
}

// Header returns the first value of the named header (case-insensitive).
func (m SIPTraceMessage) Header(name string) string {
	head, _, _ := strings.Cut(m.Text, "\n\n")
	for _, l := range strings.Split(head, "\n")[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// SIPTrace parses the SIP messages out of a baresip log written with
// UseBaresipSIPTrace, in order.
func (b *Baresip) SIPTrace() []SIPTraceMessage {
	const start, end = "\x1b[36;1m#\n", "\x1b[;m"
	log := strings.ReplaceAll(b.Log(), "\r\n", "\n")
	var msgs []SIPTraceMessage
	for {
		i := strings.Index(log, start)
		if i < 0 {
			return msgs
		}
		log = log[i+len(start):]
		j := strings.Index(log, end)
		if j < 0 {
			return msgs // still being written
		}
		block := log[:j]
		log = log[j+len(end):]
		hdr, text, _ := strings.Cut(block, "\n")
		f := strings.Fields(hdr) // "UDP SRC -> DST"
		m := SIPTraceMessage{Text: strings.TrimRight(text, "\n") + "\n"}
		if len(f) == 4 {
			m.From, m.To = f[1], f[3]
		}
		msgs = append(msgs, m)
	}
}

// WaitSIPTrace polls baresip's SIP trace until match accepts a message
// after the first skip messages and returns that message's index and the
// message; it fails the test after timeout.
func (b *Baresip) WaitSIPTrace(t testing.TB, timeout time.Duration, skip int, match func(SIPTraceMessage) bool) (int, SIPTraceMessage) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := b.SIPTrace()
		for i := skip; i < len(msgs); i++ {
			if match(msgs[i]) {
				return i, msgs[i]
			}
		}
		if time.Now().After(deadline) {
			var sb strings.Builder
			for _, m := range msgs[min(skip, len(msgs)):] {
				fmt.Fprintf(&sb, "\n  %s -> %s: %s", m.From, m.To, m.FirstLine())
			}
			t.Fatalf("baresip SIP trace: no matching message within %v after #%d; seen:%s", timeout, skip, sb.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}
