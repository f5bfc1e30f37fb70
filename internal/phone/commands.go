package phone

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/sipua"
)

func sortCalls(calls []*call) {
	sort.Slice(calls, func(i, j int) bool {
		if !calls[i].started.Equal(calls[j].started) {
			return calls[i].started.Before(calls[j].started)
		}
		return len(calls[i].id) < len(calls[j].id) || len(calls[i].id) == len(calls[j].id) && calls[i].id < calls[j].id
	})
}

// DialResult is the result of Dial and CallTo.
type DialResult struct {
	Call      string `json:"call"`
	SIPCallID string `json:"sipCallId"`
	URI       string `json:"uri"`
	// Digits are the digits sent once the call is answered (a dial
	// string NUMBER,DIGITS), with their pauses.
	Digits string `json:"digits,omitempty"`
}

func (p *Phone) account(args command.Args) (int, *command.Error) {
	id := args.String("account")
	if id == "" {
		return 0, nil
	}
	for i, a := range p.cfg.Accounts {
		if a.ID == id {
			return i, nil
		}
	}
	// Else the account whose user (number) or label it is.
	for i, a := range p.cfg.Accounts {
		if a.Username == id || a.Label == id && a.Label != "" {
			return i, nil
		}
	}
	return 0, command.Errorf(command.CodeNoSuchAccount, "no account %q", id)
}

// accountByID returns the account with id, else the default account.
func (p *Phone) accountByID(id string) config.Account {
	for _, a := range p.cfg.Accounts {
		if a.ID == id {
			return a
		}
	}
	return p.cfg.Accounts[0]
}

// Dial places a call to args' number on args' account. With holdActive, the
// active call is held first (Dial); without, it is left as it is (CallTo).
func (p *Phone) Dial(ctx context.Context, args command.Args, holdActive bool) (any, error) {
	ai, cerr := p.account(args)
	if cerr != nil {
		return nil, cerr
	}
	acc := p.cfg.Accounts[ai]
	number, digits := splitPostDial(args.String("number"))
	if digits != "" {
		if err := sipua.ValidDTMF(digits); err != nil {
			return nil, command.Errorf(command.CodeBadArgs, "digits after the number: %v", err)
		}
	}
	target, err := sipua.ParseTarget(number, acc.Domain)
	if err != nil {
		return nil, command.Errorf(command.CodeBadArgs, "%v", err)
	}
	if max := p.cfg.MaxConcurrentCalls; max > 0 && p.numCalls() >= max {
		return nil, command.Errorf(command.CodeBusy, "already %d calls (maxConcurrentCalls)", max)
	}
	if holdActive {
		if c := activeCall(p.sortedCalls()); c != nil {
			c.cmd.Lock()
			err := c.sc.Hold(ctx, true)
			c.cmd.Unlock()
			if err != nil {
				return nil, errf("", err, "holding call %s before dialing", c.id)
			}
		}
	}
	var c *call
	ready := make(chan struct{})
	opts := sipua.DialOptions{Listener: func(sc *sipua.Call, ev sipua.Event) {
		<-ready
		p.listener(c)(sc, ev)
	}, SRTP: srtpPolicy(acc), Codecs: acc.Codecs}
	if l := p.lines[acc.ID]; l != nil {
		opts.Account = &l.ua
	}
	sc, err := p.ua.Dial(p.ctx, target, opts)
	if err != nil {
		// SRTP the transport cannot carry, a server DNS does not know;
		// else a target the agent could not dial.
		code := errCode(err)
		if code == command.CodeInternal {
			code = command.CodeBadArgs
		}
		return nil, errf(code, err, "dialing %s", target)
	}
	c = p.add(sc, stateCalling)
	c.account = acc.ID
	p.publish(c, events.CallOutgoing, nil)
	close(ready)
	if digits != "" {
		go p.postDial(c, digits)
	}
	return DialResult{Call: c.id, SIPCallID: sc.SIPCallID(), URI: target, Digits: digits}, nil
}

// Hangup ends the named call, else the active one, else the newest; with
// --all every call (or those --filter names).
func (p *Phone) Hangup(ctx context.Context, args command.Args) (any, error) {
	if args.Bool("all") {
		filter := args.String("filter")
		n := 0
		for _, c := range p.sortedCalls() {
			st, _, _, _ := c.snapshot()
			switch filter {
			case "incoming":
				if c.direction != sipua.Incoming || st != stateRinging {
					continue
				}
			case "outgoing":
				if c.direction != sipua.Outgoing || (st != stateCalling && st != stateEarly) {
					continue
				}
			}
			c.sc.Hangup(ctx)
			n++
		}
		return map[string]int{"ended": n}, nil
	}
	c, cerr := p.findCall(args, func(calls []*call) *call {
		if c := activeCall(calls); c != nil {
			return c
		}
		if len(calls) > 0 {
			return calls[len(calls)-1]
		}
		return nil
	}, "active")
	if cerr != nil {
		return nil, cerr
	}
	c.cmd.Lock()
	defer c.cmd.Unlock()
	if err := c.sc.Hangup(ctx); err != nil {
		return nil, errf("", err, "hanging up call %s", c.id)
	}
	return map[string]string{"call": c.id}, nil
}

// Answer answers the named ringing call, else the oldest one, holding the
// active call first.
func (p *Phone) Answer(ctx context.Context, args command.Args) (any, error) {
	c, cerr := p.findCall(args, oldestRinging, "ringing")
	if cerr != nil {
		return nil, cerr
	}
	if st, _, _, _ := c.snapshot(); st != stateRinging {
		return nil, command.Errorf(command.CodeWrongState, "call %s is %s, not ringing", c.id, st)
	}
	// Call waiting: the active call is held before the new one is answered.
	if a := activeCall(p.sortedCalls()); a != nil && a != c {
		a.cmd.Lock()
		err := a.sc.Hold(ctx, true)
		a.cmd.Unlock()
		if err != nil {
			return nil, errf("", err, "holding call %s before answering", a.id)
		}
	}
	c.cmd.Lock()
	defer c.cmd.Unlock()
	if err := c.sc.Answer(ctx); err != nil {
		return nil, errf("", err, "answering call %s", c.id)
	}
	return map[string]string{"call": c.id}, nil
}

// Reject turns the named ringing call, else the oldest one, away with 486
// (603 with --decline).
func (p *Phone) Reject(_ context.Context, args command.Args) (any, error) {
	c, cerr := p.findCall(args, oldestRinging, "ringing")
	if cerr != nil {
		return nil, cerr
	}
	if st, _, _, _ := c.snapshot(); st != stateRinging {
		return nil, command.Errorf(command.CodeWrongState, "call %s is %s, not ringing", c.id, st)
	}
	code, reason := 486, "Busy Here"
	if args.Bool("decline") {
		code, reason = 603, "Decline"
	}
	c.cmd.Lock()
	defer c.cmd.Unlock()
	if err := c.sc.Reject(code, reason); err != nil {
		return nil, errf("", err, "rejecting call %s", c.id)
	}
	return map[string]any{"call": c.id, "code": code}, nil
}

// Hold toggles hold on the named call, else the active one (or resumes the
// newest held call when none is active).
func (p *Phone) Hold(ctx context.Context, args command.Args) (any, error) {
	c, cerr := p.findCall(args, func(calls []*call) *call {
		if c := activeCall(calls); c != nil {
			return c
		}
		// Hold toggles: with no active call, resume the newest held one.
		for i := len(calls) - 1; i >= 0; i-- {
			if st, held, _, _ := calls[i].snapshot(); st == stateEstablished && held {
				return calls[i]
			}
		}
		return nil
	}, "active")
	if cerr != nil {
		return nil, cerr
	}
	c.cmd.Lock()
	defer c.cmd.Unlock()
	st, held, _, _ := c.snapshot()
	if st != stateEstablished {
		return nil, command.Errorf(command.CodeWrongState, "call %s is %s, not established", c.id, st)
	}
	if err := c.sc.Hold(ctx, !held); err != nil {
		return nil, errf("", err, "hold on call %s", c.id)
	}
	return map[string]any{"call": c.id, "held": !held}, nil
}

// TransferResult is the outcome of a blind transfer.
type TransferResult struct {
	Call    string `json:"call"`
	Target  string `json:"target"`
	Code    int    `json:"code"`
	Outcome string `json:"outcome"`
}

// establishedCall finds the call a SendDTMF or Transfer is for, takes its
// command lock (release it with c.cmd.Unlock) and waits until it is
// established.
func (p *Phone) establishedCall(ctx context.Context, args command.Args) (*call, *command.Error) {
	c, cerr := p.findCall(args, targetCall, "active")
	if cerr != nil {
		return nil, cerr
	}
	c.cmd.Lock()
	if cerr := waitEstablished(ctx, c, args); cerr != nil {
		c.cmd.Unlock()
		return nil, cerr
	}
	return c, nil
}

// Transfer blind-transfers the call (REFER) and replies with the outcome
// of the final NOTIFY.
func (p *Phone) Transfer(ctx context.Context, args command.Args) (any, error) {
	c, cerr := p.establishedCall(ctx, args)
	if cerr != nil {
		return nil, cerr
	}
	defer c.cmd.Unlock()
	target, err := sipua.ParseTarget(args.String("number"), p.accountByID(c.account).Domain)
	if err != nil {
		return nil, command.Errorf(command.CodeBadArgs, "%v", err)
	}
	timeout, cerr := args.Duration("timeout", defaultWait)
	if cerr != nil {
		return nil, cerr
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, err := c.sc.Transfer(tctx, target)
	res := TransferResult{Call: c.id, Target: target, Code: code}
	if err != nil {
		res.Outcome = err.Error()
		p.publish(c, events.CallTransfer, func(e *events.Event) { e.Target, e.Outcome = target, res.Outcome })
		return nil, errf("", err, "transferring call %s to %s", c.id, target)
	}
	res.Outcome = sipOutcome(code)
	p.publish(c, events.CallTransfer, func(e *events.Event) { e.Target, e.Outcome, e.Code = target, res.Outcome, code })
	if code >= 200 && code < 300 {
		// RFC 5589 §6: the transferor ends its call once the transfer worked.
		c.sc.Hangup(ctx)
		return res, nil
	}
	return nil, command.Errorf(command.CodeSIPError, "transfer of call %s to %s failed: %s", c.id, target, res.Outcome)
}

func sipOutcome(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "success"
	case code == 0:
		return "unknown"
	}
	return "failed: " + itoa(code)
}

func itoa(n int) string { return strconv.Itoa(n) }

// SendDTMF sends digits on the call once it is established.
func (p *Phone) SendDTMF(ctx context.Context, args command.Args) (any, error) {
	digits := args.String("digits")
	if err := sipua.ValidDTMF(digits); err != nil {
		return nil, command.Errorf(command.CodeBadArgs, "SendDTMF: %v", err)
	}
	c, cerr := p.establishedCall(ctx, args)
	if cerr != nil {
		return nil, cerr
	}
	defer c.cmd.Unlock()
	pause := p.cfg.DTMFPause
	if pause <= 0 {
		pause = 500 * time.Millisecond
	}
	if err := c.sc.SendDTMF(ctx, digits, pause); err != nil {
		return nil, errf("", err, "sending DTMF on call %s by DTMFMethod=%s", c.id, p.cfg.DTMFMethod)
	}
	return map[string]string{"call": c.id, "digits": digits}, nil
}
