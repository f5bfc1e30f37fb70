package sipua

import (
	"container/heap"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// clockSlack is how early a packet may leave: senders due within it are
// served together, which saves timer wake-ups without moving a packet
// noticeably.
const clockSlack = time.Millisecond

// clockGrid aligns the streams: every sender starts on a multiple of it,
// so streams of one packet time send together, in one burst per packet
// time, rather than each at its own phase.
const clockGrid = 20 * time.Millisecond

// maxCatchUp bounds the packets a late sender sends at once.
const maxCatchUp = 3

// mediaClock paces the RTP of every call. Instead of a ticker goroutine
// per call, a few shard goroutines (one per CPU, filled one after another)
// each keep their senders in a heap by the time their next packet is due,
// sleep until the earliest, and give each sender that is due its turn: it
// reads the packets that arrived and sends one. A sender woken late
// catches up, so every stream keeps its packet rate while the machine can
// carry it (bench/README.md).
//
// The clock keeps its own time, clock time: the time since it started, on
// Go's monotonic clock, so that a step of the wall clock (NTP, an
// administrator) does not move it: set back an hour, a clock on the wall
// clock would hold every call's audio for that hour. Its grid counts from
// its start, the same for every shard.
type mediaClock struct {
	shards []*clockShard
}

// shardFill is how many senders a shard takes before the next shard is
// used: a light load stays on one goroutine, which wakes once per packet
// time, instead of waking a thread per shard.
const shardFill = 256

// newMediaClock starts a clock that runs until ctx ends; then every sender
// on it is stopped.
func newMediaClock(ctx context.Context) *mediaClock {
	// One shard per CPU, not per GOMAXPROCS, which internal/procscale
	// lowers to 1 while the load is light.
	c := &mediaClock{shards: make([]*clockShard, runtime.NumCPU())}
	epoch := time.Now()
	for i := range c.shards {
		s := &clockShard{wake: make(chan struct{}, 1), epoch: epoch, sc: newScratch()}
		c.shards[i] = s
		go s.run(ctx)
	}
	return c
}

// add puts p on the clock until its sender's turn reports false. p is
// the clock's until then; a sender keeps its pacer beside its own state
// (the clock reads both at every turn).
func (c *mediaClock) add(p *pacer) {
	s := c.pick()
	s.senders.Add(1)
	s.mu.Lock()
	s.added = append(s.added, p)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pick returns the first shard with room (shardFill), else the one with
// the fewest senders.
func (c *mediaClock) pick() *clockShard {
	best := c.shards[0]
	for _, s := range c.shards {
		n := s.senders.Load()
		if n < shardFill {
			return s
		}
		if n < best.senders.Load() {
			best = s
		}
	}
	return best
}

// clockShard drives its share of the senders from one goroutine.
type clockShard struct {
	wake    chan struct{}
	senders atomic.Int32 // on the shard, joined or not

	mu    sync.Mutex
	added []*pacer // waiting to join the heap

	// Owned by run.
	due   pacerHeap
	epoch time.Time // clock time 0
	seq   uint64    // the last key's tie-breaker
	sc    *scratch  // lent to each sender for its turn
}

func (s *clockShard) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer func() {
		timer.Stop()
		s.join(time.Since(s.epoch))
		for _, e := range s.due {
			e.p.s.leave()
		}
	}()
	for {
		var wait <-chan time.Time // nil: nothing to send, sleep until woken
		if len(s.due) > 0 {
			timer.Reset(s.due[0].at - time.Since(s.epoch))
			wait = timer.C
		}
		select {
		case <-s.wake:
			s.join(time.Since(s.epoch))
		case now := <-wait:
			s.sendDue(now.Sub(s.epoch))
		case <-ctx.Done():
			return
		}
	}
}

// join puts newly added senders on the heap, their first packet due on
// the grid; now is clock time.
func (s *clockShard) join(now time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.added {
		p.due = onGrid(now)
		heap.Push(&s.due, s.key(p))
	}
	clear(s.added)
	s.added = s.added[:0]
}

// sendDue gives every sender due by now (clock time, within clockSlack)
// and drops those that have ended.
func (s *clockShard) sendDue(now time.Duration) {
	for len(s.due) > 0 && s.due[0].at-now <= clockSlack {
		p := s.due[0].p
		if p.step(now, s.sc) {
			s.due[0] = s.key(p)
			heap.Fix(&s.due, 0)
		} else {
			heap.Pop(&s.due)
			s.senders.Add(-1)
		}
	}
}

// key returns p's heap entry for its next packet. Senders due at the same
// time keep the order in which they were last served, so each keeps its
// place in the shard's burst and its packets their spacing.
func (s *clockShard) key(p *pacer) dueKey {
	s.seq++
	return dueKey{at: p.due, seq: s.seq, p: p}
}

// dueKey is a sender's place in the heap. The heap compares only keys,
// which lie side by side in its array: ordering a thousand senders reads no
// sender, whose memory a packet time later is no longer in the CPU's cache.
type dueKey struct {
	at  time.Duration // p.due
	seq uint64        // tie-breaker: the order of the last (re)keying
	p   *pacer
}

// pacerHeap orders senders by when their next packet is due.
type pacerHeap []dueKey

func (h pacerHeap) Len() int { return len(h) }
func (h pacerHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}
func (h pacerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pacerHeap) Push(x any)   { *h = append(*h, x.(dueKey)) }
func (h *pacerHeap) Pop() any {
	old := *h
	k := old[len(old)-1]
	old[len(old)-1] = dueKey{}
	*h = old[:len(old)-1]
	return k
}

// A sender is what the clock paces: one call's RTP. Its methods run on
// the clock's goroutine.
type sender interface {
	// turn sends the sender's packet, using sc for scratch memory, and
	// reports whether the sender stays on the clock.
	turn(sc *scratch) bool
	// period is the time between two packets, read again after each.
	period() time.Duration
	// leave is called once, when the sender leaves the clock: its turn
	// reported false, or the clock stopped.
	leave()
}

// pacer is one sender on the clock.
type pacer struct {
	s   sender
	due time.Duration // when the next packet is due, in clock time
}

// onGrid returns the first instant after t on the clock's grid.
func onGrid(t time.Duration) time.Duration { return t.Truncate(clockGrid) + clockGrid }

// step gives the sender its turn if its packet is due at now (clock time)
// and reports whether it is still on the clock.
func (p *pacer) step(now time.Duration, sc *scratch) bool {
	// A packet due within clockSlack is sent now; a sender that fell behind
	// (a busy machine wakes the clock late) catches up by up to maxCatchUp
	// packets at once, so the stream keeps its rate.
	for sent := 0; p.due-now <= clockSlack && sent < maxCatchUp; sent++ {
		if !p.s.turn(sc) {
			p.s.leave()
			return false
		}
		p.due += p.s.period()
	}
	if period := p.s.period(); now-p.due > 3*period {
		// Far behind (the machine stalled): resume the pace on the grid
		// rather than send a burst.
		p.due = onGrid(now)
	}
	return true
}
