package phone

import (
	"context"
	"encoding/binary"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
)

func newTestAudio(input, output string, volume, micVolume int) *audioState {
	cfg := config.Default()
	cfg.AudioInput, cfg.AudioOutput = input, output
	cfg.Volume, cfg.MicVolume = volume, micVolume
	a, err := newAudioState(cfg)
	if err != nil {
		panic(err)
	}
	return a
}

func TestSetVolume(t *testing.T) {
	tests := []struct {
		name          string
		cmd           string
		args          command.Args
		mic           bool
		volume, micV  int // before
		wantV, wantMV int // after
	}{
		{"VolumeUp 3 from 50", "VolumeUp", command.Args{"steps": 3}, false, 50, 100, 80, 100},
		{"VolumeUp default step", "VolumeUp", command.Args{}, false, 50, 100, 60, 100},
		{"VolumeUp steps from JSON", "VolumeUp", command.Args{"steps": 2.0}, false, 50, 100, 70, 100},
		{"VolumeUp clamps at 100", "VolumeUp", command.Args{"steps": 10}, false, 95, 100, 100, 100},
		{"VolumeUp at 100 stays", "VolumeUp", command.Args{}, false, 100, 100, 100, 100},
		{"VolumeDown 2 from 50", "VolumeDown", command.Args{"steps": 2}, false, 50, 100, 30, 100},
		{"VolumeDown clamps at 0", "VolumeDown", command.Args{"steps": 10}, false, 30, 100, 0, 100},
		{"VolumeDown at 0 stays", "VolumeDown", command.Args{}, false, 0, 100, 0, 100},
		{"SetVolume exact", "SetVolume", command.Args{"level": 37}, false, 50, 100, 37, 100},
		{"SetVolume 0", "SetVolume", command.Args{"level": 0}, false, 50, 100, 0, 100},
		{"SetVolume from CLI string", "SetVolume", command.Args{"level": "64"}, false, 50, 100, 64, 100},
		{"MicUp affects only the mic", "MicUp", command.Args{"steps": 1}, true, 50, 40, 50, 50},
		{"MicDown affects only the mic", "MicDown", command.Args{"steps": 5}, true, 50, 40, 50, 0},
		{"SetMicVolume exact", "SetMicVolume", command.Args{"level": 12}, true, 50, 100, 50, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAudio("null", "null", tt.volume, tt.micV)
			p := &Phone{au: a}
			var res any
			var err error
			switch tt.cmd {
			case "VolumeUp", "MicUp":
				res, err = p.StepVolume(tt.args, tt.mic, +1)
			case "VolumeDown", "MicDown":
				res, err = p.StepVolume(tt.args, tt.mic, -1)
			default:
				res, err = p.SetVolume(tt.args, tt.mic)
			}
			if err != nil {
				t.Fatal(err)
			}
			st, ok := res.(AudioStatus)
			if !ok {
				t.Fatalf("result is %T, want AudioStatus", res)
			}
			if st.Volume != tt.wantV || st.MicVolume != tt.wantMV {
				t.Errorf("result volume %d, mic %d; want %d, %d", st.Volume, st.MicVolume, tt.wantV, tt.wantMV)
			}
			if got := a.status(); got != st {
				t.Errorf("status() = %+v, result was %+v", got, st)
			}
		})
	}
}

func TestMute(t *testing.T) {
	tests := []struct {
		before bool
		state  string
		want   bool
	}{
		{false, "", true},
		{true, "", false},
		{false, "on", true},
		{true, "on", true},
		{false, "off", false},
		{true, "off", false},
	}
	for _, tt := range tests {
		a := newTestAudio("null", "null", 100, 100)
		a.muted.Store(tt.before)
		res, err := (&Phone{au: a}).Mute(context.Background(), command.Args{"state": tt.state})
		if err != nil {
			t.Fatal(err)
		}
		if st := res.(AudioStatus); st.Muted != tt.want {
			t.Errorf("muted %v, mute(%q): result muted %v, want %v", tt.before, tt.state, st.Muted, tt.want)
		}
		if a.status().Muted != tt.want {
			t.Errorf("muted %v, mute(%q): status muted %v, want %v", tt.before, tt.state, a.status().Muted, tt.want)
		}
	}
}

func pcmSamples(pcm []byte) []int16 {
	out := make([]int16, len(pcm)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return out
}

func peakAbs(s []int16) int {
	m := 0
	for _, v := range s {
		m = max(m, absInt(int(v)))
	}
	return m
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestReadFrame(t *testing.T) {
	const frame = 320 // 20 ms at 8 kHz, 16-bit
	// ref is what the tone device gives at unity level.
	ref := func(t *testing.T, frames int) [][]int16 {
		in, err := audio.OpenInput("tone:440")
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		var out [][]int16
		for range frames {
			pcm := make([]byte, frame)
			if _, err := io.ReadFull(in, pcm); err != nil {
				t.Fatal(err)
			}
			out = append(out, pcmSamples(pcm))
		}
		return out
	}
	tests := []struct {
		name      string
		input     string
		micVolume int
		muted     bool
		scale     int // expected percent of the reference tone; 0 means silence
	}{
		{"unity", "tone:440", 100, false, 100},
		{"level 50 halves", "tone:440", 50, false, 50},
		{"level 10", "tone:440", 10, false, 10},
		{"level 0 is silence", "tone:440", 0, false, 0},
		{"muted is silence", "tone:440", 100, true, 0},
		{"null input is silence", "null", 100, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAudio(tt.input, "null", 100, tt.micVolume)
			a.muted.Store(tt.muted)
			defer a.close()
			want := ref(t, 3)
			for f := range want {
				pcm := make([]byte, frame)
				for i := range pcm {
					pcm[i] = 0x55 // stale data must not leak through
				}
				a.CallAudio("call-1").ReadFrame(pcm)
				got := pcmSamples(pcm)
				for i, v := range got {
					w := int(want[f][i]) * tt.scale / 100
					if int(v) != w {
						t.Fatalf("frame %d sample %d = %d, want %d", f, i, v, w)
					}
				}
				if tt.scale > 0 && peakAbs(got) == 0 {
					t.Fatalf("frame %d is silent", f)
				}
			}
		})
	}
}

// Muting mid-call silences the next frame, and unmuting brings the tone back.
func TestReadFrameMuteToggle(t *testing.T) {
	a := newTestAudio("tone:440", "null", 100, 100)
	defer a.close()
	pcm := make([]byte, 320)
	a.CallAudio("c").ReadFrame(pcm)
	if peakAbs(pcmSamples(pcm)) == 0 {
		t.Fatal("unmuted frame is silent")
	}
	(&Phone{au: a}).Mute(context.Background(), command.Args{"state": "on"})
	a.CallAudio("c").ReadFrame(pcm)
	if m := peakAbs(pcmSamples(pcm)); m != 0 {
		t.Fatalf("muted frame peaks at %d, want silence", m)
	}
	(&Phone{au: a}).Mute(context.Background(), nil)
	a.CallAudio("c").ReadFrame(pcm)
	if peakAbs(pcmSamples(pcm)) == 0 {
		t.Fatal("frame after unmute is silent")
	}
}

// The input is read while muted, as a microphone keeps running: after
// unmuting, the call carries what the input gives now, not what it gave
// when muted (a file plays on; a sound card's buffer does not hold the
// last 200 ms said while muted, to be sent once unmuted).
func TestReadFrameMuteKeepsTime(t *testing.T) {
	in, err := audio.OpenInput("tone:440")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	want := make([]byte, 5*320) // frames 0-4 of the tone
	if _, err := io.ReadFull(in, want); err != nil {
		t.Fatal(err)
	}
	a := newTestAudio("tone:440", "null", 100, 100)
	defer a.close()
	p, pcm := &Phone{au: a}, make([]byte, 320)
	a.CallAudio("c").ReadFrame(pcm) // frame 0
	p.Mute(context.Background(), command.Args{"state": "on"})
	for range 3 { // frames 1-3, muted
		a.CallAudio("c").ReadFrame(pcm)
	}
	p.Mute(context.Background(), command.Args{"state": "off"})
	a.CallAudio("c").ReadFrame(pcm)
	if got, w := pcmSamples(pcm), pcmSamples(want[4*320:]); !slices.Equal(got, w) {
		t.Fatalf("after 3 muted frames the input gives %v…, want frame 4 of the tone %v…", got[:4], w[:4])
	}
}

func TestWriteFrame(t *testing.T) {
	tests := []struct {
		name   string
		volume int
		in     []int16
		want   []int16
	}{
		{"unity", 100, []int16{1000, -1000, 32767, -32768}, []int16{1000, -1000, 32767, -32768}},
		{"half", 50, []int16{1000, -1000, 32767, -32768}, []int16{500, -500, 16383, -16384}},
		{"silence", 0, []int16{1000, -1000, 32767, -32768}, []int16{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.wav")
			a := newTestAudio("null", "file:"+path, tt.volume, 100)
			const frames = 3
			for range frames {
				pcm := make([]byte, 2*len(tt.in))
				for i, v := range tt.in {
					binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
				}
				a.CallAudio("call-1").WriteFrame(pcm)
			}
			// The file is a valid WAV while the call is still going.
			got, rate, err := audio.ReadWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if rate != audio.SampleRate {
				t.Errorf("rate = %d, want %d", rate, audio.SampleRate)
			}
			if len(got) != frames*len(tt.want) {
				t.Fatalf("%d samples written, want %d", len(got), frames*len(tt.want))
			}
			for i, v := range got {
				if w := tt.want[i%len(tt.want)]; v != w {
					t.Errorf("sample %d = %d, want %d", i, v, w)
				}
			}
			a.callEnded("call-1")
			if a.out != nil {
				t.Error("output still open after the last call ended")
			}
		})
	}
}

// Volume changes take effect on the next frame written.
func TestWriteFrameVolumeChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.wav")
	a := newTestAudio("null", "file:"+path, 100, 100)
	defer a.close()
	write := func() {
		pcm := make([]byte, 2)
		binary.LittleEndian.PutUint16(pcm, uint16(int16(2000)))
		a.CallAudio("c").WriteFrame(pcm)
	}
	write()
	p := &Phone{au: a}
	p.StepVolume(command.Args{"steps": 5}, false, -1)
	write()
	p.SetVolume(command.Args{"level": 0}, false)
	write()
	got, _, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []int16{2000, 1000, 0}
	if len(got) != len(want) {
		t.Fatalf("samples = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("samples = %v, want %v", got, want)
			break
		}
	}
}

// A frame read for a call that has ended is silence and opens nothing: the
// media loop may tick once more after the call ended.
func TestReadFrameAfterCallEnded(t *testing.T) {
	a := newTestAudio("tone:440", "null", 100, 100)
	defer a.close()
	ca := a.CallAudio("c")
	pcm := make([]byte, 320)
	ca.ReadFrame(pcm)
	a.callEnded("c")
	ca.ReadFrame(pcm)
	if peakAbs(pcmSamples(pcm)) != 0 {
		t.Error("a frame after the call ended is not silent")
	}
	if n := len(a.calls); n != 0 {
		t.Errorf("%d calls' audio kept after the call ended", n)
	}
}

// Far-end frames are wanted unless the output is null, and SetDevice
// changes that for calls going on.
func TestListening(t *testing.T) {
	p := &Phone{au: newTestAudio("null", "null", 100, 100), bus: events.NewBus(16)}
	defer p.au.close()
	ca := p.au.CallAudio("c")
	if ca.Listening() {
		t.Error("listening with the null output")
	}
	path := filepath.Join(t.TempDir(), "out.wav")
	if _, err := p.SetDevice(context.Background(), command.Args{"direction": "output", "device": "file:" + path}); err != nil {
		t.Fatal(err)
	}
	if !ca.Listening() {
		t.Error("not listening with a file output")
	}
	if _, err := p.SetDevice(context.Background(), command.Args{"direction": "output", "device": "null"}); err != nil {
		t.Fatal(err)
	}
	if ca.Listening() {
		t.Error("still listening after the output became null")
	}
}

// SetDevice of the input during a call: the call's next frame comes from
// the new device.
func TestSetInputDuringCall(t *testing.T) {
	p := &Phone{au: newTestAudio("tone:440", "null", 100, 100), bus: events.NewBus(16)}
	defer p.au.close()
	ca := p.au.CallAudio("c")
	pcm := make([]byte, 320)
	ca.ReadFrame(pcm)
	if peakAbs(pcmSamples(pcm)) == 0 {
		t.Fatal("tone frame is silent")
	}
	if _, err := p.SetDevice(context.Background(), command.Args{"direction": "input", "device": "null"}); err != nil {
		t.Fatal(err)
	}
	ca.ReadFrame(pcm)
	if m := peakAbs(pcmSamples(pcm)); m != 0 {
		t.Errorf("frame after switching to the null input peaks at %d, want silence", m)
	}
}
