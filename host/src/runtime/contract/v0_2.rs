//! `wasm-exporter:plugin@0.2.0`: native histograms, UTF-8 names, and the
//! prober interface (`/probe`), frozen under `host/wit/v0.2.0/`; its
//! imports mapped onto the host's `log` and `fetch` (a GET, or a command
//! written to a socket).

use super::convert::{collector_calls, converter, imports, socket_era_fetch};
use super::prober::prober_version;
use super::{Bindings, Called, Collected, Prepared, Version};

/// What `bindgen!` generates from the frozen WIT, in a module of its own
/// so that generated names never clash with ours.
#[allow(missing_docs, unsafe_code, unused_variables, clippy::all)]
mod generated {
    wasmtime::component::bindgen!({
        path: "wit/v0.2.0",
        world: "plugin",
        imports: { "wasm-exporter:plugin/fetch.fetch": async },
        exports: { default: async },
    });
}

pub use generated::exports::wasm_exporter::plugin::collector;
pub use generated::wasm_exporter::plugin::{fetch, host, types};
use generated::{Plugin, PluginPre};

/// The version, as in the package name.
pub const VERSION: &str = "0.2.0";

/// The interface a plugin exports to answer `/probe` (the `probe-plugin`
/// world).
pub const PROBER: &str = "wasm-exporter:plugin/prober@0.2.0";

/// The collector interface, whose `collect` a prober's `probe` answers
/// like.
const COLLECTOR: &str = "wasm-exporter:plugin/collector@0.2.0";

prober_version!(Contract0_2);

socket_era_fetch!();

imports!();

#[cfg(test)]
mod tests {
    use super::fast;
    use super::types as wit;
    use crate::exposition::model::{Series, Value};
    use crate::runtime::contract::Lifted;
    use crate::runtime::contract::lift::SeriesList;

    /// A family of one native histogram, its series pointing at `indices`
    /// as the lift leaves them.
    fn family(indices: &[u32]) -> fast::MetricFamily {
        let native = wit::NativeHistogramValue {
            schema: 0,
            zero_threshold: 0.0,
            zero_count: 1,
            negative: Vec::new(),
            positive: Vec::new(),
            count: 1,
            sum: 0.0,
            exemplars: Vec::new(),
            classic: Vec::new(),
        };
        let stand_in = || Series {
            label_values: Default::default(),
            value: Value::Info,
            times: None,
        };
        fast::MetricFamily {
            name: "n".into(),
            help: String::new(),
            unit: String::new(),
            kind: wit::MetricKind::Histogram,
            label_names: Vec::new(),
            label_values: Vec::new(),
            series: fast::FastSeries(SeriesList {
                series: indices.iter().map(|_| stand_in()).collect(),
                natives: indices
                    .iter()
                    .enumerate()
                    .map(|(at, &i)| (at, i, false))
                    .collect(),
            }),
            native_histograms: vec![native],
        }
    }

    fn error(indices: &[u32]) -> Option<String> {
        let c = Box::new(fast::Collection {
            strings: Vec::new(),
            families: vec![family(indices)],
        })
        .into_raw();
        c.families[0].native_error.clone()
    }

    /// A series takes its native histogram out of the family's list; an
    /// index outside it, or one taken twice, marks the family for validation
    /// to drop.
    #[test]
    fn native_histograms_are_taken_by_index_once() {
        assert_eq!(error(&[0]), None);
        assert_eq!(
            error(&[3]).as_deref(),
            Some("native histogram index 3 outside the family's 1")
        );
        assert_eq!(
            error(&[0, 0]).as_deref(),
            Some("two series use native histogram 0")
        );
    }
}
