//! Test plugin that emits every metric kind the contract has, with units,
//! exemplars, timestamps, `_created`, special floats and awkward label values
//! (quotes, backslashes, newlines, UTF-8). Its output is fixed, so the host's
//! encoders can be checked against golden files and independent parsers.

use wasm_exporter_sdk::{
    Bucket, CollectError, Collector, Exemplar, HistogramValue, InitError, MetricFamily,
    NativeBucket, NativeHistogramValue, SummaryValue, Timestamp, export_collector,
};

/// Configuration of the conformance plugin.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Prefix for every family name, so that two instances can run side by
    /// side without clashing.
    pub prefix: Option<String>,
    /// Sleep this long in every collect, and report when the collect started
    /// and ended: for tests of deadlines and of concurrent collection.
    pub sleep_ms: Option<u64>,
    /// Allocate and touch this many bytes in every collect: for tests of the
    /// memory limit.
    pub allocate_bytes: Option<usize>,
    /// Report what the sandbox lets the plugin reach (environment,
    /// filesystem, network) as `<prefix>_sandbox_access{what}`.
    pub probe_sandbox: bool,
    /// Also export `<prefix>_bulk` with this many gauge series (labels
    /// `shard` and `id`): for the series-growth benchmark.
    pub bulk_series: Option<u64>,
    /// Give counters, summaries and histograms the time of `init` as their
    /// creation time instead of the fixed one: for a Prometheus that turns
    /// `_created` into zero samples, which it stores only near the present.
    pub created_at_init: bool,
}

/// The conformance collector: counts its own collects, everything else is
/// constant.
pub struct Conformance {
    prefix: String,
    collects: u64,
    sleep: Option<std::time::Duration>,
    allocate: Option<usize>,
    probe: bool,
    bulk: Option<u64>,
    created: Timestamp,
}

const CREATED: Timestamp = Timestamp {
    seconds: 1_700_000_000,
    nanoseconds: 250_000_000,
};

impl Collector for Conformance {
    type Config = Config;

    fn init(config: Config) -> Result<Self, InitError> {
        let prefix = config.prefix.unwrap_or_else(|| "conformance".to_owned());
        if prefix.is_empty() {
            return Err(InitError::InvalidConfig("prefix must not be empty".into()));
        }
        Ok(Conformance {
            prefix,
            collects: 0,
            sleep: config.sleep_ms.map(std::time::Duration::from_millis),
            allocate: config.allocate_bytes,
            probe: config.probe_sandbox,
            bulk: config.bulk_series,
            created: if config.created_at_init {
                Timestamp::now()
            } else {
                CREATED
            },
        })
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        self.collects += 1;
        if let Some(bytes) = self.allocate {
            let block = vec![1u8; bytes];
            std::hint::black_box(&block);
        }
        if self.probe {
            let mut out = families(&self.prefix, self.collects, self.created);
            out.push(sandbox_probe(&self.prefix));
            return Ok(out);
        }
        if let Some(n) = self.bulk {
            let mut out = families(&self.prefix, self.collects, self.created);
            out.push(bulk(&self.prefix, n, self.collects));
            return Ok(out);
        }
        let Some(sleep) = self.sleep else {
            return Ok(families(&self.prefix, self.collects, self.created));
        };
        let started = unix_seconds();
        std::thread::sleep(sleep);
        let mut out = families(&self.prefix, self.collects, self.created);
        let mut window = MetricFamily::gauge(
            format!("{}_collect_window_seconds", self.prefix),
            "Wall-clock start and end of the last collect.",
        )
        .with_unit("seconds")
        .with_labels(["edge"]);
        window.add_gauge(["start"], started);
        window.add_gauge(["end"], unix_seconds());
        out.push(window);
        Ok(out)
    }
}

/// `n` gauge series in 100-series shards, values changing per collect.
fn bulk(prefix: &str, n: u64, collects: u64) -> MetricFamily {
    let mut family = MetricFamily::gauge(
        format!("{prefix}_bulk"),
        "Many series, for the series-growth benchmark.",
    )
    .with_labels(["shard", "id"]);
    for i in 0..n {
        family.add_gauge(
            [format!("{:07}", i / 100), format!("series-{i:09}")],
            (i + collects) as f64 * 0.5,
        );
    }
    family
}

/// 1 for each kind of access that works from inside the plugin.
fn sandbox_probe(prefix: &str) -> MetricFamily {
    let mut access = MetricFamily::gauge(
        format!("{prefix}_sandbox_access"),
        "Whether the plugin could reach this resource (1) or not (0).",
    )
    .with_labels(["what"]);
    let flag = |ok: bool| if ok { 1.0 } else { 0.0 };
    access.add_gauge(["env"], flag(std::env::vars_os().next().is_some()));
    access.add_gauge(["args"], flag(std::env::args_os().nth(1).is_some()));
    access.add_gauge(["fs_root"], flag(std::fs::read_dir("/").is_ok()));
    access.add_gauge(
        ["fs_etc_passwd"],
        flag(std::fs::read("/etc/passwd").is_ok()),
    );
    access.add_gauge(
        ["fs_write"],
        flag(std::fs::write("probe.txt", b"x").is_ok()),
    );
    access.add_gauge(
        ["tcp_loopback"],
        flag(
            std::net::TcpStream::connect(("127.0.0.1", 22)).is_ok()
                || std::net::TcpListener::bind("127.0.0.1:0").is_ok(),
        ),
    );
    access.add_gauge(
        ["udp"],
        flag(std::net::UdpSocket::bind("127.0.0.1:0").is_ok()),
    );
    use std::net::ToSocketAddrs as _;
    access.add_gauge(["dns"], flag(("localhost", 80).to_socket_addrs().is_ok()));
    access
}

fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The families of one collect; `collects` counts calls since `init`;
/// `created` is the creation time of every counter, summary and histogram.
pub fn families(prefix: &str, collects: u64, created: Timestamp) -> Vec<MetricFamily> {
    let p = |name: &str| format!("{prefix}_{name}");
    let mut out = Vec::new();

    let mut calls = MetricFamily::counter(p("collects_total"), "Calls of collect since init.");
    calls.add_counter((), collects as f64);
    out.push(calls);

    let mut requests = MetricFamily::counter(
        p("requests_total"),
        "Requests with \"quotes\", a backslash \\ and a\nnewline in the help.",
    )
    .with_labels(["method", "path"]);
    requests
        .add_counter(["GET", "/a\"quoted\"/b\\c\nd"], 1027.0)
        .with_created(created)
        .with_exemplar(
            Exemplar::new([("trace_id", "4bf92f3577b34da6")], 0.67)
                .at(Timestamp::new(1_700_000_100, 500_000_000)),
        );
    requests
        .add_counter(["POST", "/ünïcödé/日本語"], 3.0)
        .with_created(created);
    requests.add_counter(["PUT", ""], 0.0);
    out.push(requests);

    let mut temperature = MetricFamily::gauge(p("temperature_celsius"), "Temperature by sensor.")
        .with_unit("celsius")
        .with_labels(["sensor"]);
    temperature.add_gauge(["ambient"], 21.5);
    temperature.add_gauge(["cold"], -40.0);
    temperature.add_gauge(["tiny"], 1e-05);
    temperature.add_gauge(["huge"], 1.5e21);
    temperature.add_gauge(["broken"], f64::NAN);
    temperature.add_gauge(["hot"], f64::INFINITY);
    temperature.add_gauge(["frozen"], f64::NEG_INFINITY);
    temperature
        .add_gauge(["stamped"], 19.25)
        .with_timestamp(Timestamp::new(1_700_000_200, 123_000_000));
    out.push(temperature);

    let mut mystery = MetricFamily::unknown(p("mystery"), "A value of unknown type.");
    mystery.add_unknown((), 42.0);
    out.push(mystery);

    let mut latency = MetricFamily::histogram(p("request_duration_seconds"), "Request latency.")
        .with_unit("seconds")
        .with_labels(["handler"]);
    let mut value = HistogramValue::from_cumulative(
        [
            (0.005, 1),
            (0.01, 3),
            (0.1, 7),
            (1.0, 9),
            (f64::INFINITY, 10),
        ],
        4.2,
        10,
    );
    value.buckets[2].exemplar =
        Some(Exemplar::new([("trace_id", "a1b2"), ("span_id", "c3")], 0.07).at(CREATED));
    value.buckets[4].exemplar = Some(Exemplar::new([("trace_id", "ff")], 2.5));
    latency.add_histogram(["/api"], value).with_created(created);
    latency.add_histogram(
        ["/empty"],
        HistogramValue {
            buckets: vec![Bucket {
                upper_bound: f64::INFINITY,
                cumulative_count: 0,
                exemplar: None,
            }],
            sum: 0.0,
            count: 0,
        },
    );
    out.push(latency);

    let mut queue = MetricFamily::gauge_histogram(p("queue_wait_seconds"), "Age of queued jobs.")
        .with_unit("seconds");
    queue.add_gauge_histogram(
        (),
        HistogramValue::from_cumulative([(1.0, 2), (10.0, 5), (f64::INFINITY, 6)], 31.5, 6),
    );
    out.push(queue);

    let mut rpc = MetricFamily::summary(p("rpc_duration_seconds"), "RPC latency.")
        .with_unit("seconds")
        .with_labels(["service"]);
    rpc.add_summary(
        ["idle"],
        SummaryValue::from_quantiles([(0.5, f64::NAN), (0.99, f64::NAN)], 0.0, 0),
    )
    .with_created(created);
    rpc.add_summary(
        ["busy"],
        SummaryValue::from_quantiles([(0.5, 0.0001), (0.9, 0.002), (0.99, 0.03)], 12.5, 1042),
    );
    out.push(rpc);

    let mut build = MetricFamily::info(p("build_info"), "Build information.")
        .with_labels(["version", "revision"]);
    build.add_info(["1.2.3", "abc\"def"]);
    out.push(build);

    let mut mode = MetricFamily::stateset(p("mode"), "Operating mode.").with_labels(["unit"]);
    mode.add_stateset(
        ["a"],
        [("active", true), ("standby", false), ("failed", false)],
    );
    out.push(mode);

    out.push(native(prefix, created));
    out.push(utf8(prefix));
    out
}

fn buckets(pairs: &[(i32, u64)]) -> Vec<NativeBucket> {
    pairs
        .iter()
        .map(|&(index, count)| NativeBucket { index, count })
        .collect()
}

/// Native histograms (contract 0.2.0): with classic buckets beside, a gap
/// wide enough for a second span, negative and zero buckets and an
/// exemplar; native buckets only; and one without observations.
fn native(prefix: &str, created: Timestamp) -> MetricFamily {
    let mut family = MetricFamily::histogram(
        format!("{prefix}_native_duration_seconds"),
        "Latency in native buckets.",
    )
    .with_unit("seconds")
    .with_labels(["handler"]);
    let classic = HistogramValue::from_cumulative([(1.0, 6), (f64::INFINITY, 9)], 40.5, 9);
    family
        .add_native_histogram(
            ["/both"],
            NativeHistogramValue {
                schema: 0,
                zero_threshold: 0.001,
                zero_count: 2,
                negative: buckets(&[(-1, 1)]),
                positive: buckets(&[(0, 3), (1, 1), (5, 2)]),
                count: 9,
                sum: 40.5,
                exemplars: vec![Exemplar::new([("trace_id", "n1")], 24.0).at(CREATED)],
                classic: classic.buckets,
            },
        )
        .with_created(created);
    family.add_native_histogram(
        ["/native_only"],
        NativeHistogramValue {
            schema: 3,
            zero_threshold: wasm_exporter_sdk::native::DEFAULT_ZERO_THRESHOLD,
            zero_count: 0,
            negative: Vec::new(),
            positive: buckets(&[(8, 1), (9, 1), (11, 1)]),
            count: 3,
            sum: 5.5,
            exemplars: Vec::new(),
            classic: Vec::new(),
        },
    );
    family.add_native_histogram(
        ["/unused"],
        NativeHistogramValue {
            schema: 3,
            zero_threshold: 0.0,
            zero_count: 0,
            negative: Vec::new(),
            positive: Vec::new(),
            count: 0,
            sum: 0.0,
            exemplars: Vec::new(),
            classic: Vec::new(),
        },
    );
    family
}

/// Metric and label names outside the legacy character set (Prometheus
/// 3's UTF-8 names), one of them with a quote.
fn utf8(prefix: &str) -> MetricFamily {
    let mut family = MetricFamily::gauge(
        format!("{prefix}.utf8.temperature"),
        "A name with dots, and label names a legacy scraper cannot read.",
    )
    .with_labels(["room.name", "sensor \"id\"", "plain"]);
    family.add_gauge(["kitchen", "t-1", "x"], 21.0);
    family.add_gauge(["küche", "t-2", "y"], 19.5);
    family
}

export_collector!(Conformance);

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::testing;

    /// Every kind, unit, exemplar and awkward label value here is served by
    /// the exporter, so the SDK's check must pass it all.
    #[test]
    fn testing_check_passes_every_kind_the_exporter_serves() {
        let families = testing::run::<Conformance>("", 1).unwrap();
        assert_eq!(families.len(), 11);
        if let Err(problems) = testing::check(&families) {
            panic!("{problems:#?}");
        }
    }
}
