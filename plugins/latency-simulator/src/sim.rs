//! The simulation itself, free of WASI: three services observed on the Go
//! program's schedule, replayed up to the time of each collect.
//!
//! The Go program runs three goroutines, each of which observes a value and
//! then sleeps `base · f` milliseconds (truncated to whole milliseconds),
//! where `f = 2 + sin(sin(2π·t/period))` and `t` is the time since start.
//! A plugin only runs when collected, so [`Simulator::advance`] makes every
//! observation the goroutines would have made since the last call, each at
//! its own time.

use std::f64::consts::PI;
use std::time::Duration;

use wasm_exporter_sdk::histogram::linear_buckets;
use wasm_exporter_sdk::{
    Exemplar, Histogram, MetricFamily, NativeHistogram, NativeOptions, Summary, Timestamp,
};

use crate::rng::Rng;

/// The simulator's configuration: the Go program's flags.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Domain of the uniform service's latencies: [0, uniform_domain).
    pub uniform_domain: f64,
    /// Standard deviation of the normal service's latencies.
    pub normal_domain: f64,
    /// Mean of the normal service's latencies.
    pub normal_mean: f64,
    /// Period of the rate oscillation.
    #[serde(deserialize_with = "wasm_exporter_sdk::config::duration")]
    pub oscillation_period: Duration,
    /// Seed of the random stream; random when absent.
    pub seed: Option<u64>,
    /// Adds native buckets to `rpc_durations_histogram_seconds` with this
    /// bucket factor (newer client_golang versions of the example use 1.1);
    /// absent keeps the seed's classic-only output. Native buckets reach
    /// Prometheus over protobuf only.
    pub native_histogram_bucket_factor: Option<f64>,
    /// Most native buckets before the resolution is halved; 0 for no limit.
    pub native_histogram_max_buckets: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            uniform_domain: 0.0002,
            normal_domain: 0.0002,
            normal_mean: 0.00001,
            oscillation_period: Duration::from_secs(600),
            seed: None,
            native_histogram_bucket_factor: None,
            native_histogram_max_buckets: 0,
        }
    }
}

impl Config {
    /// Checks the values the Go program would silently misbehave on.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("uniform_domain", self.uniform_domain),
            ("normal_domain", self.normal_domain),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be a positive number, got {v}"));
            }
        }
        if !self.normal_mean.is_finite() {
            return Err(format!(
                "normal_mean must be finite, got {}",
                self.normal_mean
            ));
        }
        if self.oscillation_period.is_zero() {
            return Err("oscillation_period must be positive".into());
        }
        if let Some(f) = self.native_histogram_bucket_factor
            && !(f.is_finite() && f > 1.0)
        {
            return Err(format!(
                "native_histogram_bucket_factor must be a number above 1, such as 1.1, got {f}"
            ));
        }
        Ok(())
    }
}

/// Quantile objectives of `rpc_durations_seconds`, as in the Go program.
pub const OBJECTIVES: [(f64, f64); 3] = [(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];

/// The three services, in label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Exp(1)/1e6, every 50·f ms.
    Exponential,
    /// normal(mean, domain), every 75·f ms; also in the histogram.
    Normal,
    /// uniform on [0, domain), every 100·f ms.
    Uniform,
}

impl Service {
    /// All services, sorted by label value.
    pub const ALL: [Service; 3] = [Service::Exponential, Service::Normal, Service::Uniform];

    /// The `service` label value.
    pub fn label(self) -> &'static str {
        match self {
            Service::Exponential => "exponential",
            Service::Normal => "normal",
            Service::Uniform => "uniform",
        }
    }

    /// Base sleep between observations, in milliseconds.
    pub fn base_ms(self) -> f64 {
        match self {
            Service::Exponential => 50.0,
            Service::Normal => 75.0,
            Service::Uniform => 100.0,
        }
    }
}

/// The simulation state.
pub struct Simulator {
    config: Config,
    /// One generator per service, so that the draws of each service do not
    /// depend on how collects interleave them.
    rngs: [Rng; 3],
    period: f64,
    /// Unix time of t = 0, for exemplar timestamps.
    wall_start: f64,
    /// Time of each service's next observation, seconds since start.
    next_at: [f64; 3],
    summaries: [Summary; 3],
    histogram: Histogram,
    /// The same observations in native buckets (and classic ones beside),
    /// when `native_histogram_bucket_factor` is set.
    native: Option<NativeHistogram>,
}

impl Simulator {
    /// A simulator started at Unix time `wall_start`, drawing from `seed`.
    pub fn new(config: Config, seed: u64, wall_start: f64) -> Self {
        let bounds = linear_buckets(
            config.normal_mean - 5.0 * config.normal_domain,
            0.5 * config.normal_domain,
            20,
        );
        Simulator {
            rngs: std::array::from_fn(|i| Rng::seeded(seed.wrapping_add(i as u64))),
            period: config.oscillation_period.as_secs_f64(),
            wall_start,
            next_at: [0.0; 3],
            summaries: std::array::from_fn(|_| Summary::with_objectives(&OBJECTIVES, 0.0)),
            native: config.native_histogram_bucket_factor.map(|factor| {
                NativeHistogram::new(NativeOptions {
                    bucket_factor: factor,
                    max_buckets: config.native_histogram_max_buckets,
                    classic_bounds: bounds.clone(),
                    ..NativeOptions::default()
                })
            }),
            histogram: Histogram::new(bounds),
            config,
        }
    }

    /// The rate oscillation factor at `t` seconds since start.
    pub fn factor(&self, t: f64) -> f64 {
        2.0 + (2.0 * PI * t / self.period).sin().sin()
    }

    /// Makes every observation due at or before `now` (seconds since start).
    /// Observations older than the summary window only update the sum and
    /// count (and the histogram): they cannot be in the quantiles, so a
    /// long gap between collects costs no quantile-stream work.
    pub fn advance(&mut self, now: f64) {
        for (i, service) in Service::ALL.into_iter().enumerate() {
            let horizon = now - self.summaries[i].max_age_seconds();
            while self.next_at[i] <= now {
                let at = self.next_at[i];
                let v = self.draw(service, i);
                if at <= horizon {
                    self.summaries[i].observe_expired(v, at);
                } else {
                    self.summaries[i].observe(v, at);
                }
                if service == Service::Normal {
                    let id = self.rngs[i].intn(100_000).to_string();
                    let wall = self.wall_start + at;
                    let exemplar = Exemplar::new([("dummyID", id)], v).at(Timestamp::new(
                        wall.floor() as i64,
                        ((wall - wall.floor()) * 1e9) as u32,
                    ));
                    match &mut self.native {
                        Some(native) => native.observe_with_exemplar(v, exemplar),
                        None => {
                            self.histogram.observe_with_exemplar(v, exemplar);
                        }
                    }
                }
                // Go: time.Sleep(time.Duration(base*f) * time.Millisecond),
                // which truncates to whole milliseconds.
                let sleep_ms = (service.base_ms() * self.factor(at)).trunc();
                self.next_at[i] = at + sleep_ms / 1000.0;
            }
        }
    }

    fn draw(&mut self, service: Service, i: usize) -> f64 {
        let rng = &mut self.rngs[i];
        match service {
            Service::Uniform => rng.float64() * self.config.uniform_domain,
            Service::Normal => {
                rng.norm_float64() * self.config.normal_domain + self.config.normal_mean
            }
            Service::Exponential => rng.exp_float64() / 1e6,
        }
    }

    /// Observations made so far by `service`.
    pub fn count(&self, service: Service) -> u64 {
        self.summaries[service as usize].count()
    }

    /// The histogram of the normal service.
    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }

    /// The summary of `service`.
    pub fn summary_mut(&mut self, service: Service) -> &mut Summary {
        &mut self.summaries[service as usize]
    }

    /// The two families, as of `now` (seconds since start).
    pub fn families(&mut self, now: f64) -> Vec<MetricFamily> {
        let mut durations =
            MetricFamily::summary("rpc_durations_seconds", "RPC latency distributions.")
                .with_labels(["service"]);
        for (i, service) in Service::ALL.into_iter().enumerate() {
            durations.add_summary([service.label()], self.summaries[i].value(now));
        }
        let mut histogram = MetricFamily::histogram(
            "rpc_durations_histogram_seconds",
            "RPC latency distributions.",
        );
        match &self.native {
            Some(native) => histogram.add_native_histogram((), native.value()),
            None => histogram.add_histogram((), self.histogram.value()),
        };
        vec![durations, histogram]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::SampleValue;

    fn sim() -> Simulator {
        Simulator::new(Config::default(), 42, 1_700_000_000.0)
    }

    /// ∫₀ᵀ dt / (base·f(t)/1000): the number of observations the schedule
    /// implies, by the midpoint rule.
    fn expected_count(s: &Simulator, service: Service, span: f64) -> f64 {
        let steps = 200_000;
        let dt = span / f64::from(steps);
        (0..steps)
            .map(|k| {
                let t = (f64::from(k) + 0.5) * dt;
                dt * 1000.0 / (service.base_ms() * s.factor(t))
            })
            .sum()
    }

    #[test]
    fn counts_follow_the_oscillating_rate() {
        // Over one full period and over half of one (where the rate is far
        // from its mean), within 1.5%: the Go program truncates each sleep to
        // whole milliseconds, which makes it up to ~0.5% faster than the
        // integral.
        for span in [600.0, 300.0, 1234.5] {
            let mut s = sim();
            s.advance(span);
            for service in Service::ALL {
                let want = expected_count(&s, service, span);
                let got = s.count(service) as f64;
                let error = (got - want) / want;
                assert!(
                    error.abs() < 0.015,
                    "{}: {got} observations in {span} s, expected {want:.1} ({:.2}%)",
                    service.label(),
                    error * 100.0
                );
            }
        }
    }

    #[test]
    fn oscillation_factor_matches_the_go_formula() {
        let s = sim();
        assert_eq!(s.factor(0.0), 2.0);
        assert!((s.factor(150.0) - (2.0 + 1f64.sin())).abs() < 1e-12);
        assert!((s.factor(450.0) - (2.0 - 1f64.sin())).abs() < 1e-12);
        // The first observations come at t = 0, as the goroutines start.
        let mut s = sim();
        s.advance(0.0);
        assert!(Service::ALL.iter().all(|&svc| s.count(svc) == 1));
    }

    #[test]
    fn replay_is_the_same_in_one_step_or_many() {
        let mut one = sim();
        one.advance(1500.0);
        let mut many = sim();
        let mut t = 0.0;
        while t < 1500.0 {
            t = (t + 7.3f64).min(1500.0);
            many.advance(t);
        }
        assert_eq!(one.families(1500.0), many.families(1500.0));
    }

    #[test]
    fn histogram_is_cumulative_and_matches_the_normal_count() {
        let mut s = sim();
        s.advance(120.0);
        let v = s.histogram().value();
        assert_eq!(v.count, s.count(Service::Normal));
        assert_eq!(v.buckets.len(), 21);
        assert!(
            v.buckets
                .windows(2)
                .all(|w| w[0].cumulative_count <= w[1].cumulative_count)
        );
        assert_eq!(v.buckets.last().map(|b| b.cumulative_count), Some(v.count));
        // Bounds as in the reference output of the Go program.
        assert_eq!(v.buckets[0].upper_bound, -0.00099);
        assert_eq!(v.buckets[10].upper_bound, 1.0000000000000216e-05);
        assert_eq!(v.buckets[19].upper_bound, 0.0009100000000000004);
    }

    #[test]
    fn exemplars_are_in_range_for_their_bucket() {
        let mut s = sim();
        s.advance(300.0);
        let v = s.histogram().value();
        let mut seen = 0;
        let mut lower = f64::NEG_INFINITY;
        for b in &v.buckets {
            if let Some(e) = &b.exemplar {
                seen += 1;
                assert!(
                    e.value > lower && e.value <= b.upper_bound,
                    "exemplar {} not in ({lower}, {}]",
                    e.value,
                    b.upper_bound
                );
                assert_eq!(e.labels.len(), 1);
                assert_eq!(e.labels[0].name, "dummyID");
                let id: u64 = e.labels[0].value.parse().unwrap_or(u64::MAX);
                assert!(id < 100_000);
                let runes: usize = e
                    .labels
                    .iter()
                    .map(|l| l.name.chars().count() + l.value.chars().count())
                    .sum();
                assert!(runes <= 128);
                let ts = e.timestamp.map(|t| t.seconds).unwrap_or(0);
                assert!((1_700_000_000..=1_700_000_300).contains(&ts), "{ts}");
            }
            lower = b.upper_bound;
        }
        assert!(seen >= 10, "only {seen} buckets have exemplars");
    }

    #[test]
    fn summary_quantiles_track_the_distributions() {
        let mut s = sim();
        s.advance(600.0);
        let families = s.families(600.0);
        let SampleValue::Summary(uniform) = &families[0].series[2].value else {
            panic!("not a summary")
        };
        assert_eq!(families[0].series_labels(2), ["uniform"]);
        // The median of uniform[0, 0.0002) is 0.0001, within its 5% rank error.
        let median = uniform.quantiles[0].value;
        assert!((median - 0.0001).abs() < 0.0002 * 0.06, "median {median}");
        let p99 = uniform.quantiles[2].value;
        // Rank error 0.1% plus the sampling error of ~3000 values in the window.
        assert!((p99 - 0.000198).abs() < 0.0002 * 0.005, "p99 {p99}");
    }

    #[test]
    fn long_gaps_keep_count_and_sum_honest() {
        // A collect after 3 hours replays everything, the summary window only
        // for its last 10 minutes, and gives the same result as small steps.
        let span = 3.0 * 3600.0;
        let mut gap = sim();
        gap.advance(span);
        let mut steady = sim();
        let mut t = 0.0;
        while t < span {
            t = (t + 15.0f64).min(span);
            steady.advance(t);
        }
        for service in Service::ALL {
            assert_eq!(gap.count(service), steady.count(service));
            let (a, b) = (
                gap.summary_mut(service).sum(),
                steady.summary_mut(service).sum(),
            );
            assert_eq!(a, b);
        }
        assert_eq!(gap.families(span), steady.families(span));
    }

    #[test]
    fn config_defaults_and_validation() {
        let c: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(c.oscillation_period, Duration::from_secs(600));
        assert_eq!(c.uniform_domain, 0.0002);
        let c: Config = serde_json::from_str(r#"{"oscillation_period":"30s","seed":7}"#).unwrap();
        assert_eq!(
            (c.oscillation_period, c.seed),
            (Duration::from_secs(30), Some(7))
        );
        let typo = serde_json::from_str::<Config>(r#"{"typo":1}"#).unwrap_err();
        assert!(typo.to_string().contains("unknown field `typo`"), "{typo}");
        let bare = serde_json::from_str::<Config>(r#"{"oscillation_period":600}"#).unwrap_err();
        assert!(bare.to_string().contains("a number needs a unit"), "{bare}");
        let bad = Config {
            normal_domain: -1.0,
            ..Config::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn native_buckets_are_off_by_default_and_beside_the_same_classic_ones_when_asked() {
        let mut classic = sim();
        let mut native = Simulator::new(
            Config {
                native_histogram_bucket_factor: Some(1.1),
                ..Config::default()
            },
            42,
            1_700_000_000.0,
        );
        let plain = classic.families(120.0);
        assert!(matches!(
            plain[1].series[0].value,
            SampleValue::Histogram(_)
        ));
        native.advance(120.0);
        classic.advance(120.0);
        let families = native.families(120.0);
        let n = families[1]
            .native_value(&families[1].series[0].value)
            .unwrap_or_else(|| panic!("no native histogram: {:?}", families[1].series[0].value));
        assert_eq!(n.schema, 3);
        assert_eq!(n.count, classic.count(Service::Normal));
        let buckets: u64 = n.positive.iter().chain(&n.negative).map(|b| b.count).sum();
        assert_eq!(buckets + n.zero_count, n.count);
        assert!(!n.negative.is_empty() && !n.positive.is_empty());
        assert_eq!(n.classic, classic.histogram().value().buckets);
        assert!(!n.exemplars.is_empty() && n.exemplars.len() <= 10);
        assert!(n.exemplars.iter().all(|e| e.timestamp.is_some()));
        let bad = Config {
            native_histogram_bucket_factor: Some(1.0),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
    }
}
