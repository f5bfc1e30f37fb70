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
// registered on it. The callee's SIP dialog (sipgo's, with its copy of the
// INVITE) and the INVITE it received are garbage too (retrans.go): the
// transaction sipgo keeps until Timer L holds neither.
func TestEndedCallReleasesMedia(t *testing.T) {
	released := make(chan string, 6)
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
	want := 6
	func() {
		caller, callee := callPair(t, Config{}, Config{}, func(*Call, Event) {})
		watch("caller", caller)
		watch("callee", callee)
		callee.mu.Lock()
		dialog := callee.srv.DialogServerSession
		callee.mu.Unlock()
		runtime.AddCleanup(dialog, func(what string) { released <- what }, "callee dialog")
		// The INVITE's headers: the request itself stays with the
		// transaction, emptied.
		runtime.AddCleanup(callee.inviteReq.From(), func(what string) { released <- what }, "callee INVITE From")
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
	for len(got) < want && time.Now().Before(deadline) {
		runtime.GC()
		select {
		case name := <-released:
			got[name] = true
		case <-time.After(200 * time.Millisecond): // polling interval
		}
	}
	if len(got) < want {
		t.Errorf("released after the call ended: %v; want both sides' call and media, the callee's dialog and INVITE", got)
	}
}
