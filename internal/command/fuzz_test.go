package command_test

import (
	. "github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/daemon"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// cliWords splits a fuzz input into command-line words at NUL bytes, which
// a real command line cannot hold.
func cliWords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// FuzzParseCLI runs every command's ParseCLI on arbitrary words. It never
// panics; an error is a bad_args *Error with no args; a result passes
// Validate, holds the kinds the table gives (Int as int, Bool as bool,
// String and Duration as string, enums in the table's spelling) and parses
// back the same from --name=value words.
func FuzzParseCLI(f *testing.F) {
	for _, words := range [][]string{
		nil,
		{""},
		{"12#", "3"},
		{"12#", "--call=3", "--timeout", "5s"},
		{"--CALL=3", "12#"},
		{"12#", "--timeout", "5"},
		{"12#", "--timeout=-1s"},
		{"--all", "--filter", "INCOMING"},
		{"--all=false"},
		{"--all=1", "2"},
		{"--all=maybe"},
		{"--filter"},
		{"1", "2", "3"},
		{"sip:1001@example.com", "--account", "2"},
		{"80"},
		{"+80"},
		{"-1"},
		{"101"},
		{"99999999999999999999"},
		{"--steps=3"},
		{"ON"},
		{"Input", "tone:440"},
		{"output", "file:/tmp/x.wav"},
		{"1001", "hello there"},
		{"call.established", "--call", "1", "--timeout", "2s"},
		{"--json"},
		{"--since", "7"},
		{"--", "-", "--="},
		{"--=x"},
		{"--level", "--level"},
		{"x", "--number=y"},
	} {
		f.Add(strings.Join(words, "\x00"))
	}
	specs := daemon.Specs()
	f.Fuzz(func(t *testing.T, in string) {
		words := cliWords(in)
		for _, spec := range specs {
			args, err := spec.ParseCLI(append([]string(nil), words...))
			if err != nil {
				if err.Code != CodeBadArgs || err.Message == "" {
					t.Fatalf("%s.ParseCLI(%q): error %+v, want a bad_args message", spec.Name, words, err)
				}
				if args != nil {
					t.Fatalf("%s.ParseCLI(%q): args %v with error %v", spec.Name, words, args, err)
				}
				continue
			}
			if args == nil {
				t.Fatalf("%s.ParseCLI(%q): nil args without an error", spec.Name, words)
			}
			if verr := spec.Validate(args); verr != nil {
				t.Fatalf("%s.ParseCLI(%q) = %#v fails Validate: %v", spec.Name, words, args, verr)
			}
			checkKinds(t, spec, words, args)

			again, err := spec.ParseCLI(flagWords(t, spec, args))
			if err != nil {
				t.Fatalf("%s: %#v (from %q) does not parse back from flags: %v", spec.Name, args, words, err)
			}
			if !reflect.DeepEqual(again, args) {
				t.Fatalf("%s: %#v (from %q) parses back as %#v", spec.Name, args, words, again)
			}
		}
	})
}

func checkKinds(t *testing.T, spec Spec, words []string, args Args) {
	t.Helper()
	for _, p := range spec.Params {
		v, ok := args[p.Name]
		if !ok {
			continue
		}
		switch p.Kind {
		case Int:
			if _, ok := v.(int); !ok {
				t.Fatalf("%s.ParseCLI(%q): %s = %#v, want an int", spec.Name, words, p.Name, v)
			}
		case Bool:
			if _, ok := v.(bool); !ok {
				t.Fatalf("%s.ParseCLI(%q): %s = %#v, want a bool", spec.Name, words, p.Name, v)
			}
		case String, Duration:
			s, ok := v.(string)
			if !ok {
				t.Fatalf("%s.ParseCLI(%q): %s = %#v, want a string", spec.Name, words, p.Name, v)
			}
			if len(p.Enum) > 0 {
				found := false
				for _, e := range p.Enum {
					found = found || e == s
				}
				if !found {
					t.Fatalf("%s.ParseCLI(%q): %s = %q, not in the table's spelling %q", spec.Name, words, p.Name, s, p.Enum)
				}
			}
		}
	}
}

// flagWords renders args as --name=value words, in name order.
func flagWords(t *testing.T, spec Spec, args Args) []string {
	t.Helper()
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	words := make([]string, 0, len(names))
	for _, k := range names {
		var val string
		switch v := args[k].(type) {
		case string:
			val = v
		case int:
			val = strconv.Itoa(v)
		case bool:
			val = strconv.FormatBool(v)
		default:
			t.Fatalf("%s: argument %s has type %T", spec.Name, k, v)
		}
		words = append(words, "--"+k+"="+val)
	}
	return words
}
