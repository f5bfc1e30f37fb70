// Package sipua is gophone's SIP user agent: signalling and RTP media for
// calls. It is the only package that imports the SIP library (sipgo and
// diago); everything else in gophone talks to calls through its types.
package sipua

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/gophone/gophone/internal/codec"
)

// Media is the audio side of calls as seen by the user agent. Frames are
// 8 kHz mono signed 16-bit little-endian PCM, one packet time long (20 ms,
// 320 bytes, unless the far end asks for another ptime).
type Media interface {
	// CallAudio returns the audio of the call with SIP Call-ID call; it is
	// asked once, when the call's media starts.
	CallAudio(call string) CallAudio
}

// CallAudio is one call's audio. Its methods are called once per packet
// time from the media clock's goroutine, which every call shares, so they
// must return at once (never wait for real time).
type CallAudio interface {
	// ReadFrame fills pcm with the next frame of microphone audio.
	ReadFrame(pcm []byte)
	// Listening reports whether far-end frames are wanted; while it is
	// false they are neither decoded nor written.
	Listening() bool
	// WriteFrame takes a decoded far-end frame.
	WriteFrame(pcm []byte)
	// FrameSent takes the frame of audio the call sends, after any in-band
	// DTMF tones (also while the far end holds the call and it goes
	// nowhere), or silence for a packet time that carried an RFC 4733 event.
	FrameSent(pcm []byte)
}

// Config configures a user agent.
type Config struct {
	// Listen is the host:port to serve SIP on, UDP and TCP.
	Listen string
	// TLSListen is the host:port to serve SIP over TLS on; "" serves no
	// TLS. Accounts with transport tls need it: it is their Contact.
	TLSListen string
	// TLSCAFiles are PEM files of CAs trusted, besides the system's, to
	// sign the certificates of the TLS servers the agent connects to.
	TLSCAFiles []string
	// TLSHosts are the hosts the accounts reach over TLS, true for those
	// whose certificates are not verified (insecure).
	TLSHosts map[string]bool
	// UserAgent is the User-Agent header value.
	UserAgent string
	// Username is the local user part for From and Contact.
	Username string
	// DisplayName goes into the From header of outgoing calls.
	DisplayName string
	// Codecs in preference order ("PCMU", "PCMA", "G722", "opus" when
	// built with the with_opus_c tag; the offer's order); telephone-event is
	// offered too, unless DTMFMethod is DTMFInband.
	Codecs []string
	// AccountCodecs are the codec lists (as Codecs) of accounts, by the
	// account name Route gives: an incoming call for one of them answers
	// from its list. An account not listed uses Codecs.
	AccountCodecs map[string][]string
	// DTMFMethod is how SendDTMF sends digits; "" is DTMFAuto.
	DTMFMethod DTMFMethod
	// RTPPortMin and RTPPortMax bound the local RTP ports (0 = any).
	RTPPortMin, RTPPortMax int
	// Media carries audio for calls.
	Media Media
	// OnIncoming is called once for every new incoming call, before any
	// response but 100 Trying is sent. It must not block, and must set the
	// call's listener (SetListener) before it acts on the call.
	OnIncoming func(c *Call)
	// Route names the account an incoming call is for, from the user part
	// of its Request-URI and of its To; with ok false the INVITE is
	// answered 404 Not Found. Nil routes every call to no account.
	Route func(requestUser, toUser string) (account string, ok bool)
	// SRTP, if set, gives the SRTP policy of the account an incoming call
	// is for (as Route named it); unset, calls take no SRTP keys.
	SRTP func(account string) SRTP
	// OnReferred is called when the far end of call from transferred us and
	// we now call the transfer target as c; it returns c's listener.
	OnReferred func(from, c *Call) Listener
	// Messages takes received MESSAGE requests; nil answers them 405
	// (disableMessaging).
	Messages MessageHandler
	// MaxMessageBytes bounds a received message's text: a larger one is
	// answered 413 (0: no bound).
	MaxMessageBytes int
	// DNSServer is the DNS server (host:port) the names of accounts'
	// servers are looked up at (RFC 3263: NAPTR, SRV, A/AAAA); "" asks
	// the system's.
	DNSServer string
	// AllowedRequire lists the option tags accepted in Require headers.
	AllowedRequire []string
	Logger         *slog.Logger
	// Observer, if set, is told of every request the UA handles and every
	// response it sends to one (not of retransmissions), for metrics.
	Observer Observer
}

// Observer is told of SIP traffic. Its methods must be cheap and safe for
// concurrent use.
type Observer interface {
	SIPRequest(method string)
	SIPResponse(code int)
}

// observedTx tells the observer of each response sent on the transaction.
type observedTx struct {
	sip.ServerTransaction
	o Observer
}

func (t observedTx) Respond(res *sip.Response) error {
	t.o.SIPResponse(res.StatusCode)
	return t.ServerTransaction.Respond(res)
}

// UA is a running SIP user agent.
type UA struct {
	cfg     Config
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server // diago's, with our no-route handler; read only by allow
	dg      *diago.Diago
	host    string
	port    int
	tlsPort int // 0 without a TLS listener
	codecs  []media.Codec
	// accountCodecs are the parsed Config.AccountCodecs.
	accountCodecs map[string][]media.Codec
	// resolver finds accounts' servers; set once the TLS listener is
	// known.
	resolver *resolver
	tlsHosts *tlsHosts

	ctx    context.Context
	cancel context.CancelFunc
	clock  *mediaClock // paces every call's RTP
	ports  *rtpPorts   // opens calls' RTP sockets
	done   chan struct{}

	mu    sync.Mutex
	calls map[string]*Call         // by SIP Call-ID
	regs  map[string]*Registration // running registrations, by account id
	// gone holds the Call-IDs of our outgoing calls that ended in the last
	// 64·T1, whose late 2xx must still be ACKed and BYEd; goneOrder lists
	// them oldest first, so expired ones are dropped without a scan.
	gone      map[string]time.Time
	goneOrder []goneCall
	// answered holds the final responses to non-INVITE requests whose
	// transactions were ended early (retrans.go).
	answered *answered
	seq      atomic.Uint64
	// udpClient and tcpClient send MESSAGE requests.
	udpClient, tcpClient *sipgo.Client
	// parser is readFilter's own (sipgo's is safe for concurrent use, but
	// the UA's is not exposed).
	parser *sip.Parser
}

// Start listens on cfg.Listen and serves SIP until Close.
func Start(ctx context.Context, cfg Config) (*UA, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("sip listen port %q: %w", portStr, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gophone"
	}
	if cfg.Username == "" {
		cfg.Username = "gophone"
	}
	if cfg.DTMFMethod == "" {
		cfg.DTMFMethod = DTMFAuto
	}
	codecs, err := parseCodecs(cfg.Codecs, cfg.DTMFMethod != DTMFInband)
	if err != nil {
		return nil, err
	}
	accountCodecs := make(map[string][]media.Codec, len(cfg.AccountCodecs))
	for id, names := range cfg.AccountCodecs {
		if accountCodecs[id], err = parseCodecs(names, cfg.DTMFMethod != DTMFInband); err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
	}
	// sipgo refuses to send a UDP message over UDPMTUSize-200 bytes (1300)
	// and has no TCP fallback (RFC 3261 §18.1.1), so a response to a request
	// with many Via headers, or an INVITE with a long SDP, would never be
	// sent. Responses must go back over the request's transport (§18.2.2):
	// let UDP carry up to the largest datagram, IP fragments it. The
	// variable is sipgo's, read by every running agent: it is written only
	// by the first Start of the process, so that a second agent (tests run
	// two) does not write it under the first one's feet.
	const udpMax = 65507 + 200
	if sip.UDPMTUSize != udpMax {
		sip.UDPMTUSize = udpMax
	}
	u := &UA{
		cfg:           cfg,
		log:           cfg.Logger,
		host:          host,
		port:          port,
		codecs:        codecs,
		accountCodecs: accountCodecs,
		ports:         newRTPPorts(cfg.RTPPortMin, cfg.RTPPortMax, isDualStack(host)),
		calls:         make(map[string]*Call),
		regs:          make(map[string]*Registration),
		gone:          make(map[string]time.Time),
		answered:      newAnswered(),
		parser:        sip.NewParser(),
		done:          make(chan struct{}),
	}
	// Accounts' servers are found by u.resolver; only other requests (a
	// call to sip:user@domain) leave the lookup to sipgo.
	u.resolver = newResolver(cfg.DNSServer, host, cfg.TLSListen != "")
	u.tlsHosts = &tlsHosts{hosts: maps.Clone(cfg.TLSHosts)}
	if u.tlsHosts.hosts == nil {
		u.tlsHosts.hosts = map[string]bool{}
	}
	tlsClient, err := clientTLS(cfg.TLSCAFiles, u.tlsHosts)
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgenTLSConfig(tlsClient),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(u.strayResponse)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(u.readFilter),
			// RFC 3263: a server named without a port is found by its
			// SRV records first.
			sip.WithTransportLayerDNSLookupSRV(true)),
		sipgo.WithUserAgentDNSResolver(u.resolver.ip))
	if err != nil {
		return nil, fmt.Errorf("creating SIP user agent: %w", err)
	}
	u.ua = ua
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("creating SIP server: %w", err)
	}
	if cfg.Messages != nil {
		srv.OnMessage(u.middleware(u.onMessage))
	}
	srv.OnNoRoute(u.noRoute)
	u.srv = srv
	if err := u.newMessageClients(); err != nil {
		ua.Close()
		return nil, fmt.Errorf("creating SIP client: %w", err)
	}
	u.ctx, u.cancel = context.WithCancel(ctx)
	u.clock = newMediaClock(u.ctx)
	opts := []diago.DiagoOption{
		diago.WithServer(srv),
		diago.WithLogger(cfg.Logger),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs, Listen: u.ports.listen}),
		diago.WithServerRequestMiddleware(u.middleware),
	}
	for _, network := range []string{"udp", "tcp"} {
		opts = append(opts, diago.WithTransport(diago.Transport{
			Transport:    network,
			BindHost:     host,
			BindPort:     port,
			ListenPacket: listenSIPSocket,
			Listen:       u.listenStream(nil),
		}))
	}
	if cfg.TLSListen != "" {
		tlsHost, tlsPortStr, err := net.SplitHostPort(cfg.TLSListen)
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("sip tls listen address %q: %w", cfg.TLSListen, err)
		}
		u.tlsPort, err = strconv.Atoi(tlsPortStr)
		if err != nil || u.tlsPort == 0 {
			ua.Close()
			return nil, fmt.Errorf("sip tls listen port %q: want a port number", tlsPortStr)
		}
		conf, err := serverTLS(tlsHost)
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("making the TLS listener's certificate: %w", err)
		}
		opts = append(opts, diago.WithTransport(diago.Transport{
			Transport: "tls", BindHost: tlsHost, BindPort: u.tlsPort, TLSConf: conf, TLSURINoSIPS: true,
			Listen: u.listenStream(conf),
		}))
	}
	u.dg = diago.NewDiago(ua, opts...)
	if err := u.dg.ServeBackground(u.ctx, u.serveIncoming); err != nil {
		u.cancel()
		ua.Close()
		return nil, fmt.Errorf("serving SIP on %s: %w", cfg.Listen, err)
	}
	if err := u.waitUDPListener(); err != nil {
		u.cancel()
		ua.Close()
		return nil, err
	}
	return u, nil
}

// listenStream returns diago's Listen hook for the tcp transport, or the
// tls one with conf: a TCP listener whose connections are framed and judged
// message by message (streamframe.go).
func (u *UA) listenStream(conf *tls.Config) func(network, addr string) (net.Listener, error) {
	return func(network, addr string) (net.Listener, error) {
		if conf != nil {
			network = "tcp"
		}
		l, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		if conf != nil {
			l = tls.NewListener(l, conf)
		}
		judge := streamJudge{screen: u.screenStream, refuse: u.refuseStream}
		return newStreamListener(l, judge, defaultStreamLimits, u.log), nil
	}
}

// Addr returns the host:port the agent serves on.
func (u *UA) Addr() string { return net.JoinHostPort(u.host, strconv.Itoa(u.port)) }

// Close ends every call and stops serving.
func (u *UA) Close() error {
	u.mu.Lock()
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Hangup(context.Background())
		}()
	}
	wg.Wait()
	u.cancel()
	return u.ua.Close()
}

func (u *UA) track(c *Call) {
	u.mu.Lock()
	u.calls[c.sipCallID] = c
	u.mu.Unlock()
}

func (u *UA) untrack(c *Call) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.calls[c.sipCallID] != c {
		return
	}
	delete(u.calls, c.sipCallID)
	if len(u.calls) == 0 {
		// Go maps keep the buckets they grew to: after a burst of calls
		// (a flood of INVITEs) start afresh.
		u.calls = make(map[string]*Call)
	}
	if c.direction == Outgoing {
		now := time.Now()
		n := 0
		for _, g := range u.goneOrder {
			if now.Sub(g.at) <= 64*sip.T1 {
				break
			}
			if u.gone[g.id] == g.at {
				delete(u.gone, g.id)
			}
			n++
		}
		u.goneOrder = append(u.goneOrder[n:], goneCall{c.sipCallID, now})
		u.gone[c.sipCallID] = now
	}
}

// goneCall is an entry of UA.goneOrder.
type goneCall struct {
	id string
	at time.Time
}

// ours reports whether callID is one of our outgoing calls, live or ended
// in the last 64·T1.
func (u *UA) ours(callID string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c, ok := u.calls[callID]; ok {
		return c.direction == Outgoing
	}
	t, ok := u.gone[callID]
	return ok && time.Since(t) <= 64*sip.T1
}

func (u *UA) lookup(callID string) *Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[callID]
}

// middleware sees every request before diago: it enforces what diago does
// not (Require, out-of-dialog REFER, SIP INFO DTMF, hold detection).
func (u *UA) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if tx != nil {
			if u.answered.replay(req, tx) {
				return // a retransmission: not counted, as sipgo's absorbed ones
			}
			ft := u.answered.serverTx(req, tx)
			defer u.answered.end(req, ft)
			tx = ft
		}
		if o := u.cfg.Observer; o != nil {
			o.SIPRequest(string(req.Method))
			if tx != nil {
				tx = observedTx{tx, o}
			}
		}
		if u.rejectInvalid(req, tx) {
			return
		}
		if req.Method != sip.ACK && req.Method != sip.CANCEL {
			if unsupported := u.unsupportedRequire(req); len(unsupported) > 0 {
				res := sip.NewResponseFromRequest(req, sip.StatusBadExtension, "Bad Extension", nil)
				res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
				tx.Respond(res)
				return
			}
		}
		toTag := ""
		if to := req.To(); to != nil {
			toTag, _ = to.Params.Get("tag")
		}
		switch req.Method {
		case sip.REFER:
			if toTag == "" {
				tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
				return
			}
		case sip.INFO:
			if c := u.callFor(req); c != nil && infoDTMFType(req) != "" {
				digit, ok := parseDTMFInfo(infoDTMFType(req), req.Body())
				if !ok {
					tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
					return
				}
				tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
				c.emit(Event{Kind: EventDTMF, Digit: digit, Method: DTMFInfo})
				return
			}
		case sip.INVITE, sip.UPDATE:
			if toTag != "" {
				if c := u.callFor(req); c != nil {
					next(req, &holdAnswerTx{ServerTransaction: tx, c: c, offer: req.Body()})
					c.reInviteSeen(req)
					return
				}
			}
		}
		next(req, tx)
	}
}

func (u *UA) callFor(req *sip.Request) *Call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	return u.lookup(id.Value())
}

func (u *UA) unsupportedRequire(req *sip.Request) []string {
	var bad []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			if tag == "" {
				continue
			}
			ok := false
			for _, a := range u.cfg.AllowedRequire {
				if strings.EqualFold(a, tag) {
					ok = true
				}
			}
			if !ok {
				bad = append(bad, tag)
			}
		}
	}
	return bad
}

// isDualStack reports whether a listen host is IPv6's unspecified address
// (::), on which Linux's sockets also take IPv4 (v4-mapped): the agent
// then serves both families, SIP and RTP.
func isDualStack(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() == nil && ip.IsUnspecified()
}

// accountCodecsFor returns the codecs of an incoming call for account id.
func (u *UA) accountCodecsFor(id string) []media.Codec {
	if c, ok := u.accountCodecs[id]; ok {
		return c
	}
	return u.codecs
}

// parseCodecs returns the codecs to offer, telephone-event last if te.
func parseCodecs(names []string, te bool) ([]media.Codec, error) {
	if len(names) == 0 {
		names = []string{"PCMU", "PCMA"}
	}
	var out []media.Codec
	for _, n := range names {
		switch {
		case strings.EqualFold(n, codec.PCMU):
			out = append(out, media.CodecAudioUlaw)
		case strings.EqualFold(n, codec.PCMA):
			out = append(out, media.CodecAudioAlaw)
		case strings.EqualFold(n, codec.G722):
			out = append(out, codecG722)
		case strings.EqualFold(n, codec.Opus) && codec.HaveOpus:
			out = append(out, media.CodecAudioOpus)
		case strings.EqualFold(n, "telephone-event"):
		default:
			return nil, fmt.Errorf("codec %q is not supported (want one of %s)", n, strings.Join(codec.Names(), ", "))
		}
	}
	if te {
		out = append(out, media.CodecTelephoneEvent8000)
		if slices.ContainsFunc(out, func(c media.Codec) bool { return c.SampleRate == 48000 }) {
			// Events at Opus's clock as well (RFC 4733 §2.1).
			out = append(out, codecTelephoneEvent48000)
		}
	}
	return out, nil
}

// ParseTarget turns a number or URI into a SIP URI string. A bare number
// needs domain; sip:, sips: and tel: URIs are taken as given.
func ParseTarget(target, domain string) (string, error) {
	t := strings.TrimSpace(target)
	if t == "" {
		return "", errors.New("empty number")
	}
	lower := strings.ToLower(t)
	switch {
	case strings.HasPrefix(lower, "sip:"), strings.HasPrefix(lower, "sips:"):
	case strings.HasPrefix(lower, "tel:"):
		if domain == "" {
			return "", fmt.Errorf("%s: no domain to call a tel: URI on", t)
		}
		t = "sip:" + t[4:] + "@" + domain
	case strings.Contains(t, "@"):
		t = "sip:" + t
	default:
		if domain == "" {
			return "", fmt.Errorf("cannot dial %q: the account has no domain (dial sip:%s@HOST instead)", t, t)
		}
		t = "sip:" + t + "@" + domain
	}
	var uri sip.Uri
	if err := sip.ParseUri(t, &uri); err != nil {
		return "", fmt.Errorf("bad SIP URI %q: %w", t, err)
	}
	if uri.Host == "" {
		return "", fmt.Errorf("bad SIP URI %q: no host", t)
	}
	return uri.String(), nil
}
