package sipua

import (
	"context"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// clockTick is the media clock's resolution; every packet time a far end
// may ask for (10-60 ms, RFC 4566 a=ptime) is a multiple of it.
const clockTick = 10 * time.Millisecond

// maxCatchUp bounds the packets a late sender sends in one tick.
const maxCatchUp = 3

// mediaClock paces the outgoing RTP of every call. Instead of a ticker and
// a goroutine woken per call and packet, a few shard goroutines (one per
// CPU) wake every clockTick and resume, one after another, the senders
// whose packet is due. Sending a thousand packets back to back costs a
// fraction of waking a thousand goroutines, and a stream's packets leave
// at the same offset into every tick, so their spacing stays regular.
type mediaClock struct {
	shards []*clockShard
	next   atomic.Uint32
}

// newMediaClock starts a clock that runs until ctx ends; then every sender
// on it is stopped.
func newMediaClock(ctx context.Context) *mediaClock {
	c := &mediaClock{shards: make([]*clockShard, runtime.GOMAXPROCS(0))}
	for i := range c.shards {
		s := &clockShard{wake: make(chan struct{}, 1)}
		c.shards[i] = s
		go s.run(ctx)
	}
	return c
}

// add puts a sender on the clock until ctx ends or send returns. send runs
// as a coroutine: each call of its tick function waits for the next packet
// time (period, read again before each wait) and reports false once the
// sender is being stopped.
func (c *mediaClock) add(ctx context.Context, period func() time.Duration, send func(tick func() bool)) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		send(func() bool { return ctx.Err() == nil && yield(struct{}{}) })
	})
	p := &pacer{ctx: ctx, period: period, next: next, stop: stop}
	s := c.shards[int(c.next.Add(1))%len(c.shards)]
	s.mu.Lock()
	s.added = append(s.added, p)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// clockShard drives its share of the senders from one goroutine.
type clockShard struct {
	wake chan struct{}

	mu    sync.Mutex
	added []*pacer // waiting to join pacers

	pacers []*pacer // owned by run
}

func (s *clockShard) run(ctx context.Context) {
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
		s.join()
		for _, p := range s.pacers {
			p.stop()
		}
	}()
	for {
		if s.join() == 0 {
			// Nothing to send: sleep until a sender arrives.
			if ticker != nil {
				ticker.Stop()
				ticker = nil
			}
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if ticker == nil {
			ticker = time.NewTicker(clockTick)
		}
		select {
		case now := <-ticker.C:
			s.tick(now)
		case <-ctx.Done():
			return
		}
	}
}

// join moves newly added senders to pacers and returns how many there are.
func (s *clockShard) join() int {
	s.mu.Lock()
	s.pacers = append(s.pacers, s.added...)
	clear(s.added)
	s.added = s.added[:0]
	s.mu.Unlock()
	return len(s.pacers)
}

// tick resumes every sender that is due and drops those that have ended.
func (s *clockShard) tick(now time.Time) {
	live := s.pacers[:0]
	for _, p := range s.pacers {
		if p.step(now) {
			live = append(live, p)
		}
	}
	clear(s.pacers[len(live):])
	s.pacers = live
}

// pacer is one sender on the clock.
type pacer struct {
	ctx    context.Context
	period func() time.Duration
	next   func() (struct{}, bool)
	stop   func()
	due    time.Time // when the next packet is due; zero before the first
}

// step resumes the sender if its packet is due at now and reports whether
// it is still running.
func (p *pacer) step(now time.Time) bool {
	if p.ctx.Err() != nil {
		p.stop()
		return false
	}
	if p.due.IsZero() {
		p.due = now
	}
	// Ticks arrive a little early or late, and a busy machine skips some:
	// a packet due within half a tick is sent now, and a sender that fell
	// behind catches up by up to maxCatchUp packets a tick, so the stream
	// keeps its rate.
	for sent := 0; p.due.Sub(now) <= clockTick/2 && sent < maxCatchUp; sent++ {
		if _, ok := p.next(); !ok {
			p.stop()
			return false
		}
		p.due = p.due.Add(p.period())
	}
	if period := p.period(); now.Sub(p.due) > 3*period {
		// Far behind (the machine stalled): resume the pace from now
		// rather than send a burst.
		p.due = now.Add(period)
	}
	return true
}
