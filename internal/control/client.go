package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
)

// ErrClientClosed is returned by Client methods after Close, or after the
// connection ended.
var ErrClientClosed = errors.New("control: connection closed")

// Client is a connection to the control socket. Do may be called from
// several goroutines; the daemon runs one connection's requests in the
// order they were sent. Subscribe turns the connection into an event
// stream for good.
type Client struct {
	conn net.Conn
	ids  atomic.Uint64

	wmu sync.Mutex // serialises writes

	mu         sync.Mutex
	pending    map[string]chan command.Response
	events     chan events.Event // set by Subscribe
	err        error             // why the reader stopped
	done       chan struct{}     // closed when the reader stops
	subscribed bool

	closeOnce sync.Once
	closing   chan struct{} // closed by Close
}

// Dial connects to the daemon's control socket at path. If no daemon is
// running there the error wraps ErrNotRunning.
func Dial(ctx context.Context, path string) (*Client, error) {
	conn, err := dial(ctx, path)
	if err != nil {
		return nil, err
	}
	c := &Client{
		conn:    conn,
		pending: make(map[string]chan command.Response),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	go c.read()
	return c, nil
}

// Close closes the connection. Calls waiting in Do or Subscribe return.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closing)
		err = c.conn.Close()
	})
	<-c.done
	return err
}

// Do sends req and waits for its reply. It gives req an id if it has none.
// If ctx ends first Do returns ctx.Err(); the command may still run, and
// its late reply is discarded.
func (c *Client) Do(ctx context.Context, req command.Request) (command.Response, error) {
	if err := ctx.Err(); err != nil {
		return command.Response{}, err
	}
	if req.ID == "" {
		req.ID = "c" + strconv.FormatUint(c.ids.Add(1), 10)
	}
	ch := make(chan command.Response, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return command.Response{}, err
	}
	if _, dup := c.pending[req.ID]; dup {
		c.mu.Unlock()
		return command.Response{}, fmt.Errorf("control: request id %q already in flight", req.ID)
	}
	c.pending[req.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}()

	if err := c.send(ctx, req); err != nil {
		return command.Response{}, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-c.done:
		// The reply may have arrived just before the connection ended.
		select {
		case resp := <-ch:
			return resp, nil
		default:
		}
		return command.Response{}, c.readErr()
	case <-ctx.Done():
		return command.Response{}, ctx.Err()
	}
}

// Subscribe asks for every event after since (0: all the daemon still
// holds) and calls fn with each, in order, including gap events. It
// returns fn's error, ctx.Err(), or the error that ended the connection.
// The connection stays an event stream: Subscribe closes the Client
// before it returns.
func (c *Client) Subscribe(ctx context.Context, since uint64, fn func(events.Event) error) error {
	defer c.Close()
	ch := make(chan events.Event)
	c.mu.Lock()
	if c.subscribed {
		c.mu.Unlock()
		return errors.New("control: already subscribed")
	}
	c.subscribed = true
	c.events = ch
	c.mu.Unlock()

	resp, err := c.Do(ctx, command.Request{Command: "Subscribe", Args: command.Args{"since": since}})
	if err != nil {
		return err
	}
	if !resp.OK {
		if resp.Error != nil {
			return resp.Error
		}
		return errors.New("control: subscribe refused")
	}
	for {
		select {
		case e := <-ch:
			if err := fn(e); err != nil {
				return err
			}
		case <-c.done:
			return c.readErr()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send writes one request line, giving up when ctx ends.
func (c *Client) send(ctx context.Context, req command.Request) error {
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("control: encoding request: %w", err)
	}
	line = append(line, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.conn.Close() })
	_, err = c.conn.Write(line)
	if !stop() {
		// ctx ended during the write: the line may be half sent, so the
		// connection was closed and is useless now.
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%w: sending request: %w", ErrClientClosed, err)
	}
	return nil
}

func (c *Client) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// reply is either a Response (it has "ok") or an Event.
type reply struct {
	OK *bool `json:"ok"`
}

// read dispatches incoming lines until the connection ends.
func (c *Client) read() {
	err := c.readLoop()
	c.mu.Lock()
	if errors.Is(err, net.ErrClosed) || err == nil {
		err = ErrClientClosed
	} else {
		err = fmt.Errorf("%w: %w", ErrClientClosed, err)
	}
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

func (c *Client) readLoop() error {
	// Events and replies are far below this, but be generous: the
	// client must not choke on a large Status result.
	const maxReply = 64 << 20
	r := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		line, err := readLine(r, maxReply)
		if err != nil {
			return err
		}
		var probe reply
		if err := json.Unmarshal(line, &probe); err != nil {
			return fmt.Errorf("control: malformed line from daemon: %w", err)
		}
		if probe.OK != nil {
			var resp command.Response
			if err := json.Unmarshal(line, &resp); err != nil {
				return fmt.Errorf("control: malformed reply: %w", err)
			}
			c.mu.Lock()
			ch := c.pending[resp.ID]
			c.mu.Unlock()
			if ch != nil {
				select {
				case ch <- resp:
				default: // a duplicate reply; the first one counts
				}
			}
			continue
		}
		var e events.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("control: malformed event: %w", err)
		}
		c.mu.Lock()
		ch := c.events
		c.mu.Unlock()
		if ch == nil {
			continue
		}
		// Block until Subscribe takes it: back-pressure reaches the
		// daemon, whose bus reports a gap if we fall too far behind.
		select {
		case ch <- e:
		case <-c.closing:
			return nil
		}
	}
}
