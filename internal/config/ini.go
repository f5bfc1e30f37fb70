package config

import (
	"bytes"
	"strings"
	"unicode/utf16"
)

// The INI reader is line-oriented, like Windows' GetPrivateProfileString
// that MicroSIP uses: "[Section]" lines, "key=value" lines, and whole-line
// comments starting with ";" or "#". A ";" inside a value is part of the
// value. It keeps the line number of everything, which gopkg.in/ini.v1 does
// not report.

// iniFile is a parsed INI file.
type iniFile struct {
	global   []iniKey // keys before the first section
	sections []iniSection
}

// iniSection is one "[name]" and the keys under it.
type iniSection struct {
	name string
	line int
	keys []iniKey
}

// iniKey is one "key=value" line.
type iniKey struct {
	name, value string
	line        int
}

// parseINI parses src. Syntax errors are *Error values naming file.
func parseINI(file string, src []byte) (*iniFile, error) {
	f := &iniFile{}
	var cur *iniSection
	for i, line := range strings.Split(decode(src), "\n") {
		n := i + 1
		line = strings.TrimSpace(line) // also drops the \r of CRLF
		switch {
		case line == "" || line[0] == ';' || line[0] == '#':
			continue
		case line[0] == '[':
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, &Error{file, n, "section header without closing ]"}
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != ';' && rest[0] != '#' {
				return nil, &Error{file, n, "text after section header"}
			}
			name := strings.TrimSpace(line[1:end])
			if name == "" {
				return nil, &Error{file, n, "empty section name"}
			}
			f.sections = append(f.sections, iniSection{name: name, line: n})
			cur = &f.sections[len(f.sections)-1]
		default:
			// The line itself is not quoted: it may hold a password.
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, &Error{file, n, "line is not a [section], key=value or comment"}
			}
			k = strings.TrimSpace(k)
			if k == "" {
				return nil, &Error{file, n, "key=value line without a key"}
			}
			key := iniKey{name: k, value: strings.TrimSpace(v), line: n}
			if cur == nil {
				f.global = append(f.global, key)
			} else {
				cur.keys = append(cur.keys, key)
			}
		}
	}
	return f, nil
}

// decode returns src as a string, dropping a UTF-8 byte order mark and
// decoding UTF-16 text that starts with a byte order mark, as Windows
// programs may write INI files.
func decode(src []byte) string {
	switch {
	case bytes.HasPrefix(src, []byte{0xEF, 0xBB, 0xBF}):
		return string(src[3:])
	case bytes.HasPrefix(src, []byte{0xFF, 0xFE}):
		return utf16String(src[2:], func(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 })
	case bytes.HasPrefix(src, []byte{0xFE, 0xFF}):
		return utf16String(src[2:], func(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) })
	}
	return string(src)
}

func utf16String(b []byte, unit func([]byte) uint16) string {
	u := make([]uint16, 0, len(b)/2)
	for ; len(b) >= 2; b = b[2:] {
		u = append(u, unit(b))
	}
	return string(utf16.Decode(u))
}

// unquote removes one pair of matching quotes around v, as
// GetPrivateProfileString does.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
