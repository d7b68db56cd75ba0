//! `rate_limit`: a token bucket over every request, as exporter-toolkit's
//! (`golang.org/x/time/rate` with one token per `interval`, `burst` at most);
//! a request without a token gets 429.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// `rate_limit` as written: `interval` in Go's duration syntax (the
/// toolkit's file format: `1s`, `1.5s`, `250ms`), `burst` a count. No
/// `interval` (or 0) means no limit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RateLimitFile {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    burst: u32,
}

/// Parses a Go duration (`time.ParseDuration`): signed decimal numbers,
/// each with a unit `ns`, `us`/`µs`, `ms`, `s`, `m` or `h`; `0` alone.
/// This file keeps Go's grammar because it is exporter-toolkit's format.
fn go_duration(s: &str) -> Result<Duration, String> {
    let err =
        || format!("rate_limit.interval: invalid duration {s:?} (Go syntax, such as 1s or 500ms)");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut seconds = 0.0;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let number = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let (n, tail) = rest.split_at(number);
        let unit = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit);
        let n: f64 = n.parse().map_err(|_| err())?;
        seconds += n * match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        rest = tail;
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| err())
}

/// The bucket of one loaded configuration.
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    burst: u32,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// The limit `file` asks for, if any.
    pub(super) fn from_file(file: &RateLimitFile) -> Result<Option<Self>, String> {
        let interval = match &file.interval {
            Some(text) => go_duration(text)?,
            None => Duration::ZERO,
        };
        if interval.is_zero() {
            return Ok(None);
        }
        Ok(Some(RateLimit {
            interval,
            burst: file.burst,
            state: Mutex::new((f64::from(file.burst), Instant::now())),
        }))
    }

    /// Takes a token for one request; false when there is none.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = *state;
        let refill =
            now.saturating_duration_since(last).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + refill).min(f64::from(self.burst));
        let (tokens, allowed) = if tokens >= 1.0 {
            (tokens - 1.0, true)
        } else {
            (tokens, false)
        };
        *state = (tokens, now);
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_as_the_toolkit_reads_them() {
        assert_eq!(go_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        assert!(
            go_duration("10")
                .unwrap_err()
                .contains("rate_limit.interval")
        );
        assert!(go_duration("").is_err());
        assert!(go_duration("5 years").is_err());
    }

    #[test]
    fn a_burst_then_one_token_per_interval() {
        let file = RateLimitFile {
            interval: Some("1s".into()),
            burst: 2,
        };
        let limit = RateLimit::from_file(&file).unwrap().unwrap();
        let t0 = Instant::now();
        assert!(limit.allow_at(t0));
        assert!(limit.allow_at(t0));
        assert!(!limit.allow_at(t0), "burst spent");
        assert!(
            !limit.allow_at(t0 + Duration::from_millis(500)),
            "half a token"
        );
        assert!(
            limit.allow_at(t0 + Duration::from_millis(1000)),
            "one token back"
        );
        assert!(!limit.allow_at(t0 + Duration::from_millis(1000)));
        // Never more than the burst, however long the wait.
        let later = t0 + Duration::from_secs(3600);
        assert!(limit.allow_at(later) && limit.allow_at(later) && !limit.allow_at(later));
    }

    #[test]
    fn no_interval_is_no_limit() {
        let none = RateLimitFile::default();
        assert!(RateLimit::from_file(&none).unwrap().is_none());
    }
}
