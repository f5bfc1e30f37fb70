package sipua

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// sendFunc sends one request and returns its final response.
type sendFunc func(context.Context, *sip.Request) (*sip.Response, error)

// maxChallenges bounds the challenges one request answers (a proxy's and
// the far end's, each perhaps once more with a stale nonce).
const maxChallenges = 4

// do sends req with send and answers a 401 or 407 with the account's
// credentials on a copy with the next CSeq (RFC 3261 §22.2) — the one
// way every request of the account is authorized: REGISTER, MESSAGE, and
// a call's BYE, re-INVITE and REFER (send then sends in the dialog,
// which numbers the copy itself). A realm is answered once; it is
// answered again only when the server says the nonce was stale, and
// never twice for one nonce. The last response is returned: a challenge
// that cannot be answered is the response. A nil account answers none.
func (a *Account) do(ctx context.Context, req *sip.Request, send func(context.Context, *sip.Request) (*sip.Response, error)) (*sip.Response, error) {
	orig := req.Clone()
	dest, tp := req.MessageData.Destination(), req.MessageData.Transport()
	realms := map[string]bool{}
	nonces := map[string]bool{}
	for attempt := 0; ; attempt++ {
		res, err := send(ctx, req)
		if err != nil || a == nil || attempt >= maxChallenges ||
			(res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired) {
			return res, err
		}
		chal, _, _ := pickChallenge(res)
		if chal == nil || nonces[chal.Nonce] || (realms[chal.Realm] && !chal.Stale) {
			return res, nil // our answer to this realm was refused
		}
		realms[chal.Realm], nonces[chal.Nonce] = true, true
		req = orig.Clone() // as it was before sending added Via and route set
		if cseq := req.CSeq(); cseq != nil {
			cseq.SeqNo = orig.CSeq().SeqNo + uint32(attempt) + 1
		}
		req.SetDestination(dest)
		if tp != "" {
			req.SetTransport(tp)
		}
		if err := a.authorize(req, res); err != nil {
			return res, nil
		}
	}
}

// pickChallenge returns res's digest challenge (the strongest algorithm
// offered, RFC 8760 §2.4) and the names of the challenge and credentials
// headers.
func pickChallenge(res *sip.Response) (chal *digest.Challenge, chName, credName string) {
	chName, credName = "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		chName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	for _, h := range res.GetHeaders(chName) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = strings.ToUpper(c.Algorithm)
		if chal == nil || c.Algorithm == "SHA-256" {
			chal = c
		}
	}
	return chal, chName, credName
}

// authorize adds the credentials that answer res's challenge (a 401 or
// 407) to req, for the account.
func (a *Account) authorize(req *sip.Request, res *sip.Response) error {
	chal, chName, credName := pickChallenge(res)
	if chal == nil {
		return fmt.Errorf("%d without a usable %s challenge", res.StatusCode, chName)
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.String(),
		Username: a.authID(),
		Password: a.Password,
		Count:    1, // each nonce is answered once
	})
	if err != nil {
		return fmt.Errorf("answering the %s challenge: %w", chName, err)
	}
	req.RemoveHeader(credName)
	req.AppendHeader(sip.NewHeader(credName, cred.String()))
	return nil
}
