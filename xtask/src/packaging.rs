//! The packaging checks: meta-ipcon and the br2-external tree under the real
//! tools their users run, from the upstream snapshots in `../shared/vendor/`
//! (unpacked under `target/packaging/`):
//!
//! - bitbake + openembedded-core, scarthgap and wrynose ([`bitbake`]):
//!   `bitbake -e -b` on every recipe with assertions, fetch/unpack and the
//!   licence checksums in both documented ways to build, a full parse and
//!   `bitbake -n packagegroup-ipcon` on scarthgap;
//! - Buildroot 2025.02.x and 2026.05.x ([`buildroot`]): check-package, every
//!   defconfig and its `.config`, show-info, the download step, legal-info;
//! - oelint-adv and shellcheck ([`lint`]).
//!
//! Only two checks are not a real tool's, because no real run here covers
//! them: `ipcon-crates.inc` against Cargo.lock (the generator behind
//! `XTASK_PACKAGING_WRITE=1`; the class's own update_crates is run too, on
//! bitbake's unpacked checkout) and that every workspace program is listed
//! for both build systems (a forgotten program fails no build).
//!
//! Independent tool runs go side by side (bitbake per release, Buildroot per
//! version, the linters), since most of their time is process start-up,
//! parsing and downloads.

mod bitbake;
mod buildroot;
mod crates_inc;
mod host;
mod lint;
mod programs;
mod vendor;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use crate::{disk, process};

/// What one check found: a summary, or what is wrong.
pub type Outcome = Result<String, String>;

/// Set to 1 to regenerate `ipcon-crates.inc` from Cargo.lock before checking
/// (the `--write` mode: `XTASK_PACKAGING_WRITE=1 cargo xtask test`).
pub const WRITE_ENV: &str = "XTASK_PACKAGING_WRITE";

/// Why the checks cannot run here (the upstream snapshots are missing), with
/// how to provide them; the step then counts as skipped.
pub fn unavailable(root: &Path) -> Option<String> {
    vendor::unavailable(root)
}

/// A value one thread sets and others wait for.
struct Later<T> {
    value: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T> Default for Later<T> {
    fn default() -> Self {
        Later {
            value: Mutex::new(None),
            ready: Condvar::new(),
        }
    }
}

impl<T: Clone> Later<T> {
    fn set(&self, value: T) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        self.ready.notify_all();
    }

    fn wait(&self) -> T {
        let mut value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(value) = value.as_ref() {
                return value.clone();
            }
            value = self.ready.wait(value).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Runs a tool with its output captured: the output when it succeeds,
/// otherwise `<what> failed:` and the output's last `tail` lines.
fn run_captured(command: &mut Command, what: &str, tail: usize) -> Result<String, String> {
    let output = process::capture(command, false)?;
    if output.success {
        Ok(output.lines.join("\n"))
    } else {
        Err(format!("{what} failed:\n{}", output.tail(tail).join("\n")))
    }
}

/// Prints each check's result as it comes and counts them.
#[derive(Default)]
struct Board {
    counts: Mutex<(usize, usize)>,
}

impl Board {
    fn record(&self, name: &str, outcome: Outcome, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(detail) => {
                counts.0 += 1;
                println!("packaging: ok: {name} ({detail}) [{seconds:.1}s]");
            }
            Err(problem) => {
                counts.1 += 1;
                let mut text = format!("packaging: FAILED: {name} [{seconds:.1}s]:\n");
                for line in problem.lines() {
                    text.push_str(&format!("    {line}\n"));
                }
                print!("{text}");
            }
        }
    }

    /// Runs and records one check; whether it passed.
    fn check(&self, name: &str, check: impl FnOnce() -> Outcome) -> bool {
        let started = Instant::now();
        let outcome = check();
        let passed = outcome.is_ok();
        self.record(name, outcome, started);
        passed
    }

    /// Records outcomes a tool run produced together (their time is the run's).
    fn record_all(&self, outcomes: Vec<(String, Outcome)>, started: Instant) {
        for (name, outcome) in outcomes {
            self.record(&name, outcome, started);
        }
    }
}

/// Runs every check from the repository root; prints one line per check and
/// the summary line `packaging: N passed, N failed`.
pub fn run(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    if std::env::var(WRITE_ENV).is_ok_and(|v| v == "1") {
        println!("packaging: {}", crates_inc::write(root)?);
    }
    let board = Board::default();
    board.check("ipcon-crates.inc matches Cargo.lock", || {
        crates_inc::check(root)
    });
    board.check("every program packaged", || programs::check(root));
    board.check("the default ownership policy", || default_policy(root));

    let packaging_dir = root.join("target/packaging");
    let prepared = Instant::now();
    let locale = match host::prepare(&packaging_dir) {
        Ok(found) => found,
        Err(e) => {
            board.record("prerequisites", Err(e), prepared);
            return summary(&board, started);
        }
    };
    // The snapshots, unpacked side by side (each is one tar process).
    let unpacked: Vec<Outcome> = std::thread::scope(|scope| {
        let jobs: Vec<_> = vendor::ARCHIVES
            .iter()
            .map(|name| scope.spawn(move || vendor::unpack(root, name).map(|_| (*name).to_owned())))
            .collect();
        jobs.into_iter()
            .map(|job| {
                job.join()
                    .unwrap_or_else(|_| Err("unpacking panicked".into()))
            })
            .collect()
    });
    let failed: Vec<String> = unpacked.iter().filter_map(|o| o.clone().err()).collect();
    board.record(
        "prerequisites",
        if failed.is_empty() {
            Ok(format!(
                "{} Debian packages, user {}, en_US.UTF-8, {} snapshots unpacked",
                host::PACKAGES.len(),
                host::BITBAKE_USER,
                vendor::ARCHIVES.len()
            ))
        } else {
            Err(failed.join("\n"))
        },
        prepared,
    );
    if !failed.is_empty() {
        return summary(&board, started);
    }
    let copied = Instant::now();
    let bb = match bitbake::Bitbake::prepare(root, locale) {
        Ok(bb) => Some(bb),
        Err(e) => {
            board.record("bitbake: the user's copy of the checkout", Err(e), copied);
            None
        }
    };

    let tar: Later<Result<Option<PathBuf>, String>> = Later::default();
    // One Buildroot download step at a time: each unpacks a Rust toolchain
    // of 1.9 GB before installing it (see `buildroot_checks`).
    let unpacking = Mutex::new(());
    std::thread::scope(|scope| {
        let board = &board;
        if let Some(bb) = &bb {
            for release in bitbake::RELEASES {
                scope.spawn(move || {
                    let lane = Instant::now();
                    board.record_all(bb.environments(release), lane);
                    let mut ways = vec![bitbake::Way::CheckoutFetch];
                    if !release.full_parse {
                        ways.push(bitbake::Way::ReleaseFetch);
                    }
                    for way in ways {
                        let run = Instant::now();
                        board.record_all(bb.fetch(release, way), run);
                    }
                });
                if release.full_parse {
                    // The longest run on its own: the full parse first.
                    scope.spawn(move || {
                        let run = Instant::now();
                        board.record_all(bb.fetch(release, bitbake::Way::ReleaseFetch), run);
                    });
                }
            }
        }
        // Buildroot wants GNU tar >= 1.35 only from its download step on:
        // the checks before it run while an old host's tar is being built.
        let tar = &tar;
        let packaging_dir = &packaging_dir;
        scope.spawn(move || {
            let started = Instant::now();
            let found = host::ensure_tar(&packaging_dir.join("host-tar"));
            let summary = match &found {
                Ok(Some(_)) => Ok("Debian trixie's, run with its own C library".to_owned()),
                Ok(None) => Ok("the host's".to_owned()),
                Err(e) => Err(e.clone()),
            };
            board.record("buildroot: GNU tar >= 1.35", summary, started);
            tar.set(found);
        });
        let unpacking = &unpacking;
        for version in buildroot::VERSIONS {
            scope.spawn(move || buildroot_checks(root, board, *version, tar, unpacking));
        }
        scope.spawn(move || {
            board.check("oelint-adv", || lint::oelint(root));
            board.check("shellcheck", || lint::shellcheck(root));
        });
    });
    summary(&board, started)
}

/// Every Buildroot check for one version, in order (later ones reuse the
/// output directories and downloads of earlier ones). When all pass, the
/// version's output directories go (2.7 GB, most of it the installed
/// toolchain); a failure keeps them to be looked at. The downloads stay.
fn buildroot_checks(
    root: &Path,
    board: &Board,
    version: buildroot::Version,
    tar: &Later<Result<Option<PathBuf>, String>>,
    unpacking: &Mutex<()>,
) {
    let label = |what: &str| format!("buildroot {}: {what}", version.name);
    let setup = Instant::now();
    let br = match buildroot::Buildroot::new(root, version) {
        Ok(br) => br,
        Err(e) => return board.record(&label("setup"), Err(e), setup),
    };
    let mut passed = board.check(&label("utils/check-package"), || br.check_package());
    for defconfig in buildroot::DEFCONFIGS {
        passed &= board.check(&label(&format!("make {defconfig}")), || {
            br.defconfig(defconfig)
        });
        passed &= board.check(&label(&format!("show-info ({defconfig})")), || {
            br.check_show_info(defconfig)
        });
    }
    passed &= board.check(&label("musl without C++"), || br.musl_without_cxx());
    let br = match tar.wait() {
        Ok(found) => br.with_tar(found),
        // Reported once, by the thread that looked for it.
        Err(_) => return,
    };
    passed &= board.check(
        &label("make ipcon-source ipcon-c-samples-source ipcon-kmod-source"),
        || {
            // The step installs the host's Rust toolchain, unpacked in its
            // build directory first; installed, that copy is never read
            // again.
            let _one_at_a_time = unpacking.lock().unwrap_or_else(|e| e.into_inner());
            let outcome = br.download();
            match br.prune_installed_host_sources() {
                Ok(freed) if freed > 0 => println!(
                    "packaging: buildroot {}: {} of installed host packages' sources removed",
                    version.name,
                    disk::human(freed)
                ),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            outcome
        },
    );
    passed &= board.check(
        &label("legal-info (ipcon, ipcon-c-samples, ipcon-kmod)"),
        || br.legal_info(),
    );
    passed &= board.check(&label("IPCON_OVERRIDE_SRCDIR"), || br.override_srcdir());
    if passed {
        remove_scratch(&br.outputs());
    }
}

/// Removes a directory of checks that passed, saying how much that freed.
fn remove_scratch(dir: &Path) {
    match disk::remove(dir) {
        Ok(freed) => println!(
            "packaging: {} removed ({}), its checks passed",
            dir.display(),
            disk::human(freed)
        ),
        Err(e) => println!("packaging: WARNING: {e}"),
    }
}

/// The policy file both trees install as /etc/ipcon/policy.conf (loaded at
/// boot): one text in both, and no active rule, so that a single-user
/// device keeps every name free (docs/security.md) until its builder adds
/// reservations.
const POLICY_COPIES: &[&str] = &[
    "meta-ipcon/recipes-ipcon/ipcon/files/policy.conf",
    "buildroot/package/ipcon/policy.conf",
];

fn default_policy(root: &Path) -> Outcome {
    let texts = POLICY_COPIES
        .iter()
        .map(|p| std::fs::read_to_string(root.join(p)).map_err(|e| format!("{p}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut problems = Vec::new();
    if texts.windows(2).any(|pair| pair[0] != pair[1]) {
        problems.push(format!("{} differ", POLICY_COPIES.join(" and ")));
    }
    let active = active_policy_lines(&texts[0]);
    if !active.is_empty() {
        problems.push(format!(
            "{} has active rules {active:?}: the shipped policy must reserve nothing",
            POLICY_COPIES[0]
        ));
    }
    let examples = texts[0]
        .lines()
        .filter(|l| l.trim_start_matches('#').trim_start().starts_with("name "))
        .count();
    if examples == 0 {
        problems.push(format!("{} shows no example rule", POLICY_COPIES[0]));
    }
    if problems.is_empty() {
        Ok(format!(
            "same in both trees, no active rule, {examples} commented examples"
        ))
    } else {
        Err(problems.join("\n"))
    }
}

/// The lines of a policy file that are not blank or comments (`#` starts a
/// comment anywhere on a line, as in ipcon_core::policy).
fn active_policy_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .collect()
}

fn summary(board: &Board, started: Instant) -> Result<(), String> {
    let (passed, failed) = *board.counts.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "packaging: {passed} passed, {failed} failed [{:.0}s]",
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("packaging: {failed} check(s) failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_reach_every_waiting_thread() {
        let later: Later<Result<u32, String>> = Later::default();
        let seen: Vec<Result<u32, String>> = std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..3).map(|_| scope.spawn(|| later.wait())).collect();
            later.set(Ok(7));
            waiters.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(seen, [Ok(7), Ok(7), Ok(7)]);
        assert_eq!(later.wait(), Ok(7));
    }

    #[test]
    fn policy_rules_are_told_from_comments() {
        let text = "# header\n\n   # name svc user root\nname x anyone # why\n  \n";
        assert_eq!(active_policy_lines(text), ["name x anyone"]);
        assert!(active_policy_lines("# only\n#name * user root\n").is_empty());
    }

    #[test]
    fn captured_failures_show_the_end_of_the_output() {
        let error = run_captured(
            Command::new("sh").args(["-c", "echo one; echo two; exit 1"]),
            "the tool",
            1,
        )
        .unwrap_err();
        assert_eq!(error, "the tool failed:\ntwo");
        let output = run_captured(Command::new("sh").args(["-c", "echo ok"]), "x", 1).unwrap();
        assert_eq!(output, "ok");
    }
}
