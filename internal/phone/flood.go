package phone

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxSources bounds how many source addresses ringLimits tracks; past it
// the ones whose bucket is full again (quiet for a second) are forgotten.
const maxSources = 4096

// ringLimits is the per-source bound of the incoming calls that ring:
// at most maxRingRate new ones per second from one source address, past
// it 503 Service Unavailable with Retry-After (RFC 3261 §21.5.4).
// Phone.addIncoming keeps the other bound, maxRingingCalls at once (486
// Busy Here past it, as for maxConcurrentCalls and pjsua's max_calls).
// Together they keep a flood of INVITEs from unknown callers from piling
// up calls, each with its media ports, goroutines and events.
//
// 503 rather than silence: over UDP an INVITE left unanswered is sent
// again by the caller's transaction (Timer A, up to 7 times in 32 s), so
// dropping it multiplies the load instead of shedding it, and a proxy in
// front of the phone learns from 503 and Retry-After to back off or try
// another target; Asterisk's PJSIP distributor also answers 503 when
// overloaded.
type ringLimits struct {
	rate  rate.Limit
	burst int

	mu        sync.Mutex
	sources   map[netip.Addr]*rate.Limiter
	swept     time.Time
	refused   int       // refusals not yet logged
	lastLog   time.Time // when refusals were last logged
	logPeriod time.Duration
}

// newRingLimits returns the per-source limit of perSecond calls (0: none).
func newRingLimits(perSecond int) *ringLimits {
	return &ringLimits{
		rate:      rate.Limit(perSecond),
		burst:     perSecond,
		sources:   make(map[netip.Addr]*rate.Limiter),
		logPeriod: 10 * time.Second,
	}
}

// allow takes a token of src's bucket; when there is none it returns
// false and how long until there is one.
func (l *ringLimits) allow(src netip.Addr, now time.Time) (bool, time.Duration) {
	if l.burst <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.sources[src]
	if !ok {
		if len(l.sources) >= maxSources && now.Sub(l.swept) >= time.Second {
			l.sweep(now)
		}
		if len(l.sources) >= maxSources {
			return false, time.Second // a flood from more addresses than that
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.sources[src] = lim
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration((1 - lim.TokensAt(now)) / float64(l.rate) * float64(time.Second))
	return false, wait
}

// sweep forgets the sources whose bucket is full: they behave as new ones.
func (l *ringLimits) sweep(now time.Time) {
	l.swept = now
	for src, lim := range l.sources {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.sources, src)
		}
	}
}

// refusal notes a refused INVITE and reports whether to log now, with how
// many were refused since the last line: a flood logs a line per
// logPeriod, not one per INVITE.
func (l *ringLimits) refusal(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused++
	if now.Sub(l.lastLog) < l.logPeriod {
		return 0, false
	}
	n := l.refused
	l.refused, l.lastLog = 0, now
	return n, true
}

// retryAfter is the Retry-After value, in whole seconds (at least 1), for
// a wait.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
