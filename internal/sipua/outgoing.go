package sipua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func ensureCallID(req *sip.Request) string {
	if id := req.CallID(); id != nil {
		return id.Value()
	}
	id := sip.CallIDHeader(sip.GenerateTagN(24))
	req.AppendHeader(&id)
	return string(id)
}

// maxRedirects bounds how many 3xx responses one call follows.
const maxRedirects = 5

// redirectTarget returns the first Contact of a 3xx response error.
func redirectTarget(err error) (sip.Uri, bool) {
	res := errorResponse(err)
	if res == nil {
		return sip.Uri{}, false
	}
	if res.StatusCode < 300 || res.StatusCode >= 400 {
		return sip.Uri{}, false
	}
	contact := res.Contact()
	if contact == nil || contact.Address.Host == "" {
		return sip.Uri{}, false
	}
	return *contact.Address.Clone(), true
}

// DialOptions configure an outgoing call.
type DialOptions struct {
	Listener Listener
	// Account, when set, places the call for a registered account: From
	// is its address, the INVITE goes to its proxy or server over its
	// transport, and digest challenges are answered with its credentials.
	Account *Account
	// SRTP is the call's SRTP policy (the account's).
	SRTP SRTP
	// Codecs are the codecs offered, in preference order (the account's,
	// as Config.Codecs); nil offers Config.Codecs.
	Codecs []string
}

// Dial places a call to target (a SIP URI). It returns as soon as the
// INVITE transaction started; progress arrives on the listener.
func (u *UA) Dial(ctx context.Context, target string, opts DialOptions) (*Call, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("bad SIP URI %q: %w", target, err)
	}
	c := newCall(u, Outgoing)
	c.codecs = u.codecs
	if opts.Codecs != nil {
		codecs, err := parseCodecs(opts.Codecs, u.cfg.DTMFMethod != DTMFInband)
		if err != nil {
			return nil, err
		}
		c.codecs = codecs
	}
	d, err := u.newDialog(ctx, uri, opts.Account)
	if err != nil {
		return nil, fmt.Errorf("creating dialog: %w", err)
	}
	c.srtp = opts.SRTP
	if err := c.setDialogMedia(d); err != nil {
		d.Close()
		return nil, err
	}
	c.account = opts.Account
	c.cli = d
	c.remoteURI = uri.String()
	c.number = uri.User
	c.sipCallID = ensureCallID(d.InviteRequest)
	c.listener = opts.Listener
	u.track(c)
	go c.invite(u.ctx, d)
	return c, nil
}

// newDialog makes the dialog of an outgoing call to uri, for acc if set:
// over its transport, to its next hop, with its Contact.
func (u *UA) newDialog(ctx context.Context, uri sip.Uri, acc *Account) (*diago.DialogClientSession, error) {
	if acc == nil {
		d, err := u.dg.NewDialog(uri, diago.NewDialogOptions{})
		if err != nil || !u.ports.dualStack {
			return d, err
		}
		if err := u.leaveToward(d, uri.Host); err != nil {
			d.Close()
			return nil, err
		}
		return d, nil
	}
	routed, err := u.route(ctx, *acc)
	if err != nil {
		return nil, err
	}
	d, err := u.dg.NewDialog(uri, diago.NewDialogOptions{Transport: routed.transport()})
	if err != nil {
		return nil, err
	}
	u.useAccount(d, &routed)
	return d, nil
}

// leaveToward makes a dual-stack agent's dialog d, to host, leave from the
// local address the route to host leaves from, so of its family: its
// requests (over UDP from the listening socket), their Via and Contact,
// and its media (o=, c=). A host that is a name is left to diago (the
// host's first address of the listen family).
func (u *UA) leaveToward(d *diago.DialogClientSession, host string) error {
	ip := diago.LocalIPToward(host)
	if ip == nil {
		return nil
	}
	opts := []sipgo.ClientOption{sipgo.WithClientNAT(), sipgo.WithClientLogger(u.log), sipgo.WithClientHostname(ip.String())}
	if strings.EqualFold(d.InviteRequest.Transport(), "udp") {
		opts = append(opts, sipgo.WithClientConnectionAddr(u.Addr()), sipgo.WithClientPort(u.port))
	}
	client, err := sipgo.NewClient(u.ua, opts...)
	if err != nil {
		return fmt.Errorf("SIP client toward %s: %w", host, err)
	}
	d.UA.Client = client
	d.UA.ContactHDR.Address.Host = ip.String()
	d.SetMediaIP(ip)
	return nil
}

// useAccount sends d's INVITE for acc: to its next hop, with its Contact,
// its later requests (BYE, re-INVITE, REFER) answering challenges with
// its credentials as the INVITE does. A dual-stack agent's media is at
// the Contact's address, which the route to the server leaves from.
func (u *UA) useAccount(d *diago.DialogClientSession, acc *Account) {
	d.InviteRequest.SetDestination(acc.nextHop())
	d.UA.ContactHDR = u.accountContact(*acc)
	d.DoInDialog = acc.do
	if u.ports.dualStack {
		d.SetMediaIP(net.ParseIP(d.UA.ContactHDR.Address.Host))
	}
}

// srtpRequiredAnswer is the reason a call with SRTP=mandatory ends with
// when the answer carries no usable key.
const srtpRequiredAnswer = "SRTP required (SRTP=mandatory): the answer has no usable SRTP key"

// setDialogMedia sets what an outgoing dialog offers: the call's codecs,
// and SDES keys from the call's SRTP policy and the dialog's transport.
func (c *Call) setDialogMedia(d *diago.DialogClientSession) error {
	mode, err := c.srtp.forTransport(d.InviteRequest.Transport())
	if err != nil {
		return err
	}
	d.SetCodecs(c.codecs)
	c.srtpMode = mode
	d.SetSDES(mode != SRTPOff, mode == SRTPOptional)
	return nil
}

// srtpActive reports whether a call's media is SRTP both ways.
func srtpActive(med *diago.DialogMedia) bool {
	if med == nil {
		return false
	}
	ms := med.MediaSession()
	return ms != nil && ms.SRTP()
}

// invite runs an outgoing INVITE to its end: answered and confirmed, or failed.
func (c *Call) invite(parent context.Context, d *diago.DialogClientSession) error {
	ctx, cancel := context.WithCancel(parent)
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	defer cancel()
	early := false
	onResponse := func(res *sip.Response) error {
		if res.StatusCode > 100 && res.StatusCode < 200 {
			if !early {
				early = true
				c.emit(Event{Kind: EventEarly})
			}
			if res.StatusCode == sip.StatusRinging {
				c.emit(Event{Kind: EventRinging})
			}
		}
		return nil
	}
	var med *diago.DialogMedia
	var err error
	for redirects := 0; ; redirects++ {
		opts := diago.InviteClientOptions{
			OnResponse:       onResponse,
			EarlyMediaDetect: true,
			OnRefer:          c.onRefer,
		}
		if acc := c.account; acc != nil {
			opts.Headers = append(opts.Headers, &sip.FromHeader{DisplayName: acc.DisplayName, Address: acc.aor(), Params: sip.NewParams()})
			opts.Username, opts.Password = acc.authID(), acc.Password
		} else {
			opts.WithCaller(c.u.cfg.DisplayName, c.u.cfg.Username, c.u.host)
		}
		med, err = d.Invite(ctx, opts)
		if errors.Is(err, diago.ErrClientEarlyMedia) {
			if c.srtpMode != SRTPMandatory || srtpActive(med) {
				c.startMedia(med)
			}
			err = d.WaitAnswer(ctx, med, sipgo.AnswerOptions{OnResponse: onResponse})
		}
		target, ok := redirectTarget(err)
		if !ok || redirects >= maxRedirects || ctx.Err() != nil {
			break
		}
		// Follow a 3xx as MicroSIP and pjsua do: a new INVITE to the
		// Contact, with the same Call-ID (RFC 3261 §8.1.3.4).
		nd, nerr := c.u.newDialog(ctx, target, c.account)
		if nerr != nil {
			break
		}
		if err = c.setDialogMedia(nd); err != nil {
			nd.Close()
			break
		}
		id := sip.CallIDHeader(c.sipCallID)
		nd.InviteRequest.AppendHeader(&id)
		d.Close()
		d = nd
		c.mu.Lock()
		c.cli = nd
		c.mu.Unlock()
	}
	if err != nil {
		code, reason := 500, err.Error()
		var re *ResponseError
		if errors.As(describe(err), &re) {
			code, reason = re.Code, re.Reason
			if code == sip.StatusNotAcceptableHere && c.srtpMode == SRTPMandatory {
				reason += " (SRTP=mandatory: the far end may not take SRTP)"
			}
		} else if ctx.Err() != nil {
			code, reason = 487, "Request Terminated"
		}
		c.finish(code, reason)
		d.Close()
		return describe(err)
	}
	if c.srtpMode == SRTPMandatory && !srtpActive(med) {
		// The far end answered without a key we can use: the call
		// would be plain RTP, which SRTP=mandatory forbids.
		d.Ack(ctx)
		d.Hangup(ctx)
		c.finish(488, srtpRequiredAnswer)
		d.Close()
		return ErrSRTPRequired
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
	c.emit(Event{Kind: EventAnswered})
	if err := d.Ack(ctx); err != nil {
		c.finish(500, "ACK failed: "+err.Error())
		return err
	}
	c.startMedia(med)
	c.confirm()
	go func() {
		<-d.Context().Done()
		c.finish(200, c.hangupReason())
		d.Close()
	}()
	return nil
}
