package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/testutil"
)

// scrape GETs the handler's page and parses it as the Prometheus text
// exposition format.
func scrape(t *testing.T, h http.Handler) testutil.Metrics {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return testutil.ParseMetrics(t, res.Body)
}

func TestMetricsFromEvents(t *testing.T) {
	bus := events.NewBus(3)
	m := New(Sources{Bus: bus, ActiveCalls: func() int { return 2 },
		RTP: func() (int64, int64, int64) { return 500, 480, 3 }})
	t0 := time.Now()
	for _, e := range []events.Event{
		{Type: events.CallIncoming, Call: "1", Direction: "incoming", Time: t0},
		{Type: events.CallAnswered, Call: "1", Direction: "incoming", Time: t0.Add(30 * time.Millisecond)},
		{Type: events.DTMFReceived, Call: "1", Digit: "5"},
		{Type: events.CallEnded, Call: "1", Direction: "incoming", Code: 200},
		{Type: events.CallOutgoing, Call: "2", Direction: "outgoing", Time: t0},
		{Type: events.CallEnded, Call: "2", Direction: "outgoing", Code: 486},
		{Type: events.CallIncoming, Call: "3", Direction: "incoming", Time: t0},
		{Type: events.CallEnded, Call: "3", Direction: "incoming", Code: 200},
		{Type: events.RegistrationOK, Account: "1"},
		{Type: events.RegistrationOK, Account: "2"},
		{Type: events.RegistrationFailed, Account: "2", Code: 403},
	} {
		m.count(bus.Publish(e))
	}
	// A client that fell behind the ring of 3 gets a gap.
	sub := bus.Subscribe(0)
	if e, _ := sub.Next(context.Background()); e.Type != events.Gap {
		t.Fatalf("expected a gap, got %+v", e)
	}
	m.HookRun("cmdCallEnd", "failed")
	m.HookRun("cmdCallEnd", "ok")
	m.HookRun("cmdCallEnd", "ok")
	m.SIPRequest("INVITE")
	m.SIPRequest("INVITE")
	m.SIPResponse(200)

	fams := scrape(t, m.Handler())
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"gophone_calls_total", []string{"direction", "incoming", "code", "200"}, 2},
		{"gophone_calls_total", []string{"direction", "outgoing", "code", "486"}, 1},
		{"gophone_calls_active", nil, 2},
		{"gophone_call_setup_seconds", nil, 1}, // only call 1 was answered
		{"gophone_dtmf_digits_total", nil, 1},
		{"gophone_registered", []string{"account", "1"}, 1},
		{"gophone_registered", []string{"account", "2"}, 0},
		{"gophone_hook_runs_total", []string{"hook", "cmdCallEnd", "outcome", "failed"}, 1},
		{"gophone_hook_runs_total", []string{"hook", "cmdCallEnd", "outcome", "ok"}, 2},
		{"gophone_event_gaps_total", nil, 1},
		{"gophone_rtp_packets_total", []string{"dir", "out"}, 500},
		{"gophone_rtp_packets_total", []string{"dir", "in"}, 480},
		{"gophone_rtp_lost_packets_total", nil, 3},
		{"gophone_sip_requests_total", []string{"method", "INVITE"}, 2},
		{"gophone_sip_responses_total", []string{"code", "200"}, 1},
	}
	for _, tt := range tests {
		if got := fams.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	h := fams["gophone_call_setup_seconds"].Metric[0].Histogram
	if s := h.GetSampleSum(); s < 0.029 || s > 0.031 {
		t.Errorf("setup time sum %v s, want 0.03", s)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("runtime metric %s missing", name)
		}
	}
}

func TestRunFollowsTheBus(t *testing.T) {
	bus := events.NewBus(100)
	m := New(Sources{Bus: bus})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	bus.Publish(events.Event{Type: events.CallEnded, Direction: "incoming", Code: 603})
	deadline := time.Now().Add(10 * time.Second)
	for scrape(t, m.Handler()).Value("gophone_calls_total", "code", "603") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the call.ended event was not counted")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	cancel()
	<-done
}
