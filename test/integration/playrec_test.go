package integration

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// recordResult is the reply of `record start|stop`.
type recordResult struct {
	Call string `json:"call"`
	Path string `json:"path"`
}

func runRecord(t *testing.T, d *testutil.Daemon, args ...string) recordResult {
	t.Helper()
	out := d.MustRun(t, append([]string{"record"}, args...)...)
	var r recordResult
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Path == "" {
		t.Fatalf("record %v printed %q (%v), want {call, path}", args, out, err)
	}
	return r
}

// statusRecording returns the recording Status shows for the call.
func statusRecording(t *testing.T, d *testutil.Daemon, call string) string {
	t.Helper()
	c, ok := d.Status(t).Call(call)
	if !ok {
		t.Fatalf("call %s missing from status", call)
	}
	var path string
	if len(c.Recording) > 0 {
		if err := json.Unmarshal(c.Recording, &path); err != nil {
			t.Fatalf("status recording %s: %v", c.Recording, err)
		}
	}
	return path
}

// waitAudio polls until the file at path holds at least d of 8 kHz stereo
// audio (whatever its header says yet).
func waitAudio(t *testing.T, path string, d time.Duration) {
	t.Helper()
	want := 44 + int64(d/time.Millisecond)*32
	deadline := time.Now().Add(d + eventWait)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %v of audio", path, d)
		}
		time.Sleep(50 * time.Millisecond) // polling a file, not waiting for an event
	}
}

// wantStereoTones checks a recording: 8 kHz 16-bit stereo, the local tone
// on the left and the far end's on the right, each at a level well above
// silence.
func wantStereoTones(t *testing.T, w *testutil.WAVFile, left, right float64) {
	t.Helper()
	if w.Channels != 2 || w.Rate != 8000 || w.Bits != 16 {
		t.Fatalf("recording is %d channels at %d Hz, %d bits; want 2 at 8000, 16", w.Channels, w.Rate, w.Bits)
	}
	skip := 4000 // the first half second: the far end's audio starts a little later
	if len(w.Channel[0]) < skip+8000 {
		t.Fatalf("recording holds %d frames, want over %d", len(w.Channel[0]), skip+8000)
	}
	for i, want := range []float64{left, right} {
		s := w.Channel[i][skip:]
		if got := audio.DominantFrequency(s, 8000, 100, 3000, 10); math.Abs(got-want) > 20 {
			t.Errorf("channel %d: %.0f Hz, want %.0f Hz", i, got, want)
		}
		if rms := testutil.RMS(s); rms < 0.05 {
			t.Errorf("channel %d: RMS %.3f, want a tone (about 0.2)", i, rms)
		}
	}
}

// TestRecordStereo: B records its call with A; the WAV has B's own tone
// (440 Hz) on the left and A's (1000 Hz) on the right; Status shows the
// file while it is recorded; record stop publishes recording.saved and
// leaves a WAV whose header describes the whole file.
func TestRecordStereo(t *testing.T) {
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\n")
	bev := b.Events(t)
	call := strings.TrimSpace(b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr()))
	bev.WaitType(t, eventWait, "call.established", call)

	rec := runRecord(t, b, "start")
	if rec.Call != call || filepath.Dir(rec.Path) != filepath.Join(b.Dir, "data", "recordings") {
		t.Fatalf("record start = %+v, want call %s in dataDir/recordings", rec, call)
	}
	if again := runRecord(t, b, "start", call); again.Path != rec.Path {
		t.Fatalf("a second record start made %s, want the same recording %s", again.Path, rec.Path)
	}
	if got := statusRecording(t, b, call); got != rec.Path {
		t.Fatalf("status recording = %q while recording, want %q", got, rec.Path)
	}
	waitAudio(t, rec.Path, 2*time.Second)

	// Stopped over the HTTP API: the command's own route.
	reply := b.API(t).Do(t, "POST", "/v1/calls/"+call+"/record/stop", nil)
	var stop recordResult
	if !reply.OK || json.Unmarshal(reply.Result, &stop) != nil || stop.Path != rec.Path {
		t.Fatalf("POST /v1/calls/%s/record/stop = %v, want path %s", call, reply, rec.Path)
	}
	saved := bev.WaitType(t, eventWait, "recording.saved", call)
	if saved.Path != rec.Path {
		t.Fatalf("recording.saved path = %q, want %q", saved.Path, rec.Path)
	}
	if got := statusRecording(t, b, call); got != "" {
		t.Fatalf("status recording = %q after stop, want empty", got)
	}
	if r := b.RunCLI("record", "stop"); r.Exit != 1 || !strings.Contains(r.Stderr, "(wrong_state)") {
		t.Fatalf("record stop when not recording: %v, want exit 1 wrong_state", r)
	}
	w, err := testutil.ReadWAVFile(rec.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Exact(); err != nil {
		t.Fatalf("recording after stop: %v", err)
	}
	wantStereoTones(t, w, 440, 1000)
	b.MustRun(t, "hangup")
	bev.WaitType(t, eventWait, "call.ended", call)
}

// TestRecordingSurvivesKill: B is killed with SIGKILL 3 s into a
// recording. Right after the kill the file is a valid WAV missing at most
// the audio since the last header update (about a second); the next start
// repairs the header, and the file then holds the audio up to the kill.
func TestRecordingSurvivesKill(t *testing.T) {
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\n")
	bev := b.Events(t)
	call := strings.TrimSpace(b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr()))
	bev.WaitType(t, eventWait, "call.established", call)

	asked := time.Now()
	rec := runRecord(t, b, "start")
	started := time.Now() // the recording began between asked and started
	waitAudio(t, rec.Path, 3*time.Second)
	b.Kill()
	atMost, atLeast := time.Since(asked), time.Since(started)

	w, err := testutil.ReadWAVFile(rec.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Valid(); err != nil {
		t.Fatalf("recording right after kill -9: %v", err)
	}
	onDisk := time.Duration(w.Length-44) * time.Second / 32000
	if lag := onDisk - w.Duration(); lag > 1500*time.Millisecond {
		t.Fatalf("after the kill the header describes %v of the file's %v: more than the 1 s between updates", w.Duration(), onDisk)
	}

	b.Start(t)
	w, err = testutil.ReadWAVFile(rec.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Exact(); err != nil {
		t.Fatalf("recording after the restart: %v", err)
	}
	// The audio up to the kill: what was written until then (the last
	// 100 ms chunk may not have reached the disk), never more.
	if d := w.Duration(); d < atLeast-time.Second || d > atMost+100*time.Millisecond {
		t.Fatalf("repaired recording holds %v, recorded for %v to %v", d, atLeast, atMost)
	}
	wantStereoTones(t, w, 440, 1000)
}

// TestAutoRecordingAndHistory: with autoRecording=1, A records the call
// from its answer; the file is saved when the call ends (recording.saved
// before call.ended) and the history row names it.
func TestAutoRecordingAndHistory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\nautoRecording=1\nrecordingPath="+dir+"\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\n")
	aev := a.Events(t)
	b.MustRun(t, "dial", "sip:bob.o'neil@"+a.SIPAddr())
	call := aev.WaitType(t, eventWait, "call.established", "").Call
	path := statusRecording(t, a, call)
	if filepath.Dir(path) != dir || !strings.HasSuffix(path, "_"+call+".wav") {
		t.Fatalf("status recording = %q, want a file in %s ending _%s.wav", path, dir, call)
	}
	waitAudio(t, path, 2*time.Second)
	b.MustRun(t, "hangup")
	saved := aev.WaitType(t, eventWait, "recording.saved", call)
	ended := aev.WaitType(t, eventWait, "call.ended", call)
	if saved.Path != path || saved.Seq > ended.Seq {
		t.Fatalf("recording.saved %q (seq %d), call.ended seq %d; want %q before call.ended", saved.Path, saved.Seq, ended.Seq, path)
	}
	hist := historyJSON(t, a)
	if len(hist) != 1 || hist[0].Recording != path {
		t.Fatalf("history = %+v, want one call with recording %q", hist, path)
	}
	w, err := testutil.ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Exact(); err != nil {
		t.Fatal(err)
	}
	wantStereoTones(t, w, 1000, 440)
}

// rtpPacket is one audio RTP packet seen on the wire.
type rtpPacket struct {
	at      time.Time
	ts      uint32
	payload []byte
}

// captureAudio runs tshark on loopback while f runs and returns the PCMU
// packets sent from d's RTP ports.
func captureAudio(t *testing.T, d *testutil.Daemon, f func()) []rtpPacket {
	t.Helper()
	rows, _ := captureFields(t, d, "rtp && rtp.p_type == 0", func() {
		f()
		time.Sleep(100 * time.Millisecond) // with tsharkOnLo's 200 ms: the last packets
	}, "frame.time_epoch", "rtp.timestamp", "rtp.payload")
	var pkts []rtpPacket
	for _, f := range rows {
		sec, err1 := strconv.ParseFloat(f[0], 64)
		ts, err2 := strconv.ParseUint(f[1], 10, 32)
		payload, err3 := hex.DecodeString(strings.ReplaceAll(f[2], ":", ""))
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		pkts = append(pkts, rtpPacket{at: time.Unix(0, int64(sec*1e9)), ts: uint32(ts), payload: payload})
	}
	if len(pkts) == 0 {
		t.Fatal("tshark saw no PCMU packets")
	}
	return pkts
}

// ulaw expands G.711 µ-law bytes to linear samples.
func ulaw(b []byte) []int16 {
	out := make([]int16, len(b))
	for i, u := range b {
		u = ^u
		t := (int(u&0x0F) << 3) + 0x84
		t <<= (u & 0x70) >> 4
		if u&0x80 != 0 {
			out[i] = int16(0x84 - t)
		} else {
			out[i] = int16(t - 0x84)
		}
	}
	return out
}

// writeToneWAV writes d of a hz sine at 44.1 kHz, 16-bit stereo.
func writeToneWAV(t *testing.T, path string, hz float64, d time.Duration) {
	t.Helper()
	const rate = 44100
	n := int(d * rate / time.Second)
	samples := make([]int16, 0, 2*n)
	for i := range n {
		v := int16(0.5 * 32767 * math.Sin(2*math.Pi*hz*float64(i)/rate))
		samples = append(samples, v, v)
	}
	if err := audio.WriteWAV(path, rate, 2, samples); err != nil {
		t.Fatal(err)
	}
}

// TestPlayFile: B plays a 3 s WAV (1 kHz, 44.1 kHz stereo) into its call
// with A, asked for before the call is established. On the wire, B's
// packets carry exactly 3 s of the file by their RTP timestamps (±1
// packet), then the input device (440 Hz) again;
// play.ended (not stopped) comes after the file's last packet. A looping
// play runs until play stop, which ends it with stopped true.
func TestPlayFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "three seconds.wav")
	writeToneWAV(t, file, 1000, 3*time.Second)
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\nautoAnswerDelay=1\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:440\n")
	bev := b.Events(t)

	var call string
	var ended testutil.Event
	pkts := captureAudio(t, b, func() {
		call = strings.TrimSpace(b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr()))
		out := b.MustRun(t, "play", file, "--timeout", "20s")
		if !strings.Contains(out, `"file":"`+file+`"`) {
			t.Errorf("play printed %q, want the file", out)
		}
		ended = bev.WaitType(t, eventWait, "play.ended", call)
		time.Sleep(500 * time.Millisecond) // the input device again
	})
	if ended.Path != file || ended.Stopped == nil || *ended.Stopped {
		t.Fatalf("play.ended = path %q stopped %v, want %q, false", ended.Path, ended.Stopped, file)
	}

	// Each packet is the file's (1 kHz) or the device's (440 Hz) or silence.
	var first, last = -1, -1
	for i, p := range pkts {
		s := ulaw(p.payload)
		if testutil.RMS(s) < 0.05 {
			continue
		}
		if audio.Goertzel(s, 8000, 1000) > audio.Goertzel(s, 8000, 440) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatalf("none of %d packets carried the file's tone", len(pkts))
	}
	// After the file, the input device again (the call's media may start
	// with the file: play was asked for before the call was established).
	resumed := 0
	for _, p := range pkts[last+1:] {
		if s := ulaw(p.payload); testutil.RMS(s) > 0.05 && audio.Goertzel(s, 8000, 440) > audio.Goertzel(s, 8000, 1000) {
			resumed++
		}
	}
	if resumed < 10 {
		t.Fatalf("%d packets of the input device's tone after the file's %d-%d of %d, want the device back", resumed, first, last, len(pkts))
	}
	played := time.Duration(pkts[last].ts-pkts[first].ts+160) * time.Second / 8000
	if played < 3*time.Second-20*time.Millisecond || played > 3*time.Second+20*time.Millisecond {
		t.Fatalf("the file's audio spans %v of RTP time (packets %d-%d), want 3s ± 20ms", played, first, last)
	}
	for i := first; i <= last; i++ {
		if s := ulaw(pkts[i].payload); audio.Goertzel(s, 8000, 1000) < audio.Goertzel(s, 8000, 440) {
			t.Fatalf("packet %d, inside the file's audio, is not the file's tone", i)
		}
	}
	if ended.Time.Before(pkts[last].at.Add(-50 * time.Millisecond)) {
		t.Fatalf("play.ended at %v, before the file's last packet at %v", ended.Time, pkts[last].at)
	}

	// --loop until play stop.
	b.MustRun(t, "play", file, call, "--loop")
	time.Sleep(3500 * time.Millisecond) // past the file's end: it plays on
	for _, e := range bev.All() {
		if e.Type == "play.ended" && e.Seq > ended.Seq {
			t.Fatalf("a looping play ended by itself: %+v", e)
		}
	}
	b.MustRun(t, "play", "stop")
	stopped := bev.WaitFor(t, eventWait, func(e testutil.Event) bool { return e.Type == "play.ended" && e.Seq > ended.Seq })
	if stopped.Path != file || stopped.Stopped == nil || !*stopped.Stopped {
		t.Fatalf("play.ended after play stop = path %q stopped %v, want %q, true", stopped.Path, stopped.Stopped, file)
	}
	b.MustRun(t, "hangup")
}

// TestPlayRecordBadInput: a missing file, a file that is not a WAV, an
// unknown call: each a clear error with a stable code, and nothing
// changes.
func TestPlayRecordBadInput(t *testing.T) {
	dir := t.TempDir()
	notWAV := filepath.Join(dir, "notes.wav")
	os.WriteFile(notWAV, []byte("these are not samples"), 0o600)
	empty := filepath.Join(dir, "empty.wav")
	if err := audio.WriteWAV(empty, 8000, 1, nil); err != nil {
		t.Fatal(err)
	}
	b := testutil.StartDaemon(t, gophoneBin, "")
	before := b.Status(t)
	tests := []struct {
		args []string
		code string
	}{
		{[]string{"play", filepath.Join(dir, "missing.wav")}, "bad_args"},
		{[]string{"play", notWAV}, "bad_args"},
		{[]string{"play", empty}, "bad_args"},
		{[]string{"play", "stop"}, "no_active_call"},
		{[]string{"play", "stop", "7"}, "no_such_call"},
		{[]string{"record", "start"}, "no_active_call"},
		{[]string{"record", "stop", "7"}, "no_such_call"},
		{[]string{"record", "pause"}, "bad_args"},
	}
	for _, tt := range tests {
		r := b.RunCLI(tt.args...)
		if r.Exit == 0 || !strings.Contains(r.Stderr, "("+tt.code+")") {
			t.Errorf("%v: %v, want code %s", tt.args, r, tt.code)
		}
	}
	after := b.Status(t)
	if len(after.Calls) != 0 || after.Audio != before.Audio {
		t.Fatalf("status changed: %+v, was %+v", after, before)
	}
	if entries, _ := os.ReadDir(filepath.Join(b.Dir, "data", "recordings")); len(entries) != 0 {
		t.Fatalf("recordings made: %v", entries)
	}
	// The audit log has every one of them, with its outcome.
	audit, err := os.ReadFile(filepath.Join(b.Dir, "data", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"command":"Play"`, `"command":"Record"`, `"bad_args"`, `"no_active_call"`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("audit.log lacks %s", want)
		}
	}
	help := b.MustRun(t, "help")
	for _, want := range []string{"Play FILE [CALL] [--loop]", "Record ACTION [CALL]"} {
		if !strings.Contains(help, want) {
			t.Errorf("gophone help lacks %q", want)
		}
	}
}
