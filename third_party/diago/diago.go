// SPDX-License-Identifier: MPL-2.0
// SPDX-FileCopyrightText: Copyright (c) 2024, Emir Aganovic

package diago

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

type ServeDialogFunc func(d *DialogServerSession)

type Diago struct {
	ua         *sipgo.UserAgent
	client     *sipgo.Client
	server     *sipgo.Server
	transports []Transport

	serveHandler ServeDialogFunc

	auth      sipgo.DigestAuth
	mediaConf MediaConfig

	log *slog.Logger

	cache            DialogCachePool
	serverMiddleware func(next sipgo.RequestHandler) sipgo.RequestHandler
}

// We can extend this WithClientOptions, WithServerOptions

type DiagoOption func(dg *Diago)

func WithAuth(auth sipgo.DigestAuth) DiagoOption {
	return func(dg *Diago) {
		dg.auth = auth
	}
}

type Transport struct {
	ID string

	// Transport must be udp,tcp or ws, or even forcing v4 like udp4, tcp4
	Transport string
	network   string // network will keep original transport value

	// BindHost sets IP to bind. If specified (not 0.0.0.0) it will be used same for media IP unless MediaExternalIP is set.
	BindHost string
	// BindPort sets port to bind. Leaving at 0 will use empheral port and apply on Contact addr
	BindPort int
	bindIP   net.IP

	ExternalHost string // SIP signaling and media external addr
	ExternalPort int

	// MediaExternalIP changes SDP IP, by default it tries to use external host if it is IP defined
	MediaExternalIP net.IP
	// MediaSRTP offers SRTP. Values: 0-none, 1-sdes
	MediaSRTP     int
	mediaBindIP   net.IP
	MediaDTLSConf media.DTLSConfig

	// In case TLS protocol
	TLSConf *tls.Config
	// Avoiding SIPS in contact uri https://datatracker.ietf.org/doc/html/rfc5630#section-3.3
	TLSURINoSIPS bool

	RewriteContact bool

	// ListenPacket, if set, opens the socket of a udp transport instead of
	// net.ListenUDP; serving ends by closing it.
	ListenPacket func(network, addr string) (net.PacketConn, error)
	// Listen, if set, opens the listener of a tcp or tls transport instead
	// of net.ListenTCP or tls.Listen (for tls it must do the TLS itself:
	// TLSConf is then not used to listen); serving ends by closing it.
	Listen func(network, addr string) (net.Listener, error)

	client *sipgo.Client
}

func WithTransport(t Transport) DiagoOption {
	return func(dg *Diago) {
		t.bindIP = net.ParseIP(t.BindHost)
		t.mediaBindIP = t.bindIP
		if t.bindIP != nil && t.bindIP.IsUnspecified() {
			network := "ip4"
			if t.bindIP.To4() == nil {
				network = "ip6"
			}
			var err error
			t.mediaBindIP, _, err = sip.ResolveInterfacesIP(network, nil)
			if err != nil {
				dg.log.Error("failed to resolve real IP", "error", err)
			}
		}

		if t.ExternalHost == "" {
			t.ExternalHost = t.BindHost
			// External host should match media IP
			if t.mediaBindIP != nil {
				t.ExternalHost = t.mediaBindIP.String()
			}
		}
		if t.ExternalPort == 0 {
			t.ExternalPort = t.BindPort
		}

		// Resolve unspecified IP for contact hdr
		extIp := net.ParseIP(t.ExternalHost)
		if t.ExternalHost == "" || (extIp != nil && extIp.IsUnspecified()) {
			// Use the mediaIP
			extIp = t.mediaBindIP
		}

		if t.MediaExternalIP == nil && t.ExternalHost != "" {
			// try to use external host as external media IP
			if extIp != nil && !extIp.IsUnspecified() {
				t.MediaExternalIP = extIp
			}
		}

		t.Transport = sip.NetworkToLower(t.Transport)
		t.network = t.Transport
		t.Transport = strings.TrimSuffix(t.Transport, "4") // udp4, tcp4
		t.Transport = strings.TrimSuffix(t.Transport, "6") // udp6, tcp6

		// we want to handle SIP networking better per each transport
		t.client = dg.createClient(t)
		dg.transports = append(dg.transports, t)

		dg.log.Debug("Loaded transport", "t", t)
	}
}

type MediaConfig struct {
	Codecs []media.Codec
	// Currently supported Single. Check media.SRTP... constants
	// Experimental
	SecureRTPAlg uint16
	// Listen, if set, opens each media session's RTP and RTCP sockets
	// (see media.MediaSession.Listen).
	Listen func(ip net.IP) (rtp, rtcp net.PacketConn, err error)
	// Used internally
	secureRTP  int // 0 - none, 1 - sdes
	sdesOnAVP  bool
	bindIP     net.IP
	externalIP net.IP
	rtpNAT     int
	dtlsConf   media.DTLSConfig

	// TODO, For now it is global on media package
	// RTPPortStart int
	// RTPPortEnd   int
}

// setSDES (gophone) turns SDES-keyed SRTP on or off for one dialog's
// media, whatever its transport's MediaSRTP says; onAVP offers the keys
// on RTP/AVP (see media.MediaSession.SDESOnAVP).
func (conf *MediaConfig) setSDES(on, onAVP bool) {
	conf.secureRTP, conf.sdesOnAVP = 0, false
	if on {
		conf.secureRTP, conf.sdesOnAVP = 1, onAVP
	}
}

func (conf *MediaConfig) update(codecs []media.Codec, rtpNAT int) {
	if codecs != nil {
		conf.Codecs = codecs
	}
	conf.rtpNAT = rtpNAT
}

func WithMediaConfig(conf MediaConfig) DiagoOption {
	return func(dg *Diago) {
		dg.mediaConf = conf
	}
}

// WithServer allows providing custom server handle. Consider still it needs to use same UA as diago
func WithServer(srv *sipgo.Server) DiagoOption {
	return func(dg *Diago) {
		dg.server = srv
	}
}

// WithClient allows providing custom client handle. Consider still it needs to use same UA as diago
func WithClient(client *sipgo.Client) DiagoOption {
	return func(dg *Diago) {
		dg.client = client
	}
}

func WithLogger(l *slog.Logger) DiagoOption {
	return func(dg *Diago) {
		dg.log = l
	}
}

func WithServerRequestMiddleware(f func(next sipgo.RequestHandler) sipgo.RequestHandler) DiagoOption {
	return func(dg *Diago) {
		dg.serverMiddleware = f
	}
}

// NewDiago construct b2b user agent that will act as server and client
func NewDiago(ua *sipgo.UserAgent, opts ...DiagoOption) *Diago {
	dg := &Diago{
		ua:  ua,
		log: sip.DefaultLogger(),
		serveHandler: func(d *DialogServerSession) {
			fmt.Println("Serve Handler not implemented")
		},
		transports: []Transport{},
		mediaConf: MediaConfig{
			Codecs: []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000},
		},

		cache: DialogCachePool{
			client: &dialogCacheMap[*DialogClientSession]{sync.Map{}},
			server: &dialogCacheMap[*DialogServerSession]{sync.Map{}},
		},
	}

	for _, o := range opts {
		o(dg)
	}

	if len(dg.transports) == 0 {
		tran := Transport{
			Transport: "udp",
			BindHost:  "127.0.0.1",
			BindPort:  5060,
		}
		WithTransport(tran)(dg)
	}

	if dg.server == nil {
		dg.server, _ = sipgo.NewServer(ua, sipgo.WithServerLogger(dg.log))
	}
	server := dg.server

	errHandler := func(f func(req *sip.Request, tx sip.ServerTransaction) error) sipgo.RequestHandler {
		handler := func(req *sip.Request, tx sip.ServerTransaction) {
			if err := f(req, tx); err != nil {
				dg.log.Warn("Failed to handle request", "error", err, "req.method", req.Method.String(), "req.from", req.From().String(), "req.to", req.To().Value())
				return
			}
			// Termination gracefull will be done by sipgo now
		}

		// Return handler wrapped with middleware if user supprots
		if dg.serverMiddleware != nil {
			return func(req *sip.Request, tx sip.ServerTransaction) {
				dg.serverMiddleware(handler)(req, tx)
			}
		}
		return handler
	}

	handleNoDialog := func(req *sip.Request, tx sip.ServerTransaction, err error) error {
		var response *sip.Response
		if errors.Is(err, sipgo.ErrDialogDoesNotExists) {
			response = sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		} else {
			response = sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil)
		}
		return errors.Join(err, tx.Respond(response))
	}

	server.OnInvite(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		// What if multiple server transports?
		id, err := sip.DialogIDFromRequestUAS(req)
		if err == nil {
			return dg.handleReInvite(req, tx, id)
		}

		tran, _ := dg.getTransport(req.Transport())

		// Proceed as new call
		dialogUA := sipgo.DialogUA{
			Client:         dg.getClient(tran),
			RewriteContact: tran.RewriteContact,
		}
		dg.contactHDRFromTransport(tran, &dialogUA.ContactHDR)
		// Answer as the user called (the account a registrar routed the
		// call to), not as the user agent's name.
		if req.Recipient.User != "" {
			dialogUA.ContactHDR.Address.User = req.Recipient.User
		}
		// gophone: a dual-stack transport (bound to ::) answers with a
		// Contact of the request's family, the address it is reached at
		// from the caller, not the first IPv6 address of the host.
		if tran.bindIP != nil && tran.bindIP.To4() == nil && tran.bindIP.IsUnspecified() {
			if ip := LocalIPToward(req.Source()); ip != nil {
				dialogUA.ContactHDR.Address.Host = ip.String()
			}
		}

		dialog, err := dialogUA.ReadInvite(req, tx)
		if err != nil {
			return fmt.Errorf("handling new INVITE failed: %w", err)
		}

		// TODO authentication
		dWrap := &DialogServerSession{
			DialogServerSession: dialog,
			// TODO we may actually just build media session with this conf here
			mediaConf: MediaConfig{
				Codecs:     dg.mediaConf.Codecs,
				Listen:     dg.mediaConf.Listen,
				secureRTP:  tran.MediaSRTP,
				bindIP:     tran.mediaBindIP,
				externalIP: tran.MediaExternalIP,
				dtlsConf:   tran.MediaDTLSConf,
			},
		}

		defer closeAndLog(dWrap, "closing dialog server returned error")

		if err := dg.cache.server.DialogStore(dWrap.Context(), dWrap.ID, dWrap); err != nil {
			return fmt.Errorf("failed to store server dialog: %w", err)
		}
		defer func() {
			// TODO: have better context
			if err := dg.cache.server.DialogDelete(context.Background(), dWrap.ID); err != nil {
				dg.log.Error("Failed to delete server dialog", "error", err)
			}
		}()

		dg.serveHandler(dWrap)

		// Check is dialog closed
		dialogCtx := dialog.Context()
		// Always try hanguping call
		ctx, cancel := context.WithTimeout(dialogCtx, 10*time.Second)
		defer cancel()

		if err := dWrap.Hangup(ctx); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				// Already hangup
				return nil
			}

			return fmt.Errorf("hanguping call failed: %w", err)
		}
		return nil
	}))

	server.OnCancel(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		// INVITE transaction should be terminated by transaction layer and 200 response will be sent
		// In case of stateless proxy this we would need to forward
		return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
	}))

	server.OnAck(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		// d, err := dg.cache.MatchDialogServer(req)
		// if err != nil {
		// 	// Normally ACK will be received if some out of dialog request is received or we responded negatively
		// 	// tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, err.Error(), nil))
		// 	return err
		// }

		sd, cd, err := dg.cache.MatchDialog(req)
		if err != nil {
			// We should not do responses for ACK
			return err
			// return handleNoDialog(req, tx, err)
		}

		if cd != nil {
			// THis is from REINVITE
			return cd.handleReInviteACK(req, tx)
		}

		return sd.ReadAck(req, tx)
	}))

	server.OnBye(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		sd, cd, err := dg.cache.MatchDialog(req)
		if err != nil {
			return handleNoDialog(req, tx, err)
		}

		if cd != nil {
			err := cd.ReadBye(req, tx)
			return errors.Join(err, cd.Close())
		}
		err = sd.ReadBye(req, tx)
		return errors.Join(err, sd.Close())
	}))

	// UPDATE (RFC 3311) in a confirmed dialog: its offer is answered as a
	// re-INVITE's is (media address, direction, codecs); no ACK follows.
	server.OnUpdate(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		sd, cd, err := dg.cache.MatchDialog(req)
		if err != nil {
			return handleNoDialog(req, tx, err)
		}
		if cd != nil {
			return cd.handleReInvite(req, tx)
		}
		return sd.handleReInvite(req, tx)
	}))

	server.OnInfo(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		// Handle DTMF out of band
		contentType := req.ContentType()
		if contentType == nil || contentType.Value() != "application/dtmf-relay" {
			return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptable, "Not Acceptable", nil))
		}

		sd, cd, err := dg.cache.MatchDialog(req)
		if err != nil {
			return handleNoDialog(req, tx, err)
		}

		if cd != nil {
			return cd.readSIPInfoDTMF(req, tx)

		}
		return sd.readSIPInfoDTMF(req, tx)

		// 		INFO sips:sipgo@127.0.0.1:5443 SIP/2.0
		// Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKhzJuRuWp4pLmTAbrIg7MUGofWdV1u577;rport
		// From: "IVR Webrtc"<sips:ivr.699c4b45-c800-4891-8133-fded5b26f942.579938@localhost:6060>;tag=foSxtEhHq9QOSeSdgJCC
		// To: <sip:playback@localhost>;tag=f814097f-467a-46ad-be0a-76c2a1225378
		// Contact: "IVR Webrtc"<sips:ivr.699c4b45-c800-4891-8133-fded5b26f942.579938@df7jal23ls0d.invalid;rtcweb-breaker=no;click2call=no;transport=wss>;+g.oma.sip-im;language="en,fr"
		// Call-ID: 047c3631-e85a-27d2-8f69-4de6e0391253
		// CSeq: 29586 INFO
		// Content-Type: application/dtmf-relay
		// Content-Length: 22
		// Max-Forwards: 70
		// User-Agent: IM-client/OMA1.0 sipML5-v1.2016.03.04

		// Signal=8
		// Duration=120

	}))

	// TODO deal with OPTIONS more correctly
	// For now leave it for keep alive
	dg.server.OnOptions(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		methods := dg.server.RegisteredMethods()
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", strings.Join(methods, ", ")))
		res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		// res.AppendHeader(sip.NewHeader("Supported", "replaces, 100rel"))
		return tx.Respond(res)
	}))

	dg.server.OnRefer(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		sd, cd, err := dg.cache.MatchDialog(req)
		if err != nil {
			return handleNoDialog(req, tx, err)
		}
		if cd != nil {
			cd.handleRefer(dg, req, tx)
			return nil

		}
		// TODO server
		sd.handleRefer(dg, req, tx)
		return nil
	}))

	dg.server.OnNotify(errHandler(func(req *sip.Request, tx sip.ServerTransaction) error {
		// THIS should match now subscribtion instead dialog
		sd, cd, err := dg.cache.MatchDialog(req)
		if err != nil {
			return handleNoDialog(req, tx, err)
		}

		if cd != nil {
			cd.handleReferNotify(req, tx)
			return nil
		}
		sd.handleReferNotify(req, tx)
		return nil
	}))
	// server.OnRefer(func(req *sip.Request, tx sip.ServerTransaction) {
	// 	d, err := MatchDialogServer(req)
	// 	if err != nil {
	// 		// Security? When to answer this?
	// 		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, err.Error(), nil))
	// 		return
	// 	}
	// })

	return dg
}

func (dg *Diago) handleReInvite(req *sip.Request, tx sip.ServerTransaction, id string) error {
	ctx := context.TODO()
	// No Error means we have ID
	s, err := dg.cache.server.DialogLoad(ctx, id)
	if err != nil {
		id, err := sip.DialogIDFromRequestUAC(req)
		if err != nil {
			dg.log.Info("Reinvite failed to read request dialog ID", "error", err)
			return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))

		}
		// No Error means we have ID
		c, err := dg.cache.client.DialogLoad(ctx, id)
		if err != nil {
			return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}

		return c.handleReInvite(req, tx)
	}

	return s.handleReInvite(req, tx)
}

// Serve starts 'Server' handle for SIP.
// Should be called for UAS but can be skipped for UAC behavior
func (dg *Diago) Serve(ctx context.Context, f ServeDialogFunc) error {
	return dg.serve(ctx, f, func() {})
}

func (dg *Diago) serve(ctx context.Context, f ServeDialogFunc, readyCh func()) error {
	server := dg.server
	dg.HandleFunc(f)

	errCh := make(chan error, len(dg.transports))
	for i, tran := range dg.transports {
		hostport := net.JoinHostPort(tran.BindHost, strconv.Itoa(tran.BindPort))

		go func(i int, tran Transport) {
			// Update transport
			ctx := context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyFuncCtxValue(func(network, addr string) {
				// This now fixes port for empheral binding
				// Alternative to use is tp.GetListenPort but it squashes networks
				_, port, _ := sip.ParseAddr(addr)
				if tran.BindPort == 0 {
					tran.BindPort = port
					tran.ExternalPort = port
					tran.client = dg.createClient(tran)
					dg.transports[i] = tran
				}
				readyCh()

				dg.log.Info("Listening on transport", "addr", addr, "protocol", tran.network)
			}))

			if tran.Listen != nil && (tran.Transport == "tcp" || tran.Transport == "tls") {
				errCh <- serveStream(ctx, server, tran, hostport)
				return
			}
			if tran.TLSConf != nil || tran.Transport == "tls" || tran.Transport == "wss" {
				errCh <- server.ListenAndServeTLS(ctx, tran.network, hostport, tran.TLSConf)
				return
			}
			if tran.ListenPacket != nil && strings.HasPrefix(tran.network, "udp") {
				errCh <- servePacket(ctx, server, tran, hostport)
				return
			}
			errCh <- server.ListenAndServe(ctx, tran.network, hostport)
		}(i, tran)
	}

	// Returns first error
	return <-errCh
}

// servePacket serves a udp transport on the socket tran.ListenPacket opens,
// as sipgo's ListenAndServe does on its own.
func servePacket(ctx context.Context, server *sipgo.Server, tran Transport, hostport string) error {
	conn, err := tran.ListenPacket(tran.network, hostport)
	if err != nil {
		return fmt.Errorf("listen udp error. err=%w", err)
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	if ready, ok := ctx.Value(sipgo.ListenReadyCtxKey).(sipgo.ListenReadyFuncCtxValue); ok {
		ready(tran.network, conn.LocalAddr().String())
	}
	return server.ServeUDP(conn)
}

// serveStream serves a tcp or tls transport on the listener tran.Listen
// opens, as sipgo's ListenAndServe and ListenAndServeTLS do on their own.
func serveStream(ctx context.Context, server *sipgo.Server, tran Transport, hostport string) error {
	l, err := tran.Listen(tran.network, hostport)
	if err != nil {
		return fmt.Errorf("listen %s error. err=%w", tran.Transport, err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	if ready, ok := ctx.Value(sipgo.ListenReadyCtxKey).(sipgo.ListenReadyFuncCtxValue); ok {
		ready(tran.network, l.Addr().String())
	}
	if tran.Transport == "tls" {
		return server.ServeTLS(l)
	}
	return server.ServeTCP(l)
}

// ServeBackground starts serving in background, but waits server listener to be started before returning
// Checkout more info on Serve()
func (dg *Diago) ServeBackground(ctx context.Context, f ServeDialogFunc) error {
	readyCh := make(chan struct{}, len(dg.transports))
	ready := func() {
		readyCh <- struct{}{}
	}
	chErr := make(chan error, 1)

	go func() {
		chErr <- dg.serve(ctx, f, ready)
	}()

	for range dg.transports {
		select {
		case err := <-chErr:
			return err
		case <-readyCh:
			dg.log.Info("Network ready")
		}
	}
	return nil
}

// HandleFunc registers you handler function for dialog. Must be called before serving request
func (dg *Diago) HandleFunc(f ServeDialogFunc) {
	dg.serveHandler = f
}

type InviteOptions struct {
	Originator DialogSession
	OnResponse func(res *sip.Response) error
	Transport  string
	// For digest authentication
	Username string
	Password string
	// Custom headers to pass. DO NOT SET THIS to nil
	Headers []sip.Header
	// RTPNAT is media.MediaSession.RTPNAT. Check media.RTPNAT... options
	RTPNAT int
}

// Invite makes outgoing call leg and waits for answer.
// It is helper that calls
// - NewDialog
// - dialog.Invite
//
// For better control more details use above functions instead.
// If you want to bridge call then use helper InviteBridge
func (dg *Diago) Invite(ctx context.Context, recipient sip.Uri, opts InviteOptions) (d *DialogClientSession, med *DialogMedia, err error) {
	d, err = dg.NewDialog(recipient, NewDialogOptions{Transport: opts.Transport})
	if err != nil {
		return nil, nil, err
	}

	med, err = d.Invite(ctx, InviteClientOptions{
		Originator: opts.Originator,
		OnResponse: opts.OnResponse,
		Headers:    opts.Headers,
		Username:   opts.Username,
		Password:   opts.Password,
		RTPNAT:     opts.RTPNAT,
	})
	if err != nil {
		closeErr := d.Close()
		return nil, nil, errors.Join(err, closeErr)
	}

	if err := d.Ack(ctx); err != nil {
		closeErr := d.Close()
		return nil, nil, errors.Join(err, closeErr)
	}
	return d, med, nil
}

// InviteBridge makes outgoing call leg and does bridging.
// Outgoing session will be added into bridge on answer
// If bridge has Originator (first participant) it will be used for creating outgoing call leg as in B2BUA
// When bridge is provided then this call will be bridged with any participant already present in bridge
func (dg *Diago) InviteBridge(ctx context.Context, recipient sip.Uri, bridge *Bridge, opts InviteOptions) (d *DialogClientSession, med *DialogMedia, err error) {
	d, err = dg.NewDialog(recipient, NewDialogOptions{})
	if err != nil {
		return nil, nil, err
	}

	med, err = d.Invite(ctx, InviteClientOptions{
		Originator: opts.Originator,
		OnResponse: opts.OnResponse,
		Headers:    opts.Headers,
		Username:   opts.Username,
		Password:   opts.Password,
		RTPNAT:     opts.RTPNAT,
	})
	if err != nil {
		return nil, nil, errors.Join(err, d.Hangup(d.Context()), d.Close())
	}

	// Do bridging now
	if err := bridge.AddDialogMedia(med); err != nil {
		d.Close()
		return nil, nil, err
	}

	if err := d.Ack(ctx); err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, med, nil
}

type NewDialogOptions struct {
	// Transport or protocol that should be used
	Transport string
	// TransportID matches diago transport by ID instead protocol
	TransportID string
}

// NewDialog creates a new client dialog session after you can perform dialog Invite
// - You call Invite(...) after this call followed with ACK
func (dg *Diago) NewDialog(recipient sip.Uri, opts NewDialogOptions) (d *DialogClientSession, err error) {
	transport := opts.Transport
	if transport == "" && recipient.UriParams != nil {
		if t, ok := recipient.UriParams.Get("transport"); t != "" && ok {
			transport = t
			recipient.UriParams.Remove("transport")
		}

	}
	tran, exists := dg.findTransport(transport, opts.TransportID)
	if !exists {
		return nil, fmt.Errorf("transport %s does not exists", transport)
	}

	return dg.newSipDialog(recipient, tran, opts)
}

func (dg *Diago) newSipDialog(recipient sip.Uri, tran *Transport, opts NewDialogOptions) (d *DialogClientSession, err error) {
	transport := tran.Transport

	// TODO: remove this alloc of UA each time
	client := dg.getClient(tran)
	dialogUA := sipgo.DialogUA{
		Client:         client,
		RewriteContact: tran.RewriteContact,
	}
	dg.contactHDRFromTransport(tran, &dialogUA.ContactHDR)

	inviteReq := sip.NewRequest(sip.INVITE, recipient)
	inviteReq.SetTransport(sip.NetworkToUpper(transport))

	d = &DialogClientSession{
		DialogClientSession: &sipgo.DialogClientSession{
			UA: &dialogUA,
			Dialog: sipgo.Dialog{
				InviteRequest: inviteReq,
			},
		},
	}
	d.Init()

	d.mediaConfig = MediaConfig{
		Codecs:     dg.mediaConf.Codecs,
		Listen:     dg.mediaConf.Listen,
		secureRTP:  tran.MediaSRTP,
		bindIP:     tran.mediaBindIP,
		externalIP: tran.MediaExternalIP,
		dtlsConf:   tran.MediaDTLSConf,
	}

	// gophone: the state callbacks live as long as sipgo keeps the INVITE
	// transaction (64*T1 after the 2xx); they reach d through a pointer
	// emptied when the dialog ends, so an ended call is garbage then.
	// (d.ID is complete only once the answer's To tag is known: read it
	// when the state changes.)
	held := new(atomic.Pointer[DialogClientSession])
	held.Store(d)
	d.Dialog.OnState(func(s sip.DialogState) {
		switch s {
		case sip.DialogStateConfirmed: // on ACK
			// Now dialog is established and can be add into store
			if d := held.Load(); d != nil {
				if err := dg.cache.client.DialogStore(context.Background(), d.ID, d); err != nil {
					dg.log.Error("Failed to store in dialog cache", "error", err)
				}
			}
		case sip.DialogStateEnded:
			if d := held.Swap(nil); d != nil {
				if err := dg.cache.client.DialogDelete(context.Background(), d.ID); err != nil {
					dg.log.Error("Failed to delete client dialog", "error", err)
				}
			}
		}
	})
	return d, nil
}

func (dg *Diago) contactHDRFromTransport(tran *Transport, contact *sip.ContactHeader) {
	// Find contact hdr matching transport
	scheme := "sip"
	if tran.TLSConf != nil && !tran.TLSURINoSIPS {
		scheme = "sips"
	}

	contact.DisplayName = "" //TODO
	contact.Address = sip.Uri{
		Scheme:    scheme,
		User:      dg.ua.Name(),
		Host:      tran.ExternalHost,
		Port:      tran.ExternalPort,
		UriParams: sip.NewParams(),
		Headers:   sip.NewParams(),
	}
	// Transport should be reflected in contact.
	// Set this only if we are using same as bind host, as external network could be different
	// Example TLS termination. External is TLS and this is TCP
	if tran.ExternalHost == tran.BindHost {
		contact.Address.UriParams.Add("transport", tran.Transport)
	}
}

func (dg *Diago) getClient(tran *Transport) *sipgo.Client {
	if dg.client != nil {
		// Use global one if exists
		return dg.client
	}

	return tran.client
}

func (dg *Diago) getTransport(transport string) (*Transport, bool) {
	if transport == "" {
		return &dg.transports[0], true
	}
	for _, t := range dg.transports {
		if sip.NetworkToLower(transport) == t.Transport {
			return &t, true
		}
	}
	return nil, false
}

func (dg *Diago) findTransport(transport string, id string) (*Transport, bool) {
	if id != "" {
		for _, t := range dg.transports {
			if id == t.ID {
				return &t, true
			}
		}
		return nil, false
	}

	if transport != "" {
		return dg.getTransport(transport)
	}

	return dg.getTransport("udp")
}

// Register will create register transaction and keep registration ongoing until error is hit.
// For more granular control over registrations use RegisterTransaction
func (dg *Diago) Register(ctx context.Context, recipient sip.Uri, opts RegisterOptions) error {
	t, err := dg.RegisterTransaction(ctx, recipient, opts)
	if err != nil {
		return err
	}

	if err := t.Register(ctx); err != nil {
		return err
	}

	// Unregister
	defer func() {
		ctx, _ := context.WithTimeout(context.Background(), 5*time.Second)
		err := t.Unregister(ctx)
		if err != nil {
			dg.log.Error("Failed to unregister", "error", err)
			return
		}
		dg.log.Debug("Unregister successfull")
	}()

	for i := 0; ; i++ {
		dg.log.Debug("Qualify sent", "n", i)
		err := t.QualifyLoop(ctx)

		var retryAfter = 5 * time.Second
		var rr *RegisterResponseError
		if errors.As(err, &rr) {
			resCode := rr.RegisterRes.StatusCode
			switch {
			case resCode == 401 || resCode == 407:
				return err
			case resCode > 500 && resCode < 600:
				return err
			case resCode < 200 || resCode > 699:
				// strange
				return err
			}

			if h := rr.RegisterRes.GetHeader("Retry-After"); h != nil {
				ra, _ := strconv.Atoi(h.Value())
				if ra > 0 {
					retryAfter = time.Duration(ra) * time.Second
				}
			}
		}

		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}

		t.expiry = retryAfter
	}
}

// Register transaction creates register transaction object that can be used for Register Unregister requests
func (dg *Diago) RegisterTransaction(ctx context.Context, recipient sip.Uri, opts RegisterOptions) (*RegisterTransaction, error) {
	// Make our client reuse address
	transport, exists := recipient.UriParams.Get("transport")
	if !exists {
		transport = "udp"
	}
	tran, exists := dg.getTransport(transport)
	if !exists {
		return nil, fmt.Errorf("transport=%s does not exists", transport)
	}

	contactHDR := sip.ContactHeader{}
	dg.contactHDRFromTransport(tran, &contactHDR)

	// client, err := sipgo.NewClient(dg.ua,
	// 	sipgo.WithClientHostname(contactHDR.Address.Host),
	// 	// sipgo.WithClientPort(lport),
	// 	sipgo.WithClientNAT(), // add rport support
	// )
	// if err != nil {
	// 	return nil, err
	// }
	client := dg.getClient(tran)
	return newRegisterTransaction(client, recipient, contactHDR, dg.log, opts), nil
}

func (dg *Diago) createClient(tran Transport) (client *sipgo.Client) {
	ua := dg.ua
	// When transport is not binding to specific IP

	opts := []sipgo.ClientOption{
		sipgo.WithClientNAT(),
		sipgo.WithClientLogger(dg.log),
	}

	// UDP is good to be reused
	// 1. Prefer resolved IP when sending out, as sending as unspecifed makes issue in receiving responses
	// 2. Use bind port if IP is specified. ISSUE: if ip is unspecified and SIP starts listen on 0.0.0.0:5060, SIPGO will try to use 192.168.1.1:5060 and therefore fail
	if tran.Transport == "udp" {
		resolvedIP := tran.bindIP
		bindPort := tran.BindPort
		if resolvedIP != nil {
			if resolvedIP.IsUnspecified() && tran.mediaBindIP != nil {
				resolvedIP = tran.mediaBindIP
				bindPort = 0
			}
		}

		hostname := ""
		if resolvedIP != nil && !resolvedIP.IsUnspecified() {
			hostname = resolvedIP.String()
		}

		if hostname != "" {
			opts = append(opts, sipgo.WithClientConnectionAddr(net.JoinHostPort(hostname, strconv.Itoa(bindPort))))
		}
	}

	// Are we behind public IP
	if tran.ExternalHost != tran.BindHost {
		opts = append(opts, sipgo.WithClientHostname(tran.ExternalHost))
		opts = append(opts, sipgo.WithClientPort(tran.ExternalPort))
	}

	cli, err := sipgo.NewClient(ua, opts...)
	if err != nil {
		dg.log.Error("Failed to create transport client", "error", err)
		cli, _ = sipgo.NewClient(ua) // Make some defaut
	}
	return cli
}

func (dg *Diago) DialogCacheServer() DialogCache[*DialogServerSession] {
	return dg.cache.server
}

func (dg *Diago) DialogCacheClient() DialogCache[*DialogClientSession] {
	return dg.cache.client
}
