package sdk

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	witTypes "go.bytecodealliance.org/pkg/wit/types"

	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

func gathered(tb testing.TB, cs ...prometheus.Collector) (t.Collection, []Problem) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range cs {
		reg.MustRegister(c)
	}
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	return Convert(families)
}

func find(c t.Collection, name string) t.MetricFamily {
	for _, f := range c.Families {
		if f.Name == name {
			return f
		}
	}
	return t.MetricFamily{}
}

func labels(c t.Collection, f t.MetricFamily, series int) []string {
	n := len(f.LabelNames)
	var out []string
	for _, i := range f.LabelValues[series*n : (series+1)*n] {
		out = append(out, c.Strings[i])
	}
	return out
}

func TestCountersGaugesAndSummariesKeepTheirValuesLabelsAndExemplars(t_ *testing.T) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "app_requests_total", Help: "Requests."}, []string{"code", "method"})
	requests.WithLabelValues("200", "GET").Add(3)
	requests.WithLabelValues("500", "POST").(prometheus.ExemplarAdder).AddWithExemplar(2, prometheus.Labels{"trace_id": "abc"})
	temp := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "app_temperature_celsius", Help: "T."}, func() float64 { return 21.5 })
	latency := prometheus.NewSummary(prometheus.SummaryOpts{Name: "app_latency_seconds", Help: "L.", Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01}})
	for _, v := range []float64{0.1, 0.2, 0.3} {
		latency.Observe(v)
	}
	c, problems := gathered(t_, requests, temp, latency)
	if len(problems) > 0 {
		t_.Fatal(problems)
	}
	req := find(c, "app_requests_total")
	if req.Kind != t.MetricKindCounter || len(req.Series) != 2 {
		t_.Fatalf("%+v", req)
	}
	if got := labels(c, req, 1); got[0] != "500" || got[1] != "POST" {
		t_.Fatalf("labels %v", got)
	}
	v := req.Series[1].Value.Counter()
	if v.Total != 2 || v.Exemplar.Tag() != witTypes.OptionSome || v.Exemplar.Some().Labels[0].Value != "abc" {
		t_.Fatalf("counter %+v", v)
	}
	if req.Series[0].Created.Tag() != witTypes.OptionSome {
		t_.Fatal("a counter's created timestamp is kept")
	}
	if g := find(c, "app_temperature_celsius"); g.Series[0].Value.Gauge() != 21.5 {
		t_.Fatalf("%+v", g)
	}
	s := find(c, "app_latency_seconds").Series[0].Value.Summary()
	if s.Count != 3 || math.Abs(s.Sum-0.6) > 1e-9 || len(s.Quantiles) != 2 || s.Quantiles[0].Quantile != 0.5 {
		t_.Fatalf("summary %+v", s)
	}
}

func TestHistogramsClassicAndNative(t_ *testing.T) {
	classic := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "app_size_bytes", Help: "S.", Buckets: []float64{10, 100}})
	classic.Observe(5)
	classic.Observe(50)
	classic.Observe(500)
	native := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "app_wait_seconds", Help: "W.", NativeHistogramBucketFactor: 1.1})
	native.Observe(0.5)
	native.Observe(2)
	native.Observe(2)
	c, problems := gathered(t_, classic, native)
	if len(problems) > 0 {
		t_.Fatal(problems)
	}
	h := find(c, "app_size_bytes").Series[0].Value.Histogram()
	if len(h.Buckets) != 3 || !math.IsInf(h.Buckets[2].UpperBound, 1) || h.Buckets[2].CumulativeCount != 3 || h.Buckets[0].CumulativeCount != 1 {
		t_.Fatalf("classic %+v", h)
	}
	f := find(c, "app_wait_seconds")
	if f.Series[0].Value.Tag() != t.SampleValueNativeHistogram || len(f.NativeHistograms) != 1 {
		t_.Fatalf("native %+v", f)
	}
	n := f.NativeHistograms[0]
	var total uint64
	for _, b := range n.Positive {
		total += b.Count
	}
	if n.Count != 3 || total+n.ZeroCount != 3 || n.Schema != 3 || len(n.Classic) != 0 {
		t_.Fatalf("native value %+v", n)
	}
	for i := 1; i < len(n.Positive); i++ {
		if n.Positive[i].Index <= n.Positive[i-1].Index {
			t_.Fatalf("indexes not increasing: %+v", n.Positive)
		}
	}
}

func TestConstMetricsAndTheExportersOwnNames(t_ *testing.T) {
	desc := prometheus.NewDesc("process_open_fds", "Mine.", nil, nil)
	own := prometheus.NewDesc("app_build_info", "Build.", []string{"version"}, prometheus.Labels{"app": "x"})
	c, problems := gathered(t_, collectorFunc(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 3)
		ch <- prometheus.MustNewConstMetric(own, prometheus.GaugeValue, 1, "1.2.3")
	}, desc, own))
	if len(problems) != 1 || problems[0].Family != "process_open_fds" {
		t_.Fatalf("problems %v", problems)
	}
	f := find(c, "app_build_info")
	if got := labels(c, f, 0); len(got) != 2 || got[0] != "x" || got[1] != "1.2.3" {
		t_.Fatalf("labels %v of %v", got, f.LabelNames)
	}
}

type collectorFn struct {
	collect func(chan<- prometheus.Metric)
	descs   []*prometheus.Desc
}

func collectorFunc(f func(chan<- prometheus.Metric), descs ...*prometheus.Desc) prometheus.Collector {
	return collectorFn{f, descs}
}

func (c collectorFn) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFn) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
