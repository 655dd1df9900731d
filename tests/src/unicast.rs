//! Unicast between peers: by name, by port (anonymous peers), kernel
//! stamps, payload sizes, name uniqueness and release.

use std::time::Duration;

use ipcon_linux::KeventKind;
use ipcon_linux::Wait;
use ipcon_linux::{
    Directory, ErrorKind, Handler, KeventMonitor, Message, MessageKind, PeerFlags, RemoveReason,
};

use crate::common::{euid, expect_error, expect_silence, receive, receive_kind};
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("unicast_by_name_is_stamped", by_name_is_stamped),
    Test::new("unicast_payload_sizes", payload_sizes),
    Test::new("unicast_anonymous_reply_by_port", anonymous_reply_by_port),
    Test::new("unicast_to_missing_peer", to_missing_peer),
    Test::new("unicast_other_process_stamp", other_process_stamp),
    Test::new("name_unique_eexist", name_unique),
    Test::new("name_free_after_drop", name_free_after_drop),
    Test::new("name_free_right_after_sigkill", name_free_after_sigkill),
    Test::new("peer_unregister_explicit", unregister_explicit),
];

fn by_name_is_stamped() -> TestResult {
    let receiver = Handler::new("e2e_u_recv").ctx("register receiver")?;
    let sender = Handler::new("e2e_u_send").ctx("register sender")?;
    sender.send_unicast("e2e_u_recv", b"hello").ctx("send")?;
    let mut msg = Message::new();
    let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "hello", "payload");
    let from = msg.sender();
    ensure_eq!(
        from.name.map(|n| n.to_string()),
        Some("e2e_u_send".to_owned()),
        "sender name"
    );
    ensure_eq!(from.port, sender.port(), "sender port");
    ensure_eq!(from.pid, std::process::id(), "sender pid");
    ensure_eq!(from.uid, euid(), "sender uid");
    ensure_eq!(msg.missed(), 0, "missed");
    ensure!(!msg.replayed(), "a unicast is not a replay");
    ensure!(msg.group().is_none(), "a unicast has no group");
    ensure!(sender.port() != receiver.port(), "two peers share a port");
    // Sending to oneself works too.
    receiver
        .send_unicast("e2e_u_recv", b"self")
        .ctx("send to self")?;
    let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "self", "payload to self");
    ensure_eq!(msg.sender().port, receiver.port(), "self-sent port");
    expect_silence(&receiver, "after two messages")?;
    expect_silence(&sender, "sender's queue")
}

fn payload_sizes() -> TestResult {
    let receiver = Handler::new("e2e_u_sizes").ctx("register")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut msg = Message::new();
    for len in [0usize, 1, 3, 4, 255, 1024, 2047, 2048] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        sender
            .send_unicast("e2e_u_sizes", &payload)
            .ctx(&format!("send {len} bytes"))?;
        receive(&receiver, &mut msg)?;
        ensure_eq!(
            msg.kind(),
            MessageKind::Unicast,
            "kind of the {len}-byte message"
        );
        ensure!(
            msg.payload() == payload.as_slice(),
            "{len}-byte payload differs"
        );
    }
    let too_big = vec![0u8; 2049];
    expect_error(
        sender.send_unicast("e2e_u_sizes", &too_big),
        ErrorKind::TooBig,
        None,
        "2049 bytes",
    )?;
    expect_silence(&receiver, "after the refused message")
}

fn anonymous_reply_by_port() -> TestResult {
    let server = Handler::new("e2e_u_server").ctx("register server")?;
    let client = Handler::anonymous().ctx("register anonymous client")?;
    ensure!(client.name().is_none(), "an anonymous handler has no name");
    client
        .send_unicast("e2e_u_server", b"question")
        .ctx("ask")?;
    let mut msg = Message::new();
    let text = receive_kind(&server, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "question", "question");
    ensure!(
        msg.sender().name.is_none(),
        "anonymous sender has a name: {:?}",
        msg.sender()
    );
    ensure_eq!(msg.sender().port, client.port(), "anonymous sender's port");
    let info = server
        .directory()
        .peer_by_port(client.port())
        .ctx("look up by port")?;
    ensure!(
        info.peer.flags.contains(PeerFlags::ANONYMOUS),
        "flags {:?}",
        info.peer.flags
    );
    ensure!(
        info.peer.name.is_none(),
        "anonymous peer listed with name {:?}",
        info.peer.name
    );
    server
        .send_unicast_to_port(msg.sender().port, b"answer")
        .ctx("answer by port")?;
    let text = receive_kind(&client, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "answer", "answer");
    ensure_eq!(
        msg.sender().name.map(|n| n.to_string()),
        Some("e2e_u_server".into()),
        "answer's sender"
    );
    // Two anonymous peers at once are fine; each is its own port.
    let second = Handler::anonymous().ctx("second anonymous peer")?;
    ensure!(
        second.port() != client.port(),
        "anonymous peers share a port"
    );
    Ok(())
}

fn to_missing_peer() -> TestResult {
    let sender = Handler::anonymous().ctx("register")?;
    let err = expect_error(
        sender.send_unicast("e2e_nobody", b"x"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "to a missing name",
    )?;
    ensure!(
        err.kernel_message().is_some(),
        "no extended-ACK text: {err}"
    );
    // A port that is no peer's (this handler's own control socket is not a
    // data port, and port 1 is nobody's).
    expect_error(
        sender.send_unicast_to_port(1, b"x"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "to port 1",
    )?;
    let dir = Directory::open().ctx("directory")?;
    ensure!(
        !dir.is_peer_present("e2e_nobody").ctx("look up")?,
        "a missing peer is present"
    );
    expect_error(
        dir.peer("e2e_nobody"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "peer-get",
    )?;
    Ok(())
}

fn other_process_stamp() -> TestResult {
    let receiver = Handler::new("e2e_u_stamp").ctx("register")?;
    let mut helper = Helper::start("send", &["e2e_u_stamp", "3"])?;
    let port: u32 = helper.ready()?.parse().ctx("helper port")?;
    helper.expect("done", Duration::from_secs(10))?;
    let mut msg = Message::new();
    for i in 0..3 {
        let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
        ensure_eq!(text, format!("{}:{i}", helper.pid()), "message {i}");
        ensure_eq!(msg.sender().pid, helper.pid(), "stamped pid");
        ensure_eq!(msg.sender().port, port, "stamped port");
    }
    helper.wait(Duration::from_secs(5))?;
    Ok(())
}

fn name_unique() -> TestResult {
    let _first = Handler::new("e2e_u_dup").ctx("first registration")?;
    let err = expect_error(
        Handler::new("e2e_u_dup"),
        ErrorKind::AlreadyExists,
        Some(libc::EEXIST),
        "second registration",
    )?;
    ensure!(
        err.kernel_message().is_some(),
        "no extended-ACK text: {err}"
    );
    // The failed attempt left no trace: exactly one peer has the name.
    let dir = Directory::open().ctx("directory")?;
    let count = dir
        .peers()
        .ctx("list")?
        .iter()
        .filter(|p| p.peer.name.is_some_and(|n| n == "e2e_u_dup"))
        .count();
    ensure_eq!(count, 1, "peers named e2e_u_dup");
    Ok(())
}

fn name_free_after_drop() -> TestResult {
    let dir = Directory::open().ctx("directory")?;
    for round in 0..3 {
        let handler = Handler::new("e2e_u_reuse").ctx(&format!("register, round {round}"))?;
        ensure!(
            dir.is_peer_present("e2e_u_reuse").ctx("look up")?,
            "not present after register"
        );
        drop(handler);
        ensure!(
            !dir.is_peer_present("e2e_u_reuse").ctx("look up")?,
            "present after drop"
        );
    }
    Ok(())
}

fn name_free_after_sigkill() -> TestResult {
    let dir = Directory::open().ctx("directory")?;
    let mut helper = Helper::start("hold", &["e2e_u_victim", "victim_group"])?;
    let port: u32 = helper.ready()?.parse().ctx("helper port")?;
    let info = dir.peer("e2e_u_victim").ctx("look up the victim")?;
    ensure_eq!(info.peer.port, port, "victim's port");
    ensure_eq!(info.peer.pid, helper.pid(), "victim's pid");
    ensure_eq!(info.groups, 1, "victim's groups");
    helper.kill();
    // No retry: once the process is reaped its sockets are released.
    ensure!(
        !dir.is_peer_present("e2e_u_victim").ctx("look up")?,
        "still present after SIGKILL"
    );
    ensure!(
        dir.group("e2e_u_victim", "victim_group")
            .ctx("group look-up")?
            .is_none(),
        "group survived its owner"
    );
    let again = Handler::new("e2e_u_victim").ctx("re-register the name right after SIGKILL")?;
    again
        .register_group("victim_group")
        .ctx("re-register the group")?;
    Ok(())
}

fn unregister_explicit() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let handler = Handler::new("e2e_u_unreg").ctx("register")?;
    handler.register_group("g").ctx("group")?;
    let port = handler.port();
    handler.unregister().ctx("unregister")?;
    let events = crate::common::kevents(&monitor, 4)?;
    let shape: Vec<String> = events.iter().map(ToString::to_string).collect();
    ensure!(
        matches!(events[0].kind, KeventKind::PeerAdd(peer) if peer.port == port),
        "{shape:?}"
    );
    ensure!(
        matches!(events[1].kind, KeventKind::GroupAdd { .. }),
        "{shape:?}"
    );
    ensure!(
        matches!(
            events[2].kind,
            KeventKind::GroupRemove {
                reason: RemoveReason::Unregistered,
                ..
            }
        ),
        "{shape:?}"
    );
    ensure!(
        matches!(events[3].kind, KeventKind::PeerRemove { reason: RemoveReason::Unregistered, peer, .. } if peer.port == port),
        "{shape:?}"
    );
    // Every later request says the peer is gone.
    let gone = |result: Result<(), ipcon_linux::Error>, what: &str| {
        expect_error(result, ErrorKind::NotRegistered, Some(libc::ENOTCONN), what).map(drop)
    };
    gone(
        handler.send_unicast("e2e_u_unreg", b"x"),
        "unicast after unregister",
    )?;
    gone(
        handler.register_group("h"),
        "group register after unregister",
    )?;
    gone(
        handler.send_multicast("g", b"x"),
        "multicast after unregister",
    )?;
    gone(handler.unregister(), "unregister twice")?;
    // The name is free at once, and dropping the old handler adds no event.
    let again = Handler::new("e2e_u_unreg").ctx("register the name again")?;
    drop(handler);
    let next = crate::common::next_kevent(&monitor)?;
    ensure!(
        matches!(next.kind, KeventKind::PeerAdd(peer) if peer.port == again.port()),
        "the next event should be the new peer-add: {next}"
    );
    ensure_eq!(next.seq, events[3].seq + 1, "seq");
    let mut msg = Message::new();
    match monitor.receive(&mut msg, Wait::Timeout(crate::common::QUIET)) {
        Err(e) if e.kind() == ErrorKind::Timeout => Ok(()),
        other => Err(format!(
            "an event after dropping an unregistered handler: {other:?} {msg:?}"
        )),
    }
}
