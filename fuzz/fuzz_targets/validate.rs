//! Arbitrary families through validation, merge, every escaping scheme and
//! the three encoders: nothing may panic, whatever validates must encode to
//! well-formed lines, and protobuf's length prefixes must chain to the end.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wasm_exporter::exposition::escape::{self, Escaping};
use wasm_exporter::exposition::model::{Bucket, Exemplar, Family, Histogram, Kind, Label, Native, NativeBucket, Quantile, Series, State, Summary, Times, Timestamp, Value};
use wasm_exporter::exposition::{merge, openmetrics, protobuf, text, validate};

#[derive(Arbitrary, Debug)]
struct In {
    families: Vec<F>,
}

#[derive(Arbitrary, Debug)]
struct F {
    name: String,
    help: String,
    unit: String,
    kind: u8,
    labels: Vec<String>,
    series: Vec<S>,
}

#[derive(Arbitrary, Debug)]
struct S {
    values: Vec<String>,
    kind: u8,
    numbers: Vec<f64>,
    counts: Vec<u64>,
    strings: Vec<String>,
    ts: Option<(i64, u32)>,
    created: Option<(i64, u32)>,
}

fn kind(k: u8) -> Kind {
    [Kind::Counter, Kind::Gauge, Kind::Unknown, Kind::Histogram, Kind::GaugeHistogram, Kind::Summary, Kind::Info, Kind::Stateset][usize::from(k) % 8]
}

fn ts(t: Option<(i64, u32)>) -> Option<Timestamp> {
    t.map(|(seconds, nanos)| Timestamp { seconds, nanos })
}

fn value(s: &S) -> Value {
    let n = |i: usize| s.numbers.get(i).copied().unwrap_or(0.0);
    let exemplar = s.strings.first().map(|v| Exemplar {
        labels: vec![Label { name: s.strings.get(1).cloned().unwrap_or_default(), value: v.clone() }],
        value: n(0),
        timestamp: ts(s.ts),
    });
    let histogram = || Histogram {
        buckets: s
            .counts
            .iter()
            .enumerate()
            .map(|(i, &c)| Bucket { upper_bound: n(i), cumulative_count: c, exemplar: exemplar.clone() })
            .collect(),
        sum: n(0),
        count: s.counts.last().copied().unwrap_or(0),
        native: (s.numbers.len() % 3 == 0).then(|| {
            let buckets = |sign: i32| {
                s.counts
                    .iter()
                    .enumerate()
                    .map(|(i, &count)| NativeBucket { index: sign * i as i32, count })
                    .collect()
            };
            Box::new(Native {
                schema: n(1) as i8,
                zero_threshold: n(2),
                zero_count: s.counts.first().copied().unwrap_or(0),
                negative: if s.numbers.len() % 2 == 0 { buckets(-1) } else { Vec::new() },
                positive: buckets(1),
                exemplars: exemplar.clone().into_iter().collect(),
            })
        }),
    };
    match kind(s.kind) {
        Kind::Counter => Value::Counter { total: n(0), exemplar: exemplar.map(Box::new) },
        Kind::Gauge => Value::Gauge(n(0)),
        Kind::Unknown => Value::Unknown(n(0)),
        Kind::Histogram => Value::Histogram(Box::new(histogram())),
        Kind::GaugeHistogram => Value::GaugeHistogram(Box::new(histogram())),
        Kind::Summary => Value::Summary(Box::new(Summary {
            quantiles: s.numbers.chunks(2).map(|c| Quantile { quantile: c[0], value: c.get(1).copied().unwrap_or(0.0) }).collect(),
            sum: n(0),
            count: s.counts.first().copied().unwrap_or(0),
        })),
        Kind::Info => Value::Info,
        Kind::Stateset => Value::Stateset(s.strings.iter().map(|name| State { name: name.clone(), enabled: name.len() % 2 == 0 }).collect()),
    }
}

fuzz_target!(|input: In| {
    let limits = validate::Caps { max_label_value_length: 4096, max_label_name_length: 256, max_series: usize::MAX, max_families: usize::MAX };
    let mut valid = Vec::new();
    for f in &input.families {
        let mut family = Family {
            name: f.name.clone(),
            help: f.help.clone(),
            unit: f.unit.clone(),
            kind: kind(f.kind),
            label_names: f.labels.clone(),
            series: std::sync::Arc::new(
                f.series
                    .iter()
                    .map(|s| Series {
                        label_values: s.values.iter().map(|v| v.as_str().into()).collect(),
                        value: value(s),
                        times: Times::boxed(ts(s.ts), ts(s.created)),
                    })
                    .collect(),
            ),
        };
        if validate::validate(&mut family, limits).is_ok() {
            valid.push(family);
        }
    }
    let merged = merge::merge(vec![valid]).families;
    for scheme in [Escaping::AllowUtf8, Escaping::Underscores, Escaping::Dots, Escaping::Values] {
        let (families, _) = escape::apply(merged.clone(), scheme);
        let mut out = Vec::new();
        text::encode(&families, &mut out);
        assert!(out.is_empty() || out.ends_with(b"\n"));
        assert!(std::str::from_utf8(&out).is_ok());
        let mut om = Vec::new();
        openmetrics::encode(&families, &mut om);
        assert!(om.ends_with(b"# EOF\n"));
        // Escaping keeps every sample on one line: no line of either output
        // may start with a character that begins neither a comment nor a
        // name (quoted inside braces only when names may be UTF-8).
        for line in std::str::from_utf8(&out).unwrap_or("").lines().chain(std::str::from_utf8(&om).unwrap_or("").lines()) {
            let first = line.chars().next().unwrap_or('#');
            let quoted = scheme == Escaping::AllowUtf8 && first == '{';
            assert!(quoted || first == '#' || first == '_' || first == ':' || first.is_ascii_alphabetic(), "broken line: {line:?}");
        }
        let mut pb = Vec::new();
        protobuf::encode(&families, &mut pb);
        let mut at = 0;
        while at < pb.len() {
            let (mut len, mut shift) = (0usize, 0);
            loop {
                let b = pb[at];
                at += 1;
                len |= usize::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            at += len;
        }
        assert_eq!(at, pb.len(), "length prefixes do not chain to the end");
    }
});
