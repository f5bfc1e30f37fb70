// Package control serves gophone's control socket: a Unix socket that
// carries JSON lines, one request and one reply per line, and turns into an
// event stream on Subscribe.
package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/audit"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
)

// MaxLineSize is the longest request line the server accepts, without the
// newline.
const MaxLineSize = 1 << 20

// CodeBadRequest is the error code for a request line that is not a valid
// request: malformed JSON, a missing command or a line over MaxLineSize.
const CodeBadRequest = command.CodeBadRequest

// Channel is the audit channel name of requests from the control socket.
const Channel = "socket"

// Executor runs commands. It is given the channel the request came from
// ("socket" here) for its audit log.
type Executor interface {
	Exec(ctx context.Context, channel string, req command.Request) command.Response
}

// Server serves the control protocol. Exec runs every command except the
// stream commands of Commands (Subscribe), which the server answers itself
// from Bus.
type Server struct {
	Exec Executor
	// Commands is the command table; its Stream commands turn a
	// connection into the event stream.
	Commands command.Specs
	Bus      *events.Bus  // nil: Subscribe fails with "unavailable"
	Logger   *slog.Logger // nil: no logging
	// Audit, if set, records Subscribe requests, which never reach Exec.
	// Commands given to Exec are Exec's to record.
	Audit *audit.Log
	// Replied, if set, is called after a command's reply was written (or
	// failed to be): the place for work that must follow the reply, such
	// as shutting down after Close.
	Replied func(req command.Request, resp command.Response)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Serve accepts connections on ln and serves each in its own goroutine
// until ctx ends; then it closes ln and every connection, waits for their
// handlers and returns nil. It returns an error if Accept fails for
// another reason.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait() // runs last: after cancel has closed the connections
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if ne, ok := err.(interface{ Temporary() bool }); ok && ne.Temporary() {
				// Out of file descriptors and the like: back off as
				// net/http does rather than spin or give up.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger().Warn("control: accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("control: accepting connection: %w", err)
		}
		delay = 0
		wg.Go(func() { s.serveConn(ctx, conn) })
	}
}

// serveConn runs the requests of one connection in order, one at a time.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	log := s.logger()
	r := bufio.NewReaderSize(conn, 64<<10)
	w := bufio.NewWriter(conn)
	for {
		line, err := readLine(r, MaxLineSize)
		if errors.Is(err, errLineTooLong) {
			if s.reply(w, command.Response{OK: false, Error: command.Errorf(CodeBadRequest,
				"request line longer than %d bytes", MaxLineSize)}) != nil {
				return
			}
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 {
			req, resp, ok := parseRequest(line)
			switch {
			case !ok:
				if s.reply(w, resp) != nil {
					return
				}
			case s.isStream(req.Command):
				if s.subscribe(ctx, cancel, r, w, req) {
					return
				}
			default:
				resp := s.exec(ctx, req)
				err := s.reply(w, resp)
				if s.Replied != nil {
					s.Replied(req, resp)
				}
				if err != nil {
					log.Debug("control: writing reply", "err", err)
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				log.Debug("control: reading request", "err", err)
			}
			return
		}
	}
}

func (s *Server) isStream(name string) bool {
	spec, ok := s.Commands.Lookup(name)
	return ok && spec.Stream
}

// subscribe answers a Subscribe request and then streams events until the
// client goes away, the bus closes or ctx ends. It reports whether the
// connection is done; a refused Subscribe leaves it usable.
func (s *Server) subscribe(ctx context.Context, cancel context.CancelFunc, r *bufio.Reader, w *bufio.Writer, req command.Request) (done bool) {
	fail := func(e *command.Error) bool {
		resp := command.Response{ID: req.ID, Error: e}
		s.record(req, resp)
		return s.reply(w, resp) != nil
	}
	if spec, ok := s.Commands.Lookup(req.Command); ok {
		if err := spec.Validate(req.Args); err != nil {
			return fail(err)
		}
	}
	if s.Bus == nil {
		return fail(command.Errorf(command.CodeUnavailable, "events are not available"))
	}
	var since uint64
	if n, ok := req.Args.Int("since"); ok && n > 0 {
		since = uint64(n)
	}
	sub := s.Bus.Subscribe(since)
	defer sub.Close()
	resp := command.Response{ID: req.ID, OK: true, Result: map[string]any{
		"subscribed": true,
		"last":       s.Bus.Last(),
	}}
	s.record(req, resp)
	if s.reply(w, resp) != nil {
		return true
	}

	// The client sends nothing more; its EOF means it went away.
	go func() {
		io.Copy(io.Discard, r)
		cancel()
	}()

	defer w.Flush()
	enc := json.NewEncoder(w)
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return true
		}
		if err := enc.Encode(e); err != nil {
			return true
		}
		// Batch what is already waiting into one write.
		if w.Buffered() < 32<<10 && s.Bus.Last() > e.Seq && e.Seq != 0 {
			continue
		}
		if err := w.Flush(); err != nil {
			s.logger().Debug("control: writing event", "err", err)
			return true
		}
	}
}

// exec runs req, turning a panic in the executor into an internal error
// so that one bad command does not take the daemon down.
func (s *Server) exec(ctx context.Context, req command.Request) (resp command.Response) {
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("control: command panicked", "command", req.Command, "panic", p,
				"stack", string(debug.Stack()))
			resp = command.Response{Error: command.Errorf(command.CodeInternal, "internal error")}
		}
		resp.ID = req.ID
	}()
	return s.Exec.Exec(ctx, Channel, req)
}

func (s *Server) record(req command.Request, resp command.Response) {
	if s.Audit != nil {
		s.Audit.Record(Channel, req, resp)
	}
}

// reply writes one response line and flushes it.
func (s *Server) reply(w *bufio.Writer, resp command.Response) error {
	line, err := json.Marshal(resp)
	if err != nil {
		s.logger().Error("control: encoding reply", "err", err)
		line, _ = json.Marshal(command.Response{ID: resp.ID, Error: command.Errorf(command.CodeInternal,
			"encoding result: %v", err)})
	}
	w.Write(line)
	w.WriteByte('\n')
	return w.Flush()
}

// wireRequest is a request as it arrives. The id may be a JSON string or,
// leniently, a number.
type wireRequest struct {
	ID      json.RawMessage `json:"id"`
	Command string          `json:"command"`
	Args    command.Args    `json:"args"`
}

// parseRequest decodes one request line. If the line is not a valid
// request it returns ok == false and the bad_request reply to send.
func parseRequest(line []byte) (req command.Request, bad command.Response, ok bool) {
	var w wireRequest
	if err := json.Unmarshal(line, &w); err != nil {
		// Salvage the id, if there is one, so the client can match the reply.
		var idOnly struct {
			ID json.RawMessage `json:"id"`
		}
		json.Unmarshal(line, &idOnly)
		return req, command.Response{ID: idString(idOnly.ID), Error: command.Errorf(CodeBadRequest,
			"malformed request: %v", err)}, false
	}
	req = command.Request{ID: idString(w.ID), Command: w.Command, Args: w.Args}
	if strings.TrimSpace(req.Command) == "" {
		return req, command.Response{ID: req.ID, Error: command.Errorf(CodeBadRequest,
			"request has no command")}, false
	}
	return req, command.Response{}, true
}

func idString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its newline. If the line is longer than
// max bytes it consumes the whole line and returns errLineTooLong. At the
// end of input it returns the last unterminated line, if any, with io.EOF.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		frag, err := r.ReadSlice('\n')
		if !tooLong {
			line = append(line, frag...)
			if n := len(bytes.TrimSuffix(line, []byte("\n"))); n > max {
				tooLong, line = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return nil, errLineTooLong
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}
