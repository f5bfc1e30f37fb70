package sipua

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/emiago/diago"
)

// TestEndedCallReleasesMedia: once a call has ended and nobody holds its
// Call, its media session (sockets' buffers, RTP session, codecs) is
// garbage, on both sides: not kept for the 32 s sipgo keeps a completed
// INVITE transaction (Timer L/M, RFC 6026) by the closures the dialog
// registered on it.
func TestEndedCallReleasesMedia(t *testing.T) {
	released := make(chan string, 2)
	watch := func(name string, c *Call) {
		c.mu.Lock()
		med := c.med
		c.mu.Unlock()
		if med == nil {
			t.Fatalf("%s has no media", name)
		}
		runtime.SetFinalizer(med, func(*diago.DialogMedia) { released <- name })
	}
	func() {
		caller, callee := establishedCalls(t, func(*Call, Event) {})
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
	for len(got) < 2 && time.Now().Before(deadline) {
		runtime.GC()
		select {
		case name := <-released:
			got[name] = true
		case <-time.After(200 * time.Millisecond): // polling interval
		}
	}
	if len(got) < 2 {
		t.Errorf("media sessions released after the call ended: %v; want caller and callee", got)
	}
}
