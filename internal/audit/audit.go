// Package audit writes gophone's audit log: one JSON line for every command
// from every channel, with secrets redacted.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/command"
)

// Redacted replaces the value of every secret argument.
const Redacted = "***"

// Log is an audit log. It is safe for concurrent use.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	c   io.Closer // nil for New
	err error     // first write error
	now func() time.Time
}

// Open opens the audit log file at path for appending, creating it with
// mode 0600 and its parent directories with mode 0700 if needed.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: creating log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: opening log: %w", err)
	}
	return &Log{w: f, c: f, now: time.Now}, nil
}

// New returns a Log that writes to w. Close does not close w.
func New(w io.Writer) *Log {
	return &Log{w: w, now: time.Now}
}

// entry is one line of the log; field order is the line's key order.
type entry struct {
	Time    string         `json:"time"`
	Channel string         `json:"channel"`
	Command string         `json:"command"`
	Args    map[string]any `json:"args,omitempty"`
	Outcome string         `json:"outcome"`
	Error   string         `json:"error,omitempty"`
}

// Record writes one line for req, received on channel ("cli", "socket",
// "http", …), and its response. The outcome is "ok" or the error code.
// Arguments whose names mention a password, secret, token or auth are
// written as "***", at any depth. A write error is kept and returned by
// Close; Record never fails the command it records.
func (l *Log) Record(channel string, req command.Request, resp command.Response) {
	e := entry{
		Time:    l.now().Format(time.RFC3339Nano),
		Channel: channel,
		Command: req.Command,
		Outcome: "ok",
	}
	if len(req.Args) > 0 {
		e.Args = redactMap(req.Args)
	}
	if !resp.OK {
		e.Outcome = "error"
		if resp.Error != nil {
			if resp.Error.Code != "" {
				e.Outcome = resp.Error.Code
			}
			e.Error = resp.Error.Message
		}
	}
	line, err := json.Marshal(e)
	if err != nil {
		// Args came from JSON or the CLI, so this should not happen; log
		// the command without them rather than nothing.
		e.Args = map[string]any{"unencodable": err.Error()}
		line, _ = json.Marshal(e)
	}
	line = append(line, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(line); err != nil && l.err == nil {
		l.err = fmt.Errorf("audit: writing log: %w", err)
	}
}

// Close closes the log file and reports the first write error, if any.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	if l.c != nil {
		if cerr := l.c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("audit: closing log: %w", cerr)
		}
		l.c = nil
	}
	return err
}

// secret reports whether an argument named key must not be logged.
func secret(key string) bool {
	k := strings.ToLower(key)
	for _, s := range [...]string{"password", "secret", "token", "auth"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactMap returns a copy of m with secret values replaced.
func redactMap[M ~map[string]any](m M) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if secret(k) {
			out[k] = Redacted
		} else {
			out[k] = redact(v)
		}
	}
	return out
}

// redact returns v with secrets in nested maps replaced.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return redactMap(x)
	case command.Args:
		return redactMap(x)
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			if secret(k) {
				out[k] = Redacted
			} else {
				out[k] = s
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactMap(e)
		}
		return out
	}
	return v
}
