//! A native histogram with exponential buckets, as client_golang's
//! `Histogram` keeps one when `NativeHistogramBucketFactor` is set: the
//! schema picked from a bucket factor, a zero bucket, sparse buckets created
//! as observations arrive, the resolution halved while there are more
//! buckets than allowed, and the latest exemplars (each with a timestamp).
//! Classic buckets can be kept beside, for scrapers that read only those.

use std::collections::{BTreeMap, VecDeque};

use crate::histogram::Histogram;
use crate::rules::NATIVE_SCHEMAS;
use crate::{Exemplar, NativeBucket, NativeHistogramValue, Timestamp};

/// client_golang's default zero threshold, 2^-128.
pub const DEFAULT_ZERO_THRESHOLD: f64 = f64::from_bits(0x37f0_0000_0000_0000);

/// client_golang's default bucket factor: at most 10% growth from one
/// bucket to the next (schema 3).
pub const DEFAULT_BUCKET_FACTOR: f64 = 1.1;

/// How many exemplars are kept unless told otherwise (client_golang's
/// `NativeHistogramMaxExemplars` default).
pub const DEFAULT_MAX_EXEMPLARS: usize = 10;

/// The schema whose bucket growth is the largest not above `factor`:
/// 1.1 → 3, 2 → 0, 65536 → -4; clamped to -4..=8. A factor at or below 1
/// takes the finest schema, 8.
pub fn schema_for_factor(factor: f64) -> i8 {
    if factor.is_nan() || factor <= 1.0 {
        return *NATIVE_SCHEMAS.end();
    }
    let floor = factor.log2().log2().floor();
    if floor <= -8.0 {
        *NATIVE_SCHEMAS.end()
    } else if floor >= 4.0 {
        *NATIVE_SCHEMAS.start()
    } else {
        -(floor as i8)
    }
}

/// The index of the bucket `|v|` falls in at `schema`: bucket `i` holds
/// `(2^((i-1)·2^-schema), 2^(i·2^-schema)]`. Infinities take the last
/// index.
pub fn bucket_index(v: f64, schema: i8) -> i32 {
    let v = v.abs();
    if v.is_infinite() {
        return i32::MAX;
    }
    let (frac, exp) = frexp(v);
    if schema > 0 {
        let n = 1i32 << schema;
        // Bounds of the fraction in [0.5, 1): 0.5·2^(j/n).
        let j = (0..n)
            .find(|&j| 0.5 * (f64::from(j) / f64::from(n)).exp2() >= frac)
            .unwrap_or(n);
        j + (exp - 1) * n
    } else {
        let mut key = exp;
        if frac == 0.5 {
            key -= 1;
        }
        let shift = -i32::from(schema);
        let offset = (1 << shift) - 1;
        (key + offset) >> shift
    }
}

/// `v = frac · 2^exp` with `frac` in [0.5, 1), for finite positive `v`.
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 {
        return (0.0, 0);
    }
    let bits = v.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    if exp_bits == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(v * 2f64.powi(64));
        return (f, e - 64);
    }
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exp_bits - 1022)
}

/// Settings of a [`NativeHistogram`], with client_golang's defaults.
#[derive(Debug, Clone)]
pub struct NativeOptions {
    /// Largest growth from one bucket's bound to the next (> 1); picks the
    /// schema.
    pub bucket_factor: f64,
    /// Observations with an absolute value up to this count in the zero
    /// bucket.
    pub zero_threshold: f64,
    /// Most buckets (both signs together) before the resolution is halved;
    /// 0 for no limit.
    pub max_buckets: usize,
    /// Most exemplars kept (the latest ones).
    pub max_exemplars: usize,
    /// Classic bucket bounds to keep beside the native buckets; empty for
    /// none.
    pub classic_bounds: Vec<f64>,
}

impl Default for NativeOptions {
    fn default() -> Self {
        NativeOptions {
            bucket_factor: DEFAULT_BUCKET_FACTOR,
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
            max_buckets: 0,
            max_exemplars: DEFAULT_MAX_EXEMPLARS,
            classic_bounds: Vec::new(),
        }
    }
}

/// A native histogram of observations.
#[derive(Debug, Clone)]
pub struct NativeHistogram {
    schema: i8,
    zero_threshold: f64,
    zero_count: u64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    count: u64,
    sum: f64,
    max_buckets: usize,
    max_exemplars: usize,
    exemplars: VecDeque<Exemplar>,
    classic: Option<Histogram>,
}

impl NativeHistogram {
    /// An empty histogram with these settings.
    pub fn new(options: NativeOptions) -> Self {
        let classic =
            (!options.classic_bounds.is_empty()).then(|| Histogram::new(options.classic_bounds));
        NativeHistogram {
            schema: schema_for_factor(options.bucket_factor),
            zero_threshold: options.zero_threshold.max(0.0),
            zero_count: 0,
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            count: 0,
            sum: 0.0,
            max_buckets: options.max_buckets,
            max_exemplars: options.max_exemplars,
            exemplars: VecDeque::new(),
            classic,
        }
    }

    /// The current schema (lower after resolution reductions).
    pub fn schema(&self) -> i8 {
        self.schema
    }

    /// Records one observation. NaN goes to the zero bucket (and makes the
    /// sum NaN), as in client_golang.
    pub fn observe(&mut self, v: f64) {
        if v > self.zero_threshold {
            *self
                .positive
                .entry(bucket_index(v, self.schema))
                .or_default() += 1;
        } else if v < -self.zero_threshold {
            *self
                .negative
                .entry(bucket_index(v, self.schema))
                .or_default() += 1;
        } else {
            self.zero_count += 1;
        }
        self.count += 1;
        self.sum += v;
        if let Some(classic) = &mut self.classic {
            classic.observe(v);
        }
        self.limit_buckets();
    }

    /// Records one observation with an exemplar. The exemplar is stamped
    /// with the current time when it has none (native exemplars need one);
    /// the latest `max_exemplars` are kept. The classic buckets keep it too.
    pub fn observe_with_exemplar(&mut self, v: f64, mut exemplar: Exemplar) {
        if exemplar.timestamp.is_none() {
            exemplar.timestamp = Some(now());
        }
        if let Some(classic) = &mut self.classic {
            classic.observe_with_exemplar(v, exemplar.clone());
            // Counted there; count here without observing it twice.
            self.classic_skip(v);
        } else {
            self.observe(v);
        }
        if self.max_exemplars > 0 {
            if self.exemplars.len() == self.max_exemplars {
                self.exemplars.pop_front();
            }
            self.exemplars.push_back(exemplar);
        }
    }

    /// [`Self::observe`] without the classic buckets, which already have it.
    fn classic_skip(&mut self, v: f64) {
        let classic = self.classic.take();
        self.observe(v);
        self.classic = classic;
    }

    /// Halves the resolution while there are more buckets than allowed.
    fn limit_buckets(&mut self) {
        if self.max_buckets == 0 {
            return;
        }
        while self.positive.len() + self.negative.len() > self.max_buckets
            && self.schema > *NATIVE_SCHEMAS.start()
        {
            self.schema -= 1;
            for side in [&mut self.positive, &mut self.negative] {
                let old = std::mem::take(side);
                for (index, count) in old {
                    // ceil(index / 2): two buckets become one.
                    let merged = index.div_euclid(2) + index.rem_euclid(2);
                    *side.entry(merged).or_default() += count;
                }
            }
        }
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The value to export.
    pub fn value(&self) -> NativeHistogramValue {
        let side = |m: &BTreeMap<i32, u64>| {
            m.iter()
                .map(|(&index, &count)| NativeBucket { index, count })
                .collect()
        };
        NativeHistogramValue {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            negative: side(&self.negative),
            positive: side(&self.positive),
            count: self.count,
            sum: self.sum,
            exemplars: self.exemplars.iter().cloned().collect(),
            classic: self
                .classic
                .as_ref()
                .map(|c| c.value().buckets)
                .unwrap_or_default(),
        }
    }
}

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanoseconds: d.subsec_nanos(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_zero_threshold_is_two_to_the_minus_128() {
        assert_eq!(DEFAULT_ZERO_THRESHOLD, 2f64.powi(-128));
    }

    #[test]
    fn bucket_factors_pick_client_golangs_schemas() {
        let table = [
            (65536.0, -4),
            (256.0, -3),
            (16.0, -2),
            (4.0, -1),
            (2.0, 0),
            (1.5, 1),
            (1.2, 2),
            (1.1, 3),
            (1.05, 4),
            (1.03, 5),
            (1.02, 6),
            (1.01, 7),
            (1.005, 8),
        ];
        for (factor, schema) in table {
            assert_eq!(schema_for_factor(factor), schema, "factor {factor}");
        }
    }

    /// Each value lands in the bucket whose bounds hold it, at every schema.
    #[test]
    fn values_land_between_their_buckets_bounds() {
        let values = [1e-9, 0.001, 0.1, 0.5, 1.0, 1.0001, 2.0, 3.0, 1024.0, 1e12];
        for schema in NATIVE_SCHEMAS {
            for v in values {
                let i = bucket_index(v, schema);
                let width = (-f64::from(schema)).exp2();
                let upper = (f64::from(i) * width).exp2();
                let lower = (f64::from(i - 1) * width).exp2();
                assert!(
                    v <= upper * (1.0 + 1e-12) && v > lower * (1.0 - 1e-12),
                    "schema {schema}: {v} in bucket {i} ({lower}, {upper}]"
                );
            }
            // Powers of two are upper bounds, inclusive.
            assert_eq!(bucket_index(1.0, schema), 0);
            assert_eq!(
                bucket_index(2.0, schema),
                if schema >= 0 { 1 << schema } else { 1 }
            );
        }
    }

    #[test]
    fn counts_add_up_and_the_zero_bucket_takes_small_values_and_nan() {
        let mut h = NativeHistogram::new(NativeOptions::default());
        for v in [0.0, 1e-40, -3.0, 0.25, 0.25, 7.0, f64::NAN] {
            h.observe(v);
        }
        let v = h.value();
        assert_eq!(v.schema, 3);
        assert_eq!(v.zero_count, 3);
        assert_eq!(v.count, 7);
        let buckets: u64 = v.positive.iter().chain(&v.negative).map(|b| b.count).sum();
        assert_eq!(buckets + v.zero_count, v.count);
        assert_eq!(v.negative.len(), 1);
        assert_eq!(v.positive.len(), 2);
        assert!(v.sum.is_nan());
    }

    #[test]
    fn too_many_buckets_halve_the_resolution_and_keep_every_count() {
        let mut h = NativeHistogram::new(NativeOptions {
            max_buckets: 4,
            ..NativeOptions::default()
        });
        for i in 1..=100 {
            h.observe(f64::from(i));
        }
        let v = h.value();
        assert!(v.positive.len() <= 4, "{} buckets", v.positive.len());
        assert!(v.schema < 3);
        assert_eq!(v.positive.iter().map(|b| b.count).sum::<u64>(), 100);
        // Every value still lies in its bucket at the reduced schema.
        for i in 1..=100 {
            let index = bucket_index(f64::from(i), v.schema);
            assert!(v.positive.iter().any(|b| b.index == index), "{i}");
        }
    }

    #[test]
    fn exemplars_get_a_timestamp_and_the_latest_are_kept_and_classic_buckets_beside() {
        let mut h = NativeHistogram::new(NativeOptions {
            max_exemplars: 2,
            classic_bounds: vec![1.0, 10.0],
            ..NativeOptions::default()
        });
        for (i, v) in [0.5, 5.0, 50.0].into_iter().enumerate() {
            h.observe_with_exemplar(v, Exemplar::new([("id", i.to_string())], v));
        }
        let v = h.value();
        assert_eq!(v.count, 3);
        assert_eq!(v.exemplars.len(), 2);
        assert!(v.exemplars.iter().all(|e| e.timestamp.is_some()));
        assert_eq!(v.exemplars[1].value, 50.0);
        let classic: Vec<u64> = v.classic.iter().map(|b| b.cumulative_count).collect();
        assert_eq!(classic, [1, 2, 3]);
        assert!(v.classic[2].exemplar.is_some());
    }
}
