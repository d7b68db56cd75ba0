package sdk

import (
	"math"

	witTypes "go.bytecodealliance.org/pkg/wit/types"

	"wasm_exporter/sdk/internal/plugin"
	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

// The contract's families built by hand, for a plugin that does not gather
// client_golang: every kind (info and stateset too), label names in the
// order given, as the Rust, Python and JavaScript SDKs build them.

// Timestamp is a point in time: seconds and nanoseconds since the epoch.
type Timestamp struct {
	Seconds     int64
	Nanoseconds uint32
}

// Exemplar refers a sample to an example event, such as a trace.
type Exemplar struct {
	Labels [][2]string
	Value  float64
	// At is the exemplar's time; nil for none.
	At *Timestamp
}

// Bucket is one classic bucket: its upper bound and the cumulative count.
type Bucket struct {
	UpperBound float64
	Count      uint64
	// Exemplar, if any.
	Exemplar *Exemplar
}

// NativeHistogram is a native histogram's value; Negative and Positive are
// (index, count) pairs sorted by index, Classic optional classic buckets
// ending at +Inf.
type NativeHistogram struct {
	Schema        int8
	ZeroThreshold float64
	ZeroCount     uint64
	Negative      [][2]int64
	Positive      [][2]int64
	Count         uint64
	Sum           float64
	Exemplars     []Exemplar
	Classic       []Bucket
}

// State is one state of a stateset.
type State struct {
	Name    string
	Enabled bool
}

// Family is a metric family under construction.
type Family struct {
	f      t.MetricFamily
	values [][]string
}

// Series is one series of a family, to set its timestamps on.
type Series struct {
	f *Family
	i int
}

// kinds are the contract's kinds by their WIT names.
var kinds = map[string]t.MetricKind{
	"counter": t.MetricKindCounter, "gauge": t.MetricKindGauge, "unknown": t.MetricKindUnknown,
	"histogram": t.MetricKindHistogram, "gauge-histogram": t.MetricKindGaugeHistogram,
	"summary": t.MetricKindSummary, "info": t.MetricKindInfo, "stateset": t.MetricKindStateset,
}

// NewFamily starts a family of the contract's kind `kind` (`counter`,
// `gauge`, `unknown`, `histogram`, `gauge-histogram`, `summary`, `info`,
// `stateset`).
func NewFamily(kind, name, help string, labels ...string) *Family {
	return &Family{f: t.MetricFamily{Name: name, Help: help, Kind: kinds[kind], LabelNames: labels}}
}

// WithUnit sets the family's unit (its name must end in `_<unit>`).
func (f *Family) WithUnit(unit string) *Family {
	f.f.Unit = unit
	return f
}

func (f *Family) add(labels []string, v t.SampleValue) Series {
	f.values = append(f.values, labels)
	f.f.Series = append(f.f.Series, t.Series{Value: v, Timestamp: witTypes.None[t.Timestamp](), Created: witTypes.None[t.Timestamp]()})
	return Series{f, len(f.f.Series) - 1}
}

// AddCounter adds a counter series.
func (f *Family) AddCounter(labels []string, total float64, exemplar *Exemplar) Series {
	return f.add(labels, t.MakeSampleValueCounter(t.CounterValue{Total: total, Exemplar: wireExemplar(exemplar)}))
}

// AddGauge adds a gauge series.
func (f *Family) AddGauge(labels []string, value float64) Series {
	return f.add(labels, t.MakeSampleValueGauge(value))
}

// AddUnknown adds a series of unknown type.
func (f *Family) AddUnknown(labels []string, value float64) Series {
	return f.add(labels, t.MakeSampleValueUnknown(value))
}

// AddHistogram adds a classic histogram series.
func (f *Family) AddHistogram(labels []string, buckets []Bucket, sum float64, count uint64) Series {
	return f.add(labels, t.MakeSampleValueHistogram(histogramValue(buckets, sum, count)))
}

// AddGaugeHistogram adds a gauge histogram series.
func (f *Family) AddGaugeHistogram(labels []string, buckets []Bucket, sum float64, count uint64) Series {
	return f.add(labels, t.MakeSampleValueGaugeHistogram(histogramValue(buckets, sum, count)))
}

// AddSummary adds a summary series; quantiles are (quantile, value) pairs.
func (f *Family) AddSummary(labels []string, quantiles [][2]float64, sum float64, count uint64) Series {
	v := t.SummaryValue{Sum: sum, Count: count}
	for _, q := range quantiles {
		v.Quantiles = append(v.Quantiles, t.Quantile{Quantile: q[0], Value: q[1]})
	}
	return f.add(labels, t.MakeSampleValueSummary(v))
}

// AddInfo adds an info series.
func (f *Family) AddInfo(labels []string) Series {
	return f.add(labels, t.MakeSampleValueInfo())
}

// AddStateset adds a stateset series.
func (f *Family) AddStateset(labels []string, states []State) Series {
	var v []t.State
	for _, s := range states {
		v = append(v, t.State{Name: s.Name, Enabled: s.Enabled})
	}
	return f.add(labels, t.MakeSampleValueStateset(v))
}

// AddNativeHistogram adds a native histogram series (a gauge histogram's
// for a family of kind gauge-histogram).
func (f *Family) AddNativeHistogram(labels []string, h NativeHistogram) Series {
	side := func(pairs [][2]int64) []t.NativeBucket {
		var out []t.NativeBucket
		for _, p := range pairs {
			out = append(out, t.NativeBucket{Index: int32(p[0]), Count: uint64(p[1])})
		}
		return out
	}
	v := t.NativeHistogramValue{
		Schema: h.Schema, ZeroThreshold: h.ZeroThreshold, ZeroCount: h.ZeroCount,
		Negative: side(h.Negative), Positive: side(h.Positive), Count: h.Count, Sum: h.Sum,
		Classic: histogramValue(h.Classic, h.Sum, h.Count).Buckets,
	}
	for i := range h.Exemplars {
		v.Exemplars = append(v.Exemplars, wireExemplar(&h.Exemplars[i]).Some())
	}
	f.f.NativeHistograms = append(f.f.NativeHistograms, v)
	i := uint32(len(f.f.NativeHistograms) - 1)
	if f.f.Kind == t.MetricKindGaugeHistogram {
		return f.add(labels, t.MakeSampleValueNativeGaugeHistogram(i))
	}
	return f.add(labels, t.MakeSampleValueNativeHistogram(i))
}

// WithCreated sets when the series started counting.
func (s Series) WithCreated(at Timestamp) Series {
	s.f.f.Series[s.i].Created = witTypes.Some(t.Timestamp{Seconds: at.Seconds, Nanoseconds: at.Nanoseconds})
	return s
}

// WithTimestamp sets when the value was observed.
func (s Series) WithTimestamp(at Timestamp) Series {
	s.f.f.Series[s.i].Timestamp = witTypes.Some(t.Timestamp{Seconds: at.Seconds, Nanoseconds: at.Nanoseconds})
	return s
}

func histogramValue(buckets []Bucket, sum float64, count uint64) t.HistogramValue {
	v := t.HistogramValue{Sum: sum, Count: count}
	for _, b := range buckets {
		v.Buckets = append(v.Buckets, t.Bucket{UpperBound: b.UpperBound, CumulativeCount: b.Count, Exemplar: wireExemplar(b.Exemplar)})
	}
	return v
}

func wireExemplar(e *Exemplar) witTypes.Option[t.Exemplar] {
	if e == nil {
		return witTypes.None[t.Exemplar]()
	}
	x := t.Exemplar{Value: e.Value, Timestamp: witTypes.None[t.Timestamp]()}
	for _, l := range e.Labels {
		x.Labels = append(x.Labels, t.Label{Name: l[0], Value: l[1]})
	}
	if e.At != nil {
		x.Timestamp = witTypes.Some(t.Timestamp{Seconds: e.At.Seconds, Nanoseconds: e.At.Nanoseconds})
	}
	return witTypes.Some(x)
}

// Inf is +Inf, the last classic bucket's bound.
var Inf = math.Inf(1)

// Collector builds the families of one scrape by hand.
type Collector interface {
	Collect() ([]*Family, error)
}

// RegisterFamilies makes the Collector that setup returns the plugin: for
// families built by hand instead of gathered from client_golang.
func RegisterFamilies(meta Metadata, setup func(config []byte) (Collector, error)) {
	plugin.Current = &handmade{meta: meta, setup: setup}
}

type handmade struct {
	meta      Metadata
	setup     func([]byte) (Collector, error)
	collector Collector
}

func (h *handmade) Metadata() t.PluginMetadata {
	return t.PluginMetadata{Name: h.meta.Name, Version: h.meta.Version, Description: h.meta.Description}
}

func (h *handmade) Init(config string) *t.InitError {
	c, err := h.setup(configBytes(config))
	if err != nil {
		e := initError(err)
		return &e
	}
	h.collector = c
	return nil
}

func (h *handmade) Collect() (t.Collection, error) {
	if h.collector == nil {
		return t.Collection{}, errNoInit
	}
	families, err := h.collector.Collect()
	if err != nil {
		return t.Collection{}, err
	}
	return Families(families), nil
}

func (h *handmade) Probe(string, [][2]string) (t.Collection, error) {
	return t.Collection{}, errNoProbe
}

// Families is the contract's collection of hand-built families, label
// values interned once.
func Families(families []*Family) t.Collection {
	in := &interner{index: map[string]uint32{}}
	out := t.Collection{}
	for _, f := range families {
		w := f.f
		w.LabelValues = nil
		for _, values := range f.values {
			for i := range w.LabelNames {
				v := ""
				if i < len(values) {
					v = values[i]
				}
				w.LabelValues = append(w.LabelValues, in.of(v))
			}
		}
		out.Families = append(out.Families, w)
	}
	out.Strings = in.strings
	return out
}
