// Package metrics keeps gophone's Prometheus metrics (gophone_* names,
// DESIGN §5) in a registry of their own and serves them in the exposition
// format. Calls, DTMF and registrations are counted from the event bus,
// hook runs from the hooks runner (HookRun); calls in progress, RTP and
// event gaps are read at scrape time from counters the phone and the bus
// keep anyway, so the media path does no work for metrics.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gophone/gophone/internal/events"
)

// Sources are what the metrics read at scrape time.
type Sources struct {
	// Bus is the event bus: calls, DTMF and registrations are counted from its events, and its gap count is read.
	Bus *events.Bus
	// ActiveCalls returns the number of calls in progress (nil: 0).
	ActiveCalls func() int
	// RTP returns the RTP packets sent and received and the received
	// ones lost, since start (nil: 0).
	RTP func() (sent, received, lost int64)
}

// setupBuckets are gophone_call_setup_seconds' buckets, INVITE to answer:
// from an auto-answer's milliseconds to a person's half minute.
var setupBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics is gophone's registry and the collectors the events feed.
type Metrics struct {
	reg          *prometheus.Registry
	src          Sources
	callsTotal   *prometheus.CounterVec
	setup        prometheus.Histogram
	sipRequests  *prometheus.CounterVec
	sipResponses *prometheus.CounterVec
	dtmf         prometheus.Counter
	hookRuns     *prometheus.CounterVec
	registered   *prometheus.GaugeVec

	mu      sync.Mutex
	started map[string]time.Time // call id → its call.incoming/outgoing time
}

// New registers gophone's metrics and the Go runtime and process
// collectors in a new registry.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		src: src,
		callsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gophone_calls_total", Help: "Calls ended, by direction and SIP end code.",
		}, []string{"direction", "code"}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gophone_call_setup_seconds", Help: "Time from INVITE to answer (200 sent or received).",
			Buckets: setupBuckets,
		}),
		sipRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gophone_sip_requests_total", Help: "SIP requests received and handled, by method.",
		}, []string{"method"}),
		sipResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gophone_sip_responses_total", Help: "SIP responses sent to requests received, by status code (retransmissions not counted).",
		}, []string{"code"}),
		dtmf: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gophone_dtmf_digits_total", Help: "DTMF digits received.",
		}),
		hookRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gophone_hook_runs_total", Help: "Hook runs, by hook and outcome.",
		}, []string{"hook", "outcome"}),
		registered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gophone_registered", Help: "1 while the account is registered, else 0.",
		}, []string{"account"}),
		started: map[string]time.Time{},
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.callsTotal, m.setup, m.sipRequests, m.sipResponses, m.dtmf, m.hookRuns, m.registered,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gophone_calls_active", Help: "Calls in progress.",
		}, func() float64 {
			if src.ActiveCalls == nil {
				return 0
			}
			return float64(src.ActiveCalls())
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gophone_event_gaps_total", Help: "Gap events: times an event client fell behind the ring and missed events.",
		}, func() float64 {
			if src.Bus == nil {
				return 0
			}
			return float64(src.Bus.Gaps())
		}),
		rtpCollector{src.RTP},
	)
	return m
}

// Registry returns the registry, for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format. It does
// not authenticate: mount it behind the API token.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SIPRequest counts a SIP request received.
func (m *Metrics) SIPRequest(method string) { m.sipRequests.WithLabelValues(method).Inc() }

// HookRun counts a hook run (or dropped) with its outcome: the hooks
// runner calls it for every hook, so runs that succeed are counted too,
// which no event reports.
func (m *Metrics) HookRun(hook, outcome string) { m.hookRuns.WithLabelValues(hook, outcome).Inc() }

// SIPResponse counts a SIP response sent.
func (m *Metrics) SIPResponse(code int) { m.sipResponses.WithLabelValues(strconv.Itoa(code)).Inc() }

// Run counts the bus's events, from the oldest it holds on, until ctx ends
// or the bus closes.
func (m *Metrics) Run(ctx context.Context) {
	sub := m.src.Bus.Subscribe(0)
	defer sub.Close()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return
		}
		m.count(e)
	}
}

// count updates the metrics one event feeds.
func (m *Metrics) count(e events.Event) {
	switch e.Type {
	case events.CallIncoming, events.CallOutgoing:
		m.mu.Lock()
		m.started[e.Call] = e.Time
		m.mu.Unlock()
	case events.CallAnswered:
		m.mu.Lock()
		t, ok := m.started[e.Call]
		m.mu.Unlock()
		if ok {
			m.setup.Observe(e.Time.Sub(t).Seconds())
		}
	case events.CallEnded:
		m.mu.Lock()
		delete(m.started, e.Call)
		m.mu.Unlock()
		m.callsTotal.WithLabelValues(e.Direction, strconv.Itoa(e.Code)).Inc()
	case events.DTMFReceived:
		m.dtmf.Inc()
	case events.RegistrationOK:
		m.registered.WithLabelValues(e.Account).Set(1)
	case events.RegistrationFailed, events.RegistrationUnregistered:
		m.registered.WithLabelValues(e.Account).Set(0)
	}
}

// rtpCollector reports the RTP totals read at scrape time.
type rtpCollector struct {
	read func() (sent, received, lost int64)
}

var (
	rtpPacketsDesc = prometheus.NewDesc("gophone_rtp_packets_total",
		"Audio RTP packets, by direction (in: received, out: sent).", []string{"dir"}, nil)
	rtpLostDesc = prometheus.NewDesc("gophone_rtp_lost_packets_total",
		"Audio RTP packets the far ends sent that never arrived (RFC 3550 A.3).", nil, nil)
)

func (c rtpCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rtpPacketsDesc
	ch <- rtpLostDesc
}

func (c rtpCollector) Collect(ch chan<- prometheus.Metric) {
	var sent, received, lost int64
	if c.read != nil {
		sent, received, lost = c.read()
	}
	ch <- prometheus.MustNewConstMetric(rtpPacketsDesc, prometheus.CounterValue, float64(received), "in")
	ch <- prometheus.MustNewConstMetric(rtpPacketsDesc, prometheus.CounterValue, float64(sent), "out")
	ch <- prometheus.MustNewConstMetric(rtpLostDesc, prometheus.CounterValue, float64(lost))
}
