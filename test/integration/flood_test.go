package integration

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestInviteFloodBounded: SIPp floods a daemon that does not auto-answer
// with INVITEs nobody answers (600 at 100/s from one address). The calls
// ringing at once never exceed maxRingingCalls; every INVITE gets a final
// answer: 487 when a call that rang is given up (its Expires), 486 past
// the ringing cap, 503 with Retry-After past the address's rate; refused
// INVITEs leave no call and no event; goroutines and heap stay bounded
// during the flood and come back after it. (Auto-answered calls are not
// held to these bounds: TestMetricsUnderLoad's 50 calls/s from one address
// all succeed under the defaults.)
func TestInviteFloodBounded(t *testing.T) {
	const (
		invites    = 600
		maxRinging = 10
		maxRate    = 5
	)
	d := startDaemon(t, fmt.Sprintf("[Settings]\nmaxRingingCalls=%d\nmaxRingRate=%d\n", maxRinging, maxRate))
	ev := d.Events(t)
	api := d.API(t)
	before := runtimeStats(t, d)

	uac := testutil.NewSIPp(t, scenario(t, "uac_invite_flood.xml"))
	done := make(chan testutil.SIPpResult, 1)
	go func() {
		done <- uac.Run(d.SIPAddr(), 120*time.Second, "-m", fmt.Sprint(invites), "-r", "100", "-l", "1000", "-s", "1001")
	}()
	// While SIPp floods: the most calls seen ringing, and the runtime
	// figures mid-flood.
	most := 0
	var during daemonRuntime
	var r testutil.SIPpResult
	for start, sampled := time.Now(), false; ; {
		select {
		case r = <-done:
		default:
			var st testutil.Status
			if err := json.Unmarshal(api.Do(t, "GET", "/v1/status", nil).Result, &st); err != nil {
				t.Fatal(err)
			}
			ringing := 0
			for _, c := range st.Calls {
				if c.State == "ringing" {
					ringing++
				}
			}
			most = max(most, ringing)
			if !sampled && time.Since(start) > 3*time.Second {
				during, sampled = runtimeStats(t, d), true
			}
			time.Sleep(20 * time.Millisecond) // polling interval
			continue
		}
		break
	}
	wantSIPpOK(t, "uac_invite_flood.xml", r)
	if got := r.Stat("SuccessfulCall(C)"); got != fmt.Sprint(invites) {
		t.Errorf("SIPp: %s INVITEs answered as expected, want %d\n%s", got, invites, lastLines(r.Messages, 30))
	}

	// Every admitted call rang and was given up: count them from the events.
	var fams testutil.Metrics
	deadline := time.Now().Add(eventWait)
	for {
		fams = scrapeMetrics(t, api)
		answered := fams.Value("gophone_sip_responses_total", "code", "486") +
			fams.Value("gophone_sip_responses_total", "code", "503") +
			fams.Value("gophone_sip_responses_total", "code", "487")
		if answered >= invites || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	busy := fams.Value("gophone_sip_responses_total", "code", "486")
	unavailable := fams.Value("gophone_sip_responses_total", "code", "503")
	givenUp := fams.Value("gophone_sip_responses_total", "code", "487")
	t.Logf("%d INVITEs: %v rang and were given up (487), %v refused 486, %v refused 503; at most %d ringing at once", invites, givenUp, busy, unavailable, most)
	if busy+unavailable+givenUp != invites {
		t.Errorf("final answers 486 %v + 503 %v + 487 %v, want %d in all", busy, unavailable, givenUp, invites)
	}
	if busy == 0 || unavailable == 0 {
		t.Errorf("486 %v, 503 %v: want both bounds to have refused some", busy, unavailable)
	}
	// maxRingRate: a bucket of maxRate, refilled at maxRate/s, over the ~6 s flood.
	if limit := float64(maxRate + maxRate*8); givenUp > limit {
		t.Errorf("%v calls rang, more than the address's rate allows (%v)", givenUp, limit)
	}

	incoming := 0
	for _, e := range ev.All() {
		if e.Type == "call.incoming" {
			incoming++
		}
	}
	if most > maxRinging {
		t.Errorf("%d calls rang at once, want at most maxRingingCalls=%d", most, maxRinging)
	}
	if float64(incoming) != givenUp {
		t.Errorf("%d call.incoming events, want one per call that rang (%v): refused INVITEs make none", incoming, givenUp)
	}
	t.Logf("goroutines %d before, %d mid-flood; heap %d kB before, %d kB mid-flood",
		before.Goroutines, during.Goroutines, before.HeapInUse>>10, during.HeapInUse>>10)
	if during.Goroutines > before.Goroutines+maxRinging*20 {
		t.Errorf("%d goroutines mid-flood, %d before: not bounded by the ringing calls", during.Goroutines, before.Goroutines)
	}
	if during.HeapInUse > before.HeapInUse+16<<20 {
		t.Errorf("heap in use %d kB mid-flood, %d kB before", during.HeapInUse>>10, before.HeapInUse>>10)
	}
	if n := len(d.Status(t).Calls); n != 0 {
		t.Errorf("%d calls left after the flood", n)
	}
}

// daemonRuntime is what `gophone debug` reports.
type daemonRuntime struct {
	Goroutines int    `json:"goroutines"`
	HeapInUse  uint64 `json:"heapInUse"`
}

func runtimeStats(t *testing.T, d *testutil.Daemon) daemonRuntime {
	t.Helper()
	var s daemonRuntime
	if err := json.Unmarshal([]byte(d.MustRun(t, "debug", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}
