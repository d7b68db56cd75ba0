//! `basic_auth_users`: bcrypt hashes checked per request, as
//! exporter-toolkit checks them: an unknown user against a fixed cost-10
//! hash, good credentials cached (never a password, never a wrong one) so
//! that frequent scrapes stay cheap.

use std::collections::{HashMap, HashSet};
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

/// Most remembered good credentials; the cache starts over when full.
const AUTH_CACHE_ENTRIES: usize = 4096;

/// Cost of the hash an unknown user is checked against, as
/// exporter-toolkit does: the same work for any name that is not a user,
/// whatever the configured hashes cost.
pub const DECOY_COST: u32 = 10;

/// The decoy hash, made once per process (its password is never asked for:
/// an unknown user is refused whatever the check says).
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        bcrypt::hash("wasm_exporter: not a user", DECOY_COST)
            .unwrap_or_else(|_| format!("$2y${DECOY_COST}${}", "x".repeat(53)))
    })
}

/// Basic-auth users and their bcrypt hashes, with a cache of credentials
/// already found good, so that a scrape every few seconds does not pay
/// bcrypt's cost each time. A wrong password never enters the cache.
pub struct Users {
    pub(super) hashes: HashMap<String, String>,
    /// SHA-256 of (user, hash, password) for credentials checked good;
    /// never the password itself.
    cache: Mutex<HashSet<[u8; 32]>>,
}

/// Credentials that need bcrypt's check: [`Users::verify`] does it.
pub struct Pending {
    key: [u8; 32],
    hash: String,
    password: String,
    known: bool,
}

/// What [`Users::lookup`] found, without running bcrypt.
pub enum Lookup {
    /// No credentials, malformed ones, or none configured.
    Refused,
    /// Credentials found good before.
    Cached,
    /// Credentials for bcrypt: a known user's hash, or the decoy.
    Verify(Pending),
}

impl Users {
    pub(super) fn new(hashes: HashMap<String, String>) -> Self {
        if !hashes.is_empty() {
            // Made now, not on the first unknown user's request.
            decoy();
        }
        Users {
            hashes,
            cache: Mutex::new(HashSet::new()),
        }
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// The cheap half of a check: parses an `Authorization` header value
    /// and answers from the cache of good credentials when it can.
    pub fn lookup(&self, authorization: Option<&[u8]>) -> Lookup {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return Lookup::Refused;
        };
        if !self.enabled() {
            return Lookup::Refused;
        }
        let (hash, known) = match self.hashes.get(&user) {
            Some(h) => (h.as_str(), true),
            None => (decoy(), false),
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
        if known && self.lock().contains(&key) {
            return Lookup::Cached;
        }
        Lookup::Verify(Pending {
            key,
            hash: hash.to_owned(),
            password,
            known,
        })
    }

    /// The costly half: `verify` is bcrypt's check (blocking). Good
    /// credentials of a known user are remembered.
    pub fn verify(&self, pending: Pending, verify: impl FnOnce(&str, &str) -> bool) -> bool {
        let ok = verify(&pending.password, &pending.hash) && pending.known;
        if ok {
            let mut cache = self.lock();
            if cache.len() >= AUTH_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(pending.key);
        }
        ok
    }

    /// Both halves at once, for callers that may block.
    pub fn check(
        &self,
        authorization: Option<&[u8]>,
        verify: impl FnOnce(&str, &str) -> bool,
    ) -> bool {
        match self.lookup(authorization) {
            Lookup::Refused => false,
            Lookup::Cached => true,
            Lookup::Verify(pending) => self.verify(pending, verify),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
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
    fn only_good_credentials_are_cached_and_unknown_users_cost_the_decoy() {
        let users = Users::new(HashMap::from([("prom".to_owned(), hash())]));
        let calls = Cell::new(0);
        let costs = std::cell::RefCell::new(Vec::new());
        let verify = |p: &str, h: &str| {
            calls.set(calls.get() + 1);
            costs.borrow_mut().push(bcrypt_cost(h).unwrap());
            bcrypt_verify(p, h)
        };
        assert!(users.check(Some(&basic("prom", "secret")), verify));
        assert!(!users.check(Some(&basic("prom", "wrong")), verify));
        // An unknown user runs bcrypt too, on the cost-10 decoy, even with
        // a password that is some user's.
        assert!(!users.check(Some(&basic("nobody", "secret")), verify));
        assert_eq!(calls.get(), 3);
        assert_eq!(*costs.borrow(), [4, 4, DECOY_COST]);
        // Good credentials come from the cache; a wrong password or an
        // unknown user is checked again every time, never remembered.
        assert!(users.check(Some(&basic("prom", "secret")), verify));
        assert_eq!(calls.get(), 3);
        assert!(!users.check(Some(&basic("prom", "wrong")), verify));
        assert!(!users.check(Some(&basic("nobody", "secret")), verify));
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn an_expensive_user_hash_does_not_make_unknown_users_expensive() {
        let costly = bcrypt::hash("secret", 12).unwrap();
        let users = Users::new(HashMap::from([("prom".to_owned(), costly)]));
        let Lookup::Verify(pending) = users.lookup(Some(&basic("nobody", "x"))) else {
            panic!("an unknown user is verified");
        };
        assert_eq!(bcrypt_cost(&pending.hash), Ok(DECOY_COST));
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
