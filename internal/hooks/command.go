package hooks

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/shlex"
)

// Values are what a hook is told about its event: the placeholders'
// replacements and the GOPHONE_* environment.
type Values struct {
	Number    string // remote number (the URI's user part)
	Name      string // remote display name
	CallID    string // gophone's call id, as commands take it
	Direction string // incoming or outgoing
	Duration  string // seconds, on cmdCallEnd and cmdCallBusy; else empty
	Domain    string // host of the remote URI
	Text      string // message text, DTMF digit, registration state
}

// command is one hook's command line, split into words once.
type command struct {
	key  string   // hook key, e.g. cmdCallStart
	argv []string // words, placeholders not yet replaced
	// appendNumber adds the remote number as the last argument, as
	// MicroSIP does for its call hooks.
	appendNumber bool
}

// parse splits line into words as a POSIX shell splits them (quotes,
// backslashes, # comments) without expanding anything: no variables, no
// globs, no command substitution.
func parse(key, line string) (command, error) {
	words, err := split(line)
	if err != nil {
		return command{}, fmt.Errorf("%s: %w", key, err)
	}
	return command{key: key, argv: words, appendNumber: callHook(key)}, nil
}

// Check reports whether line is a usable hook command line: it splits
// into words and the first names a program.
func Check(line string) error {
	_, err := split(line)
	return err
}

func split(line string) ([]string, error) {
	words, err := shlex.Split(line)
	if err != nil {
		return nil, fmt.Errorf("%q cannot be split into words: %v", line, err)
	}
	if len(words) == 0 || words[0] == "" {
		return nil, fmt.Errorf("%q names no program", line)
	}
	return words, nil
}

// callHook reports whether key is one of MicroSIP's call hooks, which get
// the remote number as their last argument.
func callHook(key string) bool {
	switch key {
	case OutgoingCall, IncomingCall, CallRing, CallAnswer, CallBusy, CallStart, CallEnd:
		return true
	}
	return false
}

// args returns the command's argv for v: placeholders replaced inside each
// word (the replacement is data: it is neither split nor scanned again),
// then the remote number for a call hook.
func (c command) args(v Values) []string {
	v = v.clean()
	r := strings.NewReplacer(
		"{number}", v.Number,
		"{name}", v.Name,
		"{callid}", v.CallID,
		"{direction}", v.Direction,
		"{duration}", v.Duration,
		"{domain}", v.Domain,
		"{text}", v.Text,
	)
	out := make([]string, 0, len(c.argv)+1)
	for _, w := range c.argv {
		out = append(out, r.Replace(w))
	}
	if c.appendNumber {
		out = append(out, v.Number)
	}
	return out
}

// env returns base with the GOPHONE_* variables of v and the hook key
// added; they come last, so they win over any inherited ones.
func (c command) env(base []string, v Values) []string {
	v = v.clean()
	return append(base[:len(base):len(base)],
		"GOPHONE_EVENT="+c.key,
		"GOPHONE_NUMBER="+v.Number,
		"GOPHONE_NAME="+v.Name,
		"GOPHONE_CALLID="+v.CallID,
		"GOPHONE_DIRECTION="+v.Direction,
		"GOPHONE_DURATION="+v.Duration,
		"GOPHONE_DOMAIN="+v.Domain,
		"GOPHONE_TEXT="+v.Text,
	)
}

// clean drops NUL bytes, which no argument or environment variable can
// carry (a MESSAGE body could hold one).
func (v Values) clean() Values {
	for _, s := range []*string{&v.Number, &v.Name, &v.CallID, &v.Direction, &v.Duration, &v.Domain, &v.Text} {
		*s = strings.ReplaceAll(*s, "\x00", "")
	}
	return v
}

// uriHost returns the host of a SIP or tel URI, without port or brackets:
// "sip:1001@pbx.example.com:5060;transport=tcp" gives "pbx.example.com".
// A tel: URI, or anything it cannot read, gives "".
func uriHost(uri string) string {
	s := strings.TrimSpace(uri)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") {
		return ""
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	return strings.Trim(rest, "[]")
}

// uriUser returns the user part of a SIP URI, or the number of a tel: URI,
// or s itself when it is not a URI.
func uriUser(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	scheme, rest, ok := strings.Cut(s, ":")
	switch {
	case ok && strings.EqualFold(scheme, "tel"):
		n, _, _ := strings.Cut(rest, ";")
		return n
	case ok && (strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips")):
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			u, _, _ := strings.Cut(rest[:i], ":") // user:password
			return u
		}
		return ""
	}
	return s
}
