package sipua

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// frameTestJudge passes every message but those starting with BAD, which
// it answers 400, and answers a message that cannot be framed with its
// code, as UA.screenStream and UA.refuseStream do.
var frameTestJudge = streamJudge{
	screen: func(msg []byte, _ net.Addr) ([]byte, []byte) {
		if bytes.HasPrefix(msg, []byte("BAD")) {
			return nil, []byte("SIP/2.0 400 Bad Request\r\n\r\n")
		}
		return msg, nil
	},
	refuse: func(head []byte, code int, reason string, _ net.Addr) []byte {
		if strings.HasPrefix(string(head), "SIP/") {
			return nil
		}
		return fmt.Appendf(nil, "SIP/2.0 %d %s\r\n\r\n", code, reason)
	},
}

// frameTestLimits are small, so that the limits are quick to reach.
var frameTestLimits = streamLimits{maxConns: 4, maxHeader: 256, maxMessage: 512, idle: time.Minute, message: time.Minute}

// sipMsg is a request with body, its Content-Length given by cl ("" for
// the length of the body, "-" for none).
func sipMsg(method, body, cl string) string {
	if cl == "" {
		cl = fmt.Sprint(len(body))
	}
	m := method + " sip:a@127.0.0.1 SIP/2.0\r\nCall-ID: x\r\n"
	if cl != "-" {
		m += "Content-Length: " + cl + "\r\n"
	}
	return m + "\r\n" + body
}

const probe = "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nl: 0\r\n\r\n"

// frameOver writes each chunk to a framed connection (net.Pipe: every
// write reaches the framer as one or more reads of its own), then a probe
// message. It returns the messages the framer handed on, before the probe,
// what it wrote back, and whether the connection was still open for the
// probe.
func frameOver(t *testing.T, limits streamLimits, chunks ...string) (msgs []string, back string, open bool) {
	t.Helper()
	client, server := net.Pipe()
	l := newStreamListener(nil, frameTestJudge, limits, slog.New(slog.DiscardHandler))
	l.slots <- struct{}{}
	conn := l.frame(server)
	got := make(chan string, 16)
	go func() {
		defer close(got)
		defer conn.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	backc := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(client)
		backc <- string(b)
	}()
	for _, c := range chunks {
		if _, err := client.Write([]byte(c)); err != nil {
			break // the framer closed the connection
		}
	}
	_, err := client.Write([]byte(probe))
	for m := range got {
		if m == probe {
			open = true
			break
		}
		msgs = append(msgs, m)
	}
	if err == nil && !open {
		t.Fatalf("the probe was written but not handed on")
	}
	client.Close()
	return msgs, <-backc, open
}

func TestStreamFrame(t *testing.T) {
	a, b := sipMsg("OPTIONS", "", ""), sipMsg("MESSAGE", "hello\r\n\r\nworld", "")
	big := sipMsg("MESSAGE", strings.Repeat("x", 600), "")
	tests := []struct {
		name   string
		chunks []string
		msgs   []string
		back   string
		open   bool // after the chunks
	}{
		{"one message", []string{a}, []string{a}, "", true},
		{"split reads", []string{b[:10], b[10 : len(b)-8], b[len(b)-8 : len(b)-3], b[len(b)-3:]}, []string{b}, "", true},
		{"split at the header end", []string{b[:strings.Index(b, "\r\n\r\n")+2], b[strings.Index(b, "\r\n\r\n")+2:]}, []string{b}, "", true},
		{"several messages in one read", []string{a + b + a}, []string{a, b, a}, "", true},
		{"ping", []string{"\r\n\r\n"}, nil, "\r\n", true},
		{"ping in two reads", []string{"\r\n", "\r\n"}, nil, "\r\n", true},
		{"pings around messages", []string{"\r\n\r\n" + a + "\r\n\r\n\r\n\r\n" + b}, []string{a, b}, "\r\n\r\n\r\n", true},
		{"CRLF before a start line", []string{"\r\n" + a}, []string{a}, "", true},
		{"rejected request, connection kept", []string{"BAD" + a + b}, []string{b}, "SIP/2.0 400 Bad Request\r\n\r\n", true},
		{"missing Content-Length", []string{sipMsg("OPTIONS", "", "-") + a}, nil, "SIP/2.0 400 Bad Request (Missing Content-Length)\r\n\r\n", false},
		{"negative Content-Length", []string{sipMsg("OPTIONS", "", "-999") + a}, nil, "SIP/2.0 400 Bad Request (Content-Length)\r\n\r\n", false},
		{"conflicting Content-Length", []string{strings.Replace(a, "Call-ID", "l: 5\r\nCall-ID", 1) + a}, nil, "SIP/2.0 400 Bad Request (Conflicting Content-Length)\r\n\r\n", false},
		{"repeated equal Content-Length", []string{strings.Replace(a, "Call-ID", "l: 0\r\nCall-ID", 1)}, []string{strings.Replace(a, "Call-ID", "l: 0\r\nCall-ID", 1)}, "", true},
		{"response without Content-Length", []string{"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n"}, nil, "", false},
		{"message too large", []string{big}, nil, "SIP/2.0 513 Message Too Large\r\n\r\n", false},
		{"header section too large", []string{"OPTIONS sip:a SIP/2.0\r\nX: " + strings.Repeat("y", 300)}, nil, "", false},
		{"folded Content-Length", []string{"OPTIONS sip:a SIP/2.0\r\nContent-Length :\r\n 3\r\n\r\nabc"}, []string{"OPTIONS sip:a SIP/2.0\r\nContent-Length :\r\n 3\r\n\r\nabc"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, back, open := frameOver(t, frameTestLimits, tc.chunks...)
			if strings.Join(msgs, "|") != strings.Join(tc.msgs, "|") {
				t.Errorf("handed on %q, want %q", msgs, tc.msgs)
			}
			if back != tc.back {
				t.Errorf("wrote back %q, want %q", back, tc.back)
			}
			if open != tc.open {
				t.Errorf("connection open afterwards: %v, want %v", open, tc.open)
			}
		})
	}
}

// TestStreamFrameSlow: a new connection that sends nothing, a message
// that takes longer than its limit to arrive and a connection idle past
// its limit are closed.
func TestStreamFrameSlow(t *testing.T) {
	const short, long = 50 * time.Millisecond, time.Hour
	for _, tc := range []struct {
		name          string
		chunk         string
		idle, message time.Duration
	}{
		{"silent new connection", "", long, short},
		{"partial message", "OPTIONS sip:a SIP/2.0\r\n", long, short},
		{"idle after a message", probe, short, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limits := frameTestLimits
			limits.idle, limits.message = tc.idle, tc.message
			client, server := net.Pipe()
			defer client.Close()
			l := newStreamListener(nil, frameTestJudge, limits, slog.New(slog.DiscardHandler))
			l.slots <- struct{}{}
			conn := l.frame(server)
			done := make(chan error, 1)
			go func() {
				buf := make([]byte, 1024)
				for {
					if _, err := conn.Read(buf); err != nil {
						done <- err
						return
					}
				}
			}()
			if tc.chunk != "" {
				if _, err := client.Write([]byte(tc.chunk)); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-done:
				if err != io.EOF {
					t.Errorf("Read: %v, want io.EOF", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the connection was not closed")
			}
		})
	}
}

// TestStreamFrameTCP runs the framer on real TCP connections: a body short
// of its Content-Length is answered 400 when the peer half-closes (RFC
// 4475 clerr), and a connection past the limit is closed at once.
func TestStreamFrameTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limits := frameTestLimits
	limits.maxConns = 1
	l := newStreamListener(ln, frameTestJudge, limits, slog.New(slog.DiscardHandler))
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()

	first, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Write([]byte(sipMsg("INVITE", "v=0", "99"))); err != nil {
		t.Fatal(err)
	}
	// The first connection holds the only slot: a second is closed.
	second, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a connection past the limit: read %d, %v; want io.EOF", n, err)
	}

	if err := first.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = first.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(first).ReadString('\n')
	if line != "SIP/2.0 400 Bad Request (Content-Length)\r\n" {
		t.Errorf("after a half-close mid-body: %q, %v; want a 400", line, err)
	}
}

// repeatConn is a net.Conn whose reads return msg over and over, in reads
// of up to 4 KiB; its writes and deadlines do nothing.
type repeatConn struct {
	net.Conn
	msg  []byte
	off  int
	addr net.TCPAddr
}

func (c *repeatConn) Read(b []byte) (int, error) {
	n := copy(b[:min(len(b), 4096)], c.msg[c.off:])
	c.off = (c.off + n) % len(c.msg)
	return n, nil
}

func (c *repeatConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *repeatConn) RemoteAddr() net.Addr             { return &c.addr }
func (c *repeatConn) SetReadDeadline(time.Time) error  { return nil }
func (c *repeatConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkStreamFrame is the framer's own cost per message (the judge
// passes every message; a UA's parses it, as it parses each datagram).
func BenchmarkStreamFrame(b *testing.B) {
	msg := sipMsg("INVITE", strings.Repeat("v=0\r\n", 60), "")
	msg = strings.Replace(msg, "Call-ID: x\r\n", strings.Repeat("X-Header: some value here\r\n", 25), 1)
	l := newStreamListener(nil, frameTestJudge, defaultStreamLimits, slog.New(slog.DiscardHandler))
	l.slots <- struct{}{}
	conn := l.frame(&repeatConn{msg: []byte(msg)})
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := conn.Read(buf); err != nil || n != len(msg) {
			b.Fatalf("Read: %d, %v; want %d", n, err, len(msg))
		}
	}
}

// TestUAJudgesTCPAsUDP: a UA's TCP listener answers requests sent several
// to a write, on connections used at once: a valid OPTIONS 200, one whose
// Request-URI holds LWS 400, an unknown method 501, each on its own
// connection, as it answers them over UDP, and an OPTIONS with a body larger
// than sipgo's read buffer (32 KiB), handed on in pieces, 200. (Not in
// order: the framer answers the bad ones at once, sipgo's handler the
// OPTIONS later.)
func TestUAJudgesTCPAsUDP(t *testing.T) {
	u := startTestUA(t, nil)
	req := func(method, ruri, callID, body string) string {
		return method + " " + ruri + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK" + callID + "\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n" +
			"Call-ID: " + callID + "\r\nCSeq: 1 " + method + "\r\nContent-Type: text/plain\r\n" +
			"Content-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body
	}
	want := map[string]int{"a": 200, "b": 400, "c": 501, "d": 200}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", u.Addr())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			id := fmt.Sprintf("tcp%d-", i)
			all := req("OPTIONS", "sip:b@127.0.0.1", id+"a", "") +
				req("OPTIONS", "sip:b@127.0.0.1; lr", id+"b", "") +
				req("FOO", "sip:b@127.0.0.1", id+"c", "") +
				req("OPTIONS", "sip:b@127.0.0.1", id+"d", strings.Repeat("x", 40000))
			if _, err := conn.Write([]byte(all)); err != nil {
				t.Error(err)
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			for range want {
				res, err := readStreamResponse(br)
				if err != nil {
					t.Errorf("conn %d: %v", i, err)
					return
				}
				callID := res.CallID().Value()
				if code := want[strings.TrimPrefix(callID, id)]; res.StatusCode != code {
					t.Errorf("conn %d: %s answered %d %s, want %d", i, callID, res.StatusCode, res.Reason, code)
				}
			}
		}()
	}
	wg.Wait()
}

// readStreamResponse reads one response framed by its Content-Length.
func readStreamResponse(br *bufio.Reader) (*sip.Response, error) {
	var head []byte
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		head = append(head, line...)
		if string(line) == "\r\n" {
			break
		}
	}
	msg, err := sip.ParseMessage(head)
	if err != nil {
		return nil, err
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return nil, fmt.Errorf("not a response: %s", head)
	}
	if n := res.ContentLength(); n != nil && *n > 0 {
		if _, err := br.Discard(int(*n)); err != nil {
			return nil, err
		}
	}
	return res, nil
}
