package phone

import (
	"strconv"
	"strings"
	"time"

	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/sipua"
)

// incoming takes a new incoming call and applies the call policy of the
// configuration: deny, limits, forwarding, ringing and auto-answer.
func (p *Phone) incoming(sc *sipua.Call) {
	others := p.numCalls()
	c, code, wait := p.addIncoming(sc)
	if c == nil {
		p.refuse(sc, code, wait)
		return
	}
	sc.SetListener(p.listener(c))
	p.publish(c, events.CallIncoming, nil)
	go p.applyPolicy(c, others)
}

// addIncoming adds sc as a ringing call, unless the flood bounds refuse
// it (ringLimits): then it returns the code to answer with, and for 503
// how long the source should wait. A call answered at once is never
// refused: it does not ring.
func (p *Phone) addIncoming(sc *sipua.Call) (*call, int, time.Duration) {
	if delay, ok := p.autoAnswerFor(sc.Number(), sc.Header); ok && delay <= 0 {
		return p.add(sc, stateRinging), 0, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if max := p.cfg.MaxRingingCalls; max > 0 {
		ringing := 0
		for _, c := range p.calls {
			if c.direction == sipua.Incoming {
				if st, _, _, _ := c.snapshot(); st == stateRinging {
					ringing++
				}
			}
		}
		if ringing >= max {
			return nil, 486, 0
		}
	}
	if ok, wait := p.rings.allow(sc.Source(), time.Now()); !ok {
		return nil, 503, wait
	}
	return p.addLocked(sc, stateRinging), 0, 0
}

// refuse answers an incoming call the flood bounds refused, before any
// event: a flood leaves no calls, events or history behind, only a log
// line now and then and gophone_sip_responses_total.
func (p *Phone) refuse(sc *sipua.Call, code int, wait time.Duration) {
	if n, ok := p.rings.refusal(time.Now()); ok {
		p.log.Warn("incoming calls refused: too many ringing (maxRingingCalls) or from one address (maxRingRate)",
			"refused", n, "code", code, "source", sc.Source(), "number", sc.Number())
	}
	if code == 503 {
		go sc.Reject(503, "Service Unavailable", "Retry-After", strconv.Itoa(retryAfter(wait)))
		return
	}
	go sc.Reject(code, "Busy Here")
}

func (p *Phone) applyPolicy(c *call, others int) {
	cfg := p.cfg
	switch {
	case cfg.DenyIncoming == "all":
		c.sc.Reject(603, "Decline")
		return
	case cfg.DenyIncoming == "button" && cfg.DND, cfg.DND:
		c.sc.Reject(486, "Busy Here")
		return
	case cfg.MaxConcurrentCalls > 0 && others >= cfg.MaxConcurrentCalls:
		c.sc.Reject(486, "Busy Here")
		return
	case !cfg.CallWaiting && others > 0:
		c.sc.Reject(486, "Busy Here")
		return
	}
	if cfg.Forwarding == "all" && cfg.ForwardingNumber != "" && cfg.ForwardingDelay <= 0 {
		p.forward(c)
		return
	}
	if err := c.sc.Ring(); err != nil {
		p.log.Warn("sending 180 Ringing", "call", c.id, "error", err)
	} else {
		p.publish(c, events.CallRinging, nil) // the phone rings (cmdCallRing)
	}
	// A call nobody answers is given up, so INVITEs that are never
	// answered, a flood of them, cannot keep the phone ringing for ever.
	d, code, reason := unanswered(c.sc.Header("Expires"))
	c.after(d, func() {
		c.cmd.Lock()
		defer c.cmd.Unlock()
		if st, _, _, _ := c.snapshot(); st == stateRinging {
			c.sc.Reject(code, reason)
		}
	})
	if cfg.Forwarding == "all" && cfg.ForwardingNumber != "" {
		c.after(cfg.ForwardingDelay, func() {
			if st, _, _, _ := c.snapshot(); st == stateRinging {
				p.forward(c)
			}
		})
	}
	if delay, ok := p.autoAnswer(c); ok {
		answer := func() {
			if st, _, _, _ := c.snapshot(); st != stateRinging {
				return
			}
			c.cmd.Lock()
			defer c.cmd.Unlock()
			if err := c.sc.Answer(p.ctx); err != nil {
				p.log.Warn("auto-answer failed", "call", c.id, "error", err)
			}
		}
		if delay <= 0 {
			answer()
		} else {
			c.after(delay, answer)
		}
	}
}

// forward redirects a ringing call to forwardingNumber with 302.
func (p *Phone) forward(c *call) {
	target, err := sipua.ParseTarget(p.cfg.ForwardingNumber, p.cfg.Accounts[0].Domain)
	if err != nil {
		p.log.Warn("forwarding", "call", c.id, "error", err)
		c.sc.Reject(480, "Temporarily Unavailable")
		return
	}
	c.sc.Reject(302, "Moved Temporarily", "Contact", "<"+target+">")
}

// autoAnswer decides whether and after how long c is answered by itself.
func (p *Phone) autoAnswer(c *call) (time.Duration, bool) {
	return p.autoAnswerFor(c.number, c.sc.Header)
}

// autoAnswerFor decides whether and after how long a call from number,
// with the INVITE's header, is answered by itself.
func (p *Phone) autoAnswerFor(number string, header func(string) string) (time.Duration, bool) {
	// Auto-answer takes every call, also beside calls in progress, without
	// holding them: a bot or a test lab answering many lines at once wants
	// exactly that; callWaiting=0 and maxConcurrentCalls limit it.
	cfg := p.cfg
	if cfg.AutoAnswerNumber != "" && cfg.AutoAnswerNumber != number {
		return 0, false
	}
	switch cfg.AutoAnswer {
	case "all":
		return cfg.AutoAnswerDelay, true
	case "button":
		// MicroSIP's AA key is the button's state.
		return cfg.AutoAnswerDelay, cfg.AA
	case "header":
		// A local account trusts any peer (DESIGN §8).
		return headerAutoAnswer(header, cfg.AutoAnswerDelay)
	}
	return 0, false
}

// headerAutoAnswer reads X-AUTOANSWER, Call-Info answer-after and
// Answer-Mode (RFC 5373).
func headerAutoAnswer(header func(string) string, def time.Duration) (time.Duration, bool) {
	if v := strings.TrimSpace(header("X-AUTOANSWER")); strings.EqualFold(v, "true") || v == "1" {
		return def, true
	}
	if v := header("Call-Info"); v != "" {
		for _, part := range strings.Split(v, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, "answer-after") {
				if n, err := strconv.Atoi(strings.Trim(val, `"`)); err == nil && n >= 0 {
					return time.Duration(n) * time.Second, true
				}
			}
		}
	}
	if v := strings.TrimSpace(header("Answer-Mode")); strings.HasPrefix(strings.ToLower(v), "auto") {
		return def, true
	}
	return 0, false
}

// referred registers the call we place because the far end transferred us.
func (p *Phone) referred(from, sc *sipua.Call) sipua.Listener {
	c := p.add(sc, stateCalling)
	p.publish(c, events.CallOutgoing, nil)
	return p.listener(c)
}

// ringTimeout is how long an incoming call rings before it is given up
// (RFC 3261's Timer C, after which a proxy would cancel it, is 3 minutes).
const ringTimeout = 3 * time.Minute

// unanswered says how long an incoming call whose INVITE carried the
// Expires value expires may ring, and the final response it then gets:
// 487 when the INVITE expires (RFC 3261 §13.3.1), else 480 after
// ringTimeout, as baresip gives up (call_local_timeout).
func unanswered(expires string) (time.Duration, int, string) {
	if e, ok := inviteExpires(expires); ok && e <= ringTimeout {
		return e, 487, "Request Terminated"
	}
	return ringTimeout, 480, "Temporarily Unavailable"
}

// inviteExpires reads an INVITE's Expires header (delta-seconds, RFC 3261
// §20.19); ok is false when there is none or it is not a number.
func inviteExpires(v string) (time.Duration, bool) {
	secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}
