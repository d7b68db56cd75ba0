//! Label values, each sent to the host once per collect.
//!
//! The builders intern every label value here and keep only its index in
//! the family ([`MetricFamily::label_values`](crate::MetricFamily)). The
//! table is emptied at the start of each `collect` and handed to the host
//! with the families, so indices are only good within the collect that made
//! them: build families fresh on every collect (the custom-collector
//! pattern), never keep them across calls.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: label values are short and not attacker-chosen inside one
/// plugin, so a fast hash beats SipHash here. A plugin's own maps keyed by
/// short strings, looked up once per series, gain as much from it
/// ([`FnvBuildHasher`]): std's `HashMap` hashes with SipHash.
#[derive(Default, Debug, Clone, Copy)]
pub struct Fnv(u64);

/// For `HashMap<K, V, FnvBuildHasher>`: see [`Fnv`].
pub type FnvBuildHasher = BuildHasherDefault<Fnv>;

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

#[derive(Default)]
struct Table {
    index: HashMap<Box<str>, u32, FnvBuildHasher>,
    strings: Vec<String>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// The index of `value` in this collect's table, adding it if new.
pub fn intern(value: &str) -> u32 {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(i) = t.index.get(value) {
            return *i;
        }
        let i = u32::try_from(t.strings.len()).unwrap_or(u32::MAX);
        t.strings.push(value.to_owned());
        t.index.insert(value.into(), i);
        i
    })
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
