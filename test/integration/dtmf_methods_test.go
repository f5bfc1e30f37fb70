package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// sippMessage is one message of SIPp's message trace (-trace_msg).
type sippMessage struct {
	received bool   // SIPp received it (else SIPp sent it)
	text     string // the message, with \n line ends
}

func (m sippMessage) firstLine() string { l, _, _ := strings.Cut(m.text, "\n"); return l }
func (m sippMessage) body() string      { _, b, _ := strings.Cut(m.text, "\n\n"); return b }

// sippMessages parses SIPp's message trace: blocks that start with a line
// of dashes and a time, then "UDP message received [N] bytes :" or
// "UDP message sent (N bytes):", an empty line and the message.
func sippMessages(log string) []sippMessage {
	var msgs []sippMessage
	for _, block := range strings.Split(strings.ReplaceAll(log, "\r\n", "\n"), "----------------------------------------------- ")[1:] {
		_, rest, _ := strings.Cut(block, "\n") // the time
		kind, text, _ := strings.Cut(rest, "\n\n")
		msgs = append(msgs, sippMessage{received: strings.Contains(kind, "received"), text: strings.TrimRight(text, "\n") + "\n"})
	}
	return msgs
}

// TestDaemonDTMFInfoToSIPp: `senddtmf 12#` sends one SIP INFO
// application/dtmf-relay per digit, Signal= and Duration= as pjsua and
// MicroSIP send them, in order, each after the last one's 200: with
// DTMFMethod=auto (the default) to a far end whose SDP has no
// telephone-event, and with MicroSIP's DTMFMethod=3 (SIP INFO) even to one
// whose SDP has it, where auto would send RFC 4733 events.
func TestDaemonDTMFInfoToSIPp(t *testing.T) {
	withTE := filepath.Join(t.TempDir(), "uas_te.xml")
	xml, err := os.ReadFile(scenario(t, "uas_no_te.xml"))
	if err != nil {
		t.Fatal(err)
	}
	xml = bytes.Replace(xml, []byte("RTP/AVP 0\n      a=rtpmap:0 PCMU/8000\n"),
		[]byte("RTP/AVP 0 101\n      a=rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000\n"), 1)
	if !bytes.Contains(xml, []byte("telephone-event")) {
		t.Fatal("uas_no_te.xml's SDP is not as this test expects")
	}
	if err := os.WriteFile(withTE, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, ini, scenario string
	}{
		{"auto, no telephone-event", "", scenario(t, "uas_no_te.xml")},
		{"DTMFMethod=3, telephone-event offered", "[Settings]\nDTMFMethod=3\n", withTE},
	} {
		t.Run(tt.name, func(t *testing.T) { dtmfInfoToSIPp(t, tt.ini, tt.scenario) })
	}
}

func dtmfInfoToSIPp(t *testing.T, ini, scenarioPath string) {
	d := startDaemon(t, ini)
	ev := d.Events(t)
	uas := testutil.NewSIPp(t, scenarioPath)
	uas.Start("", sippLimit, "-m", "1")
	uas.WaitReady(t)
	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.established", id)
	d.MustRun(t, "senddtmf", "12#", id)
	d.MustRun(t, "hangup", id)
	r := uas.Wait()
	wantSIPpOK(t, filepath.Base(scenarioPath), r)

	var bodies []string
	pending := false // an INFO sent and not yet answered
	for _, m := range sippMessages(r.Messages) {
		switch {
		case m.received && strings.HasPrefix(m.firstLine(), "INFO "):
			if pending {
				t.Errorf("INFO %q sent before the last one was answered", m.body())
			}
			if ct := headerValue(m.text, "Content-Type"); ct != "application/dtmf-relay" {
				t.Errorf("INFO Content-Type %q, want application/dtmf-relay", ct)
			}
			bodies = append(bodies, m.body())
			pending = true
		case !m.received && strings.HasPrefix(m.firstLine(), "SIP/2.0 200") && strings.Contains(m.text, " INFO\n"):
			pending = false
		}
	}
	want := []string{"Signal=1\nDuration=160\n", "Signal=2\nDuration=160\n", "Signal=#\nDuration=160\n"}
	if strings.Join(bodies, "|") != strings.Join(want, "|") {
		t.Errorf("INFO bodies %q, want %q", bodies, want)
	}
}

// headerValue returns the first value of the named header of a message.
func headerValue(msg, name string) string {
	head, _, _ := strings.Cut(msg, "\n\n")
	for _, l := range strings.Split(head, "\n")[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestDaemonDTMFRFC4733Unsupported: with DTMFMethod=rfc4733 and a far end
// whose SDP has no telephone-event, senddtmf fails with the code
// unsupported, and nothing is sent: no INFO, no RFC 4733 packet.
func TestDaemonDTMFRFC4733Unsupported(t *testing.T) {
	d := startDaemon(t, "[Settings]\nDTMFMethod=rfc4733\naudioInput=tone:440\n")
	ev := d.Events(t)
	uas := testutil.NewSIPp(t, scenario(t, "uas_no_te.xml"))
	uas.Start("", sippLimit, "-m", "1", "-rtp_echo")
	uas.WaitReady(t)
	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.established", id)
	var res testutil.CLIResult
	evs := captureRTP(t, d, func() {
		res = d.RunCLI("senddtmf", "12#", id)
		time.Sleep(500 * time.Millisecond) // what would have been sent has gone
	})
	if res.Exit != 1 || !strings.Contains(res.Stderr, "(unsupported)") || !strings.Contains(res.Stderr, "telephone-event") {
		t.Errorf("senddtmf: %s; want exit 1 with code unsupported naming telephone-event", res)
	}
	if len(evs) != 0 {
		t.Errorf("%d RFC 4733 packets sent after a refused senddtmf", len(evs))
	}
	d.MustRun(t, "hangup", id)
	r := uas.Wait()
	wantSIPpOK(t, "uas_no_te.xml", r)
	for _, m := range sippMessages(r.Messages) {
		if m.received && strings.HasPrefix(m.firstLine(), "INFO ") {
			t.Errorf("an INFO was sent after a refused senddtmf: %s", m.text)
		}
	}
}

// TestDaemonDTMFToBaresipIsRFC4733: baresip offers telephone-event, so
// DTMFMethod=auto sends RFC 4733 events (seen on the wire), never INFO,
// and baresip receives the digits.
func TestDaemonDTMFToBaresipIsRFC4733(t *testing.T) {
	testutil.UseBaresipSIPTrace(t)
	d := startDaemon(t, "")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "bob", AutoAnswer: true})
	id := dial(t, d, b.URI())
	ev.WaitType(t, eventWait, "call.established", id)
	b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
	evs := captureRTPEvents(t, d, func() {
		d.MustRun(t, "senddtmf", "12#", id)
	})
	var ids []int
	for i, e := range evs {
		if i == 0 || e.event != evs[i-1].event {
			ids = append(ids, e.event)
		}
	}
	if want := []int{1, 2, 11}; !slices.Equal(ids, want) {
		t.Errorf("RFC 4733 events on the wire %v, want %v", ids, want)
	}
	var digits string
	for range 3 {
		digits += b.WaitEventType(t, eventWait, "CALL_DTMF_START").Param
	}
	if digits != "12#" {
		t.Errorf("baresip received DTMF %q, want 12#", digits)
	}
	for _, m := range b.SIPTrace() {
		if strings.HasPrefix(m.FirstLine(), "INFO ") {
			t.Errorf("baresip received an INFO: %s", m.Text)
		}
	}
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
}

// speechWAV has espeak-ng (Debian's espeak-ng, which scripts/test.sh
// installs) read an IVR prompt, digits spoken included, into a WAV file.
func speechWAV(t *testing.T) (path string, length time.Duration) {
	t.Helper()
	bin := testutil.RequireTool(t, "espeak-ng")
	path = filepath.Join(t.TempDir(), "speech.wav")
	text := "Please enter your account number, followed by the pound key. " +
		"One two three four five six seven eight nine zero. To hear these options again, press star."
	if out, err := exec.Command(bin, "-w", path, "-s", "150", text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	samples, rate, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, time.Duration(len(samples)) * time.Second / time.Duration(rate)
}

// TestInbandDTMFDetectorOnSpeech: the in-band detector hears no digit in
// espeak-ng's speech (digits spoken included), resampled to 8 kHz as a
// call carries it.
func TestInbandDTMFDetectorOnSpeech(t *testing.T) {
	path, _ := speechWAV(t)
	in, err := audio.OpenInput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var det audio.DTMFDetector
	var digits []byte
	frame := make([]byte, audio.FrameBytes)
	for range 30 * 50 { // 30 s, more than the speech
		if _, err := in.Read(frame); err != nil {
			break
		}
		digits = det.Feed(frame, digits)
	}
	if len(digits) != 0 {
		t.Errorf("digits %q detected in speech", digits)
	}
}

// TestDaemonInbandDTMF: A sends with DTMFMethod=inband (so it offers no
// telephone-event) while its microphone plays speech; B, which therefore
// negotiates no telephone-event either, hears the tones in the audio:
// dtmf.received with method inband, the right digits in order, and no
// digit from the speech around them.
func TestDaemonInbandDTMF(t *testing.T) {
	speech, length := speechWAV(t)
	b := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	a := startDaemon(t, "[Settings]\nDTMFMethod=inband\naudioInput=file:"+speech+"\n")
	bev, aev := b.Events(t), a.Events(t)
	id := dial(t, a, "sip:bob@"+b.SIPAddr())
	aev.WaitType(t, eventWait, "call.established", id)
	bcall := bev.WaitType(t, eventWait, "call.established", "").Call
	time.Sleep(2 * time.Second) // into the speech
	a.MustRun(t, "senddtmf", "12#,5", id)
	time.Sleep(length - 2*time.Second) // the rest of the speech
	a.MustRun(t, "hangup", id)
	bev.WaitType(t, eventWait, "call.ended", bcall)
	var digits string
	for _, e := range bev.All() {
		if e.Type != "dtmf.received" {
			continue
		}
		digits += e.Digit
		if e.Method != "inband" {
			t.Errorf("dtmf.received %s by %q, want inband", e.Digit, e.Method)
		}
	}
	if digits != "12#5" {
		t.Errorf("B received %q, want 12#5", digits)
	}
}

// TestDaemonInbandOnlyWithoutTelephoneEvent: A's microphone is a WAV file
// with the tones of 1, 5 and 9 in it. When A offers no telephone-event
// (DTMFMethod=inband), B listens for tones and reports them; when
// telephone-event is negotiated, B's in-band detector does not run and
// the same audio reports nothing.
func TestDaemonInbandOnlyWithoutTelephoneEvent(t *testing.T) {
	var samples []int16
	pcm := make([]byte, 2*audio.FrameSamples)
	frames := func(n int, key byte) {
		for i := range n {
			clear(pcm)
			if key != 0 {
				audio.DTMFTone(pcm, key, i*audio.FrameSamples)
			}
			for j := 0; j < len(pcm); j += 2 {
				samples = append(samples, int16(uint16(pcm[j])|uint16(pcm[j+1])<<8))
			}
		}
	}
	frames(50, 0) // 1 s
	for _, k := range []byte("159") {
		frames(6, k) // 120 ms
		frames(3, 0) // 60 ms
	}
	frames(50, 0)
	wav := filepath.Join(t.TempDir(), "tones.wav")
	if err := audio.WriteWAV(wav, audio.SampleRate, 1, samples); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, want string
	}{{"inband", "159"}, {"auto", ""}} {
		t.Run(tc.method, func(t *testing.T) {
			b := startDaemon(t, "[Settings]\nautoAnswer=all\n")
			a := startDaemon(t, "[Settings]\nDTMFMethod="+tc.method+"\naudioInput=file:"+wav+"\n")
			bev := b.Events(t)
			id := dial(t, a, "sip:bob@"+b.SIPAddr())
			bcall := bev.WaitType(t, eventWait, "call.established", "").Call
			time.Sleep(2500 * time.Millisecond) // the file, played from the call's start
			a.MustRun(t, "hangup", id)
			bev.WaitType(t, eventWait, "call.ended", bcall)
			var digits string
			for _, e := range bev.All() {
				if e.Type == "dtmf.received" {
					digits += e.Digit
					if e.Method != "inband" {
						t.Errorf("dtmf.received %s by %q, want inband", e.Digit, e.Method)
					}
				}
			}
			if digits != tc.want {
				t.Errorf("B received %q, want %q", digits, tc.want)
			}
		})
	}
}
