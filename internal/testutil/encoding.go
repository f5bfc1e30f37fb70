package testutil

import (
	"strings"
	"unicode/utf16"
)

// WindowsINI returns text as MicroSIP saves microsip.ini on Windows:
// UTF-16 LE with a byte order mark, and CRLF line ends.
func WindowsINI(text string) []byte {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}
