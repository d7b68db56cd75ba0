//! `haproxy`: HAProxy statistics, a port of prometheus/haproxy_exporter 0.14.
//!
//! Reads HAProxy's CSV statistics over http(s) (`/;csv`), a unix stats
//! socket or a TCP stats socket (`show stat`, plus `show info` for
//! `haproxy_version_info`), through the host's `fetch` capability, and
//! exports the same metric names, types, labels and values as
//! haproxy_exporter. Columns are found by the CSV header's names, so newer
//! HAProxy versions with added or moved columns parse correctly.
//!
//! It also answers `/probe`: the target is a scrape URI, probed with the
//! rest of the configuration, so one exporter serves many HAProxys.

pub mod csv;
pub mod exporter;
mod families;
pub mod metrics;
pub mod promex;

use std::collections::HashMap;

use wasm_exporter_sdk::{CollectError, Collector, InitError, MetricFamily, Prober};

use exporter::{Config, Exporter};

/// Most probe targets whose counters (`haproxy_exporter_scrapes_total`...)
/// are kept; past it they start again from zero, so that a scraper naming
/// ever new targets cannot grow the plugin's memory without end.
pub const MAX_PROBED_TARGETS: usize = 256;

/// The collector.
pub struct Haproxy {
    exporter: Exporter,
    config: Config,
    /// One exporter per probed target, for its counters and CSV layout.
    probed: HashMap<String, Exporter>,
}

impl Collector for Haproxy {
    type Config = Config;

    /// Refuses a `scrape_uri` set outside `grants.fetch` here, once, with
    /// the fix, rather than one denied fetch per scrape. The default one is
    /// not checked: a `/probe` module (`enabled: false`) grants its probe
    /// targets only.
    fn init(config: Config) -> Result<Self, InitError> {
        let exporter = Exporter::new(config.clone()).map_err(InitError::InvalidConfig)?;
        let set = config.scrape_uri != Config::default().scrape_uri;
        let granted = if set {
            wasm_exporter_sdk::fetch::check_granted(&config.scrape_uri)
        } else {
            Ok(())
        };
        granted.map_err(|e| {
            let why = match e {
                wasm_exporter_sdk::fetch::FetchError::Denied(why)
                | wasm_exporter_sdk::fetch::FetchError::InvalidTarget(why) => why,
                other => format!("{other:?}"),
            };
            InitError::InvalidConfig(format!(
                "scrape_uri: {why}; add it to grants.fetch in NAME.yml"
            ))
        })?;
        Ok(Haproxy {
            exporter,
            config,
            probed: HashMap::new(),
        })
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        Ok(self.exporter.scrape(wasm_exporter_sdk::fetch::fetch))
    }
}

impl Prober for Haproxy {
    /// Scrapes `target` (a scrape URI, as `scrape_uri`) with the rest of
    /// the plugin's configuration. Parameters are not used.
    fn probe(
        &mut self,
        target: &str,
        _params: &[(String, String)],
    ) -> Result<Vec<MetricFamily>, CollectError> {
        if !self.probed.contains_key(target) && self.probed.len() >= MAX_PROBED_TARGETS {
            self.probed.clear();
        }
        let exporter = match self.probed.entry(target.to_owned()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let config = Config {
                    scrape_uri: target.to_owned(),
                    ..self.config.clone()
                };
                let exporter = Exporter::new(config)
                    .map_err(|error| CollectError::new(format!("target {target:?}: {error}")))?;
                e.insert(exporter)
            }
        };
        Ok(exporter.scrape(wasm_exporter_sdk::fetch::fetch))
    }
}

#[cfg(not(feature = "floor"))]
wasm_exporter_sdk::export_prober!(Haproxy);

/// The bench's floor build (`--features floor`, built by `make bench`
/// only): the same fetch, parsing and families as the plugin, handed over
/// as one gauge of how many series they held. What it costs beyond a
/// plugin that only fetches is the guest's own work, before the boundary
/// has carried a single family.
#[cfg(feature = "floor")]
mod floor {
    use wasm_exporter_sdk::{CollectError, Collector, InitError, MetricFamily, export_collector};

    use super::{Config, Haproxy};

    /// [`Haproxy`], reduced to the count of what it built.
    pub struct Floor(Haproxy);

    impl Collector for Floor {
        type Config = Config;

        fn init(config: Config) -> Result<Self, InitError> {
            Haproxy::init(config).map(Floor)
        }

        fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
            let built = self.0.collect()?;
            let series: usize = built.iter().map(|f| f.series.len()).sum();
            drop(built);
            let mut count = MetricFamily::gauge(
                "haproxy_floor_series",
                "Series the haproxy plugin's code built in this collect and did not hand over.",
            );
            count.add_gauge((), series as f64);
            Ok(vec![count])
        }
    }

    export_collector!(Floor);
}

#[cfg(test)]
mod tests {
    use wasm_exporter_sdk::testing;

    use super::*;

    const CSV: &str = include_str!("../testdata/haproxy-2.6.csv");

    #[test]
    fn a_probe_scrapes_its_target_with_the_rest_of_the_config() {
        let target = "http://10.0.0.2:8404/stats;csv";
        testing::respond_with(target, 200, CSV);
        let config =
            r#"{"scrape_uri": "http://10.0.0.1:8404/stats;csv", "metric_names": "promex"}"#;
        let families = testing::probe::<Haproxy>(config, target, &[]).unwrap();
        let asked: Vec<String> = testing::requests().into_iter().map(|r| r.target).collect();
        assert_eq!(asked, [target], "the target, not scrape_uri");
        let up = families.iter().find(|f| f.name == "haproxy_up").unwrap();
        assert_eq!(up.series.len(), 1);
        assert!(
            families.iter().any(|f| f.name == "haproxy_server_status"),
            "promex names from the config"
        );
        assert_eq!(testing::check(&families), Ok(()));
    }

    #[test]
    fn a_scrape_uri_outside_the_grants_fails_init_and_is_never_fetched() {
        let uri = "http://10.0.0.9:8404/stats;csv";
        testing::respond(
            uri,
            Err(wasm_exporter_sdk::fetch::FetchError::Denied(format!(
                "{uri} is not in the plugin's grants.fetch"
            ))),
        );
        let err = testing::run::<Haproxy>(&format!(r#"{{"scrape_uri": "{uri}"}}"#), 1).unwrap_err();
        assert!(
            err.contains("scrape_uri: http://10.0.0.9:8404/stats;csv is not in the plugin's grants.fetch; add it to grants.fetch in NAME.yml"),
            "{err}"
        );
        assert!(testing::requests().is_empty(), "{:?}", testing::requests());
    }

    #[test]
    fn a_target_that_is_no_scrape_uri_is_a_probe_error() {
        let err = testing::probe::<Haproxy>("", "ftp://x/", &[]).unwrap_err();
        assert!(
            err.contains("target \"ftp://x/\": unsupported scheme"),
            "{err}"
        );
    }
}
