//! haproxy_exporter's side of a CSV: where each column it exports is, and
//! the families a row's series go into (promex's names have theirs in
//! `promex`).

use std::collections::HashMap;

use wasm_exporter_sdk::strings::{FxBuildHasher, Interned};
use wasm_exporter_sdk::{MetricFamily, Series};

use crate::metrics::{self, Field, Kind};

/// A column's family, and its `code` label value if it has one.
type Slot = (usize, Option<Interned>);

/// Where each needed column is: by the header's names when HAProxy sent
/// one, by haproxy_exporter's fixed positions otherwise.
pub(crate) struct Layout {
    pub(crate) pxname: Option<usize>,
    pub(crate) svname: Option<usize>,
    pub(crate) status: Option<usize>,
    pub(crate) type_: Option<usize>,
    pub(crate) frontend: Vec<(Field, Option<usize>)>,
    pub(crate) backend: Vec<(Field, Option<usize>)>,
    pub(crate) server: Vec<(Field, Option<usize>)>,
}

impl Layout {
    /// The layout of `header`, or the fixed one without it.
    pub(crate) fn new(header: Option<&str>, server_fields: &[Field]) -> Self {
        let names: Option<HashMap<&str, usize>> =
            header.filter(|h| h.starts_with("pxname")).map(|h| {
                h.split(',')
                    .enumerate()
                    .map(|(i, n)| (n.trim(), i))
                    .collect()
            });
        let position = |column: &str, index: usize| match &names {
            Some(map) => map.get(column).copied(),
            None => Some(index),
        };
        let table = |fields: &[Field]| {
            fields
                .iter()
                .map(|f| (*f, position(f.column, f.index)))
                .collect()
        };
        Layout {
            pxname: position("pxname", 0),
            svname: position("svname", 1),
            status: position("status", metrics::STATUS),
            type_: position("type", metrics::TYPE),
            frontend: table(&metrics::frontend()),
            backend: table(&metrics::backend()),
            server: table(server_fields),
        }
    }
}

/// A row's label values, interned once per row.
pub(crate) struct RowNames {
    pub(crate) proxy: Interned,
    /// For servers only (frontend and backend series carry no `server`).
    pub(crate) server: Option<Interned>,
}

/// Collects series into families, creating each family on first use.
#[derive(Default)]
pub(crate) struct Builder {
    families: Vec<MetricFamily>,
    /// Family by kind and name, looked up once per column of each kind:
    /// Fx, not SipHash.
    index: HashMap<(u8, &'static str), usize, FxBuildHasher>,
    /// Family by kind and column of the layout's table, filled from
    /// `index` on first use: every later series finds its family without
    /// hashing (4-8 % of a 500x10 scrape's CPU went to that lookup).
    /// With it, the column's `code` label value, interned once: looking
    /// it up by its text cost a string comparison per series.
    slots: [Vec<Option<Slot>>; 3],
    /// How each family's lists are sized (see [`Self::sized`]).
    sizing: Sizing,
}

/// A family's series and label values: the number of each, or the lists.
pub(crate) type Sizes = (usize, usize);

type Lists = (Vec<Series>, Vec<u32>);

/// How a builder sizes its families' lists, shared by both sets of names:
/// made to the sizes of the last scrape before any family is, or, in a
/// counting pass, only counted.
#[derive(Default)]
pub(crate) struct Sizing {
    /// Each family's lists, taken in the order the families are made.
    lists: std::vec::IntoIter<Lists>,
    /// Counting, not building: each family's series are counted into
    /// `counted` and none is stored.
    counting: bool,
    counted: Vec<usize>,
}

impl Sizing {
    /// Lists made to `sizes`, every series list first, one after the
    /// other, then the label values; see [`Builder::sized`] for why.
    pub(crate) fn to(sizes: &[Sizes]) -> Self {
        let series: Vec<Vec<Series>> = sizes.iter().map(|&(n, _)| Vec::with_capacity(n)).collect();
        let lists: Vec<Lists> = series
            .into_iter()
            .zip(sizes)
            .map(|(series, &(_, labels))| (series, Vec::with_capacity(labels)))
            .collect();
        Sizing {
            lists: lists.into_iter(),
            ..Sizing::default()
        }
    }

    /// A counting pass's: nothing made, every series counted.
    pub(crate) fn counting() -> Self {
        Sizing {
            counting: true,
            ..Sizing::default()
        }
    }

    /// Gives `family`, new, its lists, if any are left.
    pub(crate) fn made(&mut self, family: &mut MetricFamily) {
        if let Some((series, values)) = self.lists.next() {
            family.series = series;
            family.label_values = values;
        }
    }

    /// In a counting pass, counts a series of the family at `slot` and
    /// says so: the caller then stores nothing.
    pub(crate) fn counted(&mut self, slot: usize) -> bool {
        if self.counting {
            if self.counted.len() <= slot {
                self.counted.resize(slot + 1, 0);
            }
            self.counted[slot] += 1;
        }
        self.counting
    }

    /// A counting pass's series and label values for each of `families`
    /// (by place): what [`Sizing::to`] takes.
    pub(crate) fn sizes(&self, families: &[MetricFamily]) -> Vec<Sizes> {
        families
            .iter()
            .enumerate()
            .map(|(i, family)| {
                let n = self.counted.get(i).copied().unwrap_or(0);
                (n, n * family.label_names.len())
            })
            .collect()
    }
}

/// The sizes of `families` as built: what the next scrape makes its lists
/// to.
pub(crate) fn sizes_of(families: &[MetricFamily]) -> Vec<Sizes> {
    families
        .iter()
        .map(|f| (f.series.len(), f.label_values.len()))
        .collect()
}

impl Builder {
    /// A builder whose families are sized from `sizes`, the series and
    /// label values per family of the last scrape (or of a counting pass).
    ///
    /// Every family's series list is made here, one after the other, and
    /// then the label values: when the host takes the families, each
    /// series list is copied into the canonical ABI's (larger) records and
    /// freed, and only freed lists that lie side by side join into holes
    /// the next family's copy fits in. Made where each family is, between
    /// label values that stay until the call ends, every copy took new
    /// memory: 32 MB at 500×10 where 21 are ever live at once, kept for
    /// good by a linear memory that never shrinks.
    pub(crate) fn sized(sizes: &[Sizes]) -> Self {
        Builder {
            sizing: Sizing::to(sizes),
            ..Builder::default()
        }
    }

    /// A builder that makes each family, empty, and only counts the series
    /// it would get ([`Self::counted`]).
    pub(crate) fn counting() -> Self {
        Builder {
            sizing: Sizing::counting(),
            ..Builder::default()
        }
    }

    /// Adds the series of `field`'s column for a row of `kind`.
    pub(crate) fn add(
        &mut self,
        kind: Kind,
        column: usize,
        field: &Field,
        names: &RowNames,
        value: f64,
    ) {
        let slots = &mut self.slots[kind as usize];
        if slots.len() <= column {
            slots.resize(column + 1, None);
        }
        let (slot, code) = match slots[column] {
            Some(found) => found,
            None => {
                let slot = Self::family(
                    &mut self.families,
                    &mut self.index,
                    &mut self.sizing,
                    kind,
                    field,
                );
                let found = (slot, field.code.map(Interned::new));
                self.slots[kind as usize][column] = Some(found);
                found
            }
        };
        if self.sizing.counted(slot) {
            return;
        }
        let proxy = names.proxy;
        let (one, two, three);
        let labels: &[Interned] = match (names.server, code) {
            (None, None) => {
                one = [proxy];
                &one
            }
            (None, Some(code)) if kind == Kind::Frontend => {
                two = [code, proxy];
                &two
            }
            (None, Some(code)) => {
                two = [proxy, code];
                &two
            }
            (Some(server), None) => {
                two = [proxy, server];
                &two
            }
            (Some(server), Some(code)) => {
                three = [proxy, code, server];
                &three
            }
        };
        let family = &mut self.families[slot];
        if field.counter {
            family.add_counter(labels, value);
        } else {
            family.add_gauge(labels, value);
        }
    }

    /// The family of `field` for rows of `kind`, made on first use.
    fn family(
        families: &mut Vec<MetricFamily>,
        index: &mut HashMap<(u8, &'static str), usize, FxBuildHasher>,
        sizing: &mut Sizing,
        kind: Kind,
        field: &Field,
    ) -> usize {
        *index.entry((kind as u8, field.name)).or_insert_with(|| {
            let (prefix, labels): (&str, &[&str]) = match (kind, field.code.is_some()) {
                (Kind::Frontend, false) => ("frontend", &["frontend"]),
                (Kind::Frontend, true) => ("frontend", &["code", "frontend"]),
                (Kind::Backend, false) => ("backend", &["backend"]),
                (Kind::Backend, true) => ("backend", &["backend", "code"]),
                (Kind::Server, false) => ("server", &["backend", "server"]),
                (Kind::Server, true) => ("server", &["backend", "code", "server"]),
            };
            let name = format!("haproxy_{prefix}_{}", field.name);
            let family = if field.counter {
                MetricFamily::counter(name, field.help)
            } else {
                MetricFamily::gauge(name, field.help)
            };
            let mut family = family.with_labels(labels.iter().copied());
            sizing.made(&mut family);
            families.push(family);
            families.len() - 1
        })
    }

    /// The families, in the order they were made.
    pub(crate) fn finish(self) -> Vec<MetricFamily> {
        self.families
    }

    /// A counting builder's series and label values per family, in the
    /// order the families were made: what [`Self::sized`] takes.
    pub(crate) fn counted(self) -> Vec<Sizes> {
        self.sizing.sizes(&self.families)
    }
}
