//! Label values, each sent to the host once per collect.
//!
//! The builders intern every label value here and keep only its index in
//! the family ([`MetricFamily::label_values`](crate::MetricFamily)). The
//! table is emptied at the start of each `collect` and handed to the host
//! with the families, so indices are only good within the collect that made
//! them: build families fresh on every collect (the custom-collector
//! pattern), never keep them across calls.

use std::cell::RefCell;
use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash (rustc's): a word at a time, one rotate, xor and multiply
/// per 8 bytes. Label values are short and not attacker-chosen inside one
/// plugin, so a fast hash beats std's SipHash, and FNV's byte at a time
/// (each was 7-8 % of a 500x10 HAProxy scrape's CPU). A plugin's own maps
/// keyed by short strings and looked up once per series gain as much from
/// it: `HashMap<K, V, FxBuildHasher>`.
#[derive(Default, Debug, Clone, Copy)]
pub struct Fx(u64);

/// For `HashMap<K, V, FxBuildHasher>`: see [`Fx`].
pub type FxBuildHasher = BuildHasherDefault<Fx>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    #[inline]
    fn finish(&self) -> u64 {
        // The multiply carries each input bit only upwards, so on its own
        // the low bits (which pick the bucket) never see a change in a
        // word's high bytes: `id-000001` to `id-999999` all fell into a
        // few dozen buckets and interning went quadratic. The finaliser of
        // MurmurHash3 brings every bit down to every other.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Indexing, not copy_from_slice: at the plugins' opt-level "s"
        // that stays a call to a memcpy per chunk.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // A plain loop: iterator adapters are not inlined at "s" either.
            let mut word = 0u64;
            let mut i = 0;
            while i < rest.len() {
                word |= u64::from(rest[i]) << (8 * i);
                i += 1;
            }
            self.add(word);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// The values in the order they were first seen, and an index into them
/// by hash. The index holds positions, not copies: each value is stored
/// (and allocated) once, and a table of a million values stays a few
/// megabytes of positions the cache can keep close.
#[derive(Default)]
struct Table {
    index: hashbrown::HashTable<u32>,
    strings: Vec<String>,
}

fn hash(value: &str) -> u64 {
    let mut h = Fx::default();
    h.write(value.as_bytes());
    h.finish()
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// The index of `value` in this collect's table, adding it if new.
pub fn intern(value: &str) -> u32 {
    TABLE.with(|t| {
        let Table { index, strings } = &mut *t.borrow_mut();
        let h = hash(value);
        if let Some(i) = index.find(h, |&i| strings[i as usize] == value) {
            return *i;
        }
        let i = u32::try_from(strings.len()).unwrap_or(u32::MAX);
        index.insert_unique(h, i, |&j| hash(&strings[j as usize]));
        strings.push(value.to_owned());
        i
    })
}

/// A label value already in this collect's table: series built from it
/// ([`crate::IntoLabelValues`] takes arrays and slices of them) cost no
/// lookup. Intern a value that many series share once, as a row's names
/// in a table of stats, and build every series of the row from it. Good
/// only within the collect that made it, like the table itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interned(u32);

impl Interned {
    /// `value`, interned ([`intern`]).
    pub fn new(value: &str) -> Self {
        Interned(intern(value))
    }

    /// Its index in the table.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// The value at `index`, if any (for tests and debugging).
pub fn resolve(index: u32) -> Option<String> {
    TABLE.with(|t| t.borrow().strings.get(index as usize).cloned())
}

/// How many values the table holds.
pub fn len() -> usize {
    TABLE.with(|t| t.borrow().strings.len())
}

/// Empties the table; called at the start of each collect.
pub fn reset() {
    TABLE.with(|t| *t.borrow_mut() = Table::default());
}

/// Takes the table, for the host, leaving it empty.
pub fn take() -> Vec<String> {
    TABLE.with(|t| std::mem::take(&mut *t.borrow_mut()).strings)
}

#[cfg(test)]
mod tests {
    use super::{hash, intern, len, reset, resolve};

    #[test]
    fn values_that_differ_only_at_the_end_spread_over_the_buckets() {
        // Zero-padded ids change only in a word's high bytes; the bucket is
        // picked by the low bits. 10,000 such values must not share a few
        // dozen buckets (they did before the hash was finalised).
        let buckets: std::collections::HashSet<u64> = (0..10_000)
            .map(|i| hash(&format!("series-{i:09}")) & 0xffff)
            .collect();
        assert!(buckets.len() > 8_000, "{} buckets", buckets.len());
    }

    #[test]
    fn each_value_is_stored_once_and_found_again() {
        reset();
        let first: Vec<u32> = (0..5_000).map(|i| intern(&format!("v{i}"))).collect();
        let again: Vec<u32> = (0..5_000).map(|i| intern(&format!("v{i}"))).collect();
        assert_eq!(first, again);
        assert_eq!(first, (0..5_000).collect::<Vec<u32>>());
        assert_eq!(len(), 5_000);
        assert_eq!(resolve(4_321).as_deref(), Some("v4321"));
        reset();
    }
}
