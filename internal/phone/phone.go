// Package phone is gophone's call control: it owns the calls, applies the
// call policy of the configuration, executes the command table and
// publishes what happens on the event bus.
package phone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
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

	// lines are the accounts with a server, by account id; fixed after New.
	lines map[string]*line

	mu    sync.Mutex
	calls map[string]*call // by gophone call id
	// rings bounds the incoming calls that ring (floods).
	rings  *ringLimits
	nextID int
	ended  RTPCounts // the RTP of the calls that ended
}

// RTPCounts are RTP packet totals.
type RTPCounts struct{ Sent, Received, Lost int64 }

func (a *RTPCounts) add(sent, received, lost int64) {
	a.Sent += sent
	a.Received += received
	a.Lost += lost
}

// ActiveCalls returns the number of calls in progress.
func (p *Phone) ActiveCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// RTPTotals returns the RTP packets of every call since the phone started,
// ended calls and current ones. It reads counters the calls keep anyway;
// the media path does no extra work for it.
func (p *Phone) RTPTotals() RTPCounts {
	p.mu.Lock()
	t := p.ended
	live := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		live = append(live, c)
	}
	p.mu.Unlock()
	for _, c := range live {
		t.add(c.sc.RTPCounts())
	}
	return t
}

// Option changes how New sets up the phone.
type Option func(*options)

type options struct{ sipObserver sipua.Observer }

// WithSIPObserver has o told of the SIP requests the phone handles and the
// responses it sends (for metrics).
func WithSIPObserver(o sipua.Observer) Option {
	return func(opts *options) { opts.sipObserver = o }
}

// New starts the phone's SIP user agent on cfg.Listen. Messages and call
// history go to st, which the caller closes after the phone.
func New(ctx context.Context, cfg *config.Config, bus *events.Bus, st *store.Store, log *slog.Logger, opts ...Option) (*Phone, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
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
		rings: newRingLimits(cfg.MaxRingRate),
	}
	p.ctx, p.cancel = context.WithCancel(ctx)
	// Before any call can start one: recordings a crash cut short get
	// headers that describe all their audio.
	p.repairRecordings()
	acc := cfg.Accounts[0]
	uacfg := sipua.Config{
		Listen:        cfg.Listen,
		TLSListen:     tlsListen(cfg),
		DNSServer:     cfg.DNSServer,
		TLSCAFiles:    tlsCAFiles(cfg),
		TLSHosts:      tlsHosts(cfg, log),
		UserAgent:     cfg.UserAgent,
		Username:      acc.Username,
		DisplayName:   acc.DisplayName,
		Codecs:        acc.Codecs,
		AccountCodecs: accountCodecs(cfg),
		DTMFMethod:    sipua.DTMFMethod(cfg.DTMFMethod),
		RTPPortMin:    cfg.RTPPortMin,
		RTPPortMax:    cfg.RTPPortMax,
		Media:         au,
		OnIncoming:    p.incoming,
		OnReferred:    p.referred,
		Route:         p.route,
		SRTP:          p.accountSRTP,
		Logger:        log,
		Observer:      o.sipObserver,
	}
	if !cfg.DisableMessaging {
		uacfg.Messages = p
		uacfg.MaxMessageBytes = store.MaxText
	}
	warnSRTP(cfg, log)
	ua, err := sipua.Start(p.ctx, uacfg)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.ua = ua
	if err := p.startLines(); err != nil {
		ua.Close()
		p.cancel()
		return nil, err
	}
	return p, nil
}

// tlsListen is the TLS listen address: tlsListen, else, when an account
// uses transport tls, the listen host on the port after listen's.
func tlsListen(cfg *config.Config) string {
	if cfg.TLSListen != "" {
		return cfg.TLSListen
	}
	for _, a := range cfg.Accounts {
		if !a.Local() && a.Transport == "tls" {
			host, port, err := net.SplitHostPort(cfg.Listen)
			if n, perr := strconv.Atoi(port); err == nil && perr == nil && n > 0 {
				return net.JoinHostPort(host, strconv.Itoa(n+1))
			}
		}
	}
	return ""
}

// tlsHosts maps the servers of accounts over TLS (or, with a TLS
// listener, over the transport DNS chooses) to whether they are insecure
// (their certificates not verified), and warns about those.
func tlsHosts(cfg *config.Config, log *slog.Logger) map[string]bool {
	hosts := map[string]bool{}
	for _, a := range cfg.Accounts {
		if a.Local() || (a.Transport != "tls" && (a.Transport != "" || cfg.TLSListen == "")) {
			continue
		}
		host := uaAccount(a).NextHopHost()
		if a.Insecure {
			log.Warn("insecure: the TLS certificate of this account's server is not verified", "account", a.ID, "server", host)
		}
		hosts[host] = hosts[host] || a.Insecure
	}
	return hosts
}

// tlsCAFiles lists the accounts' tlsCAFile settings.
func tlsCAFiles(cfg *config.Config) []string {
	var files []string
	for _, a := range cfg.Accounts {
		if a.TLSCAFile != "" && !slices.Contains(files, a.TLSCAFile) {
			files = append(files, a.TLSCAFile)
		}
	}
	return files
}

// Close hangs up every call, unregisters every account and stops the user
// agent.
func (p *Phone) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	p.stopLines(ctx)
	err := p.ua.Close()
	p.cancel()
	p.au.close()
	return err
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

// errf wraps a failure of the SIP layer as a command error. With code "",
// the code follows from err: a SIP error response is sip_error, a call in
// the wrong state for the command is wrong_state, a call that cannot carry
// what was asked (a DTMF method) is unsupported, a cancelled or expired wait
// is timeout; only what nobody can act on is internal.
func errf(code string, err error, format string, a ...any) *command.Error {
	msg := fmt.Sprintf(format, a...)
	if err != nil {
		msg += ": " + err.Error()
	}
	if code == "" {
		code = errCode(err)
	}
	return &command.Error{Code: code, Message: msg}
}

func errCode(err error) string {
	var re *sipua.ResponseError
	switch {
	case errors.As(err, &re):
		return command.CodeSIPError
	case errors.Is(err, sipua.ErrNotEstablished), errors.Is(err, sipua.ErrCallEnded),
		errors.Is(err, sipua.ErrAnswered), errors.Is(err, sipua.ErrNotIncoming):
		return command.CodeWrongState
	case errors.Is(err, sipua.ErrNoTelephoneEvent), errors.Is(err, sipua.ErrNoAudio), errors.Is(err, sipua.ErrSRTPRequired):
		return command.CodeUnsupported
	case errors.Is(err, sipua.ErrServerNotFound):
		return command.CodeUnavailable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return command.CodeTimeout
	}
	return command.CodeInternal
}
