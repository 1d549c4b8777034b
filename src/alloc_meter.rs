//! The binary's counting global allocator, which lets the library's watchdog enforce
//! `--max-file-memory` (the library itself keeps no global state).
//!
//! Takes: every allocation of the process (it wraps the system allocator).
//! Produces: a per-thread count of bytes allocated and not yet freed on that thread, read through
//! [`ThreadMeter`]. Each input file is read on its own thread, so that thread's count is the
//! file's footprint (see `rdptriage::ingest::watchdog` for what is and is not guaranteed).
//!
//! Also [`release_freed_memory`]: what the reader threads freed, given back to the system once
//! reading is over.
//!
//! The counter is a `const`-initialised thread-local `Cell<i64>`: no lazy initialisation, no
//! destructor, so touching it never allocates (which an allocator must not do). The allocator
//! never refuses or fails an allocation itself — that would abort the process — it only counts.

use rdptriage::ingest::watchdog::MemoryMeter;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static HELD: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    let _ = HELD.try_with(|held| held.set(held.get().wrapping_add(delta)));
}

fn size(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The system allocator, counting bytes per thread.
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping does not allocate,
// unwind or touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(size(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(size(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        count(-size(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(size(new_size) - size(layout.size()));
        }
        new
    }
}

/// Reads the calling thread's count.
pub struct ThreadMeter;

impl MemoryMeter for ThreadMeter {
    fn thread_bytes(&self) -> i64 {
        HELD.try_with(Cell::get).unwrap_or(0)
    }
}

/// Give the memory that threads freed back to the system. glibc keeps a thread's freed memory in
/// that thread's arena for later use; once reading is over the reader and walker threads free
/// their buffers, and the stages after reading (correlation, rules, the report) allocate
/// elsewhere, so the process would hold both. Called once between the two; it costs a few
/// milliseconds. Elsewhere than on glibc it does nothing.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: `malloc_trim` only returns free pages to the system; glibc allows calling it
        // from any thread at any time.
        unsafe { malloc_trim(0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident bytes of this process (Linux: `VmRSS` of `/proc/self/status`, in KiB).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident_bytes() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn memory_a_thread_freed_between_live_blocks_goes_back_to_the_system() {
        // 64 MiB in 4 KiB blocks on a thread of its own (its own arena, as a reader's), then
        // all but every 16th freed: the holes cannot be trimmed from the arena's top.
        let kept = std::thread::spawn(|| {
            let blocks: Vec<Vec<u8>> = (0..16 * 1024).map(|i| vec![i as u8; 4096]).collect();
            let kept: Vec<Vec<u8>> = blocks.into_iter().step_by(16).collect();
            kept
        })
        .join()
        .unwrap();
        let before = resident_bytes();
        release_freed_memory();
        let after = resident_bytes();
        assert!(
            before.saturating_sub(after) >= 32 << 20,
            "{before} -> {after} bytes resident"
        );
        assert_eq!(kept.len(), 1024);
    }

    #[test]
    fn a_thread_sees_its_own_allocations() {
        let before = ThreadMeter.thread_bytes();
        let big = vec![1u8; 8 << 20];
        let during = ThreadMeter.thread_bytes();
        assert!(during - before >= 8 << 20, "{before} → {during}");
        let other = std::thread::spawn(|| ThreadMeter.thread_bytes())
            .join()
            .unwrap();
        assert!(other < 8 << 20, "another thread does not see it: {other}");
        drop(big);
        assert!(ThreadMeter.thread_bytes() - before < 1 << 20);
    }
}
