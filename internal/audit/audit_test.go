package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/command"
)

func decodeLines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("invalid JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRecord(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		req     command.Request
		resp    command.Response
		want    map[string]any // expected keys (time checked separately)
	}{
		{
			name:    "ok",
			channel: "cli",
			req:     command.Request{Command: "Dial", Args: command.Args{"number": "1001"}},
			resp:    command.Response{OK: true, Result: map[string]any{"call": "1"}},
			want: map[string]any{"channel": "cli", "command": "Dial",
				"args": map[string]any{"number": "1001"}, "outcome": "ok"},
		},
		{
			name:    "error",
			channel: "socket",
			req:     command.Request{ID: "7", Command: "Hangup"},
			resp:    command.Response{ID: "7", Error: command.Errorf(command.CodeNoActiveCall, "no active call")},
			want: map[string]any{"channel": "socket", "command": "Hangup",
				"outcome": "no_active_call", "error": "no active call"},
		},
		{
			name:    "error without detail",
			channel: "http",
			req:     command.Request{Command: "Status"},
			resp:    command.Response{},
			want:    map[string]any{"channel": "http", "command": "Status", "outcome": "error"},
		},
		{
			name:    "redaction",
			channel: "http",
			req: command.Request{Command: "Register", Args: command.Args{
				"account":       "1",
				"Password":      "hunter2",
				"apiToken":      "abc",
				"authID":        "u1",
				"client_secret": "s",
				"nested": map[string]any{
					"user":     "alice",
					"PASSWORD": "x",
					"deeper":   map[string]any{"Authorization": "Bearer y", "ok": 1},
				},
				"list":   []any{map[string]any{"token": "t", "name": "n"}, "plain"},
				"labels": map[string]string{"secretName": "z", "color": "red"},
			}},
			resp: command.Response{OK: true},
			want: map[string]any{"channel": "http", "command": "Register", "outcome": "ok",
				"args": map[string]any{
					"account":       "1",
					"Password":      Redacted,
					"apiToken":      Redacted,
					"authID":        Redacted,
					"client_secret": Redacted,
					"nested": map[string]any{
						"user":     "alice",
						"PASSWORD": Redacted,
						"deeper":   map[string]any{"Authorization": Redacted, "ok": float64(1)},
					},
					"list":   []any{map[string]any{"token": Redacted, "name": "n"}, "plain"},
					"labels": map[string]any{"secretName": Redacted, "color": "red"},
				}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf)
			l.Record(tt.channel, tt.req, tt.resp)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
				t.Fatalf("%d lines, want 1: %q", n, buf.String())
			}
			got := decodeLines(t, buf.Bytes())[0]
			ts, _ := got["time"].(string)
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("time %q: %v", ts, err)
			}
			delete(got, "time")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
			for _, s := range []string{"hunter2", "Bearer y", `"abc"`} {
				if strings.Contains(buf.String(), s) {
					t.Errorf("secret %q in log: %s", s, buf.String())
				}
			}
		})
	}
}

func TestRecordDoesNotModifyArgs(t *testing.T) {
	args := command.Args{"password": "p", "nested": map[string]any{"token": "t"}}
	New(&bytes.Buffer{}).Record("cli", command.Request{Command: "X", Args: args}, command.Response{OK: true})
	if args["password"] != "p" || args["nested"].(map[string]any)["token"] != "t" {
		t.Fatalf("args modified: %v", args)
	}
}

func TestConcurrentRecords(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l.Record("socket", command.Request{Command: "SendDTMF",
				Args: command.Args{"digits": strings.Repeat("1", 1000), "i": fmt.Sprint(i)}},
				command.Response{OK: true})
		})
	}
	wg.Wait()
	lines := decodeLines(t, buf.Bytes())
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	seen := map[string]bool{}
	for _, m := range lines {
		seen[m["args"].(map[string]any)["i"].(string)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records, want %d", len(seen), n)
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "audit.log")
	for i := range 2 { // the second Open appends
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		l.Record("cli", command.Request{Command: "Status"}, command.Response{OK: true})
		if err := l.Close(); err != nil {
			t.Fatalf("Close %d: %v", i, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(decodeLines(t, data)); got != 2 {
		t.Fatalf("%d lines, want 2", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode %o, want 600", mode)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if mode := di.Mode().Perm(); mode != 0o700 {
		t.Errorf("dir mode %o, want 700", mode)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrorReportedByClose(t *testing.T) {
	l := New(failWriter{})
	l.Record("cli", command.Request{Command: "Status"}, command.Response{OK: true})
	if err := l.Close(); err == nil {
		t.Fatal("Close = nil, want the write error")
	}
}
