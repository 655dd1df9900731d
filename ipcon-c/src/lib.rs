//! `libipcon`: the ipcon tutorial's C API (`include/libipcon.h`) on
//! ipcon-linux's `no_std` engine.
//!
//! Built with `panic = "abort"` (the `release` and `min-size` profiles) the
//! library is `no_std`: a C program that links it gets no Rust standard
//! library and no unwinder, only `core`, the engine and its own C library
//! (`malloc`/`free` once per handler and per loop, `strerror`, `errno`,
//! `poll`, `timerfd_*`). The C artifacts
//! come from `install.sh`: `libipcon.a` as cargo builds it, `libipcon.so.0`
//! linked from it with `libipcon.map` (versioned symbols, nothing else
//! exported), the header and `libipcon.pc`.
//!
//! One module per concept: [`handler`] (the handler, its fds and its last
//! failure), [`groups`] (groups and look-ups), [`send`], [`receive`],
//! [`errors`] (errno values and texts), [`abi`] (the C types, checked
//! against the header), [`args`] (C arguments made safe), [`lock`],
//! [`calls`] (`ipcon_call`, `ipcon_serve*`), [`event_loop`] (`ipcon_loop_*`).
//! Each is a module with `#[no_mangle] extern "C"` functions over
//! [`handler::with_peer`], their names in the header and in `libipcon.map`
//! (a new version node per addition).
// Without `panic = "abort"` (cargo's dev profile: clippy, tests) the crate
// keeps std: core's precompiled panic machinery unwinds, and a no_std
// library cannot provide the unwinder. What ships is built with abort.
#![cfg_attr(all(panic = "abort", not(test)), no_std)]
#![deny(missing_docs)]
// The engine's error keeps its details inline without std (no allocation):
// larger than clippy's threshold, as in ipcon-linux's no_std build.
#![allow(clippy::result_large_err)]

pub(crate) mod abi;
mod args;
mod async_rcv;
mod calls;
mod errors;
mod event_loop;
mod groups;
mod handler;
mod lock;
mod receive;
mod send;

use core::ffi::{c_char, c_int};

/// `const char *ipcon_strerror(int err)`: what `err` (a negative errno an
/// ipcon function returned, or a positive one) means for ipcon.
#[no_mangle]
pub extern "C" fn ipcon_strerror(err: c_int) -> *const c_char {
    errors::strerror_of(err)
}

#[cfg(all(panic = "abort", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // No entry point panics on any input (errors are returned as errno);
    // reaching this is a bug, and C's abort is what a C library does then.
    // SAFETY: abort takes no arguments and does not return.
    unsafe { abort() }
}

/// Rust's precompiled `compiler_builtins` (built to unwind) names the
/// unwinding personality in its exception tables; a C program linking
/// `libipcon.a` pulls such an object in for a helper (e.g. 128-bit
/// division) and needs the symbol resolved. Panics abort here, so nothing
/// ever unwinds through it: it is never called.
#[cfg(all(panic = "abort", not(test)))]
#[export_name = "rust_eh_personality"]
extern "C" fn never_unwinds() {}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;
    use std::vec::Vec;

    /// `(name, parameter count)` of every C function the Rust sources define.
    fn rust_exports() -> Vec<(String, usize)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("\n#[no_mangle]\n") {
                rest = &rest[at..];
                let start = rest.find(" fn ").unwrap() + 4;
                let open = rest.find('(').unwrap();
                let close = rest.find(") ").unwrap();
                let params = rest[open + 1..close].matches(':').count();
                found.push((rest[start..open].to_owned(), params));
                rest = &rest[close..];
            }
        }
        found.sort();
        found
    }

    /// `(name, parameter count)` of every function the header declares.
    fn header_prototypes() -> Vec<(String, usize)> {
        let header = crate::abi::tests::header();
        let mut found = Vec::new();
        let mut statement = String::new();
        for line in header.lines() {
            let starts = line.starts_with("int ")
                || line.starts_with("void ")
                || line.starts_with("const char *")
                || line.starts_with("IPCON_HANDLER ");
            if statement.is_empty() && !starts {
                continue;
            }
            statement.push_str(line);
            statement.push(' ');
            if !line.trim_end().ends_with(';') {
                continue;
            }
            let open = statement.find('(').unwrap();
            let name = statement[..open]
                .rsplit([' ', '*'])
                .next()
                .unwrap()
                .to_owned();
            let params = &statement[open + 1..statement.rfind(')').unwrap()];
            let count = if params.trim() == "void" {
                0
            } else {
                params.matches(',').count() + 1
            };
            found.push((name, count));
            statement.clear();
        }
        found.sort();
        found
    }

    #[test]
    fn the_header_declares_exactly_what_the_library_defines() {
        let defined = rust_exports();
        assert!(defined.len() >= 24, "found only {defined:?}");
        assert_eq!(header_prototypes(), defined);
    }

    #[test]
    fn the_symbol_map_exports_exactly_the_header_functions() {
        let map =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/libipcon.map")).unwrap();
        let mut exported: Vec<String> = map
            .lines()
            .map(str::trim)
            .filter(|l| {
                l.ends_with(';') && !l.contains(':') && !l.contains('*') && !l.contains('}')
            })
            .map(|l| l.trim_end_matches(';').to_owned())
            .collect();
        exported.sort();
        let declared: Vec<String> = header_prototypes().into_iter().map(|(n, _)| n).collect();
        assert_eq!(exported, declared);
    }
}
