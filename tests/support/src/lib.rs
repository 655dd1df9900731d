//! What ipcon's tests and benchmarks share, written once: the counting
//! allocator that proves "no allocation per message" ([`alloc_count`]) and
//! the raw netlink encoder, parser and socket for what the library will not
//! send or must be measured against ([`rawnl`]).
//!
//! Used by `ipcon-linux`'s unit tests, the end-to-end suite (`tests/`), the
//! benchmarks (`bench/`) and the on-target self-check `ipcon-bench`.

pub mod alloc_count;
pub mod rawnl;
