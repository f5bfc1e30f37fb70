package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Error is a problem at one line of a configuration file: a syntax error,
// a bad value, or a broken relation between values.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error returns "FILE:LINE: MSG".
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Warning is something in a configuration file that gophone ignores, such as
// an unknown key or section.
type Warning struct {
	File string
	Line int
	Msg  string
}

// String returns "FILE:LINE: MSG".
func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// Resolve returns the configuration file's path: flagPath (-c FILE) if set,
// else $GOPHONE_CONFIG, else $XDG_CONFIG_HOME/gophone/gophone.ini, with
// ~/.config standing in for an unset XDG_CONFIG_HOME. A nil getenv means
// os.Getenv.
func Resolve(flagPath string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if flagPath != "" {
		return flagPath
	}
	if p := getenv("GOPHONE_CONFIG"); p != "" {
		return p
	}
	return filepath.Join(xdgDir(getenv, "XDG_CONFIG_HOME", ".config"), "gophone", "gophone.ini")
}

// Find loads the configuration file that Resolve names. A file named by
// flagPath or $GOPHONE_CONFIG must exist; when the default file does not
// exist, Find returns the defaults. getenv (nil means os.Getenv) is also used
// for the defaults.
func Find(flagPath string, getenv func(string) string) (*Config, []Warning, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	explicit := flagPath != "" || getenv("GOPHONE_CONFIG") != ""
	return loadOrDefault(Resolve(flagPath, getenv), explicit, getenv)
}

// LoadOrDefault is Load, except that when path does not exist and explicit
// is false (path is the default location, not one the user named) it
// returns Default().
func LoadOrDefault(path string, explicit bool) (*Config, []Warning, error) {
	return loadOrDefault(path, explicit, os.Getenv)
}

func loadOrDefault(path string, explicit bool, getenv func(string) string) (*Config, []Warning, error) {
	c, w, err := load(path, getenv)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		return defaults(getenv), nil, nil
	}
	return c, w, err
}

// Load reads the configuration file at path over the defaults. Relative
// paths in the file are taken relative to the file's directory, and "~/"
// names the home directory.
//
// Unknown keys and sections come back as warnings. A syntax error or a bad
// value is an *Error; a file that cannot be read is an error wrapping the
// fs error.
func Load(path string) (*Config, []Warning, error) { return load(path, os.Getenv) }

func load(path string, getenv func(string) string) (*Config, []Warning, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, dir, src, getenv)
}

// Parse parses src, the contents of the configuration file named file, over
// the defaults, as Load does. Relative paths in src are taken relative to
// file's directory.
func Parse(file string, src []byte) (*Config, []Warning, error) {
	return parse(file, filepath.Dir(file), src, os.Getenv)
}

// parse is Parse with the directory relative paths start from and the
// environment given.
func parse(file, dir string, src []byte, getenv func(string) string) (*Config, []Warning, error) {
	f, err := parseINI(file, src)
	if err != nil {
		return nil, nil, err
	}
	c := defaults(getenv)
	c.Path = file
	var warns []Warning
	for _, k := range f.global {
		warns = append(warns, Warning{file, k.line, fmt.Sprintf("key %s outside any section", k.name)})
	}

	type numbered struct {
		n    int
		acct Account
	}
	var (
		accts    []numbered
		settings map[string]int // keys given in [Settings] → line
		sections = map[string]int{}
	)
	for _, s := range f.sections {
		lower := strings.ToLower(s.name)
		if first, ok := sections[lower]; ok {
			return nil, nil, &Error{file, s.line, fmt.Sprintf("duplicate section [%s] (first on line %d)", s.name, first)}
		}
		sections[lower] = s.line
		var w []Warning
		if lower == "settings" {
			settings, w, err = apply(file, s, settingFields(), c)
		} else if n := accountNumber(s.name); n > 0 {
			a := defaultAccount(strconv.Itoa(n))
			_, w, err = apply(file, s, accountFields(), &a)
			accts = append(accts, numbered{n, a})
		} else {
			w = []Warning{{file, s.line, fmt.Sprintf("unknown section [%s]", s.name)}}
		}
		if err != nil {
			return nil, nil, err
		}
		warns = append(warns, w...)
	}

	// Paths and the defaults that derive from dataDir.
	h := home(getenv)
	if _, ok := settings["dataDir"]; ok {
		c.DataDir = absPath(c.DataDir, dir, h)
		if _, ok := settings["controlSocket"]; !ok {
			c.ControlSocket = controlSocket(c.DataDir, getenv)
		}
		if _, ok := settings["recordingPath"]; !ok {
			c.RecordingPath = filepath.Join(c.DataDir, "recordings")
		}
	}
	c.ControlSocket = absPath(c.ControlSocket, dir, h)
	c.RecordingPath = absPath(c.RecordingPath, dir, h)
	c.LogFile = absPath(c.LogFile, dir, h)

	if c.Forwarding != "" && c.ForwardingNumber == "" {
		return nil, nil, &Error{file, settings["forwarding"], fmt.Sprintf("forwarding: %s needs forwardingNumber", c.Forwarding)}
	}

	if len(accts) > 0 {
		sort.Slice(accts, func(i, j int) bool { return accts[i].n < accts[j].n })
		c.Accounts = make([]Account, len(accts))
		for i, na := range accts {
			a := na.acct
			a.TLSCAFile = absPath(a.TLSCAFile, dir, h)
			if a.Domain == "" {
				a.Domain = a.Server
			}
			c.Accounts[i] = a
		}
	}
	return c, warns, nil
}

// apply sets t from the keys of section s. It returns the canonical names of
// the keys given a value, with their lines.
func apply[T any](file string, s iniSection, fields []field[T], t *T) (map[string]int, []Warning, error) {
	given := map[string]int{}
	seen := map[string]int{}
	var warns []Warning
	for _, k := range s.keys {
		lower := strings.ToLower(k.name)
		if first, ok := seen[lower]; ok {
			return nil, nil, &Error{file, k.line, fmt.Sprintf("duplicate key %s in [%s] (first on line %d)", k.name, s.name, first)}
		}
		seen[lower] = k.line
		i := findField(fields, k.name)
		if i < 0 {
			warns = append(warns, Warning{file, k.line, fmt.Sprintf("unknown key %s in [%s]", k.name, s.name)})
			continue
		}
		f := fields[i]
		v := k.value
		if !f.raw {
			v = unquote(v)
		}
		if v == "" && !f.emptySets {
			continue
		}
		if err := f.set(t, v); err != nil {
			return nil, nil, &Error{file, k.line, fmt.Sprintf("%s: %v", f.name, err)}
		}
		given[f.name] = k.line
	}
	return given, warns, nil
}

func findField[T any](fields []field[T], name string) int {
	for i, f := range fields {
		if strings.EqualFold(f.name, name) {
			return i
		}
	}
	return -1
}

// accountNumber returns N of a section named AccountN (any case), N ≥ 1
// written without leading zeros, or 0.
func accountNumber(section string) int {
	if len(section) <= len("account") || !strings.EqualFold(section[:len("account")], "account") {
		return 0
	}
	digits := section[len("account"):]
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0
	}
	return n
}

// absPath resolves p against dir, with "~" standing for home.
func absPath(p, dir, home string) string {
	switch {
	case p == "":
		return ""
	case home != "" && (p == "~" || strings.HasPrefix(p, "~/")):
		return filepath.Join(home, p[1:])
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// settingFields returns the keys of [Settings].
func settingFields() []field[Config] {
	const maxInt = math.MaxInt32
	fs := []field[Config]{
		addrField("listen", func(c *Config) *string { return &c.Listen }, false),
		addrField("tlsListen", func(c *Config) *string { return &c.TLSListen }, true),
		{name: "rtpPorts", set: func(c *Config, v string) (err error) {
			c.RTPPortMin, c.RTPPortMax, err = parsePortRange(v)
			return err
		}},
		stringField("controlSocket", func(c *Config) *string { return &c.ControlSocket }),
		addrField("httpListen", func(c *Config) *string { return &c.HTTPListen }, true),
		stringField("apiToken", func(c *Config) *string { return &c.APIToken }),
		stringField("dataDir", func(c *Config) *string { return &c.DataDir }),
		stringField("logFile", func(c *Config) *string { return &c.LogFile }),
		enumField("autoAnswer", func(c *Config) *string { return &c.AutoAnswer }, "", "button", "header", "all"),
		durationField("autoAnswerDelay", func(c *Config) *time.Duration { return &c.AutoAnswerDelay }, time.Second, 0),
		stringField("autoAnswerNumber", func(c *Config) *string { return &c.AutoAnswerNumber }),
		enumField("denyIncoming", func(c *Config) *string { return &c.DenyIncoming },
			"", "button", "user", "domain", "userdomain", "remotedomain", "all"),
		boolField("DND", func(c *Config) *bool { return &c.DND }),
		enumField("forwarding", func(c *Config) *string { return &c.Forwarding }, "", "button", "all"),
		stringField("forwardingNumber", func(c *Config) *string { return &c.ForwardingNumber }),
		durationField("forwardingDelay", func(c *Config) *time.Duration { return &c.ForwardingDelay }, time.Second, 0),
		intField("maxConcurrentCalls", func(c *Config) *int { return &c.MaxConcurrentCalls }, 0, maxInt),
		boolField("callWaiting", func(c *Config) *bool { return &c.CallWaiting }),
		durationField("autoHangUpTime", func(c *Config) *time.Duration { return &c.AutoHangUpTime }, time.Second, 0),
		stringField("recordingPath", func(c *Config) *string { return &c.RecordingPath }),
		boolField("autoRecording", func(c *Config) *bool { return &c.AutoRecording }),
		stringField("userAgent", func(c *Config) *string { return &c.UserAgent }),
		boolField("disableMessaging", func(c *Config) *bool { return &c.DisableMessaging }),
		stringField("audioInput", func(c *Config) *string { return &c.AudioInput }),
		stringField("audioOutput", func(c *Config) *string { return &c.AudioOutput }),
		intField("volume", func(c *Config) *int { return &c.Volume }, 0, 100),
		intField("micVolume", func(c *Config) *int { return &c.MicVolume }, 0, 100),
		durationField("dtmfPause", func(c *Config) *time.Duration { return &c.DTMFPause }, time.Millisecond, 0),
	}
	for _, name := range HookNames() {
		// A hook keeps its quotes: they group words into arguments.
		fs = append(fs, field[Config]{name: name, raw: true, set: func(c *Config, v string) error {
			c.Hooks[name] = v
			return nil
		}})
	}
	return fs
}

// accountFields returns the keys of [AccountN].
func accountFields() []field[Account] {
	return []field[Account]{
		stringField("label", func(a *Account) *string { return &a.Label }),
		stringField("server", func(a *Account) *string { return &a.Server }),
		stringField("proxy", func(a *Account) *string { return &a.Proxy }),
		stringField("domain", func(a *Account) *string { return &a.Domain }),
		stringField("username", func(a *Account) *string { return &a.Username }),
		stringField("password", func(a *Account) *string { return &a.Password }),
		stringField("authID", func(a *Account) *string { return &a.AuthID }),
		stringField("displayName", func(a *Account) *string { return &a.DisplayName }),
		enumField("transport", func(a *Account) *string { return &a.Transport }, "udp", "tcp", "tls"),
		durationField("registerRefresh", func(a *Account) *time.Duration { return &a.RegisterRefresh }, time.Second, 1),
		durationField("keepAlive", func(a *Account) *time.Duration { return &a.KeepAlive }, time.Second, 0),
		enumField("srtp", func(a *Account) *string { return &a.SRTP }, "", "optional", "mandatory"),
		stringField("tlsCAFile", func(a *Account) *string { return &a.TLSCAFile }),
		boolField("insecure", func(a *Account) *bool { return &a.Insecure }),
		{name: "codecs", set: func(a *Account, v string) (err error) {
			a.Codecs, err = parseCodecs(v)
			return err
		}},
	}
}
