//! Why a plugin failed or lost families: the one list behind the `reason`
//! label of `wasm_exporter_plugin_errors_total`, the log's `reason=` key and
//! the landing page; and why a probe failed ([`ProbeReason`], the `reason`
//! label of `wasm_exporter_probe_failures_total`).

/// A reason a collect failed, or dropped some of what the plugin returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The plugin's files could not be loaded.
    Load,
    /// Instantiation failed.
    Instantiate,
    /// `init` failed or rejected the config.
    Init,
    /// `collect` returned an error value.
    Collect,
    /// A call ran past its deadline.
    Timeout,
    /// The plugin grew its memory past its limit.
    Memory,
    /// The plugin trapped.
    Trap,
    /// More series than `limits.max_series`: the collect was refused.
    TooManySeries,
    /// More families than `limits.max_families`: the collect was refused.
    TooManyFamilies,
    /// Families that break a rule of the exposition formats were dropped.
    InvalidOutput,
    /// Families that clash with another source's, or with a name the host
    /// serves, were dropped.
    NameClash,
    /// A `fetch` to a target outside the plugin's grants was refused.
    FetchDenied,
    /// A granted `fetch` failed.
    Fetch,
    /// The plugin wrote more to stdout/stderr in one call than allowed.
    StderrLimit,
}

impl Reason {
    /// Every reason, in the order the self-metrics list them.
    pub const ALL: [Reason; 14] = [
        Reason::Load,
        Reason::Instantiate,
        Reason::Init,
        Reason::Collect,
        Reason::Timeout,
        Reason::Memory,
        Reason::Trap,
        Reason::TooManySeries,
        Reason::TooManyFamilies,
        Reason::InvalidOutput,
        Reason::NameClash,
        Reason::FetchDenied,
        Reason::Fetch,
        Reason::StderrLimit,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Load => "load",
            Reason::Instantiate => "instantiate",
            Reason::Init => "init",
            Reason::Collect => "collect",
            Reason::Timeout => "timeout",
            Reason::Memory => "memory",
            Reason::Trap => "trap",
            Reason::TooManySeries => "too_many_series",
            Reason::TooManyFamilies => "too_many_families",
            Reason::InvalidOutput => "invalid_output",
            Reason::NameClash => "name_clash",
            Reason::FetchDenied => "fetch_denied",
            Reason::Fetch => "fetch",
            Reason::StderrLimit => "stderr_limit",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `/probe` gave no data: the host's own refusals, or the plugin's
/// failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeReason {
    /// The target is outside the module's `grants.fetch` (answered 403).
    TargetDenied,
    /// The target is not a URL the grants can judge (answered 400).
    InvalidTarget,
    /// No probe slot of the module came free before the deadline.
    Busy,
    /// The module is backing off after repeated failures.
    Backoff,
    /// The plugin failed, for this reason.
    Plugin(Reason),
}

impl ProbeReason {
    /// The reasons counted from the start, so that a failure shows as an
    /// increase rather than a new series.
    pub const ALWAYS: [ProbeReason; 5] = [
        ProbeReason::TargetDenied,
        ProbeReason::InvalidTarget,
        ProbeReason::Busy,
        ProbeReason::Plugin(Reason::Timeout),
        ProbeReason::Plugin(Reason::Trap),
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeReason::TargetDenied => "target_denied",
            ProbeReason::InvalidTarget => "invalid_target",
            ProbeReason::Busy => "busy",
            ProbeReason::Backoff => "backoff",
            ProbeReason::Plugin(reason) => reason.as_str(),
        }
    }
}

impl std::fmt::Display for ProbeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::{ProbeReason, Reason};

    #[test]
    fn probe_reasons_never_take_a_plugin_reason_s_label() {
        let own = [
            ProbeReason::TargetDenied,
            ProbeReason::InvalidTarget,
            ProbeReason::Busy,
            ProbeReason::Backoff,
        ];
        for r in own {
            assert!(
                Reason::ALL.iter().all(|p| p.as_str() != r.as_str()),
                "{r} is also a plugin reason"
            );
        }
        assert_eq!(ProbeReason::Plugin(Reason::Timeout).as_str(), "timeout");
    }

    #[test]
    fn label_values_are_distinct_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Reason::ALL {
            let s = r.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
    }
}
