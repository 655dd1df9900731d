//! A global allocator that counts allocations, so a test can assert that a
//! steady-state path does not touch the heap: process-wide
//! ([`allocations`]) and for the calling thread only while it runs some work
//! ([`allocations_in`]; what a multi-threaded test runner needs).
//!
//! A program installs it with
//! `#[global_allocator] static A: CountingAllocator = CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static TOTAL: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static MINE: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting every allocation and reallocation.
#[derive(Debug)]
pub struct CountingAllocator;

fn note_allocation() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: the thread-locals may be gone while a thread exits.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = MINE.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counting touches only an atomic and const-initialised thread-locals, never
// the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations made by the whole process so far.
pub fn allocations() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Runs `work` and returns its result with the number of allocations the
/// calling thread made meanwhile (other threads' do not count).
pub fn allocations_in<T>(work: impl FnOnce() -> T) -> (T, u64) {
    MINE.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let out = work();
    COUNTING.with(|c| c.set(false));
    (out, MINE.with(Cell::get))
}
