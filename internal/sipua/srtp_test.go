package sipua

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/media"

	"github.com/gophone/gophone/internal/testutil"
)

func TestParseSRTPMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want SRTPMode
		ok   bool
	}{
		{"", SRTPOff, true}, // MicroSIP's Disabled
		{"disabled", SRTPOff, true},
		{"optional", SRTPOptional, true},
		{"Mandatory", SRTPMandatory, true},
		{"1", SRTPOff, false},
		{"always", SRTPOff, false},
	} {
		got, err := ParseSRTPMode(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseSRTPMode(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSRTPForTransport(t *testing.T) {
	for _, tt := range []struct {
		policy    SRTP
		transport string
		want      SRTPMode
		required  bool
	}{
		{SRTP{Mode: SRTPOptional}, "TLS", SRTPOptional, false},
		{SRTP{Mode: SRTPMandatory}, "tls", SRTPMandatory, false},
		{SRTP{Mode: SRTPOptional}, "UDP", SRTPOff, false}, // no keys in clear SIP
		{SRTP{Mode: SRTPOptional}, "TCP", SRTPOff, false},
		{SRTP{Mode: SRTPMandatory}, "UDP", SRTPOff, true},
		{SRTP{Mode: SRTPMandatory, OverUDP: true}, "UDP", SRTPMandatory, false},
		{SRTP{Mode: SRTPOptional, OverUDP: true}, "TCP", SRTPOptional, false},
		{SRTP{}, "UDP", SRTPOff, false},
	} {
		got, err := tt.policy.forTransport(tt.transport)
		if got != tt.want || errors.Is(err, ErrSRTPRequired) != tt.required {
			t.Errorf("%+v over %s = %v, %v; want %v, required %v", tt.policy, tt.transport, got, err, tt.want, tt.required)
		}
	}
}

func TestSRTPRefusal(t *testing.T) {
	const key = "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ" // 30 bytes
	offer := func(proto string, attrs ...string) []byte {
		s := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 " + proto + " 0\r\na=rtpmap:0 PCMU/8000\r\n"
		for _, a := range attrs {
			s += a + "\r\n"
		}
		return []byte(s)
	}
	plain := offer("RTP/AVP")
	avpKey := offer("RTP/AVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key)
	savpKey := offer("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key+"|2^31")
	savpPlain := offer("RTP/SAVP")
	tests := []struct {
		name   string
		mode   SRTPMode
		offer  []byte
		refuse bool
	}{
		{"off plain", SRTPOff, plain, false},
		{"off AVP with key", SRTPOff, avpKey, false}, // answered plain, the key ignored
		{"off SAVP", SRTPOff, savpKey, true},
		{"optional plain", SRTPOptional, plain, false},
		{"optional AVP key", SRTPOptional, avpKey, false},
		{"optional SAVP key", SRTPOptional, savpKey, false},
		{"optional SAVP without key", SRTPOptional, savpPlain, true},
		{"mandatory plain", SRTPMandatory, plain, true},
		{"mandatory AVP key", SRTPMandatory, avpKey, false},
		{"mandatory SAVP key", SRTPMandatory, savpKey, false},
		{"mandatory 32-bit tag only", SRTPMandatory, offer("RTP/SAVP", "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"+key), true},
		{"mandatory short key", SRTPMandatory, offer("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"), true},
		{"mandatory bad base64", SRTPMandatory, offer("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!"), true},
		{"mandatory MKI", SRTPMandatory, offer("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key+"|2^20|1:4"), true},
		{"mandatory no inline", SRTPMandatory, offer("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+key), true},
		{"mandatory second key usable", SRTPMandatory, offer("RTP/SAVP",
			"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:"+key, "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"+key), false},
		{"mandatory late offer", SRTPMandatory, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := srtpRefusal(tt.mode, tt.offer)
			if (why != "") != tt.refuse {
				t.Errorf("srtpRefusal = %q, want refused %v", why, tt.refuse)
			}
		})
	}
}

// srtpUAs starts a caller and a callee user agent on loopback; the callee
// answers every call under policy callee.
func srtpUAs(t *testing.T, callee SRTP) (caller, calleeUA *UA, answered chan *Call) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	answered = make(chan *Call, 1)
	start := func(cfg Config) *UA {
		cfg.Listen = "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
		cfg.Media = nullMedia{}
		cfg.Logger = slog.New(slog.DiscardHandler)
		u, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	calleeUA = start(Config{SRTP: func(string) SRTP { return callee }, OnIncoming: func(c *Call) {
		go func() {
			if c.Answer(ctx) == nil {
				answered <- c
			}
		}()
	}})
	caller = start(Config{})
	t.Cleanup(func() {
		caller.Close()
		time.Sleep(50 * time.Millisecond) // the callee takes the BYE
		calleeUA.Close()
		cancel()
	})
	return caller, calleeUA, answered
}

// TestSRTPCalls places calls between two user agents over UDP (keys in
// clear SIP allowed) under each pair of policies and checks what the
// media became: SRTP both ways, with packets that decrypt, or plain RTP,
// or a failed call with its reason.
func TestSRTPCalls(t *testing.T) {
	mand := SRTP{Mode: SRTPMandatory, OverUDP: true}
	opt := SRTP{Mode: SRTPOptional, OverUDP: true}
	tests := []struct {
		name           string
		caller, callee SRTP
		srtp           bool
		proto          string // of the answer
		endCode        int    // the caller's call fails
		endReason      string
	}{
		{"mandatory both", mand, mand, true, "RTP/SAVP", 0, ""},
		{"optional both", opt, opt, true, "RTP/AVP", 0, ""},
		{"optional to mandatory", opt, mand, true, "RTP/AVP", 0, ""},
		{"mandatory to optional", mand, opt, true, "RTP/SAVP", 0, ""},
		{"optional to plain", opt, SRTP{}, false, "RTP/AVP", 0, ""},
		{"plain to optional", SRTP{}, opt, false, "RTP/AVP", 0, ""},
		{"mandatory to plain", mand, SRTP{}, false, "", 488, "SRTP=mandatory"},
		{"plain to mandatory", SRTP{}, mand, false, "", 488, "Not Acceptable Here"},
		{"optional over UDP to mandatory", SRTP{Mode: SRTPOptional}, mand, false, "", 488, "Not Acceptable Here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caller, callee, answered := srtpUAs(t, tt.callee)
			ended := make(chan Event, 1)
			call, err := caller.Dial(context.Background(), "sip:srtp@"+callee.Addr(), DialOptions{SRTP: tt.caller,
				Listener: func(_ *Call, ev Event) {
					if ev.Kind == EventEnded {
						ended <- ev
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.endCode != 0 {
				select {
				case ev := <-ended:
					if ev.Code != tt.endCode || !strings.Contains(ev.Reason, tt.endReason) {
						t.Fatalf("call ended %d %q, want %d with %q", ev.Code, ev.Reason, tt.endCode, tt.endReason)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the call did not fail")
				}
				return
			}
			var c *Call
			select {
			case c = <-answered:
			case ev := <-ended:
				t.Fatalf("call ended %d %q", ev.Code, ev.Reason)
			case <-time.After(10 * time.Second):
				t.Fatal("not answered")
			}
			<-call.Established()
			answer := string(call.remoteSDP())
			if !strings.Contains(answer, " "+tt.proto+" ") || strings.Contains(answer, "a=crypto:") != tt.srtp {
				t.Errorf("answer, want %s with a key %v:\n%s", tt.proto, tt.srtp, answer)
			}
			if call.SRTP() != tt.srtp || c.SRTP() != tt.srtp {
				t.Errorf("SRTP caller %v callee %v, want %v", call.SRTP(), c.SRTP(), tt.srtp)
			}
			// Each side's packets reach the other: decrypted, for SRTP
			// (a packet that fails to decrypt is not counted).
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, rxCaller, _ := call.RTPCounts()
				_, rxCallee, _ := c.RTPCounts()
				if rxCaller >= 10 && rxCallee >= 10 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("packets received: caller %d, callee %d", rxCaller, rxCallee)
				}
				time.Sleep(20 * time.Millisecond)
			}
			call.Hangup(context.Background())
		})
	}
}

// TestSRTPTransfer: a call transferred by the far end calls the target
// with the transferred call's SRTP policy, so a mandatory target takes it
// (it would refuse a plain offer).
func TestSRTPTransfer(t *testing.T) {
	mand := SRTP{Mode: SRTPMandatory, OverUDP: true}
	caller, transferor, answered := srtpUAs(t, mand)
	_, target, targetAnswered := srtpUAs(t, mand)
	call, err := caller.Dial(context.Background(), "sip:srtp@"+transferor.Addr(), DialOptions{SRTP: mand})
	if err != nil {
		t.Fatal(err)
	}
	var b *Call
	select {
	case b = <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("not answered")
	}
	<-call.Established()
	<-b.Established()
	code, err := b.Transfer(context.Background(), "sip:target@"+target.Addr())
	if err != nil || code != 200 {
		t.Fatalf("transfer: %d, %v; want 200", code, err)
	}
	select {
	case c := <-targetAnswered:
		<-c.Established()
		if !c.SRTP() {
			t.Error("the transferred call reached the target without SRTP")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the target did not answer the transferred call")
	}
}

func TestSRTPMandatoryNeedsTLS(t *testing.T) {
	caller, callee, _ := srtpUAs(t, SRTP{})
	_, err := caller.Dial(context.Background(), "sip:srtp@"+callee.Addr(), DialOptions{SRTP: SRTP{Mode: SRTPMandatory}})
	if !errors.Is(err, ErrSRTPRequired) || !strings.Contains(err.Error(), "UDP") {
		t.Fatalf("Dial over UDP with SRTP=mandatory: %v, want ErrSRTPRequired naming UDP", err)
	}
}

// TestSDESSkipsMKIKey: an offer on RTP/AVP whose only key has an MKI (RFC
// 4568 §9.2: |MKI:length) is answered without SRTP by an optional
// session, as offerHasSDES judges such a key unusable: diago's contexts
// take no MKI, so keying the call with it would leave it without audio.
func TestSDESSkipsMKIKey(t *testing.T) {
	const key = "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ" // 30 bytes
	for _, tt := range []struct {
		name, crypto string
		srtp         bool
	}{
		{"key", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key, true},
		{"key with lifetime", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31", true},
		{"key with MKI", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:4", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &media.MediaSession{Codecs: []media.Codec{media.CodecAudioUlaw}, Mode: "sendrecv",
				Laddr: net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, SecureRTP: 1, SDESOnAVP: true,
				Listen: func(net.IP) (net.PacketConn, net.PacketConn, error) {
					a := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
					return &memConn{buf: make([]byte, 1500), addr: a}, &memConn{buf: make([]byte, 1500), addr: a}, nil
				}}
			if err := s.Init(); err != nil {
				t.Fatal(err)
			}
			offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
				"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" + tt.crypto + "\r\n"
			if err := s.RemoteSDP([]byte(offer), false); err != nil {
				t.Fatal(err)
			}
			answer := string(s.LocalSDP(true))
			if got := strings.Contains(answer, "a=crypto:"); got != tt.srtp || s.SRTP() != tt.srtp {
				t.Errorf("answer with a key %v, SRTP() %v; want %v:\n%s", got, s.SRTP(), tt.srtp, answer)
			}
		})
	}
}
