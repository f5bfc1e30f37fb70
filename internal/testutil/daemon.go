package testutil

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/events"
)

// Daemon is a `gophone serve` process run by a test on free loopback ports.
type Daemon struct {
	// Bin is the gophone binary, Config the ini file it runs with.
	Bin    string
	Config string
	// SIPPort is the UDP+TCP port of `listen`, HTTPPort that of `httpListen`.
	SIPPort  int
	HTTPPort int
	// Dir is the daemon's private directory (data, logs, home).
	Dir string

	t       testing.TB
	cmd     *exec.Cmd
	logPath string
	env     []string
	exited  chan struct{}
	waitErr error
	cleanup bool // stop is registered with t.Cleanup
}

// StartDaemon writes an ini file and runs `bin -c FILE serve` until the test
// ends. The file's [Settings] get listen, controlSocket, httpListen, dataDir,
// logFile and rtpPorts on free loopback ports and private directories; ini
// may add or override [Settings] keys and add sections such as [Account1]
// (with none, a serverless local account is added). StartDaemon returns once
// `status --json` answers; on failure, and at cleanup of a failed test, the
// daemon's output is logged.
func StartDaemon(t testing.TB, bin string, ini string) *Daemon {
	t.Helper()
	return StartDaemonWith(t, bin, func(settings []string) []byte { return []byte(MergeINI(settings, ini)) })
}

// StartDaemonWith is StartDaemon for a configuration file the test writes
// itself, such as a microsip.ini in UTF-16: file gets the [Settings] lines
// StartDaemon would add (key=value, without the section header) and
// returns the file's contents, written as they are.
func StartDaemonWith(t testing.TB, bin string, file func(settings []string) []byte) *Daemon {
	t.Helper()
	dir := t.TempDir()
	// A Unix socket path must fit in 108 bytes; t.TempDir paths for long
	// test names do not, so the socket lives in a short directory of its own.
	sockDir, err := os.MkdirTemp("", "gph")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })

	d := &Daemon{
		Bin:      bin,
		Config:   filepath.Join(dir, "gophone.ini"),
		SIPPort:  FreePort(t),
		HTTPPort: FreePort(t),
		Dir:      dir,
		t:        t,
		logPath:  filepath.Join(dir, "serve.log"),
	}
	rtp := FreePortRange(t, 40)
	settings := []string{
		"listen=127.0.0.1:" + strconv.Itoa(d.SIPPort),
		"controlSocket=" + filepath.Join(sockDir, "ctl.sock"),
		"httpListen=127.0.0.1:" + strconv.Itoa(d.HTTPPort),
		"dataDir=" + filepath.Join(dir, "data"),
		"logFile=" + filepath.Join(dir, "gophone.log"),
		fmt.Sprintf("rtpPorts=%d-%d", rtp, rtp+39),
	}
	if err := os.WriteFile(d.Config, file(settings), 0o600); err != nil {
		t.Fatal(err)
	}

	home := filepath.Join(dir, "home")
	for _, sub := range []string{"config", "data", "state", "run"} {
		if err := os.MkdirAll(filepath.Join(home, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.env = append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
		"GOPHONE_CONFIG="+d.Config,
	)

	t.Cleanup(d.stop)
	d.start(t)
	return d
}

// start runs `serve` and waits until `status --json` answers.
func (d *Daemon) start(t testing.TB) {
	t.Helper()
	d.cmd, d.exited = nil, make(chan struct{})
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(d.Bin, "-c", d.Config, "serve")
	cmd.Env = d.env
	cmd.Dir = d.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s serve: %v", d.Bin, err)
	}
	d.cmd = cmd
	exited := d.exited
	go func() {
		d.waitErr = cmd.Wait()
		logf.Close()
		close(exited)
	}()

	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := d.Run("status", "--json")
		if err == nil {
			return
		}
		select {
		case <-exited:
			d.dumpLog()
			t.Fatalf("gophone serve exited before it was ready: %v (last status: %v)", d.waitErr, err)
		default:
		}
		if time.Now().After(deadline) {
			d.dumpLog()
			t.Fatalf("gophone serve not ready after 20s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a fixed wait
	}
}

// Restart closes the daemon (Close, as `gophone close` does) and starts it
// again on the same configuration and data.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	d.stop()
	d.start(t)
}

// KillRestart kills the daemon with SIGKILL (nothing flushed, nothing
// closed) and starts it again on the same configuration and data.
func (d *Daemon) KillRestart(t testing.TB) {
	t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 gophone serve: %v", err)
	}
	<-d.exited
	d.start(t)
}

// stop asks the daemon to close, kills it if it does not exit in time, and
// logs its output when the test failed.
func (d *Daemon) stop() {
	if d.cmd == nil {
		return // never started
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.command(ctx, "close").Run()
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

func (d *Daemon) dumpLog() {
	b, _ := os.ReadFile(d.logPath)
	d.t.Logf("gophone serve output (%s):\n%s", d.logPath, b)
	if b, err := os.ReadFile(filepath.Join(d.Dir, "gophone.log")); err == nil {
		d.t.Logf("gophone log file:\n%s", b)
	}
}

func (d *Daemon) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.Bin, append([]string{"-c", d.Config}, args...)...)
	cmd.Env = d.env
	cmd.Dir = d.Dir
	return cmd
}

// SIPAddr returns the daemon's SIP address, 127.0.0.1:port.
func (d *Daemon) SIPAddr() string { return "127.0.0.1:" + strconv.Itoa(d.SIPPort) }

// HTTPAddr returns the daemon's HTTP API address, 127.0.0.1:port.
func (d *Daemon) HTTPAddr() string { return "127.0.0.1:" + strconv.Itoa(d.HTTPPort) }

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Exited is closed when the daemon process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Kill ends the daemon with SIGKILL, as `kill -9 PID` does, and waits
// for it to exit: no shutdown work of its own runs.
func (d *Daemon) Kill() {
	_ = d.cmd.Process.Kill()
	<-d.exited
}

// Start runs the daemon again after Kill, on the same configuration and
// data, and returns once it answers.
func (d *Daemon) Start(t testing.TB) {
	t.Helper()
	d.start(t)
}

// Run runs `bin -c FILE args…` as a client and returns its standard output.
// A non-zero exit is an *exec.ExitError whose message includes stderr. Each
// client run is bounded to 60 s.
func (d *Daemon) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := d.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("gophone %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ExitErr is how `gophone serve` ended (nil: exit status 0). Call it only
// after Exited is closed.
func (d *Daemon) ExitErr() error { return d.waitErr }

// MustRun is Run that fails the test on error.
func (d *Daemon) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Status runs `status --json` and decodes it.
func (d *Daemon) Status(t testing.TB) Status {
	t.Helper()
	out := d.MustRun(t, "status", "--json")
	var s Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

// Status mirrors `status --json` (DESIGN §5).
type Status struct {
	Version  string     `json:"version"`
	Revision string     `json:"revision"`
	Accounts []Account  `json:"accounts"`
	Calls    []Call     `json:"calls"`
	Audio    AudioState `json:"audio"`
}

// Call returns the call with the given gophone id, or false.
func (s Status) Call(id string) (Call, bool) {
	for _, c := range s.Calls {
		if string(c.ID) == id {
			return c, true
		}
	}
	return Call{}, false
}

// Account is one account in Status.
type Account struct {
	ID         ID     `json:"id"`
	Label      string `json:"label"`
	AOR        string `json:"aor"`
	Registered bool   `json:"registered"`
	State      string `json:"state"`
	Error      string `json:"error"`
	// NeedsPassword: the file holds MicroSIP's encrypted password only.
	NeedsPassword bool `json:"needsPassword"`
	Code          int  `json:"code"`
	Expires       int  `json:"expires"` // seconds the registrar granted
}

// Call is one call in Status.
type Call struct {
	ID         ID     `json:"id"`
	SIPCallID  string `json:"sipCallId"`
	Account    ID     `json:"account"`
	Direction  string `json:"direction"` // incoming|outgoing
	Number     string `json:"number"`
	Name       string `json:"name"`
	URI        string `json:"uri"`
	State      string `json:"state"` // calling|early|ringing|established|ended
	Held       bool   `json:"held"`
	RemoteHeld bool   `json:"remoteHeld"`
	Muted      bool   `json:"muted"`
	// Started and Answered are RFC 3339 times, kept as text.
	Started   string          `json:"started"`
	Answered  string          `json:"answered"`
	Duration  float64         `json:"duration"` // seconds
	Codec     string          `json:"codec"`
	SRTP      bool            `json:"srtp"`
	Recording json.RawMessage `json:"recording,omitempty"`
	RTP       RTPStats        `json:"rtp"`
}

// RTPStats is a call's receive statistics, its jitter buffer's, and what
// the far end's RTCP reports say of the audio it sends.
type RTPStats struct {
	Lost           int64   `json:"lost"`
	JitterMs       float64 `json:"jitterMs"`
	BufferMs       int64   `json:"bufferMs"`
	Late           int64   `json:"late"`
	Concealed      int64   `json:"concealed"`
	RTTMs          float64 `json:"rttMs"`
	RemoteLost     int64   `json:"remoteLost"`
	RemoteJitterMs float64 `json:"remoteJitterMs"`
}

// AudioState is the audio part of Status.
type AudioState struct {
	Input     string  `json:"input"`
	Output    string  `json:"output"`
	Volume    float64 `json:"volume"`
	MicVolume float64 `json:"micVolume"`
	Muted     bool    `json:"muted"`
}

// ID is an identifier that the JSON may carry as a string or a number.
type ID string

// UnmarshalJSON accepts "7" and 7 alike.
func (id *ID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	if string(b) == "null" {
		*id = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*id = ID(n.String())
	return nil
}

// Event is one line of `gophone events`: the decoded event and its raw JSON,
// for fields a test wants that events.Event does not name.
type Event struct {
	events.Event
	Raw json.RawMessage `json:"-"`
}

// EventStream is a running `gophone events --since 0` client whose lines are
// collected as they arrive.
type EventStream struct {
	cmd *exec.Cmd
	log *eventLog[Event]

	mu     sync.Mutex
	stderr bytes.Buffer
	bad    []string // lines that were not JSON events
}

// Events starts `bin -c FILE events --since 0`; it is stopped at cleanup.
func (d *Daemon) Events(t testing.TB) *EventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &EventStream{log: newEventLog[Event]()}
	s.cmd = d.command(ctx, "events", "--since", "0")
	s.cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.stderr}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("gophone events: %v", err)
	}
	go s.read(out)
	t.Cleanup(func() {
		cancel()
		<-s.log.done
		_ = s.cmd.Wait()
	})
	return s
}

func (s *EventStream) read(r io.Reader) {
	defer s.log.finish()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil || e.Type == "" {
			s.mu.Lock()
			s.bad = append(s.bad, string(line))
			s.mu.Unlock()
			continue
		}
		e.Raw = append(json.RawMessage(nil), line...)
		s.log.add(e)
	}
}

// All returns every event received so far.
func (s *EventStream) All() []Event { return s.log.all() }

// WaitFor returns the first event after the one the previous WaitFor
// returned (or from the start) for which match is true, waiting up to
// timeout for it. Events it passes over are not offered again. It fails the
// test on timeout or when the stream ends.
func (s *EventStream) WaitFor(t testing.TB, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	e, err := s.log.wait(timeout, match)
	if err != nil {
		t.Fatalf("gophone events: %v (waited up to %v)%s", err, timeout, s.dump())
	}
	return e
}

// WaitType waits for the next event of the given type (and call id, when
// call is not empty).
func (s *EventStream) WaitType(t testing.TB, timeout time.Duration, typ, call string) Event {
	t.Helper()
	return s.WaitFor(t, timeout, func(e Event) bool {
		return e.Type == typ && (call == "" || e.Call == call)
	})
}

// dump renders the events seen so far for a failure message.
func (s *EventStream) dump() string {
	var b strings.Builder
	all := s.log.all()
	fmt.Fprintf(&b, "\nevents so far (%d):", len(all))
	for _, e := range all {
		b.WriteString("\n  ")
		b.Write(e.Raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.bad {
		b.WriteString("\n  not an event: ")
		b.WriteString(l)
	}
	if s.stderr.Len() > 0 {
		b.WriteString("\nstderr: ")
		b.WriteString(s.stderr.String())
	}
	return b.String()
}

// lockedWriter serialises writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// MergeINI returns an ini file whose [Settings] section holds settings
// followed by the [Settings] lines of extra (later keys win in gophone's ini
// reader, and duplicates are removed here so the result is unambiguous),
// then the other sections of extra. When extra has no [AccountN] section a
// serverless local account is added.
func MergeINI(settings []string, extra string) string {
	sections := map[string][]string{}
	var order []string
	cur := "Settings"
	order = append(order, cur)
	sections[cur] = append(sections[cur], settings...)
	for _, line := range strings.Split(extra, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			cur = strings.TrimSpace(line[1 : len(line)-1])
			if _, ok := sections[cur]; !ok {
				order = append(order, cur)
				sections[cur] = nil
			}
			continue
		}
		sections[cur] = append(sections[cur], line)
	}
	hasAccount := false
	for _, name := range order {
		if strings.HasPrefix(strings.ToLower(name), "account") {
			hasAccount = true
		}
	}
	if !hasAccount {
		order = append(order, "Account1")
		sections["Account1"] = []string{"label=local"}
	}
	var b strings.Builder
	for i, name := range order {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[%s]\n", name)
		for _, line := range dedupKeys(sections[name]) {
			b.WriteString(line)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// dedupKeys keeps the last line for each key, in the position of the first.
func dedupKeys(lines []string) []string {
	last := map[string]string{}
	var keys []string
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if _, ok := last[k]; !ok {
			keys = append(keys, k)
		}
		last[k] = l
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, last[k])
	}
	return out
}
