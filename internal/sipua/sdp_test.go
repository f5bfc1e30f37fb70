package sipua

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/media"
)

// sdp builds an SDP body from lines joined by sep (CRLF in SIP, but some
// peers send bare LF).
func sdpBody(sep string, lines ...string) []byte {
	return []byte(strings.Join(lines, sep) + sep)
}

func audioOffer(sep, conn string, extra ...string) []byte {
	lines := []string{
		"v=0",
		"o=- 1 1 IN IP4 192.0.2.1",
		"s=-",
		"c=IN IP4 " + conn,
		"t=0 0",
		"m=audio 4000 RTP/AVP 0 8 101",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
	}
	return sdpBody(sep, append(lines, extra...)...)
}

func TestSDPHoldAndDirection(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		wantHold bool
		wantDir  string
	}{
		{"sendrecv", audioOffer("\r\n", "192.0.2.1", "a=sendrecv"), false, "sendrecv"},
		{"no attribute", audioOffer("\r\n", "192.0.2.1"), false, "sendrecv"},
		{"sendonly", audioOffer("\r\n", "192.0.2.1", "a=sendonly"), true, "sendonly"},
		{"inactive", audioOffer("\r\n", "192.0.2.1", "a=inactive"), true, "inactive"},
		{"recvonly", audioOffer("\r\n", "192.0.2.1", "a=recvonly"), false, "recvonly"},
		{"c=0.0.0.0 without attribute", audioOffer("\r\n", "0.0.0.0"), true, "sendonly"},
		{"c=0.0.0.0 with sendonly", audioOffer("\r\n", "0.0.0.0", "a=sendonly"), true, "sendonly"},
		{"c=0.0.0.0 with inactive", audioOffer("\r\n", "0.0.0.0", "a=inactive"), true, "inactive"},
		{"LF line ends, sendonly", audioOffer("\n", "192.0.2.1", "a=sendonly"), true, "sendonly"},
		{"LF line ends, sendrecv", audioOffer("\n", "192.0.2.1", "a=sendrecv"), false, "sendrecv"},
		{"trailing blanks", audioOffer("\r\n", "192.0.2.1", "a=inactive  "), true, "inactive"},
		{"media level overrides session level", sdpBody("\r\n",
			"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
			"a=sendonly",
			"m=audio 4000 RTP/AVP 0", "a=sendrecv"), false, "sendrecv"},
		{"empty body", nil, false, "sendrecv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdpIsHold(tt.body); got != tt.wantHold {
				t.Errorf("sdpIsHold = %v, want %v", got, tt.wantHold)
			}
			if got := sdpDirection(tt.body); got != tt.wantDir {
				t.Errorf("sdpDirection = %q, want %q", got, tt.wantDir)
			}
		})
	}
}

func TestSetDirection(t *testing.T) {
	dirs := []string{"sendrecv", "sendonly", "recvonly", "inactive"}
	for _, sep := range []string{"\r\n", "\n"} {
		for _, from := range dirs {
			for _, to := range dirs {
				body := audioOffer(sep, "192.0.2.1", "a="+from, "a=ptime:20")
				got := setDirection(body, to)
				if d := sdpDirection(got); d != to {
					t.Errorf("setDirection(%s, %s) gives direction %q", from, to, d)
				}
				if n := strings.Count(string(got), "a="+to+"\r\n"); n != 1 {
					t.Errorf("setDirection(%s, %s): %d a=%s lines, want 1:\n%s", from, to, n, to, got)
				}
				// Everything else is kept, line by line, with CRLF line ends.
				want := strings.ReplaceAll(string(audioOffer("\r\n", "192.0.2.1", "a="+to, "a=ptime:20")), "\r\n", "\n")
				if g := strings.ReplaceAll(string(got), "\r\n", "\n"); g != want {
					t.Errorf("setDirection(%s, %s) =\n%s\nwant\n%s", from, to, g, want)
				}
				if strings.Contains(strings.ReplaceAll(string(got), "\r\n", ""), "\n") {
					t.Errorf("setDirection(%s, %s) left a bare LF line end", from, to)
				}
			}
		}
	}
}

func TestOfferHasCodec(t *testing.T) {
	ours := []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}
	withG722 := []media.Codec{codecG722, media.CodecAudioUlaw, media.CodecTelephoneEvent8000}
	tests := []struct {
		name string
		body []byte
		ours []media.Codec
		want bool
	}{
		{"PCMU by static payload type, no rtpmap",
			sdpBody("\r\n", "v=0", "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0"), ours, true},
		{"PCMA by static payload type, no rtpmap",
			sdpBody("\r\n", "v=0", "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 8"), ours, true},
		{"PCMA by rtpmap name",
			sdpBody("\r\n", "v=0", "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 18 8", "a=rtpmap:18 G729/8000", "a=rtpmap:8 PCMA/8000"), ours, true},
		{"lower-case rtpmap name",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 8", "a=rtpmap:8 pcma/8000"), ours, true},
		{"LF line ends",
			sdpBody("\n", "v=0", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"), ours, true},
		{"full offer", audioOffer("\r\n", "192.0.2.1", "a=sendrecv"), ours, true},
		{"only G729",
			sdpBody("\r\n", "v=0", "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000"), ours, false},
		{"only G729 without rtpmap",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 18"), ours, false},
		{"only telephone-event",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000"), ours, false},
		{"only telephone-event at our event payload type",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 101"), ours, false},
		{"PCMU offered, we have only PCMA",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"), []media.Codec{media.CodecAudioAlaw, media.CodecTelephoneEvent8000}, false},
		{"PCMA offered, we have only PCMA",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 0 8"), []media.Codec{media.CodecAudioAlaw}, true},
		{"PCMU only in a video section",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 18", "m=video 4002 RTP/AVP 96", "a=rtpmap:96 H264/90000"), ours, false},
		{"G722 by rtpmap name",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 9 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"), withG722, true},
		{"G722 offered, we have only G.711",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 9", "a=rtpmap:9 G722/8000"), ours, false},
		{"G722 without rtpmap (diago reads only 0 and 8 so)",
			sdpBody("\r\n", "v=0", "m=audio 4000 RTP/AVP 9"), withG722, false},
		{"no audio section", sdpBody("\r\n", "v=0", "s=-"), ours, false},
		{"empty body", nil, ours, false},
	}
	for _, tt := range tests {
		if got := offerHasCodec(tt.body, tt.ours); got != tt.want {
			t.Errorf("%s: offerHasCodec = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSDPPtime(t *testing.T) {
	tests := []struct {
		body string
		want time.Duration
	}{
		{"v=0\r\nm=audio 4000 RTP/AVP 0\r\n", 20 * time.Millisecond},
		{"m=audio 4000 RTP/AVP 0\r\na=ptime:30\r\n", 30 * time.Millisecond},
		{"a=ptime:40\n", 40 * time.Millisecond},
		{"a=ptime:25\n", 30 * time.Millisecond},
		{"a=ptime:5\n", 10 * time.Millisecond},
		{"a=ptime:200\n", 60 * time.Millisecond},
		{"a=ptime:abc\n", 20 * time.Millisecond},
		{"a=ptime:0\n", 20 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := sdpPtime([]byte(tt.body)); got != tt.want {
			t.Errorf("sdpPtime(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestOfferAddrFamily(t *testing.T) {
	tests := []struct {
		sdp, host string
		typ       string
		ok        bool
	}{
		{"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1", "IP4", true},
		{"v=0\r\nc=IN IP6 ::1\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1", "IP6", false},
		{"v=0\r\nc=IN IP6 ::1\r\nm=audio 4000 RTP/AVP 0\r\n", "0.0.0.0", "IP6", false},
		{"v=0\r\nc=IN IP6 ::1\r\nm=audio 4000 RTP/AVP 0\r\n", "::", "IP6", true},
		{"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", "::", "IP4", true},
		{"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", "::1", "IP4", false},
		// The audio section's c= overrides the session's.
		{"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 2001:db8::1\r\n", "127.0.0.1", "IP6", false},
		{"v=0\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1", "", true},
	}
	for _, tt := range tests {
		typ := offerAddrType([]byte(tt.sdp))
		if typ != tt.typ || reachesAddrType(tt.host, typ) != tt.ok {
			t.Errorf("offer %q on %s: type %q reachable %v; want %q %v", tt.sdp, tt.host, typ, reachesAddrType(tt.host, typ), tt.typ, tt.ok)
		}
	}
}

// TestAnswerMediaIP: a dual-stack answer names the local address of the
// offer's media address's family (the one the host reaches it from), else
// the one it reaches the caller from.
func TestAnswerMediaIP(t *testing.T) {
	for _, tt := range []struct{ sdp, source, want string }{
		{"v=0\r\nc=IN IP6 ::1\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1:5060", "::1"},
		{"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n", "[::1]:5060", "127.0.0.1"},
		// The audio section's c= over the session's.
		{"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 ::1\r\n", "127.0.0.1:5060", "::1"},
		// No usable address (a late offer, a name, hold's 0.0.0.0): the caller's.
		{"", "[::1]:5060", "::1"},
		{"v=0\r\nc=IN IP4 example.invalid\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1:5060", "127.0.0.1"},
		{"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1:5060", "127.0.0.1"},
		{"", "", "<nil>"},
	} {
		if got := answerMediaIP([]byte(tt.sdp), tt.source).String(); got != tt.want {
			t.Errorf("offer %q from %s: media IP %s, want %s", tt.sdp, tt.source, got, tt.want)
		}
	}
	for host, want := range map[string]bool{"::": true, "[::]": false, "0.0.0.0": false, "::1": false, "127.0.0.1": false, "localhost": false} {
		if got := isDualStack(host); got != want {
			t.Errorf("isDualStack(%q) = %v, want %v", host, got, want)
		}
	}
}

// rtpmaps returns an SDP's a=rtpmap lines, in order.
func rtpmaps(body []byte) []string {
	var out []string
	for _, l := range lines(body) {
		if strings.HasPrefix(l, "a=rtpmap:") {
			out = append(out, l)
		}
	}
	return out
}

// TestSDPCodecNamesAsRegistered: gophone's offers and answers write the
// encoding names as RFC 3551 and RFC 4733 register them (PCMU, PCMA,
// telephone-event), which strict peers compare case-sensitively, and read
// an offer's names in any case (RFC 4855 §3).
func TestSDPCodecNamesAsRegistered(t *testing.T) {
	tests := []struct {
		name   string
		codecs []string
		offer  []byte // nil: gophone offers
		want   []string
	}{
		{"offer, default codecs", nil, nil,
			[]string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"}},
		{"offer, PCMA first", []string{"pcma", "Pcmu"}, nil,
			[]string{"a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000"}},
		{"answer to a lower-case offer", nil, sdpBody("\r\n",
			"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 8 0 96", "a=rtpmap:8 pcma/8000", "a=rtpmap:0 pcmu/8000",
			"a=rtpmap:96 TELEPHONE-EVENT/8000"),
			[]string{"a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:96 telephone-event/8000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codecs, err := parseCodecs(tt.codecs, true)
			if err != nil {
				t.Fatal(err)
			}
			s := &media.MediaSession{Codecs: codecs, Mode: "sendrecv"}
			s.Laddr.IP, s.Laddr.Port = net.IPv4(127, 0, 0, 1), 5004
			if tt.offer != nil {
				if err := s.RemoteSDP(tt.offer, true); err != nil {
					t.Fatalf("RemoteSDP: %v", err)
				}
			}
			got := rtpmaps(s.LocalSDP(tt.offer != nil))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rtpmap lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
