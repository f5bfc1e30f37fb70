package testutil

import (
	"io"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is a page of Prometheus metrics, parsed: families by name.
type Metrics map[string]*dto.MetricFamily

// ParseMetrics parses r as the Prometheus text exposition format; a page
// that is not fails the test.
func ParseMetrics(t testing.TB, r io.Reader) Metrics {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("not the Prometheus exposition format: %v", err)
	}
	return fams
}

// Value returns the value (a histogram's sample count) of the metric of
// family name whose labels include the name=value pairs of labels, or -1.
func (m Metrics) Value(name string, labels ...string) float64 {
	f, ok := m[name]
	if !ok {
		return -1
	}
next:
	for _, mt := range f.Metric {
		have := map[string]string{}
		for _, l := range mt.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case mt.Counter != nil:
			return mt.Counter.GetValue()
		case mt.Gauge != nil:
			return mt.Gauge.GetValue()
		case mt.Histogram != nil:
			return float64(mt.Histogram.GetSampleCount())
		}
	}
	return -1
}

// Sum returns the sum of the counters of family name, whatever their labels.
func (m Metrics) Sum(name string) float64 {
	var sum float64
	if f, ok := m[name]; ok {
		for _, mt := range f.Metric {
			sum += mt.Counter.GetValue()
		}
	}
	return sum
}
