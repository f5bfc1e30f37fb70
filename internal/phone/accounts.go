package phone

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/sipua"
)

// line is the phone's view of one account with a server: its registration
// and the last state it reported.
type line struct {
	acc config.Account
	ua  sipua.Account

	mu    sync.Mutex
	reg   *sipua.Registration // nil while unregistered by command
	state sipua.RegState
}

func (l *line) snapshot() sipua.RegState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// uaAccount is acc as the user agent needs it.
func uaAccount(acc config.Account) sipua.Account {
	return sipua.Account{
		ID: acc.ID, Username: acc.Username, AuthID: acc.AuthID, Password: acc.Password,
		DisplayName: acc.DisplayName, Domain: acc.Domain, Server: acc.Server, Proxy: acc.Proxy,
		Transport: acc.Transport, KeepAlive: acc.KeepAlive,
	}
}

// startLines registers every account that has a server, except those
// whose password gophone cannot know (MicroSIP's encrypted one).
func (p *Phone) startLines() error {
	p.lines = make(map[string]*line)
	for _, acc := range p.cfg.Accounts {
		if acc.Local() || acc.NeedsPassword {
			continue
		}
		l := &line{acc: acc, ua: uaAccount(acc), state: sipua.RegState{State: sipua.RegUnregistered}}
		p.lines[acc.ID] = l
		if err := p.startRegistration(l); err != nil {
			return err
		}
	}
	return nil
}

func (p *Phone) startRegistration(l *line) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reg != nil {
		l.reg.Refresh()
		return nil
	}
	reg, err := p.ua.Register(l.ua, l.acc.RegisterRefresh, func(st sipua.RegState) { p.regState(l, st) })
	if err != nil {
		return err
	}
	l.reg = reg
	return nil
}

// regState records a registration's new state and publishes what changed:
// registration.ok when it becomes registered, registration.failed on every
// failure, registration.unregistered when it ends.
func (p *Phone) regState(l *line, st sipua.RegState) {
	l.mu.Lock()
	prev := l.state.State
	if st.State == sipua.RegRegistering && prev != sipua.RegUnregistered {
		// A refresh or retry in flight: the account keeps the state
		// (registered, failed) it is in until the answer comes.
		l.mu.Unlock()
		return
	}
	l.state = st
	l.mu.Unlock()
	e := events.Event{Account: l.acc.ID, Code: st.Code, Reason: st.Reason}
	switch {
	case st.State == sipua.RegRegistered && prev != sipua.RegRegistered:
		e.Type = events.RegistrationOK
	case st.State == sipua.RegFailed:
		e.Type = events.RegistrationFailed
	case st.State == sipua.RegUnregistered && prev != sipua.RegUnregistered:
		e.Type = events.RegistrationUnregistered
	default:
		return
	}
	p.bus.Publish(e)
}

// stopLines unregisters every account that is registered.
func (p *Phone) stopLines(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range p.lines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stopRegistration(ctx, l)
		}()
	}
	wg.Wait()
}

func (p *Phone) stopRegistration(ctx context.Context, l *line) error {
	l.mu.Lock()
	reg := l.reg
	l.reg = nil
	l.mu.Unlock()
	if reg == nil {
		return nil
	}
	return reg.Stop(ctx)
}

// linesFor returns the lines args' account names, or every line.
func (p *Phone) linesFor(args command.Args) ([]*line, *command.Error) {
	id := args.String("account")
	if id == "" {
		var out []*line
		for _, acc := range p.cfg.Accounts {
			if l := p.lines[acc.ID]; l != nil {
				out = append(out, l)
			}
		}
		return out, nil
	}
	ai, cerr := p.account(args)
	if cerr != nil {
		return nil, cerr
	}
	l := p.lines[p.cfg.Accounts[ai].ID]
	if l == nil {
		return nil, command.Errorf(command.CodeBadArgs, "account %s has no server to register with", id)
	}
	return []*line{l}, nil
}

// Register registers the named account (every account with a server when
// none is named) now: a running registration is refreshed at once, a
// stopped one started again.
func (p *Phone) Register(_ context.Context, args command.Args) (any, error) {
	lines, cerr := p.linesFor(args)
	if cerr != nil {
		return nil, cerr
	}
	ids := []string{}
	for _, l := range lines {
		if err := p.startRegistration(l); err != nil {
			return nil, errf(command.CodeInternal, err, "registering account %s", l.acc.ID)
		}
		ids = append(ids, l.acc.ID)
	}
	return map[string][]string{"accounts": ids}, nil
}

// Unregister removes the named account's registration (every account's
// when none is named) and stops refreshing it until Register.
func (p *Phone) Unregister(ctx context.Context, args command.Args) (any, error) {
	lines, cerr := p.linesFor(args)
	if cerr != nil {
		return nil, cerr
	}
	ids := []string{}
	for _, l := range lines {
		if err := p.stopRegistration(ctx, l); err != nil {
			return nil, errf("", err, "unregistering account %s", l.acc.ID)
		}
		ids = append(ids, l.acc.ID)
	}
	return map[string][]string{"accounts": ids}, nil
}

// route attributes an incoming call to the account whose user it is for:
// the Request-URI's user (a registrar rewrites it to our Contact, which
// carries the account's user), else To's. A call for no account goes to
// the first local account; with none, it is refused (404).
func (p *Phone) route(requestUser, toUser string) (string, bool) {
	for _, user := range []string{requestUser, toUser} {
		if user == "" {
			continue
		}
		for _, acc := range p.cfg.Accounts {
			if !acc.Local() && acc.Username == user {
				return acc.ID, true
			}
		}
	}
	for _, acc := range p.cfg.Accounts {
		if acc.Local() {
			return acc.ID, true
		}
	}
	return "", false
}

// address is acc's user and host: its username (else "gophone") at its
// domain (else the address the phone listens on).
func (p *Phone) address(acc config.Account) (user, host string) {
	user, host = acc.Username, acc.Domain
	if host == "" {
		host = p.ua.Addr()
	}
	if user == "" {
		user = "gophone"
	}
	return user, host
}

// accountStatus describes acc for Status and Accounts.
func (p *Phone) accountStatus(acc config.Account) AccountStatus {
	user, host := p.address(acc)
	as := AccountStatus{ID: acc.ID, Label: acc.Label, AOR: user + "@" + host, State: "local"}
	if acc.NeedsPassword {
		as.State, as.NeedsPassword = "needs-password", true
		as.Error = "the configuration holds MicroSIP's encrypted password; give it as password=, passwordFile= or $GOPHONE_ACCOUNT" + acc.ID + "_PASSWORD"
		return as
	}
	l := p.lines[acc.ID]
	if l == nil {
		return as
	}
	st := l.snapshot()
	as.State = st.State
	switch st.State {
	case sipua.RegRegistered:
		as.Registered = true
		as.Expires = int(st.Expires / time.Second)
	case sipua.RegFailed:
		as.Error = st.Reason
		if st.Code != 0 {
			as.Error = strconv.Itoa(st.Code) + " " + st.Reason
		}
		as.Code = st.Code
	}
	return as
}

// accountCodecs maps each account's id to its codec list (codecs, else
// audioCodecs), so that a call answers with the codecs of the account it
// is for.
func accountCodecs(cfg *config.Config) map[string][]string {
	m := make(map[string][]string, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		m[a.ID] = a.Codecs
	}
	return m
}
