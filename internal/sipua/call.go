package sipua

import (
	"time"

	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
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
	Code   int        // EventEnded: SIP status that ended the call
	Reason string     // EventEnded: why
	Digit  string     // EventDTMF
	Method DTMFMethod // EventDTMF: how the digit came (rfc4733, info or inband)
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
	source    netip.Addr // incoming: the IP address the INVITE came from
	// account is the account a call is placed for or, for an incoming
	// call, the registered account it was routed to (nil: none); accountID
	// the account a call belongs to, as OnIncoming's Route said.
	account   *Account
	accountID string
	// srtp is the call's SRTP policy, srtpMode what its transport allows.
	srtp     SRTP
	srtpMode SRTPMode
	// codecs are what the call offers or answers from, in preference
	// order: its account's.
	codecs []media.Codec

	mu          sync.Mutex
	listener    Listener
	srv         *diago.DialogServerSession
	cli         *diago.DialogClientSession
	med         *diago.DialogMedia
	answered    bool
	rejected    chan struct{} // incoming: closed once diago is done with our final response
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

// Account returns the id of the account an incoming call was routed to
// (see Config.Route), or an outgoing call was placed for.
func (c *Call) Account() string {
	if c.account != nil {
		return c.account.ID
	}
	return c.accountID
}

// Direction returns who placed the call.
func (c *Call) Direction() Direction { return c.direction }

// RemoteURI returns the far end's URI.
func (c *Call) RemoteURI() string { return c.remoteURI }

// Number returns the far end's user part (P-Asserted-Identity first, then From/To).
func (c *Call) Number() string { return c.number }

// Source returns the IP address an incoming call's INVITE came from (the
// last hop: a proxy in front of us, or the caller), or the zero Addr.
func (c *Call) Source() netip.Addr { return c.source }

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
	sess := m.med.MediaSession()
	if sess == nil {
		return ""
	}
	audioCodec, _ := negotiated(sess.CommonCodecs())
	return strings.ToUpper(audioCodec.Name)
}

// SRTP reports whether the call's media is SRTP both ways.
func (c *Call) SRTP() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return srtpActive(c.med)
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

// RemoteStats returns what the far end's last RTCP report said of the
// audio the call sends: the round-trip time (0 until measured), packets
// lost and interarrival jitter in milliseconds.
func (c *Call) RemoteStats() (rtt time.Duration, lost int64, jitterMs float64) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return 0, 0, 0
	}
	r := m.remoteReport()
	return r.rtt, r.lost, r.jitterMs
}

// BufferStats returns the receive jitter buffer's figures: its depth in
// milliseconds, the packets that came too late to play and the packet
// times concealed. They stay 0 while the call's audio goes nowhere (the
// buffer is then skipped).
func (c *Call) BufferStats() (bufferMs, late, concealed int64) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return 0, 0, 0
	}
	return m.bufferMs.Load(), m.late.Load(), m.concealed.Load()
}

// RTPCounts returns the audio RTP packets the call sent and received so
// far and the received ones lost (RFC 3550 A.3).
func (c *Call) RTPCounts() (sent, received, lost int64) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return 0, 0, 0
	}
	return m.counts()
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

// answerTag returns the To tag of the 2xx that confirmed an outgoing call,
// and false until one has.
func (c *Call) answerTag() (string, bool) {
	c.mu.Lock()
	d := c.cli
	c.mu.Unlock()
	if d == nil || !c.isConfirmed() || d.InviteResponse == nil {
		return "", false
	}
	to := d.InviteResponse.To()
	if to == nil {
		return "", false
	}
	tag, _ := to.Params.Get("tag")
	return tag, true
}

func (c *Call) isConfirmed() bool {
	select {
	case <-c.established:
		return true
	default:
		return false
	}
}

// describe turns a SIP error response into a readable error.
func describe(err error) error {
	if res := errorResponse(err); res != nil {
		return &ResponseError{Code: res.StatusCode, Reason: res.Reason}
	}
	return err
}

// errorResponse returns the SIP response inside a sipgo dialog error
// (sipgo returns ErrDialogResponse both as a value and as a pointer), or nil.
func errorResponse(err error) *sip.Response {
	var r *sipgo.ErrDialogResponse
	if errors.As(err, &r) && r.Res != nil {
		return r.Res
	}
	var r2 sipgo.ErrDialogResponse
	if errors.As(err, &r2) && r2.Res != nil {
		return r2.Res
	}
	return nil
}

// ResponseError is a final SIP error response to one of our requests.
type ResponseError struct {
	Code   int
	Reason string
}

func (e *ResponseError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }
