package mqttbridge

import (
	"context"
	"sync"
)

// connState tracks the broker connection as paho reports it. Every new
// connection is a new epoch.
type connState struct {
	mu      sync.Mutex
	up      bool
	epoch   uint64
	changed chan struct{} // closed and replaced on every change
}

func newConnState() *connState { return &connState{changed: make(chan struct{})} }

// set records that the connection came up (a new epoch) or went down.
func (s *connState) set(up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up = up
	if up {
		s.epoch++
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *connState) get() (up bool, epoch uint64, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up, s.epoch, s.changed
}

// waitUp waits until the connection is up and returns its epoch; ok is
// false if ctx ended first.
func (s *connState) waitUp(ctx context.Context) (epoch uint64, ok bool) {
	for ctx.Err() == nil {
		up, epoch, changed := s.get()
		if up {
			return epoch, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
	return 0, false
}

// context returns a context that ends with ctx or as soon as the
// connection of epoch is gone.
func (s *connState) context(ctx context.Context, epoch uint64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			up, e, changed := s.get()
			if !up || e != epoch {
				cancel()
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, cancel
}
