//! The `host` interface of the plugin world, in the host's words (each
//! contract version's file maps its own onto this): a plugin's log records
//! go to the host's log, tagged with the plugin.

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

/// Writes one log record of `plugin`, cut to [`MAX_LOG_MESSAGE`] bytes.
pub fn log(plugin: &str, level: Level, mut message: String) {
    truncate(&mut message, MAX_LOG_MESSAGE);
    match level {
        Level::TRACE => tracing::trace!(plugin, "{message}"),
        Level::DEBUG => tracing::debug!(plugin, "{message}"),
        Level::INFO => tracing::info!(plugin, "{message}"),
        Level::WARN => tracing::warn!(plugin, "{message}"),
        _ => tracing::error!(plugin, "{message}"),
    }
}

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
