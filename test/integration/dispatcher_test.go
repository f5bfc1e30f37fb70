package integration

import (
	"strconv"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestKamailioDispatcher: Kamailio with the repository's dispatcher
// deployment (deploy/kamailio-dispatcher.cfg) in front of three
// auto-answering daemons. 300 SIPp calls through it are spread over all
// three; with one daemon killed, the next 100 calls all succeed on the
// other two.
func TestKamailioDispatcher(t *testing.T) {
	var ds [3]*testutil.Daemon
	var streams [3]*testutil.EventStream
	dests := make([]string, len(ds))
	for i := range ds {
		ds[i] = startDaemon(t, "[Settings]\nautoAnswer=all\n")
		streams[i] = ds[i].Events(t)
		dests[i] = ds[i].SIPAddr()
	}
	k := testutil.StartDispatcher(t, time.Second, dests...)

	// ACK and BYE follow the Record-Route set through Kamailio.
	load := scenario(t, "uac_via_proxy.xml")
	calls := func(n int) testutil.SIPpResult {
		t.Helper()
		uac := testutil.NewSIPp(t, load)
		return uac.Run(k.Addr(), 180*time.Second, "-m", strconv.Itoa(n), "-r", "20", "-l", "20", "-s", "1001")
	}
	// answered counts the calls each daemon answered, once all n are in.
	answered := func(n int) [3]int {
		t.Helper()
		var got [3]int
		deadline := time.Now().Add(eventWait)
		for {
			sum := 0
			for i, s := range streams {
				got[i] = 0
				for _, e := range s.All() {
					if e.Type == "call.established" {
						got[i]++
					}
				}
				sum += got[i]
			}
			if sum >= n || time.Now().After(deadline) {
				return got
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}

	r := calls(300)
	wantSIPpOK(t, "300 calls through kamailio", r)
	if got := r.Stat("SuccessfulCall(C)"); got != "300" {
		t.Fatalf("SIPp successful calls: %q of 300\n%s", got, r)
	}
	spread := answered(300)
	t.Logf("300 calls: per daemon %v", spread)
	for i, n := range spread {
		if n < 60 || n > 140 {
			t.Errorf("daemon %d answered %d of 300 calls, want 60-140 (spread %v)", i+1, n, spread)
		}
	}

	ds[2].Kill()
	r = calls(100)
	wantSIPpOK(t, "100 calls with a daemon down", r)
	if got := r.Stat("SuccessfulCall(C)"); got != "100" {
		t.Fatalf("SIPp successful calls with a daemon down: %q of 100\n%s", got, r)
	}
	after := answered(400) // daemon 3's stream keeps the calls it had
	t.Logf("100 more calls with daemon 3 killed: per daemon %v", after)
	if more := after[0] + after[1] - spread[0] - spread[1]; more != 100 {
		t.Errorf("daemons 1 and 2 answered %d of the 100 calls after daemon 3 died (before %v, after %v)", more, spread, after)
	}
}
