//! Reading the VM's serial console: the kernel's messages (recognised by their
//! printk timestamp) and the markers the init script prints.
//!
//! The init script tags its markers with a per-run nonce, so nothing a test
//! prints can pass for one.

/// A kernel message that makes a run fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelProblem {
    /// What kind of problem, e.g. "oops", "WARN", "hung task".
    pub kind: &'static str,
    /// Index of the console line it was found on.
    pub line: usize,
    pub text: String,
}

/// (text inside a kernel message, what it means); the first match wins.
const PROBLEMS: &[(&str, &str)] = &[
    ("Kernel panic", "kernel panic"),
    ("BUG: soft lockup", "soft lockup"),
    (
        "BUG: kernel NULL pointer dereference",
        "NULL pointer dereference (oops)",
    ),
    ("kernel BUG at", "kernel BUG"),
    ("BUG:", "kernel BUG"),
    ("Oops:", "oops"),
    (
        "general protection fault",
        "general protection fault (oops)",
    ),
    ("WARNING:", "WARN"),
    ("Unknown symbol", "unknown symbol"),
    ("blocked for more than", "hung task"),
    ("detected stalls", "RCU stall"),
    ("UBSAN:", "undefined behaviour (UBSAN)"),
    ("corruption", "memory corruption"),
    // SLUB debug reports: "BUG kmalloc-64 (Tainted: ...): Object already free".
    ("Object already free", "double free (slab)"),
    ("Poison overwritten", "use after free (slab)"),
    ("Redzone overwritten", "buffer overflow (slab)"),
    ("Object padding overwritten", "buffer overflow (slab)"),
    ("Freepointer corrupt", "slab corruption"),
    ("refcount_t:", "refcount error"),
    ("Call Trace:", "stack trace"),
];

/// The text after a printk timestamp ("[   12.345678] text"), wherever it
/// starts in the line: user-space output can share a line with the kernel's.
pub fn kernel_message(line: &str) -> Option<&str> {
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        if let Some(close) = after.find("] ") {
            let stamp = after[..close].trim_start();
            let mut parts = stamp.splitn(2, '.');
            let seconds = parts.next().unwrap_or("");
            let micros = parts.next().unwrap_or("");
            if !seconds.is_empty()
                && seconds.bytes().all(|b| b.is_ascii_digit())
                && micros.len() == 6
                && micros.bytes().all(|b| b.is_ascii_digit())
            {
                return Some(&after[close + 2..]);
            }
        }
        rest = after;
    }
    None
}

/// Every kernel message in `lines` that makes a run fail.
pub fn kernel_problems(lines: &[String]) -> Vec<KernelProblem> {
    lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let message = kernel_message(line)?;
            let (_, kind) = PROBLEMS
                .iter()
                .find(|(needle, _)| message.contains(needle))?;
            Some(KernelProblem {
                kind,
                line: index,
                text: message.trim().to_owned(),
            })
        })
        .collect()
}

/// One marker line of the init script: `@@xtask <nonce> <event> [args]`.
pub fn marker<'a>(line: &'a str, nonce: &str) -> Option<(&'a str, &'a str)> {
    let start = line.find("@@xtask ")?;
    let rest = line[start + "@@xtask ".len()..].strip_prefix(nonce)?;
    let rest = rest.strip_prefix(' ')?.trim_end();
    Some(rest.split_once(' ').unwrap_or((rest, "")))
}

/// Test counts from the e2e suite's output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u32,
    pub failed: u32,
    /// Whether the suite printed its final `e2e: N passed, N failed` line.
    pub complete: bool,
}

/// Parses "`<label>`: N passed, N failed" (the summary line format every runner prints).
pub fn summary_counts(line: &str, label: &str) -> Option<(u32, u32)> {
    let rest = line.trim().strip_prefix(label)?.strip_prefix(": ")?;
    let (passed, failed) = rest.split_once(", ")?;
    let passed = passed.strip_suffix(" passed")?.parse().ok()?;
    let failed = failed.strip_suffix(" failed")?.parse().ok()?;
    Some((passed, failed))
}

/// Counts the e2e suite's `PASS`/`FAIL` lines, and takes its final summary
/// line when there is one (it is authoritative).
pub fn e2e_counts(lines: &[String]) -> TestCounts {
    let mut counts = TestCounts::default();
    for line in lines {
        let line = line.trim();
        if let Some((passed, failed)) = summary_counts(line, "e2e") {
            return TestCounts {
                passed,
                failed,
                complete: true,
            };
        }
        if line.starts_with("PASS ") {
            counts.passed += 1;
        } else if line.starts_with("FAIL ") {
            counts.failed += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn timestamps_are_recognised_anywhere_in_the_line() {
        assert_eq!(
            kernel_message("[    1.883965] reboot: x"),
            Some("reboot: x")
        );
        assert_eq!(kernel_message("hello[  123.000001] BUG: y"), Some("BUG: y"));
        assert_eq!(kernel_message("[x] [1.5] WARNING: no"), None);
        assert_eq!(kernel_message("WARNING: user space"), None);
    }

    #[test]
    fn oops_warn_and_unknown_symbol_are_problems() {
        let console = lines(
            "[    2.000000] ipcon: loading out-of-tree module taints kernel.\n\
             [    2.100000] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
             [    2.100001] Oops: 0002 [#1] PREEMPT SMP NOPTI\n\
             [    3.000000] WARNING: CPU: 1 PID: 9 at kmod/x.c:10 f+0x1/0x2 [ipcon]\n\
             [    3.100000] ipcon: Unknown symbol genl_foo (err -2)\n\
             user says WARNING: and BUG: without a timestamp",
        );
        let kinds: Vec<_> = kernel_problems(&console).iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                "NULL pointer dereference (oops)",
                "oops",
                "WARN",
                "unknown symbol"
            ]
        );
    }

    #[test]
    fn hangs_are_problems() {
        let console = lines(
            "[   30.000000] INFO: task insmod:80 blocked for more than 10 seconds.\n\
             [   40.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:81]",
        );
        let kinds: Vec<_> = kernel_problems(&console).iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["hung task", "soft lockup"]);
    }

    #[test]
    fn markers_need_the_nonce() {
        assert_eq!(
            marker("@@xtask 1234 insmod failed 1", "1234"),
            Some(("insmod", "failed 1"))
        );
        assert_eq!(marker("noise@@xtask 1234 end", "1234"), Some(("end", "")));
        assert_eq!(marker("@@xtask 9999 end", "1234"), None);
        assert_eq!(marker("@@xtask 12345 end", "1234"), None);
    }

    #[test]
    fn e2e_summary_wins_over_counting() {
        let output = lines("PASS a\nFAIL b: no\nPASS c\ne2e: 2 passed, 1 failed\n");
        assert_eq!(
            e2e_counts(&output),
            TestCounts {
                passed: 2,
                failed: 1,
                complete: true
            }
        );
        let crashed = lines("PASS a\nPASS b\n[ 1.000000] Oops");
        assert_eq!(
            e2e_counts(&crashed),
            TestCounts {
                passed: 2,
                failed: 0,
                complete: false
            }
        );
    }

    #[test]
    fn summary_lines_parse_exactly() {
        assert_eq!(
            summary_counts("e2e: 12 passed, 0 failed", "e2e"),
            Some((12, 0))
        );
        assert_eq!(summary_counts("e2e: 12 passed", "e2e"), None);
        assert_eq!(summary_counts("xe2e: 1 passed, 0 failed", "e2e"), None);
    }
}
