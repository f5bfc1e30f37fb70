package sipua

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// serveIncoming is diago's handler for a new INVITE. It runs for the life
// of the call: when it returns, diago ends the dialog.
func (u *UA) serveIncoming(d *diago.DialogServerSession) {
	req := d.InviteRequest
	c := newCall(u, Incoming)
	c.srv = d
	c.inviteReq = req
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		c.source = ap.Addr().Unmap()
	}
	if id := req.CallID(); id != nil {
		c.sipCallID = id.Value()
	}
	c.number, c.name, c.remoteURI = callerIdentity(req)
	if route := u.cfg.Route; route != nil {
		toUser := ""
		if to := req.To(); to != nil {
			toUser = to.Address.User
		}
		id, ok := route(req.Recipient.User, toUser)
		if !ok {
			d.Respond(sip.StatusNotFound, "Not Found", nil)
			return
		}
		c.accountID = id
		if acc := u.registered(id); acc != nil {
			c.account = acc
			d.DoInDialog = acc.do // our BYE, re-INVITE and REFER answer challenges
		}
	}
	if !u.takeSRTP(c, d) {
		return
	}
	c.codecs = u.accountCodecsFor(c.accountID)
	d.SetCodecs(c.codecs)
	if body := req.Body(); len(body) > 0 {
		if !offerHasCodec(body, c.codecs) {
			d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
		// Media for an address family our sockets cannot reach would be
		// a one-way call: refuse it (RFC 3264 §6 lets the answerer
		// reject what it cannot use).
		if !reachesAddrType(u.host, offerAddrType(body)) {
			u.log.Info("refusing an offer for an address family we do not listen on", "offer", offerAddrType(body), "listen", u.host)
			d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
	}
	if u.ports.dualStack {
		// Media of the offer's family; a late offer's, the caller's.
		d.SetMediaIP(answerMediaIP(req.Body(), req.Source()))
	}
	u.track(c)
	if u.cfg.OnIncoming == nil {
		c.finish(480, "Temporarily Unavailable")
		d.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
		return
	}
	u.cfg.OnIncoming(c)

	dctx := d.Context()
	select {
	case <-c.done:
	case <-dctx.Done():
		c.mu.Lock()
		answered := c.answered
		c.mu.Unlock()
		if answered {
			c.finish(200, c.hangupReason())
		} else {
			c.finish(487, "Request Terminated")
		}
	case <-u.ctx.Done():
		c.Hangup(context.Background())
	}
	// Wait for a BYE or our own hangup before letting diago clean up.
	<-c.done
	c.awaitRejected()
}

// takeSRTP sets an incoming call's SDES keys from its account's SRTP
// policy and the INVITE's transport; a call that cannot meet a mandatory
// policy is refused, 488 with a Warning saying why (RFC 3261 §20.43).
func (u *UA) takeSRTP(c *Call, d *diago.DialogServerSession) bool {
	if u.cfg.SRTP != nil {
		c.srtp = u.cfg.SRTP(c.accountID)
	}
	mode, err := c.srtp.forTransport(d.InviteRequest.Transport())
	if why := srtpRefusal(mode, d.InviteRequest.Body()); err == nil && why != "" {
		err = fmt.Errorf("SRTP=%s: %s", c.srtp.Mode, why)
	}
	if err != nil {
		u.log.Info("refusing a call", "call", c.sipCallID, "account", c.accountID, "reason", err)
		warning := sip.NewHeader("Warning", fmt.Sprintf("399 %s %q", u.host, err.Error()))
		d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil, warning)
		return false
	}
	c.srtpMode = mode
	d.SetSDES(mode != SRTPOff, mode == SRTPOptional)
	return true
}

// Ring sends 180 Ringing for an incoming call.
func (c *Call) Ring() error {
	if c.srv == nil {
		return ErrNotIncoming
	}
	return c.srv.Ringing()
}

// Answer answers an incoming call and returns once the ACK arrived.
func (c *Call) Answer(ctx context.Context) error {
	if c.srv == nil {
		return ErrNotIncoming
	}
	c.mu.Lock()
	if c.ended || c.rejected != nil {
		c.mu.Unlock()
		return ErrCallEnded
	}
	if c.answered {
		c.mu.Unlock()
		return ErrAnswered
	}
	c.answered = true
	c.mu.Unlock()
	c.emit(Event{Kind: EventAnswered})
	var med *diago.DialogMedia
	var err error
	if c.HasOffer() {
		med, err = c.srv.Answer(diago.AnswerOptions{OnRefer: c.onRefer})
	} else {
		med, err = c.srv.AnswerLate()
		// diago starts monitoring the first RTP session of a late answer
		// although the ACK's SDP already replaced it; that error is
		// harmless once the far end's media address is known.
		if err != nil && med != nil {
			if ms := med.MediaSession(); ms != nil && ms.Raddr.IP != nil {
				err = nil
			}
		}
	}
	if err != nil {
		c.finish(500, "answer failed: "+err.Error())
		return fmt.Errorf("answering call: %w", err)
	}
	if c.srtpMode == SRTPMandatory && !srtpActive(med) {
		// A late offer's answer (in the ACK) had no usable key.
		c.srv.Hangup(ctx)
		c.finish(488, "SRTP required (SRTP=mandatory): the far end's answer has no usable SRTP key")
		return ErrSRTPRequired
	}
	c.startMedia(med)
	c.confirm()
	return nil
}

// Reject ends an unanswered incoming call with code (486, 603, 302 …).
// It returns once the response is on its way: diago's Respond returns only
// when the caller ACKs it, or after 64·T1 (32 s) when no ACK comes, and
// that wait belongs to the transaction, not to whoever rejects the call.
func (c *Call) Reject(code int, reason string, headers ...string) error {
	if c.srv == nil {
		return ErrNotIncoming
	}
	c.mu.Lock()
	switch {
	case c.answered:
		c.mu.Unlock()
		return ErrAnswered
	case c.ended || c.rejected != nil:
		c.mu.Unlock()
		return ErrCallEnded
	}
	rejected := make(chan struct{})
	c.rejected = rejected
	c.mu.Unlock()
	var hdrs []sip.Header
	for i := 0; i+1 < len(headers); i += 2 {
		hdrs = append(hdrs, sip.NewHeader(headers[i], headers[i+1]))
	}
	errc := make(chan error, 1)
	go func() {
		defer close(rejected)
		errc <- c.srv.Respond(code, reason, nil, hdrs...)
	}()
	// A caller ACKs within a round trip. Without an ACK after T1 the
	// response has still been sent, and our transaction retransmits it
	// until the ACK comes or it gives up.
	timer := time.NewTimer(sip.T1)
	defer timer.Stop()
	var err error
	select {
	case err = <-errc:
	case <-timer.C:
	}
	c.finish(code, reason)
	return err
}

// awaitRejected waits until diago is done with the final response Reject
// sent, if any: a dialog handed back to diago before that would be
// answered a second time (480), and the transaction would retransmit that
// instead of ours.
func (c *Call) awaitRejected() {
	c.mu.Lock()
	rejected := c.rejected
	c.mu.Unlock()
	if rejected != nil {
		<-rejected
	}
}
