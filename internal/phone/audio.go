package phone

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/recording"
	"github.com/gophone/gophone/internal/sipua"
)

// audioState holds the devices and levels, and moves audio between the
// devices and calls (it is the SIP layer's Media). The levels and the mute
// are read for every frame of every call, so they are atomics; a call's
// microphone is its own (callAudio), and only the output device is shared.
type audioState struct {
	volume    atomic.Int32
	micVolume atomic.Int32
	muted     atomic.Bool
	listening atomic.Bool   // the output device is not null
	inputGen  atomic.Uint64 // counts input device changes

	mu     sync.Mutex // serializes the commands that change the levels, and guards:
	input  string
	output string
	calls  map[string]*callAudio // by SIP Call-ID, from the call's first frame to its end
	out    io.WriteCloser        // opened on the first frame played
}

func newAudioState(cfg *config.Config) (*audioState, error) {
	a := &audioState{input: cfg.AudioInput, calls: make(map[string]*callAudio)}
	if err := a.setOutput(cfg.AudioOutput); err != nil {
		return nil, err
	}
	if _, err := audio.ParseDevice(cfg.AudioInput); err != nil {
		return nil, err
	}
	a.volume.Store(int32(cfg.Volume))
	a.micVolume.Store(int32(cfg.MicVolume))
	return a, nil
}

// setOutput makes id the output device for the next frame played; a.mu is
// held or a is not shared yet.
func (a *audioState) setOutput(id string) error {
	dev, err := audio.ParseDevice(id)
	if err != nil {
		return err
	}
	a.output = id
	a.listening.Store(!dev.Discards())
	if a.out != nil {
		a.out.Close()
		a.out = nil
	}
	return nil
}

// CallAudio returns the audio of the call with SIP Call-ID callID, from its
// first frame until callEnded.
func (a *audioState) CallAudio(callID string) sipua.CallAudio {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.calls[callID]
	if c == nil {
		c = &callAudio{a: a}
		a.calls[callID] = c
	}
	return c
}

// existingCallAudio returns the call's audio if it has any yet.
func (a *audioState) existingCallAudio(callID string) *callAudio {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[callID]
}

// callAudio is one call's audio: its microphone input, opened on the
// first frame, and the shared output; while a file plays (play) it is the
// input instead, and while the call is recorded every frame sent and
// received also goes to its recorder. Both are atomics, read at every
// frame: a call neither playing nor recording pays two loads.
type callAudio struct {
	a    *audioState
	play atomic.Pointer[player]
	rec  atomic.Pointer[recording.Recorder]

	mu    sync.Mutex // taken after a.mu, never before it
	in    audio.Input
	ended bool
}

// ReadFrame fills pcm with the call's next frame of microphone audio (or
// of the file playing), after the mute and the microphone level.
func (c *callAudio) ReadFrame(pcm []byte) {
	var in audio.Input
	if pl := c.play.Load(); pl != nil {
		in = pl.in
	} else {
		c.mu.Lock()
		in = c.in
		ended := c.ended
		c.mu.Unlock()
		if in == nil && !ended {
			in = c.open()
		}
	}
	if in == nil {
		clear(pcm)
		return
	}
	// The input is read also while muted, as a microphone keeps running: a
	// file plays on, and a sound card's buffer does not keep the last of
	// what was said while muted, to be sent (late) once unmuted.
	if _, err := io.ReadFull(in, pcm); err != nil || c.a.muted.Load() {
		clear(pcm)
		return
	}
	if level := int(c.a.micVolume.Load()); level != 100 {
		audio.ApplyGain(pcm, level)
	}
}

// FrameSent records the frame the call sent (what ReadFrame gave, with any
// in-band DTMF tones), while the call is recorded.
func (c *callAudio) FrameSent(pcm []byte) {
	if r := c.rec.Load(); r != nil {
		r.Local(pcm)
	}
}

// open opens the input device for the call; a device that fails reads as
// silence (nil).
func (c *callAudio) open() audio.Input {
	c.a.mu.Lock()
	id, gen := c.a.input, c.a.inputGen.Load()
	c.a.mu.Unlock()
	in, err := audio.OpenInput(id)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.in != nil || c.a.inputGen.Load() != gen {
		// The call ended, or the device changed while it was being opened:
		// this frame is silence, the next opens the new device.
		in.Close()
		return nil
	}
	c.in = in
	return in
}

// Listening reports whether far-end frames are wanted: the output is not
// null, or the call is recorded.
func (c *callAudio) Listening() bool { return c.a.listening.Load() || c.rec.Load() != nil }

// WriteFrame records 20 ms of far-end audio while the call is recorded and
// plays it on the output device after the speaker level.
func (c *callAudio) WriteFrame(pcm []byte) {
	a := c.a
	// The recording takes the far end as received: the speaker level is
	// the listener's, as in MicroSIP, whose recorder is not behind it.
	if r := c.rec.Load(); r != nil {
		r.Remote(pcm)
		if !a.listening.Load() {
			return
		}
	}
	if level := int(a.volume.Load()); level != 100 {
		audio.ApplyGain(pcm, level)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.out == nil {
		out, err := audio.OpenOutput(a.output)
		if err != nil {
			return
		}
		a.out = out
	}
	a.out.Write(pcm)
}

// close ends the call's audio: its input is closed, later frames are silence.
func (c *callAudio) close() {
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	c.reopen()
}

// reopen closes the call's input, so that its next frame opens the input
// device anew (unless the call has ended).
func (c *callAudio) reopen() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.in != nil {
		c.in.Close()
		c.in = nil
	}
}

// callEnded ends the call's audio and returns what was playing into it
// and its recorder, for the caller to end outside the lock.
func (a *audioState) callEnded(callID string) (*player, *recording.Recorder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var pl *player
	var rec *recording.Recorder
	if c := a.calls[callID]; c != nil {
		c.close()
		delete(a.calls, callID)
		pl, rec = c.play.Swap(nil), c.rec.Swap(nil)
	}
	if len(a.calls) == 0 && a.out != nil {
		a.out.Close()
		a.out = nil
	}
	return pl, rec
}

// close ends every call's audio; recordings still open are closed (their
// files complete).
func (a *audioState) close() {
	a.mu.Lock()
	var recs []*recording.Recorder
	for id, c := range a.calls {
		c.close()
		delete(a.calls, id)
		if pl := c.play.Swap(nil); pl != nil {
			pl.in.Close()
		}
		if r := c.rec.Swap(nil); r != nil {
			recs = append(recs, r)
		}
	}
	if a.out != nil {
		a.out.Close()
		a.out = nil
	}
	a.mu.Unlock()
	for _, r := range recs {
		r.Close()
	}
}

// AudioStatus is the audio part of Status.
type AudioStatus struct {
	Input     string `json:"input"`
	Output    string `json:"output"`
	Volume    int    `json:"volume"`
	MicVolume int    `json:"micVolume"`
	Muted     bool   `json:"muted"`
}

func (a *audioState) status() AudioStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return AudioStatus{Input: a.input, Output: a.output, Volume: int(a.volume.Load()),
		MicVolume: int(a.micVolume.Load()), Muted: a.muted.Load()}
}

// Mute sets the microphone mute to args' state, or toggles it.
func (p *Phone) Mute(_ context.Context, args command.Args) (any, error) {
	a := p.au
	a.mu.Lock()
	switch args.String("state") {
	case "on":
		a.muted.Store(true)
	case "off":
		a.muted.Store(false)
	default:
		a.muted.Store(!a.muted.Load())
	}
	a.mu.Unlock()
	return a.status(), nil
}

// StepVolume moves the speaker level, or with mic the microphone level, by
// sign × args' steps (default 1) × 10, within 0–100.
func (p *Phone) StepVolume(args command.Args, mic bool, sign int) (any, error) {
	steps, ok := args.Int("steps")
	if !ok {
		steps = 1
	}
	return p.au.setLevel(mic, func(v int) int { return min(100, max(0, v+sign*steps*10)) }), nil
}

// SetVolume sets the speaker level, or with mic the microphone level, to
// args' level.
func (p *Phone) SetVolume(args command.Args, mic bool) (any, error) {
	level, _ := args.Int("level")
	return p.au.setLevel(mic, func(int) int { return level }), nil
}

// setLevel replaces the speaker or microphone level v by f(v).
func (a *audioState) setLevel(mic bool, f func(v int) int) AudioStatus {
	a.mu.Lock()
	level := &a.volume
	if mic {
		level = &a.micVolume
	}
	level.Store(int32(f(int(level.Load()))))
	a.mu.Unlock()
	return a.status()
}

// SetDevice switches the input or output device, also mid-call.
func (p *Phone) SetDevice(_ context.Context, args command.Args) (any, error) {
	dir, id := args.String("direction"), args.String("device")
	dev, err := audio.ParseDevice(id)
	if err == nil {
		err = usable(dev, dir)
	}
	if err != nil {
		return nil, command.Errorf(command.CodeNoSuchDevice, "%v", err)
	}
	a := p.au
	a.mu.Lock()
	if dir == "input" {
		a.input = id
		a.inputGen.Add(1)
		for _, c := range a.calls {
			c.reopen()
		}
	} else {
		a.setOutput(id) // id parsed above
	}
	a.mu.Unlock()
	p.bus.Publish(events.Event{Type: events.AudioDevice, Device: id, Direction: dir})
	return a.status(), nil
}

// Devices lists the audio devices.
func (p *Phone) Devices(context.Context, command.Args) (any, error) { return audio.Devices(), nil }

// usable checks that a device can be opened in direction dir now, without
// touching an output file: an input opens (a WAV file exists and parses),
// an output's directory exists.
func usable(dev audio.Device, dir string) error {
	if dir == "input" {
		if !dev.CanInput() {
			return fmt.Errorf("%s is not an input device", dev.ID())
		}
		in, err := dev.OpenInput()
		if err != nil {
			return err
		}
		return in.Close()
	}
	if !dev.CanOutput() {
		return fmt.Errorf("%s is not an output device", dev.ID())
	}
	if path, ok := strings.CutPrefix(dev.ID(), "file:"); ok {
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: directory %s does not exist", dev.ID(), filepath.Dir(path))
		}
	}
	return nil
}
