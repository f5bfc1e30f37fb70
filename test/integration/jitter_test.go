package integration

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// TestJitterAndRTCP runs a call between two daemons whose talker→listener
// RTP passes a relay in the test: clean for 5 s, then with 5 % random loss
// and 0-40 ms random delay (which reorders packets). The listener's
// recording (its output device, file:) must keep time — a frame for every
// packet the talker sent, so losses are concealed rather than skipped —
// with no silence longer than one packet, and the tone's level within 2 dB
// of the clean part. Both daemons' Status show what the RTCP reports say:
// the talker the loss and jitter the listener reports, the listener a
// loopback round-trip time.
func TestJitterAndRTCP(t *testing.T) {
	dir := t.TempDir()
	heard := filepath.Join(dir, "heard.wav")
	talker := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=null\n")
	listener := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\naudioOutput=file:"+heard+"\n")
	tev, lev := talker.Events(t), listener.Events(t)

	relay := startRTPRelay(t)
	proxy := startSDPProxy(t, talker.SIPAddr(), relay, "")

	lCall := strings.TrimSpace(listener.MustRun(t, "dial", "sip:talker@"+proxy))
	lev.WaitType(t, eventWait, "call.established", lCall)
	tCall := tev.WaitType(t, eventWait, "call.established", "").Call

	time.Sleep(5 * time.Second) // the clean part of the recording
	cleanEnd := testutil.WAVLen(heard)
	relay.impair.Store(true)
	time.Sleep(12 * time.Second)

	// RTCP: the listener's reports on the talker's stream reached the
	// talker, the talker's (echoing the listener's SRs) the listener.
	var ts, ls testutil.Call
	deadline := time.Now().Add(eventWait)
	for {
		ts, ls = callStatus(t, talker, tCall), callStatus(t, listener, lCall)
		if ts.RTP.RemoteLost > 0 && ls.RTP.RTTMs > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // RTCP comes every 5 s
	}
	t.Logf("talker rtp %+v; listener rtp %+v; relay forwarded %d, dropped %d", ts.RTP, ls.RTP, relay.seen.Load(), relay.dropped.Load())
	if ts.RTP.RemoteLost <= 0 || ts.RTP.RemoteLost > relay.dropped.Load() {
		t.Errorf("talker's rtp.remoteLost = %d, want 1-%d (the packets the relay dropped)", ts.RTP.RemoteLost, relay.dropped.Load())
	}
	if ts.RTP.RemoteJitterMs < 3 || ts.RTP.RemoteJitterMs > 60 {
		t.Errorf("talker's rtp.remoteJitterMs = %.1f, want the 0-40 ms delays' jitter (3-60)", ts.RTP.RemoteJitterMs)
	}
	if ls.RTP.RTTMs <= 0 || ls.RTP.RTTMs > 10 {
		t.Errorf("listener's rtp.rttMs = %.1f, want a loopback round trip (0-10 ms)", ls.RTP.RTTMs)
	}
	if ls.RTP.Concealed == 0 || ls.RTP.Late+ls.RTP.Concealed == 0 || ls.RTP.BufferMs <= 0 {
		t.Errorf("listener's jitter buffer: %+v, want packets concealed and a depth", ls.RTP)
	}

	listener.MustRun(t, "hangup", lCall)
	lev.WaitType(t, eventWait, "call.ended", lCall)
	samples, rate, err := audio.ReadWAV(heard)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 8000 {
		t.Fatalf("recording at %d Hz, want 8000", rate)
	}

	// Time is kept: a frame for every packet sent, less the buffer's delay.
	frames, sent := len(samples)/160, int(relay.seen.Load())
	if frames < sent-12 {
		t.Errorf("recording holds %d frames of the %d packets sent (%d dropped): lost packets were skipped, not concealed", frames, sent, relay.dropped.Load())
	}
	// No silence longer than one packet (20 ms), beyond the first and last 300 ms.
	if run, at := longestSilence(samples[2400 : len(samples)-2400]); run > 160 {
		t.Errorf("%d ms of silence at %.2f s of the recording, want at most one packet (20 ms)", run/8, float64(at+2400)/8000)
	}
	clean := testutil.RMS(samples[4000 : cleanEnd-800])
	lossy := testutil.RMS(samples[cleanEnd+8000 : len(samples)-2400])
	if db := 20 * math.Log10(lossy/clean); math.Abs(db) > 2 {
		t.Errorf("tone level with loss and jitter %.2f dB from the clean level, want within 2 dB", db)
	}
	if hz := audio.DominantFrequency(samples[cleanEnd+8000:], rate, 100, 3000, 10); math.Abs(hz-1000) > 20 {
		t.Errorf("heard %.0f Hz, want the talker's 1000 Hz", hz)
	}
}

// TestJitterReceivesLongerPackets: the talker sends 40 ms packets (the
// listener's a=ptime, rewritten on the way) while the listener sends, and
// so turns its media clock, every 20 ms (the talker asks for 20). The
// listener plays out the received audio at its real pace: its recording
// keeps time with the packets sent, with no gap and the tone at its level.
func TestJitterReceivesLongerPackets(t *testing.T) {
	heard := filepath.Join(t.TempDir(), "heard.wav")
	talker := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=null\n")
	listener := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\naudioOutput=file:"+heard+"\n")
	lev := listener.Events(t)
	relay := startRTPRelay(t)
	proxy := startSDPProxy(t, talker.SIPAddr(), relay, "40")

	lCall := strings.TrimSpace(listener.MustRun(t, "dial", "sip:talker@"+proxy))
	lev.WaitType(t, eventWait, "call.established", lCall)
	time.Sleep(4 * time.Second)
	listener.MustRun(t, "hangup", lCall)
	lev.WaitType(t, eventWait, "call.ended", lCall)

	samples, _, err := audio.ReadWAV(heard)
	if err != nil {
		t.Fatal(err)
	}
	frames, want := len(samples)/160, 2*int(relay.seen.Load()) // 20 ms frames, 40 ms packets
	if frames < want-12 || frames > want+12 {
		t.Errorf("recording holds %d 20 ms frames for %d packets of 40 ms, want about %d", frames, relay.seen.Load(), want)
	}
	if run, at := longestSilence(samples[2400 : len(samples)-2400]); run > 160 {
		t.Errorf("%d ms of silence at %.2f s of the recording, want none", run/8, float64(at+2400)/8000)
	}
	if db := 20 * math.Log10(testutil.RMS(samples[4000:len(samples)-2400])*math.Sqrt2); db < -11 || db > -9 {
		t.Errorf("tone at %.1f dBFS, want the talker's -10", db)
	}
}

func callStatus(t *testing.T, d *testutil.Daemon, id string) testutil.Call {
	t.Helper()
	c, ok := d.Status(t).Call(id)
	if !ok {
		t.Fatalf("call %s missing from status", id)
	}
	return c
}

// longestSilence returns the longest run of samples in 1 ms windows whose
// level is below -40 dBFS, and where it starts.
func longestSilence(s []int16) (run, at int) {
	cur := 0
	for i := 0; i+8 <= len(s); i += 8 {
		if testutil.RMS(s[i:i+8]) < 0.01 {
			if cur += 8; cur > run {
				run, at = cur, i+8-cur
			}
			continue
		}
		cur = 0
	}
	return run, at
}

// rtpRelay forwards RTP and RTCP to the listener's ports, the RTP (once
// impair is set) with 5 % random loss and 0-40 ms random delay.
type rtpRelay struct {
	rtp, rtcp     *net.UDPConn
	mu            sync.Mutex
	to            int // the listener's RTP port; RTCP is on the next
	impair        atomic.Bool
	seen, dropped atomic.Int64
}

func startRTPRelay(t *testing.T) *rtpRelay {
	t.Helper()
	r := &rtpRelay{}
	lo := net.IPv4(127, 0, 0, 1)
	for range 50 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo})
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 {
			if rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo, Port: port + 1}); err == nil {
				r.rtp, r.rtcp = c, rc
				break
			}
		}
		c.Close()
	}
	if r.rtp == nil {
		t.Fatal("no free port pair for the RTP relay")
	}
	t.Cleanup(func() { r.rtp.Close(); r.rtcp.Close() })
	rng := rand.New(rand.NewPCG(11, 5))
	var rngMu sync.Mutex
	go r.forward(r.rtp, 0, func() (drop bool, delay time.Duration) {
		if !r.impair.Load() {
			return false, 0
		}
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64() < 0.05, time.Duration(rng.Int64N(int64(40 * time.Millisecond)))
	})
	go r.forward(r.rtcp, 1, func() (bool, time.Duration) { return false, 0 })
	return r
}

func (r *rtpRelay) port() int { return r.rtp.LocalAddr().(*net.UDPAddr).Port }

func (r *rtpRelay) setTarget(port int) {
	r.mu.Lock()
	r.to = port
	r.mu.Unlock()
}

func (r *rtpRelay) forward(c *net.UDPConn, offset int, fate func() (bool, time.Duration)) {
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		to := r.to
		r.mu.Unlock()
		if to == 0 {
			continue
		}
		if offset == 0 {
			r.seen.Add(1)
		}
		drop, delay := fate()
		if drop {
			r.dropped.Add(1)
			continue
		}
		pkt := bytes.Clone(buf[:n])
		dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to + offset}
		if delay == 0 {
			c.WriteToUDP(pkt, dst)
			continue
		}
		time.AfterFunc(delay, func() { c.WriteToUDP(pkt, dst) })
	}
}

var (
	sdpAudioPort  = regexp.MustCompile(`(?m)^m=audio (\d+) `)
	sdpRTCPAttr   = regexp.MustCompile(`(?m)^a=rtcp:\d+`)
	sdpPtime      = regexp.MustCompile(`(?m)^a=ptime:\d+`)
	sdpMaxPtime   = regexp.MustCompile(`(?m)^a=maxptime:\d+\r?\n`)
	contentLength = regexp.MustCompile(`(?im)^(Content-Length|l)[ \t]*:[ \t]*\d+`)
)

// startSDPProxy forwards SIP datagrams between the listener (whoever is not
// the talker) and the talker at talkerAddr, pointing the audio address in
// the listener's INVITEs at the relay. It returns its address.
//
// A ptime other than "" replaces the listener's a=ptime (and drops its
// a=maxptime): the packet time the talker then sends at.
func startSDPProxy(t *testing.T, talkerAddr string, relay *rtpRelay, ptime string) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	talker, err := net.ResolveUDPAddr("udp", talkerAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		var other *net.UDPAddr
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			msg := buf[:n]
			if from.Port == talker.Port && from.IP.Equal(talker.IP) {
				if other != nil {
					c.WriteToUDP(msg, other)
				}
				continue
			}
			other = from
			c.WriteToUDP(throughRelay(msg, relay, ptime), talker)
		}
	}()
	return c.LocalAddr().String()
}

// throughRelay rewrites an INVITE's SDP so that its audio goes to the relay,
// and tells the relay where the audio was to go.
func throughRelay(msg []byte, relay *rtpRelay, ptime string) []byte {
	head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("INVITE ")) {
		return msg
	}
	m := sdpAudioPort.FindSubmatch(body)
	if m == nil {
		return msg
	}
	port, _ := strconv.Atoi(string(m[1]))
	relay.setTarget(port)
	body = sdpAudioPort.ReplaceAll(body, []byte(fmt.Sprintf("m=audio %d ", relay.port())))
	body = sdpRTCPAttr.ReplaceAll(body, []byte(fmt.Sprintf("a=rtcp:%d", relay.port()+1)))
	if ptime != "" {
		body = sdpMaxPtime.ReplaceAll(body, nil)
		body = sdpPtime.ReplaceAll(body, []byte("a=ptime:"+ptime))
	}
	head = contentLength.ReplaceAll(head, []byte(fmt.Sprintf("Content-Length: %d", len(body))))
	return append(append(head, "\r\n\r\n"...), body...)
}

// TestRTCPWithBaresip: baresip's RTCP reports (not diago's) give the
// daemon's Status a round-trip time, and the far end's loss and jitter of
// a clean loopback stream.
func TestRTCPWithBaresip(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=null\n")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "alice", ToneHz: 440})
	id := baresipCalls(t, b, d, ev)

	var c testutil.Call
	deadline := time.Now().Add(20 * time.Second) // reports every 5 s
	for {
		c = callStatus(t, d, id)
		if c.RTP.RTTMs > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("rtp %+v", c.RTP)
	if c.RTP.RTTMs <= 0 || c.RTP.RTTMs > 20 {
		t.Errorf("rtp.rttMs = %.1f, want a loopback round trip (0-20 ms)", c.RTP.RTTMs)
	}
	if c.RTP.RemoteLost != 0 || c.RTP.RemoteJitterMs < 0 || c.RTP.RemoteJitterMs > 20 {
		t.Errorf("rtp.remoteLost %d, remoteJitterMs %.1f: want 0 and a loopback jitter (0-20 ms)", c.RTP.RemoteLost, c.RTP.RemoteJitterMs)
	}
	b.MustCommand(t, "hangup", "")
	ev.WaitType(t, eventWait, "call.ended", id)
}
