//! `latency-simulator`: fictional RPC latencies for three services drawn from
//! uniform, normal and exponential distributions, with an oscillating rate: a
//! port of client_golang's `examples/random`.
//!
//! Exports `rpc_durations_seconds` (a summary per service) and
//! `rpc_durations_histogram_seconds` (the normal service, with exemplars).
//! The plugin's name and version reach the host's `wasm_exporter_plugin_info`
//! through its metadata, in place of the Go program's build-info collector.

pub mod rng;
pub mod sim;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasm_exporter_sdk::{CollectError, Collector, InitError, MetricFamily, export_collector};

use sim::{Config, Simulator};

/// The collector: a simulator and the instant it started.
pub struct LatencySimulator {
    sim: Simulator,
    start: Instant,
}

impl Collector for LatencySimulator {
    type Config = Config;

    fn init(config: Config) -> Result<Self, InitError> {
        config.validate().map_err(InitError::InvalidConfig)?;
        let seed = match config.seed {
            Some(seed) => seed,
            None => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes)
                    .map_err(|e| InitError::Failed(format!("no random seed: {e}")))?;
                u64::from_le_bytes(bytes)
            }
        };
        let wall_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Ok(LatencySimulator {
            sim: Simulator::new(config, seed, wall_start),
            start: Instant::now(),
        })
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        let now = self.start.elapsed().as_secs_f64();
        self.sim.advance(now);
        Ok(self.sim.families(now))
    }
}

export_collector!(LatencySimulator);
