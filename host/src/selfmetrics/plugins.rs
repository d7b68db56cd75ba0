//! The host's families about each plugin (`wasm_exporter_plugin_*`), built
//! from the statuses the scrape recorded, and its build information.

use super::BuildInfo;
use super::status::Status;
use crate::exposition::model::{Family, Kind, LabelValue, LabelValues, Value};
use crate::reason::Reason;

/// Each reason's label value, made once: every plugin's errors family has
/// a series per reason on every scrape.
static REASONS: std::sync::LazyLock<[LabelValue; Reason::ALL.len()]> =
    std::sync::LazyLock::new(|| Reason::ALL.map(|r| LabelValue::from(r.as_str())));

fn gauge(name: &str, help: &str, labels: &[&str]) -> Family {
    Family::new(Kind::Gauge, name, help).with_labels(labels)
}

/// The host's families for the plugins' statuses, given by name in name
/// order, and its build information.
pub fn families(plugins: &[(&str, Status)], build: &BuildInfo) -> Vec<Family> {
    let mut up = gauge(
        "wasm_exporter_plugin_up",
        "Whether the plugin's last collect succeeded (1) or failed (0).",
        &["plugin"],
    );
    let mut duration = gauge(
        "wasm_exporter_plugin_collect_duration_seconds",
        "Duration of the plugin's last collect, instantiation included.",
        &["plugin"],
    )
    .with_unit("seconds");
    let mut series = gauge(
        "wasm_exporter_plugin_series",
        "Series served from the plugin's last collect.",
        &["plugin"],
    );
    let mut dropped = gauge(
        "wasm_exporter_plugin_dropped_families",
        "Families dropped from the plugin's last collect as invalid or clashing.",
        &["plugin"],
    );
    let mut errors = Family::new(
        Kind::Counter,
        "wasm_exporter_plugin_errors_total",
        "Failed or partly failed collects of the plugin, by reason.",
    )
    .with_labels(&["plugin", "reason"]);
    let mut info = Family::new(
        Kind::Info,
        "wasm_exporter_plugin_info",
        "Name and version the plugin reports about itself.",
    )
    .with_labels(&["plugin", "name", "version"]);

    let mut reloads = Family::new(
        Kind::Counter,
        "wasm_exporter_plugin_load_errors_total",
        "New versions of the plugin that failed to compile or init on reload; the old version kept serving.",
    )
    .with_labels(&["plugin"]);

    let mut memory = gauge(
        "wasm_exporter_plugin_memory_bytes",
        "Linear memory of the plugin's instance, in bytes.",
        &["plugin"],
    )
    .with_unit("bytes");
    let mut memory_peak = gauge(
        "wasm_exporter_plugin_memory_peak_bytes",
        "Most linear memory any instance of the plugin had, in bytes.",
        &["plugin"],
    )
    .with_unit("bytes");
    let mut cpu = Family::new(
        Kind::Counter,
        "wasm_exporter_plugin_cpu_seconds_total",
        "CPU time spent in the plugin's calls, in seconds.",
    )
    .with_labels(&["plugin"])
    .with_unit("seconds");

    for (name, status) in plugins {
        // One string for the plugin's name in all its series.
        let name = LabelValue::from(*name);
        let label = || std::iter::once(name.clone()).collect::<LabelValues>();
        up.push_values(label(), Value::Gauge(if status.up { 1.0 } else { 0.0 }));
        duration.push_values(label(), Value::Gauge(status.last_duration.as_secs_f64()));
        series.push_values(label(), Value::Gauge(status.series as f64));
        memory.push_values(label(), Value::Gauge(status.memory as f64));
        memory_peak.push_values(label(), Value::Gauge(status.memory_peak as f64));
        cpu.push_values(
            label(),
            Value::Counter {
                total: status.cpu.as_secs_f64(),
                exemplar: None,
            },
        );
        dropped.push_values(label(), Value::Gauge(status.dropped_families as f64));
        for (reason, value) in Reason::ALL.iter().zip(REASONS.iter()) {
            let count = status.errors.get(reason).copied().unwrap_or(0);
            errors.push_values(
                [name.clone(), value.clone()].into_iter().collect(),
                Value::Counter {
                    total: count as f64,
                    exemplar: None,
                },
            );
        }
        if let Some(meta) = &status.metadata {
            info.push_values(
                [
                    name.clone(),
                    LabelValue::from(meta.name.as_str()),
                    LabelValue::from(meta.version.as_str()),
                ]
                .into_iter()
                .collect(),
                Value::Info,
            );
        }
        reloads.push_values(
            label(),
            Value::Counter {
                total: status.failed_reloads as f64,
                exemplar: None,
            },
        );
    }

    let mut build_info = Family::new(
        Kind::Info,
        "wasm_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, rustversion and wasmtime from which wasm_exporter was built.",
    )
    .with_labels(&["version", "revision", "rustversion", "wasmtime"]);
    build_info.push(
        vec![
            build.version.to_owned(),
            build.revision.to_owned(),
            build.rustversion.to_owned(),
            build.wasmtime.to_owned(),
        ],
        Value::Info,
    );

    let mut out = vec![
        up,
        duration,
        series,
        dropped,
        errors,
        info,
        build_info,
        reloads,
        memory,
        memory_peak,
        cpu,
    ];
    for family in &mut out {
        std::sync::Arc::make_mut(&mut family.series).sort_unstable_by(|a, b| {
            crate::exposition::model::cmp_label_values(&a.label_values, &b.label_values)
        });
    }
    out
}
