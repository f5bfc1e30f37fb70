package hooks

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"/usr/bin/notify", []string{"/usr/bin/notify"}},
		{"  crm  popup\t{number} ", []string{"crm", "popup", "{number}"}},
		{`"/opt/x y/hook" start`, []string{"/opt/x y/hook", "start"}},
		{`hook 'single $(quoted)' "double \"q\""`, []string{"hook", "single $(quoted)", `double "q"`}},
		{`hook a\ b c\\d`, []string{"hook", "a b", `c\d`}},
		{`hook ""`, []string{"hook", ""}},
		{`hook pre"mid dle"post`, []string{"hook", "premid dlepost"}},
		{"hook arg # a comment", []string{"hook", "arg"}},
		{"hook a#b", []string{"hook", "a#b"}},
		// Nothing a shell would expand is expanded: no shell runs.
		{"hook $HOME ~ *.txt $(id) `id` ; id | cat > f && x", []string{"hook", "$HOME", "~", "*.txt", "$(id)", "`id`", ";", "id", "|", "cat", ">", "f", "&&", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c, err := parse(CallStart, tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.argv, tt.want) {
				t.Errorf("argv %q, want %q", c.argv, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{`hook "open`, `cmdCallEnd: "hook \"open" cannot be split into words: EOF found when expecting closing quote`},
		{`hook 'open`, `cmdCallEnd: "hook 'open" cannot be split into words: EOF found when expecting closing quote`},
		{`hook \`, `cmdCallEnd: "hook \\" cannot be split into words: EOF found after escape character`},
		{"# only a comment", `cmdCallEnd: "# only a comment" names no program`},
		{`"" arg`, `cmdCallEnd: "\"\" arg" names no program`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, err := parse(CallEnd, tt.line)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	v := Values{Number: "1001", Name: "Alice Smith", CallID: "7", Direction: "incoming",
		Duration: "42", Domain: "pbx.example.com", Text: "hi"}
	tests := []struct {
		name string
		key  string
		line string
		v    Values
		want []string
	}{
		{"call hook gets the number last", CallStart, "hook", v, []string{"hook", "1001"}},
		{"every placeholder", CallEnd, "hook {number} {name} {callid} {direction} {duration} {domain} {text}", v,
			[]string{"hook", "1001", "Alice Smith", "7", "incoming", "42", "pbx.example.com", "hi", "1001"}},
		{"inside a word, twice", CallRing, "hook --from={name}<{number}@{domain}>{number}", v,
			[]string{"hook", "--from=Alice Smith<1001@pbx.example.com>1001", "1001"}},
		{"unknown placeholders stay", CallBusy, "hook {nope} {NUMBER} {number", v, []string{"hook", "{nope}", "{NUMBER}", "{number", "1001"}},
		{"gophone's own hooks get no extra argument", DTMF, "hook {text}", Values{Text: "5"}, []string{"hook", "5"}},
		{"message hook", IncomingMessage, "hook {number}", Values{Number: "bob", Text: "x"}, []string{"hook", "bob"}},
		{"registration hook", Registration, "hook", Values{Text: "ok"}, []string{"hook"}},
		{"empty values stay arguments", CallEnd, "hook {duration}", Values{}, []string{"hook", "", ""}},
		// The replacement is data: never split, never scanned again.
		{"hostile values stay one word each", IncomingCall, "hook {name} x{number}y",
			Values{Name: "$(touch /tmp/p) `id` ;id {number}", Number: "-rf ;id\n{name}"},
			[]string{"hook", "$(touch /tmp/p) `id` ;id {number}", "x-rf ;id\n{name}y", "-rf ;id\n{name}"}},
		{"NUL bytes dropped", IncomingMessage, "hook {text}", Values{Text: "a\x00b"}, []string{"hook", "ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.key, tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.args(tt.v); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("args %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	c, err := parse(CallEnd, "hook")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=/bin", "GOPHONE_NUMBER=stale"}
	got := c.env(base, Values{Number: "1001", Name: "A\nB", CallID: "3", Direction: "outgoing",
		Duration: "5", Domain: "h", Text: "t\x00"})
	want := []string{"PATH=/bin", "GOPHONE_NUMBER=stale",
		"GOPHONE_EVENT=cmdCallEnd", "GOPHONE_NUMBER=1001", "GOPHONE_NAME=A\nB", "GOPHONE_CALLID=3",
		"GOPHONE_DIRECTION=outgoing", "GOPHONE_DURATION=5", "GOPHONE_DOMAIN=h", "GOPHONE_TEXT=t"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env\n%q\nwant\n%q", got, want)
	}
	if len(base) != 2 || !slices.Equal(base, []string{"PATH=/bin", "GOPHONE_NUMBER=stale"}) {
		t.Errorf("base environment changed: %q", base)
	}
	// Appending to the returned slice never writes into base.
	base = make([]string, 1, 10)
	base[0] = "A=1"
	e1 := c.env(base, Values{Number: "1"})
	e2 := c.env(base, Values{Number: "2"})
	if !strings.Contains(strings.Join(e1, " "), "GOPHONE_NUMBER=1") || !strings.Contains(strings.Join(e2, " "), "GOPHONE_NUMBER=2") {
		t.Errorf("environments share storage: %q %q", e1, e2)
	}
}

func TestURIParts(t *testing.T) {
	tests := []struct{ uri, host, user string }{
		{"sip:1001@pbx.example.com", "pbx.example.com", "1001"},
		{"sip:1001@127.0.0.1:5070;transport=tcp", "127.0.0.1", "1001"},
		{"sips:alice@[::1]:5061", "::1", "alice"},
		{"SIP:bob:secret@example.com?subject=x", "example.com", "bob"},
		{`"Bob" <sip:bob@h.example>;tag=1`, "h.example", "bob"},
		{"sip:pbx.example.com", "pbx.example.com", ""},
		{"sip:;id$(x)@h", "h", ";id$(x)"},
		{"tel:+15551234;phone-context=x", "", "+15551234"},
		{"1001", "", "1001"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := uriHost(tt.uri); got != tt.host {
			t.Errorf("uriHost(%q) = %q, want %q", tt.uri, got, tt.host)
		}
		if got := uriUser(tt.uri); got != tt.user {
			t.Errorf("uriUser(%q) = %q, want %q", tt.uri, got, tt.user)
		}
	}
}
