//! Running a collector natively, in a plugin's own unit tests
//! (`cargo test`, no wasm, no exporter): [`run`] parses the config as the
//! host hands it over and calls `collect`; [`respond`] sets what
//! [`fetch`](crate::fetch::fetch) answers for a target; [`check`] holds the
//! families to the exporter's rules ([`crate::rules`], the same code the
//! host runs) and names what it would drop, with the fix.
//!
//! ```rust
//! use wasm_exporter_sdk::fetch::{fetch, Request, Response};
//! use wasm_exporter_sdk::{testing, CollectError, MetricFamily};
//!
//! fn collect() -> Result<Vec<MetricFamily>, CollectError> {
//!     let up = match fetch(&Request::new("http://127.0.0.1:8080/health")) {
//!         Ok(r) if r.status == 200 => 1.0,
//!         _ => 0.0,
//!     };
//!     let mut family = MetricFamily::gauge("app_up", "Whether the app answers.");
//!     family.add_gauge((), up);
//!     Ok(vec![family])
//! }
//!
//! testing::respond_with("http://127.0.0.1:8080/health", 200, "ok");
//! let families = collect().unwrap();
//! assert_eq!(families[0].series.len(), 1);
//! assert_eq!(testing::requests()[0].target, "http://127.0.0.1:8080/health");
//! ```
//!
//! Stand-ins are per thread, as Rust runs each test on its own thread.

use std::cell::RefCell;

use crate::fetch::{FetchError, Request, Response};
use crate::rules::{self, Rule};
use crate::{Collector, MetricFamily, MetricKind, SampleValue, strings};

thread_local! {
    static STANDINS: RefCell<Vec<(String, Result<Response, FetchError>)>> =
        const { RefCell::new(Vec::new()) };
    static ASKED: RefCell<Vec<Request>> = const { RefCell::new(Vec::new()) };
}

/// From now on, a fetch of exactly `target` gets `answer` (replacing an
/// earlier stand-in for it).
pub fn respond(target: impl Into<String>, answer: Result<Response, FetchError>) {
    let target = target.into();
    STANDINS.with(|s| {
        let mut s = s.borrow_mut();
        s.retain(|(t, _)| *t != target);
        s.push((target, answer));
    });
}

/// A stand-in response with `status` and `body`.
pub fn respond_with(target: impl Into<String>, status: u16, body: impl Into<Vec<u8>>) {
    respond(target, Ok(Response::new(status, body)));
}

/// The requests made so far on this thread, in order.
pub fn requests() -> Vec<Request> {
    ASKED.with(|a| a.borrow().clone())
}

/// Forgets every stand-in and request of this thread.
pub fn reset() {
    STANDINS.with(|s| s.borrow_mut().clear());
    ASKED.with(|a| a.borrow_mut().clear());
}

/// What `fetch` does natively: the stand-in for the target, or `denied`,
/// as the host answers a target the grants do not allow. A request with a
/// zero timeout is a grants check ([`crate::fetch::check_granted`]): never
/// sent, so not among [`requests`]; natively every target is granted unless
/// its stand-in is a `denied` or `invalid-target` error.
pub(crate) fn fetch(request: &Request) -> Result<Response, FetchError> {
    if request.timeout_ms == Some(0) {
        return STANDINS.with(
            |s| match s.borrow().iter().find(|(t, _)| *t == request.target) {
                Some((_, Err(e @ (FetchError::Denied(_) | FetchError::InvalidTarget(_))))) => {
                    Err(e.clone())
                }
                _ => Err(FetchError::Timeout),
            },
        );
    }
    ASKED.with(|a| a.borrow_mut().push(request.clone()));
    STANDINS.with(|s| {
        s.borrow()
            .iter()
            .find(|(t, _)| *t == request.target)
            .map(|(_, answer)| answer.clone())
            .unwrap_or_else(|| {
                Err(FetchError::Denied(format!(
                    "no stand-in for {}: set one with testing::respond",
                    request.target
                )))
            })
    })
}

/// Starts `C` with `config_json` (the plugin's `config:` as the host hands
/// it to `init`; `""` for none), collects `scrapes` times (at least once) and
/// returns the last collect's families. Their label values resolve with
/// [`MetricFamily::series_labels`] until the next collect.
pub fn run<C: Collector>(config_json: &str, scrapes: usize) -> Result<Vec<MetricFamily>, String> {
    let config = crate::__private::parse_config::<C>(config_json).map_err(|e| format!("{e:?}"))?;
    let mut collector = C::init(config).map_err(|e| format!("init: {e:?}"))?;
    let mut last = Vec::new();
    for _ in 0..scrapes.max(1) {
        strings::reset();
        last = collector
            .collect()
            .map_err(|e| format!("collect: {}", e.message))?;
    }
    Ok(last)
}

/// Starts `C` with `config_json` and probes `target` with `params` once,
/// as the exporter does for `/probe?module=NAME&target=...`; the families'
/// label values resolve until the next call.
pub fn probe<C: crate::Prober>(
    config_json: &str,
    target: &str,
    params: &[(String, String)],
) -> Result<Vec<MetricFamily>, String> {
    let config = crate::__private::parse_config::<C>(config_json).map_err(|e| format!("{e:?}"))?;
    let mut prober = C::init(config).map_err(|e| format!("init: {e:?}"))?;
    strings::reset();
    prober
        .probe(target, params)
        .map_err(|e| format!("probe: {}", e.message))
}

/// Something the exporter would drop: the family, the series when one is
/// at fault, the rule and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Family name.
    pub family: String,
    /// The series' label values, when one series is at fault.
    pub series: Option<Vec<String>>,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong.
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "family {}", self.family)?;
        if let Some(series) = &self.series {
            write!(f, ", series {series:?}")?;
        }
        write!(
            f,
            " [rule {}]: {} (fix: {})",
            self.rule.as_str(),
            self.why,
            self.rule.fix()
        )
    }
}

/// Holds `families` (from [`run`] or a direct `collect`) to the rules the
/// exporter applies, with its default limits: `Ok` when it would serve them
/// all, else every family it would drop, and why. The label values are
/// resolved through this collect's string table, so call it before the
/// next collect.
///
/// ```rust
/// use wasm_exporter_sdk::{MetricFamily, testing, rules::Rule};
///
/// let mut h = MetricFamily::histogram("job_seconds", "Job time.");
/// h.add_histogram((), wasm_exporter_sdk::HistogramValue::from_cumulative(
///     [(1.0, 5), (2.0, 3), (f64::INFINITY, 6)], 9.0, 6));
/// let problems = testing::check(&[h]).unwrap_err();
/// assert_eq!(problems[0].rule, Rule::Buckets);
/// ```
pub fn check(families: &[MetricFamily]) -> Result<(), Vec<Problem>> {
    let problems: Vec<Problem> = families
        .iter()
        .filter_map(|f| check_family(f).err())
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_family(f: &MetricFamily) -> Result<(), Problem> {
    let problem = |rule: Rule, why: String| Problem {
        family: f.name.clone(),
        series: None,
        rule,
        why,
    };
    let base = match f.kind {
        MetricKind::Counter => f.name.strip_suffix("_total").unwrap_or(&f.name),
        MetricKind::Info => f.name.strip_suffix("_info").unwrap_or(&f.name),
        _ => &f.name,
    };
    if !rules::is_metric_name(&f.name) {
        return Err(problem(
            Rule::MetricName,
            format!(
                "invalid metric name {:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                f.name
            ),
        ));
    }
    // Every sample name is the base name and a suffix.
    if rules::host_owns_escaped(base).is_some()
        || rules::host_owns_escaped(&format!("{base}_")).is_some()
    {
        return Err(problem(
            Rule::HostName,
            format!("{} is a name the host serves", f.name),
        ));
    }
    rules::check_unit(base, &f.unit).map_err(|why| problem(Rule::Unit, why))?;
    let reserves = match f.kind {
        MetricKind::Histogram | MetricKind::GaugeHistogram => rules::Reserves::Le,
        MetricKind::Summary => rules::Reserves::Quantile,
        MetricKind::Stateset => rules::Reserves::OwnName,
        _ => rules::Reserves::Nothing,
    };
    rules::check_label_names(
        &f.label_names,
        reserves,
        base,
        rules::DEFAULT_MAX_LABEL_NAME_LENGTH,
    )
    .map_err(|(rule, why)| problem(rule, why))?;
    rules::check_label_indices(
        &f.label_values,
        f.label_names.len(),
        f.series.len(),
        strings::len(),
    )
    .map_err(|(rule, why)| problem(rule, why))?;
    let mut seen = std::collections::HashSet::new();
    for (i, series) in f.series.iter().enumerate() {
        let values = f.series_labels(i);
        let at = |rule: Rule, why: String| Problem {
            family: f.name.clone(),
            series: Some(values.clone()),
            rule,
            why,
        };
        if let Some(v) = values
            .iter()
            .find(|v| v.len() > rules::DEFAULT_MAX_LABEL_VALUE_LENGTH)
        {
            return Err(at(
                Rule::LabelValueLength,
                format!("label value of {} bytes exceeds the limit", v.len()),
            ));
        }
        for t in [series.timestamp, series.created].into_iter().flatten() {
            rules::check_nanos(t.nanoseconds).map_err(|why| at(Rule::Timestamp, why))?;
        }
        check_value(f, &series.value, base).map_err(|(rule, why)| at(rule, why))?;
        if !seen.insert(values.clone()) {
            return Err(at(Rule::DuplicateSeries, "duplicate series".into()));
        }
    }
    Ok(())
}

fn exemplar(e: &Option<crate::Exemplar>) -> Result<(), (Rule, String)> {
    let Some(e) = e else { return Ok(()) };
    rules::check_exemplar(
        e.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
        rules::DEFAULT_MAX_LABEL_NAME_LENGTH,
        rules::DEFAULT_MAX_LABEL_VALUE_LENGTH,
    )
    .and_then(|()| {
        e.timestamp
            .map_or(Ok(()), |t| rules::check_nanos(t.nanoseconds))
    })
    .map_err(|why| (Rule::Exemplar, why))
}

fn classic(buckets: &[crate::Bucket], count: u64) -> Result<(), (Rule, String)> {
    rules::check_buckets(
        buckets.iter().map(|b| (b.upper_bound, b.cumulative_count)),
        count,
    )
    .map_err(|why| (Rule::Buckets, why))?;
    buckets.iter().try_for_each(|b| exemplar(&b.exemplar))
}

fn check_value(f: &MetricFamily, value: &SampleValue, base: &str) -> Result<(), (Rule, String)> {
    let kind_matches = matches!(
        (f.kind, value),
        (MetricKind::Counter, SampleValue::Counter(_))
            | (MetricKind::Gauge, SampleValue::Gauge(_))
            | (MetricKind::Unknown, SampleValue::Unknown(_))
            | (
                MetricKind::Histogram,
                SampleValue::Histogram(_) | SampleValue::NativeHistogram(_)
            )
            | (
                MetricKind::GaugeHistogram,
                SampleValue::GaugeHistogram(_) | SampleValue::NativeGaugeHistogram(_)
            )
            | (MetricKind::Summary, SampleValue::Summary(_))
            | (MetricKind::Info, SampleValue::Info)
            | (MetricKind::Stateset, SampleValue::Stateset(_))
    );
    if !kind_matches {
        return Err((
            Rule::ValueKind,
            format!("a {value:?} value in a {:?} family", f.kind),
        ));
    }
    match value {
        SampleValue::Counter(c) => {
            rules::check_counter(c.total).map_err(|why| (Rule::CounterValue, why))?;
            exemplar(&c.exemplar)
        }
        SampleValue::Histogram(h) | SampleValue::GaugeHistogram(h) => classic(&h.buckets, h.count),
        SampleValue::NativeHistogram(i) | SampleValue::NativeGaugeHistogram(i) => {
            let Some(n) = f.native_value(value) else {
                return Err((
                    Rule::NativeHistogram,
                    format!(
                        "native histogram index {i} outside the family's {}",
                        f.native_histograms.len()
                    ),
                ));
            };
            fn pair(b: &crate::NativeBucket) -> (i32, u64) {
                (b.index, b.count)
            }
            rules::check_native(
                n.schema,
                n.zero_threshold,
                n.zero_count,
                [n.negative.iter().map(pair), n.positive.iter().map(pair)],
                n.count,
                n.sum,
                n.exemplars.iter().filter(|e| e.timestamp.is_none()).count(),
            )
            .map_err(|why| (Rule::NativeHistogram, why))?;
            for e in &n.exemplars {
                exemplar(&Some(e.clone()))?;
            }
            if n.classic.is_empty() {
                Ok(())
            } else {
                classic(&n.classic, n.count)
            }
        }
        SampleValue::Summary(s) => {
            rules::check_quantiles(s.quantiles.iter().map(|q| q.quantile), s.sum, s.count)
                .map_err(|why| (Rule::Quantiles, why))
        }
        SampleValue::Stateset(states) => rules::check_states(
            states.iter().map(|s| s.name.as_str()),
            rules::DEFAULT_MAX_LABEL_VALUE_LENGTH,
            base,
        )
        .map_err(|why| (Rule::States, why)),
        SampleValue::Gauge(_) | SampleValue::Unknown(_) | SampleValue::Info => Ok(()),
    }
}
