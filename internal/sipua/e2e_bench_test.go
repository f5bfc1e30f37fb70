package sipua

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// nullMedia is a Media with a silent microphone and no speaker.
type nullMedia struct{}

func (nullMedia) CallAudio(string) CallAudio { return nullMedia{} }
func (nullMedia) ReadFrame(pcm []byte)       { clear(pcm) }
func (nullMedia) Listening() bool            { return false }
func (nullMedia) WriteFrame([]byte)          {}
func (nullMedia) FrameSent([]byte)           {}

// establishedPair starts two user agents on loopback, calls the second from
// the first, and returns the caller's call once both sides are
// established; listener gets the callee's events.
func establishedPair(tb testing.TB, listener Listener) *Call {
	tb.Helper()
	caller, _ := callPair(tb, Config{}, Config{}, listener)
	return caller
}

// callPair starts a caller and a callee user agent on loopback with the
// given configurations, calls the callee and returns both sides' calls
// once they are established; listener gets the callee's events.
func callPair(tb testing.TB, callerCfg, calleeCfg Config, listener Listener) (caller, callee *Call) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	start := func(cfg Config) *UA {
		cfg.Listen = "127.0.0.1:" + strconv.Itoa(testutil.FreePort(tb)) // SIP listens on UDP and TCP
		cfg.Media = nullMedia{}
		cfg.Logger = slog.New(slog.DiscardHandler)
		u, err := Start(ctx, cfg)
		if err != nil {
			tb.Fatal(err)
		}
		return u
	}
	answered := make(chan *Call, 1)
	var calleeDone <-chan struct{}
	calleeCfg.OnIncoming = func(c *Call) {
		c.SetListener(listener)
		go func() {
			if c.Answer(ctx) == nil {
				answered <- c
			}
		}()
	}
	calleeUA := start(calleeCfg)
	callerUA := start(callerCfg)
	tb.Cleanup(func() {
		callerUA.Close()
		if calleeDone != nil {
			// The callee takes the caller's BYE on its own goroutine; closed
			// before, it would send a BYE of its own to the closed caller
			// and wait out its transaction (32 s).
			select {
			case <-calleeDone:
			case <-time.After(time.Second):
			}
		}
		calleeUA.Close()
		cancel()
	})
	var mu sync.Mutex
	var callerEvents []Event
	call, err := callerUA.Dial(ctx, "sip:bench@"+calleeUA.Addr(), DialOptions{Listener: func(_ *Call, ev Event) {
		mu.Lock()
		callerEvents = append(callerEvents, ev)
		mu.Unlock()
	}})
	if err != nil {
		tb.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	select {
	case <-call.Established():
	case <-timeout:
		mu.Lock()
		defer mu.Unlock()
		tb.Fatalf("call not established; the caller's events: %+v", callerEvents)
	}
	select {
	case c := <-answered:
		select {
		case <-c.Established():
		case <-timeout:
			tb.Fatal("callee not established")
		}
		calleeDone = c.Done() // not c: a test may watch it be collected
		return call, c
	case <-timeout:
		tb.Fatal("callee did not answer")
	}
	return nil, nil
}

var (
	sdpAudioPort = regexp.MustCompile(`(?m)^m=audio (\d+) `)
	sdpEventPT   = regexp.MustCompile(`(?m)^a=rtpmap:(\d+) telephone-event/8000`)
)

// BenchmarkPacketToEvent measures the receive path end to end: an RFC 4733
// start packet sent to a call's RTP port until the call's listener has the
// DTMF event (socket, diago's RTP reader, the DTMF detector, the event).
// One op is one packet in and one event out. The media clock drains a
// call's socket once per packet time, so an op takes up to 20 ms, nearly
// all of it waiting: the figure is the latency bound, its allocations the
// per-packet cost (the CPU cost is bench/run.sh's).
func BenchmarkPacketToEvent(b *testing.B) {
	events := make(chan Event, 1)
	call := establishedPair(b, func(_ *Call, ev Event) {
		if ev.Kind == EventDTMF {
			events <- ev
		}
	})
	answer := string(call.remoteSDP())
	port := sdpAudioPort.FindStringSubmatch(answer)
	pt := sdpEventPT.FindStringSubmatch(answer)
	if port == nil || pt == nil {
		b.Fatalf("no audio port or telephone-event in the answer:\n%s", answer)
	}
	ptNum, _ := strconv.Atoi(pt[1])
	conn, err := net.Dial("udp", "127.0.0.1:"+port[1])
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	pkt := make([]byte, 12+4)
	pkt[0] = 0x80
	pkt[1] = byte(ptNum) | 0x80 // marker: the start of an event
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
	copy(pkt[12:], []byte{5, 10, 0, 160}) // digit 5, 20 ms
	var seq uint16
	var ts uint32
	b.ReportAllocs()
	for b.Loop() {
		seq++
		ts += 1600 // a new event each time, as a new digit would be
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		if _, err := conn.Write(pkt); err != nil {
			b.Fatal(err)
		}
		select {
		case ev := <-events:
			if ev.Digit != "5" {
				b.Fatalf("digit %q, want 5", ev.Digit)
			}
		case <-time.After(5 * time.Second):
			b.Fatal("no DTMF event within 5 s")
		}
	}
}
