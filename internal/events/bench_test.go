package events

import (
	"context"
	"testing"
)

// BenchmarkSubscribeNext measures an event's way from Publish to a
// subscriber's Next.
func BenchmarkSubscribeNext(b *testing.B) {
	e := Event{Type: CallRinging, Call: "1", Number: "1001"}

	// The event is already there when Next is called.
	b.Run("ready", func(b *testing.B) {
		bus := NewBus(1024)
		s := bus.Subscribe(0)
		defer s.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			bus.Publish(e)
			if _, err := s.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})

	// The subscriber waits in Next in another goroutine and is woken by
	// Publish; the round trip ends when it has the event.
	b.Run("waiting", func(b *testing.B) {
		bus := NewBus(1024)
		s := bus.Subscribe(0)
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan uint64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				ev, err := s.Next(ctx)
				if err != nil {
					return
				}
				got <- ev.Seq
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			want := bus.Publish(e).Seq
			if seq := <-got; seq != want {
				b.Fatalf("got seq %d, want %d", seq, want)
			}
		}
		b.StopTimer()
		cancel()
		s.Close()
		<-done
	})
}
