//! glibc's allocator, tuned once at start for a scrape's pattern: tens of
//! megabytes allocated and freed again every scrape, on whichever worker
//! thread finishes with them.

/// Largest free space kept at the top of the heap rather than given back
/// to the kernel.
pub const TRIM_THRESHOLD: i32 = 128 << 20;

/// Blocks from this size up get a mapping of their own (and give it back
/// when freed); smaller ones come from the heap.
pub const MMAP_THRESHOLD: i32 = 32 << 20;

/// Tunes the allocator; call first thing, before any thread starts.
///
/// - One arena: with an arena per thread each kept its own copy of a
///   scrape's high-water mark. At 500x10 (`scripts/ab.py`): peak RSS
///   0.75x (169 -> 127 MiB), CPU 1.01x.
/// - Thresholds fixed instead of adapting: glibc raised its mmap threshold
///   after the first large free and then trimmed the heap top after every
///   scrape, so each scrape faulted its blocks in afresh. At 500x10 in the
///   exporter: peak RSS 0.87-0.88x, CPU 0.98-1.05x (four runs); in the
///   criterion bench's process, which has no other tuning, the plugin
///   path 0.83x and the native code 0.63x.
///
/// What a scrape freed stays mapped up to [`TRIM_THRESHOLD`], as a Go
/// exporter's heap does between collections.
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
