//! `wasm_exporter check PLUGIN.wasm`: one plugin through the real runtime,
//! limits and validation, without a plugins directory or HTTP. It runs
//! `init` and N collects of every instance, and reports what the exporter
//! would serve and what it would drop, and why, with the fix.
//!
//! Exit status: 0 when everything would be served, 1 when validation would
//! drop a family or series, 2 when the plugin fails to load, `init` or a
//! collect.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::catalogue::{PluginEntry, load_plugin};
use crate::exposition::merge;
use crate::exposition::model::Family;
use crate::exposition::negotiate::Negotiated;
use crate::exposition::render::render;
use crate::reason::Reason;
use crate::runtime::Runtime;
use crate::runtime::fetch::{Response, Standins};
use crate::runtime::limits::HostDefaults;

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The component.
    pub wasm: PathBuf,
    /// Its `NAME.yml`; default: the one beside the `.wasm`, if any.
    pub manifest: Option<PathBuf>,
    /// Collects per instance.
    pub scrapes: u32,
    /// Format of the exposition, and how names outside the legacy
    /// character set are written: as a scraper would negotiate them.
    pub negotiated: Negotiated,
    /// Host limits, as the exporter's flags set them.
    pub defaults: HostDefaults,
    /// Answers to give instead of reaching a target (`--respond
    /// TARGET=FILE`): the target counts as granted and is never reached.
    pub standins: Vec<(String, Response)>,
}

/// The answer a `--respond` stands in with: the file's bytes as the body.
pub fn standin(s: &crate::cli::Standin) -> std::io::Result<(String, Response)> {
    let body = std::fs::read(&s.file)?;
    Ok((
        s.target.clone(),
        Response {
            status: s.status,
            headers: Vec::new(),
            body,
            truncated: false,
        },
    ))
}

/// How a check ended; the process exits with its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything would be served.
    Clean,
    /// Validation would drop something.
    Dropped,
    /// The plugin failed to load, `init` or collect.
    Failed,
}

impl Verdict {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Verdict::Clean => 0,
            Verdict::Dropped => 1,
            Verdict::Failed => 2,
        }
    }
}

/// Something the exporter would drop.
#[derive(Debug, Clone, Serialize)]
pub struct Drop {
    /// Family name.
    pub family: String,
    /// The series at fault, as `{a="x"}`, when one is.
    pub series: Option<String>,
    /// The rule broken (as in `wasm_exporter_plugin_dropped_families`' logs).
    pub rule: &'static str,
    /// What is wrong.
    pub why: String,
    /// How to make it pass.
    pub fix: &'static str,
}

/// A failure, with the `reason` the exporter would count it under.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `reason` label of `wasm_exporter_plugin_errors_total`.
    pub reason: &'static str,
    /// What happened.
    pub message: String,
    /// Where to look, or what to change.
    pub fix: &'static str,
}

/// Where an author looks after a failure of this kind.
fn failure_fix(reason: Option<Reason>) -> &'static str {
    match reason {
        Some(Reason::Load) => {
            "build a WASI 0.2 component for the contract (cargo build --target wasm32-wasip2, componentize-py, componentize-js), and check NAME.yml"
        }
        Some(Reason::Instantiate) => {
            "the component imports something the exporter does not link, or traps while starting; its log lines above say which"
        }
        Some(Reason::Init) => "init refused the config: the message names the key to fix",
        Some(Reason::Collect) => "collect returned collect-error: its message says why",
        Some(Reason::Timeout) => {
            "finish each call within limits.timeout (a loop, or a fetch without a timeout?)"
        }
        Some(Reason::Memory) => "use less linear memory, or raise limits.memory in NAME.yml",
        Some(Reason::Trap) => {
            "the plugin panicked or hit a wasm trap: its own message is in the log lines above"
        }
        Some(Reason::TooManySeries | Reason::TooManyFamilies) => {
            "return fewer, or raise limits.max_series / limits.max_families in NAME.yml"
        }
        Some(Reason::StderrLimit) => {
            "write less to stdout and stderr, or raise limits.max_stderr_bytes"
        }
        Some(Reason::InvalidOutput | Reason::NameClash | Reason::FetchDenied | Reason::Fetch)
        | None => "see the message",
    }
}

/// One collect.
#[derive(Debug, Clone, Serialize)]
pub struct Collect {
    /// Families that would be served.
    pub families: usize,
    /// Series that would be served.
    pub series: usize,
    /// What would be dropped.
    pub dropped: Vec<Drop>,
    /// Why the collect gave nothing, if it did not.
    pub error: Option<Failure>,
    /// Served, but suspect: a counter lower than at the collect before
    /// (Prometheus reads a decrease as a reset).
    pub warnings: Vec<String>,
    /// How long the call took, in seconds.
    pub seconds: f64,
}

/// One instance of the plugin.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    /// Instance name (the `plugin` label).
    pub name: String,
    /// The plugin's own name and version, once it started.
    pub version: Option<String>,
    /// Why it did not load or initialise.
    pub error: Option<Failure>,
    /// Its collects, in order.
    pub collects: Vec<Collect>,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The worst outcome.
    pub verdict: Verdict,
    /// Every instance.
    pub instances: Vec<InstanceReport>,
    /// Families left out because their names clash once escaped with
    /// `--escaping`.
    pub escape_clashes: Vec<String>,
    /// The exposition of the last successful collects, as the exporter
    /// would serve it (without its own metrics).
    pub exposition: String,
}

fn failure(e: &crate::runtime::PluginError) -> Failure {
    Failure {
        reason: e.reason().map_or("backoff", |r| r.as_str()),
        message: e.to_string(),
        fix: failure_fix(e.reason()),
    }
}

/// Runs one instance `scrapes` times; its last collect's families are
/// returned to be merged with the other instances', as a scrape merges
/// plugins.
async fn check_instance(
    entry: &PluginEntry,
    runtime: &Runtime,
    scrapes: u32,
) -> (InstanceReport, Vec<Family>) {
    let mut report = InstanceReport {
        name: entry.name.to_string(),
        version: None,
        error: None,
        collects: Vec::new(),
    };
    if let Err(e) = entry.prime(runtime).await {
        report.error = Some(failure(&e));
        return (report, Vec::new());
    }
    let mut last: Vec<Family> = Vec::new();
    for _ in 0..scrapes.max(1) {
        let deadline = entry.limits.deadline(Instant::now(), None);
        let outcome = entry.collect(runtime, deadline).await;
        if let Some(m) = &outcome.metadata {
            report.version = Some(format!("{} {}", m.name, m.version));
        }
        let dropped = outcome
            .dropped
            .iter()
            .map(|d| Drop {
                family: d.family.clone(),
                series: d.labels.clone(),
                rule: d.rule.as_str(),
                why: d.why.clone(),
                fix: d.rule.fix(),
            })
            .collect();
        let (families, series, error, warnings) = match &outcome.result {
            Ok(families) => {
                let warnings = counters_down(&last, families);
                last = families.clone();
                let series = families.iter().map(|f| f.series.len()).sum();
                (families.len(), series, None, warnings)
            }
            Err(e) => (0, 0, Some(failure(e)), Vec::new()),
        };
        report.collects.push(Collect {
            families,
            series,
            dropped,
            error,
            warnings,
            seconds: outcome.duration.as_secs_f64(),
        });
    }
    (report, last)
}

/// Each counter series of `now` lower than in `before`, the collect before.
fn counters_down(before: &[Family], now: &[Family]) -> Vec<String> {
    use crate::exposition::model::{Kind, Value, cmp_label_values};
    use crate::exposition::validate::describe_labels;
    let total = |v: &Value| match v {
        Value::Counter { total, .. } => Some(*total),
        _ => None,
    };
    let before: std::collections::HashMap<&str, &Family> =
        before.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut out = Vec::new();
    for family in now.iter().filter(|f| f.kind == Kind::Counter) {
        let Some(old) = before.get(family.name.as_str()) else {
            continue;
        };
        for series in family.series.iter() {
            // Validation left both collects' series in label order.
            let was = old
                .series
                .binary_search_by(|s| cmp_label_values(&s.label_values, &series.label_values))
                .ok()
                .and_then(|i| total(&old.series[i].value));
            if let (Some(was), Some(is)) = (was, total(&series.value))
                && is < was
            {
                out.push(format!(
                    "counter {}{} went down from {was} to {is}: Prometheus reads a decrease as a reset",
                    family.name,
                    describe_labels(&family.label_names, &series.label_values)
                ));
            }
        }
    }
    out
}

const ESCAPE_FIX: &str = "give the families names that stay apart once escaped (underscores: every character outside [a-zA-Z0-9_:] becomes _)";

/// Loads the plugin and runs it. Never fails: every problem is in the
/// report.
pub async fn check(runtime: &Runtime, options: &CheckOptions) -> Report {
    let manifest = options.manifest.clone().or_else(|| {
        ["yml", "yaml"]
            .iter()
            .map(|ext| options.wasm.with_extension(ext))
            .find(|p| p.is_file())
    });
    let mut entries = load_plugin(
        runtime,
        &options.wasm,
        manifest.as_deref(),
        &options.defaults,
    );
    let standins = std::sync::Arc::new(Standins(options.standins.iter().cloned().collect()));
    for entry in &mut entries {
        entry.fetch.standins = std::sync::Arc::clone(&standins);
    }
    let mut sources = Vec::with_capacity(entries.len());
    let mut instances = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (report, families) = check_instance(entry, runtime, options.scrapes).await;
        instances.push(report);
        sources.push(families);
    }
    // Each family's instance and series, to put an escape clash under the
    // collect it came from.
    let origin: std::collections::HashMap<String, (usize, usize)> = sources
        .iter()
        .enumerate()
        .flat_map(|(i, families)| {
            families
                .iter()
                .map(move |f| (f.name.clone(), (i, f.series.len())))
        })
        .collect();
    // Merged as a scrape merges the instances (in name order, as the
    // entries come), a family that clashes with an earlier instance's
    // reported on the last collect of the instance that lost it.
    let merged = merge::merge(sources);
    for (instance, source) in instances.iter_mut().zip(&merged.sources) {
        if let Some(last) = instance.collects.last_mut() {
            last.dropped.extend(source.clashes.iter().map(|c| Drop {
                family: c.family.clone(),
                series: None,
                rule: Reason::NameClash.as_str(),
                why: c.reason.clone(),
                fix: "give the family another name, or make both instances agree on its type, help, unit and label names (an instance's labels: tell their series apart)",
            }));
        }
    }
    // Rendered as a scraper asking for this format and escaping would see
    // it; a clash escaping makes is reported like any other drop.
    let rendered = render(merged.families, options.negotiated, 0);
    let clashes = rendered.clashes;
    let body = rendered.body;
    for clash in &clashes {
        let Some(&(i, series)) = origin.get(&clash.family) else {
            continue;
        };
        if let Some(last) = instances.get_mut(i).and_then(|r| r.collects.last_mut()) {
            last.families = last.families.saturating_sub(1);
            last.series = last.series.saturating_sub(series);
            last.dropped.push(Drop {
                family: clash.family.clone(),
                series: None,
                rule: "escape_clash",
                why: clash.reason.clone(),
                fix: ESCAPE_FIX,
            });
        }
    }
    let verdict = instances
        .iter()
        .map(|i| {
            if i.error.is_some() || i.collects.iter().any(|c| c.error.is_some()) {
                Verdict::Failed
            } else if i.collects.iter().any(|c| !c.dropped.is_empty()) {
                Verdict::Dropped
            } else {
                Verdict::Clean
            }
        })
        .max()
        .unwrap_or(Verdict::Failed);
    let verdict = if clashes.is_empty() {
        verdict
    } else {
        verdict.max(Verdict::Dropped)
    };
    Report {
        verdict,
        instances,
        escape_clashes: clashes.iter().map(ToString::to_string).collect(),
        exposition: String::from_utf8_lossy(&body).into_owned(),
    }
}

impl Report {
    /// The report for people, for stderr: each instance, each collect,
    /// every drop with its rule and fix, and the verdict.
    pub fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for i in &self.instances {
            let version = i.version.as_deref().unwrap_or("-");
            let _ = writeln!(out, "plugin {} ({version})", i.name);
            if let Some(e) = &i.error {
                let _ = writeln!(
                    out,
                    "  FAILED to start [{}]: {}\n    fix: {}",
                    e.reason, e.message, e.fix
                );
            }
            for (n, c) in i.collects.iter().enumerate() {
                let took = Duration::from_secs_f64(c.seconds);
                match &c.error {
                    Some(e) => {
                        let _ = writeln!(
                            out,
                            "  collect {}: FAILED [{}] after {took:?}: {}\n    fix: {}",
                            n + 1,
                            e.reason,
                            e.message,
                            e.fix
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "  collect {}: {} families, {} series served, {} dropped, {took:?}",
                            n + 1,
                            c.families,
                            c.series,
                            c.dropped.len()
                        );
                    }
                }
                for w in &c.warnings {
                    let _ = writeln!(out, "    warning: {w}");
                }
                for d in &c.dropped {
                    let at = d
                        .series
                        .as_deref()
                        .map(|s| format!(", series {s}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    dropped family {}{at} [rule {}]: {}\n      fix: {}",
                        d.family, d.rule, d.why, d.fix
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "verdict: {} (exit {})",
            match self.verdict {
                Verdict::Clean => "clean",
                Verdict::Dropped => "the exporter would drop something",
                Verdict::Failed => "the plugin failed",
            },
            self.verdict.code()
        );
        out
    }
}
