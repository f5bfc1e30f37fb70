package phone

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
)

// newIdlePhone is a phone with no SIP user agent and no calls: enough for
// the commands that never reach the SIP layer.
func newIdlePhone() *Phone {
	return &Phone{
		cfg:   &config.Config{Accounts: []config.Account{{ID: "1"}}},
		bus:   events.NewBus(100),
		au:    newTestAudio("null", "null", 100, 100),
		calls: map[string]*call{},
	}
}

func TestDoWithoutCalls(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		cmd      string
		args     command.Args
		wantCode string // "" for success
		check    func(t *testing.T, res any)
	}{
		{"nosuch", nil, command.CodeUnknownCommand, nil},
		{"SetVolume", command.Args{"level": 101}, command.CodeBadArgs, nil},
		{"SetVolume", command.Args{"level": -5}, command.CodeBadArgs, nil},
		{"SetVolume", command.Args{}, command.CodeBadArgs, nil},
		{"Mute", command.Args{"state": "maybe"}, command.CodeBadArgs, nil},
		{"VolumeUp", command.Args{"steps": 11}, command.CodeBadArgs, nil},
		{"SetDevice", command.Args{"direction": "sideways", "device": "null"}, command.CodeBadArgs, nil},
		{"SendDTMF", command.Args{"digits": "12x"}, command.CodeBadArgs, nil},
		{"Dial", command.Args{"number": "1001"}, command.CodeBadArgs, nil},
		{"Dial", command.Args{"number": "1001", "account": "7"}, command.CodeNoSuchAccount, nil},
		{"Answer", nil, command.CodeNoRingingCall, nil},
		{"Reject", command.Args{"decline": true}, command.CodeNoRingingCall, nil},
		{"Hangup", nil, command.CodeNoActiveCall, nil},
		{"Hangup", command.Args{"call": "9"}, command.CodeNoSuchCall, nil},
		{"Hold", nil, command.CodeNoActiveCall, nil},
		{"SendDTMF", command.Args{"digits": "12#"}, command.CodeNoActiveCall, nil},
		{"Transfer", command.Args{"number": "1002"}, command.CodeNoActiveCall, nil},
		{"Answer", command.Args{"call": "3"}, command.CodeNoSuchCall, nil},

		{"hangup", command.Args{"all": true}, "", func(t *testing.T, res any) {
			if m, ok := res.(map[string]int); !ok || m["ended"] != 0 {
				t.Errorf("result %#v, want ended 0", res)
			}
		}},
		{"setvolume", command.Args{"level": 30}, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); st.Volume != 30 || st.MicVolume != 100 {
				t.Errorf("status %+v, want volume 30, mic 100", st)
			}
		}},
		{"SetMicVolume", command.Args{"level": 20.0}, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); st.MicVolume != 20 || st.Volume != 100 {
				t.Errorf("status %+v, want mic 20, volume 100", st)
			}
		}},
		{"MicDown", command.Args{"steps": 3}, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); st.MicVolume != 70 {
				t.Errorf("status %+v, want mic 70", st)
			}
		}},
		{"Mute", nil, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); !st.Muted {
				t.Errorf("status %+v, want muted", st)
			}
		}},
		{"Mute", command.Args{"state": "off"}, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); st.Muted {
				t.Errorf("status %+v, want not muted", st)
			}
		}},
		{"SetDevice", command.Args{"direction": "input", "device": "tone:440"}, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); st.Input != "tone:440" || st.Output != "null" {
				t.Errorf("status %+v, want input tone:440, output null", st)
			}
		}},
		{"SetDevice", command.Args{"direction": "output", "device": "file:" + filepath.Join(dir, "o.wav")}, "", func(t *testing.T, res any) {
			if st := res.(AudioStatus); st.Output != "file:"+filepath.Join(dir, "o.wav") || st.Input != "null" {
				t.Errorf("status %+v, want the file output", st)
			}
		}},
		{"SetDevice", command.Args{"direction": "output", "device": "tone:440"}, command.CodeNoSuchDevice, nil},
		{"SetDevice", command.Args{"direction": "input", "device": "speaker"}, command.CodeNoSuchDevice, nil},
		{"SetDevice", command.Args{"direction": "output", "device": "file:out.mp3"}, command.CodeNoSuchDevice, nil},
		{"Devices", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			p := newIdlePhone()
			defer p.au.close()
			res, err := p.Do(context.Background(), tt.cmd, tt.args)
			if tt.wantCode != "" {
				var ce *command.Error
				if !errors.As(err, &ce) {
					t.Fatalf("Do(%s, %v) = %#v, %v; want a %s command error", tt.cmd, tt.args, res, err, tt.wantCode)
				}
				if ce.Code != tt.wantCode {
					t.Fatalf("Do(%s, %v) code %q (%s), want %q", tt.cmd, tt.args, ce.Code, ce.Message, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("Do(%s, %v): %v", tt.cmd, tt.args, err)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

// A bare number on a local account without a domain cannot be dialled
// (DESIGN §8); the error says why.
func TestDialBareNumberWithoutDomain(t *testing.T) {
	p := newIdlePhone()
	_, err := p.Do(context.Background(), "Dial", command.Args{"number": "1001"})
	var ce *command.Error
	if !errors.As(err, &ce) || ce.Code != command.CodeBadArgs || !strings.Contains(ce.Message, "domain") {
		t.Fatalf("Dial 1001 = %v, want bad_args mentioning the domain", err)
	}
}

// SetDevice announces the switch on the event bus.
func TestSetDevicePublishesEvent(t *testing.T) {
	p := newIdlePhone()
	defer p.au.close()
	sub := p.bus.Subscribe(p.bus.Last())
	defer sub.Close()
	if _, err := p.Do(context.Background(), "SetDevice", command.Args{"direction": "input", "device": "tone:1000"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != events.AudioDevice || e.Device != "tone:1000" || e.Direction != "input" {
		t.Errorf("event %+v, want audio.device tone:1000 input", e)
	}
}
