package command

import (
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ParseCLI turns command-line words into Args for the spec: positional
// parameters in table order, and --name, --name=value or --name value for
// any parameter (a Bool flag takes no value). The result is validated.
func (s Spec) ParseCLI(words []string) (Args, *Error) {
	args := Args{}
	var positional []Param
	for _, p := range s.Params {
		if p.Positional {
			positional = append(positional, p)
		}
	}
	pos := 0
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "--") && len(w) > 2 {
			name, val, hasVal := strings.Cut(w[2:], "=")
			p, ok := s.param(name)
			if !ok {
				return nil, Errorf(CodeBadArgs, "%s: unknown flag --%s", s.Name, name)
			}
			switch {
			case hasVal:
				args[p.Name] = val
			case p.Kind == Bool:
				args[p.Name] = true
			case i+1 < len(words):
				i++
				args[p.Name] = words[i]
			default:
				return nil, Errorf(CodeBadArgs, "%s: --%s needs a value", s.Name, name)
			}
			continue
		}
		for pos < len(positional) && args[positional[pos].Name] != nil {
			pos++
		}
		if pos >= len(positional) {
			return nil, Errorf(CodeBadArgs, "%s: unexpected argument %q", s.Name, w)
		}
		args[positional[pos].Name] = w
		pos++
	}
	for k, v := range args {
		p, _ := s.param(k)
		if str, ok := v.(string); ok {
			typed, err := p.ParseString(str)
			if err != nil {
				return nil, Errorf(CodeBadArgs, "%s: --%s %s", s.Name, k, err.Message)
			}
			args[k] = typed
			if p.Path && str != "" && !filepath.IsAbs(str) && !slices.Contains(p.Keywords, str) {
				if abs, err := filepath.Abs(str); err == nil {
					args[k] = abs
				}
			}
		}
	}
	if err := s.Validate(args); err != nil {
		return nil, err
	}
	s.Normalize(args)
	return args, nil
}

// ParseString converts an argument given as text (a CLI word, an HTTP path
// segment or query value) to the parameter's kind: an int for Int, a bool
// for Bool (true, false, 1 or 0), the text itself for String and Duration.
// Text that is not an integer is kept for Validate to report. A Bool that
// is none of the four spellings is a bad_args error whose message says so.
func (p Param) ParseString(str string) (any, *Error) {
	switch p.Kind {
	case Int:
		if n, ok := (Args{p.Name: str}).Int(p.Name); ok {
			return n, nil
		}
	case Bool:
		if !strings.EqualFold(str, "true") && !strings.EqualFold(str, "false") && str != "1" && str != "0" {
			return nil, Errorf(CodeBadArgs, "must be true or false, not %q", str)
		}
		return Args{p.Name: str}.Bool(p.Name), nil
	}
	return str, nil
}

// Param returns the parameter called name (case-insensitively).
func (s Spec) Param(name string) (Param, bool) { return s.param(name) }

func (s Spec) param(name string) (Param, bool) {
	for _, p := range s.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Param{}, false
}

// Duration returns the duration argument name, or def when absent.
func (a Args) Duration(name string, def time.Duration) (time.Duration, *Error) {
	s := a.String(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, Errorf(CodeBadArgs, "%s must be a duration such as 30s, not %q", name, s)
	}
	return d, nil
}
