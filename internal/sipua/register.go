package sipua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Registration states.
const (
	RegRegistering  = "registering"
	RegRegistered   = "registered"
	RegFailed       = "failed"
	RegUnregistered = "unregistered"
)

// RegState is where a registration stands.
type RegState struct {
	State string
	// Code and Reason are the last final response's (0 and the error text
	// when no response came, e.g. a timeout).
	Code   int
	Reason string
	// Expires is the registration lifetime the registrar granted.
	Expires time.Duration
	// Retry is when the next attempt after a failure goes out.
	Retry time.Time
}

// Backoff after a failed registration: the first retry after
// backoffBase, doubling up to backoffMax, each delay lengthened by up to
// a quarter at random so that phones that failed together do not retry
// together.
const (
	backoffBase = 5 * time.Second
	backoffMax  = 5 * time.Minute
)

func backoff(failures int) time.Duration {
	d := backoffBase
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d + rand.N(d/4+1)
}

// Registration keeps one account registered: it registers, refreshes
// before the registration expires, retries failures with backoff, and
// unregisters on Stop. All its REGISTERs go out from one goroutine, so a
// refresh never crosses an unregister.
type Registration struct {
	u       *UA
	expires time.Duration
	onState func(RegState)
	// acc (with where DNS found its server) and client change only in the
	// loop's goroutine, under mu; others read them with account and
	// accountClientFor.
	acc    Account
	client *sipgo.Client

	callID  string
	fromTag string
	cseq    uint32
	contact sip.ContactHeader // guarded by mu: calls read it

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	state RegState
}

// Register starts keeping acc registered with the given expiry, and
// calls onState (from its own goroutine, in order) on every change.
func (u *UA) Register(acc Account, expires time.Duration, onState func(RegState)) (*Registration, error) {
	if acc.Server == "" {
		return nil, errors.New("the account has no server")
	}
	if acc.transport() == "tls" && u.tlsPort == 0 {
		return nil, errors.New("transport tls needs a TLS listener (tlsListen)")
	}
	if expires <= 0 {
		expires = 300 * time.Second
	}
	client, err := u.accountClient(acc)
	if err != nil {
		return nil, err
	}
	r := &Registration{
		u: u, acc: acc, expires: expires, onState: onState, client: client,
		callID:  sip.GenerateTagN(24),
		fromTag: sip.GenerateTagN(16),
		cseq:    uint32(rand.N(1 << 15)),
		contact: u.contact(acc),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(u.ctx)
	r.cancel = cancel
	u.mu.Lock()
	u.regs[acc.ID] = r
	u.mu.Unlock()
	go r.loop(ctx)
	if acc.KeepAlive > 0 {
		go r.keepAlive(ctx, acc.KeepAlive)
	}
	return r, nil
}

// Contact returns the Contact the account registers, which its calls use
// too.
func (r *Registration) Contact() *sip.ContactHeader {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.contact.Clone()
}

// learnContact takes the address a UDP registrar saw our REGISTER come
// from (Via received and rport, RFC 3581) as our Contact when it differs:
// we are behind a NAT, and requests to the address we had put in
// Contact would not reach us. It reports whether the Contact changed.
// Over TCP and TLS the source port is the connection's, not a port we
// listen on, so the Contact stays.
func (r *Registration) learnContact(res *sip.Response) bool {
	via := res.Via()
	if via == nil || r.acc.transport() != "udp" {
		return false
	}
	received, _ := via.Params.Get("received")
	rport, _ := via.Params.Get("rport")
	port, err := strconv.Atoi(rport)
	if received == "" || err != nil || port <= 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.contact.Address.Host == received && r.contact.Address.Port == port {
		return false
	}
	r.u.log.Info("registrar sees us at another address; registering it as Contact", "account", r.acc.ID,
		"contact", net.JoinHostPort(r.contact.Address.Host, strconv.Itoa(r.contact.Address.Port)),
		"seen", net.JoinHostPort(received, rport))
	r.contact.Address.Host, r.contact.Address.Port = received, port
	return true
}

// State returns the registration's current state.
func (r *Registration) State() RegState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

func (r *Registration) set(st RegState) {
	r.mu.Lock()
	r.state = st
	r.mu.Unlock()
	if r.onState != nil {
		r.onState(st)
	}
}

// Refresh registers again now instead of at the next refresh or retry.
func (r *Registration) Refresh() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Stop ends the refresh loop and, if the account was registered, removes
// the registration (Expires: 0) before it returns.
func (r *Registration) Stop(ctx context.Context) error {
	r.cancel()
	<-r.done
	r.u.mu.Lock()
	if r.u.regs[r.acc.ID] == r {
		delete(r.u.regs, r.acc.ID)
	}
	r.u.mu.Unlock()
	was := r.State()
	var err error
	if was.State == RegRegistered || was.State == RegRegistering {
		_, err = r.send(ctx, 0)
	}
	st := RegState{State: RegUnregistered}
	if err != nil {
		st.Reason = err.Error()
		var re *ResponseError
		if errors.As(err, &re) {
			st.Code, st.Reason = re.Code, re.Reason
		}
	}
	r.set(st)
	return err
}

func (r *Registration) loop(ctx context.Context) {
	defer close(r.done)
	failures := 0
	for {
		r.set(RegState{State: RegRegistering})
		err := r.resolve(ctx)
		var granted time.Duration
		if err == nil {
			granted, err = r.send(ctx, r.expires)
		}
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		if err == nil {
			failures = 0
			r.set(RegState{State: RegRegistered, Code: 200, Reason: "OK", Expires: granted})
			// Refresh before it runs out (pjsua and MicroSIP refresh a
			// little before expiry; 0.8 leaves room for a retransmission).
			wait = granted * 4 / 5
		} else {
			failures++
			wait = backoff(failures)
			st := RegState{State: RegFailed, Reason: err.Error(), Retry: time.Now().Add(wait)}
			var re *ResponseError
			if errors.As(err, &re) {
				st.Code, st.Reason = re.Code, re.Reason
			}
			r.u.log.Warn("registration failed", "account", r.acc.ID, "code", st.Code, "reason", st.Reason, "retry", wait)
			r.set(st)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.kick:
			t.Stop()
		}
	}
}

// resolve looks the account's proxy or server up in DNS (RFC 3263)
// before each registration, so a moved server is followed; when DNS
// chose another transport, the client and Contact follow it.
func (r *Registration) resolve(ctx context.Context) error {
	h, err := r.u.hop(ctx, r.acc)
	if err != nil {
		return err
	}
	acc := r.acc
	acc.resolved = h
	var client *sipgo.Client
	if acc.transport() != r.acc.transport() {
		if client, err = r.u.accountClient(acc); err != nil {
			return err
		}
	}
	// The Contact's address is the one the route to the server leaves
	// from when the agent listens on a wildcard address.
	moved := h.addr != r.acc.resolved.addr && net.ParseIP(r.u.host).IsUnspecified()
	r.mu.Lock()
	defer r.mu.Unlock()
	if client != nil {
		r.client = client
	}
	if client != nil || moved {
		r.contact = r.u.contact(acc)
	}
	r.acc = acc
	return nil
}

// account returns the account with where DNS last found its server.
func (r *Registration) account() Account {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acc
}

// send sends one REGISTER asking for expires (0 removes the binding),
// answers digest challenges and 423 Interval Too Brief, and returns the
// expiry the registrar granted.
func (r *Registration) send(ctx context.Context, expires time.Duration) (time.Duration, error) {
	for range 3 {
		req := r.request(expires)
		res, err := r.acc.do(ctx, req, func(ctx context.Context, req *sip.Request) (*sip.Response, error) {
			return r.client.Do(ctx, req)
		})
		if err != nil {
			return 0, fmt.Errorf("REGISTER to %s: %w", r.acc.nextHop(), err)
		}
		if cseq := res.CSeq(); cseq != nil && cseq.SeqNo > r.cseq {
			r.cseq = cseq.SeqNo // the resends with credentials used the numbers up to it
		}
		switch {
		case res.StatusCode == 423: // Interval Too Brief
			minExp := 0
			if h := res.GetHeader("Min-Expires"); h != nil {
				minExp, _ = strconv.Atoi(strings.TrimSpace(h.Value()))
			}
			if time.Duration(minExp)*time.Second <= expires {
				return 0, &ResponseError{Code: res.StatusCode, Reason: res.Reason}
			}
			expires = time.Duration(minExp) * time.Second
			r.expires = expires
		case res.StatusCode >= 200 && res.StatusCode < 300:
			granted := r.granted(res, expires)
			if expires > 0 && r.learnContact(res) {
				r.Refresh() // register the address the server sees (RFC 3581)
			}
			return granted, nil
		default:
			return 0, &ResponseError{Code: res.StatusCode, Reason: res.Reason}
		}
	}
	return 0, &ResponseError{Code: 423, Reason: "Interval Too Brief"}
}

// request builds the next REGISTER of the registration: same Call-ID and
// From tag, CSeq one up (RFC 3261 §10.2.4).
func (r *Registration) request(expires time.Duration) *sip.Request {
	host, port := splitHostPort(r.acc.domain())
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: port})
	aor := r.acc.aor()
	from := &sip.FromHeader{DisplayName: r.acc.DisplayName, Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	to := &sip.ToHeader{DisplayName: r.acc.DisplayName, Address: aor, Params: sip.NewParams()}
	callID := sip.CallIDHeader(r.callID)
	r.cseq++
	cseq := &sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER}
	contact := r.Contact()
	exp := sip.ExpiresHeader(uint32(expires / time.Second))
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(cseq)
	req.AppendHeader(contact)
	req.AppendHeader(&exp)
	req.AppendHeader(r.u.allow())
	req.SetTransport(strings.ToUpper(r.acc.transport()))
	req.SetDestination(r.acc.nextHop())
	return req
}

// granted reads the expiry the registrar gave our binding: its Contact's
// expires parameter, else the Expires header, else what we asked for.
func (r *Registration) granted(res *sip.Response, asked time.Duration) time.Duration {
	ours := r.Contact()
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Host != ours.Address.Host || c.Address.Port != ours.Address.Port ||
			c.Address.User != ours.Address.User {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// accountClient is a SIP client for acc's requests: over UDP it sends from
// the agent's listening socket, so the registrar's responses and the calls
// it relays reach us there.
func (u *UA) accountClient(acc Account) (*sipgo.Client, error) {
	host := u.contactHost(acc)
	opts := []sipgo.ClientOption{sipgo.WithClientNAT(), sipgo.WithClientLogger(u.log), sipgo.WithClientHostname(host)}
	if acc.transport() == "udp" {
		opts = append(opts, sipgo.WithClientConnectionAddr(u.Addr()), sipgo.WithClientPort(u.port))
	}
	return sipgo.NewClient(u.ua, opts...)
}

// accountClientFor is the client of acc's out-of-dialog requests: its
// registration's, else a new one.
func (u *UA) accountClientFor(acc Account) (*sipgo.Client, error) {
	u.mu.Lock()
	r := u.regs[acc.ID]
	u.mu.Unlock()
	if r != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.acc.transport() == acc.transport() {
			return r.client, nil
		}
	}
	return u.accountClient(acc)
}

// registered returns the account registered under id, or nil.
func (u *UA) registered(id string) *Account {
	u.mu.Lock()
	r := u.regs[id]
	u.mu.Unlock()
	if r == nil {
		return nil
	}
	acc := r.account()
	return &acc
}

// hop looks acc's proxy or server up (RFC 3263); a TLS server named by
// the account is then verified for that name when dialled at the address
// found.
func (u *UA) hop(ctx context.Context, acc Account) (hop, error) {
	h, err := u.resolver.hop(ctx, acc.target(), acc.Transport)
	if err != nil {
		return h, fmt.Errorf("%w: %v", ErrServerNotFound, err)
	}
	if h.transport == "tls" {
		host, _ := splitHostPort(strings.TrimPrefix(strings.TrimPrefix(acc.target(), "sip:"), "sips:"))
		ip, _ := splitHostPort(h.addr)
		u.tlsHosts.learn(host, ip)
	}
	return h, nil
}

// route returns acc with where its requests go (UA.hop): as its
// registration last found it, else looked up in DNS now (RFC 3263).
func (u *UA) route(ctx context.Context, acc Account) (Account, error) {
	if acc.resolved.addr != "" {
		return acc, nil
	}
	if reg := u.registered(acc.ID); reg != nil && reg.resolved.addr != "" {
		return *reg, nil
	}
	h, err := u.hop(ctx, acc)
	if err != nil {
		return acc, err
	}
	acc.resolved = h
	return acc, nil
}

// accountContact is the Contact of acc's calls: its registration's (which
// follows the address the registrar sees), else the one it would register.
func (u *UA) accountContact(acc Account) sip.ContactHeader {
	u.mu.Lock()
	r := u.regs[acc.ID]
	u.mu.Unlock()
	if r != nil {
		return *r.Contact()
	}
	return u.contact(acc)
}

// contact is the Contact of acc's registrations and calls: the account's
// user at the address the route to its server leaves from.
func (u *UA) contact(acc Account) sip.ContactHeader {
	port := u.port
	if acc.transport() == "tls" {
		port = u.tlsPort
	}
	c := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: acc.Username, Host: u.contactHost(acc), Port: port,
		UriParams: sip.NewParams(), Headers: sip.NewParams()}, Params: sip.NewParams()}
	if tp := acc.transport(); tp != "udp" {
		c.Address.UriParams.Add("transport", tp)
	}
	return c
}

// contactHost is the agent's address as acc's server sees it: the listen
// address, or when that is a wildcard, the local address of the route to
// the server.
func (u *UA) contactHost(acc Account) string {
	ip := net.ParseIP(u.host)
	if ip != nil && !ip.IsUnspecified() {
		return u.host
	}
	host, _ := splitHostPort(acc.nextHop())
	if c, err := net.Dial("udp", net.JoinHostPort(host, "5060")); err == nil {
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).IP.String()
	}
	return u.host
}
