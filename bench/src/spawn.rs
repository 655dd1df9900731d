//! The processes of a measurement: this program re-executed in a role,
//! talking the [`handshake`](crate::handshake) protocol on its stdin and
//! stdout.
//!
//! Each child's stdout is read by a thread of its own, so the orchestrator
//! waits for any of them with a deadline and never spins while a
//! measurement runs.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::error::{bail, Context, Result};
use crate::handshake::{Fields, Line};

/// A child process in a role.
#[derive(Debug)]
pub struct Process {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    reaped: bool,
}

impl Process {
    /// Starts `program` (this one, or another that talks the handshake)
    /// with `args`; `what` names the process in errors ("subscriber 3
    /// (ipcon)").
    pub fn spawn(what: String, program: &Path, args: &[String]) -> Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {what}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let failed = line.is_err();
                if tx.send(line).is_err() || failed {
                    break;
                }
            }
        });
        Ok(Self {
            what,
            stdin: child.stdin.take(),
            child,
            lines,
            reaped: false,
        })
    }

    /// The next line the child says, waiting until `deadline`.
    fn next_line(&mut self, deadline: Instant) -> Result<Line> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(Ok(text)) => match Line::parse(&text)? {
                Line::Error(text) => bail!("{}: {text}", self.what),
                line => Ok(line),
            },
            Ok(Err(e)) => bail!("{}: reading its output: {e}", self.what),
            Err(RecvTimeoutError::Timeout) => bail!("{}: no answer in time", self.what),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().context(&self.what)?;
                self.reaped = true;
                bail!("{}: exited ({status}) without a report", self.what)
            }
        }
    }

    /// The child's own error, if it reports one within `wait` (when another
    /// process of the measurement failed, the cause is often here).
    pub fn error_report(&mut self, wait: Duration) -> Option<String> {
        match self.lines.recv_timeout(wait) {
            Ok(Ok(text)) => match Line::parse(&text) {
                Ok(Line::Error(text)) => Some(format!("{}: {text}", self.what)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Waits for `READY`.
    pub fn expect_ready(&mut self, deadline: Instant) -> Result<()> {
        match self.next_line(deadline)? {
            Line::Ready => Ok(()),
            other => bail!("{}: expected READY, got {other:?}", self.what),
        }
    }

    /// Waits for the child's `WARM` (through the warm-up stream).
    pub fn expect_warm(&mut self, deadline: Instant) -> Result<()> {
        match self.next_line(deadline)? {
            Line::Warm => Ok(()),
            other => bail!("{}: expected WARM, got {other:?}", self.what),
        }
    }

    /// Tells the child to start.
    pub fn go(&mut self) -> Result<()> {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        stdin
            .write_all(b"GO\n")
            .and_then(|()| stdin.flush())
            .with_context(|| format!("start {}", self.what))
    }

    /// Waits for `DONE`, with its figures.
    pub fn expect_done(&mut self, deadline: Instant) -> Result<Fields> {
        match self.next_line(deadline)? {
            Line::Done(fields) => Ok(fields),
            other => bail!("{}: expected DONE, got {other:?}", self.what),
        }
    }

    /// Closes the child's stdin (it waits for that after `DONE`, see
    /// [`crate::handshake`]) and waits until it exited successfully.
    pub fn expect_exit(&mut self, deadline: Instant) -> Result<()> {
        drop(self.stdin.take());
        loop {
            if let Some(status) = self.child.try_wait().context(&self.what)? {
                self.reaped = true;
                if !status.success() {
                    bail!("{}: {status} after its report", self.what);
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{}: did not exit after its report", self.what);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Process {
    /// A measurement that failed leaves no process behind.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
