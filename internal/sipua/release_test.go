package sipua

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestEndedCallReleasesMedia: once a call has ended and nobody holds its
// Call, the Call (with its media loop) and its media session (RTP session,
// buffers, codecs) are garbage, on both sides: not kept for the 32 s sipgo keeps a completed
// INVITE transaction (Timer L/M, RFC 6026) by the closures the dialog
// registered on it.
func TestEndedCallReleasesMedia(t *testing.T) {
	released := make(chan string, 4)
	watch := func(name string, c *Call) {
		c.mu.Lock()
		med := c.med
		c.mu.Unlock()
		if med == nil {
			t.Fatalf("%s has no media", name)
		}
		// Cleanups, not finalizers: a Call and its media loop point at each
		// other, and a cycle holding a finalizer is never collected.
		note := func(what string) { released <- what }
		runtime.AddCleanup(med, note, name+" media")
		runtime.AddCleanup(c, note, name+" call")
	}
	func() {
		caller, callee := callPair(t, Config{}, Config{}, func(*Call, Event) {})
		watch("caller", caller)
		watch("callee", callee)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := caller.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*Call{caller, callee} {
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("call did not end")
			}
		}
	}()
	// Well within sipgo's 32 s: the media must not wait for the transaction.
	deadline := time.Now().Add(10 * time.Second)
	got := map[string]bool{}
	for len(got) < 4 && time.Now().Before(deadline) {
		runtime.GC()
		select {
		case name := <-released:
			got[name] = true
		case <-time.After(200 * time.Millisecond): // polling interval
		}
	}
	if len(got) < 4 {
		t.Errorf("released after the call ended: %v; want both sides' call and media", got)
	}
}
