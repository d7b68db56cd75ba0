//! Golden files for each encoder over one model holding every kind, written
//! without any plugin or wasmtime. `BLESS=1` rewrites them on purpose; the
//! end-to-end tests pass the same formats through independent parsers.

use std::path::PathBuf;

use super::{openmetrics, text};
use crate::exposition::model::{
    Bucket, Exemplar, Family, Histogram, Kind, Label, Native, NativeBucket, Quantile, State,
    Summary, Timestamp, Value,
};

fn ts(seconds: i64, nanos: u32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

fn histogram(bounds: &[(f64, u64)], sum: f64, exemplar: Option<Exemplar>) -> Histogram {
    let mut buckets: Vec<Bucket> = bounds
        .iter()
        .map(|&(upper_bound, cumulative_count)| Bucket {
            upper_bound,
            cumulative_count,
            exemplar: None,
        })
        .collect();
    if let Some(b) = buckets.first_mut() {
        b.exemplar = exemplar;
    }
    let count = bounds.last().map_or(0, |b| b.1);
    Histogram {
        buckets,
        sum,
        count,
        native: None,
    }
}

/// One family of every kind, with the awkward cases each format must get
/// right: escaping, exemplars, timestamps, `_created`, negative buckets.
fn model() -> Vec<Family> {
    let trace = Exemplar {
        labels: vec![Label {
            name: "trace_id".into(),
            value: "abc\"1".into(),
        }],
        value: 0.25,
        timestamp: ts(1_700_000_000, 500_000_000),
    };
    let mut counter = Family::new(
        Kind::Counter,
        "requests_total",
        "Requests \\ served.\nAll of them.",
    )
    .with_labels(&["path"]);
    counter.push(
        vec!["/a\"b\\c\nd".into()],
        Value::Counter {
            total: 1027.0,
            exemplar: Some(Box::new(trace.clone())),
        },
    );
    if let Some(s) = std::sync::Arc::make_mut(&mut counter.series).first_mut() {
        s.set_created(ts(1_600_000_000, 0));
    }
    let mut gauge = Family::new(Kind::Gauge, "temperature_celsius", "Temperature.")
        .with_unit("celsius")
        .with_labels(&["room"]);
    gauge.push(vec!["hall".into()], Value::Gauge(-0.5));
    gauge.push(vec!["lab".into()], Value::Gauge(f64::NAN));
    if let Some(s) = std::sync::Arc::make_mut(&mut gauge.series).get_mut(1) {
        s.set_timestamp(ts(1_700_000_000, 123_000_000));
    }
    let mut unknown = Family::new(Kind::Unknown, "mystery", "");
    unknown.push(vec![], Value::Unknown(1e-7));
    let mut hist = Family::new(Kind::Histogram, "latency_seconds", "Latency.").with_unit("seconds");
    hist.push(
        vec![],
        Value::Histogram(Box::new(histogram(
            &[(0.1, 2), (1.0, 5), (f64::INFINITY, 6)],
            3.5,
            Some(trace),
        ))),
    );
    let mut negative = Family::new(Kind::Histogram, "offset", "Clock offset.");
    negative.push(
        vec![],
        Value::Histogram(Box::new(histogram(
            &[(-1.0, 1), (f64::INFINITY, 3)],
            -0.5,
            None,
        ))),
    );
    let mut gauge_hist =
        Family::new(Kind::GaugeHistogram, "queue_size", "Queue sizes.").with_labels(&["queue"]);
    gauge_hist.push(
        vec!["q1".into()],
        Value::GaugeHistogram(Box::new(histogram(
            &[(10.0, 3), (f64::INFINITY, 4)],
            42.0,
            None,
        ))),
    );
    let mut summary = Family::new(Kind::Summary, "rpc_seconds", "RPC latency.");
    summary.push(
        vec![],
        Value::Summary(Box::new(Summary {
            quantiles: vec![
                Quantile {
                    quantile: 0.5,
                    value: 0.012,
                },
                Quantile {
                    quantile: 0.99,
                    value: 1e6,
                },
            ],
            sum: 17.25,
            count: 1000,
        })),
    );
    let mut info = Family::new(Kind::Info, "build_info", "Build.").with_labels(&["version"]);
    info.push(vec!["1.2.3".into()], Value::Info);
    let mut stateset = Family::new(Kind::Stateset, "door", "Door state.");
    stateset.push(
        vec![],
        Value::Stateset(
            vec![
                State {
                    name: "open".into(),
                    enabled: false,
                },
                State {
                    name: "closed".into(),
                    enabled: true,
                },
            ]
            .into(),
        ),
    );
    let empty = Family::new(Kind::Gauge, "empty", "Has no series, so is not written.");
    // Native buckets only, some below zero: text and OpenMetrics show the
    // +Inf bucket; OpenMetrics leaves out the sum as for negative bounds.
    let mut native =
        Family::new(Kind::Histogram, "wait_seconds", "Native only.").with_unit("seconds");
    native.push(
        vec![],
        Value::Histogram(Box::new(Histogram {
            buckets: Vec::new(),
            sum: -1.5,
            count: 4,
            native: Some(Box::new(Native {
                schema: 0,
                zero_threshold: 0.5,
                zero_count: 1,
                negative: vec![NativeBucket { index: 1, count: 2 }],
                positive: vec![NativeBucket { index: 2, count: 1 }],
                exemplars: Vec::new(),
            })),
        })),
    );
    // Names outside the legacy set, as served under escaping=allow-utf-8.
    let mut utf8 =
        Family::new(Kind::Gauge, "room.temp", "UTF-8 names.").with_labels(&["room.name", "plain"]);
    utf8.push(vec!["a\"b".into(), "x".into()], Value::Gauge(1.0));
    vec![
        counter, gauge, unknown, hist, negative, gauge_hist, summary, info, stateset, empty,
        native, utf8,
    ]
}

#[path = "../../../../tests/e2e/support/golden.rs"]
mod golden_file;

fn golden(file: &str, got: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/exposition/encode/testdata")
        .join(file);
    golden_file::check(&path, &String::from_utf8_lossy(got));
}

#[test]
fn text_0_0_4() {
    let mut out = Vec::new();
    text::encode(&model(), &mut out);
    golden("every_kind.prom", &out);
}

#[test]
fn openmetrics_1_0() {
    let mut out = Vec::new();
    openmetrics::encode(&model(), &mut out);
    golden("every_kind.om", &out);
}

/// The model's families beside copies of themselves under other names,
/// every label value shared among them (as validation shares one
/// collection's table): one copy as it is, one with its series' values
/// taken in reverse, one with a series more, and enough label-name lists
/// that the encoders' kept blocks are evicted.
fn shared_model() -> Vec<Family> {
    use std::collections::HashMap;
    use std::sync::Arc;

    use crate::exposition::model::LabelValue;

    let mut table: HashMap<String, LabelValue> = HashMap::new();
    let mut share = |f: &mut Family| {
        for s in Arc::make_mut(&mut f.series) {
            for v in s.label_values.make_mut().iter_mut() {
                *v = table
                    .entry(v.to_string())
                    .or_insert_with(|| v.clone())
                    .clone();
            }
        }
    };
    let mut out = Vec::new();
    for mut family in model() {
        // Three series at least, with other values, so that the reversed
        // copy differs at every place but the middle.
        if let Some(first) = family.series.first().cloned() {
            for more in ["second", "third"] {
                if !family.label_names.is_empty() {
                    let mut s = first.clone();
                    s.label_values.make_mut()[0] = more.into();
                    std::sync::Arc::make_mut(&mut family.series).push(s);
                }
            }
        }
        for copy in ["", "copy_", "reversed_", "longer_"] {
            let mut f = family.clone();
            f.name = format!("{copy}{}", f.name);
            if copy == "reversed_" {
                let series = Arc::make_mut(&mut f.series);
                let values: Vec<_> = series
                    .iter()
                    .rev()
                    .map(|s| s.label_values.clone())
                    .collect();
                for (s, v) in series.iter_mut().zip(values) {
                    s.label_values = v;
                }
            }
            if copy == "longer_" && !f.label_names.is_empty() {
                let series = Arc::make_mut(&mut f.series);
                if let Some(mut extra) = series.first().cloned() {
                    extra.label_values.make_mut()[0] = "one more".into();
                    series.push(extra);
                }
            }
            share(&mut f);
            out.push(f);
        }
    }
    for k in 0..6 {
        let mut f = Family::new(Kind::Gauge, format!("shape_{k}"), "Shapes.")
            .with_labels(&["path", &format!("l{k}")]);
        f.push(vec!["/a\"b\\c\nd".into(), "x".into()], Value::Gauge(1.0));
        f.push(vec!["/p".into(), "y".into()], Value::Gauge(2.0));
        share(&mut f);
        out.push(f);
    }
    out
}

#[test]
fn label_blocks_copied_between_families_are_the_ones_written() {
    let shared = shared_model();
    type Encode = fn(&[Family], &mut Vec<u8>);
    let encoders: [(&str, Encode); 2] =
        [("text", text::encode), ("openmetrics", openmetrics::encode)];
    for (name, encode) in encoders {
        let mut whole = Vec::new();
        encode(&shared, &mut whole);
        // Each family by an encoder of its own: nothing kept from another.
        let mut apart = Vec::new();
        for f in &shared {
            let mut one = Vec::new();
            encode(std::slice::from_ref(f), &mut one);
            apart.extend_from_slice(one.strip_suffix(b"# EOF\n").unwrap_or(&one));
        }
        if name == "openmetrics" {
            apart.extend_from_slice(b"# EOF\n");
        }
        assert_eq!(
            String::from_utf8(whole).unwrap(),
            String::from_utf8(apart).unwrap(),
            "{name}"
        );
    }
}
