//! `ipcon`: the operator's command line tool.

use std::process::ExitCode;

use ipcon_linux::{Directory, Handler, Message, PeerOptions, Replay, Wait};

use ipcon_samples::{message_line, out, parse_count, parse_text, run, watch_kevents, CliError};

const HELP: &str = "\
Usage: ipcon COMMAND [ARGS]

Commands:
  peers                       list the registered peers
  groups [OWNER]              list the groups (of OWNER only)
  send [--expect-uid UID] PEER MESSAGE
                              send MESSAGE to peer PEER
  listen [--name NAME] [--join OWNER/GROUP]... [--count N]
                              register a peer (anonymous unless --name),
                              join groups and print what arrives
  monitor [--count N]         print kernel events
  policy load FILE | policy clear
                              load (or remove) the namespace's ownership
                              policy (needs CAP_NET_ADMIN)

Run `ipcon COMMAND --help` for a command's options.
";

const HELP_PEERS: &str = "\
Usage: ipcon peers

Lists every peer of this network namespace, one line each:
  peer name=NAME port=P pid=P uid=U groups=N tx=N rx=N dropped=N
";

const HELP_GROUPS: &str = "\
Usage: ipcon groups [OWNER]

Lists every group (or OWNER's), one line each:
  group OWNER/GROUP port=P access=open subscribers=N tx=N last=LEN|none
";

const HELP_SEND: &str = "\
Usage: ipcon send [--expect-uid UID] PEER MESSAGE

Sends MESSAGE once to peer PEER (as an anonymous peer).

Options:
  --expect-uid UID     send only if PEER belongs to user UID (else nothing
                       is sent and the command fails)
  -h, --help           show this help
";

const HELP_POLICY: &str = "\
Usage: ipcon policy load FILE
       ipcon policy clear

Loads the ownership policy of this network namespace from FILE (usually
/etc/ipcon/policy.conf), replacing the previous one at once, or removes it.
Needs CAP_NET_ADMIN. One rule per line, the first matching rule decides:
  name PATTERN user USER | group GROUP | user USER group GROUP | anyone
PATTERN is a peer name in which '*' matches any run of characters and '?'
one; USER and GROUP are names (from /etc/passwd, /etc/group) or numbers.
Names no rule matches are free to anyone. '#' starts a comment.
";

const HELP_LISTEN: &str = "\
Usage: ipcon listen [--name NAME] [--join OWNER/GROUP]... [--count N]

Registers a peer (named NAME, else anonymous), joins each OWNER/GROUP
(replaying its last message) and prints one line per message received.

Options:
  --name NAME          register under NAME
  --join OWNER/GROUP   join GROUP of OWNER (repeatable)
  --count N            exit after N messages
  -h, --help           show this help
";

const HELP_MONITOR: &str = "\
Usage: ipcon monitor [--count N]

Prints one line per kernel event; exits after N events if given.
";

/// Parses a subcommand with no options besides `--help`; its positional
/// values.
fn positional(parser: &mut lexopt::Parser, help: &str) -> Result<Option<Vec<String>>, CliError> {
    use lexopt::prelude::*;
    let mut values = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                print!("{help}");
                return Ok(None);
            }
            Value(v) => values.push(parse_text(v)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(values))
}

fn peers(parser: &mut lexopt::Parser) -> Result<(), CliError> {
    let Some(values) = positional(parser, HELP_PEERS)? else {
        return Ok(());
    };
    if let Some(extra) = values.first() {
        return Err(CliError::Usage(format!("unexpected argument {extra:?}")));
    }
    Directory::open()?.for_each_peer(|p| out!("{p}"))?;
    Ok(())
}

fn groups(parser: &mut lexopt::Parser) -> Result<(), CliError> {
    let Some(values) = positional(parser, HELP_GROUPS)? else {
        return Ok(());
    };
    if values.len() > 1 {
        return Err(CliError::Usage(format!(
            "unexpected argument {:?}",
            values[1]
        )));
    }
    let owner = values.first().map(String::as_str);
    Directory::open()?.for_each_group(owner, |g| out!("{g}"))?;
    Ok(())
}

fn send(parser: &mut lexopt::Parser) -> Result<(), CliError> {
    use lexopt::prelude::*;
    let mut values = Vec::new();
    let mut expect_uid = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("expect-uid") => {
                let text = parse_text(parser.value()?)?;
                let uid = text
                    .parse()
                    .map_err(|_| CliError::Usage(format!("invalid uid {text:?}")))?;
                expect_uid = Some(uid);
            }
            Short('h') | Long("help") => {
                print!("{HELP_SEND}");
                return Ok(());
            }
            Value(v) => values.push(parse_text(v)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    match values.as_slice() {
        [peer, message] => {
            let handler = Handler::anonymous()?;
            match expect_uid {
                Some(uid) => handler.send_unicast_expecting(peer, uid, message.as_bytes())?,
                None => handler.send_unicast(peer, message.as_bytes())?,
            }
            Ok(())
        }
        [] => Err(CliError::Usage("missing PEER".into())),
        [_] => Err(CliError::Usage("missing MESSAGE".into())),
        [_, _, extra, ..] => Err(CliError::Usage(format!("unexpected argument {extra:?}"))),
    }
}

fn listen(parser: &mut lexopt::Parser) -> Result<(), CliError> {
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
            Short('h') | Long("help") => {
                print!("{HELP_LISTEN}");
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
        handler.join_group(owner, group, Replay::LastMessage)?;
    }
    out!(
        "listen: {} port={}",
        name.as_deref().unwrap_or("anonymous"),
        handler.port()
    );
    let mut msg = Message::new();
    let mut received = 0u64;
    while count.map_or(true, |n| received < n) {
        handler.receive(&mut msg, Wait::Forever)?;
        out!("listen: {}", message_line(&msg));
        received += 1;
    }
    Ok(())
}

fn policy(parser: &mut lexopt::Parser) -> Result<(), CliError> {
    let Some(values) = positional(parser, HELP_POLICY)? else {
        return Ok(());
    };
    let (command, rest) = values
        .split_first()
        .ok_or_else(|| CliError::Usage("missing load FILE or clear".into()))?;
    let rules = match (command.as_str(), rest) {
        ("load", [file]) => ipcon_samples::policy_file::read(file)?,
        ("load", []) => return Err(CliError::Usage("missing FILE".into())),
        ("clear", []) => Vec::new(),
        ("load" | "clear", [.., extra]) => {
            return Err(CliError::Usage(format!("unexpected argument {extra:?}")))
        }
        (other, _) => return Err(CliError::Usage(format!("unknown policy command {other:?}"))),
    };
    Directory::open()?.load_policy(&rules)?;
    out!("policy: {} rules loaded", rules.len());
    Ok(())
}

fn monitor(parser: &mut lexopt::Parser) -> Result<(), CliError> {
    watch_kevents(parser, "ipcon monitor", HELP_MONITOR)
}

fn main() -> ExitCode {
    run("ipcon", || {
        use lexopt::prelude::*;
        let mut parser = lexopt::Parser::from_env();
        let command = match parser.next()? {
            Some(Value(v)) => parse_text(v)?,
            Some(Short('h') | Long("help")) => {
                print!("{HELP}");
                return Ok(());
            }
            Some(arg) => return Err(arg.unexpected().into()),
            None => return Err(CliError::Usage("missing COMMAND".into())),
        };
        match command.as_str() {
            "peers" => peers(&mut parser),
            "groups" => groups(&mut parser),
            "send" => send(&mut parser),
            "listen" => listen(&mut parser),
            "monitor" => monitor(&mut parser),
            "policy" => policy(&mut parser),
            "help" => {
                print!("{HELP}");
                Ok(())
            }
            other => Err(CliError::Usage(format!("unknown command {other:?}"))),
        }
    })
}
