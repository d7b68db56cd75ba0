// Package collectors is one set of client_golang collectors, registered
// the same way by a native program served with promhttp (../native) and by
// a wasm_exporter plugin (../plugin), whose expositions must be identical.
package collectors

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// At is the time every exemplar and created timestamp is stamped with, so
// that both sides agree.
var At = time.Unix(1_700_000_000, 250_000_000)

type custom struct {
	info *prometheus.Desc
	temp *prometheus.Desc
}

func (c custom) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.info
	ch <- c.temp
}

// Collect emits constant metrics, as exporters that read a target do.
func (c custom) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, "1.2.3", "abc\"def")
	ch <- prometheus.MustNewConstMetric(c.temp, prometheus.GaugeValue, 21.5, "ambient")
	ch <- prometheus.MustNewConstMetric(c.temp, prometheus.GaugeValue, -40, "cold")
	ch <- prometheus.NewMetricWithTimestamp(At, prometheus.MustNewConstMetric(c.temp, prometheus.GaugeValue, 19.25, "stamped"))
}

// Register registers the collectors on reg, with fixed observations.
func Register(reg prometheus.Registerer) error {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "equiv_requests_total",
		Help: "Requests with \"quotes\", a backslash \\ and a\nnewline in the help.",
	}, []string{"method", "path"})
	requests.WithLabelValues("GET", "/a\"quoted\"/b\\c\nd").Add(1027)
	requests.WithLabelValues("POST", "/ünïcödé/日本語").(prometheus.ExemplarAdder).AddWithExemplar(3, prometheus.Labels{"trace_id": "4bf92f3577b34da6"})
	uptime := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "equiv_uptime_seconds", Help: "Seconds up."}, func() float64 { return 4711.5 })
	latency := prometheus.NewSummary(prometheus.SummaryOpts{
		Name: "equiv_latency_seconds", Help: "Latency.",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
	})
	size := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "equiv_size_bytes", Help: "Sizes.", Buckets: []float64{100, 1000, 10000},
		NativeHistogramBucketFactor: 1.1,
	}, []string{"kind"})
	wait := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "equiv_wait_seconds", Help: "Waits.", NativeHistogramBucketFactor: 1.1,
	})
	for i, v := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2} {
		latency.Observe(v)
		size.WithLabelValues("body").(prometheus.ExemplarObserver).ObserveWithExemplar(v*1000+float64(i), prometheus.Labels{"trace_id": "t"})
		wait.Observe(v)
	}
	c := custom{
		info: prometheus.NewDesc("equiv_build_info", "Build.", []string{"version", "revision"}, prometheus.Labels{"app": "equiv"}),
		temp: prometheus.NewDesc("equiv_temperature_celsius", "Temperature.", []string{"sensor"}, nil),
	}
	for _, col := range []prometheus.Collector{requests, uptime, latency, size, wait, c} {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}
