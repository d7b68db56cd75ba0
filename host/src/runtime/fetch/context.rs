//! What a plugin's Store holds to serve `fetch`: its grants, its caps, its
//! failure counters and its kept-alive connection.

use std::sync::{Arc, Mutex};

use super::grants::Grants;
use super::http::IdleConnection;
use crate::runtime::limits::DEFAULT_MAX_RESPONSE_BYTES;

/// Fetch failures of one plugin, shared with its status.
#[derive(Debug, Default)]
pub struct FetchStats {
    /// Requests refused by the grants.
    pub denied: u64,
    /// Requests that failed otherwise.
    pub failed: u64,
    /// The failures logged since the last success, so that each is logged
    /// once (at most [`LOGGED_FAILURES`] remembered).
    pub(super) logged: std::collections::HashSet<String>,
    /// The last failure since the last success, as logged.
    pub last_failure: Option<String>,
}

/// Distinct fetch failures remembered as logged, per plugin.
pub const LOGGED_FAILURES: usize = 256;

impl FetchStats {
    /// Whether `message` is a failure not logged yet since the last
    /// success; it is remembered as logged.
    pub(super) fn log_once(&mut self, message: &str) -> bool {
        if self.logged.contains(message) {
            return false;
        }
        if self.logged.len() >= LOGGED_FAILURES {
            self.logged.clear();
        }
        self.logged.insert(message.to_owned());
        true
    }
}

/// Shared handle on [`FetchStats`].
pub type SharedFetchStats = Arc<Mutex<FetchStats>>;

/// What a plugin's store needs to serve `fetch`.
#[derive(Debug, Clone)]
pub struct FetchContext {
    /// The plugin's grants.
    pub grants: Arc<Grants>,
    /// Response size cap in bytes.
    pub max_response_bytes: usize,
    /// Failure counters, shared with the plugin's status.
    pub stats: SharedFetchStats,
    /// One kept-alive HTTP connection, reused by the next scrape of the
    /// same target (as Go's http.Client does for haproxy_exporter).
    pub idle: Arc<Mutex<Option<IdleConnection>>>,
    /// Answers given instead of reaching the target (`check --respond`):
    /// empty when serving.
    pub standins: Arc<Standins>,
}

/// Stand-in answers by exact target, for `wasm_exporter check`: a target
/// with one counts as granted, and nothing is sent to it.
#[derive(Debug, Default)]
pub struct Standins(pub std::collections::HashMap<String, super::Response>);

impl FetchContext {
    /// A context that grants nothing.
    pub fn deny_all() -> Self {
        FetchContext {
            grants: Arc::new(Grants::default()),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            stats: SharedFetchStats::default(),
            idle: Arc::default(),
            standins: Arc::default(),
        }
    }
}
