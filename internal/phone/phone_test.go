package phone

import (
	"context"
	"errors"
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

// A bare number on a local account without a domain cannot be dialled
// (DESIGN §8); the error says why.
func TestDialBareNumberWithoutDomain(t *testing.T) {
	p := newIdlePhone()
	_, err := p.Dial(context.Background(), command.Args{"number": "1001"}, true)
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
	if _, err := p.SetDevice(context.Background(), command.Args{"direction": "input", "device": "tone:1000"}); err != nil {
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
