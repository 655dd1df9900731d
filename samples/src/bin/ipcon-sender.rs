//! The tutorial's sender: waits for the server, then sends a message to it
//! at an interval.

use std::process::ExitCode;
use std::thread::sleep;
use std::time::Duration;

use ipcon_linux::{ErrorKind, Handler, Wait};

use ipcon_samples::{check_name, out, parse_count, parse_text, payload_text, run, CliError};

const HELP: &str = "\
Usage: ipcon-sender [--to NAME] [--interval-ms MS] [--count N] [--name NAME] MESSAGE

Waits until peer NAME is present, then sends MESSAGE to it every MS
milliseconds (forever, or N times).

Options:
  --to NAME         receiving peer (default ipcon_server)
  --interval-ms MS  pause between messages (default 1000)
  --count N         send N messages, then exit
  --name NAME       this sender's peer name (default: anonymous)
  -h, --help        show this help
";

struct Args {
    to: String,
    interval: Duration,
    count: Option<u64>,
    name: Option<String>,
    message: String,
}

fn parse_args() -> Result<Option<Args>, CliError> {
    use lexopt::prelude::*;
    let mut to = "ipcon_server".to_owned();
    let mut interval = Duration::from_millis(1000);
    let mut count = None;
    let mut name = None;
    let mut message = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("to") => to = parse_text(parser.value()?)?,
            Long("interval-ms") => interval = Duration::from_millis(parse_count(parser.value()?)?),
            Long("count") => count = Some(parse_count(parser.value()?)?),
            Long("name") => name = Some(parse_text(parser.value()?)?),
            Short('h') | Long("help") => {
                print!("{HELP}");
                return Ok(None);
            }
            Value(v) if message.is_none() => message = Some(parse_text(v)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let message = message.ok_or_else(|| CliError::Usage("missing MESSAGE".into()))?;
    Ok(Some(Args {
        to,
        interval,
        count,
        name,
        message,
    }))
}

fn send(args: &Args) -> Result<(), CliError> {
    check_name("peer name", &args.to)?;
    let handler = match &args.name {
        Some(name) => Handler::new(name)?,
        None => Handler::anonymous()?,
    };
    handler.unregister_on_termination()?;
    handler.directory().wait_for_peer(&args.to, Wait::Forever)?;
    let mut sent = 0u64;
    while args.count.map_or(true, |n| sent < n) {
        if sent > 0 {
            sleep(args.interval);
        }
        match handler.send_unicast(&args.to, args.message.as_bytes()) {
            Ok(()) => {
                sent += 1;
                out!(
                    "sender: sent #{sent} to {}: {}",
                    args.to,
                    payload_text(args.message.as_bytes())
                );
            }
            // The receiver is busy or restarting: try again next interval.
            Err(e) if e.kind() == ErrorKind::QueueFull => eprintln!("sender: {e}"),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                eprintln!("sender: {} is gone, waiting for it", args.to);
                handler.directory().wait_for_peer(&args.to, Wait::Forever)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    run("ipcon-sender", || match parse_args()? {
        Some(args) => send(&args),
        None => Ok(()),
    })
}
