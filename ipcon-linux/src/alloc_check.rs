//! The unit tests' counting allocator (the one all of ipcon's tests share):
//! proof on any host that the engine's steady paths do not allocate. The
//! same claim against the real module is checked in the VM by the
//! end-to-end suite and `ipcon-bench`.

use ipcon_test_support::alloc_count::CountingAllocator;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `work` counting this thread's allocations.
pub(crate) fn allocations_in(work: impl FnOnce()) -> u64 {
    ipcon_test_support::alloc_count::allocations_in(work).1
}
