package microsip

import (
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/daemon"
)

// FuzzParse feeds arbitrary command lines (words separated by NUL bytes,
// which a real command line cannot hold) to Parse. It never panics; an
// argument list that is not MicroSIP grammar yields nothing; an error
// yields no requests; every request names a command of the table, in its
// canonical spelling, with arguments that pass the spec's Validate; and
// the number, URI or msip: word is the last request.
func FuzzParse(f *testing.F) {
	for _, words := range [][]string{
		{"1001"},
		{"+1 (555) 123-45.67"},
		{"*97"},
		{"1001@pbx.example.com"},
		{"alice@[::1]:5070"},
		{"sip:1001@pbx.example.com;transport=tcp"},
		{"SIPS:alice@example.com"},
		{"tel:+1-201-555-0123"},
		{"tel:7042;phone-context=example.com"},
		{"tel:+1%20555%200100"},
		{"callto://+4930123/"},
		{"callto:sip:alice@example.com"},
		{"callto:%zz"},
		{"1001", "hello", "there"},
		{"1001", "/answer", "me"},
		{"/answer"},
		{"/HangupAll"},
		{"/hangupincoming"},
		{"/hangupcalling"},
		{"/dtmf:12#,5"},
		{"/dtmf:"},
		{"/transfer:1002"},
		{"/exit"},
		{"/minimized", "/hide"},
		{"/account:2", "1001", "hi"},
		{"/account:2", "msip:hold"},
		{"/answer:1"},
		{"/foo"},
		{"msip:answer"},
		{"msip:transfer_1002"},
		{"msip:transfer_"},
		{"msip://speakmute/"},
		{"msip:micup", "now"},
		{"msip:%2B4930"},
		{"dial", "1001"},
		{"-5"},
		{"("},
		{"+"},
		{"foo:bar"},
		{""},
	} {
		f.Add(strings.Join(words, "\x00"))
	}
	f.Fuzz(func(t *testing.T, in string) {
		var words []string
		if in != "" {
			words = strings.Split(in, "\x00")
		}
		reqs, ok, err := Parse(words)
		if !ok {
			if reqs != nil || err != nil {
				t.Fatalf("Parse(%q): not MicroSIP but reqs %v, err %v", words, reqs, err)
			}
			return
		}
		if err != nil {
			if reqs != nil {
				t.Fatalf("Parse(%q): requests %v with error %v", words, reqs, err)
			}
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error", words)
			}
			return
		}
		if len(reqs) > len(words) {
			t.Fatalf("Parse(%q): %d requests from %d words", words, len(reqs), len(words))
		}
		for i, r := range reqs {
			spec, found := daemon.Specs().Lookup(r.Command)
			if !found {
				t.Fatalf("Parse(%q): request %d: command %q not in the table", words, i, r.Command)
			}
			if spec.Name != r.Command {
				t.Errorf("Parse(%q): request %d: command %q, want the table's spelling %q", words, i, r.Command, spec.Name)
			}
			if verr := spec.Validate(r.Args); verr != nil {
				t.Fatalf("Parse(%q): request %d %s %v: %v", words, i, r.Command, r.Args, verr)
			}
			switch r.Command {
			case "Dial", "Message":
				if i != len(reqs)-1 {
					t.Fatalf("Parse(%q): %s is request %d of %d, want the last", words, r.Command, i, len(reqs))
				}
			}
			if r.Command == "Message" {
				last := words[len(words)-1]
				if !strings.HasSuffix(r.Args.String("text"), last) {
					t.Fatalf("Parse(%q): message text %q does not end with the last word", words, r.Args.String("text"))
				}
			}
		}
	})
}
