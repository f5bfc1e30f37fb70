package testutil

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// BaresipCtrl is a client of baresip's ctrl_tcp module: commands go as
// netstring-framed JSON, each with a token that its response carries back;
// events go to the function given to DialBaresipCtrl. It needs no
// testing.TB, so the benchmarks' driver uses it too.
type BaresipCtrl struct {
	conn    net.Conn
	onEvent func(BaresipEvent)
	closed  chan struct{} // closed once the connection has ended

	wmu   sync.Mutex // serialises writes to conn
	mu    sync.Mutex
	token int
	waits map[string]chan BaresipResponse
}

// DialBaresipCtrl connects to ctrl_tcp at addr; onEvent, if not nil, is
// called for every event, in order, from the connection's reader.
func DialBaresipCtrl(addr string, onEvent func(BaresipEvent)) (*BaresipCtrl, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &BaresipCtrl{conn: conn, onEvent: onEvent, closed: make(chan struct{}),
		waits: make(map[string]chan BaresipResponse)}
	go c.read()
	return c, nil
}

// Closed is closed once the connection has ended.
func (c *BaresipCtrl) Closed() <-chan struct{} { return c.closed }

// Close ends the connection.
func (c *BaresipCtrl) Close() error { return c.conn.Close() }

// Command sends a command (the long names of baresip's menu: "dial",
// "accept", "hangup", "sndcode", "listcalls", "quit", …) and waits for its
// response until ctx ends. A response that is not ok is an error.
func (c *BaresipCtrl) Command(ctx context.Context, cmd, params string) (BaresipResponse, error) {
	c.mu.Lock()
	c.token++
	tok := "gt" + strconv.Itoa(c.token)
	ch := make(chan BaresipResponse, 1)
	c.waits[tok] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waits, tok)
		c.mu.Unlock()
	}()

	msg, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": tok})
	if err != nil {
		return BaresipResponse{}, err
	}
	c.wmu.Lock()
	_, err = fmt.Fprintf(c.conn, "%d:%s,", len(msg), msg)
	c.wmu.Unlock()
	if err != nil {
		return BaresipResponse{}, fmt.Errorf("baresip %s: %w", cmd, err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return r, fmt.Errorf("baresip %s %s: failed: %s", cmd, params, r.Data)
		}
		return r, nil
	case <-c.closed:
		return BaresipResponse{}, fmt.Errorf("baresip %s: control connection closed", cmd)
	case <-ctx.Done():
		return BaresipResponse{}, fmt.Errorf("baresip %s: no response: %w", cmd, ctx.Err())
	}
}

// read demultiplexes the ctrl_tcp stream into responses and events.
func (c *BaresipCtrl) read() {
	defer close(c.closed)
	r := bufio.NewReader(c.conn)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			return
		}
		var head struct {
			Event    bool   `json:"event"`
			Response bool   `json:"response"`
			Token    string `json:"token"`
		}
		if json.Unmarshal(msg, &head) != nil {
			continue
		}
		switch {
		case head.Event:
			var e BaresipEvent
			if c.onEvent != nil && json.Unmarshal(msg, &e) == nil {
				e.Raw = msg
				c.onEvent(e)
			}
		case head.Response:
			var resp BaresipResponse
			if json.Unmarshal(msg, &resp) == nil {
				c.mu.Lock()
				ch := c.waits[resp.Token]
				c.mu.Unlock()
				if ch != nil {
					ch <- resp
				}
			}
		}
	}
}

// readNetstring reads one "LEN:DATA," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 16<<20 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring not terminated by ','")
	}
	return buf[:n], nil
}
