//! The packaging checks. CI has neither Yocto nor Buildroot, so what their
//! builds would verify is verified here: `ipcon-crates.inc` against
//! Cargo.lock, licence checksums and `.hash` files against the files,
//! oelint-adv on the recipes, shellcheck on every shell script, and each
//! recipe's build steps replayed with Debian's ARM cross tools.

mod crates_inc;
mod licences;
mod lint;
mod programs;
mod reproduce;

use std::path::Path;
use std::time::Instant;

use crate::host_tools;

type Check = fn(&Path) -> Result<String, String>;

/// Debian packages the checks run (apt-get, dpkg-deb, git, make and the
/// compilers come with the machine or the suite's setup).
const PACKAGES: &[&str] = &[
    "rsync",
    "shellcheck",
    "file",
    "kmod",
    "python3-venv",
    "gcc-aarch64-linux-gnu",
    "gcc-arm-linux-gnueabihf",
];

/// Rust targets of the replayed builds (aarch64 musl, 32-bit ARM glibc).
const RUST_TARGETS: &[&str] = &[
    "aarch64-unknown-linux-musl",
    "armv7-unknown-linux-gnueabihf",
];

/// Installs what is missing of the above (printing what it installs).
fn prerequisites(_root: &Path) -> Result<String, String> {
    host_tools::ensure_packages(PACKAGES)?;
    for target in RUST_TARGETS {
        host_tools::ensure_rust_target(target)?;
    }
    Ok(format!(
        "{} Debian packages, {} Rust targets",
        PACKAGES.len(),
        RUST_TARGETS.len()
    ))
}

const CHECKS: &[(&str, Check)] = &[
    ("prerequisites", prerequisites),
    ("ipcon-crates.inc matches Cargo.lock", crates_inc::check),
    ("LIC_FILES_CHKSUM md5", licences::check_lic_files_chksum),
    ("every program packaged", programs::check),
    ("buildroot .hash sha256", licences::check_hash_files),
    ("oelint-adv", lint::oelint),
    ("shellcheck", lint::shellcheck),
    ("yocto recipes' build steps (aarch64)", reproduce::yocto),
    (
        "buildroot packages' build steps (aarch64, musl)",
        reproduce::buildroot_aarch64,
    ),
    (
        "buildroot packages' build steps (armv7, glibc)",
        reproduce::buildroot_armv7,
    ),
];

/// Set to 1 to regenerate `ipcon-crates.inc` from Cargo.lock before checking
/// (the `--write` mode: `XTASK_PACKAGING_WRITE=1 cargo xtask test`).
pub const WRITE_ENV: &str = "XTASK_PACKAGING_WRITE";

/// Runs every check from the repository root; prints one line per check and
/// the summary line `packaging: N passed, N failed`.
pub fn run(root: &Path) -> Result<(), String> {
    if std::env::var(WRITE_ENV).is_ok_and(|v| v == "1") {
        println!("packaging: {}", crates_inc::write(root)?);
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, check) in CHECKS {
        let started = Instant::now();
        let result = check(root);
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(detail) => {
                passed += 1;
                println!("packaging: ok: {name} ({detail}) [{seconds:.1}s]");
            }
            Err(problem) => {
                failed += 1;
                println!("packaging: FAILED: {name} [{seconds:.1}s]:");
                for line in problem.lines() {
                    println!("    {line}");
                }
            }
        }
    }
    println!("packaging: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("packaging: {failed} check(s) failed"))
    }
}
