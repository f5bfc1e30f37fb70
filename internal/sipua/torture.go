package sipua

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Request validation that sipgo and diago leave out (RFC 3261 §8.2, §18.3;
// exercised by the RFC 4475 torture messages, test/integration/rfc4475_test.go).
//
// Two layers:
//
//   - checkRequest/rejectInvalid judge a request sipgo parsed, in the UA's
//     request middleware before diago sees it: another SIP version (505),
//     missing or repeated mandatory headers, several Content-Length values, a
//     CSeq method that is not the request's (400), an unknown method (501), a
//     Request-URI scheme other than sip, sips or tel (416). diago dereferences
//     From/To/Call-ID without checking, so a request missing one would
//     otherwise crash the daemon.
//   - readFilter (sipgo's transport read filter) sees every UDP datagram
//     before sipgo parses it. sipgo drops a request it cannot parse without
//     a word (RFC 3261 wants an answer, so the sender stops retransmitting),
//     so when a datagram does not parse, and is a request whose Via still
//     says where to answer, readFilter answers it statelessly — 505 for
//     another SIP version, 416 when only the Request-URI scheme is unknown,
//     400 otherwise — with Via, From, To, Call-ID and CSeq copied verbatim,
//     and drops the datagram. Numbers that do not fit (CSeq past 2^32-1, a
//     negative Content-Length) fail sipgo's parse and so get 400 here; they
//     are never truncated. A parsed request of an unknown method is
//     answered 501 here too (over TCP the no-route handler, which passes
//     the middleware, does it). Unparsable responses are left to
//     sipgo, which discards them. TCP is a byte stream, not one message per
//     read, so the filter leaves it alone: the streamListener of
//     streamframe.go frames each message first and judges it the same way
//     (UA.screen), answering on the message's connection.

// statusUnsupportedURIScheme is 416 (RFC 3261 §21.4.14); sipgo names no
// constant for it.
const statusUnsupportedURIScheme = 416

// knownMethod reports the methods of RFC 3261 and its registered extensions;
// any other method is answered 501 Not Implemented (RFC 3261 §21.5.2), one
// of these that gophone does not handle gets diago's 405.
func knownMethod(m string) bool {
	switch m {
	case "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
		"NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE":
		return true
	}
	return false
}

// checkRequest returns the error status (and reason phrase) a request must be
// answered with before any handler sees it, or 0 when it is acceptable.
func checkRequest(req *sip.Request) (code int, reason string) {
	if req.SipVersion != "SIP/2.0" {
		return sip.StatusVersionNotSupported, "Version Not Supported"
	}
	// Max-Forwards is mandatory too, but RFC 2543 peers omit it and a UAS
	// does not need it (RFC 4475 §3.4.1).
	mandatory := []struct {
		name    string
		present bool
	}{
		{"Via", req.Via() != nil},
		{"From", req.From() != nil},
		{"To", req.To() != nil},
		{"Call-ID", req.CallID() != nil},
		{"CSeq", req.CSeq() != nil},
	}
	for _, h := range mandatory {
		if !h.present {
			return sip.StatusBadRequest, "Missing " + h.name + " Header"
		}
	}
	// Header fields that are not comma-separated lists may appear once.
	for _, name := range []string{"From", "To", "Call-ID", "CSeq", "Content-Length", "Max-Forwards"} {
		if len(req.GetHeaders(name)) > 1 {
			return sip.StatusBadRequest, "Multiple " + name + " Headers"
		}
	}
	method := string(req.Method)
	if !knownMethod(method) {
		return sip.StatusNotImplemented, "Not Implemented"
	}
	// sipgo upper-cases the request-line method but not the CSeq one.
	if !strings.EqualFold(req.CSeq().MethodName.String(), method) {
		return sip.StatusBadRequest, "CSeq Method Does Not Match"
	}
	switch req.Recipient.Scheme {
	case "sip", "sips", "tel":
	default:
		return statusUnsupportedURIScheme, "Unsupported URI Scheme"
	}
	return 0, ""
}

// rejectInvalid answers a request that checkRequest refuses and reports
// whether it did; the caller then stops handling the request. An ACK is
// never answered, only dropped.
func (u *UA) rejectInvalid(req *sip.Request, tx sip.ServerTransaction) bool {
	code, reason := checkRequest(req)
	if code == 0 {
		return false
	}
	u.log.Info("rejecting an invalid SIP request", "method", string(req.Method), "source", req.Source(), "code", code, "reason", reason)
	if req.Method == sip.ACK || tx == nil {
		return true
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0" // NewResponseFromRequest copies the request's (SIP/7.0)
	if code == sip.StatusNotImplemented {
		res.AppendHeader(u.allow())
	}
	if err := tx.Respond(res); err != nil {
		u.log.Info("answering an invalid SIP request", "error", err)
	}
	return true
}

// readFilter is sipgo's transport read filter: see the comment at the top of
// the file. It never returns an error (that would stop the listener).
func (u *UA) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(info.Transport, "udp") || len(bytes.TrimSpace(data)) == 0 {
		return data, nil
	}
	pass, res, dst := u.screen(data, info.RemoteAddr)
	if res != nil {
		if err := u.writeUDP(info.LocalAddr, res, dst); err != nil {
			u.log.Info("answering an invalid SIP request", "error", err)
		}
	}
	return pass, nil
}

// screen judges one message from src, a datagram or a message framed from
// a stream (streamframe.go): it returns the message as sipgo is to see it,
// or nil to drop it, and the response to send back instead, if any, with
// where a datagram's goes.
func (u *UA) screen(data []byte, src net.Addr) (pass, res []byte, dst *net.UDPAddr) {
	data, msg, code, reason, why := u.judge(data)
	if code == 0 {
		switch res, ok := msg.(*sip.Response); {
		case msg == nil:
			// A response that does not parse: sipgo would discard a
			// datagram, but close a stream on it.
			u.log.Info("dropping an unparsable SIP response", "source", addrString(src))
			return nil, nil, nil
		case ok && u.forkedAnswer(res):
			return nil, nil, nil
		}
		return data, nil, nil
	}
	var extra []sip.Header
	if code == sip.StatusNotImplemented {
		extra = append(extra, u.allow())
	}
	res, dst = statelessResponse(data, code, reason, src, extra...)
	if res == nil {
		u.log.Info("dropping an invalid SIP message", "source", addrString(src), "error", why)
		return nil, nil, nil
	}
	u.log.Info("rejecting an invalid SIP request", "source", addrString(src), "error", why, "status", firstLine(res))
	return nil, res, dst
}

// screenStream is screen for a message framed from a TCP or TLS stream,
// whose answer goes back on its connection.
func (u *UA) screenStream(msg []byte, src net.Addr) (pass, res []byte) {
	pass, res, _ = u.screen(msg, src)
	return pass, res
}

// refuseStream answers a request from a TCP or TLS stream that cannot be
// framed (head is its header section); a response is never answered.
func (u *UA) refuseStream(head []byte, code int, reason string, src net.Addr) []byte {
	if bytes.HasPrefix(head, []byte("SIP/")) {
		return nil
	}
	res, _ := statelessResponse(head, code, reason, src)
	return res
}

// judge is screen's decision on a message: the message as sipgo
// is to see it (its parameter LWS removed), and either code 0, to hand it
// on, or the status to answer it with instead (why says what is wrong).
// With code 0, msg is the datagram parsed, or nil if it did not parse.
func (u *UA) judge(data []byte) (out []byte, msg sip.Message, code int, reason, why string) {
	if n := normalizeParamLWS(data); n != nil {
		data = n
	}
	msg, err := u.parser.ParseSIP(data)
	switch req, ok := msg.(*sip.Request); {
	case err == nil && (!ok || knownMethod(string(req.Method))):
		return data, msg, 0, "", ""
	case err == nil:
		// An unknown method: answered here, statelessly, before any
		// transaction exists for it.
		code, reason = checkRequest(req)
		return data, msg, code, reason, reason
	case bytes.HasPrefix(data, []byte("SIP/")):
		return data, nil, 0, "", "" // a broken response: sipgo discards it
	}
	code, reason = u.unparsableStatus(data, err)
	return data, nil, code, reason, err.Error()
}

// normalizeParamLWS rewrites the header fields of paramHeader with the LWS
// (including line folding) around ';', '=' and ',' outside quoted strings
// and <> removed, and returns the new message, or nil when nothing needed
// it. sipgo keeps that whitespace in parameter names and values, so it does
// not see the tag in "To: <sip:a@b> ; tag = 1" (RFC 4475 wsinv), loses the
// dialog and, for a branch without the RFC 3261 cookie, even the transaction.
// The body is never touched, so Content-Length stays right.
func normalizeParamLWS(data []byte) []byte {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 || !hasParamLWS(data[:end]) {
		return nil
	}
	return rewriteParamLWS(data, end)
}

// rewriteParamLWS is normalizeParamLWS without the quick check; the header
// section ends at end.
func rewriteParamLWS(data []byte, end int) []byte {
	lines := strings.Split(string(data[:end]), "\r\n")
	var out []string
	changed := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		name, value, ok := strings.Cut(l, ":")
		if i == 0 || !ok || !isParamHeader([]byte(strings.TrimSpace(name))) {
			out = append(out, l)
			continue
		}
		// Unfold the field's continuation lines.
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			value += " " + strings.TrimLeft(lines[i+1], " \t")
			i++
		}
		n := name + ":" + squeezeParamLWS(value)
		if n != l {
			changed = true
		}
		out = append(out, n)
	}
	if !changed {
		return nil
	}
	msg := []byte(strings.Join(out, "\r\n"))
	return append(msg, data[end:]...)
}

// hasParamLWS reports, without allocating, whether normalizeParamLWS may
// have work in the header section head: an isParamHeader field with a space or
// tab next to ';', '=' or ',', or continued on a folded line. Nearly no
// message has, so the common case costs one scan.
func hasParamLWS(head []byte) bool {
	param := false
	_, rest, _ := bytes.Cut(head, []byte("\r\n")) // not the start line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if param {
				return true
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		param = ok && isParamHeader(bytes.TrimSpace(name))
		if !param {
			continue
		}
		for i, c := range value {
			if c != ' ' && c != '\t' {
				continue
			}
			if i > 0 && isParamSep(value[i-1]) || i+1 < len(value) && isParamSep(value[i+1]) {
				return true
			}
		}
	}
	return false
}

func isParamSep(c byte) bool { return c == ';' || c == '=' || c == ',' }

// isParamHeader reports the header fields (long and compact names, any
// case) whose grammar is an address or Via value followed by ;params, where
// the LWS around SEMI, EQUAL and COMMA is insignificant (RFC 3261 §25.1).
func isParamHeader(name []byte) bool {
	for _, h := range [...]string{"via", "v", "from", "f", "to", "t", "contact", "m", "route", "record-route"} {
		if len(name) == len(h) && bytes.EqualFold(name, []byte(h)) {
			return true
		}
	}
	return false
}

// squeezeParamLWS removes spaces and tabs next to ';', '=' and ',' outside
// quoted strings and <>.
func squeezeParamLWS(v string) string {
	b := make([]byte, 0, len(v))
	inQuote, inAngle, escaped, skipWS := false, false, false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case inQuote:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inQuote = false
			}
		case inAngle:
			if c == '>' {
				inAngle = false
			}
		case c == ' ' || c == '\t':
			if skipWS {
				continue
			}
		case c == ';' || c == '=' || c == ',':
			for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
				b = b[:len(b)-1]
			}
			b = append(b, c)
			skipWS = true
			continue
		case c == '"':
			inQuote = true
		case c == '<':
			inAngle = true
		}
		skipWS = false
		b = append(b, c)
	}
	return string(b)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// writeUDP sends b to dst from the UDP listener bound to local.
func (u *UA) writeUDP(local net.Addr, b []byte, dst *net.UDPAddr) error {
	conn, err := u.ua.TransportLayer().GetConnection("udp", local.String())
	if err != nil {
		return err
	}
	w, ok := conn.(interface {
		WriteTo([]byte, net.Addr) (int, error)
	})
	if !ok {
		return net.UnknownNetworkError("udp connection cannot WriteTo")
	}
	_, err = w.WriteTo(b, dst)
	return err
}

// unparsableStatus is the status for a request sipgo cannot parse: 505 for
// another SIP version, 416 when the Request-URI's scheme is all that is
// wrong, 400 otherwise.
func (u *UA) unparsableStatus(data []byte, parseErr error) (int, string) {
	parts := strings.Split(firstLine(data), " ")
	switch {
	case len(parts) == 3 && strings.HasPrefix(parts[2], "SIP/") && parts[2] != "SIP/2.0":
		return sip.StatusVersionNotSupported, "Version Not Supported"
	case len(parts) == 3 && u.onlySchemeUnknown(parts, data):
		return statusUnsupportedURIScheme, "Unsupported URI Scheme"
	case errors.Is(parseErr, sip.ErrParseReadBodyIncomplete):
		return sip.StatusBadRequest, "Bad Request (Content-Length)"
	}
	return sip.StatusBadRequest, "Bad Request"
}

// statelessResponse builds a response with code and reason to the request
// in data, with its Via, From, To, Call-ID and CSeq copied verbatim, and
// where to send it (RFC 3261 §18.2.2: the source IP, at the top Via's
// sent-by port, or the source port with rport). It returns nil when no
// response may or can be sent: an ACK, no Via, a Via with a bare CR or LF,
// or a source that is neither UDP nor TCP; a From, To, Call-ID or CSeq with one is
// left out. The extra headers (Allow on a 501) follow them.
func statelessResponse(data []byte, code int, reason string, src net.Addr, extra ...sip.Header) ([]byte, *net.UDPAddr) {
	from, ok := src.(*net.UDPAddr)
	if t, isTCP := src.(*net.TCPAddr); isTCP {
		from, ok = &net.UDPAddr{IP: t.IP, Port: t.Port, Zone: t.Zone}, true
	}
	if !ok {
		return nil, nil
	}
	head := data
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		head = data[:i]
	}
	lines := unfoldHeaders(string(head))
	if len(lines) == 0 {
		return nil, nil
	}
	startLine := lines[0]
	method, _, _ := strings.Cut(startLine, " ")
	if method == "" || strings.EqualFold(method, "ACK") {
		return nil, nil
	}

	var vias []string
	copied := map[string]string{}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		// A bare CR or LF copied into the answer would start a header
		// line of the sender's choosing there.
		broken := strings.ContainsAny(value, "\r\n")
		switch canon := canonicalHeader(name); canon {
		case "Via":
			if broken {
				return nil, nil
			}
			vias = append(vias, value)
		case "From", "To", "Call-ID", "CSeq":
			if _, seen := copied[canon]; !seen && !broken {
				copied[canon] = value
			}
		}
	}
	if len(vias) == 0 {
		return nil, nil
	}
	topVia, dstPort := receivedVia(vias[0], from)
	vias[0] = topVia
	dst := &net.UDPAddr{IP: from.IP, Port: dstPort, Zone: from.Zone}

	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n")
	for _, v := range vias {
		b.WriteString("Via: " + v + "\r\n")
	}
	for _, name := range []string{"From", "To", "Call-ID", "CSeq"} {
		v, ok := copied[name]
		if !ok {
			continue
		}
		if name == "To" {
			v = withToTag(v)
		}
		b.WriteString(name + ": " + v + "\r\n")
	}
	for _, h := range extra {
		b.WriteString(h.String() + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes(), dst
}

// onlySchemeUnknown reports whether the request parses once its
// Request-URI, which has a well-formed scheme other than sip/sips/tel, is
// replaced by a SIP URI: then the scheme is all that is wrong (416).
func (u *UA) onlySchemeUnknown(parts []string, data []byte) bool {
	scheme, _, ok := strings.Cut(parts[1], ":")
	if !ok || !isURIScheme(scheme) {
		return false
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips", "tel":
		return false
	}
	end := bytes.Index(data, []byte("\r\n"))
	if end < 0 {
		return false
	}
	probe := append([]byte(parts[0]+" sip:invalid SIP/2.0"), data[end:]...)
	_, err := u.parser.ParseSIP(probe)
	return err == nil
}

// isURIScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
func isURIScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// receivedVia adds received= (and fills an empty rport) to a top Via value
// for a request from src (RFC 3261 §18.2.1, RFC 3581), and returns the port
// to answer at: rport's source port, else the sent-by port, else 5060.
func receivedVia(via string, src *net.UDPAddr) (string, int) {
	// Only the first value of a comma-separated Via.
	first, rest, hasRest := strings.Cut(via, ",")
	segs := strings.Split(first, ";")
	port := 5060
	if f := strings.Fields(segs[0]); len(f) > 0 {
		sentBy := f[len(f)-1]
		if h, p, err := net.SplitHostPort(sentBy); err == nil && h != "" {
			if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
				port = n
			}
		}
	}
	rport := false
	for i, s := range segs[1:] {
		if strings.EqualFold(strings.TrimSpace(s), "rport") {
			segs[i+1] = "rport=" + strconv.Itoa(src.Port)
			rport = true
		}
	}
	if rport {
		port = src.Port
	}
	out := strings.Join(segs, ";") + ";received=" + src.IP.String()
	if hasRest {
		out += "," + rest
	}
	return out, port
}

// withToTag adds a tag to a To value that has none (RFC 3261 §8.2.6.2),
// unless the value is too broken (an unbalanced quote) to extend.
func withToTag(v string) string {
	if strings.Contains(strings.ToLower(v), ";tag=") || strings.Count(v, `"`)%2 != 0 {
		return v
	}
	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	return v + ";tag=" + hex.EncodeToString(tag)
}

// unfoldHeaders splits a header section into the start line and unfolded
// header lines.
func unfoldHeaders(head string) []string {
	var out []string
	for i, l := range strings.Split(head, "\r\n") {
		if i > 0 && len(out) > 1 && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
			out[len(out)-1] += " " + strings.TrimSpace(l)
			continue
		}
		out = append(out, l)
	}
	return out
}

// canonicalHeader maps a header name, long or compact, to the names
// statelessReject copies.
func canonicalHeader(name string) string {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "via", "v":
		return "Via"
	case "from", "f":
		return "From"
	case "to", "t":
		return "To"
	case "call-id", "i":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	}
	return ""
}

func firstLine(b []byte) string {
	if i := bytes.Index(b, []byte("\r\n")); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}
