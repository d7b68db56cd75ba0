//! glibc's allocator, tuned once at start for a scrape's pattern: tens of
//! megabytes allocated and freed again every scrape, on whichever worker
//! thread finishes with them.

/// Largest free space kept at the top of the heap rather than given back
/// to the kernel.
const TRIM_THRESHOLD: i32 = 128 << 20;

/// Blocks from this size up get a mapping of their own (given back when
/// freed); smaller ones come from the heap.
const MMAP_THRESHOLD: i32 = 32 << 20;

/// Tunes the allocator; call first thing, before any thread starts.
///
/// - One arena: with an arena per thread each kept its own copy of a
///   scrape's high-water mark. At 500x10 (`scripts/ab.py`): peak RSS
///   0.75x (169 -> 127 MiB), CPU 1.01x.
/// - Freed memory kept for the next scrape: fixed thresholds, where glibc
///   by default raises its mmap threshold after the first large free and
///   then trims the heap top after each burst, so that every scrape
///   faulted its blocks in afresh. At 500x10 peak RSS under wrk 0.87-0.89x,
///   CPU 0.98-1.05x (four runs); in the criterion bench, which runs with
///   it too, the native code 22.1 -> 13.0 ms, the plugin path 63.9 -> 53.1.
///   The price: a scrape of 300,000 series peaks at 241 MiB (180-216
///   without), one of a million at 584 (597-601).
///
/// What the plugins' loading freed is given back once they are up
/// ([`release`]).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets one of the allocator's parameters, with
    // values glibc documents; callers run this before any thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Gives the free memory the allocator holds back to the system: after
/// loading (or reloading) plugins, whose compiled code passed through
/// buffers of tens of megabytes that no scrape will reuse. Without it the
/// exporter held 140 MiB instead of 112 after loading the Python and
/// JavaScript guests.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory; it takes the arena's
    // lock like any allocation.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
