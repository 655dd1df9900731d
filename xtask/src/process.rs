//! Running host commands: echoing what runs, capturing output in order, and
//! telling "the tool is missing" apart from "the tool reported a failure".
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum RunError {
    /// The program could not be started at all (missing, not executable).
    Spawn {
        program: String,
        error: std::io::Error,
    },
    /// The program ran and exited unsuccessfully.
    Failed { program: String, status: String },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Spawn { program, error } => write!(f, "cannot start {program}: {error}"),
            RunError::Failed { program, status } => write!(f, "{program} failed ({status})"),
        }
    }
}

impl From<RunError> for String {
    fn from(error: RunError) -> String {
        error.to_string()
    }
}

/// Output of a finished command: stdout and stderr lines interleaved in arrival order.
#[derive(Debug)]
pub struct Captured {
    pub success: bool,
    pub status: String,
    pub lines: Vec<String>,
}

impl Captured {
    /// The last `count` lines, for a failure report.
    pub fn tail(&self, count: usize) -> &[String] {
        &self.lines[self.lines.len().saturating_sub(count)..]
    }
}

/// A one-line rendering of the command, printed before it runs.
pub fn display(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
            text.push_str(&format!(" '{}'", arg.replace('\'', r"'\''")));
        } else {
            text.push(' ');
            text.push_str(&arg);
        }
    }
    text
}

fn program_name(command: &Command) -> String {
    command.get_program().to_string_lossy().into_owned()
}

/// Runs with inherited stdio (output goes straight to the user).
pub fn run(command: &mut Command) -> Result<(), RunError> {
    println!("$ {}", display(command));
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|error| RunError::Spawn {
            program: program_name(command),
            error,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(RunError::Failed {
            program: program_name(command),
            status: status.to_string(),
        })
    }
}

/// Runs and returns stdout as text; stderr is passed through. For queries.
pub fn output(command: &mut Command) -> Result<String, RunError> {
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| RunError::Spawn {
            program: program_name(command),
            error,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(RunError::Failed {
            program: program_name(command),
            status: out.status.to_string(),
        })
    }
}

/// Runs, capturing stdout and stderr line by line; `live` also echoes each line.
/// A non-zero exit is not an error here: the caller judges the output.
pub fn capture(command: &mut Command, live: bool) -> Result<Captured, RunError> {
    println!("$ {}", display(command));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| RunError::Spawn {
            program: program_name(command),
            error,
        })?;
    let (sender, receiver) = mpsc::channel();
    let readers = [
        spawn_line_reader(child.stdout.take(), sender.clone()),
        spawn_line_reader(child.stderr.take(), sender),
    ];
    let mut lines = Vec::new();
    for line in receiver {
        if live {
            println!("{line}");
        }
        lines.push(line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait().map_err(|error| RunError::Spawn {
        program: program_name(command),
        error,
    })?;
    Ok(Captured {
        success: status.success(),
        status: status.to_string(),
        lines,
    })
}

/// Forwards every line of `stream` to `sender` (lossy UTF-8, `\r` dropped).
pub fn spawn_line_reader<R: Read + Send + 'static>(
    stream: Option<R>,
    sender: mpsc::Sender<String>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Some(stream) = stream else { return };
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buffer);
                    let line = text.trim_end_matches(['\n', '\r']).replace('\r', "");
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let mut command = Command::new("make");
        command.args(["-C", "/x y", "it's", ""]);
        assert_eq!(display(&command), r"make -C '/x y' 'it'\''s' ''");
    }

    #[test]
    fn capture_keeps_both_streams_and_status() {
        let captured = capture(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            false,
        )
        .unwrap();
        assert!(!captured.success);
        let mut lines = captured.lines.clone();
        lines.sort();
        assert_eq!(lines, ["err", "out"]);
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let error = run(&mut Command::new("/nonexistent/xtask-tool")).unwrap_err();
        assert!(matches!(error, RunError::Spawn { .. }));
    }
}
