// Package config loads gophone's configuration: an INI file that uses
// MicroSIP's microsip.ini key names, so a microsip.ini carries over.
//
// The file has a [Settings] section and one [AccountN] section per SIP
// account (N = 1, 2, …). Keys are matched case-insensitively. An empty value
// means the key's default, except for httpListen and tlsListen, where it
// disables the listener. Unknown keys and sections are reported as warnings,
// bad values as errors of the form "FILE:LINE: what is wrong".
package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is gophone's whole configuration.
type Config struct {
	// Path is the file the configuration was loaded from; "" for Default.
	Path string

	// Listen is the SIP address listened on with UDP and TCP.
	Listen string
	// TLSListen is the SIP-over-TLS address; "" disables it.
	TLSListen string
	// DNSServer is the DNS server (host:port) accounts' servers are looked
	// up at (RFC 3263); "" asks the system's.
	DNSServer string
	// RTPPortMin and RTPPortMax bound the RTP ports (rtpPorts=MIN-MAX).
	RTPPortMin, RTPPortMax int
	// ControlSocket is the path of the daemon's Unix control socket.
	ControlSocket string
	// HTTPListen is the HTTP API address; "" disables the HTTP API.
	HTTPListen string
	// APIToken is the HTTP API bearer token; "" lets the daemon generate
	// one into DataDir/api-token.
	APIToken string
	// DataDir holds the history database, the API token and recordings.
	DataDir string
	// LogFile is the log destination; "" logs to standard error.
	LogFile string

	// AutoAnswer is "", "button", "header" or "all" (autoAnswer; MicroSIP's
	// legacy 0, 1 and 2 are "", "all" and "header").
	AutoAnswer string
	// AA is the state of the auto-answer button of autoAnswer=button.
	AA bool
	// AutoAnswerDelay is how long an incoming call rings before it is
	// auto-answered (autoAnswerDelay, in seconds).
	AutoAnswerDelay time.Duration
	// AutoAnswerNumber restricts auto-answer to calls from this number.
	AutoAnswerNumber string
	// DenyIncoming is "", "button", "user", "domain", "userdomain",
	// "remotedomain" or "all".
	DenyIncoming string
	// DND is the do-not-disturb button of denyIncoming=button.
	DND bool
	// Forwarding is "", "button" or "all".
	Forwarding string
	// ForwardingNumber is where calls are forwarded to.
	ForwardingNumber string
	// ForwardingDelay is how long a call rings before it is forwarded
	// (forwardingDelay, in seconds).
	ForwardingDelay time.Duration
	// MaxConcurrentCalls limits simultaneous calls; 0 means unlimited.
	MaxConcurrentCalls int
	// MaxRingingCalls caps the incoming calls ringing at once (not yet
	// answered); a new one past it is answered 486. Calls auto-answered
	// at once are not held to it. 0 means no cap.
	MaxRingingCalls int
	// MaxRingRate is how many incoming calls per second one source IP
	// address may start ringing (a token bucket holding one second's
	// worth); past it 503 with Retry-After. Calls auto-answered at once
	// are not held to it. 0 means no limit.
	MaxRingRate int
	// CallWaiting lets a call come in while another is active.
	CallWaiting bool
	// AutoHangUpTime ends calls that last longer (autoHangUpTime, in
	// seconds); 0 disables it.
	AutoHangUpTime time.Duration
	// RecordingPath is the directory recordings are written to.
	RecordingPath string
	// AutoRecording records every call from its start.
	AutoRecording bool
	// UserAgent is sent in the User-Agent and Server headers.
	UserAgent string
	// DisableMessaging refuses incoming SIP MESSAGE requests.
	DisableMessaging bool
	// AudioInput and AudioOutput are audio device ids ("null",
	// "tone:HZ", "file:PATH.wav" or a sound card).
	AudioInput, AudioOutput string
	// Volume and MicVolume are linear gains, 0-100, 100 = unity.
	Volume, MicVolume int
	// DTMFPause is the pause a "," makes in SendDTMF (dtmfPause, in
	// milliseconds).
	DTMFPause time.Duration
	// DTMFMethod is how digits are sent: "auto" (RFC 4733 when the far end
	// offers telephone-event, else SIP INFO), "rfc4733", "info" or "inband"
	// (DTMFMethod; MicroSIP's 0-3 are auto, inband, rfc4733 and info).
	DTMFMethod string
	// EnableLog logs at debug level (enableLog).
	EnableLog bool
	// Codecs is the codec list of accounts that set none (audioCodecs).
	Codecs []string

	// Hooks maps a hook key (cmdCallStart, …; see HookNames) to its
	// command line. Hooks that are not set are absent.
	Hooks map[string]string
	// MaxHooks is how many hooks run at once; more wait in a queue.
	MaxHooks int

	// Accounts are the SIP accounts in [AccountN] order; the first one is
	// the default account. There is always at least one.
	Accounts []Account

	// MQTT is the [MQTT] section: the broker bridge, off unless Broker
	// is set.
	MQTT MQTT
}

// MQTT is the [MQTT] section.
type MQTT struct {
	// Broker is mqtt://HOST:PORT or mqtts://HOST:PORT; "" turns the
	// bridge off.
	Broker string
	// CAFile is a PEM file of CAs that verify an mqtts broker; "" means
	// the system store.
	CAFile string
	// ClientID is the MQTT client id; it defaults to the host name.
	ClientID string
	// TopicPrefix starts every topic; it defaults to gophone/<ClientID>.
	TopicPrefix string
	// Username and Password authenticate to the broker. Password never
	// appears in String, GoString, LogValue or MarshalJSON output.
	Username, Password string
}

// plainMQTT has MQTT's fields but none of its methods.
type plainMQTT MQTT

func (m MQTT) redacted() plainMQTT {
	p := plainMQTT(m)
	if p.Password != "" {
		p.Password = redacted
	}
	return p
}

// String formats the section with its password redacted.
func (m MQTT) String() string { return fmt.Sprintf("%+v", m.redacted()) }

// GoString is String for the %#v verb.
func (m MQTT) GoString() string { return "config.MQTT" + m.String() }

// MarshalJSON encodes the section with its password redacted.
func (m MQTT) MarshalJSON() ([]byte, error) { return json.Marshal(m.redacted()) }

// LogValue returns the section for log/slog with its password redacted.
func (m MQTT) LogValue() slog.Value {
	p := m.redacted()
	return slog.GroupValue(
		slog.String("broker", p.Broker),
		slog.String("caFile", p.CAFile),
		slog.String("clientId", p.ClientID),
		slog.String("topicPrefix", p.TopicPrefix),
		slog.String("username", p.Username),
		slog.String("password", p.Password),
	)
}

// Account is one [AccountN] section.
type Account struct {
	// ID is the section's number: "1" for [Account1].
	ID string
	// Label names the account for people.
	Label string
	// Server is the registrar; "" makes the account local (serverless).
	Server string
	// Proxy is the outbound proxy.
	Proxy string
	// Domain is the domain of the account's address; it defaults to Server.
	Domain string
	// Username is the user part of the account's address.
	Username string
	// Password is the digest password. It never appears in String,
	// GoString, LogValue or MarshalJSON output.
	Password string
	// PasswordFile is a file whose first line is the password
	// (passwordFile); it overrides Password.
	PasswordFile string
	// AuthID is the digest user name; "" means Username.
	AuthID string
	// DisplayName is put in From.
	DisplayName string
	// Transport is "udp", "tcp", "tls", or "" (auto: DNS chooses for a
	// server named without a port, RFC 3263; else udp).
	Transport string
	// RegisterRefresh is the registration expiry asked for
	// (registerRefresh, in seconds).
	RegisterRefresh time.Duration
	// KeepAlive is the interval of keep-alive packets to the server
	// (keepAlive, in seconds); 0 disables them.
	KeepAlive time.Duration
	// SRTP is "" (disabled), "optional" or "mandatory": SRTP with SDES
	// keys (RFC 4568), used over TLS signalling only unless SRTPOverUDP.
	SRTP string
	// SRTPOverUDP lets SRTP's keys travel in SIP over UDP or TCP, where
	// anyone on the path reads them (srtpOverUDP).
	SRTPOverUDP bool
	// TLSCAFile is a PEM file of CAs that verify the server; "" means the
	// system store.
	TLSCAFile string
	// Insecure turns off the verification of the TLS server's certificate
	// (insecure); the phone warns about it at every start.
	Insecure bool
	// Codecs lists the audio codecs in preference order, by their
	// canonical names: PCMU, PCMA, telephone-event.
	Codecs []string
	// NeedsPassword reports that the file holds MicroSIP's encrypted
	// password, which gophone cannot read, and no password was given
	// otherwise (passwordFile, $GOPHONE_ACCOUNTn_PASSWORD). Password is ""
	// then.
	NeedsPassword bool
}

// Local reports whether the account is serverless (has no Server).
func (a Account) Local() bool { return a.Server == "" }

const redacted = "REDACTED"

// The defaults of the flood bounds (DESIGN §3): far above what a person
// or a PBX in front of a phone sends, far below what a flood sends. They
// never limit an auto-answer load: calls answered at once do not ring.
const (
	DefaultMaxRingingCalls = 100
	DefaultMaxRingRate     = 20
)

// plainAccount has Account's fields but none of its methods.
type plainAccount Account

func (a Account) redacted() plainAccount {
	p := plainAccount(a)
	if p.Password != "" {
		p.Password = redacted
	}
	return p
}

// String formats the account with its password redacted.
func (a Account) String() string { return fmt.Sprintf("%+v", a.redacted()) }

// GoString is String for the %#v verb.
func (a Account) GoString() string { return "config.Account" + a.String() }

// MarshalJSON encodes the account with its password redacted.
func (a Account) MarshalJSON() ([]byte, error) { return json.Marshal(a.redacted()) }

// LogValue returns the account for log/slog with its password redacted.
func (a Account) LogValue() slog.Value {
	p := a.redacted()
	return slog.GroupValue(
		slog.String("id", p.ID),
		slog.String("label", p.Label),
		slog.String("server", p.Server),
		slog.String("proxy", p.Proxy),
		slog.String("domain", p.Domain),
		slog.String("username", p.Username),
		slog.String("password", p.Password),
		slog.String("authID", p.AuthID),
		slog.String("displayName", p.DisplayName),
		slog.String("transport", p.Transport),
		slog.Duration("registerRefresh", p.RegisterRefresh),
		slog.Duration("keepAlive", p.KeepAlive),
		slog.String("srtp", p.SRTP),
		slog.String("tlsCAFile", p.TLSCAFile),
		slog.Bool("insecure", p.Insecure),
		slog.Bool("srtpOverUDP", p.SRTPOverUDP),
		slog.String("codecs", strings.Join(p.Codecs, ",")),
		slog.Bool("needsPassword", p.NeedsPassword),
	)
}

// plainConfig has Config's fields but none of its methods.
type plainConfig Config

func (c Config) redacted() plainConfig {
	p := plainConfig(c)
	if p.APIToken != "" {
		p.APIToken = redacted
	}
	return p // Accounts and MQTT redact themselves.
}

// String formats the configuration with the API token and passwords
// redacted.
func (c Config) String() string { return fmt.Sprintf("%+v", c.redacted()) }

// GoString is String for the %#v verb.
func (c Config) GoString() string { return "config.Config" + c.String() }

// MarshalJSON encodes the configuration with the API token and passwords
// redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }

// LogValue returns the main settings for log/slog, with the API token and
// passwords redacted.
func (c Config) LogValue() slog.Value {
	p := c.redacted()
	accts := make([]slog.Attr, len(p.Accounts))
	for i, a := range p.Accounts {
		accts[i] = slog.Any(a.ID, a)
	}
	return slog.GroupValue(
		slog.String("path", p.Path),
		slog.String("listen", p.Listen),
		slog.String("tlsListen", p.TLSListen),
		slog.String("dnsServer", p.DNSServer),
		slog.String("rtpPorts", fmt.Sprintf("%d-%d", p.RTPPortMin, p.RTPPortMax)),
		slog.String("controlSocket", p.ControlSocket),
		slog.String("httpListen", p.HTTPListen),
		slog.String("apiToken", p.APIToken),
		slog.String("dataDir", p.DataDir),
		slog.String("audioInput", p.AudioInput),
		slog.String("audioOutput", p.AudioOutput),
		slog.Attr{Key: "accounts", Value: slog.GroupValue(accts...)},
		slog.Any("mqtt", p.MQTT),
	)
}

// HookNames returns the hook keys of [Settings] in the order MicroSIP
// documents them, followed by gophone's own.
func HookNames() []string {
	return []string{
		"cmdOutgoingCall", "cmdIncomingCall", "cmdCallRing", "cmdCallAnswer",
		"cmdCallBusy", "cmdCallStart", "cmdCallEnd",
		"cmdIncomingMessage", "cmdDTMF", "cmdRegistration",
	}
}

// Default returns the embedded defaults: a local account on
// 127.0.0.1:5060, null audio, the HTTP API on 127.0.0.1:6060, and data and
// control socket under the XDG directories of the process environment.
func Default() *Config { return defaults(os.Getenv) }

// defaults is Default with the environment read through getenv.
func defaults(getenv func(string) string) *Config {
	dataDir := dataDir(getenv)
	return &Config{
		Listen:          "127.0.0.1:5060",
		RTPPortMin:      10000,
		RTPPortMax:      20000,
		ControlSocket:   controlSocket(dataDir, getenv),
		HTTPListen:      "127.0.0.1:6060",
		DataDir:         dataDir,
		CallWaiting:     true,
		RecordingPath:   filepath.Join(dataDir, "recordings"),
		UserAgent:       "gophone",
		AudioInput:      "null",
		AudioOutput:     "null",
		Volume:          100,
		MicVolume:       100,
		DTMFPause:       500 * time.Millisecond,
		DTMFMethod:      "auto",
		Codecs:          defaultCodecs(),
		Hooks:           map[string]string{},
		MaxHooks:        8,
		MaxRingingCalls: DefaultMaxRingingCalls,
		MaxRingRate:     DefaultMaxRingRate,
		Accounts:        []Account{defaultAccount("1")},
	}
}

// defaultAccount returns an account's defaults: a local UDP account.
func defaultAccount(id string) Account {
	return Account{
		ID:              id,
		Transport:       "", // auto
		RegisterRefresh: 300 * time.Second,
		Codecs:          defaultCodecs(),
	}
}

// xdgDir returns $name if it is an absolute path (the XDG spec says to
// ignore relative ones), else $HOME/fallback.
func xdgDir(getenv func(string) string, name, fallback string) string {
	if d := getenv(name); filepath.IsAbs(d) {
		return d
	}
	if h := home(getenv); h != "" {
		return filepath.Join(h, fallback)
	}
	return filepath.Join(os.TempDir(), fallback)
}

// home returns the user's home directory as the environment names it.
func home(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	return getenv("USERPROFILE") // Windows
}

func dataDir(getenv func(string) string) string {
	return filepath.Join(xdgDir(getenv, "XDG_DATA_HOME", filepath.Join(".local", "share")), "gophone")
}

func controlSocket(dataDir string, getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "gophone", "gophone.sock")
	}
	return filepath.Join(dataDir, "gophone.sock")
}
