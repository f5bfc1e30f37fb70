// Package phone is gophone's call control: it owns the calls, applies the
// call policy of the configuration, executes the command table and
// publishes what happens on the event bus.
package phone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/sipua"
	"github.com/gophone/gophone/internal/store"
)

// defaultWait is how long commands wait for a call to be established.
const defaultWait = 30 * time.Second

// Phone is a running softphone.
type Phone struct {
	cfg *config.Config
	bus *events.Bus
	log *slog.Logger
	ua  *sipua.UA
	au  *audioState
	// store keeps messages and call history.
	store *store.Store

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	calls  map[string]*call // by gophone call id
	nextID int
}

// New starts the phone's SIP user agent on cfg.Listen. Messages and call
// history go to st, which the caller closes after the phone.
func New(ctx context.Context, cfg *config.Config, bus *events.Bus, st *store.Store, log *slog.Logger) (*Phone, error) {
	if log == nil {
		log = slog.Default()
	}
	au, err := newAudioState(cfg)
	if err != nil {
		return nil, err
	}
	p := &Phone{
		cfg:   cfg,
		bus:   bus,
		log:   log,
		au:    au,
		store: st,
		calls: make(map[string]*call),
	}
	p.ctx, p.cancel = context.WithCancel(ctx)
	acc := cfg.Accounts[0]
	uacfg := sipua.Config{
		Listen:      cfg.Listen,
		UserAgent:   cfg.UserAgent,
		Username:    acc.Username,
		DisplayName: acc.DisplayName,
		Codecs:      audioCodecs(acc.Codecs),
		RTPPortMin:  cfg.RTPPortMin,
		RTPPortMax:  cfg.RTPPortMax,
		Media:       au,
		OnIncoming:  p.incoming,
		OnReferred:  p.referred,
		Logger:      log,
	}
	if !cfg.DisableMessaging {
		uacfg.Messages = p
		uacfg.MaxMessageBytes = store.MaxText
	}
	ua, err := sipua.Start(p.ctx, uacfg)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.ua = ua
	return p, nil
}

func audioCodecs(codecs []string) []string {
	var out []string
	for _, c := range codecs {
		if c == "PCMU" || c == "PCMA" {
			out = append(out, c)
		}
	}
	return out
}

// Close hangs up every call and stops the user agent.
func (p *Phone) Close() error {
	err := p.ua.Close()
	p.cancel()
	p.au.close()
	return err
}

// Do executes one command of the command table. Errors are *command.Error.
func (p *Phone) Do(ctx context.Context, name string, args command.Args) (any, error) {
	spec, ok := command.Lookup(name)
	if !ok {
		return nil, command.Errorf(command.CodeUnknownCommand, "unknown command %q", name)
	}
	if err := spec.Validate(args); err != nil {
		return nil, err
	}
	spec.Normalize(args)
	switch spec.Name {
	case "Dial":
		return p.dial(ctx, args, true)
	case "CallTo":
		return p.dial(ctx, args, false)
	case "Hangup":
		return p.hangup(ctx, args)
	case "Answer":
		return p.answer(ctx, args)
	case "Reject":
		return p.reject(args)
	case "Hold":
		return p.hold(ctx, args)
	case "Transfer":
		return p.transfer(ctx, args)
	case "SendDTMF":
		return p.sendDTMF(ctx, args)
	case "Mute":
		return p.au.mute(args.String("state"))
	case "VolumeUp", "VolumeDown", "SetVolume":
		return p.au.setVolume(spec.Name, args, false)
	case "MicUp", "MicDown", "SetMicVolume":
		return p.au.setVolume(spec.Name, args, true)
	case "SetDevice":
		return p.setDevice(args)
	case "Devices":
		return devices(), nil
	case "Status":
		return p.Status(), nil
	case "Accounts":
		return p.Status().Accounts, nil
	case "Message":
		return p.sendMessage(ctx, args)
	case "Messages":
		return p.messages(ctx, args)
	case "History":
		return p.history(ctx, args)
	case "Register", "Unregister":
		return nil, command.Errorf(command.CodeUnavailable, "%s: accounts with a server are not supported yet", spec.Name)
	}
	return nil, command.Errorf(command.CodeUnknownCommand, "%s is not handled by the phone", spec.Name)
}

// publish sends a call event on the bus with the call's identity fields.
func (p *Phone) publish(c *call, typ string, f func(e *events.Event)) {
	e := events.Event{
		Type:      typ,
		Call:      c.id,
		Account:   c.account,
		Number:    c.number,
		Name:      c.name,
		URI:       c.uri,
		Direction: string(c.direction),
	}
	if f != nil {
		f(&e)
	}
	p.bus.Publish(e)
}

func (p *Phone) newCallID() string {
	p.nextID++
	return strconv.Itoa(p.nextID)
}

// errf wraps a failure of the SIP layer as a command error.
func errf(code string, err error, format string, a ...any) *command.Error {
	msg := fmt.Sprintf(format, a...)
	if err != nil {
		msg += ": " + err.Error()
	}
	var re *sipua.ResponseError
	if errors.As(err, &re) && code == "" {
		code = command.CodeSIPError
	}
	if code == "" {
		code = command.CodeInternal
	}
	return &command.Error{Code: code, Message: msg}
}
