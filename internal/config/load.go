package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gophone/gophone/internal/hooks"
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
	File string `json:"file"`
	Line int    `json:"line"` // 0: about the whole file
	Msg  string `json:"message"`
}

// String returns "FILE:LINE: MSG", or "FILE: MSG" for the whole file.
func (w Warning) String() string {
	if w.Line == 0 {
		return fmt.Sprintf("%s: %s", w.File, w.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg)
}

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
	c, rep, err := load(path, getenv)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		return defaults(getenv), nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return c, rep.Warnings, nil
}

// Load reads the configuration file at path over the defaults. Relative
// paths in the file are taken relative to the file's directory, and "~/"
// names the home directory.
//
// Unknown keys and sections come back as warnings. A syntax error or a bad
// value is an *Error; a file that cannot be read is an error wrapping the
// fs error.
func Load(path string) (*Config, []Warning, error) {
	c, rep, err := load(path, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	return c, rep.Warnings, nil
}

// Check loads the configuration file at path as Load does and reports how
// each of its keys was taken. getenv (nil means os.Getenv) is used for the
// defaults and the passwords given in the environment.
func Check(path string, getenv func(string) string) (*Config, *Report, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return load(path, getenv)
}

func load(path string, getenv func(string) string) (*Config, *Report, error) {
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
	c, rep, err := parse(file, filepath.Dir(file), src, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	return c, rep.Warnings, nil
}

// parse is Parse with the directory relative paths start from and the
// environment given. The report says how each key was taken.
func parse(file, dir string, src []byte, getenv func(string) string) (*Config, *Report, error) {
	f, err := parseINI(file, src)
	if err != nil {
		return nil, nil, err
	}
	c := defaults(getenv)
	c.Path = file
	rep := &Report{File: file}
	for _, k := range f.global {
		rep.add(Key{Line: k.line, Name: k.name, Class: ClassUnknown})
		rep.warn(k.line, "key %s outside any section", k.name)
	}

	var (
		accts    []numbered
		settings = map[string]int{} // keys given in [Settings] → line
		mqttKeys map[string]int     // keys given in [MQTT] → line
		sections = map[string]int{}
		ms       microsipSettings
		unsup    []string
	)
	for _, s := range f.sections {
		lower := strings.ToLower(s.name)
		if first, ok := sections[lower]; ok {
			return nil, nil, &Error{file, s.line, fmt.Sprintf("duplicate section [%s] (first on line %d)", s.name, first)}
		}
		sections[lower] = s.line
		var u []string
		switch n := accountNumber(s.name); {
		case lower == "settings":
			settings, u, err = apply(rep, s, settingFields(&ms), guiSettings(), unsupportedSettings(), c)
		case lower == "mqtt":
			mqttKeys, u, err = apply(rep, s, mqttFields(), nil, nil, &c.MQTT)
		case n > 0:
			na := numbered{n: n, acct: defaultAccount(strconv.Itoa(n))}
			na.given, u, err = apply(rep, s, accountFields(), guiAccount(), unsupportedAccount(), &na.acct)
			accts = append(accts, na)
		default:
			otherSection(rep, s)
		}
		if err != nil {
			return nil, nil, err
		}
		unsup = append(unsup, u...)
	}
	if len(unsup) > 0 {
		rep.warn(0, "MicroSIP settings for features gophone lacks, ignored: %s", strings.Join(unsup, ", "))
	}
	if err := finishSettings(c, rep, settings, &ms, dir, getenv); err != nil {
		return nil, nil, err
	}
	if err := finishAccounts(c, rep, accts, ms.accountID, dir, getenv); err != nil {
		return nil, nil, err
	}
	if err := finishMQTT(file, mqttKeys, &c.MQTT, dir, home(getenv)); err != nil {
		return nil, nil, err
	}
	return c, rep, nil
}

// otherSection reports a section that is neither [Settings] nor
// [AccountN]: one of MicroSIP's, ignored, or an unknown one.
func otherSection(rep *Report, s iniSection) {
	class := ClassUnknown
	if _, ok := lookup(microsipSections(), s.name); ok {
		class = ClassIgnored
	} else {
		rep.warn(s.line, "unknown section [%s]", s.name)
	}
	rep.add(Key{Line: s.line, Section: s.name, Class: class})
	for _, k := range s.keys {
		rep.add(Key{Line: k.line, Section: s.name, Name: k.name, Class: class})
	}
}

// numbered is an [AccountN] section as read.
type numbered struct {
	n     int
	acct  Account
	given map[string]int // keys given a value → line
}

// microsipSettings are MicroSIP [Settings] values that take effect only
// together with others.
type microsipSettings struct {
	rtpPortMin, rtpPortMax int
	sourcePort             int
	accountID              int
}

// finishSettings applies what depends on several [Settings] keys.
func finishSettings(c *Config, rep *Report, settings map[string]int, ms *microsipSettings, dir string, getenv func(string) string) error {
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
		return &Error{rep.File, settings["forwarding"], fmt.Sprintf("forwarding: %s needs forwardingNumber", c.Forwarding)}
	}
	// MicroSIP: rtpPortMin > 0 starts the range, and rtpPortMax ends it
	// when it is above; otherwise the range is open.
	if ms.rtpPortMin > 0 {
		c.RTPPortMin, c.RTPPortMax = ms.rtpPortMin, 65535
		if ms.rtpPortMax > ms.rtpPortMin {
			c.RTPPortMax = ms.rtpPortMax
		}
	}
	if _, ok := settings["listen"]; !ok && ms.sourcePort > 0 {
		host, _, _ := net.SplitHostPort(c.Listen)
		c.Listen = net.JoinHostPort(host, strconv.Itoa(ms.sourcePort))
	}
	if _, ok := settings["autoAnswer"]; !ok && c.AA {
		c.AutoAnswer = "button" // MicroSIP's default
	}
	return nil
}

// apply sets t from the keys of section s, and reports each key in rep.
// It returns the canonical names of the keys given a value, with their
// lines, and the MicroSIP keys of features gophone lacks that ask for
// something.
func apply[T any](rep *Report, s iniSection, fields []field[T], gui []string, unsupported map[string][]string, t *T) (map[string]int, []string, error) {
	given := map[string]int{}
	seen := map[string]int{}
	var unsup []string
	rep.add(Key{Line: s.line, Section: s.name, Class: ClassUsed})
	for _, k := range s.keys {
		lower := strings.ToLower(k.name)
		if first, ok := seen[lower]; ok {
			return nil, nil, &Error{rep.File, k.line, fmt.Sprintf("duplicate key %s in [%s] (first on line %d)", k.name, s.name, first)}
		}
		seen[lower] = k.line
		key := Key{Line: k.line, Section: s.name, Name: k.name}
		i := findField(fields, k.name)
		if i < 0 {
			v := unquote(k.value)
			if name, ok := lookup(gui, k.name); ok {
				key.Class, key.Canonical = ClassIgnored, name
			} else if name, ok, inert := lookupInert(unsupported, k.name, v); ok {
				key.Class, key.Canonical, key.Value = ClassUnsupported, name, v
				if !inert {
					unsup = append(unsup, fmt.Sprintf("%s=%s (line %d)", name, v, k.line))
				}
			} else {
				key.Class = ClassUnknown
				rep.warn(k.line, "unknown key %s in [%s]", k.name, s.name)
			}
			rep.add(key)
			continue
		}
		f := fields[i]
		set, err := applyKey(rep, k, f, t, &key)
		if err != nil {
			return nil, nil, err
		}
		if set {
			given[key.Canonical] = k.line
			given[f.name] = k.line
		}
		rep.add(key)
	}
	return given, unsup, nil
}

// applyKey sets t from k, the key of field f, fills in key and reports
// whether k had a value.
func applyKey[T any](rep *Report, k iniKey, f field[T], t *T, key *Key) (bool, error) {
	key.Class, key.Canonical = ClassUsed, f.name
	if f.aliasOf != "" {
		key.Class, key.Canonical = ClassAlias, f.aliasOf
	}
	v := k.value
	if !f.raw {
		v = unquote(v)
	}
	if v == "" && !f.emptySets {
		key.Value = "(default)"
		return false, nil
	}
	err := f.set(t, v)
	var n notice
	switch {
	case errors.As(err, &n):
		rep.warn(k.line, "%s: %s", k.name, n)
	case err != nil:
		return false, &Error{rep.File, k.line, fmt.Sprintf("%s: %v", k.name, err)}
	}
	key.Value = v
	if f.get != nil {
		key.Value = f.get(t)
	}
	if f.secret && key.Value != "" {
		key.Value = redacted
	}
	return true, nil
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

// settingFields returns the keys of [Settings]; the MicroSIP keys that
// take effect together with others are read into ms.
func settingFields(ms *microsipSettings) []field[Config] {
	const maxInt = math.MaxInt32
	msInt := func(name string, p *int, hi int) field[Config] {
		return field[Config]{name: name, set: func(_ *Config, v string) (err error) {
			*p, err = parseInt(v, 0, hi)
			return err
		}, get: func(*Config) string { return strconv.Itoa(*p) }}
	}
	volume := intField("volumeOutput", func(c *Config) *int { return &c.Volume }, 0, 100)
	micVolume := intField("volumeInput", func(c *Config) *int { return &c.MicVolume }, 0, 100)
	input := deviceField("audioInputDevice", func(c *Config) *string { return &c.AudioInput }, true)
	output := deviceField("audioOutputDevice", func(c *Config) *string { return &c.AudioOutput }, true)
	fs := []field[Config]{
		addrField("listen", func(c *Config) *string { return &c.Listen }, false),
		addrField("tlsListen", func(c *Config) *string { return &c.TLSListen }, true),
		addrField("dnsServer", func(c *Config) *string { return &c.DNSServer }, true),
		msInt("sourcePort", &ms.sourcePort, 65535),
		msInt("rtpPortMin", &ms.rtpPortMin, 65534), // room for RTP and RTCP
		msInt("rtpPortMax", &ms.rtpPortMax, 65535),
		{name: "rtpPorts", aliasOf: "rtpPortMin/rtpPortMax", set: func(c *Config, v string) (err error) {
			c.RTPPortMin, c.RTPPortMax, err = parsePortRange(v)
			return err
		}, get: func(c *Config) string { return fmt.Sprintf("%d-%d", c.RTPPortMin, c.RTPPortMax) }},
		stringField("controlSocket", func(c *Config) *string { return &c.ControlSocket }),
		addrField("httpListen", func(c *Config) *string { return &c.HTTPListen }, true),
		secretField(stringField("apiToken", func(c *Config) *string { return &c.APIToken })),
		stringField("dataDir", func(c *Config) *string { return &c.DataDir }),
		stringField("logFile", func(c *Config) *string { return &c.LogFile }),
		boolField("enableLog", func(c *Config) *bool { return &c.EnableLog }),
		emptySets(mappedEnumField("autoAnswer", func(c *Config) *string { return &c.AutoAnswer }, legacyAutoAnswer(),
			"", "button", "header", "all")),
		boolField("AA", func(c *Config) *bool { return &c.AA }),
		durationField("autoAnswerDelay", func(c *Config) *time.Duration { return &c.AutoAnswerDelay }, time.Second, 0),
		stringField("autoAnswerNumber", func(c *Config) *string { return &c.AutoAnswerNumber }),
		mappedEnumField("denyIncoming", func(c *Config) *string { return &c.DenyIncoming }, legacyDenyIncoming(),
			"", "button", "user", "domain", "userdomain", "remotedomain", "all"),
		boolField("DND", func(c *Config) *bool { return &c.DND }),
		enumField("forwarding", func(c *Config) *string { return &c.Forwarding }, "", "button", "all"),
		stringField("forwardingNumber", func(c *Config) *string { return &c.ForwardingNumber }),
		durationField("forwardingDelay", func(c *Config) *time.Duration { return &c.ForwardingDelay }, time.Second, 0),
		intField("maxConcurrentCalls", func(c *Config) *int { return &c.MaxConcurrentCalls }, 0, maxInt),
		intField("maxRingingCalls", func(c *Config) *int { return &c.MaxRingingCalls }, 0, maxInt),
		intField("maxRingRate", func(c *Config) *int { return &c.MaxRingRate }, 0, maxInt),
		boolField("callWaiting", func(c *Config) *bool { return &c.CallWaiting }),
		durationField("autoHangUpTime", func(c *Config) *time.Duration { return &c.AutoHangUpTime }, time.Second, 0),
		stringField("recordingPath", func(c *Config) *string { return &c.RecordingPath }),
		{name: "recordingFormat", set: func(_ *Config, v string) error {
			if strings.EqualFold(v, "wav") {
				return nil
			}
			return notice(fmt.Sprintf("gophone records WAV only; %q gives WAV files", v))
		}, get: func(*Config) string { return "wav" }},
		boolField("autoRecording", func(c *Config) *bool { return &c.AutoRecording }),
		stringField("userAgent", func(c *Config) *string { return &c.UserAgent }),
		boolField("disableMessaging", func(c *Config) *bool { return &c.DisableMessaging }),
		input, alias("audioInput", deviceField(input.name, func(c *Config) *string { return &c.AudioInput }, false)),
		output, alias("audioOutput", deviceField(output.name, func(c *Config) *string { return &c.AudioOutput }, false)),
		volume, alias("volume", volume),
		micVolume, alias("micVolume", micVolume),
		durationField("dtmfPause", func(c *Config) *time.Duration { return &c.DTMFPause }, time.Millisecond, 0),
		mappedEnumField("DTMFMethod", func(c *Config) *string { return &c.DTMFMethod }, dtmfMethods(),
			"auto", "rfc4733", "info", "inband"),
		codecsField("audioCodecs", func(c *Config) *[]string { return &c.Codecs }),
		{name: "accountId", set: func(_ *Config, v string) (err error) {
			ms.accountID, err = parseInt(v, 0, maxInt)
			return err
		}, get: func(*Config) string { return strconv.Itoa(ms.accountID) }},
		intField("maxHooks", func(c *Config) *int { return &c.MaxHooks }, 1, 1000),
	}
	for _, name := range HookNames() {
		// A hook keeps its quotes: they group words into arguments.
		fs = append(fs, field[Config]{name: name, raw: true, set: func(c *Config, v string) error {
			if err := hooks.Check(v); err != nil {
				return err
			}
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
		secretField(stringField("password", func(a *Account) *string { return &a.Password })),
		stringField("passwordFile", func(a *Account) *string { return &a.PasswordFile }),
		stringField("authID", func(a *Account) *string { return &a.AuthID }),
		stringField("displayName", func(a *Account) *string { return &a.DisplayName }),
		// auto (""), the default: DNS chooses (RFC 3263 NAPTR, then SRV)
		// for a server named without a port, else udp.
		mappedEnumField("transport", func(a *Account) *string { return &a.Transport }, map[string]string{"auto": ""},
			"udp", "tcp", "tls"),
		// MicroSIP: registerRefresh <= 0 is 300, below 10 is 10;
		// keepAlive <= 0 is 15.
		clampedSeconds("registerRefresh", func(a *Account) *time.Duration { return &a.RegisterRefresh }, 10, 300),
		clampedSeconds("keepAlive", func(a *Account) *time.Duration { return &a.KeepAlive }, 1, 15),
		srtpField(),
		boolField("srtpOverUDP", func(a *Account) *bool { return &a.SRTPOverUDP }),
		stringField("tlsCAFile", func(a *Account) *string { return &a.TLSCAFile }),
		codecsField("codecs", func(a *Account) *[]string { return &a.Codecs }),
		boolField("insecure", func(a *Account) *bool { return &a.Insecure }),
	}
}

// srtpField reads SRTP: MicroSIP writes "" (its Disabled), optional or
// mandatory; gophone also takes disabled for "".
func srtpField() field[Account] {
	f := enumField("SRTP", func(a *Account) *string { return &a.SRTP }, "", "disabled", "optional", "mandatory")
	set := f.set
	f.set = func(a *Account, v string) error {
		err := set(a, v)
		if a.SRTP == "disabled" {
			a.SRTP = ""
		}
		return err
	}
	return f
}

// finishAccounts resolves the accounts' paths, passwords and defaults into
// c.Accounts, the one MicroSIP's accountId names first.
func finishAccounts(c *Config, rep *Report, accts []numbered, accountID int, dir string, getenv func(string) string) error {
	if len(accts) == 0 {
		c.Accounts[0].Codecs = append([]string(nil), c.Codecs...)
		return nil
	}
	sort.Slice(accts, func(i, j int) bool {
		if (accts[i].n == accountID) != (accts[j].n == accountID) {
			return accts[i].n == accountID
		}
		return accts[i].n < accts[j].n
	})
	h := home(getenv)
	c.Accounts = make([]Account, len(accts))
	for i, na := range accts {
		a := na.acct
		a.TLSCAFile = absPath(a.TLSCAFile, dir, h)
		a.PasswordFile = absPath(a.PasswordFile, dir, h)
		if a.Domain == "" {
			a.Domain = a.Server
		}
		if _, ok := na.given["codecs"]; !ok {
			a.Codecs = append([]string(nil), c.Codecs...)
		}
		if err := resolvePassword(&a, rep, na.given, getenv); err != nil {
			return err
		}
		c.Accounts[i] = a
	}
	return nil
}

// resolvePassword takes the password from $GOPHONE_ACCOUNTn_PASSWORD, else
// passwordFile, else password; MicroSIP's encrypted form is not a password.
func resolvePassword(a *Account, rep *Report, given map[string]int, getenv func(string) string) error {
	env := "GOPHONE_ACCOUNT" + a.ID + "_PASSWORD"
	encrypted := encryptedPassword(a.Password)
	switch {
	case getenv(env) != "":
		a.Password = getenv(env)
	case a.PasswordFile != "":
		b, err := os.ReadFile(a.PasswordFile)
		if err != nil {
			return &Error{rep.File, given["passwordFile"], fmt.Sprintf("passwordFile: %v", err)}
		}
		a.Password = strings.TrimRight(string(b), "\r\n")
	case encrypted:
		a.Password, a.NeedsPassword = "", true
		rep.warn(given["password"], "[Account%s] password is MicroSIP's encrypted form, which only MicroSIP can read: "+
			"give the password as password=PLAIN, passwordFile=PATH or $%s", a.ID, env)
	}
	return nil
}
