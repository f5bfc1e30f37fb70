// Package httpapi serves gophone's HTTP API (DESIGN §5): every command of
// the command table on its own route and on POST /v1/commands/{name}, the
// event stream over SSE and WebSocket, and an OpenAPI document generated
// from the table. Every route needs the API token (or a browser session
// started with it) and a Host header that names this server.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/audit"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
)

// Channel is the audit channel name of requests from the HTTP API.
const Channel = "http"

// MaxBodySize is the largest request body the API reads.
const MaxBodySize = 1 << 20

// DefaultHeartbeat is how often an idle event stream gets an SSE comment
// or a WebSocket ping, so that proxies keep it open and a dead peer is
// noticed.
const DefaultHeartbeat = 15 * time.Second

// writeTimeout bounds one write to a stream client; one that reads
// nothing for that long is disconnected (it can resume from its last seq).
const writeTimeout = time.Minute

// Executor runs commands; the daemon is one.
type Executor interface {
	Exec(ctx context.Context, channel string, req command.Request) command.Response
}

// Server is the HTTP API. Set the fields, then call Serve (or Handler for
// a server of one's own); do not change them after.
type Server struct {
	Exec Executor
	// Commands is the command table. Each command is served on its Route
	// and on POST /v1/commands/{name}; a Stream command's route serves
	// the event stream (SSE, and WebSocket at the route's path + "/ws").
	Commands command.Specs
	Bus      *events.Bus // nil: the streams answer "unavailable"
	// Token is the API token (LoadToken). It must not be empty.
	Token string
	// Listen is the configured listen address; a Host header naming it
	// is accepted besides the bound address and loopback names.
	Listen string
	Logger *slog.Logger // nil: no logging
	// Audit, if set, records stream requests, which never reach Exec.
	Audit *audit.Log
	// Replied, if set, is called after a command's reply was written, as
	// on the control socket (Close stops the daemon there).
	Replied func(req command.Request, resp command.Response)
	// Heartbeat is the idle interval of stream heartbeats
	// (DefaultHeartbeat when zero).
	Heartbeat time.Duration
	// UI, if set, serves every path outside /v1/ and /metrics (the web
	// dialpad at `/`) without the token: it holds no data, and everything
	// it shows comes from /v1 with the session cookie. The Host check
	// applies to it as to the API.
	UI http.Handler
	// Metrics, if set, serves GET /metrics (Prometheus), behind the token
	// like every route of the API.
	Metrics http.Handler

	sessions *sessions
	streams  sync.WaitGroup // WebSocket handlers, which Shutdown does not wait for
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) heartbeat() time.Duration {
	if s.Heartbeat > 0 {
		return s.Heartbeat
	}
	return DefaultHeartbeat
}

// Serve serves the API on ln until ctx ends, then shuts down: requests in
// flight see their context cancelled, streams end, and Serve returns once
// their handlers have (bounded by 5 s). It returns an error if serving
// fails for another reason.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Token == "" {
		return errors.New("http: no API token")
	}
	hs := &http.Server{
		Handler:           s.Handler(ln.Addr().String(), s.Listen),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc // http.ErrServerClosed
	s.streams.Wait()
	return nil
}

// Handler returns the API's handler for a server bound to the addresses
// addrs (host:port) — what the Host check accepts besides loopback names
// with their ports. Call it once per Server (Serve does).
func (s *Server) Handler(addrs ...string) http.Handler {
	s.sessions = newSessions(s.Token)
	mux := http.NewServeMux()
	rt := newRouteSet()
	handle := func(method, path string, h http.HandlerFunc) {
		mux.HandleFunc(method+" "+path, h)
		rt.add(method, path)
	}
	for _, spec := range s.Commands {
		if spec.Route.Path == "" {
			continue
		}
		if spec.Stream {
			handle(http.MethodGet, spec.Route.Path, s.sse(spec))
			handle(http.MethodGet, wsPath(spec), s.websocket(spec))
			continue
		}
		handle(spec.Route.Method, spec.Route.Path, s.command(spec))
	}
	handle(http.MethodPost, "/v1/commands/{name}", s.anyCommand)
	handle(http.MethodPost, sessionPath, s.signIn)
	handle(http.MethodDelete, sessionPath, s.signOut)
	doc, err := json.Marshal(s.openAPI())
	if err != nil {
		panic(err) // maps of strings, ints and bools: it cannot fail
	}
	handle(http.MethodGet, openAPIPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, json.RawMessage(doc))
	})
	if s.Metrics != nil {
		mux.Handle("GET "+metricsPath, s.Metrics)
		rt.add(http.MethodGet, metricsPath)
	}
	mux.HandleFunc("/", rt.notFound)

	var h http.Handler = mux
	h = s.guard(newHostCheck(addrs...), h)
	// A browser's cross-origin POST (another page on localhost, whose
	// cookies are same-site) is refused before it reaches the API.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, command.Errorf(command.CodeForbidden, "cross-origin request refused"))
	}))
	h = cop.Handler(h)
	return s.recoverPanics(h)
}

// metricsPath is where the Prometheus metrics are served.
const metricsPath = "/metrics"

// wsPath is where a stream command's WebSocket is served.
func wsPath(spec command.Spec) string { return spec.Route.Path + "/ws" }

// command serves spec on its own route.
func (s *Server) command(spec command.Spec) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		args, err := routeArgs(w, r, spec)
		req := command.Request{Command: spec.Name, Args: args}
		if err != nil {
			s.refuse(w, req, err)
			return
		}
		s.run(w, r, req)
	}
}

// anyCommand serves POST /v1/commands/{name} {"args":{…}}.
func (s *Server) anyCommand(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Args command.Args `json:"args"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		writeError(w, err)
		return
	}
	s.run(w, r, command.Request{Command: r.PathValue("name"), Args: body.Args})
}

// run executes req and writes the reply.
func (s *Server) run(w http.ResponseWriter, r *http.Request, req command.Request) {
	resp := s.exec(r.Context(), req)
	writeReply(w, resp)
	if s.Replied != nil {
		s.Replied(req, resp)
	}
}

// refuse answers a request whose arguments could not be read as the
// command's, and records it as Exec records a failed validation.
func (s *Server) refuse(w http.ResponseWriter, req command.Request, err *command.Error) {
	resp := command.Response{Error: err}
	s.record(req, resp)
	writeReply(w, resp)
}

// exec runs req, turning a panic in the executor into an internal error.
func (s *Server) exec(ctx context.Context, req command.Request) (resp command.Response) {
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("http: command panicked", "command", req.Command, "panic", p,
				"stack", string(debug.Stack()))
			resp = command.Response{Error: command.Errorf(command.CodeInternal, "internal error")}
		}
	}()
	return s.Exec.Exec(ctx, Channel, req)
}

func (s *Server) record(req command.Request, resp command.Response) {
	if s.Audit != nil {
		s.Audit.Record(Channel, req, resp)
	}
}

// recoverPanics answers 500 internal for a panic outside Exec (which has
// its own recovery), instead of net/http's dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger().Error("http: handler panicked", "path", r.URL.Path, "panic", p,
					"stack", string(debug.Stack()))
				writeError(w, command.Errorf(command.CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
