//! `ipcon`: the operator's command line tool.

use std::process::ExitCode;

use ipcon_linux::{Directory, Handler, Message, PeerOptions, Replay, Wait};

use ipcon_samples::{
    fields_help, group_json, message_json, message_line, monitor_help, out, parse_count,
    parse_text, peer_json, run, watch_kevents, CliError, JsonObject, KeventStyle, GROUP_FIELDS,
    MESSAGE_FIELDS, PEER_FIELDS,
};

const HELP: &str = "\
Usage: ipcon [--json] COMMAND [ARGS]
       ipcon --version

Looks at and talks to ipcon, the packet IPC of the ipcon kernel module
(load it first: modprobe ipcon). Peers are processes registered under a
name; they send each other messages by name and publish to groups that
other peers join.

Commands:
  peers                  list the registered peers
  groups [OWNER]         list the groups (of peer OWNER only)
  send PEER MESSAGE      send MESSAGE to peer PEER
  listen [OPTIONS]       register a peer, join groups, print what arrives
  monitor [OPTIONS]      print kernel events: peers and groups coming and going

Options:
  --json                 one JSON object per line (peers, groups, listen,
                         monitor); each command's --help lists the fields
  -V, --version          print the version
  -h, --help             this help; `ipcon COMMAND --help` for a command's

Examples:
  ipcon peers
  ipcon groups ipcon_server
  ipcon send ipcon_server 'hello'
  ipcon listen --name my_listener --join ipcon_server/str_msg
  ipcon monitor --explain

Exit status: 0 success, 1 failure (e.g. a peer or group that does not
exist, named in the message), 2 usage error.
";

fn help_peers() -> String {
    format!(
        "\
Usage: ipcon peers [--json]

Lists every peer registered in this network namespace, one line each:
  peer name=NAME port=P pid=P uid=U groups=N tx=N rx=N dropped=N
(`peer anonymous port=P ...` for a peer without a name).

With --json, one object per peer with these fields:
{}
Example:
  ipcon peers --json
",
        fields_help(PEER_FIELDS)
    )
}

fn help_groups() -> String {
    format!(
        "\
Usage: ipcon groups [--json] [OWNER]

Lists every group (or only those of peer OWNER, which must exist), one
line each:
  group OWNER/GROUP port=P access=open subscribers=N tx=N last=LEN|none

With --json, one object per group with these fields:
{}
Examples:
  ipcon groups
  ipcon groups ipcon_server
",
        fields_help(GROUP_FIELDS)
    )
}

const HELP_SEND: &str = "\
Usage: ipcon send PEER MESSAGE

Sends MESSAGE once to peer PEER (as an anonymous peer). Exits 0 when
the message was queued to PEER, 1 with the reason otherwise (e.g. peer
\"x\" not found, or its queue is full).

Example:
  ipcon send ipcon_server 'hello'
";

fn help_listen() -> String {
    format!(
        "\
Usage: ipcon listen [--name NAME] [--join OWNER/GROUP]... [--count N] [--json]

Registers a peer (named NAME, else anonymous), joins each OWNER/GROUP
(replaying the group's last message) and prints one line per message:
  listen: NAME port=P                          (once registered)
  listen: from NAME pid=P uid=U: TEXT          (sent to this peer)
  listen: group OWNER/GROUP pid=P uid=U [replayed] [missed=N]: TEXT
Senders without a name show as port:P. Stops on SIGINT/SIGTERM/SIGHUP.

Options:
  --name NAME          register under NAME (others can then send to it)
  --join OWNER/GROUP   join GROUP of peer OWNER (repeatable)
  --count N            exit after N messages
  --json               one JSON object per line: first
                       {{\"type\":\"ready\",\"name\":NAME|null,\"port\":P}},
                       then one per message, with these fields:
{}  -h, --help           show this help

Example:
  ipcon listen --name my_listener --join ipcon_server/str_msg --count 1
",
        fields_help(MESSAGE_FIELDS)
    )
}

/// Parses a subcommand with no options besides `--json` and `--help`; its
/// positional values, or `None` after printing the help.
fn positional(
    parser: &mut lexopt::Parser,
    help: &dyn Fn() -> String,
    json: &mut bool,
) -> Result<Option<Vec<String>>, CliError> {
    use lexopt::prelude::*;
    let mut values = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                print!("{}", help());
                return Ok(None);
            }
            Long("json") => *json = true,
            Value(v) => values.push(parse_text(v)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(values))
}

fn unexpected(extra: &str) -> CliError {
    CliError::Usage(format!("unexpected argument {extra:?}"))
}

fn peers(parser: &mut lexopt::Parser, mut json: bool) -> Result<(), CliError> {
    let Some(values) = positional(parser, &help_peers, &mut json)? else {
        return Ok(());
    };
    if let Some(extra) = values.first() {
        return Err(unexpected(extra));
    }
    Directory::open()?.for_each_peer(|p| {
        if json {
            out!("{}", peer_json(p).finish());
        } else {
            out!("{p}");
        }
    })?;
    Ok(())
}

fn groups(parser: &mut lexopt::Parser, mut json: bool) -> Result<(), CliError> {
    let Some(values) = positional(parser, &help_groups, &mut json)? else {
        return Ok(());
    };
    if let Some(extra) = values.get(1) {
        return Err(unexpected(extra));
    }
    let owner = values.first().map(String::as_str);
    let directory = Directory::open()?;
    if let Some(owner) = owner {
        // An owner without groups lists nothing; one that does not exist
        // is an error.
        directory
            .peer(owner)
            .map_err(|err| CliError::about_peer(owner, err))?;
    }
    directory.for_each_group(owner, |g| {
        if json {
            out!("{}", group_json(g).finish());
        } else {
            out!("{g}");
        }
    })?;
    Ok(())
}

fn send(parser: &mut lexopt::Parser) -> Result<(), CliError> {
    let mut json = false;
    let Some(values) = positional(parser, &|| HELP_SEND.to_owned(), &mut json)? else {
        return Ok(());
    };
    match values.as_slice() {
        [peer, message] => {
            Handler::anonymous()?
                .send_unicast(peer, message.as_bytes())
                .map_err(|err| CliError::about_peer(peer, err))?;
            Ok(())
        }
        [] => Err(CliError::Usage("missing PEER".into())),
        [_] => Err(CliError::Usage("missing MESSAGE".into())),
        [_, _, extra, ..] => Err(unexpected(extra)),
    }
}

fn listen(parser: &mut lexopt::Parser, mut json: bool) -> Result<(), CliError> {
    use lexopt::prelude::*;
    let mut name = None;
    let mut joins = Vec::new();
    let mut count = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("name") => name = Some(parse_text(parser.value()?)?),
            Long("join") => {
                let spec = parse_text(parser.value()?)?;
                let (owner, group) = spec.split_once('/').ok_or_else(|| {
                    CliError::Usage(format!("--join wants OWNER/GROUP, got {spec:?}"))
                })?;
                joins.push((owner.to_owned(), group.to_owned()));
            }
            Long("count") => count = Some(parse_count(parser.value()?)?),
            Long("json") => json = true,
            Short('h') | Long("help") => {
                print!("{}", help_listen());
                return Ok(());
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let handler = match &name {
        Some(name) => PeerOptions::named(name)?.open()?,
        None => Handler::anonymous()?,
    };
    // On SIGTERM, SIGINT or SIGHUP: unregister (kernel events then say
    // `unregistered`, not `closed`) and exit 0, as the samples do.
    handler.unregister_on_termination()?;
    for (owner, group) in &joins {
        handler
            .join_group(owner, group, Replay::LastMessage)
            .map_err(|err| CliError::about_group(owner, group, err))?;
    }
    if json {
        let mut ready = JsonObject::new();
        ready
            .str("type", "ready")
            .opt_str("name", name.as_deref())
            .num("port", handler.port().into());
        out!("{}", ready.finish());
    } else {
        out!(
            "listen: {} port={}",
            name.as_deref().unwrap_or("anonymous"),
            handler.port()
        );
    }
    let mut msg = Message::new();
    let mut received = 0u64;
    while count.map_or(true, |n| received < n) {
        handler.receive(&mut msg, Wait::Forever)?;
        if json {
            out!("{}", message_json(&msg).finish());
        } else {
            out!("listen: {}", message_line(&msg));
        }
        received += 1;
    }
    Ok(())
}

fn version() -> String {
    format!(
        "ipcon {} (protocol version {})\n",
        env!("CARGO_PKG_VERSION"),
        ipcon_core::spec::VERSION
    )
}

fn main() -> ExitCode {
    run("ipcon", || {
        use lexopt::prelude::*;
        let mut parser = lexopt::Parser::from_env();
        let mut json = false;
        let command = loop {
            match parser.next()? {
                Some(Value(v)) => break parse_text(v)?,
                Some(Long("json")) => json = true,
                Some(Short('V') | Long("version")) => {
                    print!("{}", version());
                    return Ok(());
                }
                Some(Short('h') | Long("help")) => {
                    print!("{HELP}");
                    return Ok(());
                }
                Some(arg) => return Err(arg.unexpected().into()),
                None => return Err(CliError::Usage("missing COMMAND".into())),
            }
        };
        match command.as_str() {
            "peers" => peers(&mut parser, json),
            "groups" => groups(&mut parser, json),
            "send" => send(&mut parser),
            "listen" => listen(&mut parser, json),
            "monitor" => watch_kevents(
                &mut parser,
                "ipcon monitor",
                &monitor_help("ipcon monitor"),
                KeventStyle {
                    json,
                    explain: false,
                },
            ),
            "help" => {
                print!("{HELP}");
                Ok(())
            }
            "version" => {
                print!("{}", version());
                Ok(())
            }
            other => Err(CliError::Usage(format!("unknown command {other:?}"))),
        }
    })
}
