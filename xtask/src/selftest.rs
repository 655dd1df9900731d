//! The harness self-test: a run must pass with a clean module and fail, with
//! the right reason, with each deliberately broken one (`xtask/selftest/`).
//! Without this, a harness that passes everything would go unnoticed.
use std::path::Path;
use std::time::Duration;

use crate::kernel::Kernel;
use crate::kmod;
use crate::vm::{self, VmRun};
use crate::workspace::Workspace;

struct Case {
    module: &'static str,
    /// `None`: the run must pass. `Some(text)`: it must fail with a reason
    /// containing `text`.
    expected_failure: Option<&'static str>,
    timeout_secs: u64,
}

const CASES: &[Case] = &[
    Case {
        module: "xtask_selftest_ok",
        expected_failure: None,
        timeout_secs: 90,
    },
    Case {
        module: "xtask_selftest_oops",
        expected_failure: Some("kernel NULL pointer dereference"),
        timeout_secs: 90,
    },
    Case {
        module: "xtask_selftest_leak",
        expected_failure: Some("rmmod failed"),
        timeout_secs: 90,
    },
    Case {
        module: "xtask_selftest_dfree",
        expected_failure: Some("kernel double free"),
        timeout_secs: 90,
    },
    // Short: the boot takes a few seconds, the rest is the hang itself.
    Case {
        module: "xtask_selftest_hang",
        expected_failure: Some("hang: no result within"),
        timeout_secs: 25,
    },
];

/// Judges one case; `Ok` holds what was reported, `Err` why the harness is wrong.
fn judge(case: &Case, outcome: &vm::VmOutcome) -> Result<String, String> {
    let failures = outcome.failures();
    match case.expected_failure {
        None if failures.is_empty() => Ok("passed".into()),
        None => Err(format!("a clean module failed: {}", failures.join("; "))),
        Some(expected) => match failures.iter().find(|reason| reason.contains(expected)) {
            Some(reason) => Ok(format!("failed as it must: {reason}")),
            None if failures.is_empty() => Err(format!("passed, but must fail with {expected:?}")),
            None => Err(format!(
                "failed without {expected:?}: {}",
                failures.join("; ")
            )),
        },
    }
}

/// The module warning check must see both the compiler's W=1 warning and
/// sparse's in a module written to draw them.
fn check_warning_scan(
    workspace: &Workspace,
    kernel: &Kernel,
    source: &Path,
) -> Result<String, String> {
    let scan = kmod::scan_warnings(workspace, kernel, source, "selftest-warnings")?;
    let compiler = scan
        .diagnostics
        .iter()
        .any(|line| line.contains("no previous prototype"));
    let sparse = scan
        .diagnostics
        .iter()
        .any(|line| line.contains("address space"));
    match (compiler, sparse, scan.checked) {
        (true, true, 1..) => Ok(format!(
            "W=1 and sparse reported {} diagnostics",
            scan.diagnostics.len()
        )),
        _ => Err(format!(
            "W=1 warning seen: {compiler}, sparse warning seen: {sparse}, files sparse checked: {}",
            scan.checked
        )),
    }
}

/// Builds the self-test modules, runs every case, prints one line per case and
/// the summary line; `Err` holds the summary when any case went wrong.
pub fn run(workspace: &Workspace, kernel: &Kernel) -> Result<String, String> {
    let source = workspace.root.join("xtask").join("selftest");
    let build = kmod::build(workspace, kernel, &source, "selftest", &[])?;
    let (mut passed, mut failed) = (0, 0);
    match check_warning_scan(workspace, kernel, &source.join("warnings")) {
        Ok(report) => {
            passed += 1;
            println!("selftest module warnings: ok, {report}");
        }
        Err(problem) => {
            failed += 1;
            println!("selftest module warnings: HARNESS BROKEN: {problem}");
        }
    }
    let boot = |case: &Case| {
        let mut run = VmRun::new(&format!("selftest-{}", case.module), kernel.clone(), "true");
        run.module = Some(build.module(case.module));
        run.timeout = Duration::from_secs(case.timeout_secs);
        run.hung_task_secs = 10;
        vm::run(&run, &workspace.target_dir)
    };
    // The hang case idles until its timeout, so it runs alongside the others;
    // the busy ones go two at a time (a TCG guest keeps one host CPU busy).
    let (idle, busy): (Vec<&Case>, Vec<&Case>) = CASES
        .iter()
        .partition(|case| case.module.ends_with("_hang"));
    let (first_half, second_half) = busy.split_at(busy.len() / 2);
    let outcomes = std::thread::scope(|scope| {
        let idle_runs: Vec<_> = idle.iter().map(|case| scope.spawn(|| boot(case))).collect();
        let second_runs = scope.spawn(|| {
            second_half
                .iter()
                .map(|case| (*case, boot(case)))
                .collect::<Vec<_>>()
        });
        let mut outcomes: Vec<(&Case, Result<vm::VmOutcome, String>)> =
            first_half.iter().map(|case| (*case, boot(case))).collect();
        outcomes.extend(
            second_runs
                .join()
                .unwrap_or_else(|_| vec![(second_half[0], Err("the VM thread panicked".into()))]),
        );
        for (case, handle) in idle.iter().zip(idle_runs) {
            let outcome = handle
                .join()
                .unwrap_or_else(|_| Err("the VM thread panicked".into()));
            outcomes.push((case, outcome));
        }
        outcomes
    });
    for (case, outcome) in outcomes {
        let outcome = outcome?;
        match judge(case, &outcome) {
            Ok(report) => {
                passed += 1;
                println!("selftest {}: ok, {report}", case.module);
            }
            Err(problem) => {
                failed += 1;
                println!("selftest {}: HARNESS BROKEN: {problem}", case.module);
                outcome.report_failure();
            }
        }
    }
    let summary = format!("selftest: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(summary)
    } else {
        Err(summary)
    }
}
