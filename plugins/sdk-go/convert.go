package sdk

import (
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"google.golang.org/protobuf/types/known/timestamppb"

	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

// reserved are the name prefixes the exporter keeps for its own families:
// a plugin's family under them is dropped by the host.
var reserved = []string{"wasm_exporter_", "process_", "promhttp_"}

// Problem is a family the exporter would drop, found while converting:
// the SDK reports it as client_golang reports a registry error, and leaves
// the family out.
type Problem struct {
	Family string
	Why    string
}

func (p Problem) Error() string {
	return fmt.Sprintf("metric family %q: %s", p.Family, p.Why)
}

// interner gives each distinct label value one index in the collection's
// string table.
type interner struct {
	strings []string
	index   map[string]uint32
}

func (in *interner) of(s string) uint32 {
	if i, ok := in.index[s]; ok {
		return i
	}
	i := uint32(len(in.strings))
	in.index[s] = i
	in.strings = append(in.strings, s)
	return i
}

// Convert turns what a client_golang Gatherer returned into the contract's
// collection. Families the exporter would drop are left out and returned
// as problems.
func Convert(families []*dto.MetricFamily) (t.Collection, []Problem) {
	in := &interner{index: map[string]uint32{}}
	out := t.Collection{}
	var problems []Problem
	for _, mf := range families {
		f, err := family(mf, in)
		if err != nil {
			problems = append(problems, Problem{Family: mf.GetName(), Why: err.Error()})
			continue
		}
		out.Families = append(out.Families, f)
	}
	out.Strings = in.strings
	return out, problems
}

func kind(ty dto.MetricType) (t.MetricKind, error) {
	switch ty {
	case dto.MetricType_COUNTER:
		return t.MetricKindCounter, nil
	case dto.MetricType_GAUGE:
		return t.MetricKindGauge, nil
	case dto.MetricType_UNTYPED:
		return t.MetricKindUnknown, nil
	case dto.MetricType_SUMMARY:
		return t.MetricKindSummary, nil
	case dto.MetricType_HISTOGRAM:
		return t.MetricKindHistogram, nil
	case dto.MetricType_GAUGE_HISTOGRAM:
		return t.MetricKindGaugeHistogram, nil
	}
	return 0, fmt.Errorf("metric type %v has no counterpart in the contract", ty)
}

func family(mf *dto.MetricFamily, in *interner) (t.MetricFamily, error) {
	name := mf.GetName()
	for _, p := range reserved {
		if strings.HasPrefix(name, p) {
			return t.MetricFamily{}, fmt.Errorf("names starting with %q are the exporter's own", p)
		}
	}
	k, err := kind(mf.GetType())
	if err != nil {
		return t.MetricFamily{}, err
	}
	f := t.MetricFamily{Name: name, Help: mf.GetHelp(), Unit: mf.GetUnit(), Kind: k}
	// Every metric of a client_golang family has the same label names
	// (the registry checks); take them from all, sorted, so that one
	// without a label gets the empty value (an absent label).
	names := map[string]bool{}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			names[l.GetName()] = true
		}
	}
	for n := range names {
		f.LabelNames = append(f.LabelNames, n)
	}
	sort.Strings(f.LabelNames)
	for _, m := range mf.GetMetric() {
		values := map[string]string{}
		for _, l := range m.GetLabel() {
			values[l.GetName()] = l.GetValue()
		}
		for _, n := range f.LabelNames {
			f.LabelValues = append(f.LabelValues, in.of(values[n]))
		}
		s := t.Series{Timestamp: witTypes.None[t.Timestamp](), Created: witTypes.None[t.Timestamp]()}
		if m.TimestampMs != nil {
			ms := m.GetTimestampMs()
			s.Timestamp = witTypes.Some(t.Timestamp{Seconds: ms / 1000, Nanoseconds: uint32(ms%1000) * 1_000_000})
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			c := m.GetCounter()
			s.Value = t.MakeSampleValueCounter(t.CounterValue{Total: c.GetValue(), Exemplar: exemplar(c.GetExemplar())})
			s.Created = created(c.GetCreatedTimestamp())
		case dto.MetricType_GAUGE:
			s.Value = t.MakeSampleValueGauge(m.GetGauge().GetValue())
		case dto.MetricType_UNTYPED:
			s.Value = t.MakeSampleValueUnknown(m.GetUntyped().GetValue())
		case dto.MetricType_SUMMARY:
			sm := m.GetSummary()
			v := t.SummaryValue{Sum: sm.GetSampleSum(), Count: sm.GetSampleCount()}
			for _, q := range sm.GetQuantile() {
				v.Quantiles = append(v.Quantiles, t.Quantile{Quantile: q.GetQuantile(), Value: q.GetValue()})
			}
			s.Value = t.MakeSampleValueSummary(v)
			s.Created = created(sm.GetCreatedTimestamp())
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			gauge := mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM
			if h.GetSampleCountFloat() > 0 || h.GetZeroCountFloat() > 0 || len(h.GetPositiveCount()) > 0 || len(h.GetNegativeCount()) > 0 {
				return t.MetricFamily{}, fmt.Errorf("float histograms have no counterpart in the contract (counts are integers)")
			}
			classic := buckets(h)
			if h.Schema != nil {
				f.NativeHistograms = append(f.NativeHistograms, native(h, classic))
				i := uint32(len(f.NativeHistograms) - 1)
				if gauge {
					s.Value = t.MakeSampleValueNativeGaugeHistogram(i)
				} else {
					s.Value = t.MakeSampleValueNativeHistogram(i)
				}
			} else {
				v := t.HistogramValue{Buckets: classic, Sum: h.GetSampleSum(), Count: h.GetSampleCount()}
				if gauge {
					s.Value = t.MakeSampleValueGaugeHistogram(v)
				} else {
					s.Value = t.MakeSampleValueHistogram(v)
				}
			}
			if !gauge {
				s.Created = created(h.GetCreatedTimestamp())
			}
		}
		f.Series = append(f.Series, s)
	}
	return f, nil
}

// buckets are the classic buckets, ending with +Inf as the contract asks
// (client_golang leaves that one out).
func buckets(h *dto.Histogram) []t.Bucket {
	var out []t.Bucket
	for _, b := range h.GetBucket() {
		out = append(out, t.Bucket{UpperBound: b.GetUpperBound(), CumulativeCount: b.GetCumulativeCount(), Exemplar: exemplar(b.GetExemplar())})
	}
	// A native histogram without classic buckets has none at all.
	if len(out) == 0 && h.Schema != nil {
		return nil
	}
	if len(out) == 0 || !math.IsInf(out[len(out)-1].UpperBound, 1) {
		out = append(out, t.Bucket{UpperBound: math.Inf(1), CumulativeCount: h.GetSampleCount(), Exemplar: witTypes.None[t.Exemplar]()})
	}
	return out
}

// native is the native part: spans and deltas made (index, count) pairs.
func native(h *dto.Histogram, classic []t.Bucket) t.NativeHistogramValue {
	side := func(spans []*dto.BucketSpan, deltas []int64) []t.NativeBucket {
		var out []t.NativeBucket
		index, count, d := int32(0), int64(0), 0
		for i, span := range spans {
			if i == 0 {
				index = span.GetOffset()
			} else {
				index += span.GetOffset()
			}
			for j := uint32(0); j < span.GetLength() && d < len(deltas); j++ {
				count += deltas[d]
				d++
				out = append(out, t.NativeBucket{Index: index, Count: uint64(count)})
				index++
			}
		}
		return out
	}
	v := t.NativeHistogramValue{
		Schema:        int8(h.GetSchema()),
		ZeroThreshold: h.GetZeroThreshold(),
		ZeroCount:     h.GetZeroCount(),
		Negative:      side(h.GetNegativeSpan(), h.GetNegativeDelta()),
		Positive:      side(h.GetPositiveSpan(), h.GetPositiveDelta()),
		Count:         h.GetSampleCount(),
		Sum:           h.GetSampleSum(),
		Classic:       classic,
	}
	for _, e := range h.GetExemplars() {
		if x := exemplar(e); x.Tag() == witTypes.OptionSome {
			v.Exemplars = append(v.Exemplars, x.Some())
		}
	}
	return v
}

func exemplar(e *dto.Exemplar) witTypes.Option[t.Exemplar] {
	if e == nil {
		return witTypes.None[t.Exemplar]()
	}
	x := t.Exemplar{Value: e.GetValue(), Timestamp: witTypes.None[t.Timestamp]()}
	for _, l := range e.GetLabel() {
		x.Labels = append(x.Labels, t.Label{Name: l.GetName(), Value: l.GetValue()})
	}
	if ts := e.GetTimestamp(); ts != nil {
		x.Timestamp = witTypes.Some(stamp(ts))
	}
	return witTypes.Some(x)
}

func created(ts *timestamppb.Timestamp) witTypes.Option[t.Timestamp] {
	if ts == nil {
		return witTypes.None[t.Timestamp]()
	}
	return witTypes.Some(stamp(ts))
}

func stamp(ts *timestamppb.Timestamp) t.Timestamp {
	return t.Timestamp{Seconds: ts.GetSeconds(), Nanoseconds: uint32(ts.GetNanos())}
}
