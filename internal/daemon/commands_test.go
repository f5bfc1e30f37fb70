package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/phone"
	"github.com/gophone/gophone/internal/testutil"
)

// The table is complete: every command has a handler and its own HTTP
// route, no two commands share a route, and a route's {wildcards} are
// parameters of its command.
func TestTableComplete(t *testing.T) {
	routes := map[string]string{}
	wildcard := regexp.MustCompile(`\{([a-z]+)\}`)
	for _, c := range commands() {
		if c.Run == nil {
			t.Errorf("%s has no handler", c.Name)
		}
		if c.Route.Method == "" || !strings.HasPrefix(c.Route.Path, "/v1/") {
			t.Errorf("%s has no route under /v1/: %+v", c.Name, c.Route)
		}
		key := c.Route.Method + " " + c.Route.Path
		if other, ok := routes[key]; ok {
			t.Errorf("%s and %s share the route %s", c.Name, other, key)
		}
		routes[key] = c.Name
		for _, m := range wildcard.FindAllStringSubmatch(c.Route.Path, -1) {
			if !hasParam(c.Spec, m[1]) {
				t.Errorf("%s: route %s names {%s}, which is not a parameter", c.Name, key, m[1])
			}
		}
	}
	for _, n := range []string{"Dial", "CallTo", "Hangup", "Answer", "Reject", "Hold", "Transfer",
		"SendDTMF", "Mute", "VolumeUp", "VolumeDown", "SetVolume", "SetMicVolume", "SetDevice",
		"Devices", "Status", "Message", "Close"} {
		if _, ok := commands().Lookup(n); !ok {
			t.Errorf("DESIGN §2 command %q is missing from the table", n)
		}
	}
}

func hasParam(s command.Spec, name string) bool {
	for _, p := range s.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// newTestPhone is a real phone on a free loopback port, with null audio and
// the default local account (which has no domain).
func newTestPhone(t testing.TB, bus *events.Bus) *phone.Phone {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.DataDir = t.TempDir()
	ph, err := phone.New(context.Background(), cfg, bus, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ph.Close() })
	return ph
}

// Every command through the daemon's table on a phone without calls: the
// validation in front of each handler, the handler's own errors and its
// result.
func TestCommandsWithoutCalls(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		cmd      string
		args     command.Args
		wantCode string // "" for success
		check    func(t *testing.T, res any)
	}{
		{"nosuch", nil, command.CodeUnknownCommand, nil},
		{"SetVolume", command.Args{"level": 101}, command.CodeBadArgs, nil},
		{"SetVolume", command.Args{"level": -5}, command.CodeBadArgs, nil},
		{"SetVolume", command.Args{}, command.CodeBadArgs, nil},
		{"Mute", command.Args{"state": "maybe"}, command.CodeBadArgs, nil},
		{"VolumeUp", command.Args{"steps": 11}, command.CodeBadArgs, nil},
		{"SetDevice", command.Args{"direction": "sideways", "device": "null"}, command.CodeBadArgs, nil},
		{"SendDTMF", command.Args{"digits": "12x"}, command.CodeBadArgs, nil},
		{"Dial", command.Args{"number": "1001"}, command.CodeBadArgs, nil},
		{"Dial", command.Args{"number": "1001", "account": "7"}, command.CodeNoSuchAccount, nil},
		{"Answer", nil, command.CodeNoRingingCall, nil},
		{"Reject", command.Args{"decline": true}, command.CodeNoRingingCall, nil},
		{"Hangup", nil, command.CodeNoActiveCall, nil},
		{"Hangup", command.Args{"call": "9"}, command.CodeNoSuchCall, nil},
		{"Hold", nil, command.CodeNoActiveCall, nil},
		{"SendDTMF", command.Args{"digits": "12#"}, command.CodeNoActiveCall, nil},
		{"Transfer", command.Args{"number": "1002"}, command.CodeNoActiveCall, nil},
		{"Answer", command.Args{"call": "3"}, command.CodeNoSuchCall, nil},

		{"hangup", command.Args{"all": true}, "", func(t *testing.T, res any) {
			if m, ok := res.(map[string]int); !ok || m["ended"] != 0 {
				t.Errorf("result %#v, want ended 0", res)
			}
		}},
		{"setvolume", command.Args{"level": 30}, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); st.Volume != 30 || st.MicVolume != 100 {
				t.Errorf("status %+v, want volume 30, mic 100", st)
			}
		}},
		{"SetMicVolume", command.Args{"level": 20.0}, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); st.MicVolume != 20 || st.Volume != 100 {
				t.Errorf("status %+v, want mic 20, volume 100", st)
			}
		}},
		{"MicDown", command.Args{"steps": 3}, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); st.MicVolume != 70 {
				t.Errorf("status %+v, want mic 70", st)
			}
		}},
		{"Mute", nil, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); !st.Muted {
				t.Errorf("status %+v, want muted", st)
			}
		}},
		{"Mute", command.Args{"state": "off"}, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); st.Muted {
				t.Errorf("status %+v, want not muted", st)
			}
		}},
		{"SetDevice", command.Args{"direction": "input", "device": "tone:440"}, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); st.Input != "tone:440" || st.Output != "null" {
				t.Errorf("status %+v, want input tone:440, output null", st)
			}
		}},
		{"SetDevice", command.Args{"direction": "output", "device": "file:" + filepath.Join(dir, "o.wav")}, "", func(t *testing.T, res any) {
			if st := res.(phone.AudioStatus); st.Output != "file:"+filepath.Join(dir, "o.wav") || st.Input != "null" {
				t.Errorf("status %+v, want the file output", st)
			}
		}},
		{"SetDevice", command.Args{"direction": "output", "device": "tone:440"}, command.CodeNoSuchDevice, nil},
		{"SetDevice", command.Args{"direction": "input", "device": "speaker"}, command.CodeNoSuchDevice, nil},
		{"SetDevice", command.Args{"direction": "output", "device": "file:out.mp3"}, command.CodeNoSuchDevice, nil},
		{"Devices", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			d, _ := newTestDaemon(t)
			d.phone = newTestPhone(t, d.bus)
			resp := d.Exec(context.Background(), "socket", command.Request{Command: tt.cmd, Args: tt.args})
			if tt.wantCode != "" {
				if resp.OK || resp.Error.Code != tt.wantCode {
					t.Fatalf("%s %v = %+v, want a %s error", tt.cmd, tt.args, resp, tt.wantCode)
				}
				return
			}
			if !resp.OK {
				t.Fatalf("%s %v: %+v", tt.cmd, tt.args, resp.Error)
			}
			if tt.check != nil {
				tt.check(t, resp.Result)
			}
		})
	}
}
