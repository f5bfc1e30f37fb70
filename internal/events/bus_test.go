package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func publishN(b *Bus, n int) {
	for range n {
		b.Publish(Event{Type: CallRinging})
	}
}

func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return e
}

func TestPublishAssignsSeqAndTime(t *testing.T) {
	b := NewBus(4)
	if got := b.Last(); got != 0 {
		t.Fatalf("Last before publish = %d, want 0", got)
	}
	fixed := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	e1 := b.Publish(Event{Type: CallIncoming})
	e2 := b.Publish(Event{Type: CallEnded, Time: fixed})
	if e1.Seq != 1 || e2.Seq != 2 {
		t.Errorf("seqs = %d, %d; want 1, 2", e1.Seq, e2.Seq)
	}
	if e1.Time.IsZero() {
		t.Error("Time not set")
	}
	if !e2.Time.Equal(fixed) {
		t.Errorf("Time = %v, want the given %v", e2.Time, fixed)
	}
	if got := b.Last(); got != 2 {
		t.Errorf("Last = %d, want 2", got)
	}
}

func TestSubscribe(t *testing.T) {
	tests := []struct {
		name      string
		capacity  int
		published int
		since     uint64
		want      []Event // Seq for events, or gap From/To
	}{
		{"all from start", 10, 3, 0, []Event{{Seq: 1}, {Seq: 2}, {Seq: 3}}},
		{"resume", 10, 5, 3, []Event{{Seq: 4}, {Seq: 5}}},
		{"new only", 10, 5, 5, nil},
		{"since beyond last", 10, 2, 99, nil},
		{"since older than ring", 3, 8, 2, []Event{{Type: Gap, From: 3, To: 5}, {Seq: 6}, {Seq: 7}, {Seq: 8}}},
		{"zero after overwrite", 3, 5, 0, []Event{{Type: Gap, From: 1, To: 2}, {Seq: 3}, {Seq: 4}, {Seq: 5}}},
		{"exactly at oldest", 3, 5, 2, []Event{{Seq: 3}, {Seq: 4}, {Seq: 5}}},
		{"capacity one", 1, 3, 0, []Event{{Type: Gap, From: 1, To: 2}, {Seq: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBus(tt.capacity)
			publishN(b, tt.published)
			s := b.Subscribe(tt.since)
			defer s.Close()
			for i, w := range tt.want {
				e := next(t, s)
				if w.Type == Gap {
					if e.Type != Gap || e.Seq != 0 || e.From != w.From || e.To != w.To {
						t.Fatalf("event %d = %+v, want gap %d-%d", i, e, w.From, w.To)
					}
					continue
				}
				if e.Seq != w.Seq {
					t.Fatalf("event %d: seq %d, want %d", i, e.Seq, w.Seq)
				}
			}
			wantGaps := uint64(0)
			if len(tt.want) > 0 && tt.want[0].Type == Gap {
				wantGaps = 1
			}
			if g := b.Gaps(); g != wantGaps {
				t.Errorf("Gaps() = %d, want %d", g, wantGaps)
			}
			// Nothing more is pending; the next publish is delivered next.
			p := b.Publish(Event{Type: CallEnded})
			if e := next(t, s); e.Seq != p.Seq {
				t.Fatalf("after catching up: seq %d, want %d", e.Seq, p.Seq)
			}
		})
	}
}

func TestGapWhenFallingBehind(t *testing.T) {
	b := NewBus(4)
	s := b.Subscribe(0)
	defer s.Close()
	publishN(b, 2)
	if e := next(t, s); e.Seq != 1 {
		t.Fatalf("seq %d, want 1", e.Seq)
	}
	publishN(b, 8) // last = 10; ring holds 7..10; 2..6 lost
	e := next(t, s)
	if e.Type != Gap || e.From != 2 || e.To != 6 {
		t.Fatalf("got %+v, want gap 2-6", e)
	}
	for want := uint64(7); want <= 10; want++ {
		if e := next(t, s); e.Seq != want {
			t.Fatalf("seq %d, want %d", e.Seq, want)
		}
	}
}

func TestNextWaitsForPublish(t *testing.T) {
	b := NewBus(8)
	s := b.Subscribe(b.Last())
	defer s.Close()
	got := make(chan Event, 1)
	go func() {
		e, _ := s.Next(context.Background())
		got <- e
	}()
	time.Sleep(10 * time.Millisecond)
	b.Publish(Event{Type: DTMFReceived, Digit: "5"})
	select {
	case e := <-got:
		if e.Seq != 1 || e.Digit != "5" {
			t.Fatalf("got %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not wake up")
	}
}

func TestNextContextCancel(t *testing.T) {
	b := NewBus(8)
	s := b.Subscribe(0)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want deadline exceeded", err)
	}
	// The subscription stays usable.
	b.Publish(Event{Type: CallIncoming})
	if e := next(t, s); e.Seq != 1 {
		t.Fatalf("seq %d, want 1", e.Seq)
	}
}

func TestClose(t *testing.T) {
	t.Run("subscription", func(t *testing.T) {
		b := NewBus(8)
		s := b.Subscribe(0)
		errc := make(chan error, 1)
		go func() { _, err := s.Next(context.Background()); errc <- err }()
		time.Sleep(10 * time.Millisecond)
		s.Close()
		s.Close() // idempotent
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Next = %v, want ErrClosed", err)
		}
	})
	t.Run("bus", func(t *testing.T) {
		b := NewBus(8)
		publishN(b, 1)
		s1, s2 := b.Subscribe(1), b.Subscribe(1)
		errc := make(chan error, 2)
		for _, s := range []*Subscription{s1, s2} {
			go func() { _, err := s.Next(context.Background()); errc <- err }()
		}
		time.Sleep(10 * time.Millisecond)
		b.Close()
		b.Close()
		for range 2 {
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Fatalf("Next = %v, want ErrClosed", err)
			}
		}
		b.Publish(Event{Type: CallIncoming}) // must not panic
		if _, err := b.Subscribe(0).Next(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after close = %v, want ErrClosed", err)
		}
	})
}

func TestConcurrentSubscribers(t *testing.T) {
	const (
		subscribers = 50
		events      = 2000
	)
	b := NewBus(events) // big enough: no gaps expected
	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	for range subscribers {
		s := b.Subscribe(0)
		wg.Go(func() {
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for want := uint64(1); want <= events; want++ {
				e, err := s.Next(ctx)
				if err != nil {
					errs <- err
					return
				}
				if e.Seq != want {
					errs <- errors.New("out of order or gap")
					return
				}
			}
		})
	}
	var pub sync.WaitGroup
	for range 4 {
		pub.Go(func() {
			for range events / 4 {
				b.Publish(Event{Type: CallRinging})
				_ = b.Last()
			}
		})
	}
	pub.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSlowSubscriberSeesEveryEventOrGap(t *testing.T) {
	// A small ring and a reader slower than the writer: every seq is either
	// delivered or covered by exactly one gap, in order.
	b := NewBus(16)
	s := b.Subscribe(0)
	defer s.Close()
	const total = 5000
	done := make(chan struct{})
	go func() {
		defer close(done)
		publishN(b, total)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var want uint64 = 1
	for want <= total {
		e, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next at %d: %v", want, err)
		}
		switch {
		case e.Type == Gap:
			if e.From != want || e.To < e.From {
				t.Fatalf("gap %d-%d, want from %d", e.From, e.To, want)
			}
			want = e.To + 1
		case e.Seq != want:
			t.Fatalf("seq %d, want %d", e.Seq, want)
		default:
			want++
		}
	}
	<-done
}

func BenchmarkPublish(b *testing.B) {
	bus := NewBus(10000)
	e := Event{Type: CallRinging, Call: "1", Number: "1001"}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(e)
	}
}

func BenchmarkPublishWithSubscribers(b *testing.B) {
	bus := NewBus(10000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		s := bus.Subscribe(0)
		wg.Go(func() {
			defer s.Close()
			for {
				if _, err := s.Next(ctx); err != nil {
					return
				}
			}
		})
	}
	e := Event{Type: CallRinging, Call: "1", Number: "1001"}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(e)
	}
	b.StopTimer()
	cancel()
	wg.Wait()
}
