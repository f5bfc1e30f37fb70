package sipua

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// SIP MESSAGE (RFC 3428), pager mode, text/plain in UTF-8 both ways.

// Message is a received MESSAGE request with a text/plain body.
type Message struct {
	// CallID, CSeq and FromTag identify the request: a retransmission or
	// a duplicate carries the same three (DESIGN §8).
	CallID  string
	CSeq    uint32
	FromTag string
	// Number, Name and URI are the sender (P-Asserted-Identity, else From).
	Number, Name, URI string
	Text              string
}

// MessageHandler takes received messages.
type MessageHandler interface {
	// StoreMessage keeps m durably and returns once it is kept; fresh is
	// false when m was kept before. Until it returns nil no 2xx is sent:
	// an error is answered 500 with Retry-After.
	StoreMessage(ctx context.Context, m *Message) (fresh bool, err error)
	// MessageReceived is told of a fresh message once its 2xx is sent.
	MessageReceived(m *Message)
}

// udpMessageLimit is RFC 3428 §6's bound on a MESSAGE sent over a transport
// without congestion control.
const udpMessageLimit = 1300

// storeTimeout bounds how long an incoming MESSAGE waits for its commit.
const storeTimeout = 10 * time.Second

// retryAfter is the Retry-After, in seconds, of a MESSAGE that could not be
// stored.
const retryAfter = "5"

// ErrMessageTooLarge is SendMessage's refusal of a message too large for
// UDP to a target that asks for UDP.
var ErrMessageTooLarge = errors.New("message too large for UDP (RFC 3428 allows 1300 bytes) and the target asks for UDP")

// onMessage answers an out-of-dialog or in-dialog MESSAGE request.
func (u *UA) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	h := u.cfg.Messages
	if code, reason := checkMessage(req, u.cfg.MaxMessageBytes); code != 0 {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if code == sip.StatusUnsupportedMediaType {
			res.AppendHeader(sip.NewHeader("Accept", "text/plain"))
		}
		u.respond(tx, res)
		return
	}
	m := &Message{CallID: req.CallID().Value(), CSeq: req.CSeq().SeqNo, Text: string(req.Body())}
	m.FromTag, _ = req.From().Params.Get("tag")
	m.Number, m.Name, m.URI = callerIdentity(req)
	ctx, cancel := context.WithTimeout(u.ctx, storeTimeout)
	fresh, err := h.StoreMessage(ctx, m)
	cancel()
	if err != nil {
		u.log.Error("storing a received MESSAGE; answering 500", "call-id", m.CallID, "error", err)
		res := sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", retryAfter))
		u.respond(tx, res)
		return
	}
	u.respond(tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	if fresh {
		h.MessageReceived(m)
	}
}

// checkMessage returns the error status for a MESSAGE gophone will not
// store, or 0: a body other than text/plain in UTF-8 (415), over max bytes
// (413), or not UTF-8 (400).
func checkMessage(req *sip.Request, max int) (int, string) {
	ct := "text/plain" // RFC 3261 §7.4.1: no type with no body
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	} else if len(req.Body()) > 0 {
		return sip.StatusUnsupportedMediaType, "Unsupported Media Type"
	}
	typ, params, err := mime.ParseMediaType(ct)
	if err != nil || typ != "text/plain" {
		return sip.StatusUnsupportedMediaType, "Unsupported Media Type"
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return sip.StatusUnsupportedMediaType, "Unsupported Media Type"
	}
	if h := req.GetHeader("Content-Encoding"); h != nil && !strings.EqualFold(strings.TrimSpace(h.Value()), "identity") {
		return sip.StatusUnsupportedMediaType, "Unsupported Media Type"
	}
	if max > 0 && len(req.Body()) > max {
		return sip.StatusRequestEntityTooLarge, "Request Entity Too Large"
	}
	if !utf8.Valid(req.Body()) {
		return sip.StatusBadRequest, "Body Is Not UTF-8"
	}
	return 0, ""
}

// respond sends res with a To tag (RFC 3261 §8.2.6.2).
func (u *UA) respond(tx sip.ServerTransaction, res *sip.Response) {
	if to := res.To(); to != nil {
		if _, ok := to.Params.Get("tag"); !ok {
			to.Params.Add("tag", sip.GenerateTagN(16))
		}
	}
	if err := tx.Respond(res); err != nil {
		u.log.Info("answering a MESSAGE", "error", err)
	}
}

// From is the identity a request is sent as: sip:User@Host (Host may
// carry a port), with a display name.
type From struct {
	User, Host, DisplayName string
}

// SendMessage sends text to target (a SIP URI) as a MESSAGE from from, and
// returns when it has its outcome: nil on a 2xx, a *ResponseError for an
// error response, a timeout (408 after Timer F, with sipgo's Timer E
// retransmissions over UDP and none of ours) or a transport failure (503,
// RFC 3261 §8.1.3.1). A message over RFC 3428's 1300 bytes goes over TCP,
// unless the target asks for UDP: ErrMessageTooLarge. callID is the
// request's Call-ID. With acc, the MESSAGE goes to the account's proxy or
// server over its transport, and a 401/407 is answered with its
// credentials (once per nonce, unless stale; CSeq+1 on every resend).
func (u *UA) SendMessage(ctx context.Context, target, text string, from From, acc *Account) (callID string, err error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return "", fmt.Errorf("bad SIP URI %q: %w", target, err)
	}
	req := sip.NewRequest(sip.MESSAGE, uri)
	f := &sip.FromHeader{DisplayName: from.DisplayName, Address: sip.Uri{Scheme: "sip", User: from.User, Host: from.Host}, Params: sip.NewParams()}
	if host, port, err := net.SplitHostPort(from.Host); err == nil {
		f.Address.Host = host
		f.Address.Port, _ = strconv.Atoi(port)
	}
	f.Params.Add("tag", sip.GenerateTagN(16))
	to := &sip.ToHeader{Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}, Params: sip.NewParams()}
	id := sip.CallIDHeader(sip.GenerateTagN(24))
	req.AppendHeader(f)
	req.AppendHeader(to)
	req.AppendHeader(&id)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.MESSAGE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("User-Agent", u.cfg.UserAgent))
	ct := sip.ContentTypeHeader("text/plain;charset=UTF-8")
	req.AppendHeader(&ct)
	req.SetBody([]byte(text))
	client := u.udpClient
	switch {
	case acc != nil:
		routed, err := u.route(ctx, *acc)
		if err != nil {
			return string(id), err
		}
		req.SetTransport(strings.ToUpper(routed.transport()))
		req.SetDestination(routed.nextHop())
		if client, err = u.accountClientFor(routed); err != nil {
			return string(id), err
		}
		if routed.transport() == "udp" && messageSize(req) > udpMessageLimit {
			return "", ErrMessageTooLarge // the account's server is reached over UDP
		}
	case req.Transport() != "UDP":
		client = u.tcpClient
	case messageSize(req) > udpMessageLimit:
		if p, ok := uri.UriParams.Get("transport"); ok && strings.EqualFold(p, "udp") {
			return "", ErrMessageTooLarge
		}
		req.SetTransport("TCP")
		client = u.tcpClient
	}
	// Timer F ends the transaction; the margin only guards against a
	// transaction layer that never reports.
	ctx, cancel := context.WithTimeout(ctx, 64*sip.T1+5*time.Second)
	defer cancel()
	res, err := acc.do(ctx, req, func(ctx context.Context, req *sip.Request) (*sip.Response, error) {
		return client.Do(ctx, req)
	})
	switch {
	case errors.Is(err, sip.ErrTransactionTimeout):
		return string(id), &ResponseError{Code: sip.StatusRequestTimeout, Reason: "Request Timeout"}
	case err != nil && ctx.Err() == nil:
		u.log.Info("sending a MESSAGE", "target", target, "error", err)
		return string(id), &ResponseError{Code: sip.StatusServiceUnavailable, Reason: "Service Unavailable"}
	case err != nil:
		return string(id), err
	case res.StatusCode >= 300:
		return string(id), &ResponseError{Code: res.StatusCode, Reason: res.Reason}
	}
	return string(id), nil
}

// messageSize is req's size on the wire once a Via is added (a generous
// estimate of the Via line).
func messageSize(req *sip.Request) int {
	return len(req.String()) + 120
}

// newMessageClients makes the clients that send MESSAGEs: over UDP from
// the listening socket, so replies come back to it, and over TCP.
func (u *UA) newMessageClients() error {
	var err error
	u.udpClient, err = sipgo.NewClient(u.ua, sipgo.WithClientNAT(), sipgo.WithClientHostname(u.host),
		sipgo.WithClientConnectionAddr(u.Addr()))
	if err != nil {
		return err
	}
	u.tcpClient, err = sipgo.NewClient(u.ua, sipgo.WithClientNAT(), sipgo.WithClientHostname(u.host))
	return err
}
