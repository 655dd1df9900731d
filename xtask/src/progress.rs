//! Progress of long steps: what is being built, downloaded, booted or
//! waited for, and for how long, so that no step sits silent for minutes.
//!
//! A step that finishes within [`FIRST_REPORT`] prints nothing extra. After
//! that, on a terminal one status line is redrawn in place once a second
//! (as cargo's progress bar is); anywhere else (CI logs, pipes) a plain line
//! is printed every [`EVERY`], never a carriage return. While several steps
//! run side by side (the kernel matrix's VMs) each prints plain lines, as
//! lines redrawn in place would overwrite each other.
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Silence allowed before the first report.
pub const FIRST_REPORT: Duration = Duration::from_secs(10);
/// Interval of the plain-line reports.
pub const EVERY: Duration = Duration::from_secs(30);
/// Interval of the in-place redraws on a terminal.
const REDRAW: Duration = Duration::from_secs(1);
/// Width of an in-place line: longer would wrap, and a wrapped line cannot
/// be redrawn with a carriage return.
const LINE_WIDTH: usize = 78;

/// Reporters alive right now (in-place drawing only when there is one).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The reporter of one long step. Feed it the step's output with
/// [`Progress::note`] and call [`Progress::tick`] at least once a second.
#[derive(Debug)]
pub struct Progress {
    what: String,
    started: Instant,
    detail: String,
    next_report: Duration,
    terminal: bool,
    drawn: bool,
}

impl Progress {
    /// Starts timing `what` ("cargo build for x86_64-unknown-linux-musl").
    pub fn start(what: impl Into<String>) -> Self {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Progress {
            what: what.into(),
            started: Instant::now(),
            detail: String::new(),
            next_report: FIRST_REPORT,
            terminal: std::io::stdout().is_terminal(),
            drawn: false,
        }
    }

    /// Like [`Progress::start`], but always reporting in plain lines (for a
    /// step whose own output may come at any time).
    pub fn plain(what: impl Into<String>) -> Self {
        let mut progress = Self::start(what);
        progress.terminal = false;
        progress
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Takes a line of the step's output as what it is doing now, if it
    /// says something (cargo's `Compiling x`, kbuild's `CC [M] x.o`, ...).
    pub fn note(&mut self, line: &str) {
        if let Some(text) = status_text(line) {
            self.detail = text;
        }
    }

    /// Says what the step is doing now.
    pub fn set_detail(&mut self, detail: impl Into<String>) {
        self.detail = detail.into();
    }

    /// The user saw output just now: the next report is due only after
    /// another [`FIRST_REPORT`] of silence.
    pub fn saw_output(&mut self) {
        self.clear();
        self.next_report = self.elapsed() + FIRST_REPORT;
    }

    /// Prints a report if one is due.
    pub fn tick(&mut self) {
        let mut stdout = std::io::stdout().lock();
        self.tick_into(&mut stdout);
        let _ = stdout.flush();
    }

    fn tick_into(&mut self, out: &mut dyn Write) {
        let elapsed = self.elapsed();
        if elapsed < self.next_report {
            return;
        }
        let line = self.report_line(elapsed);
        if self.terminal && ACTIVE.load(Ordering::SeqCst) == 1 {
            let _ = write!(out, "\r\x1b[K{}", truncate(&line, LINE_WIDTH));
            self.drawn = true;
            self.next_report = elapsed + REDRAW;
        } else {
            if self.drawn {
                let _ = write!(out, "\r\x1b[K");
                self.drawn = false;
            }
            let _ = writeln!(out, "{line}");
            self.next_report = elapsed + EVERY;
        }
    }

    /// Removes the in-place line (before other output, and at the end).
    pub fn clear(&mut self) {
        if self.drawn {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "\r\x1b[K");
            let _ = stdout.flush();
            self.drawn = false;
        }
    }

    fn report_line(&self, elapsed: Duration) -> String {
        let mut line = format!("xtask: {} ... {}", self.what, format_elapsed(elapsed));
        if !self.detail.is_empty() {
            line.push_str(" (");
            line.push_str(&self.detail);
            line.push(')');
        }
        line
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `work`, reporting in plain lines while it runs long: for steps
/// whose tools print nothing while they work.
pub fn while_running<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut progress = Progress::plain(what);
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(Duration::from_secs(1))
            {
                progress.tick();
            }
        });
        let result = work();
        drop(stop);
        result
    })
}

/// `42s`, `3m05s`.
pub fn format_elapsed(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    if seconds < 60 {
        format!("{seconds}s")
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

/// What a line of a tool's output says the tool is doing, shortened; `None`
/// for lines that say nothing (blank, cargo's JSON messages).
fn status_text(line: &str) -> Option<String> {
    let text = line.trim();
    if text.is_empty() || text.starts_with('{') {
        return None;
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(truncate(&text, 60).into_owned())
}

fn truncate(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= width {
        return text.into();
    }
    let kept: String = text.chars().take(width.saturating_sub(3)).collect();
    format!("{kept}...").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_reads_like_a_clock() {
        assert_eq!(format_elapsed(Duration::from_millis(9_900)), "9s");
        assert_eq!(format_elapsed(Duration::from_secs(185)), "3m05s");
    }

    #[test]
    fn status_comes_from_what_the_tool_says() {
        assert_eq!(
            status_text("   Compiling ipcon-core v0.1.0 (/src/ipcon-core)").as_deref(),
            Some("Compiling ipcon-core v0.1.0 (/src/ipcon-core)")
        );
        assert_eq!(status_text(r#"{"reason":"compiler-artifact"}"#), None);
        assert_eq!(status_text("  "), None);
        let long = "x".repeat(100);
        assert_eq!(status_text(&long).unwrap().chars().count(), 60);
    }

    #[test]
    fn a_report_names_the_step_its_time_and_its_detail() {
        let mut progress = Progress::start("cargo build for x86_64-unknown-linux-musl");
        progress.note("   Compiling ipcon-linux v0.1.0");
        assert_eq!(
            progress.report_line(Duration::from_secs(75)),
            "xtask: cargo build for x86_64-unknown-linux-musl ... 1m15s \
             (Compiling ipcon-linux v0.1.0)"
        );
        // Nothing is due before the first report.
        assert!(progress.elapsed() < progress.next_report);
        progress.next_report = Duration::ZERO;
        progress.terminal = false;
        let mut out = Vec::new();
        progress.tick_into(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("xtask: cargo build for ") && text.ends_with(")\n"));
        assert!(!text.contains('\r'), "no carriage return off a terminal");
        // The next plain line comes an interval later.
        let mut out = Vec::new();
        progress.tick_into(&mut out);
        assert!(out.is_empty());
        assert_eq!(progress.next_report.as_secs(), EVERY.as_secs());
    }
}
