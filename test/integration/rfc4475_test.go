package integration

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// RFC 4475 ("SIP Torture Test Messages") sent to a running daemon.
//
// The 49 messages of RFC 4475 Appendix A are in testdata/rfc4475 (the IETF
// vectors, with EXPECTED.md giving each one's verdict).
// Each is sent as one UDP datagram from a loopback socket to the daemon's SIP
// port (and, by TestRFC4475TortureStream, on a TCP and a TLS connection of
// its own), and what comes back is judged against its class:
//
//   - accept:  a well-formed request; it must be answered, and never with 400
//     (a 100/18x counts: the daemon parsed it and rang).
//   - reject:  a broken request; it must be answered with an error, 400
//     unless the table lists other codes (505 for SIP/7.0, …).
//   - either:  RFC 4475 allows rejecting (400) or liberal acceptance; it must
//     be answered with something and must not break the daemon.
//   - discard: a response that matches no transaction; nothing may come back.
//
// After every message the daemon must still answer `status --json`.
//
// Address rewriting. The messages carry foreign addresses (192.0.2.x,
// example.com). The datagram reaches the daemon because it is sent to the
// daemon's socket, whatever the Request-URI says, so the Request-URI is left
// untouched: it is the subject of many of the tests (ltgtruri, lwsruri,
// escruri, unkscm, novelsc, semiuri, esc01, intmeth). The reply is routed by
// the top Via (RFC 3261 §18.2.2: source IP, sent-by port), so in requests the
// sent-by (host[:port]) of the first Via value — and nothing else — is
// replaced by the test socket's 127.0.0.1:PORT. The match tolerates LWS and
// line folding inside the sent-protocol (wsinv) and the compact form `v:`.
// Responses (discard class) are sent unchanged. Content-Length counts only the
// body, so the rewrite never changes framing; the body bytes (binary in
// mpart01) are never touched.
//
// Responses are matched to their request by Call-ID (by CSeq for insuf, which
// has no Call-ID), so retransmitted final responses to earlier INVITEs (the
// test does not ACK them) cannot be mistaken for answers to later messages.
// Each message is sent from a fresh socket, so messages that share a branch
// (many use z9hG4bKkdjuw) are new transactions, not retransmissions. A final
// response of 300 or more to an INVITE is ACKed. INVITEs the daemon accepts
// ring (autoAnswer is off: 180); the test then ends them with
// `gophone hangup --all`, ACKs the final response and waits for call.ended.

type tortureClass int

const (
	accept tortureClass = iota
	reject
	either
	discard
)

func (c tortureClass) String() string {
	return [...]string{"accept", "reject", "either", "discard"}[c]
}

type tortureCase struct {
	class tortureClass
	// codes, for reject, are the acceptable final codes (default 400).
	codes []int
}

// rfc4475Cases is EXPECTED.md's table, by file name.
var rfc4475Cases = map[string]tortureCase{
	// 3.1.1 valid messages.
	"wsinv.dat":      {class: accept},
	"intmeth.dat":    {class: accept},
	"esc01.dat":      {class: accept},
	"escnull.dat":    {class: accept},
	"esc02.dat":      {class: accept},
	"lwsdisp.dat":    {class: accept},
	"longreq.dat":    {class: accept},
	"dblreq.dat":     {class: accept},
	"semiuri.dat":    {class: accept},
	"transports.dat": {class: accept},
	"mpart01.dat":    {class: accept},
	"unreason.dat":   {class: discard},
	"noreason.dat":   {class: discard},
	// 3.1.2 invalid messages.
	"badinv01.dat":   {class: reject},
	"clerr.dat":      {class: reject},
	"ncl.dat":        {class: reject},
	"scalar02.dat":   {class: reject},
	"scalarlg.dat":   {class: discard},
	"quotbal.dat":    {class: reject},
	"ltgtruri.dat":   {class: either},
	"lwsruri.dat":    {class: reject},
	"lwsstart.dat":   {class: either},
	"trws.dat":       {class: either},
	"escruri.dat":    {class: either},
	"baddate.dat":    {class: either},
	"regbadct.dat":   {class: either},
	"badaspec.dat":   {class: either},
	"baddn.dat":      {class: either},
	"badvers.dat":    {class: reject, codes: []int{505}},
	"mismatch01.dat": {class: reject},
	"mismatch02.dat": {class: reject, codes: []int{501, 400}},
	"bigcode.dat":    {class: discard},
	// 3.2 transaction layer.
	"badbranch.dat": {class: either},
	// 3.3 application layer.
	"insuf.dat":    {class: reject},
	"unkscm.dat":   {class: accept},
	"novelsc.dat":  {class: accept},
	"unksm2.dat":   {class: either},
	"bext01.dat":   {class: accept},
	"invut.dat":    {class: accept},
	"regaut01.dat": {class: accept},
	"multi01.dat":  {class: reject},
	"mcl01.dat":    {class: reject},
	"bcast.dat":    {class: discard},
	"zeromf.dat":   {class: accept},
	"cparam01.dat": {class: accept},
	"cparam02.dat": {class: accept},
	"regescrt.dat": {class: accept},
	"sdp01.dat":    {class: either},
	// 3.4 backward compatibility.
	"inv2543.dat": {class: either},
}

func TestRFC4475Torture(t *testing.T) {
	d := startDaemon(t, "")
	ev := d.Events(t)
	dst, err := net.ResolveUDPAddr("udp", d.SIPAddr())
	if err != nil {
		t.Fatal(err)
	}
	runTorture(t, d, ev, func(t *testing.T) tortureLink {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return &udpLink{conn: conn, dst: dst}
	})

	// dblreq's trailing INVITE must have been ignored (RFC 3261 §18.3).
	for _, e := range ev.All() {
		if strings.Contains(string(e.Raw), "dblreq.0ha0isnda977644900765") {
			t.Errorf("dblreq: the INVITE after the REGISTER was processed: %s", e.Raw)
		}
	}
}

// TestRFC4475TortureStream sends the RFC 4475 messages over TCP and TLS,
// each on a fresh connection, and expects the verdicts they get over UDP:
// framing a stream must not change how a message is judged. Two things
// differ on a stream, by RFC 3261 §18.3: dblreq's trailing INVITE is the
// next message of the stream rather than noise after a datagram's end, so
// only its REGISTER is sent; clerr's body can only be known short of its
// Content-Length when the sender half-closes, which it does; and baddn,
// whose file ends without the empty line, gets it.
func TestRFC4475TortureStream(t *testing.T) {
	tlsPort := testutil.FreePort(t)
	d := startDaemon(t, "tlsListen=127.0.0.1:"+strconv.Itoa(tlsPort)+"\n")
	ev := d.Events(t)
	dial := map[string]func() (net.Conn, error){
		"tcp": func() (net.Conn, error) { return net.Dial("tcp", d.SIPAddr()) },
		"tls": func() (net.Conn, error) {
			// The daemon's certificate is its own, self-signed.
			return tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort), &tls.Config{InsecureSkipVerify: true})
		},
	}
	for _, network := range []string{"tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			runTorture(t, d, ev, func(t *testing.T) tortureLink {
				conn, err := dial[network]()
				if err != nil {
					t.Fatal(err)
				}
				return &streamLink{conn: conn, br: bufio.NewReader(conn)}
			})
		})
	}
}

// runTorture sends each message of testdata/rfc4475 on a link of its own
// and judges what comes back against rfc4475Cases.
func runTorture(t *testing.T, d *testutil.Daemon, ev *testutil.EventStream, open func(t *testing.T) tortureLink) {
	dir := filepath.Join("testdata", "rfc4475")
	files, err := filepath.Glob(filepath.Join(dir, "*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(rfc4475Cases) {
		t.Fatalf("%d .dat files in %s, %d cases in the table", len(files), dir, len(rfc4475Cases))
	}
	for _, f := range files {
		name := filepath.Base(f)
		tc, ok := rfc4475Cases[name]
		if !ok {
			t.Errorf("%s: not in the table", name)
			continue
		}
		t.Run(strings.TrimSuffix(name, ".dat"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// A fresh socket per message: many messages share a branch
			// (z9hG4bKkdjuw), and a new sent-by keeps each one a new
			// transaction rather than a retransmission of an earlier one.
			link := open(t)
			defer link.close()
			_, stream := link.(*streamLink)
			msg := raw
			switch {
			case stream && name == "dblreq.dat":
				msg = firstMessage(t, raw)
			case stream && !bytes.Contains(raw, []byte("\r\n\r\n")):
				// baddn's file ends after its last header line: a
				// datagram ends there, a stream needs the empty line.
				msg = append(raw[:len(raw):len(raw)], "\r\n"...)
			}
			if tc.class != discard {
				msg = rewriteTopVia(t, msg, link.localAddr())
			}
			if err := link.send(msg); err != nil {
				t.Fatal(err)
			}
			if stream && bodyShort(msg) {
				if err := link.(*streamLink).closeWrite(); err != nil {
					t.Fatal(err)
				}
			}
			got := collectAnswers(t, link, msg, tc.class, d, ev)
			judge(t, name, tc, got, msg)
			// The daemon must be alive and have no call left behind.
			if st := d.Status(t); len(st.Calls) != 0 {
				t.Errorf("calls left after %s: %+v", name, st.Calls)
			}
		})
	}
}

// tortureLink carries torture messages to the daemon and its answers back.
type tortureLink interface {
	send(b []byte) error
	// recv returns the next message from the daemon, a timeout error at
	// deadline, or io.EOF once the daemon closed the connection.
	recv(deadline time.Time) ([]byte, error)
	localAddr() string
	close()
}

// udpLink is a UDP socket sending to the daemon's SIP port.
type udpLink struct {
	conn *net.UDPConn
	dst  *net.UDPAddr
	buf  [65535]byte
}

func (l *udpLink) send(b []byte) error {
	_, err := l.conn.WriteToUDP(b, l.dst)
	return err
}

func (l *udpLink) recv(deadline time.Time) ([]byte, error) {
	if err := l.conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	n, _, err := l.conn.ReadFromUDP(l.buf[:])
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), l.buf[:n]...), nil
}

func (l *udpLink) localAddr() string { return l.conn.LocalAddr().String() }
func (l *udpLink) close()            { l.conn.Close() }

// streamLink is a TCP or TLS connection to the daemon; what comes back is
// framed by Content-Length.
type streamLink struct {
	conn net.Conn
	br   *bufio.Reader
	// shut is set once the test half-closed the connection; the daemon
	// answered statelessly and closes its end, so there is nothing to ACK.
	shut bool
}

func (l *streamLink) send(b []byte) error {
	if l.shut {
		return nil
	}
	_, err := l.conn.Write(b)
	return err
}

func (l *streamLink) recv(deadline time.Time) ([]byte, error) {
	if err := l.conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	var msg []byte
	for {
		line, err := l.br.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if len(msg) == 0 && string(line) == "\r\n" {
			continue // a CRLF between messages
		}
		msg = append(msg, line...)
		if string(line) == "\r\n" {
			break
		}
	}
	if cl := headerValues(msg, "content-length", "l"); len(cl) == 1 {
		n, err := strconv.Atoi(cl[0])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("response with Content-Length %q", cl[0])
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(l.br, body); err != nil {
			return nil, err
		}
		msg = append(msg, body...)
	}
	return msg, nil
}

func (l *streamLink) localAddr() string { return l.conn.LocalAddr().String() }
func (l *streamLink) close()            { l.conn.Close() }

func (l *streamLink) closeWrite() error {
	l.shut = true
	return l.conn.(interface{ CloseWrite() error }).CloseWrite()
}

// firstMessage returns the first message of msg, cut at its Content-Length.
func firstMessage(t *testing.T, msg []byte) []byte {
	t.Helper()
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	cl := headerValues(msg, "content-length", "l")
	if end < 0 || len(cl) != 1 {
		t.Fatalf("no single Content-Length in %q", firstLine(msg))
	}
	n, err := strconv.Atoi(cl[0])
	if err != nil {
		t.Fatal(err)
	}
	return msg[:end+4+n]
}

// bodyShort reports whether msg's body is shorter than its Content-Length
// says (clerr).
func bodyShort(msg []byte) bool {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	cl := headerValues(msg, "content-length", "l")
	if end < 0 || len(cl) != 1 {
		return false
	}
	n, err := strconv.Atoi(cl[0])
	return err == nil && len(msg)-end-4 < n
}

// answer is one response the daemon sent to a torture request.
type answer struct {
	code int
	raw  []byte
}

// collectAnswers reads what the daemon sends back for one message until a
// final response arrives, or, for the discard class, for a short bounded
// window. A final response of 300 or more to an INVITE is ACKed (RFC 3261
// §17.1.1.3) so that the daemon's transaction ends; when the daemon rings
// (18x), the call is ended with `hangup --all` and its final response awaited.
func collectAnswers(t *testing.T, link tortureLink, req []byte, class tortureClass, d *testutil.Daemon, ev *testutil.EventStream) []answer {
	t.Helper()
	keys := tortureKeys(req)
	window := 5 * time.Second
	if class == discard {
		window = 750 * time.Millisecond
	}
	deadline := time.Now().Add(window)
	var got []answer
	rang := false
	hungUp := make(chan error, 1)
	for {
		data, err := link.recv(deadline)
		if err != nil {
			var ne net.Error
			closed := errors.Is(err, io.EOF)
			if closed || errors.As(err, &ne) && ne.Timeout() {
				if rang {
					t.Errorf("no final response after hangup --all")
					if err := <-hungUp; err != nil {
						t.Error(err)
					}
				}
				return got
			}
			t.Fatal(err)
		}
		code, ok := statusCode(data)
		if !ok {
			t.Logf("daemon sent a request (ignored): %q", firstLine(data))
			continue
		}
		if !matchesKeys(data, keys) {
			t.Logf("ignored a response for another message: %q", firstLine(data))
			continue
		}
		if code >= 200 && rang {
			// The final response to a call the test ended.
			ackNon2xx(t, link, req, data, code)
			if err := <-hungUp; err != nil {
				t.Error(err)
			}
			ev.WaitType(t, 10*time.Second, "call.ended", "")
			return got
		}
		got = append(got, answer{code: code, raw: data})
		switch {
		case code >= 200:
			ackNon2xx(t, link, req, data, code)
			return got
		case code >= 180 && !rang:
			// The daemon rings: end the call.
			rang = true
			// hangup returns once the call has ended, which takes the ACK
			// for the final response: run it while reading goes on.
			go func() {
				_, err := d.Run("hangup", "--all")
				hungUp <- err
			}()
			deadline = time.Now().Add(window)
		}
	}
}

// ackNon2xx sends the ACK for a final response of 300 or more to an INVITE:
// the original Request-URI, the response's top Via, From, To and Call-ID,
// and the CSeq number with method ACK. Nothing is sent for other responses,
// or when the request line is too broken to take a Request-URI from (the
// daemon answered those statelessly: there is no transaction to end).
func ackNon2xx(t *testing.T, link tortureLink, req, res []byte, code int) {
	t.Helper()
	cseq := headerValues(res, "cseq")
	if code < 300 || len(cseq) == 0 {
		return
	}
	f := strings.Fields(cseq[0])
	if len(f) != 2 || f[1] != "INVITE" {
		return
	}
	parts := strings.Split(firstLine(req), " ")
	if len(parts) != 3 || parts[0] != "INVITE" {
		return
	}
	via := headerValues(res, "via", "v")
	from := headerValues(res, "from", "f")
	to := headerValues(res, "to", "t")
	callID := headerValues(res, "call-id", "i")
	if len(via) == 0 || len(from) != 1 || len(to) != 1 || len(callID) != 1 {
		return
	}
	topVia, _, _ := strings.Cut(via[0], ",")
	ack := "ACK " + parts[1] + " SIP/2.0\r\n" +
		"Via: " + topVia + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: " + from[0] + "\r\n" +
		"To: " + to[0] + "\r\n" +
		"Call-ID: " + callID[0] + "\r\n" +
		"CSeq: " + f[0] + " ACK\r\n" +
		"Content-Length: 0\r\n\r\n"
	if err := link.send([]byte(ack)); err != nil {
		t.Fatal(err)
	}
}

func judge(t *testing.T, name string, tc tortureCase, got []answer, sent []byte) {
	t.Helper()
	var codes []int
	final := 0
	for _, a := range got {
		codes = append(codes, a.code)
		if a.code >= 180 {
			final = a.code
		}
	}
	t.Logf("%s (%s): answered %v", name, tc.class, codes)
	switch tc.class {
	case discard:
		if len(got) > 0 {
			t.Errorf("%s is a stray response and must be discarded; the daemon answered %v:\n%s", name, codes, got[0].raw)
		}
	case accept:
		if final == 0 {
			t.Errorf("%s must be parsed and answered; got %v", name, codes)
		}
		for _, c := range codes {
			if c == 400 {
				t.Errorf("%s must be accepted by the parser; got 400:\n%s", name, got[len(got)-1].raw)
			}
		}
	case either:
		if final == 0 {
			t.Errorf("%s must be answered (400 or processed); got %v", name, codes)
		}
	case reject:
		want := tc.codes
		if len(want) == 0 {
			want = []int{400}
		}
		ok := false
		for _, w := range want {
			ok = ok || final == w
		}
		if !ok {
			t.Errorf("%s must be rejected with %v; got %v", name, want, codes)
		}
	}
	// No integer wrap: a CSeq echoed in a response is the number sent.
	sentCSeq := headerValues(sent, "cseq")
	for _, a := range got {
		for _, v := range headerValues(a.raw, "cseq") {
			num := strings.Fields(v)
			if len(num) == 0 || len(sentCSeq) == 0 {
				continue
			}
			found := false
			for _, s := range sentCSeq {
				if f := strings.Fields(s); len(f) > 0 && sameNumber(f[0], num[0]) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: response CSeq %q is not one that was sent (%q)", name, v, sentCSeq)
			}
		}
	}
}

// sameNumber compares two decimal numbers of any size ("0009" is "9").
func sameNumber(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	return a == b
}

// viaSentBy matches, at the start of a header line, a Via header (long or
// compact form) up to its first sent-by, which is group 1. LWS and folding
// are allowed where RFC 3261 allows them (wsinv uses both).
var viaSentBy = regexp.MustCompile(`(?i)^(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*[0-9.]+[ \t\r\n]*/[ \t\r\n]*[A-Z0-9]+[ \t\r\n]+([^;,\s]+)`)

// rewriteTopVia replaces the sent-by of the first Via value of a request
// with addr; see the comment at the top of the file.
func rewriteTopVia(t *testing.T, msg []byte, addr string) []byte {
	t.Helper()
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(msg)
	}
	for pos := 0; pos < end; {
		nl := bytes.Index(msg[pos:end], []byte("\r\n"))
		if nl < 0 {
			break
		}
		pos += nl + 2
		m := viaSentBy.FindSubmatchIndex(msg[pos:end])
		if m == nil {
			continue
		}
		out := make([]byte, 0, len(msg)+len(addr))
		out = append(out, msg[:pos+m[2]]...)
		out = append(out, addr...)
		out = append(out, msg[pos+m[3]:]...)
		return out
	}
	t.Fatalf("no Via in %q", firstLine(msg))
	return nil
}

// tortureKeys returns the Call-IDs of a message's first header block, or its
// CSeq values when it has no Call-ID (insuf).
func tortureKeys(msg []byte) []string {
	if ids := headerValues(msg, "call-id", "i"); len(ids) > 0 {
		return ids
	}
	return headerValues(msg, "cseq")
}

func matchesKeys(res []byte, keys []string) bool {
	vals := headerValues(res, "call-id", "i")
	if len(vals) == 0 {
		vals = headerValues(res, "cseq")
	}
	for _, v := range vals {
		for _, k := range keys {
			if v == k {
				return true
			}
		}
	}
	return false
}

// headerValues returns the (unfolded, trimmed) values of the header fields
// named names (lower case) in msg's first header block.
func headerValues(msg []byte, names ...string) []string {
	head := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		head = msg[:i]
	}
	lines := strings.Split(string(head), "\r\n")
	var unfolded []string
	for i, l := range lines {
		if i == 0 {
			continue // start line
		}
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(unfolded) > 0 {
			unfolded[len(unfolded)-1] += " " + strings.TrimSpace(l)
			continue
		}
		unfolded = append(unfolded, l)
	}
	var out []string
	for _, l := range unfolded {
		n, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n = strings.ToLower(strings.TrimSpace(n))
		for _, want := range names {
			if n == want {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// statusCode returns the code of a response's status line.
func statusCode(msg []byte) (int, bool) {
	line := firstLine(msg)
	if !strings.HasPrefix(line, "SIP/2.0 ") {
		return 0, false
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, false
	}
	return code, true
}

func firstLine(msg []byte) string {
	if i := bytes.Index(msg, []byte("\r\n")); i >= 0 {
		return string(msg[:i])
	}
	return string(msg)
}

// TestTortureStreamConnection: on one TCP connection, a double-CRLF ping is
// ponged, a rejected request leaves the connection open for the next one
// (RFC 3261 §18.3: a 400 can be sent and framing goes on), and a request
// whose Content-Length cannot frame the stream (ncl: -999) is answered 400
// and the connection closed.
func TestTortureStreamConnection(t *testing.T) {
	d := startDaemon(t, "")
	conn, err := net.Dial("tcp", d.SIPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	link := &streamLink{conn: conn, br: bufio.NewReader(conn)}
	if err := link.send([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	pong := make([]byte, 2)
	if _, err := io.ReadFull(link.br, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("pong: %q, %v; want CRLF", pong, err)
	}
	for _, step := range []struct {
		file string
		code int
	}{
		{"badinv01.dat", 400},
		{"zeromf.dat", 200},
		{"ncl.dat", 400},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "rfc4475", step.file))
		if err != nil {
			t.Fatal(err)
		}
		msg := rewriteTopVia(t, raw, link.localAddr())
		if err := link.send(msg); err != nil {
			t.Fatalf("%s: %v", step.file, err)
		}
		res, err := link.recv(time.Now().Add(5 * time.Second))
		if err != nil {
			t.Fatalf("%s: no answer on the connection: %v", step.file, err)
		}
		if code, _ := statusCode(res); code != step.code {
			t.Errorf("%s: answered %q, want %d", step.file, firstLine(res), step.code)
		}
	}
	if _, err := link.recv(time.Now().Add(5 * time.Second)); !errors.Is(err, io.EOF) {
		t.Errorf("after ncl the connection must be closed; read: %v", err)
	}
}
