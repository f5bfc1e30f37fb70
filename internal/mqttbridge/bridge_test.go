package mqttbridge

import (
	"context"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/gophone/gophone/internal/config"
)

func TestTopicsFor(t *testing.T) {
	got := TopicsFor("gophone/kiosk7")
	want := Topics{"gophone/kiosk7/command", "gophone/kiosk7/reply", "gophone/kiosk7/events", "gophone/kiosk7/status"}
	if got != want {
		t.Errorf("TopicsFor = %+v, want %+v", got, want)
	}
}

// TestAckStoreKeepsNoOutgoingPublish: paho must not resend events on its
// own after a reconnect (the bridge does, from the ring, in order), but
// the other packets it stores still are.
func TestAckStoreKeepsNoOutgoingPublish(t *testing.T) {
	s := newAckStore()
	s.Open()
	defer s.Close()
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.MessageID, pub.Qos = 1, 1
	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID = 2
	in := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	in.MessageID, in.Qos = 3, 2
	s.Put("o.1", pub)
	s.Put("o.2", sub)
	s.Put("i.3", in)
	if s.Get("o.1") != nil {
		t.Error("an outgoing PUBLISH was stored")
	}
	if s.Get("o.2") == nil || s.Get("i.3") == nil {
		t.Errorf("other packets not stored: %v", s.All())
	}
}

func TestConnStateContextEndsWithTheConnection(t *testing.T) {
	s := newConnState()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go s.set(true)
	epoch, ok := s.waitUp(ctx)
	if !ok || epoch != 1 {
		t.Fatalf("waitUp = %d, %v", epoch, ok)
	}
	c, stop := s.context(ctx, epoch)
	defer stop()
	s.set(false)
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the connection's context outlived the connection")
	}
	// A reconnect is a new epoch: a context of the old one ends at once.
	s.set(true)
	old, stop2 := s.context(ctx, epoch)
	defer stop2()
	select {
	case <-old.Done():
	case <-ctx.Done():
		t.Fatal("a context of an old epoch did not end")
	}
	// waitUp gives up when its context ends.
	s.set(false)
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if _, ok := s.waitUp(short); ok {
		t.Error("waitUp reported up after its context ended")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.MQTT
		wantErr bool
	}{
		{"plain", config.MQTT{Broker: "mqtt://127.0.0.1:1883", ClientID: "a", TopicPrefix: "p"}, false},
		{"tls, system CAs", config.MQTT{Broker: "mqtts://broker.lan:8883", ClientID: "a", TopicPrefix: "p"}, false},
		{"tls, missing CA file", config.MQTT{Broker: "mqtts://b:8883", CAFile: "/nonexistent/ca.pem"}, true},
		{"tls, CA file without PEM", config.MQTT{Broker: "mqtts://b:8883", CAFile: "bridge_test.go"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Bridge{Config: tt.cfg}).Check()
			if (err != nil) != tt.wantErr {
				t.Errorf("Check() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
