//! `haproxy`: HAProxy statistics, a port of prometheus/haproxy_exporter 0.14.
//!
//! Reads HAProxy's CSV statistics over http(s) (`/;csv`), a unix stats
//! socket or a TCP stats socket (`show stat`, plus `show info` for
//! `haproxy_version_info`), through the host's `fetch` capability, and
//! exports the same metric names, types, labels and values as
//! haproxy_exporter. Columns are found by the CSV header's names, so newer
//! HAProxy versions with added or moved columns parse correctly.

pub mod csv;
pub mod exporter;
pub mod metrics;

use wasm_exporter_sdk::{CollectError, Collector, InitError, MetricFamily, export_collector};

use exporter::{Config, Exporter};

/// The collector.
pub struct Haproxy {
    exporter: Exporter,
}

impl Collector for Haproxy {
    type Config = Config;

    fn init(config: Config) -> Result<Self, InitError> {
        Exporter::new(config)
            .map(|exporter| Haproxy { exporter })
            .map_err(InitError::InvalidConfig)
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        Ok(self.exporter.scrape(wasm_exporter_sdk::fetch::fetch))
    }
}

export_collector!(Haproxy);
