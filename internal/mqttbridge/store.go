package mqttbridge

import (
	"strings"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// ackStore is paho's memory store, except that it keeps no outgoing
// PUBLISH packets. paho resends the stored ones after a reconnect, racing
// the publications that follow; the bridge resends unacknowledged events
// from the event ring itself, in order, so paho must not.
type ackStore struct{ *mqtt.MemoryStore }

func newAckStore() ackStore { return ackStore{mqtt.NewMemoryStore()} }

// Put stores message unless it is an outgoing PUBLISH.
func (s ackStore) Put(key string, message packets.ControlPacket) {
	if _, ok := message.(*packets.PublishPacket); ok && strings.HasPrefix(key, "o.") {
		return
	}
	s.MemoryStore.Put(key, message)
}
