//! The host's file descriptors, shared out among plugin instances. Each
//! instance holds a grant of WASI handles (its `limits.max_open_files`, or
//! what is left) for its life, and the grants together never reach into
//! the reserve the host keeps for itself (listeners, connections, `fetch`
//! sockets, its own files): a plugin that opens files without closing them
//! fails alone, and the host and the other plugins keep working.

use std::sync::{Arc, Mutex};

use super::limits::HOST_RESERVED_FILES;

/// Fewest handles an instance starts with: its standard streams and
/// directories, and a few files.
pub const MIN_GRANT: u64 = 16;

/// The handles plugins may hold at once, all instances together.
#[derive(Debug)]
pub struct HandlePool {
    available: Mutex<u64>,
}

/// Handles granted to one instance, given back when it is dropped.
#[derive(Debug)]
pub struct HandleGrant {
    pool: Arc<HandlePool>,
    count: u64,
}

impl HandleGrant {
    /// How many handles the instance may hold.
    pub fn count(&self) -> usize {
        usize::try_from(self.count).unwrap_or(usize::MAX)
    }
}

impl Drop for HandleGrant {
    fn drop(&mut self) {
        *self.pool.lock() += self.count;
    }
}

impl HandlePool {
    /// A pool of `total` handles.
    pub fn new(total: u64) -> Arc<Self> {
        Arc::new(HandlePool {
            available: Mutex::new(total),
        })
    }

    /// The pool of this process: its descriptor limit, first raised to the
    /// hard limit as Go programs do at start, less the host's reserve.
    pub fn for_process() -> Arc<Self> {
        Self::new(descriptor_limit().saturating_sub(HOST_RESERVED_FILES))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.available.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Handles left to grant.
    pub fn available(&self) -> u64 {
        *self.lock()
    }

    /// Grants up to `want` handles, or what is left if that is at least
    /// [`MIN_GRANT`]; `None` when not even that is left.
    pub fn take(self: &Arc<Self>, want: usize) -> Option<HandleGrant> {
        let want = u64::try_from(want).unwrap_or(u64::MAX);
        let mut available = self.lock();
        let count = want.min(*available);
        if count < want.min(MIN_GRANT) {
            return None;
        }
        *available -= count;
        Some(HandleGrant {
            pool: Arc::clone(self),
            count,
        })
    }
}

/// The process's descriptor limit, raised from the soft to the hard limit
/// where they differ (an unlimited one counts as a very large number).
fn descriptor_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if setrlimit(Resource::Nofile, limit).is_err() {
            limit = getrlimit(Resource::Nofile);
        }
    }
    limit.current.unwrap_or(u64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_never_take_more_than_the_pool_and_come_back_when_dropped() {
        let pool = HandlePool::new(300);
        let a = pool.take(256).expect("a grant");
        assert_eq!(a.count(), 256);
        let b = pool.take(256).expect("what is left");
        assert_eq!(b.count(), 44);
        assert!(pool.take(256).is_none(), "nothing left");
        drop(a);
        assert_eq!(pool.available(), 256);
        // A small ask is granted whole even under MIN_GRANT.
        assert_eq!(pool.take(4).map(|g| g.count()), Some(4));
    }

    #[test]
    fn the_process_raises_its_limit_and_keeps_its_reserve() {
        use rustix::process::{Resource, getrlimit};
        let pool = HandlePool::for_process();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum, "soft limit raised to hard");
        let soft = limit.current.unwrap_or(u64::MAX / 2);
        assert_eq!(pool.available() + HOST_RESERVED_FILES, soft);
    }
}
