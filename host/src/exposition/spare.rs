//! The buffer of the last `/metrics` body whose bytes were all sent, kept
//! for the next body to be written into.
//!
//! A 500x10 HAProxy body is 10 MB. Freed after each scrape, its block in
//! glibc's heap was taken apart by the next collect's smaller allocations,
//! and the next body needed a fresh block at the top of the heap. Kept
//! here, the one block serves every body in turn: peak RSS 85 -> 79 MiB
//! (`scripts/ab.py`). Bodies in mappings of their own (a lower
//! `M_MMAP_THRESHOLD`) cost their page faults again on every scrape (CPU
//! 1.12x-1.16x).

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

/// One spare buffer.
pub struct Spare(Mutex<Vec<u8>>);

/// The spare of the `/metrics` bodies.
pub static BODIES: Spare = Spare::new();

impl Spare {
    /// No buffer yet.
    pub const fn new() -> Self {
        Spare(Mutex::new(Vec::new()))
    }

    /// An empty buffer for about `size_hint` bytes: the spare when it
    /// holds that much and not more than twice as much (a larger one is
    /// given back to the allocator, so that one large body is not kept for
    /// good), else a new one.
    pub fn take(&self, size_hint: usize) -> Vec<u8> {
        let spare = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        let fits = spare.capacity() >= size_hint && spare.capacity() / 2 <= size_hint;
        if fits {
            spare
        } else {
            drop(spare);
            Vec::with_capacity(size_hint)
        }
    }

    /// `body` as shared bytes whose buffer comes back as this spare once
    /// the last piece of it is dropped (when it is larger than the spare
    /// held then).
    pub fn share(&'static self, body: Vec<u8>) -> Bytes {
        Bytes::from_owner(Returned { body, to: self })
    }

    fn give(&self, mut body: Vec<u8>) {
        body.clear();
        let mut spare = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if body.capacity() > spare.capacity() {
            std::mem::swap(&mut *spare, &mut body);
        }
        // The smaller of the two, in `body`, is freed after the lock is
        // released (locals drop in reverse order).
    }
}

impl Default for Spare {
    fn default() -> Self {
        Spare::new()
    }
}

/// A body that goes back to its spare when dropped.
struct Returned {
    body: Vec<u8>,
    to: &'static Spare,
}

impl AsRef<[u8]> for Returned {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        self.to.give(std::mem::take(&mut self.body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_written_into_the_last_one_once_all_its_pieces_are_gone() {
        static SPARE: Spare = Spare::new();
        let mut body = SPARE.take(1000);
        body.extend_from_slice(b"first body");
        let shared = SPARE.share(body);
        let piece = shared.slice(0..5);
        drop(shared);
        assert_eq!(
            SPARE.take(600).capacity(),
            600,
            "a piece still out: a new one"
        );
        assert_eq!(&piece[..], b"first");
        drop(piece);
        let again = SPARE.take(600);
        assert_eq!(again.capacity(), 1000, "the last body's buffer");
        assert!(again.is_empty(), "and nothing of the last body in it");
        SPARE.give(again);
        assert_eq!(
            SPARE.take(100).capacity(),
            100,
            "far larger than needed: a new one"
        );
        assert_eq!(SPARE.take(0).capacity(), 0, "and the large one not kept");
    }
}
