//! A classic histogram with cumulative output and the latest exemplar per
//! bucket, as client_golang's `Histogram` keeps them.

use crate::{Bucket, Exemplar, HistogramValue};

/// Most characters an exemplar's label names and values may hold together.
pub use crate::rules::MAX_EXEMPLAR_RUNES;

/// `count` upper bounds from `start`, `width` apart. Computed by repeated
/// addition, as client_golang's `LinearBuckets` does, so that the bounds are
/// bit-identical to a Go exporter's.
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Vec<f64> {
    let mut bounds = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        bounds.push(b);
        b += width;
    }
    bounds
}

/// `count` upper bounds from `start`, each `factor` times the previous.
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    let mut bounds = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        bounds.push(b);
        b *= factor;
    }
    bounds
}

/// A histogram of observations.
#[derive(Debug, Clone)]
pub struct Histogram {
    /// Finite upper bounds, sorted; `+Inf` is implied.
    bounds: Vec<f64>,
    /// Non-cumulative counts, one per bound plus `+Inf`.
    counts: Vec<u64>,
    exemplars: Vec<Option<Exemplar>>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// A histogram with these upper bounds (sorted; a trailing `+Inf` and
    /// NaNs are dropped, duplicates merged).
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        let mut bounds: Vec<f64> = bounds
            .into_iter()
            .filter(|b| !b.is_nan() && *b != f64::INFINITY)
            .collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let n = bounds.len() + 1;
        Histogram {
            bounds,
            counts: vec![0; n],
            exemplars: vec![None; n],
            sum: 0.0,
            count: 0,
        }
    }

    /// Index of the bucket `v` falls in (`le` is inclusive).
    fn bucket(&self, v: f64) -> usize {
        if v.is_nan() {
            return self.bounds.len();
        }
        self.bounds.partition_point(|&b| b < v)
    }

    /// Records one observation.
    pub fn observe(&mut self, v: f64) {
        let i = self.bucket(v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// Records one observation and keeps `exemplar` as its bucket's latest.
    /// An exemplar whose labels exceed [`MAX_EXEMPLAR_RUNES`] is not kept
    /// (the observation is); returns whether it was kept.
    pub fn observe_with_exemplar(&mut self, v: f64, exemplar: Exemplar) -> bool {
        let i = self.bucket(v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
        let runes: usize = exemplar
            .labels
            .iter()
            .map(|l| l.name.chars().count() + l.value.chars().count())
            .sum();
        if runes > MAX_EXEMPLAR_RUNES {
            return false;
        }
        self.exemplars[i] = Some(exemplar);
        true
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The finite upper bounds.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The value to export: cumulative buckets ending in `+Inf`.
    pub fn value(&self) -> HistogramValue {
        let mut cumulative = 0;
        let buckets = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                cumulative += c;
                Bucket {
                    upper_bound: self.bounds.get(i).copied().unwrap_or(f64::INFINITY),
                    cumulative_count: cumulative,
                    exemplar: self.exemplars[i].clone(),
                }
            })
            .collect();
        HistogramValue {
            buckets,
            sum: self.sum,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_buckets_match_client_golang() {
        // The reference output of client_golang's random example.
        let b = linear_buckets(0.00001 - 5.0 * 0.0002, 0.5 * 0.0002, 20);
        assert_eq!(b.len(), 20);
        assert_eq!(b[0], -0.00099);
        assert_eq!(b[2], -0.0007899999999999999);
        assert_eq!(b[9], -8.999999999999979e-05);
        assert_eq!(b[10], 1.0000000000000216e-05);
        assert_eq!(b[19], 0.0009100000000000004);
    }

    #[test]
    fn buckets_are_cumulative_and_match_a_direct_count() {
        let bounds = [1.0, 2.0, 5.0];
        let mut h = Histogram::new(bounds);
        let values = [0.5, 1.0, 1.5, 2.0, 4.9, 5.0, 5.1, 100.0, -3.0];
        for v in values {
            h.observe(v);
        }
        let value = h.value();
        assert_eq!(value.count, values.len() as u64);
        assert_eq!(value.sum, values.iter().sum::<f64>());
        let mut previous = 0;
        for b in &value.buckets {
            let direct = values.iter().filter(|&&v| v <= b.upper_bound).count() as u64;
            assert_eq!(b.cumulative_count, direct, "le={}", b.upper_bound);
            assert!(b.cumulative_count >= previous);
            previous = b.cumulative_count;
        }
        assert_eq!(
            value.buckets.last().map(|b| b.upper_bound),
            Some(f64::INFINITY)
        );
    }

    #[test]
    fn exemplars_land_in_their_bucket_and_are_capped() {
        let mut h = Histogram::new([1.0, 2.0]);
        assert!(h.observe_with_exemplar(1.5, Exemplar::new([("id", "a")], 1.5)));
        assert!(h.observe_with_exemplar(1.7, Exemplar::new([("id", "b")], 1.7)));
        let long = "x".repeat(127);
        assert!(!h.observe_with_exemplar(0.5, Exemplar::new([("id", long.as_str())], 0.5)));
        let v = h.value();
        assert!(v.buckets[0].exemplar.is_none());
        let latest = v.buckets[1]
            .exemplar
            .as_ref()
            .map(|e| e.labels[0].value.clone());
        assert_eq!(latest.as_deref(), Some("b"));
        assert_eq!(v.count, 3);
    }
}
