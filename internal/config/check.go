package config

import "fmt"

// Class says how gophone took a key of the configuration file.
type Class string

// The classes of keys.
const (
	// ClassUsed is a key gophone reads under this name (MicroSIP's where
	// MicroSIP has the setting), or a section it reads.
	ClassUsed Class = "used"
	// ClassAlias is gophone's own name of a setting MicroSIP names
	// differently; Key.Canonical is MicroSIP's name.
	ClassAlias Class = "alias"
	// ClassIgnored is a MicroSIP key of its windows and buttons, or a key
	// of a MicroSIP section gophone has no use for: ignored without a word.
	ClassIgnored Class = "ignored"
	// ClassUnsupported is a MicroSIP key of a feature gophone lacks.
	ClassUnsupported Class = "unsupported"
	// ClassUnknown is a key or section MicroSIP does not have either.
	ClassUnknown Class = "unknown"
)

// Key is one line of a configuration file that is a key or a section
// header (Name is "" then).
type Key struct {
	Line    int    `json:"line"`
	Section string `json:"section"`
	Name    string `json:"key,omitempty"`
	Class   Class  `json:"class"`
	// Canonical is the name gophone knows the key by (for an alias, the
	// MicroSIP key it stands for).
	Canonical string `json:"canonical,omitempty"`
	// Value is the value as gophone took it; passwords and tokens are
	// REDACTED.
	Value string `json:"value,omitempty"`
}

// Report says how a configuration file was read.
type Report struct {
	File     string    `json:"file"`
	Keys     []Key     `json:"keys"`
	Warnings []Warning `json:"warnings"`
}

func (r *Report) add(k Key) { r.Keys = append(r.Keys, k) }

// warn adds a warning at line (0: about the whole file).
func (r *Report) warn(line int, format string, a ...any) {
	r.Warnings = append(r.Warnings, Warning{r.File, line, fmt.Sprintf(format, a...)})
}
