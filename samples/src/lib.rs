//! Shared pieces of the ipcon samples and the `ipcon` CLI: command lines,
//! error reporting, payload printing, message lines and their JSON form, and
//! kernel events in plain words. (Waiting for peers and groups and leaving
//! cleanly on SIGTERM are the library's: `Directory::wait_for_peer`,
//! `Handler::unregister_on_termination`.)

#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::borrow::Cow;
use std::fmt;
use std::process::ExitCode;

use ipcon_linux::{
    Directory, Error, ErrorKind, GroupInfo, Kevent, KeventKind, KeventMonitor, Message,
    MessageKind, Name, PeerIdentity, PeerInfo, RemoveReason, Wait,
};

mod json;
pub use json::JsonObject;

/// The README's quick start, checked against its source (it is
/// `examples/quickstart.rs`, which CI builds and the VM tests run).
#[cfg(test)]
const README: &str = include_str!("../../README.md");

/// The tutorial's Rust code blocks, compiled as doctests so they cannot
/// drift from the library.
#[cfg(doctest)]
#[doc = include_str!("../../docs/tutorial.md")]
pub struct Tutorial;

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
    /// A peer or group named on the command line does not exist; the text
    /// names it.
    NotFound(String),
    /// The library failed.
    Ipcon(ipcon_linux::Error),
}

impl CliError {
    /// `err` from an operation on peer `peer`: when the peer does not
    /// exist, says so by name.
    pub fn about_peer(peer: &str, err: ipcon_linux::Error) -> Self {
        if err.kind() == ErrorKind::NotFound {
            Self::NotFound(format!("peer {peer:?} not found"))
        } else {
            Self::Ipcon(err)
        }
    }

    /// `err` from an operation on group `group` of `owner`: when the group
    /// does not exist, says whether the owner is missing or only its group.
    pub fn about_group(owner: &str, group: &str, err: ipcon_linux::Error) -> Self {
        if err.kind() != ErrorKind::NotFound {
            return Self::Ipcon(err);
        }
        let owner_present = Directory::open()
            .and_then(|directory| directory.is_peer_present(owner))
            .unwrap_or(true);
        if owner_present {
            Self::NotFound(format!("peer {owner:?} has no group {group:?}"))
        } else {
            Self::NotFound(format!(
                "peer {owner:?} not found (so neither is its group {group:?})"
            ))
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(text) => write!(f, "{text} (try --help)"),
            Self::NotFound(text) => f.write_str(text),
            Self::Ipcon(err) => write!(f, "{err}"),
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
/// usage errors, 1 otherwise (a missing peer or group among them).
pub fn run(program: &str, body: impl FnOnce() -> Result<(), CliError>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{program}: {err}");
            match err {
                CliError::Usage(_) => ExitCode::from(2),
                CliError::NotFound(_) | CliError::Ipcon(_) => ExitCode::FAILURE,
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

/// How a monitor prints kernel events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeventStyle {
    /// One JSON object per line (see [`kevent_json`]).
    pub json: bool,
    /// Say what each event means in plain words (see [`kevent_meaning`]).
    pub explain: bool,
}

/// Prints a kernel event, preceded by a line saying how many events were
/// lost before it, if any.
pub fn print_kevent(msg: &Message, style: KeventStyle) {
    let missed = msg.kevents_missed();
    let Some(event) = msg.kevent() else {
        return;
    };
    if style.json {
        if missed > 0 {
            let mut lost = JsonObject::new();
            lost.str("type", "kevents_missed").num("missed", missed);
            out!("{}", lost.finish());
        }
        let mut object = kevent_json(event);
        if style.explain {
            object.str("meaning", &kevent_meaning(event));
        }
        out!("{}", object.finish());
    } else if style.explain {
        if missed > 0 {
            out!(
                "{missed} kernel events were lost here (this monitor's receive queue \
                 was full); `ipcon peers` and `ipcon groups` show the current state"
            );
        }
        out!("kevent #{}: {}", event.seq, kevent_meaning(event));
    } else {
        if missed > 0 {
            out!("kevent missed={missed}");
        }
        out!("{event}");
    }
}

/// `peer "srv" (port 1234, pid 42, uid 0)`, `an anonymous peer (port ...)`.
fn peer_words(peer: &PeerIdentity) -> String {
    let process = format!("(port {}, pid {}, uid {})", peer.port, peer.pid, peer.uid);
    match &peer.name {
        Some(name) => format!("peer {:?} {process}", name.as_str()),
        None => format!("an anonymous peer {process}"),
    }
}

/// What a kernel event means, in plain words:
/// `peer "ipcon_server" (port 1234, pid 42, uid 0) registered; others can
/// now send to it`.
pub fn kevent_meaning(event: &Kevent) -> String {
    let Some(peer) = event.peer() else {
        return "an event of a type this program does not know (a newer module?)".to_owned();
    };
    let who = peer_words(peer);
    let closed = "closed the socket (it exited or was killed)";
    match &event.kind {
        KeventKind::PeerAdd(_) => format!("{who} registered; others can now send to it"),
        KeventKind::PeerRemove { reason, .. } => match reason {
            RemoveReason::Unregistered => format!("{who} unregistered itself"),
            RemoveReason::Closed => format!("{who} is gone: its process {closed}"),
            RemoveReason::Unknown(_) => format!("{who} is gone"),
        },
        KeventKind::GroupAdd { group, .. } => format!(
            "{who} registered group {:?}; peers can now join it",
            group.as_str()
        ),
        KeventKind::GroupRemove { group, reason, .. } => {
            let group = group.as_str();
            match reason {
                RemoveReason::Unregistered => format!(
                    "{who} unregistered its group {group:?}; its subscribers get no \
                     more messages from it"
                ),
                RemoveReason::Closed => {
                    format!("group {group:?} of {who} is gone: its owner's process {closed}")
                }
                RemoveReason::Unknown(_) => format!("group {group:?} of {who} is gone"),
            }
        }
        KeventKind::Unknown(kind) => format!("{who}: an event of unknown type {kind}"),
    }
}

/// The fields of the `--json` form of a peer (`ipcon peers`), with what
/// they mean (the CLI's help lists them).
pub const PEER_FIELDS: &[(&str, &str)] = &[
    ("name", "its name; null for an anonymous peer"),
    ("port", "its port (its address)"),
    ("pid", "its process id"),
    ("uid", "its user id"),
    ("groups", "how many groups it owns"),
    ("tx", "messages it sent"),
    ("rx", "messages queued to it"),
    ("dropped", "messages for it lost because its queue was full"),
];

/// A peer as one JSON object ([`PEER_FIELDS`]).
pub fn peer_json(peer: &PeerInfo) -> JsonObject {
    let mut object = JsonObject::new();
    let PeerInfo { peer: who, .. } = peer;
    object
        .opt_str("name", who.name.as_ref().map(Name::as_str))
        .num("port", who.port.into())
        .num("pid", who.pid.into())
        .num("uid", who.uid.into())
        .num("groups", peer.groups.into())
        .num("tx", peer.tx_msgs)
        .num("rx", peer.rx_msgs)
        .num("dropped", peer.rx_dropped);
    object
}

/// The fields of the `--json` form of a group (`ipcon groups`).
pub const GROUP_FIELDS: &[(&str, &str)] = &[
    ("owner", "the owner's name; null if the owner is anonymous"),
    ("owner_port", "the owner's port"),
    ("group", "the group's name"),
    ("access", "who may join: \"open\", \"same-uid\" or \"gid\""),
    (
        "gid",
        "the group id admitted when access is \"gid\", else null",
    ),
    ("subscribers", "how many peers joined it"),
    ("tx", "messages published to it"),
    (
        "last_len",
        "payload length of its last message, which a joining peer may have \
         replayed; null if none",
    ),
];

/// A group as one JSON object ([`GROUP_FIELDS`]).
pub fn group_json(group: &GroupInfo) -> JsonObject {
    let access = match group.access {
        ipcon_linux::GroupAccess::Open => "open",
        ipcon_linux::GroupAccess::SameUid => "same-uid",
        ipcon_linux::GroupAccess::Gid => "gid",
        ipcon_linux::GroupAccess::Unknown(_) => "unknown",
    };
    let mut object = JsonObject::new();
    object
        .opt_str("owner", group.owner.as_ref().map(Name::as_str))
        .num("owner_port", group.owner_port.into())
        .str("group", group.group.as_str())
        .str("access", access)
        .opt_num("gid", group.gid.map(u64::from))
        .num("subscribers", group.subscribers.into())
        .num("tx", group.tx_msgs)
        .opt_num("last_len", group.last_msg_len.map(u64::from));
    object
}

/// The fields of the `--json` form of a received message (`ipcon listen`).
pub const MESSAGE_FIELDS: &[(&str, &str)] = &[
    (
        "type",
        "\"unicast\" (sent to this peer) or \"group\" (published to a joined group)",
    ),
    ("from", "the sender's name; null for an anonymous sender"),
    ("port", "the sender's port"),
    ("pid", "the sender's process id, stamped by the kernel"),
    ("uid", "the sender's user id, stamped by the kernel"),
    ("group", "the group's name for a group message, else null"),
    (
        "replayed",
        "true for a group's last message replayed on joining",
    ),
    (
        "missed",
        "messages lost before this one because the queue was full",
    ),
    (
        "payload",
        "the payload as text (one trailing NUL, as C senders add, dropped); \
         null when it is not UTF-8",
    ),
    (
        "payload_hex",
        "the payload in hex when it is not UTF-8, else null",
    ),
];

/// A unicast or group message as one JSON object ([`MESSAGE_FIELDS`]);
/// a kernel event as [`kevent_json`]; a failed posted send as
/// `{"type":"send_failed","ticket":N,"error":TEXT}`.
pub fn message_json(msg: &Message) -> JsonObject {
    let mut object = JsonObject::new();
    let kind = match msg.kind() {
        MessageKind::Unicast => "unicast",
        MessageKind::Group => "group",
        MessageKind::Kevent => return msg.kevent().map(kevent_json).unwrap_or_default(),
        MessageKind::SendFailed => {
            object
                .str("type", "send_failed")
                .opt_num("ticket", msg.ticket().map(|t| t.get().into()))
                .opt_str(
                    "error",
                    Error::from_send_failed(msg)
                        .map(|e| e.to_string())
                        .as_deref(),
                );
            return object;
        }
        MessageKind::Empty => "empty",
    };
    let sender = msg.sender();
    let payload = msg.payload();
    let text = std::str::from_utf8(payload.strip_suffix(&[0]).unwrap_or(payload)).ok();
    let hex = match text {
        Some(_) => None,
        None => Some(
            payload
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        ),
    };
    object
        .str("type", kind)
        .opt_str("from", sender.name.as_ref().map(Name::as_str))
        .num("port", sender.port.into())
        .num("pid", sender.pid.into())
        .num("uid", sender.uid.into())
        .opt_str("group", msg.group().map(Name::as_str))
        .bool("replayed", msg.replayed())
        .num("missed", msg.missed().into())
        .opt_str("payload", text)
        .opt_str("payload_hex", hex.as_deref());
    object
}

/// The fields of the `--json` form of a kernel event (`ipcon monitor`).
pub const KEVENT_FIELDS: &[(&str, &str)] = &[
    ("type", "\"kevent\""),
    (
        "seq",
        "the event's number; +1 per event in this network namespace",
    ),
    (
        "event",
        "\"peer-add\", \"peer-remove\", \"group-add\", \"group-remove\" (or \"unknown\" \
         from a newer module: then the peer's fields are null)",
    ),
    (
        "name",
        "the peer's name (the group's owner for group events); null if anonymous",
    ),
    ("port", "that peer's port"),
    ("pid", "that peer's process id"),
    ("uid", "that peer's user id"),
    ("group", "the group's name for group events, else null"),
    (
        "reason",
        "for removals, \"unregistered\" (it said goodbye) or \"closed\" (its socket \
         closed: exit or crash); else null",
    ),
];

/// A kernel event as one JSON object ([`KEVENT_FIELDS`]).
pub fn kevent_json(event: &Kevent) -> JsonObject {
    let (name, group, reason) = match &event.kind {
        KeventKind::PeerAdd(_) => ("peer-add", None, None),
        KeventKind::PeerRemove { reason, .. } => ("peer-remove", None, Some(*reason)),
        KeventKind::GroupAdd { group, .. } => ("group-add", Some(group), None),
        KeventKind::GroupRemove { group, reason, .. } => {
            ("group-remove", Some(group), Some(*reason))
        }
        KeventKind::Unknown(_) => ("unknown", None, None),
    };
    let reason = reason.map(|reason| match reason {
        RemoveReason::Unregistered => "unregistered",
        RemoveReason::Closed => "closed",
        RemoveReason::Unknown(_) => "unknown",
    });
    let peer = event.peer();
    let number = |field: fn(&PeerIdentity) -> u32| peer.map(|p| u64::from(field(p)));
    let mut object = JsonObject::new();
    object
        .str("type", "kevent")
        .num("seq", event.seq)
        .str("event", name)
        .opt_str("name", peer.and_then(|p| p.name.as_ref()).map(Name::as_str))
        .opt_num("port", number(|p| p.port))
        .opt_num("pid", number(|p| p.pid))
        .opt_num("uid", number(|p| p.uid))
        .opt_str("group", group.map(Name::as_str))
        .opt_str("reason", reason);
    object
}

/// Help text listing `fields` (for a command's `--help`): one field a line,
/// four spaces in, its meaning wrapped to 78 columns.
pub fn fields_help(fields: &[(&str, &str)]) -> String {
    const MEANING_COLUMN: usize = 17;
    const WIDTH: usize = 78;
    let mut text = String::new();
    for (name, meaning) in fields {
        let mut line = format!("    {name:<12} ");
        for word in meaning.split(' ') {
            if line.len() + word.len() > WIDTH && line.len() > MEANING_COLUMN {
                text.push_str(line.trim_end());
                text.push('\n');
                line = " ".repeat(MEANING_COLUMN);
            }
            line.push_str(word);
            line.push(' ');
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// The `--help` of a monitor (`ipcon monitor`, `ipcon-monitor`).
pub fn monitor_help(program: &str) -> String {
    format!(
        "\
Usage: {program} [--explain] [--json] [--count N]

Prints one line per kernel event: the module reports every peer and group
that registers or goes away, also when its process dies without saying
goodbye (reason=closed), e.g.
  kevent #3 peer-add name=ipcon_server port=1234 pid=42 uid=0
  kevent #7 peer-remove name=ipcon_server port=1234 pid=42 uid=0 reason=closed
A line `kevent missed=N` says N events were lost before the next one.

Options:
  --explain    say what each event means, in plain words:
               kevent #7: peer \"ipcon_server\" (port 1234, pid 42, uid 0)
               is gone: its process closed the socket (it exited or was killed)
  --json       one JSON object per event (with --explain also \"meaning\",
               the plain words; {{\"type\":\"kevents_missed\",\"missed\":N}}
               after a loss), with these fields:
{}  --count N    exit after N events
  -h, --help   show this help

Example:
  {program} --explain
",
        fields_help(KEVENT_FIELDS)
    )
}

/// The monitor loop shared by `ipcon-monitor` and `ipcon monitor`: parses
/// `--count N`, `--json`, `--explain` and `--help` from `parser`, then
/// prints every kernel event. `who` prefixes the "watching" notice on
/// stderr that tells scripts the subscription is in place; `style` holds
/// options given before the command (`ipcon --json monitor`).
pub fn watch_kevents(
    parser: &mut lexopt::Parser,
    who: &str,
    help: &str,
    mut style: KeventStyle,
) -> Result<(), CliError> {
    use lexopt::prelude::*;
    let mut count = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("count") => count = Some(parse_count(parser.value()?)?),
            Long("json") => style.json = true,
            Long("explain") => style.explain = true,
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
        print_kevent(&msg, style);
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
    fn the_readme_quick_start_is_the_example() {
        let example = include_str!("../examples/quickstart.rs");
        assert!(
            README.contains(&format!("```rust\n{example}```\n")),
            "README.md's quick start differs from samples/examples/quickstart.rs"
        );
    }

    fn sample_peer(name: Option<&str>) -> PeerIdentity {
        PeerIdentity {
            name: name.map(|n| Name::new(n).unwrap()),
            port: 1234,
            pid: 42,
            uid: 0,
            flags: ipcon_linux::PeerFlags::empty(),
        }
    }

    /// Every JSON object has exactly the documented fields, in order.
    #[test]
    fn json_objects_have_the_documented_fields() {
        let names = |fields: &[(&str, &str)]| -> Vec<String> {
            fields.iter().map(|(name, _)| (*name).to_owned()).collect()
        };
        let peer = PeerInfo {
            peer: PeerIdentity {
                name: None,
                port: 7,
                ..sample_peer(None)
            },
            tx_msgs: 1,
            rx_msgs: 2,
            rx_dropped: 0,
            groups: 0,
            _borrow: std::marker::PhantomData,
        };
        let text = peer_json(&peer).finish();
        assert_eq!(json::keys(&text), names(PEER_FIELDS));
        assert!(text.starts_with(r#"{"name":null,"port":7,"#), "{text}");
        let group = GroupInfo {
            owner: Some(Name::new("srv").unwrap()),
            owner_port: 7,
            group: Name::new("news").unwrap(),
            access: ipcon_linux::GroupAccess::Open,
            gid: None,
            subscribers: 2,
            tx_msgs: 5,
            last_msg_len: Some(6),
            _borrow: std::marker::PhantomData,
        };
        let text = group_json(&group).finish();
        assert_eq!(json::keys(&text), names(GROUP_FIELDS));
        assert!(
            text.ends_with(r#""subscribers":2,"tx":5,"last_len":6}"#),
            "{text}"
        );
        for event in [
            Kevent {
                seq: 1,
                kind: KeventKind::PeerAdd(sample_peer(Some("srv"))),
            },
            Kevent {
                seq: 2,
                kind: KeventKind::GroupRemove {
                    owner: sample_peer(None),
                    group: Name::new("news").unwrap(),
                    reason: RemoveReason::Closed,
                },
            },
            Kevent {
                seq: 3,
                kind: KeventKind::Unknown(9),
            },
        ] {
            let text = kevent_json(&event).finish();
            assert_eq!(json::keys(&text), names(KEVENT_FIELDS), "{text}");
        }
        let text = kevent_json(&Kevent {
            seq: 9,
            kind: KeventKind::PeerRemove {
                peer: sample_peer(Some("srv")),
                reason: RemoveReason::Unregistered,
            },
        })
        .finish();
        assert_eq!(
            text,
            r#"{"type":"kevent","seq":9,"event":"peer-remove","name":"srv","port":1234,"pid":42,"uid":0,"group":null,"reason":"unregistered"}"#
        );
        // A received message's fields are checked end to end (e2e
        // cli_json), where messages come from the kernel.
        assert_eq!(MESSAGE_FIELDS[0].0, "type");
    }

    #[test]
    fn field_lists_fit_a_terminal() {
        let text = fields_help(&[("reason", &"word ".repeat(30)), ("port", "its port")]);
        assert!(text.lines().all(|line| line.len() <= 78), "{text}");
        assert!(text.starts_with("    reason       word word"));
        assert!(text.contains("\n                 word"));
        assert!(text.ends_with("\n    port         its port\n"));
    }

    #[test]
    fn kevents_in_plain_words() {
        let killed = Kevent {
            seq: 7,
            kind: KeventKind::PeerRemove {
                peer: sample_peer(Some("ipcon_server")),
                reason: RemoveReason::Closed,
            },
        };
        assert_eq!(
            kevent_meaning(&killed),
            "peer \"ipcon_server\" (port 1234, pid 42, uid 0) is gone: its process closed \
             the socket (it exited or was killed)"
        );
        let joined = Kevent {
            seq: 2,
            kind: KeventKind::GroupAdd {
                owner: sample_peer(None),
                group: Name::new("news").unwrap(),
            },
        };
        assert_eq!(
            kevent_meaning(&joined),
            "an anonymous peer (port 1234, pid 42, uid 0) registered group \"news\"; \
             peers can now join it"
        );
    }

    #[test]
    fn a_missing_peer_is_named() {
        const ENOENT: i32 = 2;
        let err = ipcon_linux::Error::from_errno("send unicast", ENOENT);
        let cli = CliError::about_peer("nobody", err);
        assert_eq!(cli.to_string(), "peer \"nobody\" not found");
        assert!(matches!(cli, CliError::NotFound(_)));
        // Other failures keep the library's words.
        let err = ipcon_linux::Error::new("send unicast", ErrorKind::QueueFull);
        assert!(matches!(
            CliError::about_peer("busy", err),
            CliError::Ipcon(_)
        ));
    }

    #[test]
    fn counts_are_checked() {
        assert_eq!(parse_count("3".into()).unwrap(), 3);
        assert!(parse_count("x".into()).is_err());
    }
}
