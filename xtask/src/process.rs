//! Running host commands: echoing what runs, capturing output in order,
//! reporting progress while a captured command runs long, and telling "the
//! tool is missing" apart from "the tool reported a failure".
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::progress::Progress;

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

/// What a command does, in a few words, for progress reports: the program
/// and its first plain argument (`cargo build`, `make modules`, `apt-get
/// update`), plus the target of a cross build.
pub fn describe(command: &Command) -> String {
    let program = command.get_program().to_string_lossy();
    let program = program.rsplit('/').next().unwrap_or(&program).to_owned();
    let args: Vec<String> = command
        .get_args()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let mut text = program;
    let mut skip_value = false;
    let mut action = None;
    for (index, arg) in args.iter().enumerate() {
        if skip_value {
            skip_value = false;
            continue;
        }
        if arg == "-C" || arg == "-o" {
            skip_value = true;
        } else if !arg.starts_with(['-', '+']) && !arg.contains(['/', '=']) {
            action = Some(index);
            break;
        }
    }
    if let Some(index) = action {
        text.push(' ');
        text.push_str(&args[index]);
    }
    if let Some(target) = args
        .iter()
        .position(|arg| arg == "--target")
        .and_then(|index| args.get(index + 1))
    {
        text.push_str(" for ");
        text.push_str(target);
    }
    text
}

/// Runs, capturing stdout and stderr line by line; `live` also echoes each line.
/// A non-zero exit is not an error here: the caller judges the output.
/// While it runs silently for long, progress lines say what it is doing.
pub fn capture(command: &mut Command, live: bool) -> Result<Captured, RunError> {
    let what = describe(command);
    capture_as(&what, command, live)
}

/// [`capture`], naming the command `what` in progress reports.
pub fn capture_as(what: &str, command: &mut Command, live: bool) -> Result<Captured, RunError> {
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
    let mut progress = Progress::start(what);
    let mut lines = Vec::new();
    loop {
        match receiver.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                progress.note(&line);
                if live {
                    progress.saw_output();
                    println!("{line}");
                }
                lines.push(line);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        progress.tick();
    }
    drop(progress);
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
    fn progress_names_what_a_command_does() {
        let mut cargo = Command::new("cargo");
        cargo.args([
            "+1.75",
            "build",
            "--profile",
            "release",
            "--target",
            "x86_64-unknown-linux-musl",
        ]);
        assert_eq!(
            describe(&cargo),
            "cargo build for x86_64-unknown-linux-musl"
        );
        let mut make = Command::new("make");
        make.args([
            "-C",
            "/usr/src/linux-headers",
            "M=/t/kmod",
            "-j2",
            "W=1",
            "modules",
        ]);
        assert_eq!(describe(&make), "make modules");
        let mut apt = Command::new("/usr/bin/apt-get");
        apt.args([
            "-o",
            "Dir::Cache=/t/cache",
            "-q",
            "download",
            "busybox-static",
        ]);
        assert_eq!(describe(&apt), "apt-get download");
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let error = run(&mut Command::new("/nonexistent/xtask-tool")).unwrap_err();
        assert!(matches!(error, RunError::Spawn { .. }));
    }
}
