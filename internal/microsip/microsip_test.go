package microsip

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/daemon"
)

func req(cmd string, args command.Args) command.Request {
	return command.Request{Command: cmd, Args: args}
}

type A = command.Args

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []command.Request
	}{
		// Numbers and URIs.
		{"number", []string{"1001"}, []command.Request{req("Dial", A{"number": "1001"})}},
		{"plus number", []string{"+4930123"}, []command.Request{req("Dial", A{"number": "+4930123"})}},
		{"star code", []string{"*97"}, []command.Request{req("Dial", A{"number": "*97"})}},
		{"hash", []string{"12#"}, []command.Request{req("Dial", A{"number": "12#"})}},
		{"post-dial digits", []string{"100,1,,2"}, []command.Request{req("Dial", A{"number": "100,1,,2"})}},
		{"post-dial digits after separators", []string{"+1 (555) 0100,,123#"}, []command.Request{req("Dial", A{"number": "+15550100,,123#"})}},
		{"post-dial digits to user at host", []string{"1001@127.0.0.1:5070,1,,2"}, []command.Request{req("Dial", A{"number": "1001@127.0.0.1:5070,1,,2"})}},
		{"post-dial digits with account", []string{"/account:2", "100,5"}, []command.Request{req("Dial", A{"number": "100,5", "account": "2"})}},
		{"separators dropped", []string{"+1 (555) 123-45.67"}, []command.Request{req("Dial", A{"number": "+15551234567"})}},
		{"user at host", []string{"1001@pbx.example.com"}, []command.Request{req("Dial", A{"number": "1001@pbx.example.com"})}},
		{"user at host port", []string{"alice@10.0.0.1:5070"}, []command.Request{req("Dial", A{"number": "alice@10.0.0.1:5070"})}},
		{"sip uri", []string{"sip:1001@pbx.example.com;transport=tcp"}, []command.Request{req("Dial", A{"number": "sip:1001@pbx.example.com;transport=tcp"})}},
		{"sips uri", []string{"sips:alice@example.com"}, []command.Request{req("Dial", A{"number": "sips:alice@example.com"})}},
		{"SIP upper case", []string{"SIP:alice@example.com"}, []command.Request{req("Dial", A{"number": "SIP:alice@example.com"})}},
		{"tel", []string{"tel:+1-201-555-0123"}, []command.Request{req("Dial", A{"number": "+12015550123"})}},
		{"tel params", []string{"tel:7042;phone-context=example.com"}, []command.Request{req("Dial", A{"number": "7042"})}},
		{"tel escaped", []string{"tel:+1%20555%200100"}, []command.Request{req("Dial", A{"number": "+15550100"})}},
		{"callto", []string{"callto:1001"}, []command.Request{req("Dial", A{"number": "1001"})}},
		{"callto slashes", []string{"callto://+4930123/"}, []command.Request{req("Dial", A{"number": "+4930123"})}},
		{"callto name", []string{"callto:alice"}, []command.Request{req("Dial", A{"number": "alice"})}},
		{"callto sip", []string{"callto:sip:alice@example.com"}, []command.Request{req("Dial", A{"number": "sip:alice@example.com"})}},

		// Messages.
		{"message", []string{"1001", "hello", "there"}, []command.Request{req("Message", A{"to": "1001", "text": "hello there"})}},
		{"message slash word", []string{"1001", "/answer", "me"}, []command.Request{req("Message", A{"to": "1001", "text": "/answer me"})}},
		{"message to uri", []string{"sip:alice@example.com", "hi"}, []command.Request{req("Message", A{"to": "sip:alice@example.com", "text": "hi"})}},

		// Options.
		{"answer", []string{"/answer"}, []command.Request{req("Answer", A{})}},
		{"ANSWER", []string{"/ANSWER"}, []command.Request{req("Answer", A{})}},
		{"hangupall", []string{"/hangupall"}, []command.Request{req("Hangup", A{"all": true})}},
		{"hangupincoming", []string{"/hangupincoming"}, []command.Request{req("Hangup", A{"all": true, "filter": "incoming"})}},
		{"hangupcalling", []string{"/HangupCalling"}, []command.Request{req("Hangup", A{"all": true, "filter": "outgoing"})}},
		{"dtmf", []string{"/dtmf:12#,5"}, []command.Request{req("SendDTMF", A{"digits": "12#,5"})}},
		{"transfer", []string{"/transfer:1002"}, []command.Request{req("Transfer", A{"number": "1002"})}},
		{"exit", []string{"/exit"}, []command.Request{req("Close", A{})}},
		{"minimized", []string{"/minimized"}, nil},
		{"hide", []string{"/hide"}, nil},
		{"account alone", []string{"/account:2"}, nil},
		{"account dial", []string{"/account:2", "1001"}, []command.Request{req("Dial", A{"number": "1001", "account": "2"})}},
		{"account message", []string{"/account:2", "1001", "hi"}, []command.Request{req("Message", A{"to": "1001", "text": "hi", "account": "2"})}},
		{"minimized dial", []string{"/minimized", "1001"}, []command.Request{req("Dial", A{"number": "1001"})}},
		{"several options", []string{"/hangupall", "/account:3", "sip:bob@example.com"}, []command.Request{
			req("Hangup", A{"all": true}), req("Dial", A{"number": "sip:bob@example.com", "account": "3"})}},

		// msip: URIs.
		{"msip answer", []string{"msip:answer"}, []command.Request{req("Answer", A{})}},
		{"msip hangupall", []string{"msip:hangupall"}, []command.Request{req("Hangup", A{"all": true})}},
		{"msip hold", []string{"msip:hold"}, []command.Request{req("Hold", A{})}},
		{"msip transfer", []string{"msip:transfer_1002"}, []command.Request{req("Transfer", A{"number": "1002"})}},
		{"msip micmute", []string{"msip:micmute"}, []command.Request{req("Mute", A{"state": "on"})}},
		{"msip micunmute", []string{"msip:micunmute"}, []command.Request{req("Mute", A{"state": "off"})}},
		{"msip speakmute", []string{"msip:speakmute"}, []command.Request{req("SetVolume", A{"level": 0})}},
		{"msip speakunmute", []string{"msip:speakunmute"}, []command.Request{req("SetVolume", A{"level": 100})}},
		{"msip micup", []string{"msip:micup"}, []command.Request{req("MicUp", A{"steps": 1})}},
		{"msip micdown", []string{"msip:micdown"}, []command.Request{req("MicDown", A{"steps": 1})}},
		{"msip speakup", []string{"msip:speakup"}, []command.Request{req("VolumeUp", A{"steps": 1})}},
		{"msip speakdown", []string{"msip:speakdown"}, []command.Request{req("VolumeDown", A{"steps": 1})}},
		{"msip number", []string{"msip:1001"}, []command.Request{req("Dial", A{"number": "1001"})}},
		{"msip browser form", []string{"MSIP://Answer/"}, []command.Request{req("Answer", A{})}},
		{"msip account", []string{"/account:2", "msip:+4930123"}, []command.Request{req("Dial", A{"number": "+4930123", "account": "2"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Parse(tt.args)
			if err != nil || !ok {
				t.Fatalf("Parse(%q) = ok %v, err %v", tt.args, ok, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) =\n %#v\nwant\n %#v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseNotMicroSIP(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{},
		{"dial", "1001"},
		{"dail"},
		{"status"},
		{"-c", "x.ini"},
		{"--json"},
		{"-5"},
		{"alice"},
		{"foo:bar"},
		{",100"},
		{"100,x"},
	} {
		reqs, ok, err := Parse(args)
		if ok || err != nil || reqs != nil {
			t.Errorf("Parse(%q) = %v, %v, %v; want not MicroSIP", args, reqs, ok, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"/foo"}, "unknown MicroSIP option /foo"},
		{[]string{"/Foo:1"}, "unknown MicroSIP option /Foo:1"},
		{[]string{"/dtmf"}, "/dtmf needs a value"},
		{[]string{"/dtmf:"}, "/dtmf needs a value"},
		{[]string{"/transfer"}, "/transfer needs a value"},
		{[]string{"/account:"}, "/account needs a value"},
		{[]string{"/answer:1"}, "/answer takes no value"},
		{[]string{"/account:2", "bob"}, `"bob" is not a number or URI`},
		{[]string{"sip:"}, "empty URI"},
		{[]string{"tel:abc"}, "is not a telephone number"},
		{[]string{"callto:"}, "is not a number or URI"},
		{[]string{"msip:frobnicate"}, "unknown MicroSIP command msip:frobnicate"},
		{[]string{"msip:transfer_"}, "unknown MicroSIP command"},
		{[]string{"msip:answer", "now"}, `unexpected MicroSIP argument "now" after msip:answer`},
	}
	for _, tt := range tests {
		reqs, ok, err := Parse(tt.args)
		if !ok || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, ok %v, err %v; want error containing %q", tt.args, reqs, ok, err, tt.want)
		}
	}
}

// Every request Parse produces must be valid for the command table.
func TestParseValidAgainstTable(t *testing.T) {
	for _, args := range [][]string{
		{"/answer"}, {"/hangupincoming"}, {"/hangupcalling"}, {"/exit"}, {"/dtmf:1"},
		{"msip:micup"}, {"msip:micdown"}, {"msip:speakmute"}, {"1001", "hi"},
	} {
		reqs, _, err := Parse(args)
		if err != nil {
			t.Fatalf("Parse(%q): %v", args, err)
		}
		for _, r := range reqs {
			spec, ok := daemon.Specs().Lookup(r.Command)
			if !ok {
				t.Fatalf("%s not in table", r.Command)
			}
			if err := spec.Validate(r.Args); err != nil {
				t.Errorf("Parse(%q): %s: %v", args, r.Command, err)
			}
		}
	}
}
