//! Log setup: `--log.level` and `--log.format` (logfmt or json), to stderr,
//! in promslog's shape so that pipelines built for the Prometheus tools'
//! logs parse ours.

use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `key=value` pairs, as Prometheus components log.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Minimum level logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    /// Everything, plugin debug records included.
    Debug,
    /// Normal operation.
    Info,
    /// Problems only.
    Warn,
    /// Failures only.
    Error,
}

impl Level {
    fn directive(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Installs the global subscriber. Dependencies' logs are kept at `warn`.
pub fn init(level: Level, format: Format) {
    let filter = EnvFilter::new(format!("warn,wasm_exporter={0}", level.directive()));
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(Promslog {
            json: format == Format::Json,
        })
        .try_init();
    // Already installed (tests); keep the first.
    drop(result);
}

/// Records in promslog's shape, as the Prometheus tools write them: the
/// keys `time`, `level`, `source` and `msg` first, then the record's own;
/// `level` in capitals (`DEBUG`, `INFO`, `WARN`, `ERROR`).
struct Promslog {
    json: bool,
}

/// A record's fields, the message apart; `true` marks a number or a
/// boolean, which JSON writes bare.
#[derive(Default)]
struct Fields {
    msg: String,
    rest: Vec<(&'static str, String, bool)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned(), false);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string(), true);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string(), true);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string(), true);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}"), false);
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String, bare: bool) {
        if field.name() == "message" {
            self.msg = value;
        } else {
            self.rest.push((field.name(), value, bare));
        }
    }
}

/// A logfmt value: bare when it can be, else quoted and escaped.
fn logfmt_value(out: &mut String, v: &str) {
    let bare = !v.is_empty()
        && v.chars()
            .all(|c| c > ' ' && c != '"' && c != '=' && c != '\\' && c != '\u{7f}');
    if bare {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<S: Subscriber> Layer<S> for Promslog {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut time = String::new();
        let _ = SystemTime.format_time(&mut Writer::new(&mut time));
        let level = match *meta.level() {
            tracing::Level::ERROR => "ERROR",
            tracing::Level::WARN => "WARN",
            tracing::Level::INFO => "INFO",
            tracing::Level::DEBUG | tracing::Level::TRACE => "DEBUG",
        };
        let file = meta.file().unwrap_or("?");
        let file = file.rsplit('/').next().unwrap_or(file);
        let source = format!("{file}:{}", meta.line().unwrap_or(0));
        let head = [
            ("time", time, false),
            ("level", level.to_owned(), false),
            ("source", source, false),
            ("msg", std::mem::take(&mut fields.msg), false),
        ];
        let mut line = String::with_capacity(160);
        line.push_str(if self.json { "{" } else { "" });
        for (i, (k, v, bare)) in head.iter().chain(&fields.rest).enumerate() {
            if self.json {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&serde_json::Value::from(*k).to_string());
                line.push(':');
                match bare {
                    true => line.push_str(v),
                    false => line.push_str(&serde_json::Value::from(v.as_str()).to_string()),
                }
            } else {
                if i > 0 {
                    line.push(' ');
                }
                line.push_str(k);
                line.push('=');
                logfmt_value(&mut line, v);
            }
        }
        line.push_str(if self.json { "}" } else { "" });
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::logfmt_value;

    #[test]
    fn logfmt_values_are_quoted_only_when_needed() {
        let render = |v: &str| {
            let mut s = String::new();
            logfmt_value(&mut s, v);
            s
        };
        assert_eq!(render("plain"), "plain");
        assert_eq!(render(""), "\"\"");
        assert_eq!(render("two words"), "\"two words\"");
        assert_eq!(render("a=b"), "\"a=b\"");
        assert_eq!(render("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    }
}
