package sipua

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDTMFDetector(t *testing.T) {
	type pkt struct {
		ts    uint32
		event byte
		end   bool
	}
	ev := func(ts uint32, event byte, end bool) pkt { return pkt{ts, event, end} }
	tests := []struct {
		name string
		pkts []pkt
		want string
	}{
		{"one digit with three end packets", []pkt{ev(100, 1, false), ev(100, 1, false), ev(100, 1, true), ev(100, 1, true), ev(100, 1, true)}, "1"},
		{"long-held digit: many updates", append(repeat(ev(200, 5, false), 100), ev(200, 5, true)), "5"},
		{"retransmitted end packets after the next digit started", []pkt{ev(1, 1, true), ev(2, 2, false), ev(1, 1, true), ev(2, 2, true)}, "12"},
		{"same digit twice is two events", []pkt{ev(10, 7, false), ev(10, 7, true), ev(900, 7, false), ev(900, 7, true)}, "77"},
		{"end packet only (start lost) still counts", []pkt{ev(5, 11, true), ev(5, 11, true)}, "#"},
		{"all symbols", []pkt{ev(1, 0, false), ev(2, 9, false), ev(3, 10, false), ev(4, 11, false), ev(5, 12, false), ev(6, 15, false)}, "09*#AD"},
		{"non-DTMF event ignored", []pkt{ev(1, 16, false), ev(2, 3, false)}, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dtmfDetector
			var got strings.Builder
			for _, p := range tt.pkts {
				payload := []byte{p.event, 10, 0, 160}
				if p.end {
					payload[1] |= 0x80
				}
				if digit, ok := d.feed(p.ts, payload); ok {
					got.WriteString(digit)
				}
			}
			if got.String() != tt.want {
				t.Errorf("digits = %q, want %q", got.String(), tt.want)
			}
		})
	}
	var d dtmfDetector
	if _, ok := d.feed(1, []byte{1, 2}); ok {
		t.Error("a 2-byte payload gave a digit")
	}
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestPlanDigits checks the RFC 4733 packets a DTMF job becomes: per digit
// 120 ms of updates with a growing duration, three end packets, the RTP
// clock moved past the event by the last, digits 60 ms apart, ',' a pause.
func TestPlanDigits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		digits string
		pause  time.Duration
		period time.Duration
		want   string
	}{
		{"one digit, 20 ms", "5", 0, 20 * time.Millisecond, "SuuuuuEEe"},
		{"two digits, 60 ms apart", "12", 0, 20 * time.Millisecond, "SuuuuuEEe" + "aaa" + "SuuuuuEEe"},
		{"a pause", "1,2", 100 * time.Millisecond, 20 * time.Millisecond, "SuuuuuEEe" + "aaaaa" + "aaa" + "SuuuuuEEe"},
		{"40 ms packets", "#", 0, 40 * time.Millisecond, "SuuEEe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planDigits(dtmfJob{digits: tc.digits, pause: tc.pause}, tc.period)
			if got := describePlan(plan); got != tc.want {
				t.Fatalf("plan %s, want %s", got, tc.want)
			}
			// The first digit's packets: event code, durations, RTP clock.
			step := samplesIn(tc.period)
			packets := packetsIn(dtmfLength, tc.period)
			event, _ := dtmfEvent(rune(tc.digits[0]))
			for p, s := range plan[:packets+dtmfEndCopies] {
				dur := int(s.payload[2])<<8 | int(s.payload[3])
				if s.payload[0] != event || dur != min(p+1, packets)*step || s.payload[1]&0x7f != 10 {
					t.Errorf("packet %d: payload % x, want event %d duration %d volume 10", p, s.payload, event, min(p+1, packets)*step)
				}
			}
			if last := plan[packets+dtmfEndCopies-1]; last.advance != uint32((packets+dtmfEndCopies)*step) {
				t.Errorf("last end packet moves the RTP clock %d, want %d", last.advance, (packets+dtmfEndCopies)*step)
			}
		})
	}
}

// TestPlanDigitsInband: an inband job is frames of each digit's tones for
// 120 ms, each frame starting where the last ended, digits 60 ms apart.
func TestPlanDigitsInband(t *testing.T) {
	for _, tc := range []struct {
		digits string
		period time.Duration
		want   string
	}{
		{"1,b", 20 * time.Millisecond, "TTTTTT" + "aaaaa" + "aaa" + "TTTTTT"},
		{"#", 40 * time.Millisecond, "TTT"},
		{"#", 60 * time.Millisecond, "TT"},
	} {
		plan := planDigits(dtmfJob{digits: tc.digits, pause: 100 * time.Millisecond, inband: true}, tc.period)
		if got := describePlan(plan); got != tc.want {
			t.Errorf("%q at %v: plan %s, want %s", tc.digits, tc.period, got, tc.want)
		}
		// Each digit's frames: its key, consecutive offsets from 0.
		var keys []byte
		next := 0
		for i, s := range plan {
			if s.tone == 0 {
				next = 0
				continue
			}
			if next == 0 {
				keys = append(keys, s.tone)
			}
			if s.offset != next {
				t.Errorf("%q: frame %d starts at sample %d of its tone, want %d", tc.digits, i, s.offset, next)
			}
			next += samplesIn(tc.period)
		}
		if want := strings.ToUpper(strings.ReplaceAll(tc.digits, ",", "")); string(keys) != want {
			t.Errorf("%q: tones of keys %q, want %q", tc.digits, keys, want)
		}
	}
}

// describePlan writes a plan as one letter per packet time: a (audio),
// S (a digit's first packet), u (update), E (end packet), e (the last
// end packet, which moves the RTP clock on), T (a frame of tones).
func describePlan(plan []dtmfStep) string {
	var b strings.Builder
	for _, s := range plan {
		switch {
		case s.audio:
			b.WriteByte('a')
		case s.tone != 0:
			b.WriteByte('T')
		case s.start:
			b.WriteByte('S')
		case s.advance != 0:
			b.WriteByte('e')
		case s.payload[1]&0x80 != 0:
			b.WriteByte('E')
		default:
			b.WriteByte('u')
		}
	}
	return b.String()
}

// TestParseDTMFInfo: the digit of a SIP INFO body, application/dtmf-relay
// (Signal=, Duration=) or application/dtmf (the digit alone); malformed
// bodies give none (and the INFO a 400).
func TestParseDTMFInfo(t *testing.T) {
	const relay, plain = "application/dtmf-relay", "application/dtmf"
	tests := []struct {
		ct, body string
		want     string // "" for malformed
	}{
		{relay, "Signal=5\r\nDuration=160\r\n", "5"},
		{relay, "Signal=5", "5"},
		{relay, "Signal= *\r\nDuration=160\r\n", "*"},
		{relay, "Signal=#\r\n", "#"},
		{relay, "Signal=10\r\nDuration=160\r\n", "*"},
		{relay, "Signal=11\r\nDuration=160\r\n", "#"},
		{relay, "Signal=A\r\n", "A"},
		{relay, "Signal=d\r\n", "D"},
		{relay, "signal=7\r\nduration=100\r\n", "7"},
		{relay, "SIGNAL = 0\n", "0"},
		{relay, "Duration=160\r\nSignal=9\r\n", "9"},
		{relay, "Signal=1\r\n\r\n", "1"},
		{relay, "Signal=1\r\nVolume=10\r\n", "1"},
		{relay, "Signal=x\r\nDuration=160\r\n", ""},
		{relay, "Signal=12\r\n", ""},
		{relay, "Signal=\r\n", ""},
		{relay, "Signal=1\r\nDuration=long\r\n", ""},
		{relay, "Signal=1\r\nDuration=-5\r\n", ""},
		{relay, "Signal=1\r\nSignal=2\r\n", ""},
		{relay, "Signal 1\r\n", ""},
		{relay, "Duration=160\r\n", ""},
		{relay, "", ""},
		{relay, "5", ""},
		{plain, "5", "5"},
		{plain, "#\r\n", "#"},
		{plain, " b ", "B"},
		{plain, "11", "#"},
		{plain, "", ""},
		{plain, "55", ""},
		{plain, "Signal=5\r\nDuration=100\r\n", "5"},
		{plain, "Signal=55", ""},
		{plain, "x", ""},
	}
	for _, tt := range tests {
		got, ok := parseDTMFInfo(tt.ct, []byte(tt.body))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parseDTMFInfo(%s, %q) = %q, %v; want %q", tt.ct, tt.body, got, ok, tt.want)
		}
	}
}

// TestSendDTMFMethods: two user agents on loopback; the caller sends
// digits by its DTMF method and the callee reports each once, in order,
// with the method they came by. A method the call cannot carry fails with
// its error before anything is sent.
func TestSendDTMFMethods(t *testing.T) {
	for _, tc := range []struct {
		name           string
		caller, callee DTMFMethod
		want           DTMFMethod // "" when SendDTMF must fail
		wantErr        error
	}{
		{"auto with telephone-event", DTMFAuto, DTMFAuto, DTMFRFC4733, nil},
		{"auto without telephone-event", DTMFAuto, DTMFInband, DTMFInfo, nil},
		{"rfc4733", DTMFRFC4733, DTMFAuto, DTMFRFC4733, nil},
		{"info", DTMFInfo, DTMFAuto, DTMFInfo, nil},
		{"inband", DTMFInband, DTMFAuto, DTMFInband, nil},
		{"rfc4733 without telephone-event", DTMFRFC4733, DTMFInband, "", ErrNoTelephoneEvent},
	} {
		// Not parallel: Start sets sipgo's package-level UDPMTUSize.
		t.Run(tc.name, func(t *testing.T) {
			events := make(chan Event, 16)
			caller, _ := callPair(t, Config{DTMFMethod: tc.caller}, Config{DTMFMethod: tc.callee}, func(_ *Call, ev Event) {
				if ev.Kind == EventDTMF {
					events <- ev
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := caller.SendDTMF(ctx, "12#,5", 100*time.Millisecond)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("SendDTMF error %v, want %v", err, tc.wantErr)
				}
				select {
				case ev := <-events:
					t.Errorf("the callee got digit %q by %s after a refused SendDTMF", ev.Digit, ev.Method)
				case <-time.After(300 * time.Millisecond):
				}
				return
			}
			if err != nil {
				t.Fatalf("SendDTMF: %v", err)
			}
			var got strings.Builder
			for got.Len() < 4 {
				select {
				case ev := <-events:
					got.WriteString(ev.Digit)
					if ev.Method != tc.want {
						t.Errorf("digit %s came by %q, want %q", ev.Digit, ev.Method, tc.want)
					}
				case <-ctx.Done():
					t.Fatalf("the callee got %q, want 12#5", got.String())
				}
			}
			if got.String() != "12#5" {
				t.Errorf("the callee got %q, want 12#5", got.String())
			}
			select {
			case ev := <-events:
				t.Errorf("an extra digit %q by %s", ev.Digit, ev.Method)
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
}

// TestSendDTMFInbandHeld: while the far end holds the call it takes no
// audio, so in-band digits fail with ErrNoAudio, sending nothing; after
// it resumes they go.
func TestSendDTMFInbandHeld(t *testing.T) {
	events := make(chan Event, 16)
	caller, callee := callPair(t, Config{DTMFMethod: DTMFInband}, Config{}, func(_ *Call, ev Event) {
		if ev.Kind == EventDTMF {
			events <- ev
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := callee.Hold(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitRemoteHeld(t, caller, true)
	if err := caller.SendDTMF(ctx, "1", 0); !errors.Is(err, ErrNoAudio) {
		t.Fatalf("SendDTMF while held: %v, want %v", err, ErrNoAudio)
	}
	if err := callee.Hold(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitRemoteHeld(t, caller, false)
	if err := caller.SendDTMF(ctx, "1", 0); err != nil {
		t.Fatalf("SendDTMF after resume: %v", err)
	}
	select {
	case ev := <-events:
		if ev.Digit != "1" || ev.Method != DTMFInband {
			t.Errorf("callee got %q by %s, want 1 by inband", ev.Digit, ev.Method)
		}
	case <-ctx.Done():
		t.Fatal("the callee heard no digit after the resume")
	}
}

// waitRemoteHeld waits until c sees the far end's hold as want: the far
// end's Hold returns on the 200, c takes the new state just after sending it.
func waitRemoteHeld(t *testing.T, c *Call, want bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, remote := c.Held(); remote == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote hold still %v after 5 s", !want)
		}
		time.Sleep(time.Millisecond) // polling interval
	}
}
