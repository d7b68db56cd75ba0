//! What one collect of a plugin gave, as a plain value: the supervisor
//! makes it, the scrape merges its families and the status records it.

use std::sync::Arc;
use std::time::Duration;

use crate::exposition::model::Family;
use crate::exposition::validate::Invalid;
use crate::runtime::{Metadata, PluginError, Usage};

/// Fetch failures of a plugin so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchCounts {
    /// Requests refused by the grants.
    pub denied: u64,
    /// Requests that failed otherwise.
    pub failed: u64,
    /// The last failure since the last success (a warning while the plugin
    /// is up: it may report the target down as data).
    pub last_failure: Option<String>,
}

/// What one collect of a plugin gave: a plain value, shared by every
/// scrape that arrived while it ran.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Sequence number of the collect, per plugin.
    pub id: u64,
    /// Valid families, or why there are none.
    pub result: Result<Vec<Family>, PluginError>,
    /// Families that validation dropped, and why.
    pub dropped: Vec<Invalid>,
    /// Time taken by the call, instantiation included.
    pub duration: Duration,
    /// What the plugin says of itself, once instantiated.
    pub metadata: Option<Metadata>,
    /// When this failure started or extended a backoff: the wait before
    /// the next attempt.
    pub next_attempt: Option<Duration>,
    /// Fetch failures so far.
    pub fetch: FetchCounts,
    /// The instance's memory after the call, and the CPU time of its calls
    /// since the last collect; none when there is no instance.
    pub usage: Option<Usage>,
}

impl Outcome {
    /// An outcome with no data: `error`.
    pub fn failed(id: u64, error: PluginError) -> Self {
        Outcome {
            id,
            result: Err(error),
            dropped: Vec::new(),
            duration: Duration::ZERO,
            metadata: None,
            next_attempt: None,
            fetch: FetchCounts::default(),
            usage: None,
        }
    }

    /// Takes the families out to merge them; copies them when other
    /// scrapes share the outcome.
    pub fn take_families(outcome: &mut Arc<Outcome>) -> Vec<Family> {
        match Arc::get_mut(outcome) {
            Some(owned) => match &mut owned.result {
                Ok(families) => std::mem::take(families),
                Err(_) => Vec::new(),
            },
            None => outcome
                .result
                .as_ref()
                .map_or_else(|_| Vec::new(), Clone::clone),
        }
    }
}
