//! Network-namespace isolation: a process in a new network namespace sees
//! none of the initial namespace's peers, cannot reach them, may reuse their
//! names, and has its own kernel-event sequence.

use std::time::Duration;

use ipcon_linux::Replay;
use ipcon_linux::{Directory, ErrorKind, Handler, KeventMonitor, Message, MessageKind};

use crate::common::{
    expect_error, expect_silence, helper_outcome, kevents, next_kevent, receive_kind,
};
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[Test::new("netns_isolation", isolation)];

fn isolation() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let peer = Handler::new("e2e_n_peer").ctx("register")?;
    peer.register_group("g").ctx("register group")?;
    let before = kevents(&monitor, 2)?;
    let port = peer.port().to_string();
    let helper = Helper::start("netns", &["checks", &port])?;
    helper_outcome(&helper, Duration::from_secs(20))?;
    // Nothing the other namespace did reached this one.
    expect_silence(&peer, "the initial namespace's e2e_n_peer")?;
    let marker = Handler::new("e2e_n_marker").ctx("register marker")?;
    let next = next_kevent(&monitor)?;
    ensure_eq!(
        next.seq,
        before[1].seq + 1,
        "no events from the other namespace in between ({next})"
    );
    ensure_eq!(
        next.peer().map(|p| p.port).unwrap_or_default(),
        marker.port(),
        "the marker's event"
    );
    let dir = Directory::open().ctx("directory")?;
    let peers = dir.peers().ctx("list")?;
    let named = peers
        .iter()
        .filter(|p| p.peer.name.is_some_and(|n| n == "e2e_n_peer"))
        .count();
    ensure_eq!(named, 1, "peers named e2e_n_peer in the initial namespace");
    Ok(())
}

/// The side in the new namespace (`__child netns CASE ...`).
pub fn in_namespace_case(args: &[&str]) -> TestResult {
    let ["checks", outside_port] = args else {
        return Err(format!("unknown netns case {args:?}"));
    };
    let outside_port: u32 = outside_port.parse().ctx("port")?;
    let monitor = KeventMonitor::open().ctx("the module serves the new namespace")?;
    let dir = Directory::open().ctx("directory")?;
    ensure!(
        dir.peers().ctx("list")?.is_empty(),
        "the new namespace starts with peers"
    );
    ensure!(
        dir.groups(None).ctx("list groups")?.is_empty(),
        "the new namespace starts with groups"
    );
    ensure!(
        !dir.is_peer_present("e2e_n_peer").ctx("look up")?,
        "sees the outer peer"
    );
    expect_error(
        dir.peer_by_port(outside_port),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "outer port",
    )?;
    ensure!(
        dir.group("e2e_n_peer", "g").ctx("group look-up")?.is_none(),
        "sees the outer group"
    );

    // The same name registers here, and is this namespace's.
    let inside = Handler::new("e2e_n_peer").ctx("register the same name inside")?;
    let first = next_kevent(&monitor)?;
    ensure_eq!(
        first.seq,
        1,
        "the new namespace's first kevent seq ({first})"
    );
    ensure_eq!(
        first.peer().map(|p| p.port).unwrap_or_default(),
        inside.port(),
        "its port"
    );
    expect_error(
        inside.send_unicast_to_port(outside_port, b"escape"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "unicast to the outer port",
    )?;
    expect_error(
        inside.join_group("e2e_n_peer", "g", Replay::Skip),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "join the outer group by name",
    )?;
    inside
        .send_unicast("e2e_n_peer", b"local")
        .ctx("unicast by the shared name")?;
    let mut msg = Message::new();
    let text = receive_kind(&inside, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "local", "delivered inside");
    ensure_eq!(msg.sender().port, inside.port(), "sender inside");
    inside.register_group("g").ctx("same group name inside")?;
    let second = next_kevent(&monitor)?;
    ensure_eq!(second.seq, 2, "second kevent seq");
    Ok(())
}
