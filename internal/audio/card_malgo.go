//go:build malgo

package audio

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/gen2brain/malgo"
)

// cardsBuilt reports whether this build has sound cards: yes, with malgo.
const cardsBuilt = true

// backends are the miniaudio backends $GOPHONE_AUDIO_BACKEND names
// (pulseaudio, alsa, jack, oss, coreaudio, wasapi, null …), else nil:
// miniaudio's own order for the platform. The null backend is a card
// without hardware that runs in real time, which the tests use.
func backends() ([]malgo.Backend, error) {
	name := os.Getenv("GOPHONE_AUDIO_BACKEND")
	if name == "" {
		return nil, nil
	}
	b, ok := map[string]malgo.Backend{
		"wasapi": malgo.BackendWasapi, "dsound": malgo.BackendDsound, "winmm": malgo.BackendWinmm,
		"coreaudio": malgo.BackendCoreaudio, "sndio": malgo.BackendSndio, "audio4": malgo.BackendAudio4,
		"oss": malgo.BackendOss, "pulseaudio": malgo.BackendPulseaudio, "alsa": malgo.BackendAlsa,
		"jack": malgo.BackendJack, "aaudio": malgo.BackendAaudio, "opensl": malgo.BackendOpensl,
		"null": malgo.BackendNull,
	}[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("audio: GOPHONE_AUDIO_BACKEND=%q is not a miniaudio backend", name)
	}
	return []malgo.Backend{b}, nil
}

// initContext starts miniaudio on the backends of backends.
func initContext() (*malgo.AllocatedContext, error) {
	b, err := backends()
	if err != nil {
		return nil, err
	}
	return malgo.InitContext(b, malgo.ContextConfig{}, nil)
}

// cards lists the capture and playback cards miniaudio finds, as card:NAME
// ids; a card that does both is listed once.
func cards() []DeviceInfo {
	ctx, err := initContext()
	if err != nil {
		return nil
	}
	defer ctx.Free()
	defer ctx.Uninit()
	kinds := map[string]string{}
	var order []string
	for _, k := range []struct {
		typ  malgo.DeviceType
		kind string
	}{{malgo.Capture, KindInput}, {malgo.Playback, KindOutput}} {
		infos, err := ctx.Devices(k.typ)
		if err != nil {
			continue
		}
		for _, info := range infos {
			name := info.Name()
			switch kinds[name] {
			case "":
				order = append(order, name)
				kinds[name] = k.kind
			case KindInput:
				kinds[name] = KindBoth
			}
		}
	}
	list := []DeviceInfo{{ID: "card:default", Kind: KindBoth, Description: "the system's default sound card"}}
	for _, name := range order {
		list = append(list, DeviceInfo{ID: "card:" + name, Kind: kinds[name], Description: "sound card"})
	}
	return list
}

// openCard starts the card called name (or the default) as a capture or
// playback device of 8 kHz mono 16-bit PCM, miniaudio converting from the
// card's own format, with data moving through ring.
func openCard(name string, typ malgo.DeviceType, ring *pcmRing) (func() error, error) {
	ctx, err := initContext()
	if err != nil {
		return nil, fmt.Errorf("audio: sound cards: %w", err)
	}
	free := func() {
		ctx.Uninit()
		ctx.Free()
	}
	cfg := malgo.DefaultDeviceConfig(typ)
	cfg.SampleRate = SampleRate
	cfg.PeriodSizeInMilliseconds = 20
	sub := &cfg.Capture
	if typ == malgo.Playback {
		sub = &cfg.Playback
	}
	sub.Format, sub.Channels = malgo.FormatS16, 1
	if name != "default" {
		infos, err := ctx.Devices(typ)
		if err != nil {
			free()
			return nil, fmt.Errorf("audio: card:%s: %w", name, err)
		}
		i := findCard(infos, name)
		if i < 0 {
			free()
			return nil, fmt.Errorf("audio: no sound card %q (see gophone devices)", name)
		}
		sub.DeviceID = infos[i].ID.Pointer()
	}
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{
		Data: func(out, in []byte, _ uint32) {
			if typ == malgo.Capture {
				ring.write(in)
			} else {
				ring.read(out)
			}
		},
	})
	if err != nil {
		free()
		return nil, fmt.Errorf("audio: card:%s: %w", name, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		free()
		return nil, fmt.Errorf("audio: card:%s: %w", name, err)
	}
	var once sync.Once
	return func() error {
		once.Do(func() {
			dev.Uninit()
			free()
		})
		return nil
	}, nil
}

func findCard(infos []malgo.DeviceInfo, name string) int {
	for i := range infos {
		if infos[i].Name() == name {
			return i
		}
	}
	return -1
}

func openCardInput(name string) (Input, error) {
	ring := newPCMRing(cardBuffer)
	closeFn, err := openCard(name, malgo.Capture, ring)
	if err != nil {
		return nil, err
	}
	return &cardInput{ring: ring, close: closeFn}, nil
}

func openCardOutput(name string) (io.WriteCloser, error) {
	ring := newPCMRing(cardBuffer)
	closeFn, err := openCard(name, malgo.Playback, ring)
	if err != nil {
		return nil, err
	}
	return &cardOutput{ring: ring, close: closeFn}, nil
}
