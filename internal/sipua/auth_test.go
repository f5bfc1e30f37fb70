package sipua

import (
	"context"
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestAccountDo runs Account.do against scripted answers: each challenge
// is answered on a copy with the next CSeq and a fresh Via, a realm once
// (again only for a stale nonce, never twice for one nonce), a proxy's
// and the far end's realm each; an in-dialog request (no CSeq yet: the
// dialog numbers it) is sent again as it was given.
func TestAccountDo(t *testing.T) {
	type ch struct {
		code         int
		realm, nonce string
		stale        bool
	}
	tests := []struct {
		name   string
		script []ch // the answers; past its end, 200
		acc    *Account
		sends  int
		final  int
		dialog bool
	}{
		{"407 answered", []ch{{407, "r", "n1", false}}, &Account{Username: "1001", Password: "pw"}, 2, 200, false},
		{"401 answered", []ch{{401, "r", "n1", false}}, &Account{Username: "1001", Password: "pw"}, 2, 200, false},
		{"refused answer is final", []ch{{401, "r", "n1", false}, {401, "r", "n2", false}}, &Account{Username: "1001", Password: "pw"}, 2, 401, false},
		{"stale nonce retried", []ch{{401, "r", "n1", false}, {401, "r", "n2", true}}, &Account{Username: "1001", Password: "pw"}, 3, 200, false},
		{"stale twice for one nonce", []ch{{401, "r", "n1", false}, {401, "r", "n2", true}, {401, "r", "n2", true}}, &Account{Username: "1001", Password: "pw"}, 3, 401, false},
		{"proxy then far end", []ch{{407, "proxy", "n1", false}, {401, "uas", "n2", false}}, &Account{Username: "1001", Password: "pw"}, 3, 200, false},
		{"no account", []ch{{407, "r", "n1", false}}, nil, 1, 407, false},
		{"in dialog", []ch{{407, "r", "n1", false}}, &Account{Username: "1001", Password: "pw"}, 2, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1", Port: 5060})
			if !tt.dialog {
				req.AppendHeader(&sip.CSeqHeader{SeqNo: 7, MethodName: sip.BYE})
				req.SetDestination("127.0.0.1:5999")
			}
			var sent []*sip.Request
			send := func(_ context.Context, r *sip.Request) (*sip.Response, error) {
				if r.Via() != nil {
					t.Errorf("copy %d still has the Via of the last send", len(sent))
				}
				r.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Params: sip.NewParams()})
				if len(sent) > 0 && r.Route() != nil {
					t.Errorf("copy %d carries the route set added to the first", len(sent))
				}
				r.AppendHeader(sip.NewHeader("Route", "<sip:127.0.0.1;lr>")) // as a dialog's send does
				sent = append(sent, r)
				i := len(sent) - 1
				if i >= len(tt.script) {
					return sip.NewResponseFromRequest(r, 200, "OK", nil), nil
				}
				c := tt.script[i]
				res := sip.NewResponseFromRequest(r, c.code, "Challenge", nil)
				name := map[int]string{401: "WWW-Authenticate", 407: "Proxy-Authenticate"}[c.code]
				res.AppendHeader(sip.NewHeader(name, fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth", stale=%v`, c.realm, c.nonce, c.stale)))
				return res, nil
			}
			res, err := tt.acc.do(context.Background(), req, send)
			if err != nil {
				t.Fatal(err)
			}
			if len(sent) != tt.sends || res.StatusCode != tt.final {
				t.Fatalf("%d sends ending in %d; want %d ending in %d", len(sent), res.StatusCode, tt.sends, tt.final)
			}
			for i := 1; i < len(sent); i++ {
				cred := map[int]string{401: "Authorization", 407: "Proxy-Authorization"}[tt.script[i-1].code]
				if sent[i].GetHeader(cred) == nil {
					t.Errorf("copy %d has no %s", i, cred)
				}
				if !tt.dialog {
					if got, want := sent[i].CSeq().SeqNo, sent[0].CSeq().SeqNo+uint32(i); got != want {
						t.Errorf("copy %d CSeq %d; want %d", i, got, want)
					}
					if sent[i].Destination() != "127.0.0.1:5999" {
						t.Errorf("copy %d goes to %s; want the first's destination", i, sent[i].Destination())
					}
				} else if sent[i].CSeq() != nil {
					t.Errorf("in-dialog copy %d has a CSeq of ours; the dialog numbers it", i)
				}
			}
		})
	}
}
