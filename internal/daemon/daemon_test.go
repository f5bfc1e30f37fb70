package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audit"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/metrics"
)

// syncBuffer is a bytes.Buffer safe for the audit log's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestDaemon is a daemon without a phone: only the commands the daemon
// answers itself (and the validation in front of the phone) work, until a
// test gives it one (newTestPhone).
func newTestDaemon(t testing.TB) (*Daemon, *syncBuffer) {
	t.Helper()
	var buf syncBuffer
	_, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	bus := events.NewBus(100)
	t.Cleanup(bus.Close)
	d := &Daemon{
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		bus:      bus,
		audit:    audit.New(&buf),
		stop:     stop,
		commands: commands(),
		metrics:  metrics.New(metrics.Sources{Bus: bus}),
	}
	return d, &buf
}

func TestExecErrors(t *testing.T) {
	tests := []struct {
		name     string
		req      command.Request
		wantCode string
	}{
		{"unknown command", command.Request{ID: "1", Command: "Frobnicate"}, command.CodeUnknownCommand},
		{"empty command", command.Request{ID: "2"}, command.CodeUnknownCommand},
		{"volume out of range", command.Request{ID: "3", Command: "SetVolume", Args: command.Args{"level": 101.0}}, command.CodeBadArgs},
		{"unknown argument", command.Request{ID: "4", Command: "dial", Args: command.Args{"number": "1", "x": "y"}}, command.CodeBadArgs},
		{"missing argument", command.Request{ID: "5", Command: "Wait"}, command.CodeBadArgs},
		{"Wait timeout without unit", command.Request{ID: "6", Command: "Wait",
			Args: command.Args{"event": "call.ended", "timeout": "5"}}, command.CodeBadArgs},
		{"Wait times out", command.Request{ID: "7", Command: "wait",
			Args: command.Args{"event": "call.ended", "timeout": "30ms"}}, command.CodeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, buf := newTestDaemon(t)
			resp := d.Exec(context.Background(), "socket", tt.req)
			if resp.OK || resp.Error == nil {
				t.Fatalf("Exec(%+v) = %+v, want an error", tt.req, resp)
			}
			if resp.Error.Code != tt.wantCode {
				t.Errorf("code %q (%s), want %q", resp.Error.Code, resp.Error.Message, tt.wantCode)
			}
			if resp.ID != tt.req.ID {
				t.Errorf("reply id %q, want %q", resp.ID, tt.req.ID)
			}
			// The failure is in the audit log, with its code.
			var line struct {
				Channel, Command, Outcome string
			}
			if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
				t.Fatalf("audit log %q: %v", buf.String(), err)
			}
			if line.Channel != "socket" || line.Command != tt.req.Command || line.Outcome != tt.wantCode {
				t.Errorf("audit line %+v, want channel socket, command %q, outcome %q", line, tt.req.Command, tt.wantCode)
			}
		})
	}
}

func TestExecClose(t *testing.T) {
	tests := []struct {
		req    command.Request
		wantOK bool
	}{
		{command.Request{ID: "9", Command: "close"}, true},
		{command.Request{ID: "10", Command: "Close", Args: command.Args{"force": true}}, false},
	}
	for _, tt := range tests {
		d, buf := newTestDaemon(t)
		resp := d.Exec(context.Background(), "cli", tt.req)
		if resp.OK != tt.wantOK || resp.ID != tt.req.ID {
			t.Errorf("Exec(%+v) = %+v, want ok %v with id %q", tt.req, resp, tt.wantOK, tt.req.ID)
			continue
		}
		if tt.wantOK {
			if m, ok := resp.Result.(map[string]bool); !ok || !m["closing"] {
				t.Errorf("Close result %#v, want closing: true", resp.Result)
			}
			if !strings.Contains(buf.String(), `"outcome":"ok"`) {
				t.Errorf("audit log %q lacks the ok outcome", buf.String())
			}
		} else if resp.Error == nil || resp.Error.Code != command.CodeBadArgs {
			t.Errorf("Close with an unknown argument = %+v, want bad_args", resp)
		}
	}
}

// Wait returns the first matching event published after it started: the
// type matched case-insensitively and, with --call, only that call's events.
func TestExecWait(t *testing.T) {
	tests := []struct {
		name string
		args command.Args
		want events.Event
	}{
		{"any call", command.Args{"event": "call.established"},
			events.Event{Type: events.CallEstablished, Call: "2"}},
		{"type case-insensitive", command.Args{"event": "CALL.Established"},
			events.Event{Type: events.CallEstablished, Call: "2"}},
		{"one call", command.Args{"event": "call.established", "call": "1", "timeout": "5s"},
			events.Event{Type: events.CallEstablished, Call: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newTestDaemon(t)
			// An event from before the Wait does not count.
			d.bus.Publish(events.Event{Type: events.CallEstablished, Call: "old"})
			done := make(chan command.Response, 1)
			go func() {
				done <- d.Exec(context.Background(), "socket", command.Request{Command: "Wait", Args: tt.args})
			}()
			// Wait subscribes at some point after it starts; publish until it answers.
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(5 * time.Second)
			for {
				select {
				case resp := <-done:
					if !resp.OK {
						t.Fatalf("Wait = %+v", resp)
					}
					e, ok := resp.Result.(events.Event)
					if !ok {
						t.Fatalf("Wait result %T, want events.Event", resp.Result)
					}
					if e.Type != tt.want.Type || e.Call != tt.want.Call {
						t.Errorf("Wait returned %s for call %q, want %s for call %q", e.Type, e.Call, tt.want.Type, tt.want.Call)
					}
					return
				case <-tick.C:
					d.bus.Publish(events.Event{Type: events.CallRinging, Call: "1"})
					d.bus.Publish(events.Event{Type: events.CallEstablished, Call: "2"})
					d.bus.Publish(events.Event{Type: events.CallEstablished, Call: "1"})
				case <-deadline:
					t.Fatal("Wait did not return")
				}
			}
		})
	}
}
