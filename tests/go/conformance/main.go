// The conformance plugin in Go, built by hand with the Go SDK's families
// (no client_golang): the same families as the Rust one
// (tests/plugins/conformance), so that the four languages' SDKs can be
// compared byte for byte through the exporter.
package main

import (
	"bytes"
	"encoding/json"
	"math"

	"wasm_exporter/sdk"
)

var created = sdk.Timestamp{Seconds: 1_700_000_000, Nanoseconds: 250_000_000}

func ts(s int64, ns uint32) *sdk.Timestamp { return &sdk.Timestamp{Seconds: s, Nanoseconds: ns} }

func families(prefix string, collects int) []*sdk.Family {
	p := func(name string) string { return prefix + "_" + name }
	var out []*sdk.Family

	calls := sdk.NewFamily("counter", p("collects_total"), "Calls of collect since init.")
	calls.AddCounter(nil, float64(collects), nil)
	out = append(out, calls)

	requests := sdk.NewFamily("counter", p("requests_total"),
		"Requests with \"quotes\", a backslash \\ and a\nnewline in the help.", "method", "path")
	requests.AddCounter([]string{"GET", "/a\"quoted\"/b\\c\nd"}, 1027,
		&sdk.Exemplar{Labels: [][2]string{{"trace_id", "4bf92f3577b34da6"}}, Value: 0.67, At: ts(1_700_000_100, 500_000_000)}).
		WithCreated(created)
	requests.AddCounter([]string{"POST", "/ünïcödé/日本語"}, 3, nil).WithCreated(created)
	requests.AddCounter([]string{"PUT", ""}, 0, nil)
	out = append(out, requests)

	temperature := sdk.NewFamily("gauge", p("temperature_celsius"), "Temperature by sensor.", "sensor").WithUnit("celsius")
	for _, s := range []struct {
		name  string
		value float64
	}{{"ambient", 21.5}, {"cold", -40}, {"tiny", 1e-05}, {"huge", 1.5e21}, {"broken", math.NaN()}, {"hot", math.Inf(1)}, {"frozen", math.Inf(-1)}} {
		temperature.AddGauge([]string{s.name}, s.value)
	}
	temperature.AddGauge([]string{"stamped"}, 19.25).WithTimestamp(sdk.Timestamp{Seconds: 1_700_000_200, Nanoseconds: 123_000_000})
	out = append(out, temperature)

	mystery := sdk.NewFamily("unknown", p("mystery"), "A value of unknown type.")
	mystery.AddUnknown(nil, 42)
	out = append(out, mystery)

	latency := sdk.NewFamily("histogram", p("request_duration_seconds"), "Request latency.", "handler").WithUnit("seconds")
	latency.AddHistogram([]string{"/api"}, []sdk.Bucket{
		{UpperBound: 0.005, Count: 1}, {UpperBound: 0.01, Count: 3},
		{UpperBound: 0.1, Count: 7, Exemplar: &sdk.Exemplar{Labels: [][2]string{{"trace_id", "a1b2"}, {"span_id", "c3"}}, Value: 0.07, At: &created}},
		{UpperBound: 1, Count: 9},
		{UpperBound: sdk.Inf, Count: 10, Exemplar: &sdk.Exemplar{Labels: [][2]string{{"trace_id", "ff"}}, Value: 2.5}},
	}, 4.2, 10).WithCreated(created)
	latency.AddHistogram([]string{"/empty"}, []sdk.Bucket{{UpperBound: sdk.Inf, Count: 0}}, 0, 0)
	out = append(out, latency)

	queue := sdk.NewFamily("gauge-histogram", p("queue_wait_seconds"), "Age of queued jobs.").WithUnit("seconds")
	queue.AddGaugeHistogram(nil, []sdk.Bucket{{UpperBound: 1, Count: 2}, {UpperBound: 10, Count: 5}, {UpperBound: sdk.Inf, Count: 6}}, 31.5, 6)
	out = append(out, queue)

	rpc := sdk.NewFamily("summary", p("rpc_duration_seconds"), "RPC latency.", "service").WithUnit("seconds")
	rpc.AddSummary([]string{"idle"}, [][2]float64{{0.5, math.NaN()}, {0.99, math.NaN()}}, 0, 0).WithCreated(created)
	rpc.AddSummary([]string{"busy"}, [][2]float64{{0.5, 0.0001}, {0.9, 0.002}, {0.99, 0.03}}, 12.5, 1042)
	out = append(out, rpc)

	build := sdk.NewFamily("info", p("build_info"), "Build information.", "version", "revision")
	build.AddInfo([]string{"1.2.3", "abc\"def"})
	out = append(out, build)

	mode := sdk.NewFamily("stateset", p("mode"), "Operating mode.", "unit")
	mode.AddStateset([]string{"a"}, []sdk.State{{Name: "active", Enabled: true}, {Name: "standby"}, {Name: "failed"}})
	out = append(out, mode)

	native := sdk.NewFamily("histogram", p("native_duration_seconds"), "Latency in native buckets.", "handler").WithUnit("seconds")
	native.AddNativeHistogram([]string{"/both"}, sdk.NativeHistogram{
		Schema: 0, ZeroThreshold: 0.001, ZeroCount: 2,
		Negative: [][2]int64{{-1, 1}}, Positive: [][2]int64{{0, 3}, {1, 1}, {5, 2}},
		Count: 9, Sum: 40.5,
		Exemplars: []sdk.Exemplar{{Labels: [][2]string{{"trace_id", "n1"}}, Value: 24, At: &created}},
		Classic:   []sdk.Bucket{{UpperBound: 1, Count: 6}, {UpperBound: sdk.Inf, Count: 9}},
	}).WithCreated(created)
	native.AddNativeHistogram([]string{"/native_only"}, sdk.NativeHistogram{
		Schema: 3, ZeroThreshold: math.Ldexp(1, -128), Positive: [][2]int64{{8, 1}, {9, 1}, {11, 1}},
		Count: 3, Sum: 5.5,
	})
	native.AddNativeHistogram([]string{"/unused"}, sdk.NativeHistogram{Schema: 3})
	out = append(out, native)

	utf8 := sdk.NewFamily("gauge", prefix+".utf8.temperature",
		"A name with dots, and label names a legacy scraper cannot read.", "room.name", "sensor \"id\"", "plain")
	utf8.AddGauge([]string{"kitchen", "t-1", "x"}, 21)
	utf8.AddGauge([]string{"küche", "t-2", "y"}, 19.5)
	out = append(out, utf8)
	return out
}

type conformance struct {
	prefix   string
	collects int
}

func (c *conformance) Collect() ([]*sdk.Family, error) {
	c.collects++
	return families(c.prefix, c.collects), nil
}

func setup(raw []byte) (sdk.Collector, error) {
	var config struct {
		Prefix *string `json:"prefix"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&config); err != nil {
		return nil, sdk.InvalidConfig("%v", err)
	}
	prefix := "conformance"
	if config.Prefix != nil {
		if *config.Prefix == "" {
			return nil, sdk.InvalidConfig("prefix must not be empty")
		}
		prefix = *config.Prefix
	}
	return &conformance{prefix: prefix}, nil
}

func init() {
	sdk.RegisterFamilies(sdk.Metadata{Name: "conformance", Version: "0.1.0", Description: "Every metric kind, in Go"}, setup)
}

func main() {}
