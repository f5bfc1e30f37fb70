package testutil

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gophone/gophone/internal/events"
)

// API is a client of a daemon's HTTP API.
type API struct {
	// Base is the API's root URL, http://host:port; Token the bearer token
	// sent with every request ("" sends none).
	Base   string
	Token  string
	Client *http.Client
}

// NewAPI returns a client of the HTTP API at addr (host:port).
func NewAPI(addr, token string) *API {
	return &API{Base: "http://" + addr, Token: token, Client: &http.Client{Timeout: 60 * time.Second}}
}

// API returns a client of the daemon's HTTP API with the token the daemon
// generated into its data directory.
func (d *Daemon) API(t testing.TB) *API {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Dir, "data", "api-token"))
	if err != nil {
		t.Fatalf("reading the daemon's API token: %v", err)
	}
	return NewAPI(d.HTTPAddr(), strings.TrimSpace(string(b)))
}

// Reply is an HTTP API reply: the status, the headers and the decoded
// body ({"ok","result"} or {"ok","error":{"code","message"}}).
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Code returns the error code, or "" for a success.
func (r Reply) Code() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Code
}

// String renders the status and the body, cut to 400 bytes.
func (r Reply) String() string {
	b := bytes.TrimSpace(r.Body)
	if len(b) > 400 {
		b = append(b[:400:400], "…"...)
	}
	return fmt.Sprintf("%d %s", r.Status, b)
}

// Do sends a request and decodes the reply. body is nil (none), a string
// or []byte (sent as is) or a value sent as JSON; header holds extra
// header name, value pairs ("Host" sets the Host header).
func (a *API) Do(t testing.TB, method, path string, body any, header ...string) Reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	a.authorize(req)
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	r := Reply{Status: resp.StatusCode, Header: resp.Header}
	if r.Body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatalf("%s %s: reading reply: %v", method, path, err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.Body, &r); err != nil {
			t.Fatalf("%s %s: reply is not JSON: %v\n%s", method, path, err, r.Body)
		}
	}
	return r
}

func (a *API) authorize(req *http.Request) {
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
}

// StreamEvent is one event from an HTTP event stream: the decoded event,
// its raw JSON and, over SSE, the frame's id and event lines.
type StreamEvent struct {
	events.Event
	Raw     json.RawMessage
	ID      string // SSE id:
	SSEType string // SSE event:
}

// Stream is a running HTTP event stream client (SSE or WebSocket) whose
// events are collected as they arrive.
type Stream struct {
	log        *eventLog[StreamEvent]
	cancel     context.CancelFunc
	heartbeats atomic.Int64
	mu         sync.Mutex
	err        error // why the stream ended
}

// SSE opens GET path (e.g. "/v1/events?since=0") as an SSE stream;
// lastEventID, when not empty, is sent as Last-Event-ID. It fails the
// test unless the server answers 200 text/event-stream. The stream is
// closed at cleanup.
func (a *API) SSE(t testing.TB, path, lastEventID string) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Base+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	a.authorize(req)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := (&http.Client{Transport: a.Client.Transport}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %s %s: %s", path, resp.Status, resp.Header.Get("Content-Type"), b)
	}
	s := &Stream{log: newEventLog[StreamEvent](), cancel: cancel}
	go s.readSSE(resp.Body)
	t.Cleanup(s.Close)
	return s
}

// readSSE parses SSE frames: id, event and data lines up to a blank line;
// a line starting with ':' is a comment (a heartbeat).
func (s *Stream) readSSE(body io.ReadCloser) {
	defer s.log.finish()
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var f StreamEvent
	var data []byte
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				f.Raw = append(json.RawMessage(nil), data...)
				if err := json.Unmarshal(data, &f.Event); err != nil {
					s.fail(fmt.Errorf("SSE data is not an event: %v: %s", err, data))
					return
				}
				s.log.add(f)
			}
			f, data = StreamEvent{}, nil
		case strings.HasPrefix(line, ":"):
			s.heartbeats.Add(1)
		case strings.HasPrefix(line, "id: "):
			f.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			f.SSEType = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:]...)
		default:
			s.fail(fmt.Errorf("unexpected SSE line %q", line))
			return
		}
	}
	s.fail(sc.Err())
}

// WebSocket opens path (e.g. "/v1/events/ws?since=0") as a WebSocket
// event stream. It is closed at cleanup.
func (a *API) WebSocket(t testing.TB, path string) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hdr := http.Header{}
	if a.Token != "" {
		hdr.Set("Authorization", "Bearer "+a.Token)
	}
	url := "ws" + strings.TrimPrefix(a.Base, "http") + path
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	s := &Stream{log: newEventLog[StreamEvent](), cancel: cancel}
	c, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: hdr,
		OnPingReceived: func(context.Context, []byte) bool {
			s.heartbeats.Add(1)
			return true
		}})
	if err != nil {
		cancel()
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("websocket %s: %v %s", path, err, status)
	}
	c.SetReadLimit(1 << 20)
	go s.readWS(ctx, c)
	t.Cleanup(s.Close)
	return s
}

func (s *Stream) readWS(ctx context.Context, c *websocket.Conn) {
	defer s.log.finish()
	defer c.CloseNow()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			s.fail(err)
			return
		}
		if typ != websocket.MessageText {
			s.fail(fmt.Errorf("websocket message of type %v", typ))
			return
		}
		f := StreamEvent{Raw: append(json.RawMessage(nil), data...)}
		if err := json.Unmarshal(data, &f.Event); err != nil {
			s.fail(fmt.Errorf("websocket message is not an event: %v: %s", err, data))
			return
		}
		s.log.add(f)
	}
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// Err returns why the stream ended (nil while it runs or after a clean
// end).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close disconnects the client and waits for its reader to end.
func (s *Stream) Close() {
	s.cancel()
	<-s.log.done
}

// Done is closed when the stream has ended.
func (s *Stream) Done() <-chan struct{} { return s.log.done }

// All returns every event received so far.
func (s *Stream) All() []StreamEvent { return s.log.all() }

// Heartbeats returns how many SSE comment lines or WebSocket pings
// arrived.
func (s *Stream) Heartbeats() int { return int(s.heartbeats.Load()) }

// WaitFor returns the first event after the one the previous WaitFor
// returned for which match is true, waiting up to timeout; it fails the
// test on timeout or when the stream ends.
func (s *Stream) WaitFor(t testing.TB, timeout time.Duration, match func(StreamEvent) bool) StreamEvent {
	t.Helper()
	e, err := s.log.wait(timeout, match)
	if err != nil {
		all := s.log.all()
		last := "none"
		if len(all) > 0 {
			last = string(all[len(all)-1].Raw)
		}
		t.Fatalf("event stream: %v (waited up to %v; %d events, the last %s; stream error %v)",
			err, timeout, len(all), last, s.Err())
	}
	return e
}

// WaitType waits for the next event of the given type (and call id, when
// call is not empty).
func (s *Stream) WaitType(t testing.TB, timeout time.Duration, typ, call string) StreamEvent {
	t.Helper()
	return s.WaitFor(t, timeout, func(e StreamEvent) bool {
		return e.Type == typ && (call == "" || e.Call == call)
	})
}
