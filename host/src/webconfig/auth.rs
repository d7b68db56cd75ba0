//! `basic_auth_users`: bcrypt hashes checked per request, with a cache of
//! outcomes (never of passwords) so that frequent scrapes stay cheap.

use std::collections::HashMap;
use std::sync::Mutex;

/// The cost of a bcrypt hash, checking its shape (`$2a$`, `$2b$`, `$2y$`).
pub(super) fn bcrypt_cost(hash: &str) -> Result<u32, String> {
    let parts: Vec<&str> = hash.split('$').collect();
    match parts.as_slice() {
        ["", "2a" | "2b" | "2y" | "2x", cost, rest] if rest.len() == 53 => cost
            .parse()
            .ok()
            .filter(|c| (4..=31).contains(c))
            .ok_or_else(|| "not a bcrypt hash (bad cost)".to_owned()),
        _ => Err("not a bcrypt hash ($2y$<cost>$<53 characters>)".to_owned()),
    }
}

/// Most remembered basic-auth outcomes; the cache starts over when full.
const AUTH_CACHE_ENTRIES: usize = 4096;

/// Basic-auth users and their bcrypt hashes, with a cache of outcomes so
/// that a scrape every few seconds does not pay bcrypt's cost each time.
pub struct Users {
    pub(super) hashes: HashMap<String, String>,
    /// Checked for an unknown user, so that it costs what a known one does.
    decoy: Option<String>,
    /// SHA-256 of (user, hash, password) → outcome; never the password.
    cache: Mutex<HashMap<[u8; 32], bool>>,
}

impl Users {
    pub(super) fn new(hashes: HashMap<String, String>) -> Self {
        // The costliest configured hash, so no user is cheaper to probe.
        let decoy = hashes
            .values()
            .max_by_key(|h| bcrypt_cost(h).unwrap_or(0))
            .cloned();
        Users {
            hashes,
            decoy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// Checks an `Authorization` header value; `verify` is bcrypt's check
    /// (blocking), called only when the outcome is not cached.
    pub fn check(
        &self,
        authorization: Option<&[u8]>,
        verify: impl FnOnce(&str, &str) -> bool,
    ) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.hashes.get(&user) {
            Some(h) => (h.as_str(), true),
            None => match &self.decoy {
                Some(d) => (d.as_str(), false),
                None => return false,
            },
        };
        let key = {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            for part in [user.as_bytes(), hash.as_bytes(), password.as_bytes()] {
                ctx.update(&(part.len() as u64).to_le_bytes());
                ctx.update(part);
            }
            let mut key = [0u8; 32];
            key.copy_from_slice(ctx.finish().as_ref());
            key
        };
        if let Some(ok) = self.lock().get(&key) {
            return *ok && known;
        }
        let ok = verify(&password, hash);
        let mut cache = self.lock();
        if cache.len() >= AUTH_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, ok);
        ok && known
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// bcrypt's own check, for [`Users::check`].
pub fn bcrypt_verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// `Basic base64(user:password)` → (user, password).
fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    fn basic(user: &str, password: &str) -> Vec<u8> {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
        .into_bytes()
    }

    // A real bcrypt hash of "secret" at cost 4.
    pub(crate) fn hash() -> String {
        bcrypt::hash("secret", 4).unwrap()
    }

    #[test]
    fn known_and_unknown_users_each_cost_one_bcrypt_check_then_none() {
        let users = Users::new(HashMap::from([("prom".to_owned(), hash())]));
        let calls = Cell::new(0);
        let verify = |p: &str, h: &str| {
            calls.set(calls.get() + 1);
            bcrypt_verify(p, h)
        };
        assert!(users.check(Some(&basic("prom", "secret")), verify));
        assert!(!users.check(Some(&basic("prom", "wrong")), verify));
        // An unknown user runs bcrypt too, even with the right password.
        assert!(!users.check(Some(&basic("nobody", "secret")), verify));
        assert_eq!(calls.get(), 3);
        // Repeats are answered from the cache, with the same outcome.
        assert!(users.check(Some(&basic("prom", "secret")), verify));
        assert!(!users.check(Some(&basic("prom", "wrong")), verify));
        assert!(!users.check(Some(&basic("nobody", "secret")), verify));
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn malformed_authorization_is_refused_without_bcrypt() {
        let users = Users::new(HashMap::from([("prom".to_owned(), hash())]));
        let never = |_: &str, _: &str| -> bool { panic!("bcrypt called") };
        assert!(!users.check(None, never));
        assert!(!users.check(Some(b"Bearer abc"), never));
        assert!(!users.check(Some(b"Basic !!!"), never));
        assert!(!users.check(Some(b"Basic cHJvbQ=="), never)); // "prom", no colon
    }

    #[test]
    fn bcrypt_hash_shapes() {
        assert_eq!(bcrypt_cost(&hash()), Ok(4));
        assert!(bcrypt_cost("plain").is_err());
        assert!(
            bcrypt_cost("$2y$99$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyza").is_err()
        );
    }
}
