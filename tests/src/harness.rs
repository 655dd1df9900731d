//! The test runner: every test runs in its own process (a re-execution of
//! this binary) with a deadline, so a hang or a crash fails that test only;
//! plus the helpers tests share (checks, child processes, waiting).

use std::fmt::Display;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a test returns: `Err` carries the reason it failed.
pub type TestResult = Result<(), String>;

/// One end-to-end test.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    /// Printed in the `PASS`/`FAIL` line and matched by the filter.
    pub name: &'static str,
    /// The test's process is killed (and the test failed) after this long.
    pub timeout: Duration,
    /// The test body, run in a fresh process.
    pub run: fn() -> TestResult,
}

impl Test {
    /// A test with the default deadline.
    pub const fn new(name: &'static str, run: fn() -> TestResult) -> Self {
        Self {
            name,
            timeout: Duration::from_secs(20),
            run,
        }
    }

    /// The same test with another deadline.
    pub const fn timeout(mut self, secs: u64) -> Self {
        self.timeout = Duration::from_secs(secs);
        self
    }
}

/// Fails the test with a formatted reason unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// Fails the test unless `actual == expected`, saying what was compared.
#[macro_export]
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($what:tt)+) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if actual != expected {
                    return Err(format!(
                        "{}: expected {:?}, got {:?}",
                        format!($($what)+),
                        expected,
                        actual
                    ));
                }
            }
        }
    };
}

/// Adds what was being done to an error, turning it into a test failure.
pub trait Context<T> {
    /// `Err(e)` becomes `Err("what: e")`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.ok_or_else(|| format!("{what}: nothing"))
    }
}

/// The marker a test process prints before its failure reason.
const REASON_MARKER: &str = "e2e-failure-reason: ";

/// Lines a test prints with this prefix are shown under its result line
/// (figures worth seeing in the VM log: counts, rates).
const NOTE_MARKER: &str = "e2e-note: ";

/// How many of a failed test's last printed lines are shown with it.
const FAILED_LOG_LINES: usize = 15;

/// Prints a note shown under the test's result line.
pub fn note(text: &str) {
    println!("{NOTE_MARKER}{text}");
}

/// Body of a test process (`ipcon-e2e __test NAME`): runs the test and
/// reports through the exit status and the reason line.
pub fn run_in_this_process(test: &Test) -> i32 {
    match (test.run)() {
        Ok(()) => 0,
        Err(reason) => {
            // One line: the parent prints it after `FAIL name: `.
            println!("{REASON_MARKER}{}", reason.replace('\n', " | "));
            let _ = std::io::stdout().flush();
            1
        }
    }
}

/// Runs `tests` one after another, each in its own process, printing one
/// line per test and the summary; returns whether all passed.
pub fn run_all(tests: &[Test]) -> bool {
    let (mut passed, mut failed) = (0u32, 0u32);
    for test in tests {
        let started = Instant::now();
        let (result, notes) = run_isolated(test);
        match result {
            Ok(()) => {
                passed += 1;
                println!("PASS {}", test.name);
            }
            Err(reason) => {
                failed += 1;
                println!("FAIL {}: {reason}", test.name);
            }
        }
        for line in notes {
            println!("  note: {line}");
        }
        println!(
            "  note: {} took {:.2}s",
            test.name,
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::stdout().flush();
    }
    println!("e2e: {passed} passed, {failed} failed");
    failed == 0
}

/// Runs one test process; its result and the notes it printed.
fn run_isolated(test: &Test) -> (TestResult, Vec<String>) {
    let mut output = String::new();
    let result = run_process(test, &mut output);
    let mut notes: Vec<String> = output
        .lines()
        .filter_map(|l| l.strip_prefix(NOTE_MARKER))
        .map(str::to_owned)
        .collect();
    if result.is_err() {
        // What the test and its helpers printed (their stderr: a helper's
        // own error message) says why more often than the reason does.
        let printed: Vec<&str> = output
            .lines()
            .filter(|l| !l.starts_with(NOTE_MARKER) && !l.starts_with(REASON_MARKER))
            .collect();
        let skip = printed.len().saturating_sub(FAILED_LOG_LINES);
        notes.extend(printed[skip..].iter().map(|l| format!("log: {l}")));
    }
    (result, notes)
}

fn run_process(test: &Test, output: &mut String) -> TestResult {
    let log_path = format!("/tmp/ipcon-e2e-{}.log", test.name);
    let log = File::create(&log_path).ctx("create the test log")?;
    let mut child = Command::new("/proc/self/exe")
        .args(["__test", test.name])
        .stdin(Stdio::null())
        .stdout(log.try_clone().ctx("dup the test log")?)
        .stderr(log)
        // Its own process group: on timeout the test and everything it
        // started are killed together.
        .process_group(0)
        .spawn()
        .ctx("start the test process")?;
    let group = child.id() as i32;
    let deadline = test.timeout * timeout_scale();
    let status = wait_deadline(&mut child, deadline);
    // Whatever the test left running goes too (helpers it forgot).
    kill_group(group);
    let _ = File::open(&log_path).and_then(|mut f| f.read_to_string(output));
    let reason = output
        .lines()
        .find_map(|l| l.strip_prefix(REASON_MARKER))
        .map(str::to_owned);

    match status {
        Some(status) if status.success() => {
            let _ = std::fs::remove_file(&log_path);
            Ok(())
        }
        Some(status) => {
            Err(reason
                .unwrap_or_else(|| format!("test process {status}; output: {}", tail(output, 5))))
        }
        None => Err(format!(
            "timed out after {}s; output: {}",
            deadline.as_secs(),
            tail(output, 5)
        )),
    }
}

/// `IPCON_E2E_STRESS_DIVISOR=N` divides the iteration counts of the stress
/// tests (the port-reuse race, the malformed-input fuzzing, the leak probe,
/// the calls in flight):
/// the main VM step runs them in full, the kernel matrix, where three guests
/// share the host, runs every test with the stress counts divided (at least
/// one iteration).
pub fn stress_count(full: u32) -> u32 {
    static DIVISOR: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let divisor = *DIVISOR.get_or_init(|| {
        std::env::var("IPCON_E2E_STRESS_DIVISOR")
            .ok()
            .and_then(|text| text.parse::<u32>().ok())
            .filter(|divisor| *divisor >= 1)
            .unwrap_or(1)
    });
    (full / divisor).max(1)
}

/// `IPCON_E2E_TIMEOUT_SCALE=N` multiplies every test's deadline: an
/// emulated foreign CPU (arm64 under TCG) runs the heavy tests several times
/// slower than the x86_64 VM they were sized for.
pub fn timeout_scale() -> u32 {
    std::env::var("IPCON_E2E_TIMEOUT_SCALE")
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|scale| *scale >= 1)
        .unwrap_or(1)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

/// Waits for `child` at most `limit`; `None` (after killing it) on timeout.
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// SIGKILLs every process of process group `group`.
pub fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory
    // is involved.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// A helper process (`ipcon-e2e __child ROLE ARGS`) whose stdout lines the
/// test reads; killed when dropped.
#[derive(Debug)]
pub struct Helper {
    child: Child,
    lines: mpsc::Receiver<String>,
    role: String,
}

impl Helper {
    /// Starts role `role` of this binary with `args`.
    pub fn start(role: &str, args: &[&str]) -> Result<Self, String> {
        Self::spawn(
            Command::new("/proc/self/exe")
                .arg("__child")
                .arg(role)
                .args(args),
            role,
        )
    }

    /// Starts any program (a sample binary) with its stdout readable.
    pub fn program(path: &str, args: &[&str]) -> Result<Self, String> {
        Self::spawn(Command::new(path).args(args), path)
    }

    fn spawn(command: &mut Command, role: &str) -> Result<Self, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ctx(&format!("start helper {role}"))?;
        let stdout = child.stdout.take().ctx("helper stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            lines,
            role: role.to_owned(),
        })
    }

    /// The next line starting with `prefix` (other lines are skipped), within
    /// `limit`; the text after the prefix.
    pub fn expect(&self, prefix: &str, limit: Duration) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.to_owned());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "helper {} printed no {prefix:?} line within {limit:?}",
                        self.role
                    ))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "helper {} ended before printing {prefix:?}",
                        self.role
                    ))
                }
            }
        }
    }

    /// The next line, whatever it is.
    pub fn next_line(&self, limit: Duration) -> Result<String, String> {
        self.expect("", limit)
    }

    /// Waits for the helper's `ready` line; what follows `ready ` (its port).
    pub fn ready(&self) -> Result<String, String> {
        self.expect("ready", Duration::from_secs(10))
            .map(|rest| rest.trim().to_owned())
    }

    /// The helper's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs the helper and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the helper to exit on its own, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        wait_deadline(&mut self.child, limit)
            .ok_or_else(|| format!("helper {} did not exit within {limit:?}", self.role))
    }

    /// Every line printed so far that was not consumed by `expect`.
    pub fn drain(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a shell command line (busybox sh) and returns its exit code and
/// combined stdout+stderr.
pub fn shell(command: &str) -> Result<(i32, String), String> {
    let out = Command::new("/bin/sh")
        .args(["-c", &format!("{command} 2>&1")])
        .stdin(Stdio::null())
        .output()
        .ctx(&format!("run {command:?}"))?;
    let code = out.status.code().unwrap_or(-1);
    Ok((code, String::from_utf8_lossy(&out.stdout).into_owned()))
}
