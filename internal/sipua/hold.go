package sipua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Hold puts the call on hold (on) or resumes it with a re-INVITE. The offer
// follows RFC 3264 §8.4: hold is sendonly, or inactive while the far end
// holds us; resume is sendrecv, or recvonly while the far end holds us. A
// 491 is retried after the RFC 3261 §14.1 delay.
func (c *Call) Hold(ctx context.Context, on bool) error {
	if !c.isConfirmed() {
		return ErrNotEstablished
	}
	c.reinvite.Lock()
	defer c.reinvite.Unlock()
	_, remote := c.Held()
	mode := map[[2]bool]string{
		{true, false}:  "sendonly",
		{true, true}:   "inactive",
		{false, false}: "sendrecv",
		{false, true}:  "recvonly",
	}[[2]bool{on, remote}]
	var err error
	for attempt := 0; ; attempt++ {
		err = c.reInvite(ctx, mode)
		var re *ResponseError
		if !errors.As(err, &re) || re.Code != sip.StatusRequestPending || attempt >= 4 {
			break
		}
		select {
		case <-time.After(c.glareDelay()):
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return ErrCallEnded
		}
	}
	if err != nil {
		return fmt.Errorf("re-INVITE: %w", err)
	}
	// What we offered was shaped by the far end's hold; our own wish, which
	// diago answers later offers with, is sendonly while we hold.
	c.mu.Lock()
	c.localHold = on
	if ms := c.med.MediaSession(); ms != nil {
		ms.Mode = map[bool]string{true: "sendonly", false: "sendrecv"}[on]
	}
	c.mu.Unlock()
	if on {
		c.emit(Event{Kind: EventHeld})
	} else {
		c.emit(Event{Kind: EventResumed})
	}
	return nil
}

// reInvite offers the current media with direction mode.
func (c *Call) reInvite(ctx context.Context, mode string) error {
	c.mu.Lock()
	med := c.med
	c.mu.Unlock()
	if med == nil || med.MediaSession() == nil {
		return errors.New("call has no media session")
	}
	// diago offers the session's preferred direction (Mode) in a
	// re-INVITE; the answer keeps it for later negotiations.
	ms := med.MediaSession()
	prev := ms.Mode
	ms.Mode = mode
	var err error
	if c.srv != nil {
		err = c.srv.ReInvite(ctx)
	} else {
		err = c.cli.ReInvite(ctx)
	}
	if err != nil {
		ms.Mode = prev
		return describe(err)
	}
	return nil
}

// glareDelay is how long to wait after a 491 (RFC 3261 §14.1): 2.1–4 s when
// we generated the Call-ID, else 0–2 s.
func (c *Call) glareDelay() time.Duration {
	if c.direction == Outgoing {
		return 2100*time.Millisecond + time.Duration(rand.IntN(190))*10*time.Millisecond
	}
	return time.Duration(rand.IntN(200)) * 10 * time.Millisecond
}

// remoteSDP returns the far end's session description as last received
// in the INVITE or its 200, or nil.
func (c *Call) remoteSDP() []byte {
	if c.inviteReq != nil {
		return c.inviteReq.Body()
	}
	if c.cli != nil && c.cli.InviteResponse != nil {
		return c.cli.InviteResponse.Body()
	}
	return nil
}

// reInviteSeen follows the far end's hold state and packet time from an
// in-dialog INVITE or UPDATE.
func (c *Call) reInviteSeen(req *sip.Request) {
	body := req.Body()
	if len(body) == 0 {
		return
	}
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil {
		m.setPtime(body)
	}
	held := sdpIsHold(body)
	c.mu.Lock()
	changed := held != c.remoteHold
	c.remoteHold = held
	if c.media != nil {
		c.media.remoteHeld.Store(held)
	}
	c.mu.Unlock()
	if !changed {
		return
	}
	if held {
		c.emit(Event{Kind: EventRemoteHeld})
	} else {
		c.emit(Event{Kind: EventRemoteResumed})
	}
}
