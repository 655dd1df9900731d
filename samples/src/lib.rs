//! Shared pieces of the ipcon samples and the `ipcon` CLI: command lines,
//! error reporting, payload printing and message lines. (Waiting for peers
//! and groups and leaving cleanly on SIGTERM are the library's:
//! `Directory::wait_for_peer`, `Handler::unregister_on_termination`.)

#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::borrow::Cow;
use std::fmt;
use std::process::ExitCode;

use ipcon_linux::{Error, Kevent, KeventMonitor, Message, MessageKind, Name, Wait};

/// Writes one line to stdout. A closed pipe (`ipcon peers | head -1`) ends
/// the program quietly with status 0 instead of a panic.
pub fn write_line(line: fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// `println!` that survives a closed pipe (see [`write_line`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_line(format_args!($($arg)*))
    };
}

/// Why a program stops with an error.
#[derive(Debug)]
pub enum CliError {
    /// Bad command line; the text says what, `--help` says how.
    Usage(String),
    /// The library failed.
    Ipcon(ipcon_linux::Error),
    /// An input (a file the command reads) is wrong; the text says where.
    Input(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(text) => write!(f, "{text} (try --help)"),
            Self::Ipcon(err) => write!(f, "{err}"),
            Self::Input(text) => f.write_str(text),
        }
    }
}

impl From<ipcon_linux::Error> for CliError {
    fn from(err: ipcon_linux::Error) -> Self {
        Self::Ipcon(err)
    }
}

impl From<lexopt::Error> for CliError {
    fn from(err: lexopt::Error) -> Self {
        Self::Usage(err.to_string())
    }
}

/// Runs `body`; on error prints `program: error` to stderr and exits 2 for
/// usage errors, 1 otherwise.
pub fn run(program: &str, body: impl FnOnce() -> Result<(), CliError>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{program}: {err}");
            match err {
                CliError::Usage(_) => ExitCode::from(2),
                CliError::Ipcon(_) | CliError::Input(_) => ExitCode::FAILURE,
            }
        }
    }
}

/// A payload as one printable line: a trailing NUL (C senders add one) is
/// dropped, invalid UTF-8 replaced, control characters escaped.
pub fn payload_text(payload: &[u8]) -> Cow<'_, str> {
    let payload = payload.strip_suffix(&[0]).unwrap_or(payload);
    let text = String::from_utf8_lossy(payload);
    if text.chars().any(char::is_control) {
        Cow::Owned(text.chars().flat_map(char::escape_default).collect())
    } else {
        text
    }
}

/// `name`, or `port:N` for an anonymous peer.
pub fn peer_label(name: Option<&Name>, port: u32) -> String {
    match name {
        Some(name) => name.to_string(),
        None => format!("port:{port}"),
    }
}

/// One line describing a received message (after the program's prefix):
/// - unicast: `from NAME pid=P uid=U: TEXT` (NAME is `port:N` if anonymous)
/// - group: `group OWNER/GROUP pid=P uid=U [replayed] [missed=N]: TEXT`
/// - kernel event: `kevent #N ...` (see [`Kevent`]'s `Display`).
/// - failure of a posted send: `send #T failed: ERROR`.
pub fn message_line(msg: &Message) -> String {
    let s = msg.sender();
    let sender = peer_label(s.name.as_ref(), s.port);
    let mut line = match msg.kind() {
        MessageKind::Unicast => format!("from {sender} pid={} uid={}", s.pid, s.uid),
        MessageKind::Group => format!(
            "group {sender}/{} pid={} uid={}",
            msg.group().map_or("?", |g| g.as_str()),
            s.pid,
            s.uid
        ),
        MessageKind::Kevent => return msg.kevent().map(Kevent::to_string).unwrap_or_default(),
        MessageKind::Empty => return "empty".to_owned(),
        MessageKind::SendFailed => {
            return match (msg.ticket(), Error::from_send_failed(msg)) {
                (Some(ticket), Some(err)) => format!("send {ticket} failed: {err}"),
                _ => "send failed".to_owned(),
            }
        }
    };
    if msg.replayed() {
        line.push_str(" replayed");
    }
    if msg.missed() > 0 {
        line.push_str(&format!(" missed={}", msg.missed()));
    }
    line.push_str(": ");
    line.push_str(&payload_text(msg.payload()));
    line
}

/// Prints a kernel event, preceded by `kevent missed=N` when N events
/// were lost before it.
pub fn print_kevent(msg: &Message) {
    let missed = msg.kevents_missed();
    if missed > 0 {
        out!("kevent missed={missed}");
    }
    out!("{}", message_line(msg));
}

/// The monitor loop shared by `ipcon-monitor` and `ipcon monitor`: parses
/// `--count N` / `--help` from `parser`, then prints every kernel event.
/// `who` prefixes the "watching" notice on stderr that tells scripts the
/// subscription is in place.
pub fn watch_kevents(parser: &mut lexopt::Parser, who: &str, help: &str) -> Result<(), CliError> {
    use lexopt::prelude::*;
    let mut count = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("count") => count = Some(parse_count(parser.value()?)?),
            Short('h') | Long("help") => {
                print!("{help}");
                return Ok(());
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let monitor = KeventMonitor::open()?;
    eprintln!("{who}: watching kernel events");
    let mut msg = Message::new();
    let mut seen = 0u64;
    while count.map_or(true, |n| seen < n) {
        monitor.receive(&mut msg, Wait::Forever)?;
        print_kevent(&msg);
        seen += 1;
    }
    Ok(())
}

/// Checks a peer or group name given on the command line.
pub fn check_name(what: &str, name: &str) -> Result<(), CliError> {
    Name::new(name)
        .map(drop)
        .map_err(|e| CliError::Usage(format!("invalid {what} {name:?}: {e}")))
}

/// Parses a `--count` value.
pub fn parse_count(value: std::ffi::OsString) -> Result<u64, CliError> {
    let text = value.to_string_lossy();
    text.parse()
        .map_err(|_| CliError::Usage(format!("invalid count {text:?}")))
}

/// Parses a name-like argument into a `String`.
pub fn parse_text(value: std::ffi::OsString) -> Result<String, CliError> {
    value
        .into_string()
        .map_err(|v| CliError::Usage(format!("not UTF-8: {v:?}")))
}

pub mod policy_file;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_text_is_one_line() {
        assert_eq!(payload_text(b"hello\0"), "hello");
        assert_eq!(payload_text(b"a\nb"), "a\\nb");
        assert_eq!(payload_text(b"\xff"), "\u{fffd}");
    }

    #[test]
    fn usage_errors_point_to_help() {
        let err = CliError::Usage("missing MESSAGE".into());
        assert_eq!(err.to_string(), "missing MESSAGE (try --help)");
    }

    #[test]
    fn counts_are_checked() {
        assert_eq!(parse_count("3".into()).unwrap(), 3);
        assert!(parse_count("x".into()).is_err());
    }
}
