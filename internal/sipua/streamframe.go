package sipua

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// Framing of SIP over TCP and TLS (RFC 3261 §18.3), before sipgo parses.
//
// sipgo reads a stream connection in chunks and closes it, without a word,
// on the first message its stream parser refuses, so a torture message
// over TCP went unanswered where the same datagram got a 400, and its
// transport read filter cannot judge a chunk that is not one message. A
// streamListener gives sipgo connections whose reads yield whole messages
// only, each judged as readFilter judges a datagram (UA.screen): an
// accepted one is handed on, a rejected request is answered by the
// framer on its connection, which stays open. A message that cannot be
// framed — no Content-Length, an invalid one, conflicting ones — leaves no
// boundary to find the next one at: its request is answered 400 and the
// connection closed. CRLF keep-alives between messages are answered here
// (RFC 5626 §4.4.1: a double CRLF ping gets a single CRLF pong).
//
// Everything is bounded: the number of connections, the header section
// and message sizes, the time a message may take to arrive, and the idle
// time between messages, so that a slow or silent client cannot hold
// memory or a connection for long: a new connection must start its first
// message (TLS handshake included) as soon as a message must arrive.

// streamLimits bounds a streamListener's connections.
type streamLimits struct {
	maxConns   int           // open connections; more are closed at once
	maxHeader  int           // header section bytes, start line and final CRLFCRLF included
	maxMessage int           // message bytes, body included
	idle       time.Duration // between messages
	message    time.Duration // from a message's first byte to its last
}

// defaultStreamLimits: a message as large as the largest UDP datagram, a
// message that may take 64·T1 to arrive, and a connection that may idle a
// quarter of an hour (RFC 5626 keep-alives come every 2 minutes or so).
var defaultStreamLimits = streamLimits{
	maxConns:   256,
	maxHeader:  32 << 10,
	maxMessage: 65535,
	idle:       15 * time.Minute,
	message:    32 * time.Second,
}

// streamJudge decides on framed messages for a streamListener.
type streamJudge struct {
	// screen returns a framed message as sipgo is to see it, or nil to
	// drop it, and the response to send back on the connection, if any.
	screen func(msg []byte, src net.Addr) (pass, res []byte)
	// refuse returns the response to a message that cannot be framed
	// (head is its header section), or nil when none may be sent.
	refuse func(head []byte, code int, reason string, src net.Addr) []byte
}

// streamListener frames the connections a net.Listener accepts.
type streamListener struct {
	net.Listener
	judge  streamJudge
	limits streamLimits
	log    *slog.Logger
	slots  chan struct{} // one per open connection
}

func newStreamListener(l net.Listener, judge streamJudge, limits streamLimits, log *slog.Logger) *streamListener {
	return &streamListener{Listener: l, judge: judge, limits: limits, log: log,
		slots: make(chan struct{}, limits.maxConns)}
}

// Accept returns the next connection, framed; one past the connection limit
// is closed instead.
func (l *streamListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return l.frame(c), nil
		default:
			l.log.Info("refusing a SIP connection: too many open", "source", addrString(c.RemoteAddr()), "max", l.limits.maxConns)
			c.Close()
		}
	}
}

// frame returns c, just accepted, framed.
func (l *streamListener) frame(c net.Conn) *streamConn {
	return &streamConn{Conn: c, l: l, accepted: time.Now()}
}

// streamConn is an accepted connection whose Read yields whole, accepted
// SIP messages.
type streamConn struct {
	net.Conn
	l       *streamListener
	mem     []byte    // read buffer
	buf     []byte    // bytes read and not framed yet, within mem
	scanned int       // bytes of buf searched for the end of the header section
	started time.Time // when the first byte of the message in buf came
	out     []byte    // an accepted message not yet all read
	closed  sync.Once
	// accepted is when the connection was; until its first byte comes
	// (active; after the TLS handshake, if any), it gets the time a
	// message may take.
	accepted time.Time
	active   bool
}

// Read returns bytes of the next accepted message. It returns io.EOF when
// the connection must end: closed by the peer, idle or slow past the
// limits, or not framable any more.
func (c *streamConn) Read(b []byte) (int, error) {
	for len(c.out) == 0 {
		msg, err := c.frame()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.l.log.Info("closing a SIP connection", "source", addrString(c.RemoteAddr()), "error", err)
			}
			return 0, io.EOF
		}
		pass, res := c.l.judge.screen(msg, c.RemoteAddr())
		if res != nil {
			if err := c.send(res); err != nil {
				return 0, io.EOF
			}
		}
		c.out = pass
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

// Close closes the connection and frees its slot.
func (c *streamConn) Close() error {
	c.closed.Do(func() { <-c.l.slots })
	return c.Conn.Close()
}

// send writes a response or pong of the framer's own, not waiting on a
// peer that does not read for longer than a message may take.
func (c *streamConn) send(b []byte) error {
	_ = c.SetWriteDeadline(time.Now().Add(c.l.limits.message))
	_, err := c.Conn.Write(b)
	_ = c.SetWriteDeadline(time.Time{})
	return err
}

// frame returns the next message of the stream, answering keep-alives on
// the way; the message stays valid until the next call.
func (c *streamConn) frame() ([]byte, error) {
	for {
		if err := c.keepAlives(); err != nil {
			return nil, err
		}
		msg, err := c.cut()
		if msg != nil || err != nil {
			return msg, err
		}
		if err := c.fill(); err != nil {
			return nil, c.ended(err)
		}
	}
}

// keepAlives consumes the CRLFs before a start line (RFC 3261 §18.3),
// ponging each double CRLF; a lone CRLF at the end of buf waits for what
// follows it.
func (c *streamConn) keepAlives() error {
	for len(c.buf) >= 2 && c.buf[0] == '\r' && c.buf[1] == '\n' {
		switch {
		case len(c.buf) >= 4 && c.buf[2] == '\r' && c.buf[3] == '\n':
			c.consume(4)
			if err := c.send([]byte("\r\n")); err != nil {
				return err
			}
		case len(c.buf) == 2 || len(c.buf) == 3 && c.buf[2] == '\r':
			return nil // a ping's first half, maybe
		default:
			c.consume(2)
		}
	}
	return nil
}

// cut returns the message at the start of buf once it is all there, nil
// while more is needed, or an error when the stream cannot go on.
func (c *streamConn) cut() ([]byte, error) {
	lim := c.l.limits
	from := max(c.scanned-3, 0)
	i := bytes.Index(c.buf[from:], []byte("\r\n\r\n"))
	if i < 0 {
		c.scanned = len(c.buf)
		if len(c.buf) > lim.maxHeader {
			return nil, errors.New("header section too large")
		}
		return nil, nil
	}
	headEnd := from + i + 4
	if headEnd > lim.maxHeader {
		return nil, c.refuse(c.buf[:headEnd], 513, "Message Too Large", "header section too large")
	}
	n, why := streamContentLength(c.buf[:headEnd-4])
	switch {
	case why != "":
		return nil, c.refuse(c.buf[:headEnd], 400, "Bad Request ("+why+")", why)
	case headEnd+n > lim.maxMessage:
		return nil, c.refuse(c.buf[:headEnd], 513, "Message Too Large", "message too large")
	case len(c.buf) < headEnd+n:
		return nil, nil
	}
	msg := c.buf[: headEnd+n : headEnd+n]
	c.consume(headEnd + n)
	return msg, nil
}

// refuse answers the request whose header section is head, if it may be
// answered, and returns the error ending the connection.
func (c *streamConn) refuse(head []byte, code int, reason, why string) error {
	if res := c.l.judge.refuse(head, code, reason, c.RemoteAddr()); res != nil {
		_ = c.send(res)
	}
	return errors.New(why)
}

// consume drops the first n bytes of buf.
func (c *streamConn) consume(n int) {
	c.buf = c.buf[n:]
	c.scanned = 0
	c.started = time.Time{}
}

// fill reads more of the stream into buf, waiting no longer than the
// limits allow.
func (c *streamConn) fill() error {
	lim := c.l.limits
	if cap(c.buf)-len(c.buf) < 1024 {
		c.grow()
	}
	deadline := time.Now().Add(lim.idle)
	switch {
	case len(c.buf) > 0:
		if c.started.IsZero() {
			c.started = time.Now()
		}
		deadline = c.started.Add(lim.message)
	case !c.active:
		deadline = c.accepted.Add(lim.message)
	}
	if err := c.SetReadDeadline(deadline); err != nil {
		return err
	}
	n, err := c.Conn.Read(c.buf[len(c.buf):cap(c.buf)])
	if n > 0 && len(c.buf) == 0 {
		c.started = time.Now()
	}
	c.buf = c.buf[:len(c.buf)+n]
	if n > 0 {
		c.active = true
		return nil
	}
	return err
}

// grow makes room to read into: what is left of buf moves to the front of
// mem, or into a larger one. cut ends the stream before buf holds more than
// the limits allow, so there is always room.
func (c *streamConn) grow() {
	mem := c.mem
	if len(c.buf)+1024 > len(mem) {
		mem = make([]byte, max(4096, min(2*len(mem), c.l.limits.maxMessage+1024)))
	}
	c.buf = mem[:copy(mem, c.buf)]
	c.mem = mem
}

// ended is the error a read error ends the stream with. A peer that
// half-closes after a header section whose Content-Length its body does
// not reach (RFC 4475 clerr) is answered 400 first.
func (c *streamConn) ended(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if len(c.buf) == 0 {
			return errors.New("idle for too long")
		}
		return errors.New("message too slow to arrive")
	case errors.Is(err, io.EOF):
		if i := bytes.Index(c.buf, []byte("\r\n\r\n")); i >= 0 {
			return c.refuse(c.buf[:i+4], 400, "Bad Request (Content-Length)", "Content-Length past the end of the stream")
		}
	}
	return err
}

// streamContentLength returns the Content-Length of the header section
// head (without its final CRLFCRLF), or why it frames no message: none,
// not a number, or several different ones.
func streamContentLength(head []byte) (int, string) {
	n, found := -1, false
	_, rest, _ := bytes.Cut(head, []byte("\r\n")) // not the start line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		// A value folded onto the next lines.
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			var more []byte
			more, rest, _ = bytes.Cut(rest, []byte("\r\n"))
			value = append(append([]byte(nil), value...), more...)
		}
		v, err := strconv.ParseUint(string(bytes.Trim(value, " \t")), 10, 31)
		switch {
		case err != nil:
			return 0, "Content-Length"
		case found && int(v) != n:
			return 0, "Conflicting Content-Length"
		}
		n, found = int(v), true
	}
	if !found {
		return 0, "Missing Content-Length"
	}
	return n, ""
}
