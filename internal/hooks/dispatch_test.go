package hooks

import (
	"reflect"
	"testing"

	"github.com/gophone/gophone/internal/events"
)

func TestHooksFor(t *testing.T) {
	dur := func(n int) *int { return &n }
	call := func(typ, dir string) events.Event {
		return events.Event{Type: typ, Call: "4", Number: "1001", Name: "Alice", URI: "sip:1001@pbx.example.com:5060", Direction: dir}
	}
	in := Values{Number: "1001", Name: "Alice", CallID: "4", Direction: "incoming", Domain: "pbx.example.com"}
	out := in
	out.Direction = "outgoing"
	with := func(v Values, f func(*Values)) Values { f(&v); return v }
	ended := func(dir string, code, d int) events.Event {
		e := call(events.CallEnded, dir)
		e.Code, e.Duration = code, dur(d)
		return e
	}
	tests := []struct {
		name string
		e    events.Event
		keys []string
		v    Values
	}{
		{"outgoing", call(events.CallOutgoing, "outgoing"), []string{OutgoingCall}, out},
		{"incoming", call(events.CallIncoming, "incoming"), []string{IncomingCall}, in},
		{"incoming rings", call(events.CallRinging, "incoming"), []string{CallRing}, in},
		{"outgoing hears 180: no hook", call(events.CallRinging, "outgoing"), nil, out},
		{"early: no hook", call(events.CallEarly, "outgoing"), nil, out},
		{"answered (200 sent): no hook yet", call(events.CallAnswered, "incoming"), nil, in},
		{"incoming confirmed", call(events.CallEstablished, "incoming"), []string{CallAnswer, CallStart}, in},
		{"outgoing confirmed", call(events.CallEstablished, "outgoing"), []string{CallStart}, out},
		{"ended", ended("outgoing", 200, 42), []string{CallEnd}, with(out, func(v *Values) { v.Duration = "42" })},
		{"cancelled", ended("incoming", 487, 0), []string{CallEnd}, with(in, func(v *Values) { v.Duration = "0" })},
		{"busy 486", ended("outgoing", 486, 0), []string{CallBusy}, with(out, func(v *Values) { v.Duration = "0" })},
		{"busy 600", ended("outgoing", 600, 0), []string{CallBusy}, with(out, func(v *Values) { v.Duration = "0" })},
		{"declined 603", ended("incoming", 603, 0), []string{CallBusy}, with(in, func(v *Values) { v.Duration = "0" })},
		{"dtmf", func() events.Event { e := call(events.DTMFReceived, "incoming"); e.Digit = "#"; return e }(),
			[]string{DTMF}, with(in, func(v *Values) { v.Text = "#" })},
		{"message", events.Event{Type: events.MessageReceived, Peer: "sip:bob@example.com", Text: "hello\nthere"},
			[]string{IncomingMessage}, Values{Number: "bob", Domain: "example.com", Text: "hello\nthere"}},
		{"message with identity", events.Event{Type: events.MessageReceived, Number: "1002", Name: "Bob",
			URI: "sip:1002@h", Peer: "sip:other@x", Text: "t"},
			[]string{IncomingMessage}, Values{Number: "1002", Name: "Bob", Domain: "h", Text: "t"}},
		{"registered", events.Event{Type: events.RegistrationOK, Account: "1"}, []string{Registration}, Values{Text: "ok"}},
		{"unregistered", events.Event{Type: events.RegistrationUnregistered}, []string{Registration}, Values{Text: "unregistered"}},
		{"registration failed", events.Event{Type: events.RegistrationFailed, Code: 403, Reason: "Forbidden"},
			[]string{Registration}, Values{Text: "failed 403 Forbidden"}},
		{"registration failed, no response", events.Event{Type: events.RegistrationFailed, Reason: "timeout"},
			[]string{Registration}, Values{Text: "failed timeout"}},
		{"hook.failed: no hook", events.Event{Type: events.HookFailed, Hook: CallEnd}, nil, Values{}},
		{"held: no hook", call(events.CallHeld, "incoming"), nil, in},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, v := hooksFor(tt.e)
			if !reflect.DeepEqual(keys, tt.keys) {
				t.Errorf("hooks %q, want %q", keys, tt.keys)
			}
			if keys != nil && v != tt.v {
				t.Errorf("values\n%+v\nwant\n%+v", v, tt.v)
			}
		})
	}
}
