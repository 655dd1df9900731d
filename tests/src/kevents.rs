//! Kernel events: order, sequence numbers, reasons, SIGKILL of peers and
//! group owners, loss reporting, and the tutorial's service detection.

use ipcon_linux::KeventKind;
use ipcon_linux::{
    Directory, ErrorKind, Handler, Kevent, KeventMonitor, Message, MessageKind, PeerFlags,
    PeerOptions, RemoveReason,
};
use ipcon_linux::{Replay, Wait};

use crate::common::{expect_error, kevents, next_kevent, receive};
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("kevent_order_unregistered", order_unregistered),
    Test::new("kevent_anonymous_peer", anonymous_peer),
    Test::new("kevent_sigkill_peer_closed", sigkill_peer_closed),
    Test::new(
        "kevent_sigkill_group_owner_tells_subscribers",
        sigkill_group_owner,
    ),
    Test::new("kevent_loss_is_counted", loss_is_counted).timeout(60),
    Test::new("kevent_detect_service_tutorial", detect_service),
];

fn name_of(event: &Kevent) -> String {
    event
        .peer()
        .map(|p| p.name)
        .unwrap_or_default()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

fn order_unregistered() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let handler = Handler::new("e2e_k_order").ctx("register")?;
    handler.register_group("g1").ctx("group g1")?;
    handler.register_group("g2").ctx("group g2")?;
    handler.unregister_group("g1").ctx("unregister g1")?;
    handler.register_group("g3").ctx("group g3")?;
    let port = handler.port();
    drop(handler);
    let events = kevents(&monitor, 7)?;
    let line: Vec<String> = events.iter().map(ToString::to_string).collect();
    let line = line.join("; ");
    for event in &events {
        ensure_eq!(
            event.peer().map(|p| p.port).unwrap_or_default(),
            port,
            "port in {event}"
        );
        ensure_eq!(name_of(event), "e2e_k_order", "name in {event}");
        ensure_eq!(
            event.peer().map(|p| p.pid).unwrap_or_default(),
            std::process::id(),
            "pid in {event}"
        );
    }
    let shape: Vec<(&str, String, Option<RemoveReason>)> = events
        .iter()
        .map(|e| match e.kind {
            KeventKind::PeerAdd(..) => ("peer-add", String::new(), None),
            KeventKind::PeerRemove { reason, .. } => ("peer-remove", String::new(), Some(reason)),
            KeventKind::GroupAdd { group, .. } => ("group-add", group.to_string(), None),
            KeventKind::GroupRemove { group, reason, .. } => {
                ("group-remove", group.to_string(), Some(reason))
            }
            KeventKind::Unknown(kind) => ("unknown", kind.to_string(), None),
        })
        .collect();
    let unreg = Some(RemoveReason::Unregistered);
    let expected = [
        ("peer-add", String::new(), None),
        ("group-add", "g1".to_owned(), None),
        ("group-add", "g2".to_owned(), None),
        ("group-remove", "g1".to_owned(), unreg),
        ("group-add", "g3".to_owned(), None),
        ("group-remove", "g2".to_owned(), unreg),
        ("group-remove", "g3".to_owned(), unreg),
    ];
    // The two last group-removes may come in either order; the peer-remove
    // must follow them.
    ensure_eq!(shape[..5], expected[..5], "first five events ({line})");
    let mut tail: Vec<_> = shape[5..].to_vec();
    tail.sort_by(|a, b| a.1.cmp(&b.1));
    ensure_eq!(tail, expected[5..], "group-removes at the end ({line})");
    let last = next_kevent(&monitor)?;
    match last.kind {
        KeventKind::PeerRemove { reason, peer } => {
            ensure_eq!(last.seq, events[6].seq + 1, "peer-remove seq");
            ensure_eq!(reason, RemoveReason::Unregistered, "peer-remove reason");
            ensure_eq!(peer.port, port, "peer-remove port");
        }
        other => return Err(format!("expected peer-remove, got {other:?} ({line})")),
    }
    Ok(())
}

fn anonymous_peer() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let handler = Handler::anonymous().ctx("register")?;
    let port = handler.port();
    drop(handler);
    let events = kevents(&monitor, 2)?;
    match events[0].kind {
        KeventKind::PeerAdd(peer) => {
            ensure!(
                peer.name.is_none(),
                "anonymous peer-add with a name: {}",
                events[0]
            );
            ensure!(
                peer.flags.contains(PeerFlags::ANONYMOUS),
                "flags {:?}",
                peer.flags
            );
            ensure_eq!(peer.port, port, "port");
            ensure_eq!(peer.uid, crate::common::euid(), "uid");
        }
        other => return Err(format!("expected peer-add, got {other:?}")),
    }
    match events[1].kind {
        KeventKind::PeerRemove { peer, reason, .. } => {
            ensure_eq!(peer.port, port, "removed port");
            ensure_eq!(reason, RemoveReason::Unregistered, "reason");
        }
        other => return Err(format!("expected peer-remove, got {other:?}")),
    }
    Ok(())
}

fn sigkill_peer_closed() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let mut helper = Helper::start("hold", &["e2e_k_victim", "ga", "gb"])?;
    let port: u32 = helper.ready()?.parse().ctx("port")?;
    let pid = helper.pid();
    let added = kevents(&monitor, 3)?;
    ensure!(
        matches!(added[0].kind, KeventKind::PeerAdd(peer) if peer.port == port && peer.pid == pid),
        "first event {}",
        added[0]
    );
    ensure!(
        matches!(added[1].kind, KeventKind::GroupAdd { group, .. } if group == "ga"),
        "second {}",
        added[1]
    );
    ensure!(
        matches!(added[2].kind, KeventKind::GroupAdd { group, .. } if group == "gb"),
        "third {}",
        added[2]
    );
    helper.kill();
    let removed = kevents(&monitor, 3)?;
    ensure_eq!(removed[0].seq, added[2].seq + 1, "seq continues");
    let mut groups = Vec::new();
    for event in &removed[..2] {
        match event.kind {
            KeventKind::GroupRemove {
                group,
                reason,
                owner,
                ..
            } => {
                ensure_eq!(reason, RemoveReason::Closed, "reason of {event}");
                ensure_eq!(owner.port, port, "owner of {event}");
                groups.push(group.to_string());
            }
            other => return Err(format!("expected group-remove, got {other:?}")),
        }
    }
    groups.sort();
    ensure_eq!(groups, ["ga", "gb"], "removed groups");
    match removed[2].kind {
        KeventKind::PeerRemove { peer, reason, .. } => {
            ensure_eq!(reason, RemoveReason::Closed, "peer-remove reason");
            ensure_eq!(peer.port, port, "peer-remove port");
            ensure_eq!(name_of(&removed[2]), "e2e_k_victim", "peer-remove name");
        }
        other => return Err(format!("expected peer-remove, got {other:?}")),
    }
    let dir = Directory::open().ctx("directory")?;
    ensure!(
        !dir.is_peer_present("e2e_k_victim").ctx("look up")?,
        "victim still present"
    );
    Ok(())
}

fn sigkill_group_owner() -> TestResult {
    let mut helper = Helper::start("hold", &["e2e_k_owner", "feed"])?;
    let port: u32 = helper.ready()?.parse().ctx("port")?;
    let subs: Vec<Handler> = (0..3)
        .map(|_| PeerOptions::anonymous().kevents(true).open())
        .collect::<Result<_, _>>()
        .ctx("register subscribers")?;
    for sub in &subs {
        sub.join_group("e2e_k_owner", "feed", Replay::LastMessage)
            .ctx("join")?;
    }
    helper.kill();
    let mut msg = Message::new();
    for (i, sub) in subs.iter().enumerate() {
        let mut saw_group_remove = false;
        loop {
            receive(sub, &mut msg).map_err(|e| format!("subscriber {i}: {e}"))?;
            ensure_eq!(
                msg.kind(),
                MessageKind::Kevent,
                "subscriber {i} gets kernel events only"
            );
            match msg.kevent().ctx("kevent")?.kind {
                KeventKind::GroupRemove {
                    group,
                    owner,
                    reason,
                    ..
                } if owner.port == port => {
                    ensure_eq!(group.to_string(), "feed", "group");
                    ensure_eq!(reason, RemoveReason::Closed, "reason");
                    saw_group_remove = true;
                }
                KeventKind::PeerRemove { peer, reason, .. } if peer.port == port => {
                    ensure!(
                        saw_group_remove,
                        "subscriber {i}: peer-remove before group-remove"
                    );
                    ensure_eq!(reason, RemoveReason::Closed, "reason");
                    break;
                }
                _ => {}
            }
        }
        // The membership went with the group: rejoining finds nothing.
        expect_error(
            sub.join_group("e2e_k_owner", "feed", Replay::Skip),
            ErrorKind::NotFound,
            Some(libc::ENOENT),
            "join after the owner died",
        )?;
    }
    Ok(())
}

fn loss_is_counted() -> TestResult {
    // A small queue that is not read while many events happen: the library
    // reports each gap in the sequence as missed events.
    let watcher = PeerOptions::anonymous()
        .recv_buffer(4096)
        .kevents(true)
        .open()
        .ctx("register watcher")?;
    const ROUNDS: u64 = 150;
    for _ in 0..ROUNDS {
        drop(Handler::anonymous().ctx("churn")?);
    }
    let generated = 2 * ROUNDS + 1; // the watcher's own peer-add, then add+remove per round
    let mut msg = Message::new();
    let (mut received, mut missed) = (0u64, 0u64);
    let (mut first, mut last) = (None, 0u64);
    loop {
        match watcher.receive(&mut msg, Wait::Never) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(format!("receive: {e}")),
        }
        let event = msg.kevent().ctx("kevent")?;
        if first.is_some() {
            missed += msg.kevents_missed();
        }
        first.get_or_insert(event.seq);
        ensure!(
            event.seq > last,
            "seq went backwards: {} after {last}",
            event.seq
        );
        last = event.seq;
        received += 1;
    }
    let first = first.ctx("no event received")?;
    ensure!(
        received < generated,
        "the queue never overflowed ({received} events)"
    );
    ensure_eq!(
        received + missed,
        last - first + 1,
        "received + missed covers the seq range"
    );
    ensure!(
        last - first < generated,
        "more events than generated: {first}..{last}"
    );
    // Once drained, events flow again without a gap.
    let probe = Handler::anonymous().ctx("probe")?;
    receive(&watcher, &mut msg)?;
    ensure!(
        matches!(msg.kevent().map(|k| k.kind), Some(KeventKind::PeerAdd(peer)) if peer.port == probe.port()),
        "probe's peer-add: {msg:?}"
    );
    Ok(())
}

fn detect_service() -> TestResult {
    // The tutorial's order: subscribe to events first, then look up, so a
    // service appearing in between is not missed.
    let client = PeerOptions::anonymous()
        .kevents(true)
        .open()
        .ctx("register client")?;
    ensure!(
        !client
            .directory()
            .is_peer_present("e2e_k_service")
            .ctx("look up")?,
        "service present too early"
    );
    let mut service = Helper::start("echo", &["e2e_k_service"])?;
    service.ready()?;
    let mut msg = Message::new();
    let service_port = loop {
        receive(&client, &mut msg)?;
        if let Some(KeventKind::PeerAdd(peer)) = msg.kevent().map(|k| k.kind) {
            if peer.name.is_some_and(|n| n == "e2e_k_service") {
                ensure_eq!(peer.pid, service.pid(), "service pid");
                break peer.port;
            }
        }
    };
    client
        .send_unicast_to_port(service_port, b"hello")
        .ctx("say hello")?;
    let reply = loop {
        receive(&client, &mut msg)?;
        if msg.kind() == MessageKind::Unicast {
            break String::from_utf8_lossy(msg.payload()).into_owned();
        }
    };
    ensure_eq!(reply, "echo:hello", "service reply");
    ensure_eq!(msg.sender().port, service_port, "reply's port");
    service.kill();
    loop {
        receive(&client, &mut msg)?;
        if let Some(KeventKind::PeerRemove { peer, reason, .. }) = msg.kevent().map(|k| k.kind) {
            if peer.port == service_port {
                ensure_eq!(reason, RemoveReason::Closed, "reason");
                break;
            }
        }
    }
    expect_error(
        client.send_unicast_to_port(service_port, b"anyone?"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "send to the removed service's port",
    )?;
    Ok(())
}
