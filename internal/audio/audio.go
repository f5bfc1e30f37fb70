// Package audio provides gophone's audio devices, in pure Go.
//
// Audio inside gophone is signed 16-bit little-endian PCM, mono, 8000 Hz,
// carried in 20 ms frames of 160 samples (320 bytes). An input device is an
// io.Reader of such bytes that never waits for real time (the media layer
// paces it); an output device is an io.Writer of such bytes.
//
// Device ids are:
//
//	null           input: silence; output: discard
//	tone:HZ        input only: a sine of HZ hertz (1..3999) at -10 dBFS peak
//	file:PATH.wav  input: play a WAV file, then silence;
//	               output: record 8 kHz mono 16-bit WAV
//	card:NAME      a sound card by the name Devices lists, or card:default;
//	               only in a build with the malgo tag (cgo), see card.go
package audio

import (
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

// Format of the PCM that devices read and write.
const (
	SampleRate   = 8000                // samples per second
	FrameSamples = SampleRate / 50     // samples in a 20 ms frame
	FrameBytes   = FrameSamples * 2    // bytes in a 20 ms frame
	MaxToneHz    = SampleRate/2 - 1    // highest frequency of a tone: device
	toneAmp      = 0.31622776601683794 // 10^(-10/20): -10 dBFS
)

// Kinds of device, as reported in DeviceInfo.Kind.
const (
	KindInput  = "input"
	KindOutput = "output"
	KindBoth   = "both"
)

// DeviceInfo describes a device, or a template of device ids, for listing.
type DeviceInfo struct {
	ID          string `json:"id"`          // device id, or a template such as "tone:HZ"
	Kind        string `json:"kind"`        // KindInput, KindOutput or KindBoth
	Description string `json:"description"` // one line for people
}

// Devices lists the devices and device templates this build supports, and
// the sound cards it finds.
func Devices() []DeviceInfo {
	return append([]DeviceInfo{
		{ID: "null", Kind: KindBoth, Description: "silence in, discard out"},
		{ID: "tone:HZ", Kind: KindInput, Description: "sine tone of HZ hertz (1-3999) at -10 dBFS, e.g. tone:440"},
		{ID: "file:PATH.wav", Kind: KindBoth, Description: "in: play a WAV file (any rate and channels), then silence; out: record 8 kHz mono 16-bit WAV"},
	}, cards()...)
}

type scheme int

const (
	schemeNone scheme = iota
	schemeNull
	schemeTone
	schemeFile
	schemeCard
)

// Device is a parsed, valid device id. The zero Device is no device.
type Device struct {
	scheme scheme
	hz     int    // tone
	path   string // file; card: the card's name
}

// ParseDevice parses and validates a device id. It does not open anything.
func ParseDevice(id string) (Device, error) {
	name, arg, hasArg := strings.Cut(id, ":")
	switch strings.ToLower(name) {
	case "null":
		if !hasArg {
			return Device{scheme: schemeNull}, nil
		}
	case "tone":
		hz, err := strconv.Atoi(arg)
		if err != nil || hz < 1 || hz > MaxToneHz {
			return Device{}, fmt.Errorf("audio device %q: frequency must be a whole number of hertz from 1 to %d", id, MaxToneHz)
		}
		return Device{scheme: schemeTone, hz: hz}, nil
	case "file":
		if len(arg) <= len(".wav") || !strings.EqualFold(arg[len(arg)-len(".wav"):], ".wav") {
			return Device{}, fmt.Errorf("audio device %q: want file:PATH.wav", id)
		}
		return Device{scheme: schemeFile, path: arg}, nil
	case "card":
		if !cardsBuilt {
			return Device{}, fmt.Errorf("audio device %q: this gophone is built without sound cards (build it with -tags malgo)", id)
		}
		if arg == "" {
			return Device{}, fmt.Errorf("audio device %q: want card:NAME or card:default", id)
		}
		return Device{scheme: schemeCard, path: arg}, nil
	}
	if cardsBuilt {
		return Device{}, fmt.Errorf("unknown audio device %q (want null, tone:HZ, file:PATH.wav or card:NAME)", id)
	}
	return Device{}, fmt.Errorf("unknown audio device %q (want null, tone:HZ or file:PATH.wav)", id)
}

// ID returns the device's canonical id.
func (d Device) ID() string {
	switch d.scheme {
	case schemeNull:
		return "null"
	case schemeTone:
		return "tone:" + strconv.Itoa(d.hz)
	case schemeFile:
		return "file:" + d.path
	case schemeCard:
		return "card:" + d.path
	}
	return ""
}

// CanInput reports whether the device can be opened as an input.
func (d Device) CanInput() bool { return d.scheme != schemeNone }

// CanOutput reports whether the device can be opened as an output.
func (d Device) CanOutput() bool {
	return d.scheme == schemeNull || d.scheme == schemeFile || d.scheme == schemeCard
}

// Discards reports whether the device, as an output, throws audio away
// (null), so that nothing need be decoded for it.
func (d Device) Discards() bool { return d.scheme == schemeNull }

// Input is an open input device: a reader of 8 kHz mono 16-bit PCM. Unless
// it fails, Read fills p with whole samples (len(p) rounded down to even)
// at once; it never waits for real time.
type Input interface {
	io.ReadCloser
	// Done returns a channel that is closed when the input has no more
	// audio of its own (a file played to its end) or is closed. For inputs
	// that never end, Done returns nil.
	Done() <-chan struct{}
}

// OpenInput opens the device as an input.
func (d Device) OpenInput() (Input, error) {
	switch d.scheme {
	case schemeNull:
		return &nullInput{}, nil
	case schemeTone:
		return newToneInput(d.hz), nil
	case schemeFile:
		return openFileInput(d.path)
	case schemeCard:
		return openCardInput(d.path)
	}
	return nil, fmt.Errorf("audio: open input: no device")
}

// OpenOutput opens the device as an output. A file output is created (or
// truncated) at once.
func (d Device) OpenOutput() (io.WriteCloser, error) {
	switch d.scheme {
	case schemeNull:
		return &nullOutput{}, nil
	case schemeFile:
		return CreateWAV(d.path)
	case schemeCard:
		return openCardOutput(d.path)
	case schemeNone:
		return nil, fmt.Errorf("audio: open output: no device")
	}
	return nil, fmt.Errorf("audio device %q cannot be used for output", d.ID())
}

// OpenInput parses id and opens it as an input.
func OpenInput(id string) (Input, error) {
	d, err := ParseDevice(id)
	if err != nil {
		return nil, err
	}
	return d.OpenInput()
}

// OpenOutput parses id and opens it as an output.
func OpenOutput(id string) (io.WriteCloser, error) {
	d, err := ParseDevice(id)
	if err != nil {
		return nil, err
	}
	return d.OpenOutput()
}

// errClosed reports use of a closed device.
func errClosed(op, id string) error {
	return fmt.Errorf("audio: %s %s: %w", op, id, fs.ErrClosed)
}

// nullInput reads silence.
type nullInput struct {
	mu     sync.Mutex
	closed bool
}

func (in *nullInput) Read(p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return 0, errClosed("read", "null")
	}
	n := len(p) &^ 1
	if n == 0 && len(p) > 0 {
		return 0, io.ErrShortBuffer
	}
	clear(p[:n])
	return n, nil
}

func (in *nullInput) Close() error {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	return nil
}

func (in *nullInput) Done() <-chan struct{} { return nil }

// nullOutput discards what is written.
type nullOutput struct {
	mu     sync.Mutex
	closed bool
}

func (out *nullOutput) Write(p []byte) (int, error) {
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.closed {
		return 0, errClosed("write", "null")
	}
	return len(p), nil
}

func (out *nullOutput) Close() error {
	out.mu.Lock()
	out.closed = true
	out.mu.Unlock()
	return nil
}
