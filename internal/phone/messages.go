package phone

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/sipua"
	"github.com/gophone/gophone/internal/store"
)

// storeWait bounds a history or outcome write; not the phone's context,
// which Close cancels while the calls it hangs up are still being written.
const storeWait = 10 * time.Second

// MessageResult is the result of Message: the far end answered 2xx.
type MessageResult struct {
	Status string `json:"status"` // "sent"
	ID     int64  `json:"id"`     // the message's id in `messages`
	To     string `json:"to"`     // the target URI
}

// StoreMessage commits a received MESSAGE before it is answered
// (sipua.MessageHandler).
func (p *Phone) StoreMessage(ctx context.Context, m *sipua.Message) (bool, error) {
	return p.store.AddIncoming(ctx, &store.Message{
		Peer: peerOf(m.Number, m.URI), PeerURI: m.URI, Text: m.Text, Account: p.cfg.Accounts[0].ID,
		CallID: m.CallID, CSeq: m.CSeq, FromTag: m.FromTag,
	})
}

// MessageReceived publishes message.received once the 2xx is out.
func (p *Phone) MessageReceived(m *sipua.Message) {
	p.bus.Publish(events.Event{Type: events.MessageReceived, Account: p.cfg.Accounts[0].ID,
		Peer: peerOf(m.Number, m.URI), Number: m.Number, Name: m.Name, URI: m.URI, Text: m.Text})
}

// peerOf is the peer a message is filed under: its number, else its URI.
func peerOf(number, uri string) string {
	if number != "" {
		return number
	}
	return uri
}

// SendMessage is the Message command: it stores the message, sends it and
// replies with the outcome (DESIGN §2).
func (p *Phone) SendMessage(ctx context.Context, args command.Args) (any, error) {
	if p.store == nil {
		return nil, command.Errorf(command.CodeUnavailable, "Message: no message store")
	}
	ai, cerr := p.account(args)
	if cerr != nil {
		return nil, cerr
	}
	acc := p.cfg.Accounts[ai]
	target, err := sipua.ParseTarget(args.String("to"), acc.Domain)
	if err != nil {
		return nil, command.Errorf(command.CodeBadArgs, "%v", err)
	}
	text := args.String("text")
	switch {
	case len(text) > store.MaxText:
		return nil, command.Errorf(command.CodeBadArgs, "Message: text is %d bytes, over the %d a message may have", len(text), store.MaxText)
	case !utf8.ValidString(text):
		return nil, command.Errorf(command.CodeBadArgs, "Message: text is not valid UTF-8")
	}
	m := &store.Message{Peer: peerOf(sipua.URINumber(target), target), PeerURI: target, Text: text, Account: acc.ID, Time: time.Now()}
	if err := p.store.AddOutgoing(ctx, m); err != nil {
		return nil, command.Errorf(command.CodeUnavailable, "Message: not sent, it could not be stored: %v", err)
	}
	user, host := p.address(acc)
	var via *sipua.Account // an account with a server: through it, with its credentials
	if l := p.lines[acc.ID]; l != nil {
		via = &l.ua
	}
	callID, err := p.ua.SendMessage(p.ctx, target, text, sipua.From{User: user, Host: host, DisplayName: acc.DisplayName}, via)
	m.CallID = callID
	code, reason := 200, "OK"
	var re *sipua.ResponseError
	switch {
	case errors.As(err, &re):
		code, reason = re.Code, re.Reason
	case errors.Is(err, sipua.ErrMessageTooLarge):
		p.setOutcome(m, store.StatusFailed, 0, "too large for UDP")
		return nil, command.Errorf(command.CodeBadArgs, "Message: %v", err)
	case err != nil:
		p.setOutcome(m, store.StatusFailed, 0, err.Error())
		return nil, command.Errorf(command.CodeUnavailable, "Message: %v", err)
	}
	e := events.Event{Type: events.MessageSent, Account: acc.ID, Peer: m.Peer, URI: target, Text: text, Code: code, Reason: reason}
	if code >= 300 {
		p.setOutcome(m, store.StatusFailed, code, reason)
		e.Type = events.MessageFailed
		p.bus.Publish(e)
		return nil, command.Errorf(command.CodeSIPError, "failed: %d %s", code, reason)
	}
	p.setOutcome(m, store.StatusSent, code, reason)
	p.bus.Publish(e)
	return MessageResult{Status: store.StatusSent, ID: m.ID, To: target}, nil
}

func (p *Phone) setOutcome(m *store.Message, status string, code int, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	if err := p.store.SetOutcome(ctx, m.ID, status, code, reason); err != nil {
		p.log.Error("storing a message's outcome", "id", m.ID, "status", status, "error", err)
	}
}

// Messages is the Messages command: stored messages, oldest first.
func (p *Phone) Messages(ctx context.Context, args command.Args) (any, error) {
	if p.store == nil {
		return nil, command.Errorf(command.CodeUnavailable, "Messages: no message store")
	}
	limit, _ := args.Int("limit")
	msgs, err := p.store.Messages(ctx, args.String("with"), limit)
	if err != nil {
		return nil, command.Errorf(command.CodeUnavailable, "Messages: reading %s: %v", p.store.Path(), err)
	}
	return msgs, nil
}

// History is the History command: finished calls, newest first.
func (p *Phone) History(ctx context.Context, args command.Args) (any, error) {
	if p.store == nil {
		return nil, command.Errorf(command.CodeUnavailable, "History: no call history store")
	}
	limit, _ := args.Int("limit")
	calls, err := p.store.Calls(ctx, args.String("number"), limit)
	if err != nil {
		return nil, command.Errorf(command.CodeUnavailable, "History: reading %s: %v", p.store.Path(), err)
	}
	return calls, nil
}

// recordCall writes a finished call to the history.
func (p *Phone) recordCall(c *call, code int, reason string, duration int) {
	if p.store == nil {
		return
	}
	c.mu.Lock()
	rec := &store.Call{Direction: string(c.direction), Number: c.number, Name: c.name, Account: c.account,
		SIPCallID: c.sc.SIPCallID(), Started: c.started, Ended: c.ended, Duration: duration, Code: code, Reason: reason,
		Recording: c.recorded}
	if !c.answered.IsZero() {
		a := c.answered
		rec.Answered = &a
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	if err := p.store.AddCall(ctx, rec); err != nil {
		p.log.Error("storing a call in the history", "call", c.id, "error", err)
	}
}
