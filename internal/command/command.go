// Package command defines what gophone's command table is made of: commands
// with their parameters, help, HTTP route and handler, the arguments and
// replies that carry them, and the stable error codes. The table itself is
// the daemon's (internal/daemon), whose handlers it names; every front end is
// served from it.
package command

import (
	"context"
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
	CodeUnsupported    = "unsupported" // the call cannot carry what was asked (e.g. a DTMF method)
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
	// Path marks a String that names a file on the daemon's machine: the
	// CLI, whose working directory is not the daemon's, makes a relative
	// path absolute, except the words of Keywords, taken as they are.
	Path     bool
	Keywords []string
	Help     string
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
	// Route is the command's own route on the HTTP API, besides
	// POST /v1/commands/{name}, which serves every command.
	Route Route
}

// Route is where the HTTP API serves a command: a method and a path in
// net/http's pattern syntax, whose {wildcards} name parameters.
type Route struct {
	Method string
	Path   string
}

// Command is one entry of a command table: the command (Spec) and the
// handler that runs it on T, the daemon's side. Run gets args that passed
// Validate and Normalize.
type Command[T any] struct {
	Spec
	Run func(t T, ctx context.Context, args Args) (any, error)
}

// Table is a command table: every front end (CLI, control socket, HTTP,
// MQTT) is served from one.
type Table[T any] []Command[T]

// Lookup finds a command by name, case-insensitively.
func (t Table[T]) Lookup(name string) (Command[T], bool) {
	for _, c := range t {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Command[T]{}, false
}

// Specs returns the table's specs, in table order.
func (t Table[T]) Specs() Specs {
	s := make(Specs, len(t))
	for i, c := range t {
		s[i] = c.Spec
	}
	return s
}

// Specs is what clients know of a command table: the commands without
// their handlers.
type Specs []Spec

// Lookup finds a command by name, case-insensitively.
func (s Specs) Lookup(name string) (Spec, bool) {
	for _, sp := range s {
		if strings.EqualFold(sp.Name, name) {
			return sp, true
		}
	}
	return Spec{}, false
}

// Names returns the canonical command names in table order.
func (s Specs) Names() []string {
	names := make([]string, len(s))
	for i, sp := range s {
		names[i] = sp.Name
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
