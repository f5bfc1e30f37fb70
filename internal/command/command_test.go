package command_test

import (
	"encoding/json"
	. "github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/daemon"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The table under test is the daemon's: the one every front end serves.
// These tests are outside package command (dot-importing it) because the
// daemon imports it.

// Lookup and Names read the daemon's table.
func Lookup(name string) (Spec, bool) { return daemon.Specs().Lookup(name) }
func Names() []string                 { return daemon.Specs().Names() }

func mustLookup(t *testing.T, name string) Spec {
	t.Helper()
	s, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) found nothing", name)
	}
	return s
}

func TestLookupIsCaseInsensitive(t *testing.T) {
	tests := []struct {
		name string
		want string // canonical name, "" for not found
	}{
		{"SendDTMF", "SendDTMF"},
		{"senddtmf", "SendDTMF"},
		{"SENDDTMF", "SendDTMF"},
		{"sEnDdTmF", "SendDTMF"},
		{"dial", "Dial"},
		{"callto", "CallTo"},
		{"volumeup", "VolumeUp"},
		{"setmicvolume", "SetMicVolume"},
		{"status", "Status"},
		{"close", "Close"},
		{"nosuchcommand", ""},
		{"", ""},
		{"send dtmf", ""},
	}
	for _, tt := range tests {
		s, ok := Lookup(tt.name)
		if tt.want == "" {
			if ok {
				t.Errorf("Lookup(%q) = %q, want not found", tt.name, s.Name)
			}
			continue
		}
		if !ok || s.Name != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q, true", tt.name, s.Name, ok, tt.want)
		}
	}
}

// Every name in Names must be found by Lookup, so the CLI, the control
// socket and the REST API agree on the command set.
func TestNamesAllLookUp(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[strings.ToLower(n)] {
			t.Errorf("command %q is in the table twice", n)
		}
		seen[strings.ToLower(n)] = true
		if s, ok := Lookup(strings.ToLower(n)); !ok || s.Name != n {
			t.Errorf("Lookup(%q) = %q, %v", strings.ToLower(n), s.Name, ok)
		}
	}
	for _, n := range []string{"Dial", "CallTo", "Hangup", "Answer", "Reject", "Hold", "Transfer",
		"SendDTMF", "Mute", "VolumeUp", "VolumeDown", "SetVolume", "SetMicVolume", "SetDevice",
		"Devices", "Status", "Message", "Close"} {
		if !seen[strings.ToLower(n)] {
			t.Errorf("DESIGN §2 command %q is missing from the table", n)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cmd     string
		args    Args
		wantErr string // substring of the message; "" for success
	}{
		{"Dial", Args{"number": "1001"}, ""},
		{"Dial", Args{"number": "1001", "account": "1"}, ""},
		{"Dial", Args{}, "missing number"},
		{"Dial", nil, "missing number"},
		{"Dial", Args{"number": ""}, "missing number"},
		{"Dial", Args{"number": nil}, "number"},
		{"Dial", Args{"number": "1001", "bogus": "x"}, `unknown argument "bogus"`},
		{"Dial", Args{"number": 1001.0}, "must be a string"},
		{"Devices", Args{"x": 1}, "unknown argument"},
		{"Devices", Args{}, ""},

		{"SetVolume", Args{"level": 0}, ""},
		{"SetVolume", Args{"level": 100}, ""},
		{"SetVolume", Args{"level": 50.0}, ""},
		{"SetVolume", Args{"level": json.Number("75")}, ""},
		{"SetVolume", Args{"level": "42"}, ""},
		{"SetVolume", Args{"level": 101}, "0-100"},
		{"SetVolume", Args{"level": -1}, "0-100"},
		{"SetVolume", Args{"level": 101.0}, "0-100"},
		{"SetVolume", Args{"level": "loud"}, "must be an integer"},
		{"SetVolume", Args{"level": json.Number("1.5e400")}, "must be an integer"},
		{"SetVolume", Args{"level": true}, "must be an integer"},
		{"SetVolume", Args{}, "missing level"},
		{"SetMicVolume", Args{"level": 200}, "0-100"},
		{"VolumeUp", Args{}, ""},
		{"VolumeUp", Args{"steps": 1}, ""},
		{"VolumeUp", Args{"steps": 10}, ""},
		{"VolumeUp", Args{"steps": 0}, "1-10"},
		{"VolumeUp", Args{"steps": 11}, "1-10"},
		{"VolumeDown", Args{"steps": 11.0}, "1-10"},

		{"Mute", Args{}, ""},
		{"Mute", Args{"state": "on"}, ""},
		{"Mute", Args{"state": "off"}, ""},
		{"Mute", Args{"state": "maybe"}, "must be one of on, off"},
		{"Mute", Args{"state": 1}, "must be a string"},

		{"SetDevice", Args{"direction": "input", "device": "tone:440"}, ""},
		{"SetDevice", Args{"direction": "output", "device": "null"}, ""},
		{"SetDevice", Args{"direction": "sideways", "device": "null"}, "must be one of input, output"},
		{"SetDevice", Args{"direction": "input"}, "missing device"},
		{"SetDevice", Args{"device": "null"}, "missing direction"},

		{"Hangup", Args{"all": true}, ""},
		{"Hangup", Args{"all": "true"}, ""},
		{"Hangup", Args{"all": "perhaps"}, "true or false"},
		{"Hangup", Args{"all": 1.0}, "true or false"},
		{"Hangup", Args{"all": true, "filter": "incoming"}, ""},
		{"Hangup", Args{"all": true, "filter": "sideways"}, "must be one of"},

		{"SendDTMF", Args{"digits": "12#", "call": "3", "timeout": "5s"}, ""},
		{"SendDTMF", Args{"call": "3"}, "missing digits"},
		{"SendDTMF", Args{"digits": "1", "timeout": 5}, "must be a duration"},
		{"SendDTMF", Args{"digits": "1", "timeout": "soon"}, "must be a duration"},
		{"SendDTMF", Args{"digits": "1", "timeout": "-1s"}, "must be a duration"},
		{"Message", Args{"to": "1001"}, "missing text"},
		{"Message", Args{"to": "1001", "text": "hi"}, ""},
		{"Subscribe", Args{"since": 0}, ""},
		{"Subscribe", Args{"since": 123456.0}, ""},
	}
	for _, tt := range tests {
		err := mustLookup(t, tt.cmd).Validate(tt.args)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s.Validate(%v) = %v, want nil", tt.cmd, tt.args, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s.Validate(%v) = nil, want error containing %q", tt.cmd, tt.args, tt.wantErr)
			continue
		}
		if err.Code != CodeBadArgs {
			t.Errorf("%s.Validate(%v) code = %q, want %q", tt.cmd, tt.args, err.Code, CodeBadArgs)
		}
		if !strings.Contains(err.Message, tt.wantErr) {
			t.Errorf("%s.Validate(%v) = %q, want it to contain %q", tt.cmd, tt.args, err.Message, tt.wantErr)
		}
		if !strings.Contains(err.Message, tt.cmd) {
			t.Errorf("%s.Validate(%v) = %q, want it to name the command", tt.cmd, tt.args, err.Message)
		}
	}
}

func TestParseCLI(t *testing.T) {
	cwd, err := os.Getwd() // a relative FILE is the client's: made absolute
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cmd     string
		words   []string
		want    Args
		wantErr string // substring of the message; "" for success
	}{
		{"SendDTMF", []string{"12#", "3"}, Args{"digits": "12#", "call": "3"}, ""},
		{"SendDTMF", []string{"12#"}, Args{"digits": "12#"}, ""},
		{"SendDTMF", []string{"12#", "--call=3"}, Args{"digits": "12#", "call": "3"}, ""},
		{"SendDTMF", []string{"12#", "--call", "3"}, Args{"digits": "12#", "call": "3"}, ""},
		{"SendDTMF", []string{"--call", "3", "12#"}, Args{"digits": "12#", "call": "3"}, ""},
		{"SendDTMF", []string{"--CALL=3", "12#"}, Args{"digits": "12#", "call": "3"}, ""},
		{"SendDTMF", []string{"12#", "--timeout", "5s"}, Args{"digits": "12#", "timeout": "5s"}, ""},
		{"SendDTMF", []string{"12#", "--timeout=1m30s"}, Args{"digits": "12#", "timeout": "1m30s"}, ""},
		{"SendDTMF", []string{"12#", "--timeout", "5"}, nil, "duration"},
		{"SendDTMF", []string{"12#", "--timeout=soon"}, nil, "duration"},
		{"SendDTMF", []string{"12#", "3", "4"}, nil, `unexpected argument "4"`},
		{"SendDTMF", []string{"12#", "--call"}, nil, "--call needs a value"},
		{"SendDTMF", []string{"12#", "--bogus", "1"}, nil, "unknown flag --bogus"},
		{"SendDTMF", []string{"12#", "--bogus=1"}, nil, "unknown flag --bogus"},
		{"SendDTMF", nil, nil, "missing digits"},
		{"SendDTMF", []string{"--call", "3"}, nil, "missing digits"},

		{"Hangup", nil, Args{}, ""},
		{"Hangup", []string{"2"}, Args{"call": "2"}, ""},
		{"Hangup", []string{"--all"}, Args{"all": true}, ""},
		{"Hangup", []string{"--all", "--filter", "incoming"}, Args{"all": true, "filter": "incoming"}, ""},
		{"Hangup", []string{"--all=false"}, Args{"all": false}, ""},
		{"Hangup", []string{"--all=1"}, Args{"all": true}, ""},
		{"Hangup", []string{"--all=maybe"}, nil, "true or false"},
		{"Hangup", []string{"--filter"}, nil, "needs a value"},
		{"Hangup", []string{"--all", "--filter", "sideways"}, nil, "must be one of"},
		{"Hangup", []string{"1", "2"}, nil, "unexpected argument"},
		{"Reject", []string{"--decline"}, Args{"decline": true}, ""},
		{"Reject", []string{"4", "--decline"}, Args{"call": "4", "decline": true}, ""},

		{"Dial", []string{"1001"}, Args{"number": "1001"}, ""},
		{"Dial", []string{"sip:1001@example.com", "--account", "2"}, Args{"number": "sip:1001@example.com", "account": "2"}, ""},
		{"Dial", nil, nil, "missing number"},
		{"Dial", []string{"1001", "1002"}, nil, "unexpected argument"},
		{"Transfer", []string{"1002", "3"}, Args{"number": "1002", "call": "3"}, ""},

		{"SetVolume", []string{"80"}, Args{"level": 80}, ""},
		{"SetVolume", []string{"101"}, nil, "0-100"},
		{"SetVolume", []string{"-1"}, nil, "0-100"},
		{"SetVolume", []string{"loud"}, nil, "must be an integer"},
		{"VolumeUp", nil, Args{}, ""},
		{"VolumeUp", []string{"3"}, Args{"steps": 3}, ""},
		{"VolumeUp", []string{"--steps=3"}, Args{"steps": 3}, ""},
		{"VolumeUp", []string{"11"}, nil, "1-10"},
		{"Mute", []string{"on"}, Args{"state": "on"}, ""},
		{"Mute", []string{"maybe"}, nil, "must be one of"},
		{"SetDevice", []string{"input", "tone:440"}, Args{"direction": "input", "device": "tone:440"}, ""},
		{"SetDevice", []string{"output", "file:/tmp/x.wav"}, Args{"direction": "output", "device": "file:/tmp/x.wav"}, ""},
		{"SetDevice", []string{"sideways", "null"}, nil, "must be one of input, output"},
		{"SetDevice", []string{"input"}, nil, "missing device"},
		{"Message", []string{"1001", "hello there"}, Args{"to": "1001", "text": "hello there"}, ""},
		{"Wait", []string{"call.established", "--call", "1", "--timeout", "2s"},
			Args{"event": "call.established", "call": "1", "timeout": "2s"}, ""},
		{"Status", []string{"--json"}, Args{"json": true}, ""},
		{"Subscribe", []string{"--since", "7"}, Args{"since": 7}, ""},
		{"Devices", []string{"extra"}, nil, "unexpected argument"},
		{"Play", []string{"/srv/prompt.wav", "2", "--loop"}, Args{"file": "/srv/prompt.wav", "call": "2", "loop": true}, ""},
		{"Play", []string{"stop"}, Args{"file": "stop"}, ""},
		{"Play", []string{"stop", "2"}, Args{"file": "stop", "call": "2"}, ""},
		{"Play", []string{"prompt.wav"}, Args{"file": cwd + "/prompt.wav"}, ""},
		{"Play", []string{"../a b.wav"}, Args{"file": filepath.Dir(cwd) + "/a b.wav"}, ""},
		{"Play", nil, nil, "missing file"},
		{"Record", []string{"start"}, Args{"action": "start"}, ""},
		{"Record", []string{"STOP", "3"}, Args{"action": "stop", "call": "3"}, ""},
		{"Record", []string{"pause"}, nil, "must be one of start, stop"},
		{"Record", nil, nil, "missing action"},
	}
	for _, tt := range tests {
		got, err := mustLookup(t, tt.cmd).ParseCLI(tt.words)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("%s.ParseCLI(%q) = %v, nil; want error containing %q", tt.cmd, tt.words, got, tt.wantErr)
				continue
			}
			if err.Code != CodeBadArgs {
				t.Errorf("%s.ParseCLI(%q) code = %q, want %q", tt.cmd, tt.words, err.Code, CodeBadArgs)
			}
			if !strings.Contains(err.Message, tt.wantErr) {
				t.Errorf("%s.ParseCLI(%q) = %q, want it to contain %q", tt.cmd, tt.words, err.Message, tt.wantErr)
			}
			if got != nil {
				t.Errorf("%s.ParseCLI(%q) returned args %v with an error", tt.cmd, tt.words, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s.ParseCLI(%q) error %v", tt.cmd, tt.words, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s.ParseCLI(%q) = %#v, want %#v", tt.cmd, tt.words, got, tt.want)
		}
	}
}

// The CLI result must be usable by the accessors the phone uses.
func TestParseCLIResultReadsBack(t *testing.T) {
	args, err := mustLookup(t, "senddtmf").ParseCLI([]string{"12#", "3", "--timeout", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := args.String("digits"); got != "12#" {
		t.Errorf("digits = %q, want 12#", got)
	}
	if got := args.String("call"); got != "3" {
		t.Errorf("call = %q, want 3", got)
	}
	if d, derr := args.Duration("timeout", time.Minute); derr != nil || d != 5*time.Second {
		t.Errorf("timeout = %v, %v; want 5s", d, derr)
	}
}

func TestArgsInt(t *testing.T) {
	tests := []struct {
		v      any
		want   int
		wantOK bool
	}{
		{7, 7, true},
		{int64(8), 8, true},
		{float64(9), 9, true},
		{json.Number("10"), 10, true},
		{json.Number("-3"), -3, true},
		{json.Number("1.5"), 0, false},
		{"11", 11, true},
		{"-2", -2, true},
		{"eleven", 0, false},
		{"", 0, false},
		{true, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := Args{"n": tt.v}.Int("n")
		if ok != tt.wantOK || (ok && got != tt.want) {
			t.Errorf("Int(%#v) = %d, %v; want %d, %v", tt.v, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := (Args{}).Int("n"); ok {
		t.Error("Int of an absent argument reports it as given")
	}
}

// Numbers decoded from a JSON request, the way the control socket and the
// HTTP API receive them, must read back as integers.
func TestArgsIntFromJSON(t *testing.T) {
	var req Request
	if err := json.Unmarshal([]byte(`{"command":"SetVolume","args":{"level":42}}`), &req); err != nil {
		t.Fatal(err)
	}
	if n, ok := req.Args.Int("level"); !ok || n != 42 {
		t.Errorf("Int(level) = %d, %v; want 42, true", n, ok)
	}
	if err := mustLookup(t, req.Command).Validate(req.Args); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestArgsBool(t *testing.T) {
	tests := []struct {
		v    any
		want bool
	}{
		{true, true},
		{false, false},
		{"true", true},
		{"TRUE", true},
		{"1", true},
		{"false", false},
		{"0", false},
		{"yes", false},
		{1.0, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := (Args{"b": tt.v}).Bool("b"); got != tt.want {
			t.Errorf("Bool(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestArgsString(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"abc", "abc"},
		{"", ""},
		{nil, ""},
		{3, "3"},
		{float64(3), "3"},
		{json.Number("12"), "12"},
		{true, "true"},
	}
	for _, tt := range tests {
		if got := (Args{"s": tt.v}).String("s"); got != tt.want {
			t.Errorf("String(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := (Args{}).String("s"); got != "" {
		t.Errorf("String of an absent argument = %q, want empty", got)
	}
}

func TestArgsDuration(t *testing.T) {
	const def = 30 * time.Second
	tests := []struct {
		v       any
		want    time.Duration
		wantErr bool
	}{
		{nil, def, false},
		{"", def, false},
		{"5s", 5 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"0s", 0, false},
		{"5", 0, true},
		{"soon", 0, true},
		{"-1s", 0, true},
	}
	for _, tt := range tests {
		args := Args{}
		if tt.v != nil {
			args["timeout"] = tt.v
		}
		got, err := args.Duration("timeout", def)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Duration(%#v) = %v, nil; want an error", tt.v, got)
			} else if err.Code != CodeBadArgs {
				t.Errorf("Duration(%#v) code = %q, want %q", tt.v, err.Code, CodeBadArgs)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Duration(%#v) = %v, %v; want %v, nil", tt.v, got, err, tt.want)
		}
	}
}

func TestErrorJSON(t *testing.T) {
	resp := Response{ID: "7", Error: Errorf(CodeBadArgs, "SetVolume: level must be %d-%d", 0, 100)}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"7","ok":false,"error":{"code":"bad_args","message":"SetVolume: level must be 0-100"}}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	if got := resp.Error.Error(); got != "SetVolume: level must be 0-100" {
		t.Errorf("Error() = %q", got)
	}
}

func TestNormalizeEnums(t *testing.T) {
	tests := []struct {
		cmd   string
		words []string
		key   string
		want  string
	}{
		{"Mute", []string{"ON"}, "state", "on"},
		{"SetDevice", []string{"INPUT", "tone:440"}, "direction", "input"},
		{"SetDevice", []string{"Output", "null"}, "direction", "output"},
		{"Hangup", []string{"--all", "--filter", "Incoming"}, "filter", "incoming"},
	}
	for _, tt := range tests {
		spec, _ := Lookup(tt.cmd)
		args, err := spec.ParseCLI(tt.words)
		if err != nil {
			t.Fatalf("%s %v: %v", tt.cmd, tt.words, err)
		}
		if got := args.String(tt.key); got != tt.want {
			t.Errorf("%s %v: %s = %q, want %q", tt.cmd, tt.words, tt.key, got, tt.want)
		}
		raw := Args{tt.key: strings.ToUpper(tt.want)}
		spec.Normalize(raw)
		if got := raw.String(tt.key); got != tt.want {
			t.Errorf("Normalize(%s %s=%q) = %q, want %q", tt.cmd, tt.key, strings.ToUpper(tt.want), got, tt.want)
		}
	}
}
