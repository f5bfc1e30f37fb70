// Package microsip maps MicroSIP's own command-line grammar to gophone
// commands, so scripts and browser links written for MicroSIP keep working.
//
// Accepted forms (option names and URI schemes are case-insensitive):
//
//	NUMBER                  Dial (digits, +, *, #; spaces - ( ) . are dropped;
//	                        also user@host)
//	NUMBER,DIGITS           Dial NUMBER, then send DIGITS once answered, each
//	                        comma a pause (100,1,,2: pause, 1, pause, pause, 2)
//	sip:… sips:…            Dial the URI as given
//	tel:X callto:X          Dial X
//	NUMBER TEXT…            Message to NUMBER, the words joined by spaces
//	/answer                 Answer
//	/hangupall              Hangup --all
//	/hangupincoming         Hangup --all --filter incoming (ringing incoming calls)
//	/hangupcalling          Hangup --all --filter outgoing (outgoing calls not yet answered)
//	/dtmf:DIGITS            SendDTMF
//	/transfer:NUMBER        Transfer
//	/account:N              the account of the Dial or Message of the same invocation
//	/minimized /hide        accepted; nothing to hide headless
//	/exit                   Close
//	msip:answer             Answer
//	msip:hangupall          Hangup --all
//	msip:hold               Hold
//	msip:transfer_N         Transfer N
//	msip:micmute|micunmute  Mute on|off
//	msip:speakmute          SetVolume 0
//	msip:speakunmute        SetVolume 100 (the previous level is not remembered)
//	msip:micup|micdown      MicUp|MicDown 1
//	msip:speakup|speakdown  VolumeUp|VolumeDown 1
//	msip:NUMBER             Dial
//
// Options come before the number or URI; every word after it is message
// text, even one that starts with a slash.
package microsip

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/daemon"
)

// Parse maps MicroSIP command-line arguments (without the program name) to
// the requests they stand for, in order. ok is false when args is not
// MicroSIP grammar (the first word is neither an option, a URI nor a
// number), so the caller can treat it as a gophone subcommand; err reports
// MicroSIP grammar used wrongly, such as an unknown /option. ok with no
// requests means the arguments were accepted but ask for nothing.
func Parse(args []string) (reqs []command.Request, ok bool, err error) {
	if len(args) == 0 || !looksMicroSIP(args[0]) {
		return nil, false, nil
	}
	var (
		account string
		target  = -1 // index in reqs of the number, URI or msip: word
		text    []string
	)
	for _, arg := range args {
		switch {
		case target >= 0:
			text = append(text, arg)
		case strings.HasPrefix(arg, "/"):
			req, acct, err := option(arg)
			if err != nil {
				return nil, true, err
			}
			if acct != "" {
				account = acct
			}
			if req != nil {
				reqs = append(reqs, *req)
			}
		default:
			req, err := targetRequest(arg)
			if err != nil {
				return nil, true, err
			}
			reqs = append(reqs, req)
			target = len(reqs) - 1
		}
	}
	if len(text) > 0 {
		t := &reqs[target]
		if t.Command != "Dial" { // msip: actions take no text
			return nil, true, fmt.Errorf("unexpected MicroSIP argument %q after %s", text[0], args[len(args)-len(text)-1])
		}
		t.Command = "Message"
		t.Args = command.Args{"to": t.Args.String("number"), "text": strings.Join(text, " ")}
	}
	for i := range reqs {
		if account != "" && (reqs[i].Command == "Dial" || reqs[i].Command == "Message") {
			reqs[i].Args["account"] = account
		}
		if err := validate(reqs[i]); err != nil {
			return nil, true, err
		}
	}
	return reqs, true, nil
}

// validate checks a request against the command table, so a change of the
// table cannot silently break the mapping.
func validate(r command.Request) error {
	spec, ok := daemon.Specs().Lookup(r.Command)
	if !ok {
		return fmt.Errorf("MicroSIP: command %s is not in the command table", r.Command)
	}
	if err := spec.Validate(r.Args); err != nil {
		return fmt.Errorf("MicroSIP: %w", err)
	}
	return nil
}

// looksMicroSIP reports whether the first argument starts MicroSIP grammar.
func looksMicroSIP(arg string) bool {
	if strings.HasPrefix(arg, "/") {
		return true
	}
	if scheme, _, found := strings.Cut(arg, ":"); found {
		switch strings.ToLower(scheme) {
		case "sip", "sips", "tel", "callto", "msip":
			return true
		}
	}
	_, ok := dialNumber(arg)
	return ok
}

// option maps one /option. It returns the request it stands for (nil for
// none) and, for /account:N, the account.
func option(arg string) (req *command.Request, account string, err error) {
	name, value, hasValue := strings.Cut(arg[1:], ":")
	name = strings.ToLower(name)
	needValue := name == "dtmf" || name == "transfer" || name == "account"
	switch {
	case needValue && value == "":
		return nil, "", fmt.Errorf("MicroSIP option /%s needs a value: /%s:VALUE", name, name)
	case !needValue && hasValue:
		if _, known := plainOption(name); known {
			return nil, "", fmt.Errorf("MicroSIP option /%s takes no value", name)
		}
	}
	switch name {
	case "dtmf":
		return &command.Request{Command: "SendDTMF", Args: command.Args{"digits": value}}, "", nil
	case "transfer":
		return &command.Request{Command: "Transfer", Args: command.Args{"number": value}}, "", nil
	case "account":
		return nil, value, nil
	}
	r, known := plainOption(name)
	if !known {
		return nil, "", fmt.Errorf("unknown MicroSIP option %s", arg)
	}
	if r.Command == "" {
		return nil, "", nil
	}
	return &r, "", nil
}

// plainOption maps an option without a value; a Request with an empty
// Command means accepted without a request.
func plainOption(name string) (command.Request, bool) {
	switch name {
	case "answer":
		return command.Request{Command: "Answer", Args: command.Args{}}, true
	case "hangupall":
		return command.Request{Command: "Hangup", Args: command.Args{"all": true}}, true
	case "hangupincoming":
		return command.Request{Command: "Hangup", Args: command.Args{"all": true, "filter": "incoming"}}, true
	case "hangupcalling":
		return command.Request{Command: "Hangup", Args: command.Args{"all": true, "filter": "outgoing"}}, true
	case "exit":
		return command.Request{Command: "Close", Args: command.Args{}}, true
	case "minimized", "hide":
		return command.Request{}, true
	}
	return command.Request{}, false
}

// msipAction maps an msip: keyword other than transfer_N and NUMBER.
func msipAction(name string) (command.Request, bool) {
	req := func(cmd string, args command.Args) (command.Request, bool) {
		return command.Request{Command: cmd, Args: args}, true
	}
	switch strings.ToLower(name) {
	case "answer":
		return req("Answer", command.Args{})
	case "hangupall":
		return req("Hangup", command.Args{"all": true})
	case "hold":
		return req("Hold", command.Args{})
	case "micmute":
		return req("Mute", command.Args{"state": "on"})
	case "micunmute":
		return req("Mute", command.Args{"state": "off"})
	case "speakmute":
		return req("SetVolume", command.Args{"level": 0})
	case "speakunmute":
		return req("SetVolume", command.Args{"level": 100})
	case "micup":
		return req("MicUp", command.Args{"steps": 1})
	case "micdown":
		return req("MicDown", command.Args{"steps": 1})
	case "speakup":
		return req("VolumeUp", command.Args{"steps": 1})
	case "speakdown":
		return req("VolumeDown", command.Args{"steps": 1})
	}
	return command.Request{}, false
}

// targetRequest maps the number, URI or msip: word of an invocation.
func targetRequest(arg string) (command.Request, error) {
	dial := func(n string) command.Request {
		return command.Request{Command: "Dial", Args: command.Args{"number": n}}
	}
	scheme, rest, found := strings.Cut(arg, ":")
	if !found {
		if n, ok := dialNumber(arg); ok {
			return dial(n), nil
		}
		return command.Request{}, fmt.Errorf("MicroSIP: %q is not a number or URI", arg)
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		if rest == "" {
			return command.Request{}, fmt.Errorf("MicroSIP: empty URI %q", arg)
		}
		return dial(arg), nil
	case "tel":
		v := unescape(strings.TrimPrefix(rest, "//"))
		v, _, _ = strings.Cut(v, ";") // drop tel: parameters
		if n, ok := number(v); ok {
			return dial(n), nil
		}
		return command.Request{}, fmt.Errorf("MicroSIP: %q is not a telephone number", arg)
	case "callto":
		v := strings.TrimSuffix(unescape(strings.TrimPrefix(rest, "//")), "/")
		if n, ok := number(v); ok {
			return dial(n), nil
		}
		if v == "" || strings.ContainsAny(v, " \t\r\n") {
			return command.Request{}, fmt.Errorf("MicroSIP: %q is not a number or URI", arg)
		}
		return dial(v), nil
	case "msip":
		v := strings.TrimSuffix(unescape(strings.TrimPrefix(rest, "//")), "/")
		if r, ok := msipAction(v); ok {
			return r, nil
		}
		lower := strings.ToLower(v)
		if strings.HasPrefix(lower, "transfer_") && len(v) > len("transfer_") {
			return command.Request{Command: "Transfer", Args: command.Args{"number": v[len("transfer_"):]}}, nil
		}
		if n, ok := number(v); ok {
			return dial(n), nil
		}
		return command.Request{}, fmt.Errorf("unknown MicroSIP command %s", arg)
	}
	// user@host:port and the like: a colon that is not a URI scheme.
	if n, ok := dialNumber(arg); ok {
		return dial(n), nil
	}
	return command.Request{}, fmt.Errorf("MicroSIP: %q is not a number or URI", arg)
}

// unescape percent-decodes s as browsers encode URIs, or returns it as is.
func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// dialNumber is number for MicroSIP's dial string NUMBER,DIGITS: split at
// the first comma when it is neither first nor last (as MicroSIP's
// FormatNumber does), DIGITS being DTMF digits and commas. The digits are
// kept, with their leading comma, after the cleaned number.
func dialNumber(s string) (string, bool) {
	i := strings.IndexByte(s, ',')
	if i <= 0 || i == len(s)-1 {
		return number(s)
	}
	n, ok := number(s[:i])
	if !ok {
		return "", false
	}
	for _, r := range s[i:] {
		if !strings.ContainsRune("0123456789*#ABCDabcd,", r) {
			return "", false
		}
	}
	return n + s[i:], true
}

// number reports whether s is a dialable number and returns it cleaned:
// digits with an optional leading +, and * and #, where the visual
// separators space - ( ) . are dropped; or user@host, returned as is.
func number(s string) (string, bool) {
	if user, host, found := strings.Cut(s, "@"); found {
		return s, validUser(user) && validHost(host)
	}
	if s == "" || !strings.ContainsAny(s[:1], "0123456789+*#(") {
		return "", false
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		case r == '+':
			if b.Len() > 0 {
				return "", false
			}
			b.WriteRune(r)
		case strings.ContainsRune(" -().", r) && i > 0 || r == '(':
		default:
			return "", false
		}
	}
	n := b.String()
	return n, n != "" && n != "+"
}

// validUser reports whether u can be the user part of user@host.
func validUser(u string) bool {
	if u == "" || strings.ContainsAny(u[:1], "-/") {
		return false
	}
	for _, r := range u {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`:@<>"/\`, r) {
			return false
		}
	}
	return true
}

// validHost reports whether h looks like host, host:port or [v6]:port.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(".-_:[]", r)
		if !ok {
			return false
		}
	}
	return true
}
