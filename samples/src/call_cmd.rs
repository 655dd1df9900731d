//! `ipcon call`: call a service's method, or list its methods, from a shell.

use std::time::{Duration, Instant};

use ipcon_linux::{CallStatus, Client, Error, ErrorKind};

use crate::{out, parse_text, payload_text, CliError, JsonObject};

/// `ipcon call --help`.
pub const HELP_CALL: &str = "\
Usage: ipcon call [--timeout SECS] [--json] PEER METHOD [PAYLOAD]
       ipcon call --list [--timeout SECS] [--json] PEER

Calls METHOD of service PEER with PAYLOAD (empty if not given) and prints
the reply. Exit status 0 on a reply `ok`, 1 on any other outcome (the
error on stderr), 2 on a bad command line.

Options:
  --timeout SECS  wait at most SECS (decimals allowed; default 5)
  --list          list PEER's methods (name and summary, one per line)
  --json          print one JSON object instead: peer, method, status
                  (ok, unknown-method, bad-request, busy, failed, timeout,
                  peer-gone, not-found, ...), reply or error, elapsed_us;
                  with --list one object per method: peer, name, summary
  -h, --help      show this help
";

/// The status word of a failed call, as `--json` prints it.
fn status_word(err: &Error) -> String {
    if let Some(status) = err.call_status() {
        return status.to_string();
    }
    match err.kind() {
        ErrorKind::Timeout => "timeout",
        ErrorKind::PeerGone => "peer-gone",
        ErrorKind::NotFound => "not-found",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::QueueFull => "queue-full",
        ErrorKind::InvalidName => "invalid-name",
        ErrorKind::TooBig => "too-big",
        _ => "error",
    }
    .to_owned()
}

/// `SECS` with up to 9 decimals (`5`, `0.25`), parsed without floating
/// point (its parser and formatter would cost the CLI's size budget).
fn parse_timeout(value: std::ffi::OsString) -> Result<Duration, CliError> {
    let text = parse_text(value)?;
    let invalid = || CliError::Usage(format!("invalid --timeout {text:?}"));
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(invalid());
    }
    let secs: u64 = whole.parse().map_err(|_| invalid())?;
    let nanos: u32 = format!("{fraction:0<9}").parse().map_err(|_| invalid())?;
    Ok(Duration::new(secs, nanos))
}

/// `ipcon call ...`; `json` if `--json` came before the command.
pub fn call(parser: &mut lexopt::Parser, json: bool) -> Result<(), CliError> {
    use lexopt::prelude::*;
    let mut timeout = Duration::from_secs(5);
    let (mut json, mut list) = (json, false);
    let mut values = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("timeout") => timeout = parse_timeout(parser.value()?)?,
            Long("json") => json = true,
            Long("list") => list = true,
            Short('h') | Long("help") => {
                print!("{HELP_CALL}");
                return Ok(());
            }
            Value(v) => values.push(parse_text(v)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let client = Client::with_options(ipcon_linux::PeerOptions::anonymous(), 1)?;
    if list {
        let [peer] = values.as_slice() else {
            return Err(CliError::Usage("--list wants PEER only".into()));
        };
        // `name<TAB>summary` lines (docs/protocol.md, "Calls").
        let list = client.call(peer, ipcon_linux::LIST_METHODS, b"", Some(timeout))?;
        for line in String::from_utf8_lossy(&list).lines() {
            if !json {
                out!("{line}");
                continue;
            }
            let (name, summary) = line.split_once('\t').unwrap_or((line, ""));
            let mut object = JsonObject::new();
            object
                .str("peer", peer)
                .str("name", name)
                .str("summary", summary);
            out!("{}", object.finish());
        }
        return Ok(());
    }
    let (peer, method, payload) = match values.as_slice() {
        [peer, method] => (peer, method, ""),
        [peer, method, payload] => (peer, method, payload.as_str()),
        [] => return Err(CliError::Usage("missing PEER".into())),
        [_] => return Err(CliError::Usage("missing METHOD".into())),
        [_, _, _, extra, ..] => {
            return Err(CliError::Usage(format!("unexpected argument {extra:?}")))
        }
    };
    let start = Instant::now();
    let result = client.call(peer, method, payload.as_bytes(), Some(timeout));
    let elapsed_us = start.elapsed().as_micros();
    if json {
        let mut object = JsonObject::new();
        object.str("peer", peer).str("method", method);
        match &result {
            Ok(reply) => object
                .str("status", &CallStatus::Ok.to_string())
                .str("reply", &String::from_utf8_lossy(reply)),
            Err(err) => object
                .str("status", &status_word(err))
                .str("error", &err.to_string()),
        };
        object.num("elapsed_us", u64::try_from(elapsed_us).unwrap_or(u64::MAX));
        out!("{}", object.finish());
    } else if let Ok(reply) = &result {
        out!("{}", payload_text(reply));
    }
    result.map(drop).map_err(CliError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_decimal_seconds() {
        let parse = |s: &str| parse_timeout(s.into()).ok();
        assert_eq!(parse("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1.000000001"), Some(Duration::new(1, 1)));
        for bad in ["", ".5", "1.", "-1", "1e3", "1.0000000001", "x"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn failed_calls_have_a_status_word() {
        let err = Error::new("call", ErrorKind::PeerGone);
        assert_eq!(status_word(&err), "peer-gone");
        assert_eq!(status_word(&Error::from_errno("call", 2)), "not-found");
    }
}
