//! promex's names, types, help and labels, by the CSV column (or `show
//! info` key) each is read from. The names, types and help texts are those
//! of HAProxy 2.6's built-in exporter (`http-request use-service
//! prometheus-exporter`), as it serves them; the parity test compares
//! them with Debian's HAProxy. Units converted as promex does:
//! milliseconds in the CSV are seconds here.

use super::{Conv::*, Info, Kind, Kind::*, Stat};

// One entry per family of HAProxy 2.6's promex output, in its order; the
// column is the stats field (management guide, "show stat") it reports.

/// promex's frontend metrics read from one CSV column each.
#[rustfmt::skip]
pub const FRONTEND: &[Stat] = &[
    Stat { name: "current_sessions", column: "scur", kind: Gauge, conv: Plain, help: "Number of current sessions on the frontend, backend or server" },
    Stat { name: "max_sessions", column: "smax", kind: Gauge, conv: Plain, help: "Highest value of current sessions encountered since process started" },
    Stat { name: "limit_sessions", column: "slim", kind: Gauge, conv: Plain, help: "Frontend/listener/server's maxconn, backend's fullconn" },
    Stat { name: "sessions_total", column: "stot", kind: Counter, conv: Plain, help: "Total number of sessions since process started" },
    Stat { name: "bytes_in_total", column: "bin", kind: Counter, conv: Plain, help: "Total number of request bytes since process started" },
    Stat { name: "bytes_out_total", column: "bout", kind: Counter, conv: Plain, help: "Total number of response bytes since process started" },
    Stat { name: "requests_denied_total", column: "dreq", kind: Counter, conv: Plain, help: "Total number of denied requests since process started" },
    Stat { name: "responses_denied_total", column: "dresp", kind: Counter, conv: Plain, help: "Total number of denied responses since process started" },
    Stat { name: "request_errors_total", column: "ereq", kind: Counter, conv: Plain, help: "Total number of invalid requests since process started" },
    Stat { name: "limit_session_rate", column: "rate_lim", kind: Gauge, conv: Plain, help: "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)" },
    Stat { name: "max_session_rate", column: "rate_max", kind: Gauge, conv: Plain, help: "Highest value of sessions per second observed since the worker process started" },
    Stat { name: "http_requests_rate_max", column: "req_rate_max", kind: Gauge, conv: Plain, help: "Highest value of http requests observed since the worker process started" },
    Stat { name: "http_requests_total", column: "req_tot", kind: Counter, conv: Plain, help: "Total number of HTTP requests processed by this object since the worker process started" },
    Stat { name: "http_comp_bytes_in_total", column: "comp_in", kind: Counter, conv: Plain, help: "Total number of bytes submitted to the HTTP compressor for this object since the worker process started" },
    Stat { name: "http_comp_bytes_out_total", column: "comp_out", kind: Counter, conv: Plain, help: "Total number of bytes emitted by the HTTP compressor for this object since the worker process started" },
    Stat { name: "http_comp_bytes_bypassed_total", column: "comp_byp", kind: Counter, conv: Plain, help: "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)" },
    Stat { name: "http_comp_responses_total", column: "comp_rsp", kind: Counter, conv: Plain, help: "Total number of HTTP responses that were compressed for this object since the worker process started" },
    Stat { name: "connections_rate_max", column: "conn_rate_max", kind: Gauge, conv: Plain, help: "Highest value of connections per second observed since the worker process started" },
    Stat { name: "connections_total", column: "conn_tot", kind: Counter, conv: Plain, help: "Total number of new connections accepted on this frontend since the worker process started" },
    Stat { name: "intercepted_requests_total", column: "intercepted", kind: Counter, conv: Plain, help: "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started" },
    Stat { name: "denied_connections_total", column: "dcon", kind: Counter, conv: Plain, help: "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started" },
    Stat { name: "denied_sessions_total", column: "dses", kind: Counter, conv: Plain, help: "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started" },
    Stat { name: "failed_header_rewriting_total", column: "wrew", kind: Counter, conv: Plain, help: "Total number of failed HTTP header rewrites since the worker process started" },
    Stat { name: "http_cache_lookups_total", column: "cache_lookups", kind: Counter, conv: Plain, help: "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started" },
    Stat { name: "http_cache_hits_total", column: "cache_hits", kind: Counter, conv: Plain, help: "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started" },
    Stat { name: "internal_errors_total", column: "eint", kind: Counter, conv: Plain, help: "Total number of internal errors since process started" },
];

/// promex's frontend metrics built from states or several columns.
#[rustfmt::skip]
pub const FRONTEND_SPECIAL: &[(&str, Kind, &str)] = &[
    ("status", Gauge, "Current status of the service, per state label value."),
    ("http_responses_total", Counter, "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"),
];

/// promex's backend metrics read from one CSV column each.
#[rustfmt::skip]
pub const BACKEND: &[Stat] = &[
    Stat { name: "current_queue", column: "qcur", kind: Gauge, conv: Plain, help: "Number of current queued connections" },
    Stat { name: "max_queue", column: "qmax", kind: Gauge, conv: Plain, help: "Highest value of queued connections encountered since process started" },
    Stat { name: "current_sessions", column: "scur", kind: Gauge, conv: Plain, help: "Number of current sessions on the frontend, backend or server" },
    Stat { name: "max_sessions", column: "smax", kind: Gauge, conv: Plain, help: "Highest value of current sessions encountered since process started" },
    Stat { name: "limit_sessions", column: "slim", kind: Gauge, conv: Plain, help: "Frontend/listener/server's maxconn, backend's fullconn" },
    Stat { name: "sessions_total", column: "stot", kind: Counter, conv: Plain, help: "Total number of sessions since process started" },
    Stat { name: "bytes_in_total", column: "bin", kind: Counter, conv: Plain, help: "Total number of request bytes since process started" },
    Stat { name: "bytes_out_total", column: "bout", kind: Counter, conv: Plain, help: "Total number of response bytes since process started" },
    Stat { name: "requests_denied_total", column: "dreq", kind: Counter, conv: Plain, help: "Total number of denied requests since process started" },
    Stat { name: "responses_denied_total", column: "dresp", kind: Counter, conv: Plain, help: "Total number of denied responses since process started" },
    Stat { name: "connection_errors_total", column: "econ", kind: Counter, conv: Plain, help: "Total number of failed connections to server since the worker process started" },
    Stat { name: "response_errors_total", column: "eresp", kind: Counter, conv: Plain, help: "Total number of invalid responses since the worker process started" },
    Stat { name: "retry_warnings_total", column: "wretr", kind: Counter, conv: Plain, help: "Total number of server connection retries since the worker process started" },
    Stat { name: "redispatch_warnings_total", column: "wredis", kind: Counter, conv: Plain, help: "Total number of server redispatches due to connection failures since the worker process started" },
    Stat { name: "weight", column: "weight", kind: Gauge, conv: Plain, help: "Server's effective weight, or sum of active servers' effective weights for a backend" },
    Stat { name: "active_servers", column: "act", kind: Gauge, conv: Plain, help: "Total number of active UP servers with a non-zero weight" },
    Stat { name: "backup_servers", column: "bck", kind: Gauge, conv: Plain, help: "Total number of backup UP servers with a non-zero weight" },
    Stat { name: "check_up_down_total", column: "chkdown", kind: Counter, conv: Plain, help: "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started" },
    Stat { name: "check_last_change_seconds", column: "lastchg", kind: Gauge, conv: Plain, help: "How long ago the last server state changed, in seconds" },
    Stat { name: "downtime_seconds_total", column: "downtime", kind: Counter, conv: Plain, help: "Total time spent in DOWN state, for server or backend" },
    Stat { name: "loadbalanced_total", column: "lbtot", kind: Counter, conv: Plain, help: "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)" },
    Stat { name: "max_session_rate", column: "rate_max", kind: Gauge, conv: Plain, help: "Highest value of sessions per second observed since the worker process started" },
    Stat { name: "http_requests_total", column: "req_tot", kind: Counter, conv: Plain, help: "Total number of HTTP requests processed by this object since the worker process started" },
    Stat { name: "client_aborts_total", column: "cli_abrt", kind: Counter, conv: Plain, help: "Total number of requests or connections aborted by the client since the worker process started" },
    Stat { name: "server_aborts_total", column: "srv_abrt", kind: Counter, conv: Plain, help: "Total number of requests or connections aborted by the server since the worker process started" },
    Stat { name: "http_comp_bytes_in_total", column: "comp_in", kind: Counter, conv: Plain, help: "Total number of bytes submitted to the HTTP compressor for this object since the worker process started" },
    Stat { name: "http_comp_bytes_out_total", column: "comp_out", kind: Counter, conv: Plain, help: "Total number of bytes emitted by the HTTP compressor for this object since the worker process started" },
    Stat { name: "http_comp_bytes_bypassed_total", column: "comp_byp", kind: Counter, conv: Plain, help: "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)" },
    Stat { name: "http_comp_responses_total", column: "comp_rsp", kind: Counter, conv: Plain, help: "Total number of HTTP responses that were compressed for this object since the worker process started" },
    Stat { name: "last_session_seconds", column: "lastsess", kind: Gauge, conv: Plain, help: "How long ago some traffic was seen on this object on this worker process, in seconds" },
    Stat { name: "queue_time_average_seconds", column: "qtime", kind: Gauge, conv: Millis, help: "Avg. queue time for last 1024 successful connections." },
    Stat { name: "connect_time_average_seconds", column: "ctime", kind: Gauge, conv: Millis, help: "Avg. connect time for last 1024 successful connections." },
    Stat { name: "response_time_average_seconds", column: "rtime", kind: Gauge, conv: Millis, help: "Avg. response time for last 1024 successful connections." },
    Stat { name: "total_time_average_seconds", column: "ttime", kind: Gauge, conv: Millis, help: "Avg. total time for last 1024 successful connections." },
    Stat { name: "failed_header_rewriting_total", column: "wrew", kind: Counter, conv: Plain, help: "Total number of failed HTTP header rewrites since the worker process started" },
    Stat { name: "connection_attempts_total", column: "connect", kind: Counter, conv: Plain, help: "Total number of outgoing connection attempts on this backend/server since the worker process started" },
    Stat { name: "connection_reuses_total", column: "reuse", kind: Counter, conv: Plain, help: "Total number of reused connection on this backend/server since the worker process started" },
    Stat { name: "http_cache_lookups_total", column: "cache_lookups", kind: Counter, conv: Plain, help: "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started" },
    Stat { name: "http_cache_hits_total", column: "cache_hits", kind: Counter, conv: Plain, help: "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started" },
    Stat { name: "max_queue_time_seconds", column: "qtime_max", kind: Gauge, conv: Millis, help: "Maximum observed time spent in the queue" },
    Stat { name: "max_connect_time_seconds", column: "ctime_max", kind: Gauge, conv: Millis, help: "Maximum observed time spent waiting for a connection to complete" },
    Stat { name: "max_response_time_seconds", column: "rtime_max", kind: Gauge, conv: Millis, help: "Maximum observed time spent waiting for a server response" },
    Stat { name: "max_total_time_seconds", column: "ttime_max", kind: Gauge, conv: Millis, help: "Maximum observed total request+response time (request+queue+connect+response+processing)" },
    Stat { name: "internal_errors_total", column: "eint", kind: Counter, conv: Plain, help: "Total number of internal errors since process started" },
    Stat { name: "uweight", column: "uweight", kind: Gauge, conv: Plain, help: "Server's user weight, or sum of active servers' user weights for a backend" },
];

/// promex's backend metrics built from states or several columns.
#[rustfmt::skip]
pub const BACKEND_SPECIAL: &[(&str, Kind, &str)] = &[
    ("status", Gauge, "Current status of the service, per state label value."),
    ("http_responses_total", Counter, "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"),
    ("agg_server_status", Gauge, "Backend's aggregated gauge of servers' status"),
    ("agg_server_check_status", Gauge, "Backend's aggregated gauge of servers' state check status"),
    ("agg_check_status", Gauge, "Backend's aggregated gauge of servers' state check status"),
];

/// promex's server metrics read from one CSV column each.
#[rustfmt::skip]
pub const SERVER: &[Stat] = &[
    Stat { name: "current_queue", column: "qcur", kind: Gauge, conv: Plain, help: "Number of current queued connections" },
    Stat { name: "max_queue", column: "qmax", kind: Gauge, conv: Plain, help: "Highest value of queued connections encountered since process started" },
    Stat { name: "current_sessions", column: "scur", kind: Gauge, conv: Plain, help: "Number of current sessions on the frontend, backend or server" },
    Stat { name: "max_sessions", column: "smax", kind: Gauge, conv: Plain, help: "Highest value of current sessions encountered since process started" },
    Stat { name: "limit_sessions", column: "slim", kind: Gauge, conv: Plain, help: "Frontend/listener/server's maxconn, backend's fullconn" },
    Stat { name: "sessions_total", column: "stot", kind: Counter, conv: Plain, help: "Total number of sessions since process started" },
    Stat { name: "bytes_in_total", column: "bin", kind: Counter, conv: Plain, help: "Total number of request bytes since process started" },
    Stat { name: "bytes_out_total", column: "bout", kind: Counter, conv: Plain, help: "Total number of response bytes since process started" },
    Stat { name: "responses_denied_total", column: "dresp", kind: Counter, conv: Plain, help: "Total number of denied responses since process started" },
    Stat { name: "connection_errors_total", column: "econ", kind: Counter, conv: Plain, help: "Total number of failed connections to server since the worker process started" },
    Stat { name: "response_errors_total", column: "eresp", kind: Counter, conv: Plain, help: "Total number of invalid responses since the worker process started" },
    Stat { name: "retry_warnings_total", column: "wretr", kind: Counter, conv: Plain, help: "Total number of server connection retries since the worker process started" },
    Stat { name: "redispatch_warnings_total", column: "wredis", kind: Counter, conv: Plain, help: "Total number of server redispatches due to connection failures since the worker process started" },
    Stat { name: "weight", column: "weight", kind: Gauge, conv: Plain, help: "Server's effective weight, or sum of active servers' effective weights for a backend" },
    Stat { name: "check_failures_total", column: "chkfail", kind: Counter, conv: Plain, help: "Total number of failed individual health checks per server/backend, since the worker process started" },
    Stat { name: "check_up_down_total", column: "chkdown", kind: Counter, conv: Plain, help: "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started" },
    Stat { name: "check_last_change_seconds", column: "lastchg", kind: Gauge, conv: Plain, help: "How long ago the last server state changed, in seconds" },
    Stat { name: "downtime_seconds_total", column: "downtime", kind: Counter, conv: Plain, help: "Total time spent in DOWN state, for server or backend" },
    Stat { name: "queue_limit", column: "qlimit", kind: Gauge, conv: Plain, help: "Limit on the number of connections in queue, for servers only (maxqueue argument)" },
    Stat { name: "current_throttle", column: "throttle", kind: Gauge, conv: Plain, help: "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)" },
    Stat { name: "loadbalanced_total", column: "lbtot", kind: Counter, conv: Plain, help: "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)" },
    Stat { name: "max_session_rate", column: "rate_max", kind: Gauge, conv: Plain, help: "Highest value of sessions per second observed since the worker process started" },
    Stat { name: "check_code", column: "check_code", kind: Gauge, conv: CheckZero, help: "layer5-7 code, if available of the last health check." },
    Stat { name: "check_duration_seconds", column: "check_duration", kind: Gauge, conv: CheckMillis, help: "Total duration of the latest server health check, in seconds." },
    Stat { name: "client_aborts_total", column: "cli_abrt", kind: Counter, conv: Plain, help: "Total number of requests or connections aborted by the client since the worker process started" },
    Stat { name: "server_aborts_total", column: "srv_abrt", kind: Counter, conv: Plain, help: "Total number of requests or connections aborted by the server since the worker process started" },
    Stat { name: "last_session_seconds", column: "lastsess", kind: Gauge, conv: Plain, help: "How long ago some traffic was seen on this object on this worker process, in seconds" },
    Stat { name: "queue_time_average_seconds", column: "qtime", kind: Gauge, conv: Millis, help: "Avg. queue time for last 1024 successful connections." },
    Stat { name: "connect_time_average_seconds", column: "ctime", kind: Gauge, conv: Millis, help: "Avg. connect time for last 1024 successful connections." },
    Stat { name: "response_time_average_seconds", column: "rtime", kind: Gauge, conv: Millis, help: "Avg. response time for last 1024 successful connections." },
    Stat { name: "total_time_average_seconds", column: "ttime", kind: Gauge, conv: Millis, help: "Avg. total time for last 1024 successful connections." },
    Stat { name: "failed_header_rewriting_total", column: "wrew", kind: Counter, conv: Plain, help: "Total number of failed HTTP header rewrites since the worker process started" },
    Stat { name: "connection_attempts_total", column: "connect", kind: Counter, conv: Plain, help: "Total number of outgoing connection attempts on this backend/server since the worker process started" },
    Stat { name: "connection_reuses_total", column: "reuse", kind: Counter, conv: Plain, help: "Total number of reused connection on this backend/server since the worker process started" },
    Stat { name: "idle_connections_current", column: "srv_icur", kind: Gauge, conv: Plain, help: "Current number of idle connections available for reuse on this server" },
    Stat { name: "idle_connections_limit", column: "src_ilim", kind: Gauge, conv: Plain, help: "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)" },
    Stat { name: "max_queue_time_seconds", column: "qtime_max", kind: Gauge, conv: Millis, help: "Maximum observed time spent in the queue" },
    Stat { name: "max_connect_time_seconds", column: "ctime_max", kind: Gauge, conv: Millis, help: "Maximum observed time spent waiting for a connection to complete" },
    Stat { name: "max_response_time_seconds", column: "rtime_max", kind: Gauge, conv: Millis, help: "Maximum observed time spent waiting for a server response" },
    Stat { name: "max_total_time_seconds", column: "ttime_max", kind: Gauge, conv: Millis, help: "Maximum observed total request+response time (request+queue+connect+response+processing)" },
    Stat { name: "internal_errors_total", column: "eint", kind: Counter, conv: Plain, help: "Total number of internal errors since process started" },
    Stat { name: "unsafe_idle_connections_current", column: "idle_conn_cur", kind: Gauge, conv: Plain, help: "Current number of unsafe idle connections" },
    Stat { name: "safe_idle_connections_current", column: "safe_conn_cur", kind: Gauge, conv: Plain, help: "Current number of safe idle connections" },
    Stat { name: "used_connections_current", column: "used_conn_cur", kind: Gauge, conv: Plain, help: "Current number of connections in use" },
    Stat { name: "need_connections_current", column: "need_conn_est", kind: Gauge, conv: Plain, help: "Estimated needed number of connections" },
    Stat { name: "uweight", column: "uweight", kind: Gauge, conv: Plain, help: "Server's user weight, or sum of active servers' user weights for a backend" },
];

/// promex's server metrics built from states or several columns.
#[rustfmt::skip]
pub const SERVER_SPECIAL: &[(&str, Kind, &str)] = &[
    ("status", Gauge, "Current status of the service, per state label value."),
    ("check_status", Gauge, "Status of last health check, per state label value."),
    ("http_responses_total", Counter, "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"),
];

/// promex's process metrics from `show info` keys.
#[rustfmt::skip]
pub const PROCESS: &[Info] = &[
    Info { name: "nbthread", key: "Nbthread", kind: Gauge, help: "Number of started threads (global.nbthread)" },
    Info { name: "nbproc", key: "Nbproc", kind: Gauge, help: "Number of started worker processes (historical, always 1)" },
    Info { name: "relative_process_id", key: "Process_num", kind: Gauge, help: "Relative worker process number (1)" },
    Info { name: "uptime_seconds", key: "Uptime_sec", kind: Gauge, help: "How long ago this worker process was started (seconds)" },
    Info { name: "pool_failures_total", key: "PoolFailed", kind: Counter, help: "Number of failed pool allocations since this worker was started" },
    Info { name: "max_fds", key: "Ulimit-n", kind: Gauge, help: "Hard limit on the number of per-process file descriptors" },
    Info { name: "max_sockets", key: "Maxsock", kind: Gauge, help: "Hard limit on the number of per-process sockets" },
    Info { name: "max_connections", key: "Maxconn", kind: Gauge, help: "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)" },
    Info { name: "hard_max_connections", key: "Hard_maxconn", kind: Gauge, help: "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)" },
    Info { name: "current_connections", key: "CurrConns", kind: Gauge, help: "Current number of connections on this worker process" },
    Info { name: "connections_total", key: "CumConns", kind: Counter, help: "Total number of connections on this worker process since started" },
    Info { name: "requests_total", key: "CumReq", kind: Counter, help: "Total number of requests on this worker process since started" },
    Info { name: "max_ssl_connections", key: "MaxSslConns", kind: Gauge, help: "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited" },
    Info { name: "current_ssl_connections", key: "CurrSslConns", kind: Gauge, help: "Current number of SSL endpoints on this worker process (front+back)" },
    Info { name: "ssl_connections_total", key: "CumSslConns", kind: Counter, help: "Total number of SSL endpoints on this worker process since started (front+back)" },
    Info { name: "max_pipes", key: "Maxpipes", kind: Gauge, help: "Hard limit on the number of pipes for splicing, 0=unlimited" },
    Info { name: "pipes_used_total", key: "PipesUsed", kind: Counter, help: "Current number of pipes in use in this worker process" },
    Info { name: "pipes_free_total", key: "PipesFree", kind: Counter, help: "Current number of allocated and available pipes in this worker process" },
    Info { name: "current_connection_rate", key: "ConnRate", kind: Gauge, help: "Number of front connections created on this worker process over the last second" },
    Info { name: "limit_connection_rate", key: "ConnRateLimit", kind: Gauge, help: "Hard limit for ConnRate (global.maxconnrate)" },
    Info { name: "max_connection_rate", key: "MaxConnRate", kind: Gauge, help: "Highest ConnRate reached on this worker process since started (in connections per second)" },
    Info { name: "current_session_rate", key: "SessRate", kind: Gauge, help: "Number of sessions created on this worker process over the last second" },
    Info { name: "limit_session_rate", key: "SessRateLimit", kind: Gauge, help: "Hard limit for SessRate (global.maxsessrate)" },
    Info { name: "max_session_rate", key: "MaxSessRate", kind: Gauge, help: "Highest SessRate reached on this worker process since started (in sessions per second)" },
    Info { name: "current_ssl_rate", key: "SslRate", kind: Gauge, help: "Number of SSL connections created on this worker process over the last second" },
    Info { name: "limit_ssl_rate", key: "SslRateLimit", kind: Gauge, help: "Hard limit for SslRate (global.maxsslrate)" },
    Info { name: "max_ssl_rate", key: "MaxSslRate", kind: Gauge, help: "Highest SslRate reached on this worker process since started (in connections per second)" },
    Info { name: "current_frontend_ssl_key_rate", key: "SslFrontendKeyRate", kind: Gauge, help: "Number of SSL keys created on frontends in this worker process over the last second" },
    Info { name: "max_frontend_ssl_key_rate", key: "SslFrontendMaxKeyRate", kind: Gauge, help: "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)" },
    Info { name: "frontend_ssl_reuse", key: "SslFrontendSessionReuse_pct", kind: Gauge, help: "Percent of frontend SSL connections which did not require a new key" },
    Info { name: "current_backend_ssl_key_rate", key: "SslBackendKeyRate", kind: Gauge, help: "Number of SSL keys created on backends in this worker process over the last second" },
    Info { name: "max_backend_ssl_key_rate", key: "SslBackendMaxKeyRate", kind: Gauge, help: "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)" },
    Info { name: "ssl_cache_lookups_total", key: "SslCacheLookups", kind: Counter, help: "Total number of SSL session ID lookups in the SSL session cache on this worker since started" },
    Info { name: "ssl_cache_misses_total", key: "SslCacheMisses", kind: Counter, help: "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started" },
    Info { name: "http_comp_bytes_in_total", key: "CompressBpsIn", kind: Counter, help: "Number of bytes submitted to the HTTP compressor in this worker process over the last second" },
    Info { name: "http_comp_bytes_out_total", key: "CompressBpsOut", kind: Counter, help: "Number of bytes emitted by the HTTP compressor in this worker process over the last second" },
    Info { name: "limit_http_comp", key: "CompressBpsRateLim", kind: Gauge, help: "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled" },
    Info { name: "current_zlib_memory", key: "ZlibMemUsage", kind: Gauge, help: "Amount of memory currently used by HTTP compression on the current worker process (in bytes)" },
    Info { name: "max_zlib_memory", key: "MaxZlibMemUsage", kind: Gauge, help: "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)" },
    Info { name: "current_tasks", key: "Tasks", kind: Gauge, help: "Total number of tasks in the current worker process (active + sleeping)" },
    Info { name: "current_run_queue", key: "Run_queue", kind: Gauge, help: "Total number of active tasks+tasklets in the current worker process" },
    Info { name: "idle_time_percent", key: "Idle_pct", kind: Gauge, help: "Percentage of last second spent waiting in the current worker thread" },
    Info { name: "stopping", key: "Stopping", kind: Gauge, help: "1 if the worker process is currently stopping, otherwise zero" },
    Info { name: "jobs", key: "Jobs", kind: Gauge, help: "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)" },
    Info { name: "unstoppable_jobs", key: "Unstoppable Jobs", kind: Gauge, help: "Current number of unstoppable jobs on the current worker process (master connections)" },
    Info { name: "listeners", key: "Listeners", kind: Gauge, help: "Current number of active listeners on the current worker process" },
    Info { name: "active_peers", key: "ActivePeers", kind: Gauge, help: "Current number of verified active peers connections on the current worker process" },
    Info { name: "connected_peers", key: "ConnectedPeers", kind: Gauge, help: "Current number of peers having passed the connection step on the current worker process" },
    Info { name: "dropped_logs_total", key: "DroppedLogs", kind: Counter, help: "Total number of dropped logs for current worker process since started" },
    Info { name: "busy_polling_enabled", key: "BusyPolling", kind: Gauge, help: "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)" },
    Info { name: "failed_resolutions", key: "FailedResolutions", kind: Counter, help: "Total number of failed DNS resolutions in current worker process since started" },
    Info { name: "bytes_out_total", key: "TotalBytesOut", kind: Counter, help: "Total number of bytes emitted by current worker process since started" },
    Info { name: "spliced_bytes_out_total", key: "TotalSplicdedBytesOut", kind: Counter, help: "Total number of bytes emitted by current worker process through a kernel pipe since started" },
    Info { name: "bytes_out_rate", key: "BytesOutRate", kind: Gauge, help: "Number of bytes emitted by current worker process over the last second" },
    Info { name: "recv_logs_total", key: "CumRecvLogs", kind: Counter, help: "Total number of log messages received by log-forwarding listeners on this worker process since started" },
    Info { name: "max_memory_bytes", key: "Memmax_bytes", kind: Gauge, help: "Worker process's hard limit on memory usage in byes (-m on command line)" },
    Info { name: "pool_allocated_bytes", key: "PoolAlloc_bytes", kind: Gauge, help: "Amount of memory allocated in pools (in bytes)" },
    Info { name: "pool_used_bytes", key: "PoolUsed_bytes", kind: Gauge, help: "Amount of pool memory currently used (in bytes)" },
    Info { name: "start_time_seconds", key: "Start_time_sec", kind: Gauge, help: "Start time in seconds" },
];

/// Help of `haproxy_process_build_info`.
#[rustfmt::skip]
pub const BUILD_INFO_HELP: &str = "Build info";
