//! A plugin's output as it arrived: lifted out of the guest and moved into
//! the host's types, nothing checked yet. [`super::validate::collection`]
//! is the one step that turns it into valid families.

use super::model::{Family, LabelValue};

/// What one collect returned.
#[derive(Debug, Clone, Default)]
pub struct RawCollection {
    /// The collect's label-value table, each distinct value once.
    pub strings: Vec<LabelValue>,
    /// The families, in the order the plugin gave them.
    pub families: Vec<RawFamily>,
}

/// One returned family. Its series carry no label values yet: those are
/// `label_indices` into the collection's table, the family's label names'
/// count per series, flat.
#[derive(Debug, Clone)]
pub struct RawFamily {
    /// The family, its series' `label_values` empty.
    pub family: Family,
    /// Indices into [`RawCollection::strings`].
    pub label_indices: Vec<u32>,
    /// A series pointed outside the family's native histograms, or two
    /// series at the same one: the family must be dropped.
    pub native_error: Option<String>,
}

impl RawCollection {
    /// Series in all families.
    pub fn series(&self) -> usize {
        self.families.iter().map(|f| f.family.series.len()).sum()
    }
}
