package sipua

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
)

var directions = []string{"sendrecv", "sendonly", "recvonly", "inactive"}

// sdpLines returns the lines of body as the SDP helpers see them.
func sdpLines(body []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func isDirectionLine(line string) bool {
	switch strings.TrimSpace(line) {
	case "a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv":
		return true
	}
	return false
}

func isZeroConnLine(line string) bool {
	line = strings.TrimSpace(line)
	return strings.HasPrefix(line, "c=") && strings.HasSuffix(line, " 0.0.0.0")
}

// FuzzSDP runs the SDP helpers on arbitrary bodies. None panics; the
// direction is one of the four; a sendonly or inactive direction is a hold;
// setDirection keeps every line but the direction lines, is idempotent, and
// makes sdpDirection report the direction set (a c=0.0.0.0 after the last
// direction line still reads as sendonly when sendrecv is set); a DTMF relay
// signal is one digit; ptime stays in 10-60 ms.
func FuzzSDP(f *testing.F) {
	bodies := [][]byte{
		nil,
		[]byte("\r\n"),
		audioOffer("\r\n", "192.0.2.1", "a=sendrecv"),
		audioOffer("\r\n", "192.0.2.1"),
		audioOffer("\r\n", "192.0.2.1", "a=sendonly"),
		audioOffer("\n", "192.0.2.1", "a=inactive  "),
		audioOffer("\r\n", "0.0.0.0"),
		audioOffer("\r\n", "0.0.0.0", "a=recvonly"),
		audioOffer("\r\n", "192.0.2.1", "a=sendonly", "c=IN IP4 0.0.0.0", "a=ptime:30"),
		sdpBody("\r\n", "v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
			"a=sendonly", "m=audio 4000 RTP/AVP 0", "a=sendrecv"),
		sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 18 8", "a=rtpmap:18 G729/8000", "a=rtpmap:8 pcma/8000"),
		sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000"),
		sdpBody("\r\n", "m=audio 4000 RTP/AVP", "a=rtpmap:", "a=rtpmap:0", "a=ptime:-5", "a=ptime:1e300"),
		sdpBody("\n", "\ta=sendonly\r", "a=ptime:25.5"),
		[]byte("a=sendonly"),
		[]byte("a=inactive\r\r\n\x00\r"),
		[]byte("Signal=5\r\nDuration=160\r\n"),
		[]byte("Signal=10\r\n"),
		[]byte("SIGNAL = d\n"),
		[]byte("Signal=\xff\r\n"),
		[]byte("Signal=12\r\n"),
	}
	for i, b := range bodies {
		f.Add(b, uint8(i))
	}
	ours := []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		hold := sdpIsHold(body)
		dir := sdpDirection(body)
		switch dir {
		case "sendrecv", "recvonly":
		case "sendonly", "inactive":
			if !hold {
				t.Fatalf("sdpDirection(%q) = %s but sdpIsHold = false", body, dir)
			}
		default:
			t.Fatalf("sdpDirection(%q) = %q", body, dir)
		}

		offerHasCodec(body, ours)
		if offerHasCodec(body, nil) {
			t.Fatalf("offerHasCodec(%q, nil) = true", body)
		}
		if offerHasCodec(body, []media.Codec{media.CodecTelephoneEvent8000}) {
			t.Fatalf("offerHasCodec(%q, telephone-event only) = true", body)
		}

		for _, ct := range []string{"application/dtmf-relay", "application/dtmf"} {
			if sig, ok := parseDTMFInfo(ct, body); ok {
				if len(sig) != 1 || !strings.Contains(dtmfChars, sig) {
					t.Fatalf("parseDTMFInfo(%s, %q) = %q, not a DTMF digit", ct, body, sig)
				}
			} else if sig != "" {
				t.Fatalf("parseDTMFInfo(%s, %q) = %q with ok false", ct, body, sig)
			}
		}

		if p := sdpPtime(body); p < 10*time.Millisecond || p > maxPtime || p%(10*time.Millisecond) != 0 {
			t.Fatalf("sdpPtime(%q) = %v", body, p)
		}

		d := directions[int(sel)%len(directions)]
		in := sdpLines(body)
		set := setDirection(body, d)
		out := sdpLines(set)
		if len(out) != len(in) {
			t.Fatalf("setDirection(%q, %s) = %q: %d lines, want %d", body, d, set, len(out), len(in))
		}
		had, zeroAfter := false, false
		for i := range in {
			if isDirectionLine(in[i]) {
				had, zeroAfter = true, false
				if out[i] != "a="+d {
					t.Fatalf("setDirection(%q, %s): line %d = %q", body, d, i+1, out[i])
				}
				continue
			}
			if isZeroConnLine(in[i]) {
				zeroAfter = true
			}
			if out[i] != in[i] {
				t.Fatalf("setDirection(%q, %s): line %d %q changed to %q", body, d, i+1, in[i], out[i])
			}
		}
		if again := setDirection(set, d); !bytes.Equal(again, set) {
			t.Fatalf("setDirection not idempotent on %q: %q then %q", body, set, again)
		}
		if had {
			want := d
			if d == "sendrecv" && zeroAfter {
				want = "sendonly"
			}
			if got := sdpDirection(set); got != want {
				t.Fatalf("sdpDirection(setDirection(%q, %s)) = %s, want %s", body, d, got, want)
			}
		} else if got := sdpDirection(set); got != dir {
			t.Fatalf("setDirection(%q, %s) without a direction line changed the direction from %s to %s", body, d, dir, got)
		}
	})
}

// FuzzDTMFDetector feeds arbitrary telephone-event packets to the detector.
// The input is a sequence of packets, each a 4-byte big-endian RTP
// timestamp, a length byte (mod 8) and that many payload bytes. A digit is
// one of 0-9 * # A-D, comes from a payload of at least 4 bytes whose event
// code names it, and each digit has a timestamp newer than the one before
// (so never two digits for one timestamp in a row).
func FuzzDTMFDetector(f *testing.F) {
	pkt := func(ts uint32, payload ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, ts)
		b = append(b, byte(len(payload)))
		return append(b, payload...)
	}
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	f.Add([]byte{})
	f.Add(cat(pkt(100, 1, 10, 0, 160), pkt(100, 1, 10, 0, 160), pkt(100, 1, 0x8a, 0, 160), pkt(100, 1, 0x8a, 0, 160)))
	f.Add(cat(pkt(1, 1, 0x8a, 0, 160), pkt(2, 2, 10, 0, 160), pkt(1, 1, 0x8a, 0, 160), pkt(2, 2, 0x8a, 0, 160)))
	f.Add(cat(pkt(10, 7, 10, 0, 160), pkt(900, 7, 10, 0, 160)))
	f.Add(cat(pkt(1, 16, 10, 0, 160), pkt(2, 3, 10, 0, 160), pkt(3, 255, 0, 0, 0)))
	f.Add(cat(pkt(1<<32-1, 5, 10, 0, 160), pkt(0, 6, 10, 0, 160), pkt(1<<31, 7, 10, 0, 160)))
	f.Add(cat(pkt(5, 1, 2), pkt(5, 11, 10, 0, 160, 99, 99)))
	f.Add([]byte{0, 0, 0, 1, 7, 15})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d dtmfDetector
		var lastTS uint32
		emitted := false
		for len(data) >= 5 {
			ts := binary.BigEndian.Uint32(data)
			n := min(int(data[4]%8), len(data)-5)
			payload := data[5 : 5+n]
			data = data[5+n:]
			digit, ok := d.feed(ts, payload)
			if !ok {
				if digit != "" {
					t.Fatalf("feed(%d, %x) = %q without ok", ts, payload, digit)
				}
				continue
			}
			if len(digit) != 1 || !strings.Contains(dtmfChars, digit) {
				t.Fatalf("feed(%d, %x) = %q, not a DTMF digit", ts, payload, digit)
			}
			if len(payload) < 4 || dtmfDigit(payload[0]) != digit {
				t.Fatalf("feed(%d, %x) = %q, not the payload's event", ts, payload, digit)
			}
			if emitted && int32(ts-lastTS) <= 0 {
				t.Fatalf("feed(%d, %x) = %q after a digit at timestamp %d", ts, payload, digit, lastTS)
			}
			emitted, lastTS = true, ts
		}
	})
}

// FuzzSIPDatagram feeds arbitrary UDP datagrams to what the UA does before
// sipgo's transactions see them: readFilter's judgement (parameter LWS
// rewrite, parse, checks of requests nobody routes) and the stateless
// answer to what it rejects. None panics; what is handed on parses, or is
// a broken response (sipgo drops those); a rejection is 400, 416, 501 or
// 505; the answer is one status line and header lines, each ended by CRLF
// (nothing from the request can start a header of its own), goes back to
// the source's address, and has the status given. (The headers it copies
// verbatim need not parse: a CSeq past 2^32 is answered 400 with itself.)
func FuzzSIPDatagram(f *testing.F) {
	for _, b := range tortureMessages(f) {
		f.Add(b)
	}
	f.Add([]byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;rport\nX: y\r\n\r\n"))
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}
	f.Fuzz(func(t *testing.T, data []byte) {
		u := &UA{parser: sip.NewParser()}
		out, _, code, reason, _ := u.judge(data)
		if code == 0 {
			if _, err := u.parser.ParseSIP(out); err != nil && !bytes.HasPrefix(out, []byte("SIP/")) {
				t.Fatalf("handed on a datagram sipgo cannot parse: %v", err)
			}
			return
		}
		switch code {
		case 400, 416, 501, 505:
		default:
			t.Fatalf("rejected with %d %s", code, reason)
		}
		res, dst := statelessResponse(out, code, reason, src)
		if res == nil {
			return
		}
		if !dst.IP.Equal(src.IP) || dst.Port <= 0 || dst.Port > 65535 {
			t.Fatalf("answer to %v from %v", dst, src)
		}
		head, ok := bytes.CutSuffix(res, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("answer does not end its header with CRLF CRLF: %q", res)
		}
		for _, line := range bytes.Split(head, []byte("\r\n")) {
			if bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("answer line with a bare CR or LF: %q", line)
			}
		}
		if want := fmt.Sprintf("SIP/2.0 %d %s", code, reason); firstLine(res) != want {
			t.Fatalf("answer %q, want %q", firstLine(res), want)
		}
	})
}
