//! The tutorial's server: registers a peer and a group, and forwards every
//! unicast message it receives to the group (sync multicast).

use std::process::ExitCode;

use ipcon_linux::{Handler, Message, MessageKind, Wait};

use ipcon_samples::{message_line, out, parse_text, run, CliError};

const HELP: &str = "\
Usage: ipcon-server [--name NAME] [--group GROUP]

Registers peer NAME (default ipcon_server) and its group GROUP (default
str_msg), then forwards every message sent to it to the group and prints
one line per message.

Options:
  --name NAME    peer name (default ipcon_server)
  --group GROUP  group name (default str_msg)
  -h, --help     show this help
";

struct Args {
    name: String,
    group: String,
}

fn parse_args() -> Result<Option<Args>, CliError> {
    use lexopt::prelude::*;
    let mut args = Args {
        name: "ipcon_server".into(),
        group: "str_msg".into(),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("name") => args.name = parse_text(parser.value()?)?,
            Long("group") => args.group = parse_text(parser.value()?)?,
            Short('h') | Long("help") => {
                print!("{HELP}");
                return Ok(None);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(args))
}

fn serve(args: &Args) -> Result<(), CliError> {
    let handler = Handler::new(&args.name)?;
    // SIGTERM, SIGINT, SIGHUP: unregister (kernel events say
    // `unregistered`) and exit 0.
    handler.unregister_on_termination()?;
    handler.register_group(&args.group)?;
    out!(
        "server: {} port={} serving group {}",
        args.name,
        handler.port(),
        args.group
    );
    let mut msg = Message::new();
    loop {
        handler.receive(&mut msg, Wait::Forever)?;
        out!("server: {}", message_line(&msg));
        if msg.kind() != MessageKind::Unicast {
            continue;
        }
        match handler.send_multicast_sync(&args.group, msg.payload()) {
            Ok(report) => out!(
                "server: forwarded to {} delivered={} dropped={}",
                args.group,
                report.delivered,
                report.dropped
            ),
            Err(err) => eprintln!("server: forwarding to {} failed: {err}", args.group),
        }
    }
}

fn main() -> ExitCode {
    run("ipcon-server", || match parse_args()? {
        Some(args) => serve(&args),
        None => Ok(()),
    })
}
