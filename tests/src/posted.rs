//! Posted sends: one system call per message, no ACK; a failure comes back
//! to the sender's data socket as a send-failed message with the ticket, and
//! a notice that cannot be queued shows as `missed` (never silent).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_linux::PeerRef as WirePeerRef;
use ipcon_linux::{Error, ErrorKind, Handler, Message, MessageKind, PeerOptions, Ticket};
use ipcon_linux::{Replay, Wait};

use crate::common::{
    expect_error, expect_silence, module_param, receive, receive_kind, QUIET, SOON,
};
use crate::harness::{note, Context, Test, TestResult};
use crate::limits::raw_request;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{attr, cmd, MsgBuilder, RawSocket, NLM_F_REQUEST};

pub const TESTS: &[Test] = &[
    Test::new(
        "posted_unicast_delivered_stamped",
        unicast_delivered_stamped,
    ),
    Test::new("posted_unicast_missing_peer_notice", unicast_missing_peer),
    Test::new("posted_unicast_queue_full_notices", unicast_queue_full).timeout(60),
    Test::new(
        "posted_notice_lost_counts_missed",
        notice_lost_counts_missed,
    )
    .timeout(60),
    Test::new("posted_payload_too_big", payload_too_big),
    Test::new("posted_after_unregister_error_ack", after_unregister),
    Test::new("posted_multicast", multicast),
    Test::new("posted_ticket_with_sync_einval", ticket_with_sync_einval),
    Test::new("posted_while_receiving", post_while_receiving),
    Test::new("posted_ping_pong", ping_pong).timeout(90),
];

/// `IPCON_A_SYNC` and `IPCON_A_TICKET` (`kmod/ipcon.yaml`).
const ATTR_SYNC: u16 = 10;
const ATTR_TICKET: u16 = 27;

/// A receive queue this small fills after a handful of messages.
const SMALL_QUEUE: usize = 4096;

/// Receives the next message, which must be the failure notice of
/// `ticket` with an error of `kind` (and `errno`, and a kernel text
/// containing `text`, when given); the error.
fn expect_notice(
    sender: &Handler,
    msg: &mut Message,
    ticket: Ticket,
    kind: ErrorKind,
    errno: Option<i32>,
    text: Option<&str>,
) -> Result<Error, String> {
    receive(sender, msg)?;
    ensure_eq!(msg.kind(), MessageKind::SendFailed, "kind of {msg:?}");
    ensure_eq!(msg.ticket(), Some(ticket), "ticket");
    let err = expect_error::<()>(
        Err(ipcon_linux::Error::from_send_failed(msg).ctx("send error")?),
        kind,
        errno,
        "send error of the notice",
    )?;
    if let Some(text) = text {
        ensure!(
            err.kernel_message().is_some_and(|m| m.contains(text)),
            "kernel text: {err}"
        );
    }
    Ok(err)
}

fn unicast_delivered_stamped() -> TestResult {
    let receiver = Handler::new("e2e_p_recv").ctx("register receiver")?;
    let sender = Handler::new("e2e_p_send").ctx("register sender")?;
    let first = sender.post_unicast("e2e_p_recv", b"by name").ctx("post")?;
    let second = sender
        .post_unicast_to_port(receiver.port(), b"by port")
        .ctx("post to port")?;
    ensure!(first.get() != 0 && second.get() != 0, "tickets are nonzero");
    ensure!(first != second, "tickets differ");
    let mut msg = Message::new();
    for expected in ["by name", "by port"] {
        let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
        ensure_eq!(text, expected, "payload");
        let from = msg.sender();
        ensure_eq!(
            from.name.map(|n| n.to_string()),
            Some("e2e_p_send".to_owned()),
            "sender name"
        );
        ensure_eq!(from.port, sender.port(), "sender port");
        ensure_eq!(from.pid, std::process::id(), "sender pid");
        ensure!(msg.ticket().is_none(), "a delivery has no ticket");
        ensure!(
            ipcon_linux::Error::from_send_failed(&msg).is_none(),
            "a delivery has no send error"
        );
    }
    // A successful posted send produces nothing for the sender.
    expect_silence(&sender, "sender after successful posts")?;
    expect_silence(&receiver, "receiver after two messages")?;
    let counted = sender.directory().peer("e2e_p_send").ctx("peer info")?;
    ensure_eq!(counted.tx_msgs, 2, "tx_msgs counts posted sends");
    Ok(())
}

fn unicast_missing_peer() -> TestResult {
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut msg = Message::new();

    let ticket = sender.post_unicast("e2e_p_nobody", b"x").ctx("post")?;
    expect_notice(
        &sender,
        &mut msg,
        ticket,
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        Some("no such peer"),
    )?;
    ensure!(
        matches!(msg.target(), Some(WirePeerRef::Name(n)) if n == "e2e_p_nobody"),
        "target {:?}",
        msg.target()
    );
    ensure!(msg.group().is_none(), "a unicast notice names no group");
    ensure_eq!(msg.missed(), 0, "missed");

    // By port: a port no peer has (the sender's port plus a large odd offset).
    let port = sender.port().wrapping_add(0x4000_0001);
    let ticket = sender
        .post_unicast_to_port(port, b"y")
        .ctx("post to port")?;
    expect_notice(&sender, &mut msg, ticket, ErrorKind::NotFound, None, None)?;
    ensure_eq!(
        msg.target(),
        Some(&WirePeerRef::Port(port)),
        "target by port"
    );
    expect_silence(&sender, "one notice per failed post")
}

fn unicast_queue_full() -> TestResult {
    const POSTS: u32 = 300;
    let receiver = PeerOptions::named("e2e_p_full")
        .and_then(|o| o.recv_buffer(SMALL_QUEUE).open())
        .ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut tickets = BTreeSet::new();
    for i in 0..POSTS {
        let ticket = sender
            .post_unicast("e2e_p_full", format!("{i}").as_bytes())
            .ctx("post")?;
        tickets.insert(ticket.get());
    }
    ensure_eq!(tickets.len(), POSTS as usize, "tickets are distinct");

    // Every refused message comes back as a queue-full notice ...
    let mut msg = Message::new();
    let mut refused = BTreeSet::new();
    loop {
        match sender.receive(&mut msg, Wait::Timeout(QUIET)) {
            Err(e) if e.kind() == ErrorKind::Timeout => break,
            Err(e) => return Err(format!("receive a notice: {e}")),
            Ok(()) => {}
        }
        ensure_eq!(msg.kind(), MessageKind::SendFailed, "sender got {msg:?}");
        let err = ipcon_linux::Error::from_send_failed(&msg).ctx("send error")?;
        ensure_eq!(err.kind(), ErrorKind::QueueFull, "kind ({err})");
        ensure_eq!(err.errno(), Some(libc::EAGAIN), "errno");
        ensure!(
            err.kernel_message().is_some_and(|m| m.contains("full")),
            "kernel text: {err}"
        );
        ensure_eq!(msg.missed(), 0, "the sender missed nothing");
        let ticket = msg.ticket().ctx("ticket")?.get();
        ensure!(tickets.contains(&ticket), "unknown ticket {ticket}");
        ensure!(refused.insert(ticket), "two notices for ticket {ticket}");
    }
    ensure!(!refused.is_empty(), "the receiver's queue never filled");

    // ... and every other one was delivered, in order.
    let mut delivered = 0u32;
    let mut last: Option<u32> = None;
    loop {
        match receiver.receive(&mut msg, Wait::Timeout(QUIET)) {
            Err(e) if e.kind() == ErrorKind::Timeout => break,
            Err(e) => return Err(format!("receive: {e}")),
            Ok(()) => {}
        }
        ensure_eq!(msg.kind(), MessageKind::Unicast, "receiver got {msg:?}");
        let index: u32 = msg.payload_str().unwrap_or("").parse().ctx("payload")?;
        ensure!(
            last.map_or(true, |l| index > l),
            "order: {index} after {last:?}"
        );
        last = Some(index);
        delivered += 1;
    }
    note(&format!(
        "{POSTS} posted: {delivered} delivered, {} refused with a notice",
        refused.len()
    ));
    ensure_eq!(
        delivered + refused.len() as u32,
        POSTS,
        "delivered + notices == posted"
    );
    Ok(())
}

fn notice_lost_counts_missed() -> TestResult {
    const POSTS: u32 = 200;
    let sender = PeerOptions::named("e2e_p_small")
        .and_then(|o| o.recv_buffer(SMALL_QUEUE).open())
        .ctx("register sender")?;
    let other = Handler::anonymous().ctx("register other")?;
    for _ in 0..POSTS {
        sender.post_unicast("e2e_p_nobody", b"lost").ctx("post")?;
    }
    // The sender's own small queue holds some notices; the others are
    // counted as missed and reported by its next delivery.
    let mut msg = Message::new();
    let mut notices = 0u32;
    let mut missed = 0u32;
    loop {
        match sender.receive(&mut msg, Wait::Timeout(QUIET)) {
            Err(e) if e.kind() == ErrorKind::Timeout => break,
            Err(e) => return Err(format!("receive a notice: {e}")),
            Ok(()) => {}
        }
        ensure_eq!(msg.kind(), MessageKind::SendFailed, "sender got {msg:?}");
        missed += msg.missed();
        notices += 1;
    }
    ensure!(
        notices < POSTS,
        "all {POSTS} notices fitted a {SMALL_QUEUE}-byte queue"
    );
    other
        .send_unicast("e2e_p_small", b"next")
        .ctx("send the next delivery")?;
    let text = receive_kind(&sender, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "next", "payload");
    missed += msg.missed();
    note(&format!(
        "{POSTS} failed posts: {notices} notices queued, {missed} reported missed"
    ));
    ensure!(
        msg.missed() >= 1,
        "the next delivery reports the lost notices"
    );
    ensure_eq!(notices + missed, POSTS, "notices + missed == failed posts");
    let info = other.directory().peer("e2e_p_small").ctx("peer info")?;
    ensure_eq!(
        info.rx_dropped,
        u64::from(POSTS - notices),
        "rx_dropped counts the lost notices"
    );
    Ok(())
}

fn payload_too_big() -> TestResult {
    let receiver = Handler::new("e2e_p_big").ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    // Over the protocol maximum: refused before anything is sent.
    expect_error(
        sender.post_unicast("e2e_p_big", &[0u8; 2049]),
        ErrorKind::TooBig,
        None,
        "2049 bytes",
    )?;
    expect_silence(&sender, "nothing was sent")?;
    // Over a lowered max_payload (cargo xtask vm --params max_payload=N):
    // refused by the module, reported by a notice.
    let limit = module_param("max_payload")? as usize;
    if limit < 2048 {
        let ticket = sender
            .post_unicast("e2e_p_big", &vec![0u8; limit + 1])
            .ctx("post")?;
        let mut msg = Message::new();
        let err = expect_notice(
            &sender,
            &mut msg,
            ticket,
            ErrorKind::TooBig,
            Some(libc::EMSGSIZE),
            Some("max_payload"),
        )?;
        note(&format!("max_payload={limit}: notice {err}"));
    }
    expect_silence(&receiver, "nothing oversized arrives")
}

fn after_unregister() -> TestResult {
    let handler = Handler::new("e2e_p_gone").ctx("register")?;
    handler.unregister().ctx("unregister")?;
    // The peer's session is over: the post fails at once, nothing is sent.
    expect_error(
        handler.post_unicast("e2e_p_gone", b"x"),
        ErrorKind::NotRegistered,
        Some(libc::ENOTCONN),
        "post after unregister",
    )?;
    expect_silence(&handler, "nothing sent after unregister")?;
    // What the kernel answers a post from a socket that is no peer's (the
    // library's handler would see it if the kernel forgot the peer first):
    // an error ACK with the ticket as its sequence number, which ipcon-core's
    // Inbox turns into a send-failed delivery (its unit tests).
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let mut post = MsgBuilder::new();
    post.begin(family, NLM_F_REQUEST, 41, cmd::UNICAST, 1)
        .attr_str(attr::PEER_NAME, "e2e_p_gone")
        .attr(attr::PAYLOAD, b"x")
        .attr(ATTR_TICKET, &41u32.to_ne_bytes());
    let ack = raw.request(post.finish(), 41, |_, _| {})?;
    ensure_eq!(
        ack.errno,
        libc::ENOTCONN,
        "a post from no peer ({:?})",
        ack.message
    );
    ensure!(
        ack.message
            .as_deref()
            .is_some_and(|m| m.contains("not a registered peer")),
        "kernel text {:?}",
        ack.message
    );
    Ok(())
}

fn multicast() -> TestResult {
    let owner = Handler::new("e2e_p_owner").ctx("register owner")?;
    owner.register_group("e2e_p_news").ctx("register group")?;
    let subs = [
        Handler::anonymous().ctx("register sub 1")?,
        Handler::anonymous().ctx("register sub 2")?,
    ];
    for sub in &subs {
        sub.join_group("e2e_p_owner", "e2e_p_news", Replay::Skip)
            .ctx("join")?;
    }
    owner.post_multicast("e2e_p_news", b"hi all").ctx("post")?;
    let mut msg = Message::new();
    for sub in &subs {
        let text = receive_kind(sub, &mut msg, MessageKind::Group)?;
        ensure_eq!(text, "hi all", "payload");
        ensure_eq!(msg.sender().port, owner.port(), "publisher port");
        ensure_eq!(
            msg.group().map(|g| g.to_string()),
            Some("e2e_p_news".to_owned()),
            "group"
        );
    }
    expect_silence(&owner, "owner after a successful post")?;

    let ticket = owner.post_multicast("e2e_p_none", b"x").ctx("post")?;
    expect_notice(
        &owner,
        &mut msg,
        ticket,
        ErrorKind::NotFound,
        None,
        Some("no such group"),
    )?;
    ensure_eq!(
        msg.group().map(|g| g.to_string()),
        Some("e2e_p_none".to_owned()),
        "notice names the group"
    );
    for sub in &subs {
        expect_silence(sub, "subscriber after a failed post")?;
    }
    Ok(())
}

fn ticket_with_sync_einval() -> TestResult {
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let ack = raw_request(&raw, family, 1, cmd::PEER_REGISTER, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_p_raw")
    })?;
    ensure_eq!(ack.errno, 0, "register ({:?})", ack.message);
    let ack = raw_request(&raw, family, 2, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, "e2e_p_rawg")
    })?;
    ensure_eq!(ack.errno, 0, "register group ({:?})", ack.message);
    let ack = raw_request(&raw, family, 3, cmd::MULTICAST, |b| {
        b.attr_str(attr::GROUP_NAME, "e2e_p_rawg")
            .attr(attr::PAYLOAD, b"x")
            .attr(ATTR_SYNC, &[])
            .attr(ATTR_TICKET, &7u32.to_ne_bytes())
    })?;
    ensure_eq!(
        ack.errno,
        libc::EINVAL,
        "ticket with sync ({:?})",
        ack.message
    );
    ensure!(
        ack.message.as_deref().is_some_and(|m| m.contains("ticket")),
        "kernel text {:?}",
        ack.message
    );
    // Without sync the same request is posted: no answer at all.
    let ack = raw_request(&raw, family, 4, cmd::MULTICAST, |b| {
        b.attr_str(attr::GROUP_NAME, "e2e_p_rawg")
            .attr(attr::PAYLOAD, b"x")
            .attr(ATTR_TICKET, &8u32.to_ne_bytes())
    })?;
    ensure_eq!(ack.errno, 0, "posted multicast ({:?})", ack.message);
    Ok(())
}

fn post_while_receiving() -> TestResult {
    let handler = Arc::new(Handler::new("e2e_p_self").ctx("register")?);
    let receiving = Arc::clone(&handler);
    let thread = std::thread::spawn(move || {
        let mut msg = Message::new();
        receiving
            .receive(&mut msg, Wait::Timeout(SOON))
            .map(|()| (msg.kind(), msg.payload().to_vec()))
    });
    // Let the thread block in its receive first.
    std::thread::sleep(Duration::from_millis(100));
    handler.post_unicast("e2e_p_self", b"to me").ctx("post")?;
    let (kind, payload) = thread
        .join()
        .map_err(|_| "receiving thread panicked".to_owned())?
        .ctx("receive in the other thread")?;
    ensure_eq!(kind, MessageKind::Unicast, "kind");
    ensure_eq!(payload, b"to me".to_vec(), "payload");
    Ok(())
}

fn ping_pong() -> TestResult {
    const ROUNDS: u32 = 500;
    let server = Handler::new("e2e_p_echo").ctx("register server")?;
    let client = Handler::anonymous().ctx("register client")?;
    let echo = std::thread::spawn(move || -> TestResult {
        let mut msg = Message::new();
        // Replies as the client asks: waiting sends first, then posted.
        for i in 0..2 * ROUNDS {
            server
                .receive(&mut msg, Wait::Timeout(SOON))
                .ctx("server receive")?;
            ensure_eq!(msg.kind(), MessageKind::Unicast, "server got {msg:?}");
            let to = msg.sender().port;
            if i < ROUNDS {
                server
                    .send_unicast_to_port(to, msg.payload())
                    .ctx("reply")?;
            } else {
                server
                    .post_unicast_to_port(to, msg.payload())
                    .ctx("post reply")?;
            }
        }
        expect_silence(&server, "server: no notices")
    });
    let mut msg = Message::new();
    let mut run = |posted: bool| -> Result<Duration, String> {
        let start = Instant::now();
        for i in 0..ROUNDS {
            let payload = i.to_ne_bytes();
            if posted {
                client.post_unicast("e2e_p_echo", &payload).ctx("post")?;
            } else {
                client.send_unicast("e2e_p_echo", &payload).ctx("send")?;
            }
            client
                .receive(&mut msg, Wait::Timeout(SOON))
                .ctx("client receive")?;
            ensure_eq!(msg.kind(), MessageKind::Unicast, "client got {msg:?}");
            ensure_eq!(msg.payload(), &payload[..], "echo of round {i}");
        }
        Ok(start.elapsed() / ROUNDS)
    };
    let waiting = run(false)?;
    let posted = run(true)?;
    echo.join()
        .map_err(|_| "echo thread panicked".to_owned())??;
    note(&format!(
        "round trip (TCG, slub_debug): waiting sends {waiting:?}, posted {posted:?}"
    ));
    expect_silence(&client, "client: no notices")
}
