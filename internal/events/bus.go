package events

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Subscription.Next after the bus or the
// subscription was closed.
var ErrClosed = errors.New("events: closed")

// Bus numbers events and keeps the most recent ones in a ring buffer.
// Subscribers read the ring by cursor, so a slow subscriber never blocks
// Publish and never loses events silently: if it falls so far behind that
// events were overwritten, it is told with a gap event.
//
// A Bus is safe for concurrent use.
type Bus struct {
	mu     sync.Mutex
	ring   []Event // ring[(seq-1)%capacity] holds event seq; grows up to capacity
	cap    int
	last   uint64        // seq of the newest event, 0 before the first
	wake   chan struct{} // closed (and replaced) when an event arrives or the bus closes
	waited bool          // someone holds wake; Publish must close it
	closed bool
	gaps   uint64 // gap events handed to subscribers
}

// NewBus returns a bus that keeps the last capacity events (at least 1).
func NewBus(capacity int) *Bus {
	capacity = max(capacity, 1)
	return &Bus{
		ring: make([]Event, 0, min(capacity, 1024)),
		cap:  capacity,
		wake: make(chan struct{}),
	}
}

// Publish assigns e the next sequence number, sets its Time if zero,
// stores it and wakes the subscribers. It never blocks on subscribers.
// It returns the event as stored.
func (b *Bus) Publish(e Event) Event {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	e.Seq = b.last
	if len(b.ring) < b.cap {
		b.ring = append(b.ring, e)
	} else {
		b.ring[(e.Seq-1)%uint64(b.cap)] = e
	}
	if b.waited && !b.closed {
		close(b.wake)
		b.wake = make(chan struct{})
		b.waited = false
	}
	return e
}

// Last returns the sequence number of the newest event, or 0 if none was
// published yet.
func (b *Bus) Last() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Gaps returns how many gap events subscribers were given: how often one
// fell so far behind that events it had not read were overwritten.
func (b *Bus) Gaps() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gaps
}

// Close ends every subscription: Next returns ErrClosed from then on.
// Publish still works after Close but nobody is told.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.wake)
	}
}

// oldest returns the seq of the oldest event still in the ring; it is
// last+1 when the ring is empty. b.mu must be held.
func (b *Bus) oldest() uint64 {
	if b.last < uint64(b.cap) {
		return 1
	}
	return b.last - uint64(b.cap) + 1
}

// Subscribe returns a subscription that delivers every event with a
// sequence number greater than since, oldest first. Pass 0 for everything
// the bus still holds, or b.Last() for new events only. A since beyond
// Last (say, from before a daemon restart) is treated as Last.
func (b *Bus) Subscribe(since uint64) *Subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &Subscription{
		bus:  b,
		next: min(since, b.last) + 1,
		done: make(chan struct{}),
	}
}

// Subscription is one reader's cursor into a Bus. Its methods are safe for
// concurrent use, but events are meant for one reader: concurrent Next
// calls share the cursor.
type Subscription struct {
	bus       *Bus
	mu        sync.Mutex // guards next
	next      uint64     // seq of the next event to deliver
	done      chan struct{}
	closeOnce sync.Once
}

// Next returns the next event, waiting for it if needed. If events were
// overwritten before they could be read, Next first returns a synthetic
// event of type Gap (Seq 0) whose From and To are the first and last
// missed sequence numbers, and then continues with the oldest event
// still held. Next returns ErrClosed once the subscription or the bus is
// closed, and ctx.Err() if ctx ends first.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bus
	for {
		select {
		case <-s.done:
			return Event{}, ErrClosed
		default:
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return Event{}, ErrClosed
		}
		if s.next <= b.last {
			if oldest := b.oldest(); s.next < oldest {
				gap := Event{Type: Gap, Time: time.Now(), From: s.next, To: oldest - 1}
				s.next = oldest
				b.gaps++
				b.mu.Unlock()
				return gap, nil
			}
			e := b.ring[(s.next-1)%uint64(b.cap)]
			s.next++
			b.mu.Unlock()
			return e, nil
		}
		wake := b.wake
		b.waited = true
		b.mu.Unlock()
		select {
		case <-wake:
		case <-s.done:
			return Event{}, ErrClosed
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close ends the subscription; a pending or later Next returns ErrClosed.
func (s *Subscription) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}
