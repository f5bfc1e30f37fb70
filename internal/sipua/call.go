package sipua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Direction tells who placed a call.
type Direction string

// Call directions.
const (
	Incoming Direction = "incoming"
	Outgoing Direction = "outgoing"
)

// EventKind says what happened to a call.
type EventKind int

// Call event kinds.
const (
	EventRinging       EventKind = iota + 1 // 180 received (outgoing)
	EventEarly                              // first 18x received (outgoing)
	EventAnswered                           // 200 sent or received
	EventEstablished                        // dialog confirmed by ACK
	EventHeld                               // local hold took effect
	EventResumed                            // local resume took effect
	EventRemoteHeld                         // the far end put us on hold
	EventRemoteResumed                      // the far end took us off hold
	EventDTMF                               // a digit arrived (Digit)
	EventEnded                              // the call is over (Code, Reason)
)

// Event is something that happened to a call.
type Event struct {
	Kind   EventKind
	Code   int    // EventEnded: SIP status that ended the call
	Reason string // EventEnded: why
	Digit  string // EventDTMF
}

// Listener receives a call's events in order. It must not block for long.
type Listener func(c *Call, ev Event)

// Call is one SIP call, incoming or outgoing.
type Call struct {
	u         *UA
	direction Direction
	sipCallID string
	remoteURI string
	number    string
	name      string
	inviteReq *sip.Request

	mu          sync.Mutex
	listener    Listener
	srv         *diago.DialogServerSession
	cli         *diago.DialogClientSession
	med         *diago.DialogMedia
	answered    bool
	ended       bool
	localHold   bool
	remoteHold  bool
	endCode     int
	endReason   string
	media       *mediaLoop
	localBye    bool               // we sent the BYE
	cancel      context.CancelFunc // outgoing: cancels the INVITE
	reinvite    sync.Mutex         // one re-INVITE at a time
	evMu        sync.Mutex         // keeps events in order
	done        chan struct{}      // closed when the call ended
	established chan struct{}      // closed when the dialog is confirmed
	estOnce     sync.Once
	doneOnce    sync.Once
}

// SIPCallID returns the SIP Call-ID.
func (c *Call) SIPCallID() string { return c.sipCallID }

// Direction returns who placed the call.
func (c *Call) Direction() Direction { return c.direction }

// RemoteURI returns the far end's URI.
func (c *Call) RemoteURI() string { return c.remoteURI }

// Number returns the far end's user part (P-Asserted-Identity first, then From/To).
func (c *Call) Number() string { return c.number }

// Name returns the far end's display name.
func (c *Call) Name() string { return c.name }

// Header returns the first value of the named header of the incoming INVITE.
func (c *Call) Header(name string) string {
	if c.inviteReq == nil {
		return ""
	}
	if h := c.inviteReq.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// HasOffer reports whether the incoming INVITE carried an SDP offer.
func (c *Call) HasOffer() bool { return c.inviteReq != nil && len(c.inviteReq.Body()) > 0 }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Established is closed when the call's dialog is confirmed.
func (c *Call) Established() <-chan struct{} { return c.established }

// Held reports whether we hold the call; RemoteHeld whether the far end holds us.
func (c *Call) Held() (local, remote bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.localHold, c.remoteHold
}

// Codec returns the negotiated audio codec name, or "".
func (c *Call) Codec() string {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return ""
	}
	m.sessionCodecs()
	return m.codecName()
}

// Stats returns receive statistics: packets lost and RFC 3550
// interarrival jitter in milliseconds.
func (c *Call) Stats() (lost int64, jitterMs float64) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return 0, 0
	}
	return m.stats()
}

// SetListener sets the function that receives the call's events.
func (c *Call) SetListener(l Listener) {
	c.mu.Lock()
	c.listener = l
	c.mu.Unlock()
}

func (c *Call) emit(ev Event) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	c.mu.Lock()
	l := c.listener
	if c.ended && ev.Kind != EventEnded {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if l != nil {
		l(c, ev)
	}
}

// finish marks the call ended once and emits EventEnded.
func (c *Call) finish(code int, reason string) {
	c.doneOnce.Do(func() {
		c.mu.Lock()
		c.ended = true
		c.endCode, c.endReason = code, reason
		m := c.media
		c.mu.Unlock()
		if m != nil {
			m.stop()
		}
		c.u.untrack(c)
		c.emit(Event{Kind: EventEnded, Code: code, Reason: reason})
		close(c.done)
	})
}

func (c *Call) confirm() {
	c.estOnce.Do(func() {
		close(c.established)
		c.emit(Event{Kind: EventEstablished})
	})
}

func newCall(u *UA, dir Direction) *Call {
	return &Call{u: u, direction: dir, done: make(chan struct{}), established: make(chan struct{})}
}

// serveIncoming is diago's handler for a new INVITE. It runs for the life
// of the call: when it returns, diago ends the dialog.
func (u *UA) serveIncoming(d *diago.DialogServerSession) {
	req := d.InviteRequest
	c := newCall(u, Incoming)
	c.srv = d
	c.inviteReq = req
	if id := req.CallID(); id != nil {
		c.sipCallID = id.Value()
	}
	c.number, c.name, c.remoteURI = callerIdentity(req)
	if body := req.Body(); len(body) > 0 {
		if !offerHasCodec(body, u.codecs) {
			d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
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
}

// Ring sends 180 Ringing for an incoming call.
func (c *Call) Ring() error {
	if c.srv == nil {
		return errors.New("not an incoming call")
	}
	return c.srv.Ringing()
}

// Answer answers an incoming call and returns once the ACK arrived.
func (c *Call) Answer(ctx context.Context) error {
	if c.srv == nil {
		return errors.New("not an incoming call")
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return errors.New("call has ended")
	}
	if c.answered {
		c.mu.Unlock()
		return errors.New("call already answered")
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
	c.startMedia(med)
	c.confirm()
	return nil
}

// Reject ends an unanswered incoming call with code (486, 603, 302 …).
func (c *Call) Reject(code int, reason string, headers ...string) error {
	if c.srv == nil {
		return errors.New("not an incoming call")
	}
	c.mu.Lock()
	answered := c.answered
	c.mu.Unlock()
	if answered {
		return errors.New("call already answered")
	}
	var hdrs []sip.Header
	for i := 0; i+1 < len(headers); i += 2 {
		hdrs = append(hdrs, sip.NewHeader(headers[i], headers[i+1]))
	}
	err := c.srv.Respond(code, reason, nil, hdrs...)
	c.finish(code, reason)
	return err
}

// Hangup ends the call: BYE when established, CANCEL when calling, 486 when ringing.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	ended, answered, cancel := c.ended, c.answered, c.cancel
	c.mu.Unlock()
	if ended {
		return nil
	}
	switch {
	case c.direction == Incoming && !answered:
		return c.Reject(sip.StatusBusyHere, "Busy Here")
	case c.direction == Outgoing && !c.isConfirmed():
		if cancel != nil {
			cancel()
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	c.mu.Lock()
	c.localBye = true
	c.mu.Unlock()
	var err error
	if c.srv != nil {
		err = c.srv.Hangup(ctx)
	} else if c.cli != nil {
		err = c.cli.Hangup(ctx)
	}
	c.finish(200, "local hangup")
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("sending BYE: %w", err)
	}
	return nil
}

func (c *Call) hangupReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.localBye {
		return "local hangup"
	}
	return "remote hangup"
}

func (c *Call) isConfirmed() bool {
	select {
	case <-c.established:
		return true
	default:
		return false
	}
}

// Hold puts the call on hold (on) or resumes it with a re-INVITE. The offer
// follows RFC 3264 §8.4: hold is sendonly, or inactive while the far end
// holds us; resume is sendrecv, or recvonly while the far end holds us. A
// 491 is retried after the RFC 3261 §14.1 delay.
func (c *Call) Hold(ctx context.Context, on bool) error {
	if !c.isConfirmed() {
		return errors.New("call is not established")
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
			return errors.New("call ended")
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
// in-dialog INVITE.
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

// Transfer sends a blind transfer (REFER) to target and waits for the final
// NOTIFY. It returns the final sipfrag status code.
func (c *Call) Transfer(ctx context.Context, target string) (int, error) {
	if !c.isConfirmed() {
		return 0, errors.New("call is not established")
	}
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return 0, fmt.Errorf("transfer target %q: %w", target, err)
	}
	final := make(chan int, 1)
	onNotify := func(code int) {
		if code >= 200 {
			select {
			case final <- code:
			default:
			}
		}
	}
	var err error
	if c.srv != nil {
		err = c.srv.ReferOptions(ctx, uri, diago.ReferServerOptions{OnNotify: onNotify})
	} else {
		err = c.cli.ReferOptions(ctx, uri, diago.ReferClientOptions{OnNotify: onNotify})
	}
	if err != nil {
		return 0, fmt.Errorf("REFER: %w", describe(err))
	}
	select {
	case code := <-final:
		return code, nil
	case <-c.done:
		return 0, errors.New("call ended before the transfer completed")
	case <-ctx.Done():
		return 0, fmt.Errorf("waiting for the transfer outcome: %w", ctx.Err())
	}
}

// onRefer runs when the far end transfers us: it calls the target as a new
// outgoing call and stays until that call ends (diago ends the new dialog
// when this returns).
func (c *Call) onRefer(d *diago.DialogClientSession) error {
	nc := newCall(c.u, Outgoing)
	nc.cli = d
	uri := d.InviteRequest.Recipient
	nc.remoteURI = uri.String()
	nc.number = uri.User
	nc.sipCallID = ensureCallID(d.InviteRequest)
	c.u.track(nc)
	// The transfer target is reported like a call of our own.
	if f := c.u.cfg.OnReferred; f != nil {
		nc.SetListener(f(c, nc))
	}
	err := nc.invite(c.u.ctx, d)
	if err != nil {
		return err
	}
	<-nc.done
	return nil
}

// describe turns a SIP error response into a readable error.
func describe(err error) error {
	var r *sipgo.ErrDialogResponse
	if errors.As(err, &r) && r.Res != nil {
		return &ResponseError{Code: r.Res.StatusCode, Reason: r.Res.Reason}
	}
	var r2 sipgo.ErrDialogResponse
	if errors.As(err, &r2) && r2.Res != nil {
		return &ResponseError{Code: r2.Res.StatusCode, Reason: r2.Res.Reason}
	}
	return err
}

// ResponseError is a final SIP error response to one of our requests.
type ResponseError struct {
	Code   int
	Reason string
}

func (e *ResponseError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }

func callerIdentity(req *sip.Request) (number, name, uri string) {
	if pai := req.GetHeader("P-Asserted-Identity"); pai != nil {
		// A PAI may carry several identities (sip: and tel:); the first is taken.
		var u sip.Uri
		params := sip.NewParams()
		if dn, err := sip.ParseAddressValue(firstAddress(pai.Value()), &u, &params); err == nil {
			return uriNumber(u), dn, u.String()
		}
	}
	if from := req.From(); from != nil {
		return uriNumber(from.Address), from.DisplayName, from.Address.String()
	}
	return "", "", ""
}

// uriNumber is the number a URI names: its user part, or a tel: URI's number.
func uriNumber(u sip.Uri) string {
	if u.User == "" && strings.EqualFold(u.Scheme, "tel") {
		number, _, _ := strings.Cut(strings.TrimPrefix(u.String(), u.Scheme+":"), ";")
		return number
	}
	return u.User
}

// firstAddress returns the first of a comma-separated list of name-addr
// values, ignoring commas inside quotes and angle brackets.
func firstAddress(v string) string {
	quoted, angle := false, false
	for i, r := range v {
		switch {
		case r == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case r == '<' && !quoted:
			angle = true
		case r == '>' && !quoted:
			angle = false
		case r == ',' && !quoted && !angle:
			return strings.TrimSpace(v[:i])
		}
	}
	return strings.TrimSpace(v)
}

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
	var r *sipgo.ErrDialogResponse
	var r2 sipgo.ErrDialogResponse
	var res *sip.Response
	switch {
	case errors.As(err, &r) && r.Res != nil:
		res = r.Res
	case errors.As(err, &r2) && r2.Res != nil:
		res = r2.Res
	default:
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
}

// Dial places a call to target (a SIP URI). It returns as soon as the
// INVITE transaction started; progress arrives on the listener.
func (u *UA) Dial(ctx context.Context, target string, opts DialOptions) (*Call, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("bad SIP URI %q: %w", target, err)
	}
	d, err := u.dg.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating dialog: %w", err)
	}
	c := newCall(u, Outgoing)
	c.cli = d
	c.remoteURI = uri.String()
	c.number = uri.User
	c.sipCallID = ensureCallID(d.InviteRequest)
	c.listener = opts.Listener
	u.track(c)
	go c.invite(u.ctx, d)
	return c, nil
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
		opts.WithCaller(c.u.cfg.DisplayName, c.u.cfg.Username, c.u.host)
		med, err = d.Invite(ctx, opts)
		if errors.Is(err, diago.ErrClientEarlyMedia) {
			c.startMedia(med)
			err = d.WaitAnswer(ctx, med, sipgo.AnswerOptions{OnResponse: onResponse})
		}
		target, ok := redirectTarget(err)
		if !ok || redirects >= maxRedirects || ctx.Err() != nil {
			break
		}
		// Follow a 3xx as MicroSIP and pjsua do: a new INVITE to the
		// Contact, with the same Call-ID (RFC 3261 §8.1.3.4).
		nd, nerr := c.u.dg.NewDialog(target, diago.NewDialogOptions{})
		if nerr != nil {
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
		} else if ctx.Err() != nil {
			code, reason = 487, "Request Terminated"
		}
		c.finish(code, reason)
		d.Close()
		return describe(err)
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
