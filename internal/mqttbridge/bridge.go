// Package mqttbridge is gophone's MQTT front end (DESIGN §3 [MQTT]): it
// runs the requests published on PREFIX/command through the command table
// and publishes the replies on PREFIX/reply, publishes every event on
// PREFIX/events in seq order, QoS 1, and keeps PREFIX/status a retained
// "online" or "offline" (the latter also as the last will).
//
// Events are published one at a time and the next only after the broker
// acknowledged the previous one, so a subscriber sees them in seq order.
// While the broker is unreachable nothing is queued: the event bus's ring
// holds the events, and after the reconnect the bridge resumes from the
// last acknowledged seq (a gap event says what the ring no longer held).
package mqttbridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/control"
	"github.com/gophone/gophone/internal/events"
)

// Channel is the audit channel name of requests that came over MQTT.
const Channel = "mqtt"

// Status payloads of PREFIX/status.
const (
	Online  = "online"
	Offline = "offline"
)

// Timeouts and bounds of the bridge.
const (
	// maxReconnectInterval caps paho's reconnect backoff (1 s doubling).
	maxReconnectInterval = 10 * time.Second
	// replyTimeout bounds waiting for the broker to take a reply or the
	// offline status.
	replyTimeout = 10 * time.Second
	// queueSize is how many received commands may wait for their turn;
	// past it a command is answered busy.
	queueSize = 256
)

// Executor runs commands; the daemon's Exec validates, runs and audits.
type Executor interface {
	Exec(ctx context.Context, channel string, req command.Request) command.Response
}

// Bridge connects one daemon to an MQTT broker.
type Bridge struct {
	Config config.MQTT
	Exec   Executor
	Bus    *events.Bus
	Logger *slog.Logger // nil: no logging
	// Replied, if set, is called after a command's reply was published
	// (or failed to be): the place for work that must follow the reply,
	// such as shutting down after Close.
	Replied func(req command.Request, resp command.Response)
}

// Topics are the bridge's topics under one prefix.
type Topics struct{ Command, Reply, Events, Status string }

// TopicsFor returns the topics under prefix.
func TopicsFor(prefix string) Topics {
	return Topics{
		Command: prefix + "/command",
		Reply:   prefix + "/reply",
		Events:  prefix + "/events",
		Status:  prefix + "/status",
	}
}

func (b *Bridge) logger() *slog.Logger {
	if b.Logger != nil {
		return b.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run connects to the broker, retrying with backoff until it answers, and
// serves until ctx ends; then it publishes the offline status and
// disconnects. It returns an error only for a configuration it cannot use.
func (b *Bridge) Run(ctx context.Context) error {
	topics := TopicsFor(b.Config.TopicPrefix)
	opts, err := b.options(topics)
	if err != nil {
		return err
	}
	conn := newConnState()
	queue := make(chan []byte, queueSize)
	var client mqtt.Client
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		conn.set(true)
		b.logger().Info("mqtt: connected", "broker", b.Config.Broker, "prefix", b.Config.TopicPrefix)
		// The session is clean: subscribe again on every connection.
		c.Subscribe(topics.Command, 1, func(_ mqtt.Client, m mqtt.Message) {
			select {
			case queue <- m.Payload():
			default:
				go b.refuseBusy(client, topics, m.Payload())
			}
		})
		c.Publish(topics.Status, 1, true, Online)
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		conn.set(false)
		b.logger().Warn("mqtt: connection lost; reconnecting", "err", err)
	})
	client = mqtt.NewClient(opts)
	client.Connect() // with ConnectRetry it keeps trying; OnConnect reports success

	done := make(chan struct{}, 2)
	go func() { b.publishEvents(ctx, client, conn, topics); done <- struct{}{} }()
	go func() { b.serveCommands(ctx, client, queue, topics); done <- struct{}{} }()
	<-ctx.Done()
	<-done
	<-done

	if client.IsConnectionOpen() {
		t := client.Publish(topics.Status, 1, true, Offline)
		if !t.WaitTimeout(replyTimeout) || t.Error() != nil {
			b.logger().Warn("mqtt: publishing offline status failed", "err", t.Error())
		}
	}
	client.Disconnect(250)
	return nil
}

// Check reports a configuration Run cannot use, such as an unreadable
// caFile, so that the daemon can refuse to start.
func (b *Bridge) Check() error {
	_, err := b.options(TopicsFor(b.Config.TopicPrefix))
	return err
}

// options returns paho's client options for the configuration.
func (b *Bridge) options(topics Topics) (*mqtt.ClientOptions, error) {
	c := b.Config
	u, err := url.Parse(c.Broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker %q: %w", c.Broker, err)
	}
	opts := mqtt.NewClientOptions().
		AddBroker(c.Broker).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetConnectTimeout(10*time.Second).
		SetKeepAlive(30*time.Second).
		SetWill(topics.Status, Offline, 1, true).
		SetStore(newAckStore())
	if u.Scheme == "mqtts" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("mqtt: caFile: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("mqtt: caFile %s holds no PEM certificate", c.CAFile)
			}
		}
		opts.SetTLSConfig(tc)
	}
	return opts, nil
}

// publishEvents publishes the bus's events from the first one on, across
// reconnects, until ctx ends.
func (b *Bridge) publishEvents(ctx context.Context, client mqtt.Client, conn *connState, topics Topics) {
	var acked uint64 // the last event the broker acknowledged
	for {
		epoch, ok := conn.waitUp(ctx)
		if !ok {
			return
		}
		acked = b.publishFrom(ctx, client, conn, epoch, topics, acked)
	}
}

// publishFrom publishes the events after since while the connection of
// epoch lasts, each once the previous one was acknowledged. It returns the
// seq up to which the broker has acknowledged everything.
func (b *Bridge) publishFrom(ctx context.Context, client mqtt.Client, conn *connState, epoch uint64, topics Topics, since uint64) uint64 {
	ctx, cancel := conn.context(ctx, epoch)
	defer cancel()
	sub := b.Bus.Subscribe(since)
	defer sub.Close()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return since
		}
		payload, err := json.Marshal(e)
		if err != nil { // cannot happen for an Event; skip rather than stall
			b.logger().Error("mqtt: encoding event", "seq", e.Seq, "err", err)
			continue
		}
		t := client.Publish(topics.Events, 1, false, payload)
		select {
		case <-t.Done():
			if err := t.Error(); err != nil {
				b.logger().Warn("mqtt: publishing event", "seq", e.Seq, "err", err)
				return since
			}
		case <-ctx.Done():
			// The connection went away with the event unacknowledged;
			// it is published again from the ring after the reconnect.
			return since
		}
		if e.Type == events.Gap {
			since = e.To
		} else {
			since = e.Seq
		}
	}
}

// serveCommands runs the received commands one at a time, in the order
// they arrived, as a control socket connection does, until ctx ends.
func (b *Bridge) serveCommands(ctx context.Context, client mqtt.Client, queue <-chan []byte, topics Topics) {
	for {
		select {
		case <-ctx.Done():
			return
		case payload := <-queue:
			req, resp, ok := control.ParseRequest(payload)
			if ok {
				resp = b.exec(ctx, req)
			}
			b.reply(client, topics, resp)
			if ok && b.Replied != nil {
				b.Replied(req, resp)
			}
		}
	}
}

// exec runs req, turning a panic into an internal error so that one bad
// command does not take the daemon down.
func (b *Bridge) exec(ctx context.Context, req command.Request) (resp command.Response) {
	defer func() {
		if p := recover(); p != nil {
			b.logger().Error("mqtt: command panicked", "command", req.Command, "panic", p,
				"stack", string(debug.Stack()))
			resp = command.Response{Error: command.Errorf(command.CodeInternal, "internal error")}
		}
		resp.ID = req.ID
	}()
	return b.Exec.Exec(ctx, Channel, req)
}

// refuseBusy answers a command that found the queue full.
func (b *Bridge) refuseBusy(client mqtt.Client, topics Topics, payload []byte) {
	req, resp, ok := control.ParseRequest(payload)
	if ok {
		resp = command.Response{ID: req.ID, Error: command.Errorf(command.CodeBusy,
			"%d commands are waiting; try again", queueSize)}
	}
	b.reply(client, topics, resp)
}

// reply publishes resp on the reply topic.
func (b *Bridge) reply(client mqtt.Client, topics Topics, resp command.Response) {
	payload, err := json.Marshal(resp)
	if err != nil {
		b.logger().Error("mqtt: encoding reply", "err", err)
		payload, _ = json.Marshal(command.Response{ID: resp.ID, Error: command.Errorf(command.CodeInternal,
			"encoding result: %v", err)})
	}
	t := client.Publish(topics.Reply, 1, false, payload)
	if !t.WaitTimeout(replyTimeout) || t.Error() != nil {
		b.logger().Warn("mqtt: publishing reply", "id", resp.ID, "err", t.Error())
	}
}
