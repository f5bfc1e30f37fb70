package sipua

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		target, domain string
		want           string
		wantErr        string // substring of the error; "" for success
	}{
		{"1001", "example.com", "sip:1001@example.com", ""},
		{" 1001 ", "example.com", "sip:1001@example.com", ""},
		{"+4930123", "example.com", "sip:+4930123@example.com", ""},
		{"1001", "example.com:5070", "sip:1001@example.com:5070", ""},
		{"1001", "", "", "domain"},
		{"sip:1001@host.example", "", "sip:1001@host.example", ""},
		{"sip:1001@host.example", "other.example", "sip:1001@host.example", ""},
		{"sip:1001@127.0.0.1:5070", "", "sip:1001@127.0.0.1:5070", ""},
		{"sips:1001@host.example", "", "sips:1001@host.example", ""},
		{"sip:host.example", "", "sip:host.example", ""},
		{"1001@host.example", "", "sip:1001@host.example", ""},
		{"1001@192.0.2.7:5080", "example.com", "sip:1001@192.0.2.7:5080", ""},
		{"tel:+123", "example.com", "sip:+123@example.com", ""},
		{"tel:+123", "", "", "domain"},
		{"sip:", "", "", "sip:"},
		{"sip:", "example.com", "", "sip:"},
		{"sip:1001@", "", "", "sip:1001@"},
		{"", "example.com", "", "empty"},
		{"   ", "example.com", "", "empty"},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.target, tt.domain)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("ParseTarget(%q, %q) = %q, want an error", tt.target, tt.domain, got)
			} else if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTarget(%q, %q) error %q, want it to mention %q", tt.target, tt.domain, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTarget(%q, %q) error %v", tt.target, tt.domain, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseTarget(%q, %q) = %q, want %q", tt.target, tt.domain, got, tt.want)
		}
		// The result must be a URI the SIP stack can send to.
		var u sip.Uri
		if err := sip.ParseUri(got, &u); err != nil || u.Host == "" {
			t.Errorf("ParseTarget(%q, %q) = %q, which does not parse back: %v", tt.target, tt.domain, got, err)
		}
	}
}

func parseTestRequest(t *testing.T, headers ...string) *sip.Request {
	t.Helper()
	raw := strings.Join(append([]string{
		"INVITE sip:1000@192.0.2.1 SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK776asdhds",
		"To: <sip:1000@192.0.2.1>",
		"Call-ID: a84b4c76e66710@192.0.2.2",
		"CSeq: 314159 INVITE",
		"Max-Forwards: 70",
	}, headers...), "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parsing request: %v\n%s", err, raw)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("parsed %T, want *sip.Request", msg)
	}
	return req
}

func TestCallerIdentity(t *testing.T) {
	tests := []struct {
		name                         string
		headers                      []string
		wantNumber, wantName, wantIn string // wantIn: substring of the URI
	}{
		{"From only",
			[]string{`From: "Alice" <sip:1001@pbx.example>;tag=1928301774`},
			"1001", "Alice", "sip:1001@pbx.example"},
		{"From without display name",
			[]string{`From: <sip:1001@pbx.example>;tag=1928301774`},
			"1001", "", "sip:1001@pbx.example"},
		{"P-Asserted-Identity preferred over From",
			[]string{`From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1928301774`,
				`P-Asserted-Identity: "Bob Smith" <sip:+4930555@pbx.example>`},
			"+4930555", "Bob Smith", "sip:+4930555@pbx.example"},
		{"P-Asserted-Identity without display name",
			[]string{`From: "Alice" <sip:1001@pbx.example>;tag=1928301774`,
				`P-Asserted-Identity: <sip:2002@pbx.example>`},
			"2002", "", "sip:2002@pbx.example"},
		{"first of two identities in one P-Asserted-Identity",
			[]string{`From: <sip:1001@pbx.example>;tag=1928301774`,
				`P-Asserted-Identity: "Carol" <sip:3003@pbx.example>, <tel:+4930333>`},
			"3003", "Carol", "sip:3003@pbx.example"},
		{"P-Asserted-Identity with a tel: URI",
			[]string{`From: <sip:1001@pbx.example>;tag=1928301774`,
				`P-Asserted-Identity: <tel:+4930333>`},
			"+4930333", "", "tel:+4930333"},
		{"comma inside the display name",
			[]string{`From: <sip:1001@pbx.example>;tag=1928301774`,
				`P-Asserted-Identity: "Smith, Bob" <sip:3003@pbx.example>`},
			"3003", "Smith, Bob", "sip:3003@pbx.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			number, name, uri := callerIdentity(parseTestRequest(t, tt.headers...))
			if number != tt.wantNumber || name != tt.wantName || !strings.Contains(uri, tt.wantIn) {
				t.Errorf("callerIdentity = %q, %q, %q; want %q, %q, URI with %q",
					number, name, uri, tt.wantNumber, tt.wantName, tt.wantIn)
			}
		})
	}
}

// Ended outgoing calls are remembered for 64·T1 (their late 2xx are still
// ours to ACK and BYE), then forgotten.
func TestGoneCallsExpire(t *testing.T) {
	u := &UA{calls: map[string]*Call{}, gone: map[string]time.Time{}}
	end := func(id string) {
		c := &Call{u: u, direction: Outgoing, sipCallID: id}
		u.calls[id] = c
		u.untrack(c)
	}
	end("old")
	old := time.Now().Add(-64*sip.T1 - time.Second)
	u.gone["old"], u.goneOrder[0].at = old, old
	end("new")
	if u.ours("old") {
		t.Error("a call that ended more than 64·T1 ago is still ours")
	}
	if _, ok := u.gone["old"]; ok || len(u.goneOrder) != 1 {
		t.Errorf("expired entry kept: gone %v, order %v", u.gone, u.goneOrder)
	}
	if !u.ours("new") {
		t.Error("a call that just ended is not ours")
	}
	end("old") // the same Call-ID again, e.g. a redial
	if !u.ours("old") || len(u.goneOrder) != 2 {
		t.Errorf("re-ended call: ours %v, order %v", u.ours("old"), u.goneOrder)
	}
}
