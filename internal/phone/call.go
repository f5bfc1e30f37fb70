package phone

import (
	"cmp"
	"context"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/sipua"
)

// Call states (DESIGN §5).
const (
	stateCalling     = "calling"
	stateEarly       = "early"
	stateRinging     = "ringing"
	stateEstablished = "established"
	stateEnded       = "ended"
)

// call is the phone's view of one call.
type call struct {
	id        string
	sc        *sipua.Call
	account   string
	direction sipua.Direction
	number    string
	name      string
	uri       string

	// cmd serialises commands on this call, so they run in order.
	cmd sync.Mutex

	mu         sync.Mutex
	state      string
	started    time.Time
	answered   time.Time
	ended      time.Time
	held       bool
	remoteHeld bool
	timers     []*time.Timer
	recording  string // the file being recorded, while it is
	recorded   string // the last file recorded, for the history
}

func (c *call) snapshot() (state string, held, remoteHeld bool, answered time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.held, c.remoteHeld, c.answered
}

func (c *call) setState(s string) {
	c.mu.Lock()
	c.state = s
	if s == stateEstablished && c.answered.IsZero() {
		c.answered = time.Now()
	}
	if s == stateEnded {
		c.ended = time.Now()
		for _, t := range c.timers {
			t.Stop()
		}
		c.timers = nil
	}
	c.mu.Unlock()
}

// after runs f after d unless the call ends first.
func (c *call) after(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateEnded {
		return
	}
	c.timers = append(c.timers, time.AfterFunc(d, f))
}

// add registers a new call under a fresh id.
func (p *Phone) add(sc *sipua.Call, state string) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addLocked(sc, state)
}

// addLocked is add with p.mu held.
func (p *Phone) addLocked(sc *sipua.Call, state string) *call {
	c := &call{
		sc:        sc,
		account:   cmp.Or(sc.Account(), p.cfg.Accounts[0].ID),
		direction: sc.Direction(),
		number:    sc.Number(),
		name:      sc.Name(),
		uri:       sc.RemoteURI(),
		state:     state,
		started:   time.Now(),
	}
	c.id = p.newCallID()
	p.calls[c.id] = c
	return c
}

// holdEvent names the bus event of a hold change.
func holdEvent(k sipua.EventKind) string {
	switch k {
	case sipua.EventHeld:
		return events.CallHeld
	case sipua.EventResumed:
		return events.CallResumed
	case sipua.EventRemoteHeld:
		return events.CallRemoteHeld
	}
	return events.CallRemoteResumed
}

// listener turns the SIP layer's call events into phone state and bus events.
func (p *Phone) listener(c *call) sipua.Listener {
	return func(sc *sipua.Call, ev sipua.Event) {
		switch ev.Kind {
		case sipua.EventEarly:
			c.setState(stateEarly)
			p.publish(c, events.CallEarly, nil)
		case sipua.EventRinging:
			p.publish(c, events.CallRinging, nil)
		case sipua.EventAnswered:
			if p.cfg.AutoRecording {
				if _, err := p.startRecording(c); err != nil {
					p.log.Error("autoRecording", "call", c.id, "error", err)
				}
			}
			p.publish(c, events.CallAnswered, nil)
		case sipua.EventEstablished:
			c.setState(stateEstablished)
			p.publish(c, events.CallEstablished, nil)
			if d := p.cfg.AutoHangUpTime; d > 0 {
				c.after(d, func() { c.sc.Hangup(context.Background()) })
			}
		case sipua.EventHeld, sipua.EventResumed, sipua.EventRemoteHeld, sipua.EventRemoteResumed:
			c.mu.Lock()
			switch ev.Kind {
			case sipua.EventHeld, sipua.EventResumed:
				c.held = ev.Kind == sipua.EventHeld
			default:
				c.remoteHeld = ev.Kind == sipua.EventRemoteHeld
			}
			c.mu.Unlock()
			p.publish(c, holdEvent(ev.Kind), nil)
		case sipua.EventDTMF:
			p.publish(c, events.DTMFReceived, func(e *events.Event) { e.Digit, e.Method = ev.Digit, string(ev.Method) })
		case sipua.EventEnded:
			c.mu.Lock()
			var dur int
			if !c.answered.IsZero() {
				dur = int(time.Since(c.answered).Round(time.Second) / time.Second)
			}
			c.mu.Unlock()
			c.setState(stateEnded)
			pl, rec := p.au.callEnded(sc.SIPCallID())
			p.endCallAudio(c, pl, rec)
			sent, received, lost := sc.RTPCounts()
			p.mu.Lock()
			p.ended.add(sent, received, lost)
			delete(p.calls, c.id)
			if len(p.calls) == 0 {
				p.calls = make(map[string]*call) // drop the buckets a burst grew
			}
			p.mu.Unlock()
			// Written before call.ended, so `history` after the event has it.
			p.recordCall(c, ev.Code, ev.Reason, dur)
			p.publish(c, events.CallEnded, func(e *events.Event) {
				e.Code, e.Reason, e.Duration = ev.Code, ev.Reason, &dur
			})
		}
	}
}

// findCall returns the call named by args["call"], or pick's choice.
func (p *Phone) findCall(args command.Args, pick func([]*call) *call, none string) (*call, *command.Error) {
	if id := args.String("call"); id != "" {
		p.mu.Lock()
		c, ok := p.calls[id]
		p.mu.Unlock()
		if !ok {
			return nil, command.Errorf(command.CodeNoSuchCall, "no call with id %q", id)
		}
		return c, nil
	}
	if c := pick(p.sortedCalls()); c != nil {
		return c, nil
	}
	code := command.CodeNoActiveCall
	if none == "ringing" {
		code = command.CodeNoRingingCall
	}
	return nil, command.Errorf(code, "no %s call", none)
}

// numCalls returns how many calls are live.
func (p *Phone) numCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// sortedCalls returns the live calls, oldest first.
func (p *Phone) sortedCalls() []*call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		out = append(out, c)
	}
	sortCalls(out)
	return out
}

// activeCall is the most recent established call that is not held.
func activeCall(calls []*call) *call {
	for i := len(calls) - 1; i >= 0; i-- {
		if st, held, _, _ := calls[i].snapshot(); st == stateEstablished && !held {
			return calls[i]
		}
	}
	return nil
}

// targetCall is the active call, else the newest established one, else the
// newest outgoing call still being set up (commands then wait for it).
func targetCall(calls []*call) *call {
	if c := activeCall(calls); c != nil {
		return c
	}
	for i := len(calls) - 1; i >= 0; i-- {
		if st, _, _, _ := calls[i].snapshot(); st == stateEstablished {
			return calls[i]
		}
	}
	for i := len(calls) - 1; i >= 0; i-- {
		if st, _, _, _ := calls[i].snapshot(); st == stateCalling || st == stateEarly {
			return calls[i]
		}
	}
	return nil
}

// oldestRinging is the oldest incoming call not yet answered.
func oldestRinging(calls []*call) *call {
	for _, c := range calls {
		if st, _, _, _ := c.snapshot(); st == stateRinging {
			return c
		}
	}
	return nil
}

// waitEstablished blocks until c is established, ended or the timeout passes.
func waitEstablished(ctx context.Context, c *call, args command.Args) *command.Error {
	timeout, cerr := args.Duration("timeout", defaultWait)
	if cerr != nil {
		return cerr
	}
	select {
	case <-c.sc.Established():
		return nil
	case <-c.sc.Done():
		return command.Errorf(command.CodeWrongState, "call %s ended before it was established", c.id)
	case <-time.After(timeout):
		return command.Errorf(command.CodeTimeout, "call %s was not established within %s", c.id, timeout)
	case <-ctx.Done():
		return command.Errorf(command.CodeTimeout, "call %s: %v", c.id, ctx.Err())
	}
}
