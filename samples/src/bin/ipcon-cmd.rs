//! The tutorial's one-shot sender: sends one message to a peer.

use std::process::ExitCode;

use ipcon_linux::Handler;
use ipcon_samples::{parse_text, run, CliError};

const HELP: &str = "\
Usage: ipcon-cmd PEER MESSAGE

Sends MESSAGE once to peer PEER. Exits 0 when the message was queued to
PEER, non-zero with the reason otherwise.
";

fn parse_args() -> Result<Option<(String, String)>, CliError> {
    use lexopt::prelude::*;
    let mut values = Vec::new();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                print!("{HELP}");
                return Ok(None);
            }
            Value(v) if values.len() < 2 => values.push(parse_text(v)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let mut values = values.into_iter();
    match (values.next(), values.next()) {
        (Some(peer), Some(message)) => Ok(Some((peer, message))),
        (None, _) => Err(CliError::Usage("missing PEER".into())),
        (Some(_), None) => Err(CliError::Usage("missing MESSAGE".into())),
    }
}

fn main() -> ExitCode {
    run("ipcon-cmd", || {
        let Some((peer, message)) = parse_args()? else {
            return Ok(());
        };
        let handler = Handler::anonymous()?;
        handler
            .send_unicast(&peer, message.as_bytes())
            .map_err(|err| CliError::about_peer(&peer, err))?;
        Ok(())
    })
}
