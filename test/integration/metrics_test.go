package integration

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/metrics"
	"github.com/gophone/gophone/internal/phone"
	"github.com/gophone/gophone/internal/testutil"
)

// TestMetricsUnderLoad: 500 SIPp calls into an auto-answering phone wired
// to the metrics as the daemon wires them (the HTTP listener that serves
// /metrics is another package's; here the handler is served by httptest).
// The call counters equal what SIPp saw, the setup histogram holds one
// observation per call, and the page parses as the exposition format.
func TestMetricsUnderLoad(t *testing.T) {
	const calls = 500
	cfg := config.Default()
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.DataDir = t.TempDir()
	cfg.AutoAnswer = "all"
	rtp := testutil.FreePortRange(t, 200)
	cfg.RTPPortMin, cfg.RTPPortMax = rtp, rtp+199

	bus := events.NewBus(10000)
	var ph *phone.Phone
	m := metrics.New(metrics.Sources{Bus: bus,
		ActiveCalls: func() int { return ph.ActiveCalls() },
		RTP: func() (int64, int64, int64) {
			r := ph.RTPTotals()
			return r.Sent, r.Received, r.Lost
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ph, err := phone.New(ctx, cfg, bus, nil, slog.New(slog.DiscardHandler), phone.WithSIPObserver(m))
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	go m.Run(ctx)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	load, err := filepath.Abs(filepath.Join("..", "..", "bench", "scenarios", "uac_load.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r := testutil.NewSIPp(t, load).Run(cfg.Listen, 300*time.Second,
		"-m", strconv.Itoa(calls), "-r", "50", "-l", "50", "-d", "100", "-s", "1001")
	ok, _ := strconv.Atoi(r.Stat("SuccessfulCall(C)"))
	failed, _ := strconv.Atoi(r.Stat("FailedCall(C)"))
	if ok+failed != calls {
		t.Fatalf("SIPp: %d successful + %d failed calls, want %d in all\n%s", ok, failed, calls, r)
	}

	// The metrics follow the bus: wait until every call.ended is counted.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(eventWait)
	for {
		fams = scrapeMetrics(t, srv.URL)
		if sumCounter(fams, "gophone_calls_total") >= float64(calls) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if got := metricValue(fams, "gophone_calls_total", "direction", "incoming", "code", "200"); got != float64(ok) {
		t.Errorf("gophone_calls_total{incoming,200} = %v, SIPp saw %d successful calls; all: %v",
			got, ok, fams["gophone_calls_total"])
	}
	if got := sumCounter(fams, "gophone_calls_total"); got != calls {
		t.Errorf("gophone_calls_total over all codes = %v, want %d", got, calls)
	}
	if got := metricValue(fams, "gophone_call_setup_seconds"); got != calls {
		t.Errorf("gophone_call_setup_seconds holds %v observations, want %d", got, calls)
	}
	for _, method := range []string{"INVITE", "ACK", "BYE"} {
		if got := metricValue(fams, "gophone_sip_requests_total", "method", method); got != calls {
			t.Errorf("gophone_sip_requests_total{method=%s} = %v, want %d", method, got, calls)
		}
	}
	if got := metricValue(fams, "gophone_sip_responses_total", "code", "200"); got != 2*calls {
		t.Errorf("gophone_sip_responses_total{code=200} = %v, want %d (INVITE and BYE)", got, 2*calls)
	}
	if got := metricValue(fams, "gophone_calls_active"); got != 0 {
		t.Errorf("gophone_calls_active = %v after the load", got)
	}
	if got := metricValue(fams, "gophone_rtp_packets_total", "dir", "out"); got <= 0 {
		t.Errorf("gophone_rtp_packets_total{dir=out} = %v, want the packets sent", got)
	}
	t.Logf("SIPp %d ok, %d failed; rtp out %v; setup sum %.3f s",
		ok, failed, metricValue(fams, "gophone_rtp_packets_total", "dir", "out"),
		fams["gophone_call_setup_seconds"].Metric[0].Histogram.GetSampleSum())
}

func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus exposition format: %v", err)
	}
	return fams
}

// metricValue returns the value (a histogram's sample count) of the metric
// of family name with the given label pairs, or -1.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func sumCounter(fams map[string]*dto.MetricFamily, name string) float64 {
	var sum float64
	if f, ok := fams[name]; ok {
		for _, m := range f.Metric {
			sum += m.Counter.GetValue()
		}
	}
	return sum
}
