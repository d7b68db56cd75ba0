//! Many files' families into one exposition, with node_exporter's rules:
//! a family may span files; HELP text missing in one file is taken from
//! another (or becomes `Metric read from <files>`); a family whose HELP or
//! type contradicts an earlier file's is dropped from the later file and
//! counted as an error; within a family every series gets every label name
//! used by any of them (empty where it had none).
//!
//! A contradicting type, a series given twice (the first value is kept)
//! and a family named like the collector's own are what client_golang's
//! registry refuses at gather time in node_exporter: they are logged and
//! dropped, and, as there, they leave `node_textfile_scrape_error` alone.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use wasm_exporter_sdk::{HistogramValue, MetricFamily, SummaryValue};

use crate::parse::{Family, Kind, Metric, Value};

/// The collector's own families.
pub const MTIME: &str = "node_textfile_mtime_seconds";
/// See [`MTIME`].
pub const SCRAPE_ERROR: &str = "node_textfile_scrape_error";

/// One family gathered from one or more files.
struct Merged {
    kind: Kind,
    help: Option<String>,
    files: Vec<String>,
    metrics: Vec<Metric>,
}

/// Families, file times and problems of one collect.
#[derive(Default)]
pub struct Merger {
    families: BTreeMap<String, Merged>,
    mtimes: BTreeMap<String, f64>,
    /// Problems to log, each with whether it sets the error gauge.
    problems: Vec<(String, bool)>,
}

impl Merger {
    /// Records an error: logged, and `node_textfile_scrape_error` is 1.
    pub fn error(&mut self, message: String) {
        self.problems.push((message, true));
    }

    /// Records what node_exporter's registry would refuse: logged only.
    fn refuse(&mut self, message: String) {
        self.problems.push((message, false));
    }

    /// Adds a file that was read and parsed without error.
    pub fn add_file(&mut self, path: &str, families: Vec<Family>, mtime: f64) {
        for family in families {
            let name = family.name.clone();
            if name == MTIME || name == SCRAPE_ERROR {
                self.refuse(format!(
                    "textfile {path:?} defines {name:?}, which the collector reports itself; skipping that family"
                ));
                continue;
            }
            match self.families.get_mut(&name) {
                None => {
                    self.families.insert(
                        name,
                        Merged {
                            kind: family.kind(),
                            help: family.help,
                            files: vec![path.to_owned()],
                            metrics: family.metrics,
                        },
                    );
                }
                Some(merged) => {
                    if merged.kind != family.kind() {
                        // node_exporter names the file in the default HELP
                        // even though the registry drops its series.
                        merged.files.push(path.to_owned());
                        let message = format!(
                            "inconsistent metric type: metric={name} original_type={} new_type={} file={:?}; skipping it in {path:?}",
                            merged.kind.as_str(),
                            family.kind().as_str(),
                            merged.files[0],
                        );
                        self.refuse(message);
                        continue;
                    }
                    if let (Some(old), Some(new)) = (&merged.help, &family.help)
                        && old != new
                    {
                        let message = format!(
                            "inconsistent metric help text: metric={name} original_help_text={old:?} new_help_text={new:?} file={:?}; skipping it in {path:?}",
                            merged.files[0],
                        );
                        self.error(message);
                        continue;
                    }
                    if merged.help.is_none() {
                        merged.help = family.help;
                    }
                    merged.files.push(path.to_owned());
                    merged.metrics.extend(family.metrics);
                }
            }
        }
        self.mtimes.insert(path.to_owned(), mtime);
    }

    /// The exposition: the files' families by name, then the file times and
    /// the error gauge; and every problem of the collect, in order, to log.
    pub fn families(mut self) -> (Vec<MetricFamily>, Vec<String>) {
        let mut out = Vec::with_capacity(self.families.len() + 2);
        let families = std::mem::take(&mut self.families);
        for (name, merged) in families {
            if let Some(family) = self.convert(&name, merged) {
                out.push(family);
            }
        }
        if !self.mtimes.is_empty() {
            let mut mtime =
                MetricFamily::gauge(MTIME, "Unixtime mtime of textfiles successfully read.")
                    .with_labels(["file"]);
            for (file, seconds) in &self.mtimes {
                mtime.add_gauge([file.as_str()], *seconds);
            }
            out.push(mtime);
        }
        let mut error = MetricFamily::gauge(
            SCRAPE_ERROR,
            "1 if there was an error opening or reading a file, 0 otherwise",
        );
        let errored = self.problems.iter().any(|(_, sets_gauge)| *sets_gauge);
        error.add_gauge((), if errored { 1.0 } else { 0.0 });
        out.push(error);
        (out, self.problems.into_iter().map(|(m, _)| m).collect())
    }

    /// One merged family as the plugin returns it: labels filled to their
    /// union, series sorted by label values, repeats dropped.
    fn convert(&mut self, name: &str, merged: Merged) -> Option<MetricFamily> {
        let help = merged
            .help
            .unwrap_or_else(|| format!("Metric read from {}", merged.files.join(", ")));
        let mut family = match merged.kind {
            Kind::Counter => MetricFamily::counter(name, help),
            Kind::Gauge => MetricFamily::gauge(name, help),
            Kind::Untyped => MetricFamily::unknown(name, help),
            Kind::Summary => MetricFamily::summary(name, help),
            Kind::Histogram => MetricFamily::histogram(name, help),
            // The parser refuses samples of this type.
            Kind::GaugeHistogram => return None,
        };
        let names: BTreeSet<&str> = merged
            .metrics
            .iter()
            .flat_map(|m| m.labels.iter().map(|(n, _)| n.as_str()))
            .collect();
        let names: Vec<&str> = names.into_iter().collect();
        let mut seen = HashSet::new();
        let mut rows: Vec<(Vec<&str>, &Value)> = Vec::with_capacity(merged.metrics.len());
        for metric in &merged.metrics {
            let values: Vec<&str> = names
                .iter()
                .map(|n| {
                    metric
                        .labels
                        .iter()
                        .find(|(l, _)| l == n)
                        .map_or("", |(_, v)| v.as_str())
                })
                .collect();
            if !seen.insert(values.clone()) {
                self.refuse(format!(
                    "metric {name} with labels {values:?} was read more than once; keeping the first"
                ));
                continue;
            }
            rows.push((values, &metric.value));
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        family = family.with_labels(names.iter().copied());
        for (values, value) in rows {
            match value {
                Value::Simple(v) => match merged.kind {
                    Kind::Counter => family.add_counter(values, *v),
                    Kind::Gauge => family.add_gauge(values, *v),
                    _ => family.add_unknown(values, *v),
                },
                Value::Summary {
                    quantiles,
                    sum,
                    count,
                } => family.add_summary(values, summary(quantiles, *sum, *count)),
                Value::Histogram {
                    buckets,
                    sum,
                    count,
                } => family.add_histogram(values, histogram(buckets, *sum, *count)),
            };
        }
        Some(family)
    }
}

/// Quantiles sorted, the last of a repeated quantile winning (client_golang
/// keeps them in a map).
fn summary(quantiles: &[(f64, f64)], sum: f64, count: u64) -> SummaryValue {
    let mut by_q: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for &(q, v) in quantiles {
        by_q.insert(sort_key(q), (q, v));
    }
    SummaryValue::from_quantiles(by_q.into_values(), sum, count)
}

/// Buckets sorted, the last of a repeated bound winning, and a `+Inf`
/// bucket holding the count when the file has none (as client_golang
/// writes one).
fn histogram(buckets: &[(f64, u64)], sum: f64, count: u64) -> HistogramValue {
    let mut by_le: BTreeMap<u64, (f64, u64)> = BTreeMap::new();
    for &(le, n) in buckets {
        by_le.insert(sort_key(le), (le, n));
    }
    let mut sorted: Vec<(f64, u64)> = by_le.into_values().collect();
    if sorted.last().is_none_or(|(le, _)| *le != f64::INFINITY) {
        sorted.push((f64::INFINITY, count));
    }
    HistogramValue::from_cumulative(sorted, sum, count)
}

/// A key that sorts floats in numeric order (NaN last).
fn sort_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}
