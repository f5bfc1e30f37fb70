package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIPp runs one sipp process with a scenario file on 127.0.0.1, in the
// foreground as a child process (never -bg), with its traces in a private
// directory.
type SIPp struct {
	// Scenario is the scenario file (-sf).
	Scenario string
	// Port is sipp's SIP port (-p) and MediaPort its media port (-mp); both
	// are free loopback ports picked by NewSIPp.
	Port      int
	MediaPort int
	// Dir holds the error, statistics and message logs.
	Dir string

	t      testing.TB
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	result *SIPpResult
}

// SIPpResult is the outcome of a sipp run.
type SIPpResult struct {
	// ExitCode is sipp's exit status: 0 when every call succeeded, 1 when
	// at least one failed, 97/99 and up for errors (-1 when it was killed).
	ExitCode int
	Stdout   string
	Stderr   string
	// ErrLog is the -trace_err log (unexpected messages), StatLog the last
	// -trace_stat CSV, Messages the -trace_msg log.
	ErrLog   string
	StatLog  string
	Messages string
}

// OK reports whether sipp exited 0.
func (r SIPpResult) OK() bool { return r.ExitCode == 0 }

// String renders the result for a failure message, with each log cut to
// its last 16 KiB.
func (r SIPpResult) String() string {
	return fmt.Sprintf("sipp exit %d\n--- stderr\n%s\n--- errors\n%s\n--- messages\n%s",
		r.ExitCode, tail(r.Stderr), tail(r.ErrLog), tail(r.Messages))
}

// tail returns the end of s, at most 16 KiB of it.
func tail(s string) string {
	const max = 16 << 10
	if len(s) <= max {
		return s
	}
	return "[… " + strconv.Itoa(len(s)-max) + " bytes cut …]" + s[len(s)-max:]
}

// NewSIPp prepares a sipp run of scenario on a free port with a free media
// port range. It fails the test when sipp is not installed.
func NewSIPp(t testing.TB, scenario string) *SIPp {
	t.Helper()
	RequireTool(t, "sipp")
	abs, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("sipp scenario: %v", err)
	}
	return &SIPp{
		Scenario:  abs,
		Port:      FreePort(t),
		MediaPort: FreePortRange(t, 4),
		Dir:       t.TempDir(),
		t:         t,
	}
}

// Addr returns sipp's SIP address, 127.0.0.1:port.
func (s *SIPp) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Args returns the command line sipp runs with: the scenario, the loopback
// address and ports, trace files, a global timeout, then extra (for example
// "-m", "300", "-r", "20", "-l", "50", "-s", "1001"), then remote (the
// host:port to call, when it is not empty).
func (s *SIPp) Args(remote string, timeout time.Duration, extra ...string) []string {
	args := []string{
		"-sf", s.Scenario,
		"-i", "127.0.0.1",
		"-p", strconv.Itoa(s.Port),
		"-mi", "127.0.0.1",
		"-mp", strconv.Itoa(s.MediaPort),
		"-nostdin",
		"-trace_err", "-error_file", filepath.Join(s.Dir, "errors.log"),
		"-trace_stat", "-stf", filepath.Join(s.Dir, "stat.csv"),
		"-trace_msg", "-message_file", filepath.Join(s.Dir, "messages.log"),
		"-timeout", strconv.Itoa(int(timeout.Seconds()+0.5)) + "s",
		"-timeout_error",
	}
	args = append(args, extra...)
	if remote != "" {
		args = append(args, remote)
	}
	return args
}

// Start runs sipp in the background of the test (as a child process), with
// a hard limit of timeout; sipp's own -timeout is set to the same value so
// it exits by itself and reports failure. It is killed at cleanup if it is
// still running.
func (s *SIPp) Start(remote string, timeout time.Duration, extra ...string) {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("testutil: SIPp started twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	s.cancel = cancel
	s.cmd = exec.CommandContext(ctx, "sipp", s.Args(remote, timeout, extra...)...)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout = &s.stdout
	s.cmd.Stderr = &s.stderr
	s.cmd.Stdin = nil
	s.done = make(chan struct{})
	if err := s.cmd.Start(); err != nil {
		cancel()
		s.t.Fatalf("start sipp: %v", err)
	}
	go func() {
		err := s.cmd.Wait()
		s.result = s.collect(err)
		close(s.done)
	}()
	s.t.Cleanup(func() {
		cancel()
		<-s.done
		if s.t.Failed() {
			s.t.Logf("sipp %s: %s", filepath.Base(s.Scenario), s.result)
		}
	})
}

// WaitReady waits until sipp has bound its SIP UDP port, so that a peer can
// call it. Use it after Start for UAS scenarios.
func (s *SIPp) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.ListenPacket("udp4", s.Addr())
		if err != nil && errors.Is(err, syscall.EADDRINUSE) {
			return
		}
		if c != nil {
			c.Close()
		}
		select {
		case <-s.done:
			t.Fatalf("sipp exited before it was ready: %s", s.result)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sipp did not bind %s within 10s", s.Addr())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// Wait waits for sipp to exit and returns its result.
func (s *SIPp) Wait() SIPpResult {
	<-s.done
	return *s.result
}

// Done is closed when sipp has exited.
func (s *SIPp) Done() <-chan struct{} { return s.done }

// Run runs sipp to completion: Start then Wait.
func (s *SIPp) Run(remote string, timeout time.Duration, extra ...string) SIPpResult {
	s.t.Helper()
	s.Start(remote, timeout, extra...)
	return s.Wait()
}

func (s *SIPp) collect(err error) *SIPpResult {
	r := &SIPpResult{
		Stdout:   s.stdout.String(),
		Stderr:   s.stderr.String(),
		ErrLog:   readFile(filepath.Join(s.Dir, "errors.log")),
		StatLog:  readFile(filepath.Join(s.Dir, "stat.csv")),
		Messages: readFile(filepath.Join(s.Dir, "messages.log")),
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	default:
		r.ExitCode = -1
		r.Stderr += "\n" + err.Error()
	}
	return r
}

// Stat returns the value of the named column (for example
// "SuccessfulCall(C)" or "FailedCall(C)") in the last line of the statistics
// CSV, or "" when there is none.
func (r SIPpResult) Stat(column string) string {
	lines := strings.Split(strings.TrimSpace(r.StatLog), "\n")
	if len(lines) < 2 {
		return ""
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	for i, h := range head {
		if h == column && i < len(last) {
			return last[i]
		}
	}
	return ""
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
