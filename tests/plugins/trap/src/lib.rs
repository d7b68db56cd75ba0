//! Test plugin that traps (panics) in `collect` or `init` while its fault
//! window is open, and is healthy afterwards. It shows that the host reports a
//! trapping plugin down, keeps serving the others, and recovers the plugin by
//! instantiating it anew once the fault has cleared.

use std::time::{SystemTime, UNIX_EPOCH};

use wasm_exporter_sdk::{CollectError, Collector, InitError, MetricFamily, export_collector};

/// Where the plugin traps.
#[derive(serde::Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Panic in `collect`.
    #[default]
    Collect,
    /// Panic in `init`.
    Init,
}

/// Configuration of the trap plugin.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to trap.
    pub stage: Stage,
    /// Trap until this Unix time (seconds); trap forever when absent.
    pub until_unix_seconds: Option<f64>,
}

/// The trap collector.
pub struct Trap {
    config: Config,
    collects: u64,
}

fn fault_open(until: Option<f64>) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    until.is_none_or(|until| now < until)
}

impl Collector for Trap {
    type Config = Config;

    fn init(config: Config) -> Result<Self, InitError> {
        if config.stage == Stage::Init && fault_open(config.until_unix_seconds) {
            panic!("trap plugin: deliberate panic in init");
        }
        Ok(Trap {
            config,
            collects: 0,
        })
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        if self.config.stage == Stage::Collect && fault_open(self.config.until_unix_seconds) {
            panic!("trap plugin: deliberate panic in collect");
        }
        self.collects += 1;
        let mut healthy = MetricFamily::counter(
            "trap_healthy_collects_total",
            "Collects that did not trap since the last init.",
        );
        healthy.add_counter((), self.collects as f64);
        Ok(vec![healthy])
    }
}

export_collector!(Trap);
