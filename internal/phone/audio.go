package phone

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
)

// audioState holds the devices and levels, and moves audio between the
// devices and calls (it is the SIP layer's Media).
type audioState struct {
	mu        sync.Mutex
	input     string
	output    string
	volume    int
	micVolume int
	muted     bool
	inputs    map[string]audio.Input // per live call, by SIP Call-ID; nil until first read
	out       io.WriteCloser
}

func newAudioState(cfg *config.Config) (*audioState, error) {
	for _, id := range []string{cfg.AudioInput, cfg.AudioOutput} {
		if _, err := audio.ParseDevice(id); err != nil {
			return nil, err
		}
	}
	return &audioState{
		input:     cfg.AudioInput,
		output:    cfg.AudioOutput,
		volume:    cfg.Volume,
		micVolume: cfg.MicVolume,
		inputs:    make(map[string]audio.Input),
	}, nil
}

// ReadFrame fills pcm with the next 20 ms of microphone audio for a call.
func (a *audioState) ReadFrame(callID string, pcm []byte) {
	a.mu.Lock()
	in, live := a.inputs[callID]
	if live && in == nil {
		// Opened on first use; a failing device reads as silence.
		in, _ = audio.OpenInput(a.input)
		a.inputs[callID] = in
	}
	muted, level := a.muted, a.micVolume
	a.mu.Unlock()
	if in == nil || muted {
		clear(pcm)
		return
	}
	if _, err := io.ReadFull(in, pcm); err != nil {
		clear(pcm)
	}
	if level != 100 {
		audio.ApplyGain(pcm, level)
	}
}

// WriteFrame plays 20 ms of far-end audio on the output device.
func (a *audioState) WriteFrame(callID string, pcm []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.out == nil {
		out, err := audio.OpenOutput(a.output)
		if err != nil {
			return
		}
		a.out = out
	}
	if a.volume != 100 {
		audio.ApplyGain(pcm, a.volume)
	}
	a.out.Write(pcm)
}

// callStarted makes a call's microphone frames flow (until callEnded).
func (a *audioState) callStarted(callID string) {
	a.mu.Lock()
	a.inputs[callID] = nil
	a.mu.Unlock()
}

func (a *audioState) callEnded(callID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in := a.inputs[callID]; in != nil {
		in.Close()
	}
	delete(a.inputs, callID)
	if len(a.inputs) == 0 && a.out != nil {
		a.out.Close()
		a.out = nil
	}
}

func (a *audioState) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, in := range a.inputs {
		if in != nil {
			in.Close()
		}
		delete(a.inputs, id)
	}
	if a.out != nil {
		a.out.Close()
		a.out = nil
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
	return AudioStatus{Input: a.input, Output: a.output, Volume: a.volume, MicVolume: a.micVolume, Muted: a.muted}
}

func (a *audioState) mute(state string) (any, error) {
	a.mu.Lock()
	switch state {
	case "on":
		a.muted = true
	case "off":
		a.muted = false
	default:
		a.muted = !a.muted
	}
	a.mu.Unlock()
	return a.status(), nil
}

func (a *audioState) setVolume(cmd string, args command.Args, mic bool) (any, error) {
	a.mu.Lock()
	level := &a.volume
	if mic {
		level = &a.micVolume
	}
	steps, ok := args.Int("steps")
	if !ok {
		steps = 1
	}
	switch cmd {
	case "VolumeUp", "MicUp":
		*level = min(100, *level+steps*10)
	case "VolumeDown", "MicDown":
		*level = max(0, *level-steps*10)
	default:
		*level, _ = args.Int("level")
	}
	a.mu.Unlock()
	return a.status(), nil
}

func (p *Phone) setDevice(args command.Args) (any, error) {
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
		for callID, in := range a.inputs {
			if in != nil {
				in.Close()
			}
			a.inputs[callID] = nil // reopened on the next frame
		}
	} else {
		a.output = id
		if a.out != nil {
			a.out.Close()
			a.out = nil
		}
	}
	a.mu.Unlock()
	p.bus.Publish(events.Event{Type: events.AudioDevice, Device: id, Direction: dir})
	return a.status(), nil
}

func devices() []audio.DeviceInfo { return audio.Devices() }

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
