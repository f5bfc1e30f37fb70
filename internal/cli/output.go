package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/daemon"
)

// writeResult prints the result of a successful command: with raw set (the
// --json flag) the result as one JSON line; otherwise Status as MicroSIP-like
// lines, Dial and CallTo as the call id, Message as "sent", Messages and
// History one entry per line, a string as is, a list one element per line
// and an object as one JSON line. An empty result prints nothing.
func writeResult(w io.Writer, cmd string, result any, raw bool) error {
	data, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("%s: encoding result: %w", cmd, err)
	}
	data = bytes.TrimSpace(data)
	if isEmptyJSON(data) {
		return nil
	}
	if raw {
		return writeLine(w, compact(data))
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%s: decoding result: %w", cmd, err)
	}
	var text string
	switch strings.ToLower(cmd) {
	case "status":
		var s statusResult
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("status: decoding result: %w", err)
		}
		text = strings.Join(statusLines(s), "\n")
	case "dial", "callto":
		if m, ok := v.(map[string]any); ok && m["call"] != nil {
			text = plain(m["call"])
		} else {
			text = plainLines(data)
		}
	case "message":
		text, err = messageStatus(v, data)
		if err != nil {
			return err
		}
	case "messages":
		text = entryLines(v, "messages", messageLine)
	case "history":
		text = entryLines(v, "history", historyLine)
	default:
		text = plainLines(data)
	}
	if text == "" {
		return nil
	}
	return writeLine(w, text)
}

// isEmptyJSON reports whether data is null, "", {} or [].
func isEmptyJSON(data []byte) bool {
	switch string(data) {
	case "", "null", `""`, "{}", "[]":
		return true
	}
	return false
}

func compact(data []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return string(data)
	}
	return b.String()
}

func writeLine(w io.Writer, s string) error {
	if _, err := io.WriteString(w, s+"\n"); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// writeJSONLine writes v as one JSON line and flushes w if it buffers.
func writeJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	if err := writeLine(w, string(data)); err != nil {
		return err
	}
	if f, ok := w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return nil
}

// plain renders a scalar as text and anything else as compact JSON.
func plain(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case json.Number, bool:
		return fmt.Sprint(x)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// plainLines renders a result from its JSON: a string as is, a list one
// element per line, anything else as compact JSON in the daemon's field
// order.
func plainLines(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return ""
	}
	switch data[0] {
	case '"':
		var s string
		if json.Unmarshal(data, &s) == nil {
			return s
		}
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(data, &list) == nil {
			lines := make([]string, len(list))
			for i, x := range list {
				lines[i] = plainLines(x)
			}
			return strings.Join(lines, "\n")
		}
	}
	return compact(data)
}

// messageStatus renders Message's result: "sent", or an error
// "failed: CODE REASON" when the daemon reports a failed delivery in the
// result rather than as an error.
func messageStatus(v any, data []byte) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return plainLines(data), nil
	}
	status := plain(m["status"])
	switch {
	case strings.EqualFold(status, "failed"):
		msg := strings.TrimSpace("failed: " + plain(m["code"]) + " " + plain(m["reason"]))
		return "", command.Errorf(command.CodeSIPError, "%s", msg)
	case status != "":
		return status, nil
	}
	return plainLines(data), nil
}

// entryLines renders a list of objects, given as the result or under the
// result's key field, one line per object.
func entryLines(v any, key string, line func(map[string]any) string) string {
	if m, ok := v.(map[string]any); ok {
		if inner, ok := m[key]; ok {
			v = inner
		}
	}
	list, ok := v.([]any)
	if !ok {
		return plain(v)
	}
	var lines []string
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			lines = append(lines, line(m))
		} else {
			lines = append(lines, plain(x))
		}
	}
	return strings.Join(lines, "\n")
}

// messageLine renders one stored message: TIME DIRECTION PEER STATUS: TEXT.
func messageLine(m map[string]any) string {
	fields := nonEmpty(plain(m["time"]), plain(m["direction"]), plain(m["peer"]))
	if s := plain(m["status"]); s != "" {
		fields = append(fields, "["+s+"]")
	}
	return strings.Join(fields, " ") + ": " + oneLine(plain(m["text"]))
}

// historyLine renders one call: STARTED DIRECTION NUMBER DURATION CODE REASON.
func historyLine(m map[string]any) string {
	number := plain(m["number"])
	if name := plain(m["name"]); name != "" {
		number += " (" + name + ")"
	}
	var dur string
	if n, ok := m["duration"].(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			dur = clock(f)
		}
	}
	return strings.Join(nonEmpty(plain(m["started"]), plain(m["direction"]), number, dur,
		plain(m["code"]), plain(m["reason"])), " ")
}

func nonEmpty(fields ...string) []string {
	out := fields[:0]
	for _, f := range fields {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// statusResult is the part of Status's result that the plain form shows.
type statusResult struct {
	Calls []statusCall `json:"calls"`
}

type statusCall struct {
	ID       string  `json:"id"`
	Number   string  `json:"number"`
	URI      string  `json:"uri"`
	State    string  `json:"state"`
	Held     bool    `json:"held"`
	Duration float64 `json:"duration"`
}

// statusLines renders Status the way MicroSIP users expect: IDLE without
// calls, else one line per call: RINGING NUMBER (incoming, not answered),
// CALLING NUMBER (outgoing, not answered), CONNECTED NUMBER MM:SS, or
// HOLD NUMBER MM:SS when we hold the call. Ended calls are left out.
func statusLines(s statusResult) []string {
	var lines []string
	for _, c := range s.Calls {
		who := c.Number
		if who == "" {
			who = c.URI
		}
		if who == "" {
			who = c.ID
		}
		switch strings.ToLower(c.State) {
		case "ended":
			continue
		case "ringing":
			lines = append(lines, "RINGING "+who)
		case "calling", "early":
			lines = append(lines, "CALLING "+who)
		case "established":
			state := "CONNECTED"
			if c.Held {
				state = "HOLD"
			}
			lines = append(lines, state+" "+who+" "+clock(c.Duration))
		default:
			lines = append(lines, strings.ToUpper(c.State)+" "+who)
		}
	}
	if len(lines) == 0 {
		return []string{"IDLE"}
	}
	return lines
}

// clock formats seconds as MM:SS, or HH:MM:SS from an hour on.
func clock(seconds float64) string {
	if seconds < 0 || math.IsNaN(seconds) {
		seconds = 0
	}
	s := int64(seconds)
	if s >= 3600 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// usage prints the command list.
func (r *runner) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`usage: gophone [-c FILE] [--json] COMMAND [ARGS]
       gophone [-c FILE] NUMBER|URI [TEXT...]   (MicroSIP grammar, also /answer, msip:...)
       gophone serve [-c FILE]

Commands (names are case-insensitive):
`)
	for _, s := range daemon.Specs() {
		if s.Stream {
			continue
		}
		fmt.Fprintf(&b, "  %-40s %s\n", synopsis(s), s.Help)
	}
	fmt.Fprintf(&b, "  %-40s %s\n", "events [--since SEQ]", "stream events, one JSON object per line")
	fmt.Fprintf(&b, "  %-40s %s\n", "serve", "run the phone in the foreground")
	fmt.Fprintf(&b, "  %-40s %s\n", "config check [FILE]", "say how each line of a (MicroSIP) config file is read")
	fmt.Fprintf(&b, "  %-40s %s\n", "version", "print the version, VCS revision and Go version")
	fmt.Fprintf(&b, "  %-40s %s\n", "help [COMMAND]", "show this list, or one command's parameters")
	b.WriteString(`
Flags:
  -c, --config FILE   configuration file (default $GOPHONE_CONFIG, else
                      $XDG_CONFIG_HOME/gophone/gophone.ini)
  --json              print the raw result as JSON
  --version           print the version, VCS revision and Go version

Exit status: 0 success, 1 command failed, 2 bad usage, 3 gophone is not running.
`)
	io.WriteString(w, b.String())
}

// help prints the command list, or one command's usage.
func (r *runner) help(words []string) int {
	if len(words) == 0 {
		r.usage(r.env.Stdout)
		return ExitOK
	}
	switch strings.ToLower(words[0]) {
	case "events":
		fmt.Fprintln(r.env.Stdout, eventsUsage)
		return ExitOK
	case "serve":
		fmt.Fprintln(r.env.Stdout, serveUsage)
		return ExitOK
	case "config":
		fmt.Fprintln(r.env.Stdout, configUsage)
		return ExitOK
	case "version":
		fmt.Fprintln(r.env.Stdout, "usage: gophone version [--json]\n\nPrint the version, VCS revision and Go version of this build.")
		return ExitOK
	}
	spec, ok := daemon.Specs().Lookup(words[0])
	if !ok {
		return r.fail(usageError{command.Errorf(command.CodeUnknownCommand, "unknown command %q", words[0])})
	}
	r.commandUsage(r.env.Stdout, spec)
	return ExitOK
}

// commandUsage prints one command's synopsis and parameters.
func (r *runner) commandUsage(w io.Writer, s command.Spec) {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: gophone %s\n\n%s.\n", synopsis(s), upperFirst(s.Help))
	if len(s.Params) > 0 {
		b.WriteString("\nParameters:\n")
		for _, p := range s.Params {
			name := strings.ToUpper(p.Name)
			if !p.Positional {
				name = "--" + p.Name
			}
			help := p.Help
			if len(p.Enum) > 0 && !strings.Contains(help, strings.Join(p.Enum, " or ")) {
				help = strings.TrimSpace(help + " (" + strings.Join(p.Enum, "|") + ")")
			}
			fmt.Fprintf(&b, "  %-12s %s\n", name, help)
		}
	}
	io.WriteString(w, b.String())
}

// synopsis renders "Name POS [OPT] [--flag VALUE]".
func synopsis(s command.Spec) string {
	parts := []string{s.Name}
	for _, p := range s.Params {
		var part string
		switch {
		case p.Positional:
			part = strings.ToUpper(p.Name)
		case p.Kind == command.Bool:
			part = "--" + p.Name
		default:
			part = "--" + p.Name + " " + strings.ToUpper(p.Name)
		}
		if !p.Required {
			part = "[" + part + "]"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
