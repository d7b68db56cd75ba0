//! A small seeded generator (xoshiro256++, seeded through SplitMix64) with
//! the three distributions the simulator draws from.

/// Random number generator for the simulator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose stream is fixed by `seed`.
    pub fn seeded(seed: u64) -> Self {
        let mut state = seed;
        Rng {
            s: [
                splitmix(&mut state),
                splitmix(&mut state),
                splitmix(&mut state),
                splitmix(&mut state),
            ],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on [0, 1), like Go's `rand.Float64`.
    pub fn float64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, like Go's `rand.NormFloat64` (Marsaglia's polar
    /// method rather than Go's ziggurat: same distribution).
    pub fn norm_float64(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.float64() - 1.0;
            let v = 2.0 * self.float64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Exponential with rate 1, like Go's `rand.ExpFloat64`.
    pub fn exp_float64(&mut self) -> f64 {
        -(1.0 - self.float64()).ln()
    }

    /// Uniform integer in [0, n), like Go's `rand.Intn`.
    pub fn intn(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift; the bias is below 2^-40 for n < 2^24.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        (mean, xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::seeded(1);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| r.float64()).collect();
        let (m, v) = mean_var(&u);
        assert!(
            (m - 0.5).abs() < 0.005 && (v - 1.0 / 12.0).abs() < 0.002,
            "uniform {m} {v}"
        );
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let z: Vec<f64> = (0..n).map(|_| r.norm_float64()).collect();
        let (m, v) = mean_var(&z);
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02, "normal {m} {v}");
        let e: Vec<f64> = (0..n).map(|_| r.exp_float64()).collect();
        let (m, v) = mean_var(&e);
        assert!(
            (m - 1.0).abs() < 0.01 && (v - 1.0).abs() < 0.05,
            "exp {m} {v}"
        );
        assert!((0..10_000).all(|_| r.intn(100_000) < 100_000));
    }

    #[test]
    fn seeds_fix_the_stream() {
        let a: Vec<u64> = {
            let mut r = Rng::seeded(9);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::seeded(9);
            (0..5).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(Rng::seeded(9).next_u64(), Rng::seeded(10).next_u64());
    }
}
