//! The one validation step: a plugin's raw output in, valid families out.
//! Caps, shape, the host's own names, and the rules of client_golang's
//! `Gatherers` and of the exposition formats all live here; the host trusts
//! nothing a plugin returns.
//!
//! A collect over a cap is refused whole ([`Refusal`]); a family that breaks
//! a rule is dropped whole ([`Invalid`], naming the [`Rule`]) and the rest
//! is kept.

mod family;
#[path = "../../../../plugins/sdk/src/rules.rs"]
pub mod rules;

use std::sync::Arc;

use super::model::{Family, LabelValue, LabelValues};
use super::raw::{RawCollection, RawFamily};
use crate::reason::Reason;
use family::validate_ordered;
pub use family::{describe_labels, validate};
pub use rules::{MAX_EXEMPLAR_RUNES, Rule, check_label_name, is_label_name, is_metric_name};

/// Why a family was dropped: the family, the rule, and what broke it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("family {family}{at}: {why}", at = at(.labels))]
pub struct Invalid {
    /// Family name.
    pub family: String,
    /// The series at fault, as `{a="x"}`, when one is.
    pub labels: Option<String>,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, in words.
    pub why: String,
}

fn at(labels: &Option<String>) -> String {
    labels
        .as_ref()
        .map(|l| format!(", series {l}"))
        .unwrap_or_default()
}

impl Invalid {
    fn new(family: &str, rule: Rule, why: impl Into<String>) -> Self {
        Invalid {
            family: family.to_owned(),
            labels: None,
            rule,
            why: why.into(),
        }
    }

    /// The `reason` the drop is counted under: a name the host owns is a
    /// clash, anything else invalid output.
    pub fn reason(&self) -> Reason {
        match self.rule {
            Rule::HostName => Reason::NameClash,
            _ => Reason::InvalidOutput,
        }
    }
}

/// A collect refused whole: it returned more than the plugin's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// More series than `limits.max_series`.
    #[error("returned {count} series, over the limit of {limit}")]
    TooManySeries {
        /// Series returned.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More families than `limits.max_families`.
    #[error("returned {count} families, over the limit of {limit}")]
    TooManyFamilies {
        /// Families returned.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

impl Refusal {
    /// The `reason` the refusal is counted under.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::TooManySeries { .. } => Reason::TooManySeries,
            Refusal::TooManyFamilies { .. } => Reason::TooManyFamilies,
        }
    }
}

/// Caps applied while validating.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Longest label value (and exemplar label value), in bytes.
    pub max_label_value_length: usize,
    /// Longest label name, in bytes.
    pub max_label_name_length: usize,
    /// Most series in one collect.
    pub max_series: usize,
    /// Most families in one collect.
    pub max_families: usize,
}

/// What a collection is checked against.
pub struct Context<'a> {
    /// The plugin's caps.
    pub limits: Caps,
    /// Labels added in front of every family's own (an instance's
    /// `labels:`), sorted by name, already checked.
    pub const_labels: &'a [(String, LabelValue)],
    /// Whether the host serves a sample or metadata name itself, as given
    /// or once escaped: the scheme under which it does
    /// ([`rules::host_owns_escaped`] in the exporter).
    pub host_owns: &'a dyn Fn(&str) -> Option<rules::Escaping>,
}

/// A collection after validation.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The valid families, each with its series sorted.
    pub families: Vec<Family>,
    /// The families dropped, and why.
    pub dropped: Vec<Invalid>,
}

/// The caps on one collect: over them it is refused whole. The runtime
/// asks this as soon as a result is lifted, so that a refused one is never
/// converted; [`collection`] asks it again, so that no path skips it.
pub fn caps(families: usize, series: usize, limits: Caps) -> Result<(), Refusal> {
    if families > limits.max_families {
        return Err(Refusal::TooManyFamilies {
            count: families,
            limit: limits.max_families,
        });
    }
    if series > limits.max_series {
        return Err(Refusal::TooManySeries {
            count: series,
            limit: limits.max_series,
        });
    }
    Ok(())
}

/// How many kinds of series ([`Shapes`]) [`collection`] keeps for the
/// families after the ones that had them.
const RECENT_SHAPES: usize = 8;

/// Validates one collect's output: the caps first (over them the collect
/// is refused whole), then each family on its own.
pub fn collection(raw: RawCollection, ctx: &Context<'_>) -> Result<Checked, Refusal> {
    let families = raw.families.len();
    caps(families, raw.series(), ctx.limits)?;
    let mut checked = Checked {
        families: Vec::with_capacity(families),
        dropped: Vec::new(),
    };
    let mut shapes = Shapes::default();
    let mut ranking = family::Ranking::new(&raw.strings);
    for RawFamily {
        family,
        label_indices,
        native_error,
    } in raw.families
    {
        let resolved = match native_error {
            Some(why) => Err(Invalid::new(&family.name, Rule::NativeHistogram, why)),
            None => resolve(
                family,
                label_indices,
                &raw.strings,
                ctx.const_labels,
                &mut shapes,
            ),
        };
        let (mut shape, mut sorted_by) = (None, None);
        match resolved.and_then(|(mut f, at)| {
            shape = at;
            check_host_names(&f, ctx.host_owns)?;
            let kept = at.map(|at| &shapes.0[at]);
            let keys = family::Keys {
                indices: kept.map_or(&[][..], |k| k.indices.as_slice()),
                ranking: &mut ranking,
            };
            let known = kept.and_then(|k| k.order.as_deref());
            sorted_by = validate_ordered(&mut f, ctx.limits, known, Some(keys))?;
            Ok(f)
        }) {
            Ok(f) => checked.families.push(f),
            Err(e) => checked.dropped.push(e),
        }
        if let (Some(at), Some(order)) = (shape, sorted_by) {
            shapes.0[at].order = Some(order);
        }
    }
    Ok(checked)
}

/// A kind of series the last few families had: their label indices (and
/// how many labels those make), the table of label values they give, and
/// the order that sorted them once one of them was out of order. A family
/// with the same indices (many plugins give every family of a kind of
/// object the same rows) has the same label values series for series: it
/// shares the table, and the same order sorts it.
struct Shape {
    width: usize,
    indices: Vec<u32>,
    table: Arc<[LabelValue]>,
    order: Option<Vec<u32>>,
}

/// The last [`RECENT_SHAPES`] kinds of series: several, because a plugin's
/// families of one kind of object come in a few shapes (with a `code`
/// label and without, say) that alternate.
#[derive(Default)]
struct Shapes(Vec<Shape>);

impl Shapes {
    /// Where the shape of `width` labels per series at `indices` is: kept,
    /// or made now, its table from `strings` after `const_labels`
    /// (forgetting the oldest past [`RECENT_SHAPES`]). `indices` fit: they
    /// were checked against `strings` and the series.
    fn find_or_make(
        &mut self,
        width: usize,
        indices: Vec<u32>,
        strings: &[LabelValue],
        const_labels: &[(String, LabelValue)],
    ) -> usize {
        if let Some(at) = self
            .0
            .iter()
            .rposition(|s| s.width == width && s.indices == indices)
        {
            return at;
        }
        // Made in place from an iterator of known length: collected into a
        // `Vec` first, the table was copied, and a million series held both
        // copies at once.
        let (c, row) = (const_labels.len(), const_labels.len() + width);
        let table: Arc<[LabelValue]> = (0..indices.len() / width * row)
            .map(|k| match (k / row, k % row) {
                (_, col) if col < c => const_labels[col].1.clone(),
                (series, col) => strings[indices[series * width + col - c] as usize].clone(),
            })
            .collect();
        if self.0.len() == RECENT_SHAPES {
            self.0.remove(0);
        }
        self.0.push(Shape {
            width,
            indices,
            table,
            order: None,
        });
        self.0.len() - 1
    }
}

/// Gives each series its label values from the table, the constant labels
/// first, as rows of one table per family: an earlier family's of the same
/// shape, else one of its own (kept for the families after it), and says
/// which shape it has. A family whose indices do not fit is refused whole.
fn resolve(
    mut family: Family,
    label_indices: Vec<u32>,
    strings: &[LabelValue],
    const_labels: &[(String, LabelValue)],
    shapes: &mut Shapes,
) -> Result<(Family, Option<usize>), Invalid> {
    let n = family.label_names.len();
    rules::check_label_indices(&label_indices, n, family.series.len(), strings.len())
        .map_err(|(rule, why)| Invalid::new(&family.name, rule, why))?;
    if !const_labels.is_empty() {
        let mut names: Vec<String> = const_labels.iter().map(|(n, _)| n.clone()).collect();
        names.append(&mut family.label_names);
        family.label_names = names;
    }
    let series = Arc::make_mut(&mut family.series);
    if n == 0 {
        // Constant labels only, if any: nothing to share or keep.
        for s in series {
            s.label_values = const_labels.iter().map(|(_, v)| v.clone()).collect();
        }
        return Ok((family, None));
    }
    let at = shapes.find_or_make(n, label_indices, strings, const_labels);
    let table = Arc::clone(&shapes.0[at].table);
    for (s, row) in series
        .iter_mut()
        .zip(LabelValues::rows(table, const_labels.len() + n))
    {
        s.label_values = row;
    }
    Ok((family, Some(at)))
}

/// Every sample and metadata name of `family`, as any scraper may receive
/// it, is not the host's: a name that becomes the host's once escaped would
/// take the place of the host's own family.
fn check_host_names(
    family: &Family,
    host_owns: &dyn Fn(&str) -> Option<rules::Escaping>,
) -> Result<(), Invalid> {
    let base = family.openmetrics_name();
    let mut name = String::new();
    for suffix in std::iter::once("").chain(family.sample_suffixes().iter().copied()) {
        // The family's reserved names, one at a time in one buffer.
        name.clear();
        name.push_str(base);
        name.push_str(suffix);
        let why = match host_owns(&name) {
            None => continue,
            Some(rules::Escaping::AllowUtf8) => {
                format!("the name {name} is served by the host itself")
            }
            Some(scheme) => format!(
                "the name {name} is {} under escaping={}, a name the host serves",
                rules::escape_name(&name, scheme, true),
                scheme.as_str()
            ),
        };
        return Err(Invalid::new(&family.name, Rule::HostName, why));
    }
    Ok(())
}

#[cfg(test)]
mod collection_tests;
#[cfg(test)]
mod tests;
