package sipua

import (
	"bytes"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// tortureDir is the project's copy of the RFC 4475 messages.
var tortureDir = filepath.Join("..", "..", "test", "integration", "testdata", "rfc4475")

// tortureMessages reads the RFC 4475 messages, by file name.
func tortureMessages(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(tortureDir, "*.dat"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no RFC 4475 messages in %s: %v", tortureDir, err)
	}
	msgs := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		msgs[filepath.Base(f)] = b
	}
	return msgs
}

// verdict runs a datagram through what the UA does before its handlers:
// readFilter's judgement, then checkRequest for the requests it hands on
// (the middleware's). It returns the status the UA answers with itself (0:
// handed on to diago), and -1 for a response.
func verdict(t *testing.T, data []byte) int {
	t.Helper()
	u := &UA{parser: sip.NewParser()}
	data, _, code, _, _ := u.judge(data)
	if code != 0 {
		return code
	}
	msg, err := u.parser.ParseSIP(data)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok {
		return -1
	}
	code, _ = checkRequest(req)
	return code
}

func TestTortureVerdicts(t *testing.T) {
	want := map[string]int{
		// Valid requests go on to diago (0), or are answered with an
		// application code that is not 400.
		"wsinv.dat": 0, "esc01.dat": 0, "escnull.dat": 0, "lwsdisp.dat": 0,
		"longreq.dat": 0, "dblreq.dat": 0, "semiuri.dat": 0, "transports.dat": 0,
		"mpart01.dat": 0, "bext01.dat": 0, "invut.dat": 0, "regaut01.dat": 0,
		"zeromf.dat": 0, "cparam01.dat": 0, "cparam02.dat": 0, "regescrt.dat": 0,
		"intmeth.dat": 501, "esc02.dat": 501,
		"unkscm.dat": 416, "novelsc.dat": 416,
		// Responses: left to sipgo, which discards strays.
		"unreason.dat": -1, "noreason.dat": -1, "scalarlg.dat": -1,
		"bigcode.dat": -1, "bcast.dat": -1,
		// Invalid requests.
		"badinv01.dat": 400, "clerr.dat": 400, "ncl.dat": 400, "scalar02.dat": 400,
		"quotbal.dat": 400, "ltgtruri.dat": 400, "lwsruri.dat": 400,
		"lwsstart.dat": 400, "trws.dat": 400, "badaspec.dat": 400, "baddn.dat": 400,
		"badvers.dat": 505, "mismatch01.dat": 400, "mismatch02.dat": 501,
		"insuf.dat": 400, "multi01.dat": 400, "mcl01.dat": 400,
		// Either way is allowed; these are processed liberally.
		"escruri.dat": 0, "baddate.dat": 0, "regbadct.dat": 0, "badbranch.dat": 0,
		"unksm2.dat": 0, "sdp01.dat": 0, "inv2543.dat": 0,
	}
	msgs := tortureMessages(t)
	if len(msgs) != len(want) {
		t.Fatalf("%d files, %d verdicts", len(msgs), len(want))
	}
	for name, b := range msgs {
		if got := verdict(t, b); got != want[name] {
			t.Errorf("%s: status %d, want %d", name, got, want[name])
		}
	}
}

func TestNormalizeParamLWSFindsTags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(tortureDir, "wsinv.dat"))
	if err != nil {
		t.Fatal(err)
	}
	n := normalizeParamLWS(b)
	if n == nil {
		t.Fatal("wsinv needs normalising")
	}
	if !bytes.HasSuffix(n, b[bytes.Index(b, []byte("\r\n\r\n")):]) {
		t.Error("the body changed")
	}
	msg, err := sip.ParseMessage(n)
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	if tag, _ := req.To().Params.Get("tag"); tag != "1918181833n" {
		t.Errorf("To tag %q", tag)
	}
	if tag, _ := req.From().Params.Get("tag"); tag != "98asjd8" {
		t.Errorf("From tag %q", tag)
	}
	if req.From().DisplayName != `J Rosenberg \\\"` && req.From().DisplayName != `J Rosenberg \"` {
		t.Errorf("From display name %q", req.From().DisplayName)
	}
	if normalizeParamLWS([]byte("OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b>;tag=1\r\nSubject: a ; b = c\r\n\r\n")) != nil {
		t.Error("rewrote a message that needed nothing (Subject is free text)")
	}
}

func TestSqueezeParamLWS(t *testing.T) {
	for in, want := range map[string]string{
		` <sip:a@b ; x = y> ;   tag    = 1`:   ` <sip:a@b ; x = y>;tag=1`,
		` "a ; b = c" <sip:a@b> ; tag = 2`:    ` "a ; b = c" <sip:a@b>;tag=2`,
		` "q \" ; x" <sip:a@b>;tag=3`:         ` "q \" ; x" <sip:a@b>;tag=3`,
		` SIP / 2.0 / UDP h ; branch = z , x`: ` SIP / 2.0 / UDP h;branch=z,x`,
	} {
		if got := squeezeParamLWS(in); got != want {
			t.Errorf("squeezeParamLWS(%q) = %q, want %q", in, got, want)
		}
	}
	// Linear in the input, even for a value made of separators.
	long := strings.Repeat(" ;", 1<<16)
	if got := squeezeParamLWS(long); got != strings.Repeat(";", 1<<16) {
		t.Errorf("long input: got %d bytes", len(got))
	}
}

func TestStatelessResponse(t *testing.T) {
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	b, err := os.ReadFile(filepath.Join(tortureDir, "scalar02.dat"))
	if err != nil {
		t.Fatal(err)
	}
	res, dst := statelessResponse(b, 400, "Bad Request", src)
	if res == nil {
		t.Fatal("no response")
	}
	// sent-by host129.example.com without port: source IP, port 5060.
	if dst.String() != "127.0.0.1:5060" {
		t.Errorf("destination %s", dst)
	}
	for _, want := range []string{
		"SIP/2.0 400 Bad Request\r\n",
		"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3;received=127.0.0.1\r\n",
		"CSeq: 36893488147419103232 REGISTER\r\n", // verbatim, not wrapped
		"Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n",
		"Content-Length: 0\r\n\r\n",
	} {
		if !bytes.Contains(res, []byte(want)) {
			t.Errorf("response lacks %q:\n%s", want, res)
		}
	}
	if to := headerLine(res, "To"); !strings.Contains(to, ";tag=") {
		t.Errorf("To without a tag: %q", to)
	}

	// rport: answer to the source port, and fill it in.
	req := []byte("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5070;rport;branch=z9hG4bKx\r\nTo: \"unterminated <sip:a@b>\r\n\r\n")
	res, dst = statelessResponse(req, 400, "Bad Request", src)
	if dst.Port != 40000 {
		t.Errorf("rport: destination %s", dst)
	}
	if v := headerLine(res, "Via"); v != "SIP/2.0/UDP 10.0.0.1:5070;rport=40000;branch=z9hG4bKx;received=127.0.0.1" {
		t.Errorf("rport: Via %q", v)
	}
	if to := headerLine(res, "To"); to != `"unterminated <sip:a@b>` {
		t.Errorf("a broken To is echoed as is, got %q", to)
	}

	// Never an answer to an ACK, nor to a request without Via.
	if res, _ := statelessResponse([]byte("ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n"), 400, "Bad Request", src); res != nil {
		t.Errorf("answered an ACK:\n%s", res)
	}
	if res, _ := statelessResponse([]byte("OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n"), 400, "Bad Request", src); res != nil {
		t.Errorf("answered a request without Via:\n%s", res)
	}

	// A bare CR or LF in a copied header must not start a header line of
	// the sender's in the answer: no answer for such a Via, and such a
	// From, To, Call-ID or CSeq is left out.
	if res, _ := statelessResponse([]byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nContact: <sip:evil>\r\n\r\n"), 400, "Bad Request", src); res != nil {
		t.Errorf("answered a request whose Via has a bare LF:\n%s", res)
	}
	res, _ = statelessResponse([]byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCall-ID: x\rContact: <sip:evil>\r\nCSeq: 1 OPTIONS\r\n\r\n"), 400, "Bad Request", src)
	if bytes.Contains(res, []byte("evil")) || headerLine(res, "CSeq") != "1 OPTIONS" {
		t.Errorf("a Call-ID with a bare CR is copied, or the rest is lost:\n%q", res)
	}
}

func TestCheckRequestCSeqMethodCase(t *testing.T) {
	// sipgo upper-cases the request-line method but not CSeq's.
	msg, err := sip.ParseMessage([]byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if code, reason := checkRequest(msg.(*sip.Request)); code != 0 {
		t.Errorf("a valid OPTIONS: %d %s", code, reason)
	}
}

func headerLine(msg []byte, name string) string {
	for _, l := range strings.Split(string(msg), "\r\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	return ""
}

// TestHasParamLWS checks normalizeParamLWS's quick check: it must be true
// for every message the full rewrite changes (the RFC 4475 messages and
// hand-made ones), and false for ordinary messages.
func TestHasParamLWS(t *testing.T) {
	msgs := map[string][]byte{
		"plain INVITE": []byte("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nAllow: INVITE, ACK\r\nFrom: \"A, B\" <sip:a@b>;tag=1\r\n\r\n"),
		"spaced tag":   []byte("BYE sip:a@b SIP/2.0\r\nTo: <sip:a@b> ; tag = 1\r\n\r\n"),
		"folded Via":   []byte("BYE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\n\r\n"),
		"other header": []byte("BYE sip:a@b SIP/2.0\r\nSubject: a ; b = c\r\n\r\n"),
	}
	maps.Copy(msgs, tortureMessages(t))
	rewritten := 0
	for name, b := range msgs {
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 {
			continue
		}
		need := rewriteParamLWS(b, end) != nil
		if need {
			rewritten++
		}
		if need && !hasParamLWS(b[:end]) {
			t.Errorf("%s: the rewrite changes it but the quick check says no", name)
		}
	}
	if rewritten < 3 {
		t.Errorf("only %d messages need the rewrite; the test lost its cases", rewritten)
	}
	if hasParamLWS([]byte("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nAllow: INVITE, ACK\r\n")) {
		t.Error("the quick check flags an ordinary INVITE")
	}
}
