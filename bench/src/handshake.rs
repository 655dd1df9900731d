//! The line protocol between the orchestrator and the processes of a
//! measurement (a child's stdout, and `GO` on its stdin).
//!
//! A child prints `READY` once it can take part (registered, bound or
//! connected), the active side (sender, client, publisher) then waits for
//! `GO`, and every child ends with `DONE key=value ...` or `ERROR <text>`.
//! Nothing is measured before every child of a measurement said `READY`.
//! After `DONE` a child waits until the orchestrator closes its stdin,
//! which it does once every child of the measurement has reported: a
//! child that finished early must not spend the CPU on its exit (freeing
//! its memory, closing its sockets) while the others are still timed.
//!
//! A one-way stream with a warm-up has one more step: the sender, after
//! `GO`, sends the warm-up stream and says `WARM`; each receiver says `WARM`
//! once it took the warm-up's last message; when all of them have, the
//! sender gets a second `GO` and the timed stream starts.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

use crate::error::{bail, Context, Error, Result};

/// What a child said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Set up; waiting (for `GO` or for messages).
    Ready,
    /// Through the warm-up stream (sent it, or took all of it).
    Warm,
    /// Finished, with its figures.
    Done(Fields),
    /// Failed.
    Error(String),
}

/// The `key=value` figures of a `DONE` line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(BTreeMap<String, u64>);

impl Fields {
    /// Builds the figures from pairs.
    pub fn from_pairs(pairs: &[(&str, u64)]) -> Self {
        Self(pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect())
    }

    /// The figure `key`; its absence is an error (a child of another
    /// version, or a bug).
    pub fn get(&self, key: &str) -> Result<u64> {
        self.0
            .get(key)
            .copied()
            .ok_or_else(|| Error::new(format!("the child's report has no {key}")))
    }
}

impl Line {
    /// Parses one line of a child's stdout.
    pub fn parse(line: &str) -> Result<Self> {
        let line = line.trim_end();
        if line == "READY" {
            return Ok(Line::Ready);
        }
        if line == "WARM" {
            return Ok(Line::Warm);
        }
        if let Some(text) = line.strip_prefix("ERROR ") {
            return Ok(Line::Error(text.to_string()));
        }
        if let Some(rest) = line.strip_prefix("DONE") {
            let mut fields = BTreeMap::new();
            for pair in rest.split_whitespace() {
                let Some((key, value)) = pair.split_once('=') else {
                    bail!("bad figure {pair:?} in {line:?}");
                };
                let value = value
                    .parse()
                    .with_context(|| format!("figure {key} in {line:?}"))?;
                fields.insert(key.to_string(), value);
            }
            return Ok(Line::Done(Fields(fields)));
        }
        bail!("unexpected line from a child: {line:?}")
    }

    /// The line as a child prints it (without the newline).
    pub fn render(&self) -> String {
        match self {
            Line::Ready => "READY".to_string(),
            Line::Warm => "WARM".to_string(),
            Line::Error(text) => format!("ERROR {}", text.replace('\n', " | ")),
            Line::Done(Fields(fields)) => {
                let mut s = String::from("DONE");
                for (k, v) in fields {
                    s.push_str(&format!(" {k}={v}"));
                }
                s
            }
        }
    }
}

/// Child side: say `line` to the orchestrator.
pub fn say(line: &Line) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", line.render())
        .and_then(|()| out.flush())
        .context("write to the orchestrator")
}

/// Child side: wait for the orchestrator's `GO`.
pub fn await_go() -> Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("read GO from the orchestrator")?;
    if line.trim_end() != "GO" {
        bail!("expected GO from the orchestrator, got {line:?}");
    }
    Ok(())
}

/// After `DONE`: waits until the orchestrator closes this process's stdin
/// (or is gone).
pub fn await_close() {
    let mut rest = Vec::new();
    // Whatever ends the wait (EOF or an error) lets the process exit.
    let _ = std::io::stdin().lock().read_to_end(&mut rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let done = Line::Done(Fields::from_pairs(&[("sent", 20000), ("start_ns", 7)]));
        assert_eq!(done.render(), "DONE sent=20000 start_ns=7");
        for line in [
            Line::Ready,
            Line::Warm,
            done,
            Line::Error("queue: gone".into()),
        ] {
            assert_eq!(Line::parse(&format!("{}\n", line.render())).unwrap(), line);
        }
    }

    #[test]
    fn missing_and_malformed_figures_are_errors() {
        let Line::Done(fields) = Line::parse("DONE received=3").unwrap() else {
            panic!("not DONE");
        };
        assert_eq!(fields.get("received").unwrap(), 3);
        assert!(fields.get("missed").is_err());
        assert!(Line::parse("DONE received").is_err());
        assert!(Line::parse("DONE received=-1").is_err());
        assert!(Line::parse("hello").is_err());
        assert_eq!(
            Line::Error("a\nb".into()).render(),
            "ERROR a | b",
            "an error stays on one line"
        );
    }
}
