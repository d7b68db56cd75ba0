//! The `Accept` headers real Prometheus servers send, as captured from the
//! binaries by the e2e tests (`tests/e2e/native.rs` for Debian's 2.42,
//! `tests/e2e/prometheus3.rs` for the Prometheus 3 `make go-tools` builds),
//! which compare what each server sends with these. The unit tests of
//! negotiation are written against them.

/// Prometheus 2.42, default.
pub const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// Prometheus 2.42 with `--enable-feature=native-histograms`.
pub const PROMETHEUS_2_42_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// Prometheus 3, default `scrape_protocols`: `escaping=` only on the 1.0.0
/// text formats. The weights count down from one more than the number of
/// formats it knows (six in 3.16, OpenMetrics 2.0 among them), not from the
/// number it asks for: hence `q=0.7` first.
pub const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3";
/// Prometheus 3 with protobuf first: `scrape_native_histograms: true`, or
/// `--enable-feature=created-timestamp-zero-ingestion`. Its protobuf entry
/// carries no `escaping=`, so names come escaped (`underscores`), as
/// client_golang serves them too.
pub const PROMETHEUS_3_PROTO_FIRST: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
