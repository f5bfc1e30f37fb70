package sipua

import (
	"testing"
	"time"
)

// testSender counts the turns it is given and ends after limit of them
// (never, if limit is 0) or once ended is set.
type testSender struct {
	every  time.Duration
	limit  int
	sent   int
	ended  bool
	left   bool
	onTurn func()
}

func (s *testSender) turn(*scratch) bool {
	if s.ended || s.limit > 0 && s.sent == s.limit {
		return false
	}
	s.sent++
	if s.onTurn != nil {
		s.onTurn()
	}
	return true
}

func (s *testSender) period() time.Duration { return s.every }
func (s *testSender) leave()                { s.left = true }

// testPacer is a pacer as the clock joins it at start, with a testSender.
func testPacer(period time.Duration, limit int, start time.Duration) (*pacer, *testSender) {
	s := &testSender{every: period, limit: limit}
	return &pacer{s: s, due: onGrid(start)}, s
}

func TestPacerStep(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name   string
		period time.Duration
		ticks  []int // tick times in ms of clock time (0 is on the grid)
		want   int   // packets sent
	}{
		{"first packet on the grid", 20 * time.Millisecond, []int{7, 20, 40, 60}, 3},
		{"20 ms on time", 20 * time.Millisecond, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 5},
		{"ticks a little early", 20 * time.Millisecond, []int{0, 9, 19, 29, 39, 49, 59, 69, 79, 89, 99}, 5},
		{"40 ms ptime", 40 * time.Millisecond, []int{0, 10, 20, 30, 40, 50, 60, 70, 80}, 2},
		{"10 ms ptime", 10 * time.Millisecond, []int{0, 10, 20, 30, 40, 50}, 4}, // from 20 ms on
		{"skipped ticks are caught up", 20 * time.Millisecond, []int{0, 10, 20, 70, 80, 90, 100}, 5},
		{"a stall is not sent as a burst", 20 * time.Millisecond, []int{0, 1000, 1010, 1020}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := testPacer(tc.period, 0, ms(tc.ticks[0]))
			for _, at := range tc.ticks {
				if !p.step(ms(at), nil) {
					t.Fatalf("step at %d ms: pacer ended", at)
				}
			}
			if s.sent != tc.want {
				t.Errorf("sent %d packets, want %d", s.sent, tc.want)
			}
		})
	}
}

func TestPacerEnds(t *testing.T) {
	p, s := testPacer(20*time.Millisecond, 0, 0)
	p.step(0, nil)
	s.ended = true
	if p.step(20*time.Millisecond, nil) || !s.left {
		t.Error("an ended sender stays on the clock")
	}

	p, s = testPacer(20*time.Millisecond, 2, 0)
	for i := range 5 {
		if !p.step(time.Duration(i)*20*time.Millisecond, nil) {
			break
		}
	}
	if s.sent != 2 || !s.left {
		t.Errorf("a sender whose turn reported false: sent %d, left %v; want 2, true", s.sent, s.left)
	}
}

func TestClockPick(t *testing.T) {
	c := &mediaClock{shards: []*clockShard{{}, {}, {}}}
	load := func(n ...int32) {
		for i, s := range c.shards {
			s.senders.Store(n[i])
		}
	}
	for _, tc := range []struct {
		name string
		load []int32
		want int
	}{
		{"idle: the first", []int32{0, 0, 0}, 0},
		{"first has room", []int32{shardFill - 1, 0, 0}, 0},
		{"first full: the next", []int32{shardFill, 0, 0}, 1},
		{"all full: the least loaded", []int32{shardFill + 3, shardFill + 1, shardFill + 2}, 1},
	} {
		load(tc.load...)
		if got := c.pick(); got != c.shards[tc.want] {
			t.Errorf("%s: picked another shard than %d", tc.name, tc.want)
		}
	}
}

// TestShardOrder checks that senders due together are served in the same
// order every packet time, so each stream keeps its spacing: the heap's
// tie-breaker, not the heap's arbitrary order among equal keys, decides.
func TestShardOrder(t *testing.T) {
	var t0 time.Duration
	sh := &clockShard{}
	var order []int
	for i := range 50 {
		p, s := testPacer(framePeriod, 0, t0)
		s.onTurn = func() { order = append(order, i) }
		sh.added = append(sh.added, p)
	}
	sh.join(t0)
	var first []int
	for pass := 1; pass <= 5; pass++ {
		order = order[:0]
		sh.sendDue(onGrid(t0) + time.Duration(pass-1)*framePeriod)
		if len(order) != 50 {
			t.Fatalf("pass %d served %d senders, want 50", pass, len(order))
		}
		if first == nil {
			first = append([]int(nil), order...)
			continue
		}
		for i := range order {
			if order[i] != first[i] {
				t.Fatalf("pass %d served the senders in another order:\n%v\nfirst pass:\n%v", pass, order, first)
			}
		}
	}
}
