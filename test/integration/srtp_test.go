package integration

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// captureRTPPayloads runs tshark on the loopback interface while f runs
// and returns the UDP payloads of the RTP packets sent from d's RTP ports
// (RTCP left out).
func captureRTPPayloads(t *testing.T, d *testutil.Daemon, f func()) [][]byte {
	t.Helper()
	out, stderr := tsharkOnLo(t, f, "-f", "udp src portrange "+d.RTPPorts(t), "-T", "fields", "-e", "udp.payload")
	var pkts [][]byte
	for _, line := range strings.Split(out, "\n") {
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(line), ":", ""))
		if err != nil || len(b) < 12 || b[0]>>6 != 2 || b[1] >= 200 && b[1] <= 204 {
			continue // not RTP version 2, or RTCP (SR, RR, SDES, BYE, APP)
		}
		pkts = append(pkts, b)
	}
	if len(pkts) == 0 {
		t.Fatalf("tshark saw no RTP from the daemon's ports %s; stderr:\n%s", d.RTPPorts(t), stderr)
	}
	return pkts
}

// toneFrames counts the packets whose payload, decoded as G.711 (µ-law and
// A-law both tried), holds a tone of hz: the Goertzel power at hz is at
// least a quarter of the frame's power (a pure tone gives about 2, noise
// about 2/160).
func toneFrames(pkts [][]byte, hz float64) int {
	n := 0
	for _, p := range pkts {
		payload := p[12+4*int(p[0]&0x0f):]
		for _, alaw := range []bool{false, true} {
			pcm := audio.DecodeG711(payload, alaw)
			var sum float64
			for _, s := range pcm {
				sum += float64(s) * float64(s)
			}
			if mean := sum / float64(len(pcm)) / (32768 * 32768); mean > 0 && audio.Goertzel(pcm, 8000, hz)/mean > 0.25 {
				n++
				break
			}
		}
	}
	return n
}

// wantNoKeys fails if an SDES key (an a=crypto line's inline:) is in the
// daemon's logs.
func wantNoKeys(t *testing.T, d *testutil.Daemon) {
	t.Helper()
	for _, f := range []string{"gophone.log", "serve.log"} {
		b, _ := os.ReadFile(filepath.Join(d.Dir, f))
		if strings.Contains(string(b), "inline:") || strings.Contains(string(b), "a=crypto") {
			t.Errorf("an SRTP key is in %s", f)
		}
	}
}

// TestKamailioSRTP: two daemons registered at Kamailio over TLS with
// SRTP=mandatory call each other: each hears the other's tone, and the
// RTP on the wire is SRTP (an 80-bit tag after the 20 ms of PCMU) in which
// the tone is not found when the payloads are decoded as G.711; hold,
// resume and DTMF work on the encrypted call.
func TestKamailioSRTP(t *testing.T) {
	k := testutil.StartKamailio(t, testutil.KamailioOptions{TLS: true})
	dir := t.TempDir()
	aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:440\naudioOutput=file:"+aHeard+"\n"+
		tlsSettings(t, "tls")+accountINI(k, "1001", testutil.KamailioPassword("1001"), "tls", 120)+"SRTP=mandatory\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:1000\naudioOutput=file:"+bHeard+"\n"+
		tlsSettings(t, "tls")+accountINI(k, "1002", testutil.KamailioPassword("1002"), "tls", 120)+"SRTP=mandatory\n")
	aev, bev := a.Events(t), b.Events(t)
	registered(t, a, aev)
	registered(t, b, bev)

	var bCall, aCall string
	pkts := captureRTPPayloads(t, b, func() {
		bCall = strings.TrimSpace(b.MustRun(t, "dial", "1001"))
		bev.WaitType(t, eventWait, "call.established", bCall)
		aCall = aev.WaitType(t, eventWait, "call.established", "").Call
		wantHearing(t, "A", aHeard, 1000)
		wantHearing(t, "B", bHeard, 440)
		if ac, _ := a.Status(t).Call(aCall); !ac.SRTP {
			t.Errorf("A's call %+v, want srtp true", ac)
		}
		if bc, _ := b.Status(t).Call(bCall); !bc.SRTP {
			t.Errorf("B's call %+v, want srtp true", bc)
		}
	})
	// Hold and resume (re-INVITEs keeping the keys) and RFC 4733 digits,
	// encrypted as the audio is.
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_held", aCall)
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_resumed", aCall)
	b.MustRun(t, "senddtmf", "42")
	if d := aev.WaitType(t, eventWait, "dtmf.received", aCall).Digit + aev.WaitType(t, eventWait, "dtmf.received", aCall).Digit; d != "42" {
		t.Errorf("A received DTMF %q, want 42", d)
	}
	wantHearing(t, "A after the resume", aHeard, 1000)
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)

	if len(pkts) < 25 {
		t.Fatalf("captured %d RTP packets from B, want half a second's at least", len(pkts))
	}
	srtp := 0
	for _, p := range pkts {
		if len(p) == 12+160+10 {
			srtp++
		}
	}
	if srtp < len(pkts)*9/10 {
		t.Errorf("%d of %d packets are 12+160+10 bytes long (RTP header, 20 ms of PCMU, HMAC-SHA1-80 tag)", srtp, len(pkts))
	}
	if n := toneFrames(pkts, 1000); n > len(pkts)/20 {
		t.Errorf("B's 1000 Hz tone decodes from %d of %d captured packets: the RTP is not encrypted", n, len(pkts))
	}
	wantNoKeys(t, a)
	wantNoKeys(t, b)
}

// TestSRTPMandatoryRefusesPlain: a daemon whose SRTP is mandatory (keys
// allowed over UDP) answers a plain offer 488 with a Warning saying why,
// and ends its own call to a far end that answers plain RTP, with a
// reason saying SRTP was required; over UDP without srtpOverUDP it warns
// at start and dials nothing.
func TestSRTPMandatoryRefusesPlain(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n[Account1]\nSRTP=mandatory\nsrtpOverUDP=1\n")
	ev := d.Events(t)

	uac := testutil.NewSIPp(t, scenario(t, "uac_srtp_required_488.xml"))
	r := uac.Run(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
	wantSIPpOK(t, "uac_srtp_required_488.xml", r)
	if !strings.Contains(r.Messages, "Warning: 399") || !strings.Contains(r.Messages, "SRTP") {
		t.Errorf("the 488 has no Warning naming SRTP:\n%s", lastLines(r.Messages, 30))
	}

	uas := oneCallUAS(t, "uas.xml") // answers plain RTP/AVP, no a=crypto
	id := dial(t, d, "sip:sipp@"+uas.Addr())
	e := ev.WaitType(t, eventWait, "call.ended", id)
	if !strings.Contains(e.Reason, "SRTP required") {
		t.Errorf("call.ended reason %q (code %d), want one saying SRTP is required", e.Reason, e.Code)
	}
	wantSIPpOK(t, "uas.xml", uas.Wait()) // it got its ACK and a BYE

	plain := startDaemon(t, "[Account1]\nSRTP=mandatory\n")
	res := plain.RunCLI("dial", "sip:sipp@127.0.0.1:9")
	if res.Exit == 0 || !strings.Contains(res.Stdout+res.Stderr, "unsupported") || !strings.Contains(res.Stdout+res.Stderr, "TLS") {
		t.Errorf("dial with SRTP=mandatory over UDP: %v; want refused as unsupported, naming TLS", res)
	}
	log, _ := os.ReadFile(filepath.Join(plain.Dir, "gophone.log"))
	if !strings.Contains(string(log), "SRTP=mandatory over udp") {
		t.Errorf("no start-up warning about SRTP over UDP in the log:\n%s", log)
	}
}

// TestSRTPBaresip: gophone calls baresip (its srtp module) over UDP, and
// is called by it, with SDES keys, both mandatory (RTP/SAVP) or both optional (keys on RTP/AVP):
// each hears the other's tone, and gophone's RTP does not decode to its
// tone. With an optional policy gophone also calls a baresip without
// SRTP, in plain RTP, whose capture does decode to the tone.
func TestSRTPBaresip(t *testing.T) {
	for _, tt := range []struct {
		name, gophone, mediaenc string
		srtp                    bool
		baresipDials            bool
	}{
		{"mandatory", "mandatory", "srtp-mand", true, false},
		{"optional", "optional", "srtp", true, false},
		{"optional to plain", "optional", "", false, false},
		{"baresip calls, mandatory", "mandatory", "srtp-mand", true, true},
		{"baresip calls, optional", "optional", "srtp", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			heard := filepath.Join(t.TempDir(), "heard.wav")
			d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=file:"+heard+"\n"+
				"[Account1]\nSRTP="+tt.gophone+"\nsrtpOverUDP=1\n")
			ev := d.Events(t)
			opts := testutil.BaresipOptions{User: "alice", ToneHz: 440, AutoAnswer: true}
			if tt.mediaenc != "" {
				opts.ExtraConfig = []string{"module srtp.so"}
				opts.AccountParams = ";mediaenc=" + tt.mediaenc
			}
			b := testutil.StartBaresip(t, opts)

			pkts := captureRTPPayloads(t, d, func() {
				var id string
				if tt.baresipDials {
					id = baresipCalls(t, b, d, ev)
				} else {
					id = strings.TrimSpace(d.MustRun(t, "dial", "sip:alice@127.0.0.1:"+strconv.Itoa(b.Port)))
					ev.WaitType(t, eventWait, "call.established", id)
					b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
				}
				wantHearing(t, "gophone", heard, 440)
				if c, _ := d.Status(t).Call(id); c.SRTP != tt.srtp {
					t.Errorf("gophone's call %+v, want srtp %v", c, tt.srtp)
				}
				b.WaitRecorded(t, eventWait, time.Second)
				d.MustRun(t, "hangup", id)
				b.WaitEventType(t, eventWait, "CALL_CLOSED")
			})
			wantTone(t, "baresip heard", b.WaitRecording(t, eventWait), 1000)
			found := toneFrames(pkts, 1000)
			if tt.srtp && found > len(pkts)/20 {
				t.Errorf("gophone's tone decodes from %d of %d captured packets: the RTP is not encrypted", found, len(pkts))
			}
			if !tt.srtp && found < len(pkts)/2 {
				t.Errorf("gophone's tone decodes from %d of %d captured packets of a plain call: the check finds nothing", found, len(pkts))
			}
		})
	}
}
