package hooks

import (
	"log/slog"
	"testing"

	"github.com/gophone/gophone/internal/events"
)

// BenchmarkHandle is the subscriber's cost per event: mapping it to its
// hooks and queueing them (cmdCallAnswer and cmdCallStart here). It is
// all the work hooks add to the path of an event.
func BenchmarkHandle(b *testing.B) {
	cmds, err := parseAll(map[string]string{CallAnswer: "/bin/true {number}", CallStart: "/bin/true"}, "")
	if err != nil {
		b.Fatal(err)
	}
	r := &Runner{cmds: cmds, log: slog.New(slog.DiscardHandler), queue: make(chan job, 2)}
	e := events.Event{Type: events.CallEstablished, Call: "12", Number: "1001", Name: "Alice",
		URI: "sip:1001@pbx.example.com:5060", Direction: "incoming"}
	b.ReportAllocs()
	for b.Loop() {
		r.handle(e)
		<-r.queue
		<-r.queue
	}
}
