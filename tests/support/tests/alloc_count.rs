//! The counting allocator counts: a test that sees 0 allocations proves
//! something only if the counter sees the ones that happen.

use ipcon_test_support::alloc_count::{allocations, allocations_in, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn counts_this_threads_allocations_and_the_whole_process() {
    let before = allocations();
    let ((), mine) = allocations_in(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(mine, 1);
    assert!(allocations() > before);
    let ((), none) = allocations_in(|| {
        std::hint::black_box([0u8; 64]);
    });
    assert_eq!(none, 0);
}
