package config

import (
	"errors"
	"fmt"
	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/codec"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// field is one key of a section whose values go into a T.
type field[T any] struct {
	name string // canonical spelling (MicroSIP's where it has one), used in messages
	// aliasOf is, for gophone's own name of a setting MicroSIP names
	// differently, MicroSIP's name.
	aliasOf string
	set     func(t *T, v string) error
	// get returns the value as gophone took it, for `config check`; nil
	// means the value as written.
	get func(t *T) string
	// emptySets means an empty value is passed to set; otherwise an empty
	// value leaves the default.
	emptySets bool
	// raw means the value keeps quotes around it.
	raw bool
	// secret means the value is never shown.
	secret bool
}

// notice is what set returns for a value it took, but not as written (a
// codec gophone lacks, an mp3 recording format): a warning, not an error.
type notice string

func (n notice) Error() string { return string(n) }

// alias returns f under gophone's name for it.
func alias[T any](name string, f field[T]) field[T] {
	f.aliasOf, f.name = f.name, name
	return f
}

func stringField[T any](name string, p func(*T) *string) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		*p(t) = v
		return nil
	}, get: func(t *T) string { return *p(t) }}
}

func enumField[T any](name string, p func(*T) *string, allowed ...string) field[T] {
	return mappedEnumField(name, p, nil, allowed...)
}

// mappedEnumField is enumField where the values in legacy (lower case)
// stand for one of allowed, as older MicroSIP versions wrote them.
func mappedEnumField[T any](name string, p func(*T) *string, legacy map[string]string, allowed ...string) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		if m, ok := legacy[strings.ToLower(v)]; ok {
			*p(t) = m
			return nil
		}
		s, err := parseEnum(v, allowed)
		*p(t) = s
		if err != nil && len(legacy) > 0 {
			keys := slices.Sorted(maps.Keys(legacy))
			err = fmt.Errorf("%w (or MicroSIP's %s)", err, strings.Join(keys, ", "))
		}
		return err
	}, get: func(t *T) string { return *p(t) }}
}

func boolField[T any](name string, p func(*T) *bool) field[T] {
	return field[T]{name: name, set: func(t *T, v string) (err error) {
		*p(t), err = parseBool(v)
		return err
	}, get: func(t *T) string { return strconv.FormatBool(*p(t)) }}
}

func intField[T any](name string, p func(*T) *int, lo, hi int) field[T] {
	return field[T]{name: name, set: func(t *T, v string) (err error) {
		*p(t), err = parseInt(v, lo, hi)
		return err
	}, get: func(t *T) string { return strconv.Itoa(*p(t)) }}
}

// durationField reads a whole number of units (MicroSIP writes seconds).
func durationField[T any](name string, p func(*T) *time.Duration, unit time.Duration, lo int) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		n, err := parseInt(v, lo, math.MaxInt32)
		*p(t) = time.Duration(n) * unit
		return err
	}, get: func(t *T) string { return p(t).String() }}
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
	}, get: func(t *T) string { return *p(t) }}
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

// parseBool accepts MicroSIP's integers (which it reads with _wtoi: 0 is
// false, any other number true) and the usual words.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n != 0, nil
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

// codecNames are the codecs this build can use, by canonical name (Opus
// only in a build with the with_opus_c tag).
func codecNames() []string { return append(codec.Names(), "telephone-event") }

// defaultCodecs is the codec list when none is given or none is left.
func defaultCodecs() []string { return []string{"PCMU", "PCMA"} }

// parseCodecs reads a codec list in offer order, separated by commas or
// spaces; an entry may carry MicroSIP's "/RATE/CHANNELS" suffix, which is
// ignored. Codecs gophone lacks are left out, and a list with no audio codec
// left becomes PCMU,PCMA; both come with a notice naming what was done.
func parseCodecs(v string) ([]string, error) {
	var out, lacking []string
	seen := map[string]bool{}
	audio := false
	for _, c := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		name, _, _ := strings.Cut(c, "/")
		canon, err := parseEnum(name, codecNames())
		if err != nil {
			lacking = append(lacking, name)
			continue
		}
		if seen[canon] {
			return nil, fmt.Errorf("%s is listed twice", canon)
		}
		seen[canon] = true
		audio = audio || canon != "telephone-event"
		out = append(out, canon)
	}
	var msgs []string
	if len(lacking) > 0 {
		msgs = append(msgs, fmt.Sprintf("gophone lacks %s, left out", strings.Join(lacking, ", ")))
	}
	if !audio {
		msgs = append(msgs, fmt.Sprintf("no audio codec gophone has in %q; using %s", v, strings.Join(defaultCodecs(), ",")))
		out = append(defaultCodecs(), out...)
	}
	if len(msgs) > 0 {
		return out, notice(strings.Join(msgs, "; "))
	}
	return out, nil
}

// emptySets returns f taking an empty value as a value, not the default.
func emptySets[T any](f field[T]) field[T] {
	f.emptySets = true
	return f
}

// secretField returns f with its value never shown.
func secretField[T any](f field[T]) field[T] {
	f.secret = true
	return f
}

// codecsField reads a codec list (see parseCodecs).
func codecsField[T any](name string, p func(*T) *[]string) field[T] {
	return field[T]{name: name, set: func(t *T, v string) (err error) {
		*p(t), err = parseCodecs(v)
		return err
	}, get: func(t *T) string { return strings.Join(*p(t), ",") }}
}

// clampedSeconds reads a number of seconds as MicroSIP does: 0 or less is
// def, and below lo is lo.
func clampedSeconds[T any](name string, p func(*T) *time.Duration, lo, def int) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		n, err := parseInt(v, math.MinInt32, math.MaxInt32)
		switch {
		case err != nil:
			return err
		case n <= 0:
			n = def
		case n < lo:
			n = lo
		}
		*p(t) = time.Duration(n) * time.Second
		return nil
	}, get: func(t *T) string { return p(t).String() }}
}

// deviceField reads an audio device id. MicroSIP's device names (lenient)
// that are no device of this build leave the default, with a notice; an
// empty value is the default device.
func deviceField[T any](name string, p func(*T) *string, lenient bool) field[T] {
	return field[T]{name: name, set: func(t *T, v string) error {
		dev, err := audio.ParseDevice(v)
		switch {
		case err == nil:
			*p(t) = dev.ID()
			return nil
		case lenient:
			return notice(fmt.Sprintf("%q is not an audio device of this build; using %s", v, *p(t)))
		}
		return err
	}, get: func(t *T) string { return *p(t) }}
}
