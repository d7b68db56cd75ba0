//! The `host` and `types` interfaces of the plugin world (older versions of
//! the contract map onto these): a plugin's log records go to the host's
//! log, tagged with the plugin.

use super::contract::current::{host, types};
use super::limits::MAX_LOG_MESSAGE;
use super::state::StoreState;

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

impl host::Host for StoreState {
    fn log(&mut self, level: host::Level, mut message: String) {
        truncate(&mut message, MAX_LOG_MESSAGE);
        let plugin = &*self.plugin;
        match level {
            host::Level::Trace => tracing::trace!(plugin, "{message}"),
            host::Level::Debug => tracing::debug!(plugin, "{message}"),
            host::Level::Info => tracing::info!(plugin, "{message}"),
            host::Level::Warn => tracing::warn!(plugin, "{message}"),
            host::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl types::Host for StoreState {}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncates_on_a_character_boundary() {
        let mut s = "aé".repeat(3);
        truncate(&mut s, 2);
        assert_eq!(s, "a...");
        let mut short = "abc".to_owned();
        truncate(&mut short, 3);
        assert_eq!(short, "abc");
    }
}
