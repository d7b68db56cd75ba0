//! The `host` interface of the plugin world, in the host's words (each
//! contract version's file maps its own onto this): a plugin's log records
//! go to the host's log, tagged with the plugin, within a budget per call.

use tracing::Level;

use super::limits::MAX_LOG_MESSAGE;

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
}

/// What a plugin may still log in the current call: `host.log` records and
/// the host's lines about its failed fetches share it. Past it, lines are
/// dropped and counted, and one line at the call's end says how many.
#[derive(Debug)]
pub struct LogBudget {
    cap: usize,
    left: usize,
    suppressed_lines: u64,
    suppressed_bytes: u64,
}

impl LogBudget {
    /// `cap` bytes per call (`limits.max_log_bytes`).
    pub fn new(cap: usize) -> Self {
        LogBudget {
            cap,
            left: cap,
            suppressed_lines: 0,
            suppressed_bytes: 0,
        }
    }

    /// Writes one log record of `plugin`, cut to [`MAX_LOG_MESSAGE`] bytes,
    /// if the call's budget still holds it.
    pub fn write(&mut self, plugin: &str, level: Level, mut message: String) {
        truncate(&mut message, MAX_LOG_MESSAGE);
        let cost = message.len().max(1);
        if cost > self.left {
            self.suppressed_lines += 1;
            self.suppressed_bytes += cost as u64;
            return;
        }
        self.left -= cost;
        match level {
            Level::TRACE => tracing::trace!(plugin, "{message}"),
            Level::DEBUG => tracing::debug!(plugin, "{message}"),
            Level::INFO => tracing::info!(plugin, "{message}"),
            Level::WARN => tracing::warn!(plugin, "{message}"),
            _ => tracing::error!(plugin, "{message}"),
        }
    }

    /// Ends a call: says what was suppressed in it, if anything, and
    /// refills the budget for the next call. The lines suppressed.
    pub fn end_call(&mut self, plugin: &str) -> u64 {
        let suppressed = self.suppressed_lines;
        if suppressed > 0 {
            tracing::warn!(
                plugin,
                suppressed_lines = suppressed,
                suppressed_bytes = self.suppressed_bytes,
                "the plugin's log in one call went over its budget of {} bytes (limits.max_log_bytes): {suppressed} lines ({} bytes) not written",
                self.cap,
                self.suppressed_bytes
            );
        }
        self.left = self.cap;
        self.suppressed_lines = 0;
        self.suppressed_bytes = 0;
        suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::{LogBudget, truncate};
    use tracing::Level;

    #[test]
    fn truncates_on_a_character_boundary() {
        let mut s = "aé".repeat(3);
        truncate(&mut s, 2);
        assert_eq!(s, "a...");
        let mut short = "abc".to_owned();
        truncate(&mut short, 3);
        assert_eq!(short, "abc");
    }

    #[test]
    fn a_call_logs_within_its_budget_and_counts_the_rest() {
        let mut budget = LogBudget::new(10);
        budget.write("p", Level::INFO, "12345".into());
        budget.write("p", Level::INFO, "12345".into());
        budget.write("p", Level::INFO, "1".into());
        budget.write("p", Level::INFO, "123".into());
        assert_eq!(budget.end_call("p"), 2);
        // Refilled for the next call.
        budget.write("p", Level::INFO, "1234567890".into());
        assert_eq!(budget.end_call("p"), 0);
    }
}
