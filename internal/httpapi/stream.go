package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
)

// streamStart reads a stream request's resume point — the Last-Event-ID
// header, else the command's parameters (?since=N) — and subscribes. On
// failure it has written the error reply and returns nil.
func (s *Server) streamStart(w http.ResponseWriter, r *http.Request, spec command.Spec) *events.Subscription {
	args, err := routeArgs(w, r, spec)
	req := command.Request{Command: spec.Name, Args: args}
	if err == nil {
		err = spec.Validate(args)
	}
	if err == nil && s.Bus == nil {
		err = command.Errorf(command.CodeUnavailable, "events are not available")
	}
	var since uint64
	if err == nil {
		if n, ok := args.Int("since"); ok && n > 0 {
			since = uint64(n)
		}
		if h := r.Header.Get("Last-Event-ID"); h != "" {
			n, ok := parseSeq(h)
			if !ok {
				err = command.Errorf(command.CodeBadArgs, "Last-Event-ID must be an event seq, not %q", h)
			}
			since = n
		}
	}
	if err != nil {
		s.refuse(w, req, err)
		return nil
	}
	s.record(req, command.Response{OK: true})
	return s.Bus.Subscribe(since)
}

// next returns the subscription's next event, or errIdle when none came
// within the heartbeat interval.
func (s *Server) next(ctx context.Context, sub *events.Subscription) (events.Event, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.heartbeat(), errIdle)
	defer cancel()
	e, err := sub.Next(ctx)
	if err != nil && context.Cause(ctx) == errIdle {
		return e, errIdle
	}
	return e, err
}

var errIdle = errors.New("idle")

// eventID is the resume point an event leaves a client at: its seq, or
// for a gap the last seq it reports missed.
func eventID(e events.Event) uint64 {
	if e.Type == events.Gap {
		return e.To
	}
	return e.Seq
}

// more reports whether events after e are already waiting, so that the
// write of e can wait for them.
func (s *Server) more(e events.Event) bool {
	return e.Type == events.Gap || s.Bus.Last() > e.Seq
}

// sse serves a stream command as Server-Sent Events: one frame per event
// with id (the seq; for a gap event its "to"), event (the type) and data
// (the event object), written in batches and flushed when nothing more
// is waiting; a comment line when idle for the heartbeat interval.
func (s *Server) sse(spec command.Spec) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub := s.streamStart(w, r, spec)
		if sub == nil {
			return
		}
		defer sub.Close()
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		rc := http.NewResponseController(w)
		bw := bufio.NewWriterSize(w, 32<<10)
		flush := func() error {
			rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := bw.Flush(); err != nil {
				return err
			}
			return rc.Flush()
		}
		if flush() != nil {
			return
		}
		ctx := r.Context()
		for {
			e, err := s.next(ctx, sub)
			if errors.Is(err, errIdle) {
				bw.WriteString(":\n\n")
				if flush() != nil {
					return
				}
				continue
			}
			if err != nil {
				return
			}
			data, err := json.Marshal(e)
			if err != nil {
				s.logger().Error("http: encoding event", "err", err)
				continue
			}
			bw.WriteString("id: " + strconv.FormatUint(eventID(e), 10) + "\nevent: " + e.Type + "\ndata: ")
			bw.Write(data)
			bw.WriteString("\n\n")
			if s.more(e) && bw.Buffered() < 16<<10 {
				continue
			}
			if err := flush(); err != nil {
				s.logger().Debug("http: writing event stream", "err", err)
				return
			}
		}
	}
}

// websocket serves a stream command over WebSocket: one event object per
// text message, ?since=N (or Last-Event-ID) to resume, a ping when idle
// for the heartbeat interval. The client sends nothing; the Origin must
// be the server's own (the library's default check).
func (s *Server) websocket(spec command.Spec) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub := s.streamStart(w, r, spec)
		if sub == nil {
			return
		}
		defer sub.Close()
		s.streams.Add(1)
		defer s.streams.Done()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			s.logger().Debug("http: websocket handshake", "err", err)
			return
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		for {
			e, err := s.next(ctx, sub)
			if errors.Is(err, errIdle) {
				pctx, cancel := context.WithTimeout(ctx, writeTimeout)
				err = c.Ping(pctx)
				cancel()
				if err != nil {
					return
				}
				continue
			}
			if err != nil {
				if r.Context().Err() != nil || errors.Is(err, events.ErrClosed) {
					c.Close(websocket.StatusGoingAway, "gophone is stopping")
				}
				return
			}
			data, err := json.Marshal(e)
			if err != nil {
				s.logger().Error("http: encoding event", "err", err)
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err = c.Write(wctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				s.logger().Debug("http: writing to websocket", "err", err)
				return
			}
		}
	}
}
