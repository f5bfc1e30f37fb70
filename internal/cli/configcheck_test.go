package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.ini", "[Settings]\nvolumeOutput=50\nvolume=40\nmainX=3\nVAD=1\nfoo=1\n[Calls]\n0=x\n")
	bad := write("bad.ini", "[Settings]\nvolumeOutput=50\nautoAnswer=sometimes\n")
	tests := []struct {
		args     []string
		env      map[string]string
		code     int
		out, err []string
		notOut   []string
	}{
		{[]string{"config", "check", good}, nil, ExitOK, []string{
			good + ":2", "[Settings] volumeOutput", "used", "50",
			"[Settings] volume", "alias of volumeOutput",
			"[Settings] mainX", "ignored (MicroSIP GUI)",
			"[Settings] VAD", "unsupported (MicroSIP feature gophone lacks)",
			"[Settings] foo", "unknown",
			"[Calls] 0", "ignored (MicroSIP section)",
			"warning: " + good + ":6: unknown key foo in [Settings]",
			"OK, gophone starts with it",
		}, nil, nil},
		{[]string{"-c", good, "config", "check"}, nil, ExitOK, []string{"[Settings] volumeOutput"}, nil, nil},
		{[]string{"config", "check"}, map[string]string{"GOPHONE_CONFIG": good}, ExitOK, []string{"[Settings] volumeOutput"}, nil, nil},
		{[]string{"config", "check", bad}, nil, ExitFailure, nil,
			[]string{bad + `:3: autoAnswer: "sometimes" is not one of "", button, header, all`}, []string{"OK"}},
		{[]string{"config", "check", filepath.Join(dir, "missing.ini")}, nil, ExitFailure, nil, []string{"no such file"}, nil},
		{[]string{"config", "check"}, map[string]string{"XDG_CONFIG_HOME": dir}, ExitOK,
			[]string{"does not exist: gophone starts with its defaults"}, nil, nil},
		{[]string{"config", "check", good, "extra"}, nil, ExitUsage, nil, []string{"unexpected argument"}, nil},
		{[]string{"config", "lint"}, nil, ExitUsage, nil, []string{`unknown subcommand "lint"`}, nil},
		{[]string{"config"}, nil, ExitUsage, nil, []string{"usage: gophone config check"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := map[string]string{"HOME": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			code := Main(context.Background(), tt.args, Env{Stdout: &stdout, Stderr: &stderr,
				Getenv: func(k string) string { return env[k] }})
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			for _, s := range tt.out {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tt.notOut {
				if strings.Contains(stdout.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tt.err {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}, {"-c", "x.ini", "--version"}} {
		var stdout bytes.Buffer
		code := Main(context.Background(), args, Env{Stdout: &stdout})
		if code != ExitOK || !strings.HasPrefix(stdout.String(), "gophone ") || !strings.Contains(stdout.String(), "(revision ") {
			t.Errorf("%v: exit %d, output %q", args, code, stdout.String())
		}
	}
	var stdout bytes.Buffer
	if code := Main(context.Background(), []string{"version", "--json"}, Env{Stdout: &stdout}); code != ExitOK ||
		!strings.Contains(stdout.String(), `"goVersion":"go`) {
		t.Errorf("version --json: exit %d, output %q", code, stdout.String())
	}
}
