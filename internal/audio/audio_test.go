package audio

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDevice(t *testing.T) {
	tests := []struct {
		id        string
		want      string // canonical id; "" means an error is expected
		in, out   bool
		errSubstr string
	}{
		{id: "null", want: "null", in: true, out: true},
		{id: "NULL", want: "null", in: true, out: true},
		{id: "tone:440", want: "tone:440", in: true},
		{id: "tone:1", want: "tone:1", in: true},
		{id: "tone:3999", want: "tone:3999", in: true},
		{id: "tone:0440", want: "tone:440", in: true},
		{id: "file:/tmp/a.wav", want: "file:/tmp/a.wav", in: true, out: true},
		{id: "file:rel/B.WAV", want: "file:rel/B.WAV", in: true, out: true},
		{id: "file:C:\\x.wav", want: "file:C:\\x.wav", in: true, out: true},
		{id: "foo", errSubstr: `unknown audio device "foo" (want null, tone:HZ`},
		{id: "", errSubstr: "unknown audio device"},
		{id: "null:1", errSubstr: "unknown audio device"},
		{id: "tone:", errSubstr: "from 1 to 3999"},
		{id: "tone:0", errSubstr: "from 1 to 3999"},
		{id: "tone:4000", errSubstr: "from 1 to 3999"},
		{id: "tone:-5", errSubstr: "from 1 to 3999"},
		{id: "tone:440.5", errSubstr: "from 1 to 3999"},
		{id: "tone:abc", errSubstr: "from 1 to 3999"},
		{id: "file:", errSubstr: "want file:PATH.wav"},
		{id: "file:.wav", errSubstr: "want file:PATH.wav"},
		{id: "file:a.mp3", errSubstr: "want file:PATH.wav"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			d, err := ParseDevice(tt.id)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
					t.Fatalf("ParseDevice(%q) error = %v, want one containing %q", tt.id, err, tt.errSubstr)
				}
				if _, err := OpenInput(tt.id); err == nil {
					t.Errorf("OpenInput(%q) succeeded", tt.id)
				}
				if _, err := OpenOutput(tt.id); err == nil {
					t.Errorf("OpenOutput(%q) succeeded", tt.id)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDevice(%q): %v", tt.id, err)
			}
			if d.ID() != tt.want || d.CanInput() != tt.in || d.CanOutput() != tt.out {
				t.Errorf("ParseDevice(%q) = %q in=%v out=%v, want %q in=%v out=%v",
					tt.id, d.ID(), d.CanInput(), d.CanOutput(), tt.want, tt.in, tt.out)
			}
		})
	}
}

func TestToneIsNotAnOutput(t *testing.T) {
	_, err := OpenOutput("tone:440")
	if err == nil || !strings.Contains(err.Error(), "cannot be used for output") {
		t.Fatalf("OpenOutput(tone:440) error = %v", err)
	}
}

func TestZeroDevice(t *testing.T) {
	var d Device
	if d.ID() != "" || d.CanInput() || d.CanOutput() {
		t.Errorf("zero Device = %q in=%v out=%v", d.ID(), d.CanInput(), d.CanOutput())
	}
	if _, err := d.OpenInput(); err == nil {
		t.Error("zero Device OpenInput succeeded")
	}
	if _, err := d.OpenOutput(); err == nil {
		t.Error("zero Device OpenOutput succeeded")
	}
}

func TestDevices(t *testing.T) {
	want := map[string]string{"null": KindBoth, "tone:HZ": KindInput, "file:PATH.wav": KindBoth}
	for _, info := range Devices() {
		if kind, ok := want[info.ID]; ok {
			if info.Kind != kind {
				t.Errorf("%s kind = %q, want %q", info.ID, info.Kind, kind)
			}
			if info.Description == "" {
				t.Errorf("%s has no description", info.ID)
			}
			delete(want, info.ID)
		}
	}
	if len(want) != 0 {
		t.Errorf("Devices() lacks %v", want)
	}
}

func TestNullDevices(t *testing.T) {
	in, err := OpenInput("null")
	if err != nil {
		t.Fatal(err)
	}
	if in.Done() != nil {
		t.Error("null input has a Done channel")
	}
	buf := []byte{1, 2, 3, 4, 5}
	n, err := in.Read(buf)
	if n != 4 || err != nil || buf[0]|buf[1]|buf[2]|buf[3] != 0 || buf[4] != 5 {
		t.Errorf("Read = %d, %v, %v; want 4 zero bytes", n, err, buf)
	}
	if _, err := in.Read(buf[:1]); err != io.ErrShortBuffer {
		t.Errorf("Read of 1 byte: %v, want io.ErrShortBuffer", err)
	}
	in.Close()
	if _, err := in.Read(buf); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Read after Close: %v, want fs.ErrClosed", err)
	}

	out, err := OpenOutput("null")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := out.Write(make([]byte, FrameBytes)); n != FrameBytes || err != nil {
		t.Errorf("Write = %d, %v", n, err)
	}
	out.Close()
	if _, err := out.Write(buf); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write after Close: %v, want fs.ErrClosed", err)
	}
}

func TestFileOutputDevice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.wav")
	out, err := OpenOutput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := OpenInput("tone:1000")
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, FrameBytes)
	for range 50 { // one second
		in.Read(frame)
		if _, err := out.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	samples, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != SampleRate || len(samples) != SampleRate {
		t.Fatalf("recorded %d samples at %d Hz, want %d at %d", len(samples), rate, SampleRate, SampleRate)
	}
	if f := DominantFrequency(samples, rate, 100, 3900, 10); f != 1000 {
		t.Errorf("dominant frequency %v, want 1000", f)
	}
}

func TestMissingFileInput(t *testing.T) {
	_, err := OpenInput("file:" + filepath.Join(t.TempDir(), "nope.wav"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenInput of a missing file: %v, want fs.ErrNotExist", err)
	}
}
