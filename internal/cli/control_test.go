package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/control"
)

type execFunc func(ctx context.Context, channel string, req command.Request) command.Response

func (f execFunc) Exec(ctx context.Context, channel string, req command.Request) command.Response {
	return f(ctx, channel, req)
}

// The client works against the real control socket.
func TestControlSocket(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "gophone.sock")
	ln, err := control.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &control.Server{Exec: execFunc(func(ctx context.Context, channel string, req command.Request) command.Response {
		switch req.Command {
		case "Status":
			return command.Response{OK: true, Result: map[string]any{"calls": []map[string]any{
				{"id": "c1", "number": "1001", "state": "established", "duration": 42}}}}
		case "Dial":
			return command.Response{OK: true, Result: map[string]any{"call": "c2"}}
		}
		return command.Response{Error: command.Errorf(command.CodeNoActiveCall, "no active call")}
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"status"}, ExitOK, "CONNECTED 1001 00:42\n", ""},
		{[]string{"1001"}, ExitOK, "c2\n", ""},
		{[]string{"hold"}, ExitFailure, "", "gophone: no active call (no_active_call)\n"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		r := newRunner(Env{Stdout: &stdout, Stderr: &stderr})
		r.findSocket = func(string) (string, error) { return socket, nil }
		code := r.main(ctx, tt.args)
		if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
			t.Errorf("%q: exit %d stdout %q stderr %q; want %d %q %q", tt.args, code, stdout.String(), stderr.String(),
				tt.code, tt.stdout, tt.stderr)
		}
	}

	// A socket nobody listens on: commands that need the daemon say so.
	var stderr bytes.Buffer
	r := newRunner(Env{Stderr: &stderr})
	r.findSocket = func(string) (string, error) { return filepath.Join(t.TempDir(), "none.sock"), nil }
	if code := r.main(ctx, []string{"answer"}); code != ExitNotRunning || stderr.String() != "gophone is not running\n" {
		t.Errorf("answer without daemon: exit %d stderr %q", code, stderr.String())
	}
}

// The socket comes from the configuration file that -c, $GOPHONE_CONFIG or
// the XDG default names.
func TestFindSocket(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "my.ini")
	if err := os.WriteFile(ini, []byte("[Settings]\ncontrolSocket = "+filepath.Join(dir, "my.sock")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envs := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		flag    string
		getenv  func(string) string
		want    string
		wantErr bool
	}{
		{"-c", ini, envs("HOME", dir), filepath.Join(dir, "my.sock"), false},
		{"GOPHONE_CONFIG", "", envs("HOME", dir, "GOPHONE_CONFIG", ini), filepath.Join(dir, "my.sock"), false},
		{"default", "", envs("HOME", dir, "XDG_CONFIG_HOME", filepath.Join(dir, "none"), "XDG_RUNTIME_DIR", "/run/user/7"),
			"/run/user/7/gophone/gophone.sock", false},
		{"missing -c", filepath.Join(dir, "missing.ini"), envs("HOME", dir), "", true},
	}
	for _, tt := range tests {
		r := newRunner(Env{Getenv: tt.getenv})
		got, err := r.findSocket(tt.flag)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: %q, %v; want %q (error %v)", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}
