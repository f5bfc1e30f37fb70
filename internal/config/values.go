package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// field is one key of a section whose values go into a T.
type field[T any] struct {
	name string // canonical spelling, used in messages
	set  func(t *T, v string) error
	// emptySets means an empty value is passed to set; otherwise an empty
	// value leaves the default.
	emptySets bool
	// raw means the value keeps quotes around it.
	raw bool
}

func stringField[T any](name string, p func(*T) *string) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		*p(t) = v
		return nil
	}}
}

func enumField[T any](name string, p func(*T) *string, allowed ...string) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		s, err := parseEnum(v, allowed)
		*p(t) = s
		return err
	}}
}

func boolField[T any](name string, p func(*T) *bool) field[T] {
	return field[T]{name: name, set: func(t *T, v string) (err error) {
		*p(t), err = parseBool(v)
		return err
	}}
}

func intField[T any](name string, p func(*T) *int, lo, hi int) field[T] {
	return field[T]{name: name, set: func(t *T, v string) (err error) {
		*p(t), err = parseInt(v, lo, hi)
		return err
	}}
}

// durationField reads a whole number of units (MicroSIP writes seconds).
func durationField[T any](name string, p func(*T) *time.Duration, unit time.Duration, lo int) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		n, err := parseInt(v, lo, math.MaxInt32)
		*p(t) = time.Duration(n) * unit
		return err
	}}
}

// addrField reads a host:port; with emptySets, "" disables the listener.
func addrField[T any](name string, p func(*T) *string, emptySets bool) field[T] {
	return field[T]{name: name, emptySets: emptySets, set: func(t *T, v string) error {
		if v != "" {
			if err := checkHostPort(v); err != nil {
				return err
			}
		}
		*p(t) = v
		return nil
	}}
}

// parseEnum matches v case-insensitively against allowed and returns the
// allowed spelling.
func parseEnum(v string, allowed []string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", v, oneOf(allowed))
}

// oneOf lists allowed values, quoting only the empty one.
func oneOf(allowed []string) string {
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = a
		if a == "" {
			s[i] = `""`
		}
	}
	return strings.Join(s, ", ")
}

// parseBool accepts MicroSIP's 0/1 and the usual words.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (0/1, true/false, yes/no, on/off)", v)
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range %d-%d", v, lo, hi)
		}
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, lo, hi)
	}
	return n, nil
}

// checkHostPort checks that v is host:port with a numeric port.
func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port", v)
	}
	if strings.ContainsAny(host, " \t") {
		return fmt.Errorf("%q has a space in its host", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number 0-65535", v, port)
	}
	return nil
}

// parsePortRange parses rtpPorts: "MIN-MAX", an even MIN below MAX, both
// in 1024-65535.
func parsePortRange(v string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not MIN-MAX", v)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("%q is not MIN-MAX", v)
	case lo < 1024 || lo > 65535 || hi < 1024 || hi > 65535:
		return 0, 0, fmt.Errorf("%q: ports must be in 1024-65535", v)
	case lo >= hi:
		return 0, 0, fmt.Errorf("%q: MIN must be less than MAX", v)
	case lo%2 != 0:
		return 0, 0, fmt.Errorf("%q: MIN must be even (RTP uses even ports)", v)
	}
	return lo, hi, nil
}

// codecNames are the codecs gophone knows, by canonical name.
func codecNames() []string { return []string{"PCMU", "PCMA", "G722", "opus", "telephone-event"} }

// parseCodecs reads a list separated by commas or spaces. An entry may
// carry MicroSIP's "/RATE/CHANNELS" suffix, which is ignored.
func parseCodecs(v string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	audio := false
	for _, c := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		name, _, _ := strings.Cut(c, "/")
		canon, err := parseEnum(name, codecNames())
		if err != nil {
			return nil, err
		}
		if seen[canon] {
			return nil, fmt.Errorf("%s is listed twice", canon)
		}
		seen[canon] = true
		audio = audio || canon != "telephone-event"
		out = append(out, canon)
	}
	if !audio {
		return nil, fmt.Errorf("%q lists no audio codec", v)
	}
	return out, nil
}

// dtmfMethods are DTMFMethod's words, indexed by MicroSIP's numeric value
// for the same method (its settings dialog: Auto, In-band, RFC2833,
// SIP-INFO).
var dtmfMethods = [...]string{"auto", "inband", "rfc4733", "info"}

// parseDTMFMethod reads DTMFMethod: a word or MicroSIP's number 0-3.
func parseDTMFMethod(v string) (string, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n >= len(dtmfMethods) {
			return "", fmt.Errorf("%d is not a DTMF method (MicroSIP's 0-3, or auto, rfc4733, info, inband)", n)
		}
		return dtmfMethods[n], nil
	}
	return parseEnum(v, []string{"auto", "rfc4733", "info", "inband"})
}
