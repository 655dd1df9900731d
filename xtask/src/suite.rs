//! `cargo xtask test`: every check, in order, with per-step durations and
//! summary lines. A failing check does not stop the run (all results are
//! wanted); a tooling error (the host cannot be set up) does.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::console;
use crate::host_tools;
use crate::initramfs::GuestFile;
use crate::kernel::{self, Arch, Kernel};
use crate::kmod;
use crate::process;
use crate::progress;
use crate::selftest;
use crate::vm::{self, VmRun};
use crate::workspace::{self, Workspace};
use crate::{codegen, cross, disk, fuzz, libipcon, matrix, packaging, ynl};

/// The MSRV the crates users build must keep compiling with.
const MSRV: &str = "1.75";
/// Crates built with the MSRV (what Yocto/Buildroot builds).
const MSRV_PACKAGES: &[&str] = &["ipcon-core", "ipcon-linux", "ipcon-c", "ipcon-samples"];
const NO_STD_TARGET: &str = "thumbv7em-none-eabihf";
/// Where ipcon-linux's engine (`--no-default-features`: no_std, what
/// libipcon links) must build, with no C library crate.
const ENGINE_TARGETS: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
];
/// Host limit for the end-to-end suite's VM run.
const VM_SUITE_TIMEOUT: Duration = Duration::from_secs(900);

/// The most a run from a clean clone took of the disk, rounded up: 5.8 GiB
/// (the `disk:` line of such a run at 652f920 on 2026-12-06, the Debian
/// packages installed already; the peak falls while packaging unpacks a
/// Buildroot toolchain). With less free, the run warns at its start.
const RUN_TAKES: u64 = 6 << 30;

/// The steps of `cargo xtask test`, in order, with what each checks (the
/// names are what `XTASK_SKIP` takes; `cargo xtask help` lists them).
pub const STEPS: &[(&str, &str)] = &[
    ("fmt", "cargo fmt --check"),
    ("clippy", "clippy on every target, -D warnings"),
    (
        "host-tests",
        "unit tests and doctests on the host (the tutorial's code too)",
    ),
    (
        "msrv",
        "the shipped crates and the engine build with Rust 1.75; Cargo.lock v3",
    ),
    (
        "no-std",
        "no_std builds: ipcon-core (thumbv7em, +defmt), ipcon-linux's engine",
    ),
    (
        "libipcon",
        "libipcon built and installed, nm-checked, C programs built via pkg-config",
    ),
    ("codegen", "the generated files match kmod/ipcon.yaml"),
    (
        "ynl",
        "the kernel's YNL tools on kmod/ipcon.yaml, their C client in the VM",
    ),
    (
        "fuzz",
        "the fuzz targets, IPCON_FUZZ_SECONDS each (default 10)",
    ),
    (
        "kmod-warnings",
        "the module builds with W=1 and sparse without a diagnostic",
    ),
    ("checkpatch", "checkpatch.pl --strict on the module"),
    (
        "vm",
        "the end-to-end suite in a VM on the host's Debian 6.1 kernel",
    ),
    (
        "cross",
        "static ARM builds (aarch64 musl, armv7 gnueabihf) and size budget",
    ),
    (
        "vm-matrix",
        "the suite on arm64 and on the 5.10 and 6.12 kernels",
    ),
    (
        "packaging",
        "the real bitbake and Buildroot on meta-ipcon/ and buildroot/",
    ),
    (
        "selftest",
        "the VM harness catches deliberately broken modules",
    ),
];

/// How a step ended.
enum Outcome {
    Passed,
    Failed(String),
    /// The host cannot run the checks at all; the run stops here.
    ToolError(String),
    /// Not run: XTASK_SKIP, or what the step needs is not on this machine.
    Skipped(String),
}

/// What a step function reports: its summary lines, and `Err` with a reason
/// when the check failed.
pub type StepResult = Result<Vec<String>, (Vec<String>, String)>;

struct Report {
    name: &'static str,
    outcome: Outcome,
    summaries: Vec<String>,
    duration: Duration,
}

fn fail(summary: String, reason: impl Into<String>) -> StepResult {
    Err((vec![summary], reason.into()))
}

/// Turns `Result<summary, summary>` (the kmod/selftest convention) into a step result.
fn from_summary(result: Result<String, String>) -> StepResult {
    match result {
        Ok(summary) => Ok(vec![summary]),
        Err(summary) => Err((vec![summary.clone()], summary)),
    }
}

/// Runs a cargo command; on failure shows the end of its output.
fn cargo_step(workspace: &Workspace, args: &[&str], label: &str) -> StepResult {
    let output = process::capture(workspace.cargo().args(args), false)
        .map_err(|e| (vec![format!("{label}: not run")], e.to_string()))?;
    if output.success {
        Ok(vec![format!("{label}: ok")])
    } else {
        for line in output.tail(80) {
            println!("  | {line}");
        }
        fail(format!("{label}: failed"), format!("{label} failed"))
    }
}

fn setup(workspace: &Workspace) -> Result<Kernel, String> {
    let mut packages = host_tools::VM_PACKAGES.to_vec();
    packages.extend_from_slice(host_tools::CHECK_PACKAGES);
    packages.extend_from_slice(host_tools::CROSS_PACKAGES);
    host_tools::ensure_packages(&packages)?;
    host_tools::ensure_static_busybox(&workspace.xtask_dir())?;
    host_tools::ensure_rust_component("rustfmt")?;
    host_tools::ensure_rust_component("clippy")?;
    host_tools::ensure_rust_target(Arch::X86_64.musl_triple())?;
    host_tools::ensure_rust_target(NO_STD_TARGET)?;
    host_tools::ensure_rust_toolchain(MSRV)?;
    let kernel = kernel::debian_kernel(Arch::X86_64)?;
    host_tools::ensure_packages(&[kernel.source_package().as_str()])?;
    println!(
        "xtask: kernel {} ({})",
        kernel.release,
        kernel.image.display()
    );
    Ok(kernel)
}

fn format_check(workspace: &Workspace) -> StepResult {
    let output = process::capture(
        workspace.cargo().args(["fmt", "--all", "--", "--check"]),
        false,
    )
    .map_err(|e| (vec!["fmt: not run".into()], e.to_string()))?;
    let files: Vec<&String> = output
        .lines
        .iter()
        .filter(|line| line.starts_with("Diff in "))
        .collect();
    if output.success {
        return Ok(vec!["fmt: clean".into()]);
    }
    for line in output.tail(60) {
        println!("  | {line}");
    }
    fail(
        format!("fmt: {} places need `cargo fmt`", files.len()),
        "code is not formatted",
    )
}

fn clippy(workspace: &Workspace) -> StepResult {
    cargo_step(
        workspace,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ],
        "clippy -D warnings",
    )
}

/// Sums the "test result:" lines of `cargo test` into (passed, failed).
fn cargo_test_counts(lines: &[String]) -> (u32, u32) {
    let mut totals = (0, 0);
    for line in lines {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(number), Some(label)) = (words.next(), words.next()) {
                let number: u32 = number.parse().unwrap_or(0);
                match label {
                    "passed" => totals.0 += number,
                    "failed" => totals.1 += number,
                    _ => {}
                }
            }
        }
    }
    totals
}

fn host_tests(workspace: &Workspace) -> StepResult {
    let output = process::capture(
        workspace.cargo().args([
            "test",
            "--workspace",
            "--exclude",
            "ipcon-e2e",
            "--no-fail-fast",
        ]),
        false,
    )
    .map_err(|e| (vec!["host tests: not run".into()], e.to_string()))?;
    let (passed, failed) = cargo_test_counts(&output.lines);
    let summary = format!("host tests: {passed} passed, {failed} failed");
    if output.success && failed == 0 {
        return Ok(vec![summary]);
    }
    for line in output.tail(150) {
        println!("  | {line}");
    }
    fail(summary, "host tests failed")
}

fn lock_file_version(root: &Path) -> Result<(), String> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    if lock.lines().any(|line| line.trim() == "version = 3") {
        Ok(())
    } else {
        Err("Cargo.lock is not `version = 3` (cargo 1.75 cannot read newer)".into())
    }
}

fn msrv(workspace: &Workspace) -> StepResult {
    let label = format!("msrv {MSRV}");
    if let Err(reason) = lock_file_version(&workspace.root) {
        return fail(format!("{label}: Cargo.lock version wrong"), reason);
    }
    let toolchain = format!("+{MSRV}");
    let mut args = vec![toolchain.as_str(), "build", "--locked", "--quiet"];
    for package in MSRV_PACKAGES {
        args.extend(["--package", package]);
    }
    let mut lines = cargo_step(workspace, &args, &label)?;
    // The engine alone (no_std, what libipcon links) on the same toolchain.
    let engine = [
        toolchain.as_str(),
        "build",
        "--locked",
        "--quiet",
        "--package",
        "ipcon-linux",
        "--no-default-features",
    ];
    lines.extend(cargo_step(
        workspace,
        &engine,
        &format!("{label} engine no_std"),
    )?);
    Ok(lines)
}

fn no_std(workspace: &Workspace) -> StepResult {
    let mut summaries = Vec::new();
    for features in [None, Some("defmt")] {
        let mut args = vec![
            "build",
            "--quiet",
            "--package",
            "ipcon-core",
            "--target",
            NO_STD_TARGET,
        ];
        if let Some(features) = features {
            args.extend(["--features", features]);
        }
        let label = format!(
            "no_std {NO_STD_TARGET}{}",
            features.map_or(String::new(), |f| format!(" +{f}"))
        );
        match cargo_step(workspace, &args, &label) {
            Ok(lines) => summaries.extend(lines),
            Err((lines, reason)) => {
                summaries.extend(lines);
                return Err((summaries, reason));
            }
        }
    }
    for target in ENGINE_TARGETS {
        match engine_no_std(workspace, target) {
            Ok(line) => summaries.push(line),
            Err(reason) => return Err((summaries, reason)),
        }
    }
    match engine_links_no_std(workspace) {
        Ok(line) => summaries.push(line),
        Err(reason) => return Err((summaries, reason)),
    }
    Ok(summaries)
}

/// `cargo xtask codegen --check`: the generated files match `kmod/ipcon.yaml`.
fn codegen_check(root: &Path) -> StepResult {
    match codegen::check(root) {
        Ok(summary) => Ok(vec![summary]),
        Err(problems) => {
            for line in problems.lines() {
                println!("  | {line}");
            }
            fail(
                "codegen: generated files differ from kmod/ipcon.yaml".into(),
                "generated files are stale",
            )
        }
    }
}

/// Builds ipcon-linux's engine alone (`--no-default-features`) for `target`
/// and checks from `cargo tree` that no `libc` crate is in it.
fn engine_no_std(workspace: &Workspace, target: &str) -> Result<String, String> {
    let label = format!("engine no_std {target}");
    host_tools::ensure_rust_target(target)?;
    let package = ["--package", "ipcon-linux", "--no-default-features"];
    let mut build = vec!["build", "--quiet", "--target", target];
    build.extend(package);
    cargo_step(workspace, &build, &label).map_err(|(_, reason)| reason)?;
    let mut tree = vec!["tree", "--quiet", "--target", target, "--edges", "normal"];
    tree.extend(package);
    tree.extend(["--prefix", "none"]);
    let text = process::output(workspace.cargo().args(&tree)).map_err(|e| e.to_string())?;
    let mut crates: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
    crates.sort_unstable();
    crates.dedup();
    if crates.contains(&"libc") {
        return Err(format!(
            "{label}: links the libc crate ({})",
            crates.join(", ")
        ));
    }
    Ok(format!("{label}: ok, no libc ({})", crates.join(", ")))
}

/// `nm` of the engine's x86_64 library: it refers to no `std` symbol and to
/// no allocator (`__rust_alloc`, also `__rust_alloc_zeroed`): no standard
/// library, no heap.
fn engine_links_no_std(workspace: &Workspace) -> Result<String, String> {
    let deps = workspace
        .target_dir
        .join("x86_64-unknown-linux-gnu/debug/deps");
    let newest = std::fs::read_dir(&deps)
        .map_err(|e| format!("reading {}: {e}", deps.display()))?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libipcon_linux-") && name.ends_with(".rlib")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .ok_or_else(|| format!("no libipcon_linux rlib in {}", deps.display()))?;
    let symbols = process::output(
        std::process::Command::new("nm")
            .args(["--undefined-only", "--format=just-symbols"])
            .arg(newest.path()),
    )
    .map_err(|e| e.to_string())?;
    let bad: Vec<&str> = symbols
        .lines()
        .filter(|s| {
            s.starts_with("_ZN3std") || s.contains("$LT$std..") || s.contains("__rust_alloc")
        })
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "engine nm: the no_std engine refers to std or the allocator: {}",
            bad.join(" ")
        ));
    }
    let count = symbols.lines().count();
    Ok(format!(
        "engine nm x86_64: ok, {count} undefined symbols, none of std or the allocator"
    ))
}

/// Runs a check owned by another module (`fuzz`, `packaging`).
fn external(name: &str, check: fn(&Path) -> Result<(), String>, root: &Path) -> StepResult {
    match progress::while_running(name, || check(root)) {
        Ok(()) => Ok(vec![format!("{name}: ok")]),
        Err(reason) => fail(format!("{name}: failed"), reason),
    }
}

/// The end-to-end suite in the VM; the summary counts the e2e binary's tests,
/// a crash or hang counting as one more failure.
pub fn vm_suite(workspace: &Workspace, kernel: &Kernel, filter: Option<&str>) -> StepResult {
    let label = format!("vm-{}", kernel.arch.name());
    let busybox = crate::initramfs::host_busybox();
    let command = match filter {
        Some(filter) => format!("/bin/ipcon-e2e {}", shell_word(filter)),
        None => "/bin/ipcon-e2e".to_owned(),
    };
    let not_run = |reason: String| (vec![format!("{label}: 0 passed, 1 failed")], reason);
    let binaries = workspace::build_static_binaries(workspace, kernel.arch, workspace::VM_PACKAGES)
        .map_err(not_run)?;
    vm_suite_on(
        workspace,
        kernel,
        &busybox,
        &binaries,
        &label,
        &command,
        VM_SUITE_TIMEOUT,
    )
}

/// [`vm_suite`] on any kernel (the matrix's), with the guest's busybox, the
/// static binaries (`ipcon-e2e` among them), the summary line's label and the
/// shell command that runs `/bin/ipcon-e2e`.
pub fn vm_suite_on(
    workspace: &Workspace,
    kernel: &Kernel,
    busybox: &Path,
    binaries: &[std::path::PathBuf],
    label: &str,
    command: &str,
    timeout: Duration,
) -> StepResult {
    let label = label.to_owned();
    let not_run = |reason: String| (vec![format!("{label}: 0 passed, 1 failed")], reason);
    let module = kmod::build_ipcon(workspace, kernel).map_err(not_run)?;
    let skew = kmod::build_ipcon_version_skew(workspace, kernel).map_err(not_run)?;
    if !binaries.iter().any(|b| b.ends_with("ipcon-e2e")) {
        return Err(not_run("the build produced no ipcon-e2e binary".into()));
    }
    let name = if label == format!("vm-{}", Arch::X86_64.name()) {
        "e2e".to_owned()
    } else {
        format!("e2e-{}", label.trim_start_matches("vm-"))
    };
    let mut run = VmRun::new(&name, kernel.clone(), command);
    run.busybox = busybox.to_owned();
    run.module = Some(module);
    run.files = binaries.iter().map(|b| GuestFile::binary(b)).collect();
    run.files.push(kmod::version_skew_guest_file(skew));
    // libipcon's C programs (static and dynamic) and what they load.
    run.files
        .extend(libipcon::guest_files(workspace, kernel.arch).map_err(not_run)?);
    run.timeout = timeout;
    let outcome = vm::run(&run, &workspace.target_dir).map_err(not_run)?;

    let (summary, failures) = judge_e2e(&outcome, &label);
    println!(
        "xtask: e2e VM run took {:.1}s",
        outcome.elapsed.as_secs_f64()
    );
    if failures.is_empty() {
        Ok(vec![summary])
    } else {
        Err((vec![summary], failures.join("; ")))
    }
}

/// Judges a VM run of the e2e suite: its summary line (`<label>: N passed,
/// N failed`, a crash or hang counting as one more failure) and every reason
/// it failed, which are also printed with the console excerpt.
pub fn judge_e2e(outcome: &vm::VmOutcome, label: &str) -> (String, Vec<String>) {
    let counts = console::e2e_counts(outcome.run_lines());
    let vm_failures = outcome.failures();
    let mut failures = vm_failures.clone();
    if !counts.complete {
        failures.push("the e2e suite did not print its summary line".into());
    } else if counts.passed + counts.failed == 0 {
        failures.push("the e2e suite ran no tests".into());
    }
    // A failed test's result line, its notes and the last lines it printed
    // (which the suite shows under it as `note: log:`).
    let mut in_failed = false;
    for line in outcome.run_lines() {
        if line.starts_with("FAIL ") {
            println!("  {line}");
            in_failed = true;
        } else if line.starts_with("PASS ") {
            in_failed = false;
        } else if in_failed && line.trim_start().starts_with("note: ") {
            println!("    {}", line.trim_start());
        }
    }
    // A failure the e2e counts do not show (crash, hang, kernel problem, no
    // results) is one more failed test.
    let unaccounted = vm_failures
        .iter()
        .any(|f| !f.starts_with("the command exited"))
        || !counts.complete
        || counts.passed + counts.failed == 0;
    let failed = counts.failed + u32::from(unaccounted);
    if failed > 0 && failures.is_empty() {
        failures.push(format!("{} e2e tests failed", counts.failed));
    }
    if !failures.is_empty() {
        outcome.report_failure();
        for reason in &failures[vm_failures.len()..] {
            println!("  - {reason}");
        }
    }
    (
        format!("{label}: {} passed, {failed} failed", counts.passed),
        failures,
    )
}

fn shell_word(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Why a step cannot run on this machine (it then counts as skipped, never
/// as passed, and says how to make it run).
fn unavailable(name: &str, root: &Path) -> Option<String> {
    match name {
        "packaging" => packaging::unavailable(root),
        _ => None,
    }
}

/// The step names of `XTASK_SKIP`'s value; a name that is not a step is an
/// error (a typo would otherwise run the step it meant to skip).
fn skipped_steps(value: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = value
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    for name in &names {
        if !STEPS.iter().any(|(step, _)| step == name) {
            let known: Vec<&str> = STEPS.iter().map(|(step, _)| *step).collect();
            return Err(format!(
                "XTASK_SKIP: there is no step {name:?}; the steps are {}",
                known.join(", ")
            ));
        }
    }
    Ok(names)
}

/// The packaging step, started in the background right after setup: it
/// mostly waits (downloads, bitbake's and Buildroot's start-up and
/// single-threaded phases; about 565 CPU-seconds in 15 minutes cold), so it
/// overlaps the CPU-bound steps instead of adding its wall time to the run.
/// It is `cargo xtask packaging` in a child process whose output goes to a
/// log, printed whole at the step's turn.
struct Background {
    child: std::process::Child,
    log: std::path::PathBuf,
    started: Instant,
}

impl Background {
    fn start(workspace: &Workspace) -> Result<Background, String> {
        let log = workspace.xtask_dir().join("packaging.log");
        std::fs::create_dir_all(workspace.xtask_dir())
            .map_err(|e| format!("{}: {e}", workspace.xtask_dir().display()))?;
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("locate xtask: {e}"))?;
        let child = std::process::Command::new(exe)
            .arg("packaging")
            .current_dir(&workspace.root)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start `xtask packaging`: {e}"))?;
        println!(
            "xtask: packaging runs in the background from now on (log: {})",
            log.display()
        );
        Ok(Background {
            child,
            log,
            started: Instant::now(),
        })
    }

    /// Waits for it (showing progress), prints its log, and reports its
    /// summary line as the step's.
    fn finish(mut self) -> StepResult {
        let status =
            progress::while_running("packaging (started after setup)", || self.child.wait());
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        for line in text.lines() {
            println!("  | {line}");
        }
        println!(
            "xtask: packaging ran {:.1}s in the background",
            self.started.elapsed().as_secs_f64()
        );
        let summary = text
            .lines()
            .rev()
            .find(|line| line.starts_with("packaging: ") && line.contains(" passed, "))
            .map_or_else(|| "packaging: no summary".to_owned(), str::to_owned);
        match status {
            Ok(status) if status.success() => Ok(vec![summary]),
            Ok(status) => fail(summary, format!("`xtask packaging` {status}")),
            Err(e) => fail(summary, format!("waiting for `xtask packaging`: {e}")),
        }
    }
}

/// Runs every step; `Err` when any failed.
pub fn run(workspace: &Workspace) -> Result<(), String> {
    let started = Instant::now();
    let skip = skipped_steps(&std::env::var("XTASK_SKIP").unwrap_or_default())?;
    let mut reports: Vec<Report> = Vec::new();
    let disk = disk::Watch::start(&workspace.root);
    if let Some(disk) = &disk {
        let free = disk.start_free();
        println!(
            "xtask: {} free on the disk of {}",
            disk::human(free),
            workspace.root.display()
        );
        if free < RUN_TAKES {
            println!(
                "xtask: WARNING: a run from a clean clone has taken up to {} of disk \
                 (measured at the last change to what it unpacks); steps may fail for room",
                disk::human(RUN_TAKES)
            );
        }
    }

    let setup_started = Instant::now();
    let kernel = match setup(workspace) {
        Ok(kernel) => {
            reports.push(Report {
                name: "setup",
                outcome: Outcome::Passed,
                summaries: Vec::new(),
                duration: setup_started.elapsed(),
            });
            Some(kernel)
        }
        Err(reason) => {
            reports.push(Report {
                name: "setup",
                outcome: Outcome::ToolError(reason),
                summaries: Vec::new(),
                duration: setup_started.elapsed(),
            });
            None
        }
    };

    if let Some(kernel) = kernel {
        let root = workspace.root.as_path();
        let background =
            if skip.iter().any(|s| s == "packaging") || unavailable("packaging", root).is_some() {
                None
            } else {
                match Background::start(workspace) {
                    Ok(job) => Some(job),
                    Err(reason) => {
                        println!("xtask: {reason}; packaging runs at its turn instead");
                        None
                    }
                }
            };
        let background = std::cell::RefCell::new(background);
        type Step<'a> = (&'static str, Box<dyn Fn() -> StepResult + 'a>);
        let steps: Vec<Step> = vec![
            ("fmt", Box::new(|| format_check(workspace))),
            ("clippy", Box::new(|| clippy(workspace))),
            ("host-tests", Box::new(|| host_tests(workspace))),
            ("msrv", Box::new(|| msrv(workspace))),
            ("no-std", Box::new(|| no_std(workspace))),
            ("libipcon", Box::new(|| libipcon::step(workspace))),
            ("codegen", Box::new(|| codegen_check(root))),
            ("ynl", Box::new(|| ynl::step(workspace, &kernel))),
            ("fuzz", Box::new(|| external("fuzz", fuzz::run, root))),
            (
                "kmod-warnings",
                Box::new(|| from_summary(kmod::check_warnings(workspace, &kernel))),
            ),
            (
                "checkpatch",
                Box::new(|| from_summary(kmod::check_style(workspace, &kernel))),
            ),
            ("vm", Box::new(|| vm_suite(workspace, &kernel, None))),
            ("cross", Box::new(|| cross::step(workspace))),
            ("vm-matrix", Box::new(|| matrix::step(workspace))),
            (
                "packaging",
                Box::new(|| match background.borrow_mut().take() {
                    Some(job) => job.finish(),
                    None => external("packaging", packaging::run, root),
                }),
            ),
            (
                "selftest",
                Box::new(|| from_summary(selftest::run(workspace, &kernel))),
            ),
        ];
        let names: Vec<&str> = steps.iter().map(|(name, _)| *name).collect();
        let listed: Vec<&str> = STEPS.iter().map(|(name, _)| *name).collect();
        if names != listed {
            return Err(format!(
                "the steps run ({names:?}) differ from suite::STEPS ({listed:?}), \
                 which `cargo xtask help` and XTASK_SKIP go by"
            ));
        }
        for (name, step) in steps {
            if skip.iter().any(|s| s == name) {
                println!("\n==> {name}: skipped (XTASK_SKIP)");
                reports.push(Report {
                    name,
                    outcome: Outcome::Skipped("XTASK_SKIP".into()),
                    summaries: Vec::new(),
                    duration: Duration::ZERO,
                });
                continue;
            }
            if let Some(reason) = unavailable(name, root) {
                println!("\n==> {name}: skipped: {reason}");
                reports.push(Report {
                    name,
                    outcome: Outcome::Skipped(reason),
                    summaries: vec![format!("{name}: skipped")],
                    duration: Duration::ZERO,
                });
                continue;
            }
            println!("\n==> {name}");
            if let Some(disk) = &disk {
                disk.step(name);
            }
            let step_started = Instant::now();
            let (outcome, summaries) = match step() {
                Ok(summaries) => (Outcome::Passed, summaries),
                Err((summaries, mut reason)) => {
                    if let Some((lowest, during)) = disk.as_ref().map(disk::Watch::lowest) {
                        if lowest < disk::NEARLY_FULL {
                            reason.push_str(&format!(
                                " (the disk was nearly full: {} free at the lowest, during {during})",
                                disk::human(lowest)
                            ));
                        }
                    }
                    (Outcome::Failed(reason), summaries)
                }
            };
            let duration = step_started.elapsed();
            for summary in &summaries {
                println!("{summary}");
            }
            println!(
                "<== {name}: {} ({:.1}s)",
                match &outcome {
                    Outcome::Passed => "passed".to_owned(),
                    Outcome::Failed(reason) => format!("FAILED: {reason}"),
                    _ => String::new(),
                },
                duration.as_secs_f64()
            );
            reports.push(Report {
                name,
                outcome,
                summaries,
                duration,
            });
        }
    }

    print_summary(&reports, started.elapsed(), disk.map(disk::Watch::finish))
}

fn print_summary(reports: &[Report], total: Duration, disk: Option<String>) -> Result<(), String> {
    println!("\n==== xtask test summary ====");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for report in reports {
        let status = match &report.outcome {
            Outcome::Passed => {
                passed += 1;
                "passed".to_owned()
            }
            Outcome::Failed(reason) => {
                failed += 1;
                format!("FAILED: {reason}")
            }
            Outcome::ToolError(reason) => {
                failed += 1;
                format!("TOOLING ERROR (run stopped): {reason}")
            }
            Outcome::Skipped(reason) => {
                skipped += 1;
                format!("skipped: {reason}")
            }
        };
        println!(
            "{:>7.1}s  {:<14} {status}",
            report.duration.as_secs_f64(),
            report.name
        );
    }
    println!("{:>7.1}s  total", total.as_secs_f64());
    if let Some(disk) = disk {
        println!("{disk}");
    }
    println!();
    for report in reports {
        for summary in &report.summaries {
            println!("{summary}");
        }
    }
    if skipped == 0 {
        println!("xtask test: {passed} passed, {failed} failed");
    } else {
        println!("xtask test: {passed} passed, {failed} failed, {skipped} skipped");
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} steps failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_test_results_are_summed() {
        let lines = [
            "test result: ok. 31 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.13s",
            "running 0 tests",
            "test result: FAILED. 2 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out",
        ]
        .map(str::to_owned);
        assert_eq!(cargo_test_counts(&lines), (33, 3));
    }

    #[test]
    fn skipped_steps_must_exist() {
        assert_eq!(
            skipped_steps(" vm-matrix, fuzz,").unwrap(),
            ["vm-matrix", "fuzz"]
        );
        assert!(skipped_steps("").unwrap().is_empty());
        let error = skipped_steps("vm-matrx").unwrap_err();
        assert!(
            error.contains("no step \"vm-matrx\"") && error.contains("vm-matrix"),
            "{error}"
        );
    }

    #[test]
    fn lock_version_is_checked() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Cargo.lock"), "# x\nversion = 4\n").unwrap();
        assert!(lock_file_version(&dir).is_err());
        std::fs::write(dir.join("Cargo.lock"), "# x\nversion = 3\n").unwrap();
        assert!(lock_file_version(&dir).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
