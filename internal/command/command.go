// Package command defines gophone's command table: the one list of commands,
// their parameters and error codes that the CLI, the control socket and the
// HTTP API all serve.
package command

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Request is one command sent to the daemon.
type Request struct {
	ID      string `json:"id,omitempty"`
	Command string `json:"command"`
	Args    Args   `json:"args,omitempty"`
}

// Response is the daemon's answer to a Request.
type Response struct {
	ID     string `json:"id,omitempty"`
	OK     bool   `json:"ok"`
	Result any    `json:"result,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// Error is a command failure with a stable machine-readable code.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Stable error codes.
const (
	CodeUnknownCommand = "unknown_command"
	CodeBadArgs        = "bad_args"
	CodeNoSuchCall     = "no_such_call"
	CodeNoActiveCall   = "no_active_call"
	CodeNoRingingCall  = "no_ringing_call"
	CodeWrongState     = "wrong_state"
	CodeNoSuchDevice   = "no_such_device"
	CodeNoSuchAccount  = "no_such_account"
	CodeBusy           = "busy"
	CodeTimeout        = "timeout"
	CodeSIPError       = "sip_error"
	CodeNotRunning     = "not_running"
	CodeUnavailable    = "unavailable"
	CodeInternal       = "internal"
)

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Kind is the type of a parameter.
type Kind int

// Parameter kinds.
const (
	String Kind = iota
	Int
	Bool
	Duration // a Go duration string such as "30s"
)

// Param describes one argument of a command.
type Param struct {
	Name       string // key in Args
	Kind       Kind
	Positional bool // taken from the CLI in order; otherwise only as --name
	Required   bool
	Min, Max   int      // bounds for Int when Max > 0
	Enum       []string // allowed values for String, when set
	Help       string
}

// Spec describes a command.
type Spec struct {
	Name   string // canonical name, e.g. "SendDTMF"
	Params []Param
	Help   string
	// NeedsDaemon reports that the CLI must not start a missing daemon for
	// this command but report that gophone is not running.
	NeedsDaemon bool
	// Stream marks commands that turn the connection into a stream.
	Stream bool
}

var (
	callParam    = Param{Name: "call", Kind: String, Positional: true, Help: "call id"}
	numberParam  = Param{Name: "number", Kind: String, Positional: true, Required: true, Help: "number or URI"}
	timeoutParam = Param{Name: "timeout", Kind: Duration, Help: "how long to wait for the call to be established (default 30s)"}
	accountParam = Param{Name: "account", Kind: String, Help: "account id or number"}
	jsonParam    = Param{Name: "json", Kind: Bool, Help: "print JSON"}
	limitParam   = Param{Name: "limit", Kind: Int, Min: 1, Max: 1000000, Help: "only the last N"}
)

// Table returns the command table. The slice is new on every call.
func Table() []Spec {
	return []Spec{
		{Name: "Dial", Help: "place a call; if a call is active, put it on hold first",
			Params: []Param{numberParam, accountParam}},
		{Name: "CallTo", Help: "place a call without holding the active one",
			Params: []Param{numberParam, accountParam}},
		{Name: "Hangup", Help: "end the active (or named) call", NeedsDaemon: true,
			Params: []Param{callParam, {Name: "all", Kind: Bool, Help: "end every call"},
				{Name: "filter", Kind: String, Enum: []string{"incoming", "outgoing"},
					Help: "with --all: only ringing incoming calls, or only outgoing calls not yet answered"}}},
		{Name: "Answer", Help: "answer the ringing call", NeedsDaemon: true,
			Params: []Param{callParam}},
		{Name: "Reject", Help: "reject the ringing call (486, or 603 with --decline)", NeedsDaemon: true,
			Params: []Param{callParam, {Name: "decline", Kind: Bool, Help: "send 603 Decline"}}},
		{Name: "Hold", Help: "toggle hold/resume",
			Params: []Param{callParam}},
		{Name: "Transfer", Help: "blind transfer (REFER); reports the NOTIFY outcome",
			Params: []Param{numberParam, callParam, timeoutParam}},
		{Name: "SendDTMF", Help: "send RFC 4733 digits; ',' is a pause",
			Params: []Param{{Name: "digits", Kind: String, Positional: true, Required: true, Help: "0-9 * # A-D and ,"}, callParam, timeoutParam}},
		{Name: "Mute", Help: "toggle (or set) microphone mute",
			Params: []Param{{Name: "state", Kind: String, Positional: true, Enum: []string{"on", "off"}, Help: "on or off"}}},
		{Name: "VolumeUp", Help: "speaker volume + steps x 10",
			Params: []Param{{Name: "steps", Kind: Int, Positional: true, Min: 1, Max: 10, Help: "1-10 (default 1)"}}},
		{Name: "VolumeDown", Help: "speaker volume - steps x 10",
			Params: []Param{{Name: "steps", Kind: Int, Positional: true, Min: 1, Max: 10, Help: "1-10 (default 1)"}}},
		{Name: "MicUp", Help: "microphone level + steps x 10",
			Params: []Param{{Name: "steps", Kind: Int, Positional: true, Min: 1, Max: 10, Help: "1-10 (default 1)"}}},
		{Name: "MicDown", Help: "microphone level - steps x 10",
			Params: []Param{{Name: "steps", Kind: Int, Positional: true, Min: 1, Max: 10, Help: "1-10 (default 1)"}}},
		{Name: "SetVolume", Help: "set speaker volume",
			Params: []Param{{Name: "level", Kind: Int, Positional: true, Required: true, Min: 0, Max: 100, Help: "0-100"}}},
		{Name: "SetMicVolume", Help: "set microphone level",
			Params: []Param{{Name: "level", Kind: Int, Positional: true, Required: true, Min: 0, Max: 100, Help: "0-100"}}},
		{Name: "SetDevice", Help: "switch audio device, also mid-call",
			Params: []Param{
				{Name: "direction", Kind: String, Positional: true, Required: true, Enum: []string{"input", "output"}, Help: "input or output"},
				{Name: "device", Kind: String, Positional: true, Required: true, Help: "device id"}}},
		{Name: "Devices", Help: "list audio devices with ids"},
		{Name: "Status", Help: "state of accounts, calls, audio", NeedsDaemon: true,
			Params: []Param{jsonParam}},
		{Name: "Message", Help: "send a SIP MESSAGE; reports delivery status",
			Params: []Param{{Name: "to", Kind: String, Positional: true, Required: true, Help: "number or URI"},
				{Name: "text", Kind: String, Positional: true, Required: true, Help: "message text"}, accountParam}},
		{Name: "Messages", Help: "list sent and received messages, oldest first",
			Params: []Param{jsonParam, {Name: "with", Kind: String, Help: "only messages with this number or URI"}, limitParam}},
		{Name: "History", Help: "list calls, newest first",
			Params: []Param{jsonParam, {Name: "number", Kind: String, Help: "only calls with this number"}, limitParam}},
		{Name: "Close", Help: "hang up, unregister, exit the daemon", NeedsDaemon: true},
		{Name: "Accounts", Help: "list accounts"},
		{Name: "Register", Help: "register an account", Params: []Param{{Name: "account", Kind: String, Positional: true}}},
		{Name: "Unregister", Help: "unregister an account", Params: []Param{{Name: "account", Kind: String, Positional: true}}},
		{Name: "Debug", Help: "runtime figures: goroutines, heap in use after GC, RSS"},
		{Name: "Wait", Help: "block until an event of the given type",
			Params: []Param{{Name: "event", Kind: String, Positional: true, Required: true, Help: "event type, e.g. call.established"},
				{Name: "call", Kind: String, Help: "only events of this call"}, timeoutParam}},
		{Name: "Subscribe", Help: "stream events", Stream: true,
			Params: []Param{{Name: "since", Kind: Int, Help: "resume after this seq"}}},
	}
}

// Lookup finds a command by name, case-insensitively.
func Lookup(name string) (Spec, bool) {
	for _, s := range Table() {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Spec{}, false
}

// Names returns the canonical command names in table order.
func Names() []string {
	t := Table()
	names := make([]string, len(t))
	for i, s := range t {
		names[i] = s.Name
	}
	return names
}

// Args holds a command's arguments by parameter name.
type Args map[string]any

// String returns the string argument name, or "".
func (a Args) String(name string) string {
	switch v := a[name].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Int returns the integer argument name and whether it was given.
func (a Args) Int(name string) (int, bool) {
	switch v := a[name].(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

// Bool returns the boolean argument name (false when absent).
func (a Args) Bool(name string) bool {
	switch v := a[name].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// Validate checks args against the spec: unknown keys, missing required
// parameters, kinds, bounds and enums. It returns a bad_args *Error.
func (s Spec) Validate(args Args) *Error {
	known := make(map[string]Param, len(s.Params))
	for _, p := range s.Params {
		known[p.Name] = p
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := known[k]
		if !ok {
			return Errorf(CodeBadArgs, "%s: unknown argument %q", s.Name, k)
		}
		if err := p.check(s.Name, args[k]); err != nil {
			return err
		}
	}
	for _, p := range s.Params {
		if p.Required {
			if v, ok := args[p.Name]; !ok || v == nil || v == "" {
				return Errorf(CodeBadArgs, "%s: missing %s", s.Name, p.Name)
			}
		}
	}
	return nil
}

// Normalize rewrites enum arguments to the table's spelling, so that "ON"
// given for Mute's state reads as "on". Call it after Validate.
func (s Spec) Normalize(args Args) {
	for _, p := range s.Params {
		v, ok := args[p.Name].(string)
		if !ok || len(p.Enum) == 0 {
			continue
		}
		for _, e := range p.Enum {
			if strings.EqualFold(e, v) {
				args[p.Name] = e
			}
		}
	}
}

func (p Param) check(cmd string, v any) *Error {
	switch p.Kind {
	case Int:
		n, ok := Args{p.Name: v}.Int(p.Name)
		if !ok {
			return Errorf(CodeBadArgs, "%s: %s must be an integer, not %v", cmd, p.Name, v)
		}
		if p.Max > 0 && (n < p.Min || n > p.Max) {
			return Errorf(CodeBadArgs, "%s: %s must be %d-%d, not %d", cmd, p.Name, p.Min, p.Max, n)
		}
	case Bool:
		switch x := v.(type) {
		case bool:
		case string:
			if _, err := strconv.ParseBool(x); err != nil {
				return Errorf(CodeBadArgs, "%s: %s must be true or false, not %q", cmd, p.Name, x)
			}
		default:
			return Errorf(CodeBadArgs, "%s: %s must be true or false", cmd, p.Name)
		}
	case Duration:
		s, ok := v.(string)
		if d, err := time.ParseDuration(s); !ok || err != nil || d < 0 {
			return Errorf(CodeBadArgs, "%s: %s must be a duration such as 30s, not %v", cmd, p.Name, v)
		}
	case String:
		s, ok := v.(string)
		if !ok {
			return Errorf(CodeBadArgs, "%s: %s must be a string", cmd, p.Name)
		}
		if len(p.Enum) > 0 && !containsFold(p.Enum, s) {
			return Errorf(CodeBadArgs, "%s: %s must be one of %s, not %q", cmd, p.Name, strings.Join(p.Enum, ", "), s)
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
