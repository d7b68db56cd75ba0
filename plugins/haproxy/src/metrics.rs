//! The metric tables of haproxy_exporter 0.14: which CSV column becomes which
//! metric, with its help, type and conversion. Names, help texts and types
//! are those the Go exporter serves, so dashboards and alerts carry over.

/// Where a row comes from (CSV field 32, `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0`.
    Frontend,
    /// `1`.
    Backend,
    /// `2`.
    Server,
}

/// One exported CSV field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Position in the CSV (HAProxy's documented field number).
    pub index: usize,
    /// Column name in the CSV header.
    pub column: &'static str,
    /// Metric name after `haproxy_<kind>_`.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Counter (else gauge).
    pub counter: bool,
    /// The `code` label of `http_responses_total`.
    pub code: Option<&'static str>,
    /// Milliseconds in the CSV, exported in seconds.
    pub millis: bool,
}

/// CSV field 17, parsed with [`parse_status`].
pub const STATUS: usize = 17;
/// CSV field 32: 0 frontend, 1 backend, 2 server, 3 listener.
pub const TYPE: usize = 32;
/// Fewer fields than this and a row is a parse failure.
pub const MIN_FIELDS: usize = 33;

/// The default of `server_metric_fields`, as haproxy_exporter 0.14's
/// `--haproxy.server-metric-fields`.
pub const DEFAULT_SERVER_FIELDS: &str =
    "2,3,4,5,6,7,8,9,13,14,15,16,17,18,21,24,30,33,35,38,39,40,41,42,43,44,49,50,58,59,60,61";

const fn f(
    index: usize,
    column: &'static str,
    name: &'static str,
    help: &'static str,
    counter: bool,
) -> Field {
    Field {
        index,
        column,
        name,
        help,
        counter,
        code: None,
        millis: false,
    }
}

const fn ms(index: usize, column: &'static str, name: &'static str, help: &'static str) -> Field {
    Field {
        millis: true,
        ..f(index, column, name, help, false)
    }
}

const fn code(index: usize, column: &'static str, code: &'static str) -> Field {
    Field {
        code: Some(code),
        ..f(
            index,
            column,
            "http_responses_total",
            "Total of HTTP responses.",
            true,
        )
    }
}

const RESPONSES: [Field; 6] = [
    code(39, "hrsp_1xx", "1xx"),
    code(40, "hrsp_2xx", "2xx"),
    code(41, "hrsp_3xx", "3xx"),
    code(42, "hrsp_4xx", "4xx"),
    code(43, "hrsp_5xx", "5xx"),
    code(44, "hrsp_other", "other"),
];

const COMPRESSION: [Field; 4] = [
    f(51, "comp_in", "compressor_bytes_in_total", COMP_IN, true),
    f(52, "comp_out", "compressor_bytes_out_total", COMP_OUT, true),
    f(
        53,
        "comp_byp",
        "compressor_bytes_bypassed_total",
        COMP_BYP,
        true,
    ),
    f(
        54,
        "comp_rsp",
        "http_responses_compressed_total",
        COMP_RSP,
        true,
    ),
];

const SESSIONS: &str = "Current number of active sessions.";
const MAX_SESSIONS: &str = "Maximum observed number of active sessions.";
const LIMIT_SESSIONS: &str = "Configured session limit.";
const SESSIONS_TOTAL: &str = "Total number of sessions.";
const BYTES_IN: &str = "Current total of incoming bytes.";
const BYTES_OUT: &str = "Current total of outgoing bytes.";
const SESSION_RATE: &str = "Current number of sessions per second over last elapsed second.";
const COMP_IN: &str = "Number of HTTP response bytes fed to the compressor";
const COMP_OUT: &str = "Number of HTTP response bytes emitted by the compressor";
const COMP_BYP: &str = "Number of bytes that bypassed the HTTP compressor";
const COMP_RSP: &str = "Number of HTTP responses that were compressed";
const CLI_ABRT: &str = "Total number of data transfers aborted by the client.";
const SRV_ABRT: &str = "Total number of data transfers aborted by the server.";
const LBTOT: &str =
    "Total number of times a server was selected, either for new sessions, or when re-dispatching.";
const QTIME: &str = "Avg. HTTP queue time for last 1024 successful connections.";
const CTIME: &str = "Avg. HTTP connect time for last 1024 successful connections.";
const RTIME: &str = "Avg. HTTP response time for last 1024 successful connections.";
const TTIME: &str = "Avg. HTTP total time for last 1024 successful connections.";

/// Session and byte counts, which every kind of row exports alike.
const SESSIONS_AND_BYTES: &[Field] = &[
    f(4, "scur", "current_sessions", SESSIONS, false),
    f(5, "smax", "max_sessions", MAX_SESSIONS, false),
    f(6, "slim", "limit_sessions", LIMIT_SESSIONS, false),
    f(7, "stot", "sessions_total", SESSIONS_TOTAL, true),
    f(8, "bin", "bytes_in_total", BYTES_IN, true),
    f(9, "bout", "bytes_out_total", BYTES_OUT, true),
];

/// Frontend metrics: [`SESSIONS_AND_BYTES`] plus these.
const FRONTEND_OWN: &[Field] = &[
    f(
        10,
        "dreq",
        "requests_denied_total",
        "Total of requests denied for security.",
        true,
    ),
    f(
        12,
        "ereq",
        "request_errors_total",
        "Total of request errors.",
        true,
    ),
    f(33, "rate", "current_session_rate", SESSION_RATE, false),
    f(
        34,
        "rate_lim",
        "limit_session_rate",
        "Configured limit on new sessions per second.",
        false,
    ),
    f(
        35,
        "rate_max",
        "max_session_rate",
        "Maximum observed number of sessions per second.",
        false,
    ),
    RESPONSES[0],
    RESPONSES[1],
    RESPONSES[2],
    RESPONSES[3],
    RESPONSES[4],
    RESPONSES[5],
    f(
        48,
        "req_tot",
        "http_requests_total",
        "Total HTTP requests.",
        true,
    ),
    COMPRESSION[0],
    COMPRESSION[1],
    COMPRESSION[2],
    COMPRESSION[3],
    f(
        79,
        "conn_tot",
        "connections_total",
        "Total number of connections",
        true,
    ),
];

/// Fields that backends and servers export alike, besides
/// [`SESSIONS_AND_BYTES`].
const PROXY_SHARED: &[Field] = &[
    f(
        13,
        "econ",
        "connection_errors_total",
        "Total of connection errors.",
        true,
    ),
    f(
        14,
        "eresp",
        "response_errors_total",
        "Total of response errors.",
        true,
    ),
    f(
        15,
        "wretr",
        "retry_warnings_total",
        "Total of retry warnings.",
        true,
    ),
    f(
        16,
        "wredis",
        "redispatch_warnings_total",
        "Total of redispatch warnings.",
        true,
    ),
    f(30, "lbtot", "server_selected_total", LBTOT, true),
    f(33, "rate", "current_session_rate", SESSION_RATE, false),
    RESPONSES[0],
    RESPONSES[1],
    RESPONSES[2],
    RESPONSES[3],
    RESPONSES[4],
    RESPONSES[5],
    f(49, "cli_abrt", "client_aborts_total", CLI_ABRT, true),
    f(50, "srv_abrt", "server_aborts_total", SRV_ABRT, true),
    ms(58, "qtime", "http_queue_time_average_seconds", QTIME),
    ms(59, "ctime", "http_connect_time_average_seconds", CTIME),
    ms(60, "rtime", "http_response_time_average_seconds", RTIME),
    ms(61, "ttime", "http_total_time_average_seconds", TTIME),
];

/// Backend metrics: [`PROXY_SHARED`] plus these.
const BACKEND_OWN: &[Field] = &[
    f(
        2,
        "qcur",
        "current_queue",
        "Current number of queued requests not assigned to any server.",
        false,
    ),
    f(
        3,
        "qmax",
        "max_queue",
        "Maximum observed number of queued requests not assigned to any server.",
        false,
    ),
    f(
        17,
        "status",
        "up",
        "Current health status of the backend (1 = UP, 0 = DOWN).",
        false,
    ),
    f(
        18,
        "weight",
        "weight",
        "Total weight of the servers in the backend.",
        false,
    ),
    f(
        19,
        "act",
        "current_server",
        "Current number of active servers",
        false,
    ),
    f(
        35,
        "rate_max",
        "max_session_rate",
        "Maximum number of sessions per second.",
        false,
    ),
    COMPRESSION[0],
    COMPRESSION[1],
    COMPRESSION[2],
    COMPRESSION[3],
];

/// Server metrics: [`PROXY_SHARED`] plus these; `server_metric_fields`
/// selects among them all.
const SERVER_OWN: &[Field] = &[
    f(
        2,
        "qcur",
        "current_queue",
        "Current number of queued requests assigned to this server.",
        false,
    ),
    f(
        3,
        "qmax",
        "max_queue",
        "Maximum observed number of queued requests assigned to this server.",
        false,
    ),
    f(
        17,
        "status",
        "up",
        "Current health status of the server (1 = UP, 0 = DOWN).",
        false,
    ),
    f(
        18,
        "weight",
        "weight",
        "Current weight of the server.",
        false,
    ),
    f(
        21,
        "chkfail",
        "check_failures_total",
        "Total number of failed health checks.",
        true,
    ),
    f(
        24,
        "downtime",
        "downtime_seconds_total",
        "Total downtime in seconds.",
        true,
    ),
    f(
        35,
        "rate_max",
        "max_session_rate",
        "Maximum observed number of sessions per second.",
        false,
    ),
    ms(
        38,
        "check_duration",
        "check_duration_seconds",
        "Previously run health check duration, in seconds",
    ),
];

/// Every frontend metric.
pub fn frontend() -> Vec<Field> {
    [SESSIONS_AND_BYTES, FRONTEND_OWN].concat()
}

/// Every backend metric.
pub fn backend() -> Vec<Field> {
    [SESSIONS_AND_BYTES, PROXY_SHARED, BACKEND_OWN].concat()
}

/// Every server metric.
pub fn server() -> Vec<Field> {
    [SESSIONS_AND_BYTES, PROXY_SHARED, SERVER_OWN].concat()
}

/// haproxy_exporter's `parseStatusField`: 1 for a serving state.
pub fn parse_status(value: &str) -> f64 {
    match value {
        "UP" | "UP 1/3" | "UP 2/3" | "OPEN" | "no check" | "DRAIN" => 1.0,
        _ => 0.0,
    }
}

/// Parses `server_metric_fields` (comma-separated field numbers); unknown
/// numbers are ignored, as in haproxy_exporter.
pub fn select_server_fields(spec: &str) -> Result<Vec<Field>, String> {
    let mut wanted = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part
            .parse()
            .map_err(|_| format!("invalid server metric field number: {part}"))?;
        wanted.push(n);
    }
    Ok(server()
        .into_iter()
        .filter(|f| wanted.contains(&f.index))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_field_as_haproxy_exporter() {
        for (input, want) in [
            ("UP", 1.0),
            ("UP 1/3", 1.0),
            ("UP 2/3", 1.0),
            ("OPEN", 1.0),
            ("no check", 1.0),
            ("DRAIN", 1.0),
            ("DOWN", 0.0),
            ("DOWN 1/2", 0.0),
            ("NOLB", 0.0),
            ("MAINT", 0.0),
            ("MAINT(via)", 0.0),
            ("unknown", 0.0),
        ] {
            assert_eq!(parse_status(input), want, "{input}");
        }
    }

    #[test]
    fn server_field_selection() {
        assert!(select_server_fields("").unwrap().is_empty());
        let eight = select_server_fields("8").unwrap();
        assert_eq!(eight.len(), 1);
        assert_eq!(eight[0].name, "bytes_in_total");
        let all = select_server_fields(DEFAULT_SERVER_FIELDS).unwrap();
        assert_eq!(all.len(), server().len());
        assert_eq!(
            select_server_fields("8,x").unwrap_err(),
            "invalid server metric field number: x"
        );
        assert_eq!(select_server_fields("8,999").map(|v| v.len()), Ok(1));
    }

    #[test]
    fn tables_are_consistent() {
        for table in [frontend(), backend(), server()] {
            for field in &table {
                assert_eq!(
                    field.name.ends_with("_total"),
                    field.counter,
                    "{}",
                    field.name
                );
            }
        }
    }
}
