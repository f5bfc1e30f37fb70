package control

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/command"
)

// FuzzParseRequest checks the request line parser: it never panics; a line
// it refuses gets a bad_request reply that encodes as a JSON line; a line
// it accepts has a command, and the request survives a trip through the
// wire format with its command, id and arguments.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","command":"Status"}`,
		`{"id":"2","command":"Dial","args":{"number":"1001","account":"2"}}`,
		`{"id":7,"command":"SetVolume","args":{"level":50}}`,
		`{"id":1.5e3,"command":"Hangup","args":{"all":true,"filter":"incoming"}}`,
		`{"id":null,"command":"Echo","args":null}`,
		`{"command":"Subscribe","args":{"since":3}}`,
		`{"id":"x","command":5}`,
		`{"id":"y","args":{}}`,
		`{"id":"z","command":"Echo","args":[1]}`,
		`{"id":"w","command":"  "}`,
		`{"id":{"a":1},"command":"Echo"}`,
		`{"ID":"upper","COMMAND":"Status"}`,
		`{"id":"dup","id":"dup2","command":"a","command":"b"}`,
		`{"id":"\u00e9\ud800","command":"Send\u0000DTMF","args":{"digits":"1,2#"}}`,
		`{"id":"1","command":"Echo"`,
		`[1,2,3]`,
		`null`,
		`"str"`,
		`hello`,
		"",
		" \t",
		"{\"id\":\"\xff\",\"command\":\"\xfe\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, bad, ok := ParseRequest(line)
		if !ok {
			if bad.OK || bad.Error == nil || bad.Error.Code != CodeBadRequest {
				t.Fatalf("refused line %q: reply %+v, want a bad_request error", line, bad)
			}
			if bad.Error.Message == "" {
				t.Fatalf("refused line %q: bad_request without a message", line)
			}
			wire, err := json.Marshal(bad)
			if err != nil {
				t.Fatalf("refused line %q: reply does not encode: %v", line, err)
			}
			var back command.Response
			if err := json.Unmarshal(wire, &back); err != nil || back.ID != bad.ID || back.Error == nil ||
				back.Error.Code != CodeBadRequest {
				t.Fatalf("refused line %q: reply %s does not decode back (%v)", line, wire, err)
			}
			return
		}
		if !reflect.DeepEqual(bad, command.Response{}) {
			t.Fatalf("accepted line %q with a bad reply %+v", line, bad)
		}
		if strings.TrimSpace(req.Command) == "" {
			t.Fatalf("accepted line %q without a command", line)
		}
		wire, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("request %+v from %q does not encode: %v", req, line, err)
		}
		again, bad2, ok := ParseRequest(wire)
		if !ok {
			t.Fatalf("re-encoded request %s refused: %+v", wire, bad2)
		}
		if again.Command != req.Command || again.ID != req.ID {
			t.Fatalf("round trip of %q via %s: command %q id %q, want %q %q",
				line, wire, again.Command, again.ID, req.Command, req.ID)
		}
		if len(req.Args) != 0 || len(again.Args) != 0 {
			if !reflect.DeepEqual(again.Args, req.Args) {
				t.Fatalf("round trip of %q via %s: args %#v, want %#v", line, wire, again.Args, req.Args)
			}
		}
	})
}
