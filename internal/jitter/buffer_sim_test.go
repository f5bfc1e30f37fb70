package jitter

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// simulate plays a 20 ms stream through the buffer for turns packet times:
// clean, then from onset on with loss and 0-maxDelay ms random delays. It
// returns the longest run of Missing playouts and the number of None
// playouts after playout started, the longest burst of losses, and the
// buffer. Packets are pushed at the turn after they arrive, as the media
// clock drains a socket, and the jitter estimate is RFC 3550's, as rxStats
// keeps it.
func simulate(seed uint64, turns, onset int, loss float64, maxDelay float64) (longest, nones, burst int, b *Buffer) {
	rng := rand.New(rand.NewPCG(seed, 1))
	type arr struct {
		at  float64
		seq uint16
	}
	var arrivals []arr
	cur := 0
	for i := range turns {
		sent := float64(i) * 20
		d := 0.0
		if i >= onset {
			if rng.Float64() < loss {
				if cur++; cur > burst {
					burst = cur
				}
				continue
			}
			d = rng.Float64() * maxDelay
			cur = 0
		}
		arrivals = append(arrivals, arr{sent + d + 0.3, uint16(i)})
	}
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].at < arrivals[j].at })
	b = New()
	var jit, lastTransit float64
	first := true
	k, run, started := 0, 0, false
	buf := make([]byte, slotBytes)
	for turn := range turns + 20 {
		now := float64(turn)*20 + 5 // the turn runs 5 ms into the packet time
		pushed := false
		for k < len(arrivals) && arrivals[k].at <= now {
			a := arrivals[k]
			k++
			transit := now - float64(a.seq)*20
			if !first {
				jit += (math.Abs(transit-lastTransit) - jit) / 16
			}
			first, lastTransit = false, transit
			b.Push(a.seq, 0, []byte{1})
			pushed = true
		}
		if pushed {
			b.SetJitter(jit / 20)
		}
		_, _, kind := b.Pop(buf)
		if turn >= turns {
			break // the stream ended: the buffer runs dry
		}
		switch kind {
		case Packet:
			started, run = true, 0
		case Missing:
			if run++; run > longest {
				longest = run
			}
		case None:
			if started {
				nones++
			}
		}
	}
	return longest, nones, burst, b
}

// TestBufferUnderLossAndJitter plays 200 streams of 20 s, clean for 5 s,
// then with 5 % random loss and 0-40 ms random delays (TestJitterAndRTCP's
// relay, without the machine's noise): the concealment runs no longer than
// 100 ms (five packets: the concealer covers them without silence) unless
// five packets in a row are lost, and playout, once started, never stops.
func TestBufferUnderLossAndJitter(t *testing.T) {
	t.Parallel()
	worst := 0
	for seed := range uint64(200) {
		l, n, burst, b := simulate(seed, 1000, 250, 0.05, 40)
		if l > worst {
			worst = l
		}
		if l > 5 && burst < 5 || n > 0 {
			late, conc, drop := b.Stats()
			t.Errorf("seed %d: longest concealment %d playouts, %d silent; late %d concealed %d dropped %d", seed, l, n, late, conc, drop)
		}
	}
	t.Logf("worst concealment run %d", worst)
}
