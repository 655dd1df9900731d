//! `ipcon-e2e`: the end-to-end suite, run inside the VM with the module
//! loaded and the sample binaries in `/bin`.
//!
//! Output contract (parsed by `cargo xtask`): one line per test, `PASS name`
//! or `FAIL name: reason`, then `e2e: N passed, N failed`; exit 0 only if all
//! passed. Arguments are name filters (substrings); the module-unload test
//! always runs last.
//!
//! Every test runs in its own process (`ipcon-e2e __test NAME`) with a
//! deadline; multi-process tests start helpers as `ipcon-e2e __child ROLE`.

mod access;
mod batch;
mod c_api;
mod c_services;
mod calls;
mod common;
mod concurrency;
mod dumps;
mod event_loop;
mod forwarded;
mod fuzz;
mod groups;
mod harness;
mod identity;
mod kevents;
mod leaks;
mod limits;
mod memory;
mod netns;
mod noalloc;
mod overrun;
mod ownership;
mod packs;
mod posted;
mod protocol;
mod rawnl;
mod requests;
mod roles;
mod samples;
mod security;
mod stamps;
mod unicast;
mod unload;
mod user_limits;
mod version;
mod visibility;

use std::process::ExitCode;

use harness::Test;

#[global_allocator]
static ALLOCATOR: ipcon_test_support::alloc_count::CountingAllocator =
    ipcon_test_support::alloc_count::CountingAllocator;

/// Every test, in the order they run; the unload test must stay last (it
/// removes and reloads the module).
fn all_tests() -> Vec<Test> {
    let mut tests = Vec::new();
    tests.extend_from_slice(unicast::TESTS);
    tests.extend_from_slice(protocol::TESTS);
    tests.extend_from_slice(requests::TESTS);
    tests.extend_from_slice(groups::TESTS);
    tests.extend_from_slice(kevents::TESTS);
    tests.extend_from_slice(overrun::TESTS);
    tests.extend_from_slice(limits::TESTS);
    tests.extend_from_slice(access::TESTS);
    tests.extend_from_slice(netns::TESTS);
    tests.extend_from_slice(concurrency::TESTS);
    tests.extend_from_slice(dumps::TESTS);
    tests.extend_from_slice(noalloc::TESTS);
    tests.extend_from_slice(batch::TESTS);
    tests.extend_from_slice(packs::TESTS);
    tests.extend_from_slice(posted::TESTS);
    tests.extend_from_slice(forwarded::TESTS);
    tests.extend_from_slice(calls::TESTS);
    tests.extend_from_slice(event_loop::TESTS);
    tests.extend_from_slice(samples::TESTS);
    tests.extend_from_slice(c_api::TESTS);
    tests.extend_from_slice(c_services::TESTS);
    tests.extend_from_slice(identity::TESTS);
    tests.extend_from_slice(stamps::TESTS);
    tests.extend_from_slice(memory::TESTS);
    tests.extend_from_slice(user_limits::TESTS);
    tests.extend_from_slice(visibility::TESTS);
    tests.extend_from_slice(ownership::TESTS);
    tests.extend_from_slice(fuzz::TESTS);
    tests.extend_from_slice(leaks::TESTS);
    // The version and unload tests replace the module; the version test
    // loads it back as it was.
    tests.extend_from_slice(version::TESTS);
    tests.extend_from_slice(unload::TESTS);
    tests
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("__test") => {
            let name = args.get(1).map(String::as_str).unwrap_or("");
            let Some(test) = all_tests().into_iter().find(|t| t.name == name) else {
                eprintln!("ipcon-e2e: no test named {name:?}");
                return ExitCode::from(2);
            };
            ExitCode::from(harness::run_in_this_process(&test) as u8)
        }
        Some("__child") => ExitCode::from(roles::run(&args[1..]) as u8),
        Some("-h" | "--help") => {
            println!("Usage: ipcon-e2e [FILTER]...\n\nRuns the tests whose name contains a FILTER (all without one).\nTests:");
            for test in all_tests() {
                println!("  {}", test.name);
            }
            ExitCode::SUCCESS
        }
        _ => {
            let selected: Vec<Test> = all_tests()
                .into_iter()
                .filter(|t| args.is_empty() || args.iter().any(|f| t.name.contains(f.as_str())))
                .collect();
            if harness::run_all(&selected) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
