package testutil

import (
	"errors"
	"sync"
	"time"
)

// eventLog collects items as a reader goroutine receives them and lets a
// test wait for one that matches, in arrival order.
type eventLog[T any] struct {
	mu     sync.Mutex
	items  []T
	notify chan struct{} // closed and replaced on every add
	done   chan struct{} // closed by finish
	next   int           // wait cursor
}

func newEventLog[T any]() *eventLog[T] {
	return &eventLog[T]{notify: make(chan struct{}), done: make(chan struct{})}
}

func (l *eventLog[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

// finish marks the end of the stream; it must be called exactly once.
func (l *eventLog[T]) finish() { close(l.done) }

func (l *eventLog[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

var (
	errWaitTimeout = errors.New("no matching event in time")
	errStreamEnded = errors.New("event stream ended")
)

// wait returns the first item after the one the previous wait returned for
// which match is true.
func (l *eventLog[T]) wait(timeout time.Duration, match func(T) bool) (T, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	ended := false
	for {
		l.mu.Lock()
		for i := l.next; i < len(l.items); i++ {
			if match(l.items[i]) {
				l.next = i + 1
				v := l.items[i]
				l.mu.Unlock()
				return v, nil
			}
		}
		l.next = len(l.items)
		notify := l.notify
		l.mu.Unlock()
		var zero T
		if ended {
			return zero, errStreamEnded
		}
		select {
		case <-notify:
		case <-l.done:
			ended = true // one more pass over what arrived last
		case <-timer.C:
			return zero, errWaitTimeout
		}
	}
}
