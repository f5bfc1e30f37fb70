package integration

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestMetricsUnderLoad: 500 SIPp calls into an auto-answering daemon; its
// GET /metrics (on the HTTP API, behind the token) counts what SIPp saw,
// the setup histogram holds one observation per call, and the page parses
// as the exposition format, and every cmdCallEnd hook run is counted as
// ok (successes too, not only failures). Without the token it is 401.
func TestMetricsUnderLoad(t *testing.T) {
	const calls = 500
	d := startDaemon(t, "[Settings]\nautoAnswer=all\ncmdCallEnd=true\n")
	api := d.API(t)
	if r := testutil.NewAPI(d.HTTPAddr(), "").Do(t, "GET", "/metrics", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /metrics without the token: %s, want 401", r)
	}

	load, err := filepath.Abs(filepath.Join("..", "..", "bench", "scenarios", "uac_load.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// At most 15 calls at once: the daemon's 40 RTP ports (testutil) hold 20.
	r := testutil.NewSIPp(t, load).Run(d.SIPAddr(), 300*time.Second,
		"-m", strconv.Itoa(calls), "-r", "50", "-l", "15", "-d", "100", "-s", "1001")
	ok, _ := strconv.Atoi(r.Stat("SuccessfulCall(C)"))
	failed, _ := strconv.Atoi(r.Stat("FailedCall(C)"))
	if ok+failed != calls {
		t.Fatalf("SIPp: %d successful + %d failed calls, want %d in all\n%s", ok, failed, calls, r)
	}

	// The metrics follow the bus: wait until every call.ended is counted.
	var fams testutil.Metrics
	deadline := time.Now().Add(eventWait)
	for {
		fams = scrapeMetrics(t, api)
		if fams.Sum("gophone_calls_total") >= float64(calls) && fams.Sum("gophone_hook_runs_total") >= float64(calls) ||
			time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if got := fams.Value("gophone_calls_total", "direction", "incoming", "code", "200"); got != float64(ok) {
		t.Errorf("gophone_calls_total{incoming,200} = %v, SIPp saw %d successful calls; all: %v",
			got, ok, fams["gophone_calls_total"])
	}
	if got := fams.Sum("gophone_calls_total"); got != calls {
		t.Errorf("gophone_calls_total over all codes = %v, want %d", got, calls)
	}
	if got := fams.Value("gophone_call_setup_seconds"); got != calls {
		t.Errorf("gophone_call_setup_seconds holds %v observations, want %d", got, calls)
	}
	for _, method := range []string{"INVITE", "ACK", "BYE"} {
		if got := fams.Value("gophone_sip_requests_total", "method", method); got != calls {
			t.Errorf("gophone_sip_requests_total{method=%s} = %v, want %d", method, got, calls)
		}
	}
	if got := fams.Value("gophone_sip_responses_total", "code", "200"); got != 2*calls {
		t.Errorf("gophone_sip_responses_total{code=200} = %v, want %d (INVITE and BYE)", got, 2*calls)
	}
	if got := fams.Value("gophone_hook_runs_total", "hook", "cmdCallEnd", "outcome", "ok"); got != calls {
		t.Errorf("gophone_hook_runs_total{cmdCallEnd,ok} = %v, want %d; all: %v", got, calls, fams["gophone_hook_runs_total"])
	}
	if got := fams.Value("gophone_calls_active"); got != 0 {
		t.Errorf("gophone_calls_active = %v after the load", got)
	}
	if got := fams.Value("gophone_rtp_packets_total", "dir", "out"); got <= 0 {
		t.Errorf("gophone_rtp_packets_total{dir=out} = %v, want the packets sent", got)
	}
	t.Logf("SIPp %d ok, %d failed; rtp out %v; setup sum %.3f s",
		ok, failed, fams.Value("gophone_rtp_packets_total", "dir", "out"),
		fams["gophone_call_setup_seconds"].Metric[0].Histogram.GetSampleSum())
}

func scrapeMetrics(t *testing.T, api *testutil.API) testutil.Metrics {
	t.Helper()
	r := api.Do(t, "GET", "/metrics", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %s", r)
	}
	return testutil.ParseMetrics(t, bytes.NewReader(r.Body))
}
