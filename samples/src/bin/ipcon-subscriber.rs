//! The tutorial's subscriber: joins a server's group and prints its messages.

use std::process::ExitCode;

use ipcon_linux::{Handler, Message, MessageKind, Replay, Wait};

use ipcon_samples::{check_name, message_line, out, parse_count, parse_text, run, CliError};

const HELP: &str = "\
Usage: ipcon-subscriber [--server NAME] [--group GROUP] [--count N] [--no-replay]

Waits for group GROUP of peer NAME, joins it (asking for the group's last
message unless --no-replay) and prints one line per message.

Options:
  --server NAME  owner of the group (default ipcon_server)
  --group GROUP  group to join (default str_msg)
  --count N      exit after N group messages
  --no-replay    do not replay the group's last message on joining
  -h, --help     show this help
";

struct Args {
    server: String,
    group: String,
    count: Option<u64>,
    replay: Replay,
}

fn parse_args() -> Result<Option<Args>, CliError> {
    use lexopt::prelude::*;
    let mut args = Args {
        server: "ipcon_server".into(),
        group: "str_msg".into(),
        count: None,
        replay: Replay::LastMessage,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("server") => args.server = parse_text(parser.value()?)?,
            Long("group") => args.group = parse_text(parser.value()?)?,
            Long("count") => args.count = Some(parse_count(parser.value()?)?),
            Long("no-replay") => args.replay = Replay::Skip,
            Short('h') | Long("help") => {
                print!("{HELP}");
                return Ok(None);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(args))
}

fn subscribe(args: &Args) -> Result<(), CliError> {
    // Check the names before waiting on them.
    check_name("server name", &args.server)?;
    check_name("group name", &args.group)?;
    let handler = Handler::anonymous()?;
    handler.unregister_on_termination()?;
    handler
        .directory()
        .wait_for_group(&args.server, &args.group, Wait::Forever)?;
    handler.join_group(&args.server, &args.group, args.replay)?;
    out!(
        "subscriber: joined {}/{} port={}",
        args.server,
        args.group,
        handler.port()
    );
    let mut msg = Message::new();
    let mut received = 0;
    while args.count.map_or(true, |n| received < n) {
        handler.receive(&mut msg, Wait::Forever)?;
        out!("subscriber: {}", message_line(&msg));
        if msg.kind() == MessageKind::Group {
            received += 1;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    run("ipcon-subscriber", || match parse_args()? {
        Some(args) => subscribe(&args),
        None => Ok(()),
    })
}
