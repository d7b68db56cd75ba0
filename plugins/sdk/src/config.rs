//! Helpers for plugin configuration.

use std::time::Duration;

use crate::duration::bare_number;
pub use crate::duration::{DurationError, parse_duration};

/// Serde helper for a duration in Prometheus' syntax (`10s`, `1h30m`,
/// `500ms`), the same grammar as the host's `limits.timeout`:
/// `#[serde(deserialize_with = "wasm_exporter_sdk::config::duration")]`.
/// A bare number is refused, as it says nothing of its unit; the host's
/// error then names the key (`config.timeout: ...`).
pub fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(serde_json::Number),
        Text(String),
    }
    match <Raw as serde::Deserialize>::deserialize(d)? {
        Raw::Number(n) => Err(serde::de::Error::custom(bare_number(n))),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Config {
        #[serde(deserialize_with = "duration")]
        #[allow(dead_code)]
        timeout: Duration,
    }

    #[test]
    fn a_config_duration_takes_the_host_grammar() {
        let c: Config = serde_json::from_str(r#"{"timeout": "1m30s"}"#).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(90));
        let e = serde_json::from_str::<Config>(r#"{"timeout": 10}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a number needs a unit"), "{e}");
        let e = serde_json::from_str::<Config>(r#"{"timeout": "1.5s"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only whole numbers"), "{e}");
    }
}
