package phone

import (
	"net/netip"
	"testing"
	"time"
)

func TestRingLimitsPerSource(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name      string
		perSecond int
		calls     []netip.Addr
		at        []time.Duration // since t0, one per call
		want      []bool
		wantRetry int // Retry-After of the last call, when refused
	}{
		{"a second's worth at once, then refused", 3,
			[]netip.Addr{a, a, a, a}, []time.Duration{0, 0, 0, 0}, []bool{true, true, true, false}, 1},
		{"sources have buckets of their own", 2,
			[]netip.Addr{a, a, b, b, a}, []time.Duration{0, 0, 0, 0, 0}, []bool{true, true, true, true, false}, 1},
		{"the bucket refills at the rate", 2,
			[]netip.Addr{a, a, a, a}, []time.Duration{0, 0, 10 * time.Millisecond, 600 * time.Millisecond}, []bool{true, true, false, true}, 0},
		{"a slow rate asks for a longer wait", 1,
			[]netip.Addr{a, a}, []time.Duration{0, 100 * time.Millisecond}, []bool{true, false}, 1},
		{"0 is no limit", 0,
			[]netip.Addr{a, a, a}, []time.Duration{0, 0, 0}, []bool{true, true, true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newRingLimits(tt.perSecond)
			var wait time.Duration
			for i, src := range tt.calls {
				var ok bool
				ok, wait = l.allow(src, t0.Add(tt.at[i]))
				if ok != tt.want[i] {
					t.Fatalf("call %d from %v at +%v: allowed %v, want %v", i, src, tt.at[i], ok, tt.want[i])
				}
			}
			if !tt.want[len(tt.want)-1] {
				if got := retryAfter(wait); got != tt.wantRetry {
					t.Errorf("Retry-After %d (wait %v), want %d", got, wait, tt.wantRetry)
				}
			}
		})
	}
}

// TestRingLimitsBounded: a flood from many addresses keeps at most
// maxSources buckets; the quiet ones are forgotten.
func TestRingLimitsBounded(t *testing.T) {
	l := newRingLimits(5)
	t0 := time.Unix(1000, 0)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range maxSources {
		l.allow(addr(i), t0)
	}
	if ok, _ := l.allow(addr(maxSources), t0); ok {
		t.Error("a new source allowed while the table is full of busy ones")
	}
	// A second later every bucket is full again: they are forgotten.
	if ok, _ := l.allow(addr(maxSources), t0.Add(time.Second)); !ok {
		t.Error("a new source refused once the others went quiet")
	}
	if n := len(l.sources); n != 1 {
		t.Errorf("%d sources kept, want 1", n)
	}
}

func TestRefusalLogsOncePerPeriod(t *testing.T) {
	l := newRingLimits(1)
	t0 := time.Unix(1000, 0)
	var logged []int
	for i := range 25 {
		if n, ok := l.refusal(t0.Add(time.Duration(i) * time.Second)); ok {
			logged = append(logged, n)
		}
	}
	if want := []int{1, 10, 10}; len(logged) != 3 || logged[0] != want[0] || logged[1] != want[1] || logged[2] != want[2] {
		t.Errorf("logged %v, want %v", logged, want)
	}
}
