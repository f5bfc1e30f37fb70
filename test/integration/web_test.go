package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// chromiumPath is Debian's Chromium, which scripts/test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// TestWebDialpad drives the web dialpad of daemon A in headless Chromium
// (test/web/dialpad.mjs, through playwright-core) while daemon B is the far
// end: a wrong token is refused in words; a call dialled by keyboard; B
// calls in, the banner names B, a click answers, the timer runs, the DTMF
// keypad's digits reach B, hold/resume, mute, levels and device pickers,
// Hang up puts the call in the history, Call back dials B; a transfer of B
// to C; the page offline while B calls, then back; chat; A restarted while
// the page is open. The script asks for B's side of each
// step on stdout and is answered on stdin. Screenshots go to the
// directory $GOPHONE_SCREENSHOTS names (docs/screenshots to refresh the
// README's), else to the test's temporary directory, so that a test run
// leaves the tree as it was.
func TestWebDialpad(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "test", "web", "dialpad.mjs")
	needWebTools(t, root)
	shots := os.Getenv("GOPHONE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	b := testutil.StartDaemon(t, gophoneBin, "[Account1]\nusername=2002\ndisplayName=Alice Example\n")
	// A's domain is B's address, so that a bare number (Call back 2002)
	// reaches B, as it would through a server.
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\n[Account1]\ndomain="+b.SIPAddr()+"\n")
	c := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n")
	bev, cev := b.Events(t), c.Events(t)

	// The browser reaches A through a proxy the test can cut, as a network
	// drop would.
	proxy := startCutProxy(t, a.HTTPAddr())

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = filepath.Join(root, "test", "web")
	// On a failed step, SIGTERM lets playwright close Chromium first.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(),
		"GOPHONE_URL=http://"+proxy.addr+"/",
		"GOPHONE_TOKEN="+a.API(t).Token,
		"GOPHONE_FAR_URI=sip:2002@"+b.SIPAddr(),
		"GOPHONE_CALLER_NAME=Alice Example",
		"GOPHONE_CALLER_NUMBER=2002",
		"GOPHONE_TRANSFER_URI=sip:carol@"+c.SIPAddr(),
		"GOPHONE_OUT_WAV="+filepath.Join(t.TempDir(), "heard.wav"),
		"GOPHONE_SCREENSHOTS="+shots,
		"CHROMIUM="+chromiumPath,
	)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		t.Logf("browser test output:\n%s", stderr.String())
	}()

	var bCall string // B's current call
	steps := map[string]func(arg string){
		"far-dials": func(string) {
			bCall = strings.TrimSpace(b.MustRun(t, "dial", "sip:web@"+a.SIPAddr()))
		},
		"far-rings": func(string) { bCall = bev.WaitType(t, eventWait, "call.incoming", "").Call },
		"far-ended": func(string) { bev.WaitType(t, eventWait, "call.ended", bCall) },
		"far-rejected": func(string) {
			if e := bev.WaitType(t, eventWait, "call.ended", bCall); e.Code != 486 {
				t.Fatalf("B's call ended with %d %s, want 486 (rejected)", e.Code, e.Reason)
			}
		},
		"far-heard-dtmf": func(want string) {
			var got string
			for len(got) < len(want) {
				got += bev.WaitType(t, eventWait, "dtmf.received", bCall).Digit
			}
			if got != want {
				t.Fatalf("B received DTMF %q, want %q", got, want)
			}
		},
		"far-transferred": func(string) {
			// B, transferred, calls C; C answers; B's call with A ends.
			bev.WaitFor(t, eventWait, func(e testutil.Event) bool {
				return e.Type == "call.established" && e.Call != bCall && e.Number == "carol"
			})
			bev.WaitType(t, eventWait, "call.ended", bCall)
			cCall := cev.WaitType(t, eventWait, "call.established", "").Call
			c.MustRun(t, "hangup", cCall)
		},
		"far-sends-dtmf": func(digits string) { b.MustRun(t, "senddtmf", digits, bCall) },
		"far-held":       func(string) { bev.WaitType(t, eventWait, "call.remote_held", bCall) },
		"far-resumed":    func(string) { bev.WaitType(t, eventWait, "call.remote_resumed", bCall) },
		"far-rings-and-hangs-up": func(string) {
			bCall = bev.WaitType(t, eventWait, "call.incoming", "").Call
			b.MustRun(t, "hangup", bCall)
		},
		"far-got-message": func(text string) {
			bev.WaitFor(t, eventWait, func(e testutil.Event) bool { return e.Type == "message.received" && e.Text == text })
		},
		"far-sends-message": func(text string) { b.MustRun(t, "message", "sip:web@"+a.SIPAddr(), text) },
		"restart":           func(string) { a.Restart(t) },
		"drop":              func(string) { proxy.cut() },
		"restore":           func(string) { proxy.restore(t) },
	}

	sc := bufio.NewScanner(stdout)
	done := false
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "DONE "); ok {
			t.Logf("browser test done: %s", rest)
			done = true
			continue
		}
		name, arg, _ := strings.Cut(strings.TrimPrefix(line, "STEP "), " ")
		run, ok := steps[name]
		if !strings.HasPrefix(line, "STEP ") || !ok {
			t.Fatalf("browser test printed %q, not a known step", line)
		}
		t.Logf("step %s %s", name, arg)
		run(arg)
		if _, err := io.WriteString(stdin, "OK\n"); err != nil {
			t.Fatalf("answering step %s: %v", name, err)
		}
	}
	if err := cmd.Wait(); err != nil || !done {
		t.Fatalf("browser test failed: %v (finished: %v)\n%s", err, done, stderr.String())
	}
}

// needWebTools fails the test when the browser test's tools are missing:
// scripts/test.sh installs them (Debian's chromium, npm ci in test/web).
func needWebTools(t *testing.T, root string) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath)
	}
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(root, "test", "web", "node_modules", pkg)); err != nil {
			missing = append(missing, "test/web/node_modules/"+pkg)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("missing %s: run scripts/test.sh (make test), which installs them", strings.Join(missing, ", "))
	}
}

// cutProxy is a reverse proxy on a loopback port in front of a daemon's
// HTTP API that a test can cut (every connection closed, new ones refused)
// and restore on the same port.
type cutProxy struct {
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: target}
	p := &cutProxy{
		addr:    fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
		handler: &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }},
	}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

// restore serves the proxy on its address again.
func (p *cutProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp4", p.addr)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	srv := &http.Server{Handler: p.handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
}

// cut closes the listener and every connection through the proxy.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		p.srv.Close()
		p.srv = nil
	}
}

// lockedBuffer is a bytes.Buffer safe for a process writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
