package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gophone/gophone/internal/testutil"
)

// mqttWait bounds waiting for a message over the broker; reconnecting
// after an outage takes paho's backoff (1 s doubling) on top.
const mqttWait = 60 * time.Second

// mqttMsg is one message a test's MQTT client received.
type mqttMsg struct {
	Topic    string
	Payload  string
	Retained bool
}

// mqttWatch is a test's own MQTT client (paho, as a fleet's controller
// would use): it records every message of the topics it subscribes to.
type mqttWatch struct {
	client mqtt.Client
	mu     sync.Mutex
	msgs   []mqttMsg
}

// newMQTTWatch connects to broker as clientID with a persistent session
// (the broker keeps QoS 1 messages for it while it is away) and
// subscribes to topics with QoS 1.
func newMQTTWatch(t *testing.T, broker *testutil.Mosquitto, clientID string, topics ...string) *mqttWatch {
	t.Helper()
	w := &mqttWatch{}
	record := func(_ mqtt.Client, m mqtt.Message) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.msgs = append(w.msgs, mqttMsg{m.Topic(), string(m.Payload()), m.Retained()})
	}
	filters := map[string]byte{}
	for _, tp := range topics {
		filters[tp] = 1
	}
	opts := mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID(clientID).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second).
		SetDefaultPublishHandler(record).
		SetOnConnectHandler(func(c mqtt.Client) { c.SubscribeMultiple(filters, record) })
	w.client = mqtt.NewClient(opts)
	if tok := w.client.Connect(); !tok.WaitTimeout(mqttWait) || tok.Error() != nil {
		t.Fatalf("mqtt test client: connect: %v", tok.Error())
	}
	// Subscribed once the subscription is acknowledged: a message on it
	// then reaches us. SubscribeMultiple is idempotent.
	if tok := w.client.SubscribeMultiple(filters, record); !tok.WaitTimeout(mqttWait) || tok.Error() != nil {
		t.Fatalf("mqtt test client: subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { w.client.Disconnect(100) })
	return w
}

func (w *mqttWatch) all(topic string) []mqttMsg {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []mqttMsg
	for _, m := range w.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// waitFor waits until cond holds for the messages of topic so far.
func (w *mqttWatch) waitFor(t *testing.T, topic, what string, cond func([]mqttMsg) bool) []mqttMsg {
	t.Helper()
	deadline := time.Now().Add(mqttWait)
	for {
		msgs := w.all(topic)
		if cond(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; messages on %s: %v", what, mqttWait, topic, msgs)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// waitStatus waits until the last message on PREFIX/status is want.
func (w *mqttWatch) waitStatus(t *testing.T, prefix, want string) {
	t.Helper()
	w.waitFor(t, prefix+"/status", prefix+" status "+want, func(m []mqttMsg) bool {
		return len(m) > 0 && m[len(m)-1].Payload == want
	})
}

// command publishes a control-protocol request on PREFIX/command and
// returns the reply that carries its id.
func (w *mqttWatch) command(t *testing.T, prefix, id, request string) map[string]any {
	t.Helper()
	if tok := w.client.Publish(prefix+"/command", 1, false, request); !tok.WaitTimeout(mqttWait) || tok.Error() != nil {
		t.Fatalf("publishing %s: %v", request, tok.Error())
	}
	var reply map[string]any
	w.waitFor(t, prefix+"/reply", "reply "+id, func(msgs []mqttMsg) bool {
		for _, m := range msgs {
			var r map[string]any
			if json.Unmarshal([]byte(m.Payload), &r) == nil && r["id"] == id {
				reply = r
				return true
			}
		}
		return false
	})
	return reply
}

// mqttEvent is the part of an event the test checks.
type mqttEvent struct {
	Seq  uint64 `json:"seq"`
	Type string `json:"type"`
	Call string `json:"call"`
}

func decodeEvents(t *testing.T, msgs []mqttMsg) []mqttEvent {
	t.Helper()
	out := make([]mqttEvent, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal([]byte(m.Payload), &out[i]); err != nil || out[i].Type == "" {
			t.Fatalf("event %d is not an event object: %q (%v)", i, m.Payload, err)
		}
	}
	return out
}

// TestMQTTFleet: three daemons bridged to Mosquitto. A client commands
// daemon 1 over the broker and gets its replies; daemon 2 (auto-answer)
// publishes its events in seq order, and after the broker was down for
// 5 s the events of the outage follow with no seq missing; daemon 3,
// killed with kill -9, shows offline through its last will. Every command
// that came over MQTT is in the audit log with channel mqtt.
func TestMQTTFleet(t *testing.T) {
	// Persistent, so that the test's own session (its subscriptions and
	// the QoS 1 messages queued for it) survives the broker's restart:
	// what daemon 2 publishes right after reconnecting reaches the test
	// even if the test's client reconnects later.
	broker := testutil.StartMosquitto(t, testutil.MosquittoOptions{Persistent: true})
	w := newMQTTWatch(t, broker, "fleet-test", "gophone/+/reply", "gophone/+/status", "gophone/d2/events")
	mq := func(id string) string { return "\n[MQTT]\nbroker=" + broker.URL() + "\nclientId=" + id + "\n" }
	d1 := startDaemon(t, mq("d1"))
	d2 := startDaemon(t, "[Settings]\nautoAnswer=all\n"+mq("d2"))
	d3 := startDaemon(t, mq("d3"))
	for _, p := range []string{"gophone/d1", "gophone/d2", "gophone/d3"} {
		w.waitStatus(t, p, "online")
	}
	d2sock := d2.Events(t) // the same events over the control socket, to compare

	// Dial over MQTT: the reply carries the request's id and the call id.
	r := w.command(t, "gophone/d1", "fleet-1",
		`{"id":"fleet-1","command":"Dial","args":{"number":"sip:2@`+d2.SIPAddr()+`"}}`)
	res, _ := r["result"].(map[string]any)
	callID, _ := res["call"].(string)
	if r["ok"] != true || callID == "" {
		t.Fatalf("Dial reply: %v", r)
	}
	in := d2sock.WaitType(t, eventWait, "call.established", "")

	// A malformed request gets a bad_request reply, as on the socket.
	r = w.command(t, "gophone/d1", "bad-1", `{"id":"bad-1","command":["Dial"]}`)
	if e, _ := r["error"].(map[string]any); r["ok"] != false || e["code"] != "bad_request" {
		t.Errorf("malformed request: reply %v", r)
	}
	r = w.command(t, "gophone/d1", "fleet-2", `{"id":"fleet-2","command":"Hangup","args":{"call":"`+callID+`"}}`)
	if r["ok"] != true {
		t.Fatalf("Hangup reply: %v", r)
	}
	d2sock.WaitType(t, eventWait, "call.ended", in.Call)

	// The broker goes away for 5 s; meanwhile daemon 2 has a whole call.
	broker.Stop()
	stopped := time.Now()
	out := strings.TrimSpace(d1.MustRun(t, "dial", "sip:2@"+d2.SIPAddr()))
	in2 := d2sock.WaitType(t, eventWait, "call.established", "")
	d1.MustRun(t, "hangup", out)
	ended := d2sock.WaitType(t, eventWait, "call.ended", in2.Call)
	time.Sleep(time.Until(stopped.Add(5 * time.Second))) // the outage the scenario asks for
	broker.Start()

	msgs := w.waitFor(t, "gophone/d2/events", "d2's events up to the outage call's end", func(m []mqttMsg) bool {
		for _, e := range decodeEvents(t, m) {
			if e.Seq >= ended.Seq {
				return true
			}
		}
		return false
	})
	checkSeqOrder(t, decodeEvents(t, msgs), d2sock.All())

	// kill -9: the broker publishes daemon 3's will, retained.
	w.waitStatus(t, "gophone/d3", "online") // again, after the restart
	d3.Kill()
	w.waitStatus(t, "gophone/d3", "offline")
	late := newMQTTWatch(t, broker, "fleet-late", "gophone/d3/status")
	m := late.waitFor(t, "gophone/d3/status", "retained status", func(m []mqttMsg) bool { return len(m) > 0 })
	if m[0].Payload != "offline" || !m[0].Retained {
		t.Errorf("a new subscriber's first d3 status: %+v, want retained offline", m[0])
	}

	// Audit: the commands that came over MQTT, with channel mqtt.
	got := auditCommands(t, d1, "mqtt")
	if want := "Dial Hangup"; strings.Join(got, " ") != want {
		t.Errorf("daemon 1's audit log, channel mqtt: %v, want %s", got, want)
	}
}

// checkSeqOrder checks the events published over MQTT: in seq order from
// 1 with none missing (a QoS 1 duplicate of one already seen is allowed),
// no gap, and each the event the control socket reported with that seq.
func checkSeqOrder(t *testing.T, got []mqttEvent, sock []testutil.Event) {
	t.Helper()
	bySeq := map[uint64]string{}
	for _, e := range sock {
		bySeq[e.Seq] = e.Type
	}
	var last uint64
	dups := 0
	for i, e := range got {
		switch {
		case e.Type == "gap":
			t.Errorf("event %d is a gap: %+v", i, e)
		case e.Seq <= last:
			dups++
		case e.Seq != last+1:
			t.Errorf("event %d has seq %d after %d: seq %d-%d missing", i, e.Seq, last, last+1, e.Seq-1)
			last = e.Seq
		default:
			last = e.Seq
		}
		if want, ok := bySeq[e.Seq]; ok && want != e.Type {
			t.Errorf("seq %d is %s over MQTT but %s on the socket", e.Seq, e.Type, want)
		}
	}
	t.Logf("%d events over MQTT, seq 1-%d, %d duplicates", len(got), last, dups)
	if len(got) == 0 || got[0].Seq != 1 {
		t.Errorf("first event over MQTT: %+v, want seq 1", got)
	}
}

// auditCommands returns the commands d's audit log recorded from channel.
func auditCommands(t *testing.T, d *testutil.Daemon, channel string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(d.Dir, "data", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ Channel, Command string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if e.Channel == channel {
			out = append(out, e.Command)
		}
	}
	return out
}
