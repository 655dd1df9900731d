//! Groups: register, join, leave, multicast (sync and async), last-message
//! replay, fan-out to many subscribers, removal while subscribed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_linux::KeventKind;
use ipcon_linux::{Directory, ErrorKind, Handler, Message, MessageKind, PeerOptions, RemoveReason};
use ipcon_linux::{Replay, Wait};

use crate::common::{expect_error, expect_silence, receive, receive_kind};
use crate::harness::{Context, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("group_multicast_is_stamped", multicast_is_stamped),
    Test::new("group_join_leave", join_leave),
    Test::new("group_replay_last_message", replay_last_message),
    Test::new("group_no_replay_unless_asked", no_replay_unless_asked),
    Test::new("group_errors", errors),
    Test::new("group_sync_and_async_multicast", sync_and_async),
    Test::new("group_fanout_32_subscribers_in_order", fanout_32_in_order).timeout(60),
    Test::new(
        "group_unregister_tells_subscribers",
        unregister_tells_subscribers,
    ),
    Test::new("group_replay_races_publisher", replay_races_publisher).timeout(60),
];

fn multicast_is_stamped() -> TestResult {
    let owner = Handler::new("e2e_g_owner").ctx("register owner")?;
    owner.register_group("news").ctx("register group")?;
    let sub = Handler::anonymous().ctx("register subscriber")?;
    sub.join_group("e2e_g_owner", "news", Replay::Skip)
        .ctx("join")?;
    owner.send_multicast("news", b"headline").ctx("multicast")?;
    let mut msg = Message::new();
    let text = receive_kind(&sub, &mut msg, MessageKind::Group)?;
    ensure_eq!(text, "headline", "payload");
    ensure_eq!(
        msg.group().map(|g| g.to_string()),
        Some("news".to_owned()),
        "group"
    );
    ensure_eq!(
        msg.sender().name.map(|n| n.to_string()),
        Some("e2e_g_owner".to_owned()),
        "sender"
    );
    ensure_eq!(msg.sender().port, owner.port(), "sender port");
    ensure_eq!(msg.sender().pid, std::process::id(), "sender pid");
    ensure!(!msg.replayed(), "a live message marked replayed");
    ensure_eq!(msg.missed(), 0, "missed");
    // The owner is not its own subscriber.
    expect_silence(&owner, "owner's queue")?;
    expect_silence(&sub, "after one message")
}

fn join_leave() -> TestResult {
    let owner = Handler::new("e2e_g_jl").ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    let sub = Handler::anonymous().ctx("register subscriber")?;
    let dir = Directory::open().ctx("directory")?;
    let subscribers = |what: &str| -> Result<u32, String> {
        Ok(dir.group("e2e_g_jl", "g").ctx(what)?.ctx(what)?.subscribers)
    };
    ensure_eq!(subscribers("before join")?, 0, "subscribers before join");
    sub.join_group("e2e_g_jl", "g", Replay::Skip).ctx("join")?;
    ensure_eq!(subscribers("after join")?, 1, "subscribers after join");
    owner.send_multicast("g", b"one").ctx("multicast one")?;
    let mut msg = Message::new();
    ensure_eq!(
        receive_kind(&sub, &mut msg, MessageKind::Group)?,
        "one",
        "first"
    );
    sub.leave_group("e2e_g_jl", "g").ctx("leave")?;
    ensure_eq!(subscribers("after leave")?, 0, "subscribers after leave");
    let report = owner
        .send_multicast_sync("g", b"two")
        .ctx("multicast two")?;
    ensure_eq!(
        (report.delivered, report.dropped),
        (0, 0),
        "report after leave"
    );
    expect_silence(&sub, "after leaving")?;
    expect_error(
        sub.leave_group("e2e_g_jl", "g"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "leave twice",
    )?;
    // Rejoin: delivery resumes.
    sub.join_group("e2e_g_jl", "g", Replay::Skip)
        .ctx("rejoin")?;
    owner.send_multicast("g", b"three").ctx("multicast three")?;
    ensure_eq!(
        receive_kind(&sub, &mut msg, MessageKind::Group)?,
        "three",
        "after rejoin"
    );
    Ok(())
}

fn replay_last_message() -> TestResult {
    let owner = Handler::new("e2e_g_replay").ctx("register owner")?;
    owner.register_group("state").ctx("register group")?;
    owner
        .send_multicast("state", b"inserted")
        .ctx("first state")?;
    owner
        .send_multicast("state", b"removed")
        .ctx("second state")?;
    let dir = Directory::open().ctx("directory")?;
    let info = dir
        .group("e2e_g_replay", "state")
        .ctx("group")?
        .ctx("group")?;
    ensure_eq!(info.last_msg_len, Some(7), "cached last message length");
    ensure_eq!(info.tx_msgs, 2, "group tx");

    let sub = Handler::anonymous().ctx("register subscriber")?;
    sub.join_group("e2e_g_replay", "state", Replay::LastMessage)
        .ctx("join with replay")?;
    // The replay is queued before join returns: no waiting needed.
    let mut msg = Message::new();
    sub.receive(&mut msg, Wait::Never)
        .ctx("the replay is queued when join returns")?;
    ensure_eq!(msg.kind(), MessageKind::Group, "replay kind");
    ensure_eq!(
        msg.payload(),
        b"removed",
        "replayed payload is the last one"
    );
    ensure!(msg.replayed(), "replay not marked replayed");
    ensure_eq!(
        msg.sender().port,
        owner.port(),
        "replay keeps the owner's stamp"
    );
    ensure_eq!(
        msg.sender().name.map(|n| n.to_string()),
        Some("e2e_g_replay".into()),
        "replay sender"
    );
    ensure_eq!(
        msg.group().map(|g| g.to_string()),
        Some("state".into()),
        "replay group"
    );

    owner
        .send_multicast("state", b"inserted")
        .ctx("third state")?;
    ensure_eq!(
        receive_kind(&sub, &mut msg, MessageKind::Group)?,
        "inserted",
        "live after replay"
    );
    ensure!(!msg.replayed(), "live message marked replayed");
    expect_silence(&sub, "after replay + one live message")?;

    // A later joiner gets the newest message, once.
    let late = Handler::anonymous().ctx("register late subscriber")?;
    late.join_group("e2e_g_replay", "state", Replay::LastMessage)
        .ctx("late join")?;
    ensure_eq!(
        receive_kind(&late, &mut msg, MessageKind::Group)?,
        "inserted",
        "late replay"
    );
    ensure!(msg.replayed(), "late replay not marked");
    expect_silence(&late, "after the late replay")
}

fn no_replay_unless_asked() -> TestResult {
    let owner = Handler::new("e2e_g_noreplay").ctx("register owner")?;
    owner.register_group("state").ctx("register group")?;
    // No message yet: asking for a replay gives nothing.
    let early = Handler::anonymous().ctx("register early subscriber")?;
    early
        .join_group("e2e_g_noreplay", "state", Replay::LastMessage)
        .ctx("join empty group with replay")?;
    expect_silence(&early, "replay of a group without messages")?;
    owner.send_multicast("state", b"on").ctx("publish")?;
    let mut msg = Message::new();
    ensure_eq!(
        receive_kind(&early, &mut msg, MessageKind::Group)?,
        "on",
        "live message"
    );
    ensure!(!msg.replayed(), "live message marked replayed");
    // Joining without asking: no replay of "on".
    let plain = Handler::anonymous().ctx("register plain subscriber")?;
    plain
        .join_group("e2e_g_noreplay", "state", Replay::Skip)
        .ctx("join without replay")?;
    expect_silence(&plain, "join without replay")?;
    owner.send_multicast("state", b"off").ctx("publish again")?;
    ensure_eq!(
        receive_kind(&plain, &mut msg, MessageKind::Group)?,
        "off",
        "next live message"
    );
    ensure!(!msg.replayed(), "marked replayed");
    Ok(())
}

fn errors() -> TestResult {
    let owner = Handler::new("e2e_g_err_owner").ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    let other = Handler::new("e2e_g_err_other").ctx("register other")?;
    expect_error(
        owner.register_group("g"),
        ErrorKind::AlreadyExists,
        Some(libc::EEXIST),
        "register the same group twice",
    )?;
    // Another peer may use the same group name for its own group.
    other
        .register_group("g")
        .ctx("same group name, other owner")?;
    expect_error(
        other.join_group("e2e_g_nobody", "g", Replay::Skip),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "join a group of a missing owner",
    )?;
    expect_error(
        other.join_group("e2e_g_err_owner", "nothing", Replay::Skip),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "join a missing group",
    )?;
    other
        .join_group("e2e_g_err_owner", "g", Replay::Skip)
        .ctx("join")?;
    expect_error(
        other.join_group("e2e_g_err_owner", "g", Replay::Skip),
        ErrorKind::AlreadyExists,
        Some(libc::EALREADY),
        "join twice",
    )?;
    // Publishing or unregistering acts on the sender's own groups only.
    expect_error(
        other.send_multicast("nothing", b"x"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "publish to a group nobody has",
    )?;
    let stranger = Handler::anonymous().ctx("register stranger")?;
    expect_error(
        stranger.send_multicast("g", b"x"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "publish to another peer's group",
    )?;
    expect_error(
        stranger.unregister_group("g"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "unregister another peer's group",
    )?;
    expect_silence(&other, "nothing was published to e2e_g_err_owner/g")?;
    let dir = Directory::open().ctx("directory")?;
    ensure!(
        dir.group("e2e_g_err_owner", "g").ctx("look up")?.is_some(),
        "the group survived"
    );
    expect_error(
        owner.unregister_group("nothing"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "unregister a missing group",
    )?;
    Ok(())
}

fn sync_and_async() -> TestResult {
    let owner = Handler::new("e2e_g_sync").ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    let report = owner
        .send_multicast_sync("g", b"nobody")
        .ctx("sync, no subscribers")?;
    ensure_eq!(
        (report.delivered, report.dropped),
        (0, 0),
        "report without subscribers"
    );
    owner
        .send_multicast("g", b"nobody")
        .ctx("async, no subscribers")?;
    let subs: Vec<Handler> = (0..3)
        .map(|_| Handler::anonymous())
        .collect::<Result<_, _>>()
        .ctx("register subscribers")?;
    for sub in &subs {
        sub.join_group("e2e_g_sync", "g", Replay::Skip)
            .ctx("join")?;
    }
    let report = owner
        .send_multicast_sync("g", b"sync")
        .ctx("sync multicast")?;
    ensure_eq!((report.delivered, report.dropped), (3, 0), "sync report");
    owner.send_multicast("g", b"async").ctx("async multicast")?;
    let mut msg = Message::new();
    for (i, sub) in subs.iter().enumerate() {
        ensure_eq!(
            receive_kind(sub, &mut msg, MessageKind::Group)?,
            "sync",
            "subscriber {i} first"
        );
        ensure_eq!(
            receive_kind(sub, &mut msg, MessageKind::Group)?,
            "async",
            "subscriber {i} second"
        );
        expect_silence(sub, "after two messages")?;
    }
    Ok(())
}

fn fanout_32_in_order() -> TestResult {
    const SUBSCRIBERS: usize = 32;
    const MESSAGES: u32 = 100;
    let owner = Handler::new("e2e_g_fanout").ctx("register owner")?;
    owner.register_group("wide").ctx("register group")?;
    let subs: Vec<Handler> = (0..SUBSCRIBERS)
        .map(|_| Handler::anonymous())
        .collect::<Result<_, _>>()
        .ctx("register subscribers")?;
    for sub in &subs {
        sub.join_group("e2e_g_fanout", "wide", Replay::Skip)
            .ctx("join")?;
    }
    for i in 0..MESSAGES {
        let report = owner
            .send_multicast_sync("wide", format!("m{i}").as_bytes())
            .ctx(&format!("multicast {i}"))?;
        ensure_eq!(
            (report.delivered, report.dropped),
            (SUBSCRIBERS as u32, 0),
            "report of message {i}"
        );
    }
    let mut msg = Message::new();
    for (s, sub) in subs.iter().enumerate() {
        for i in 0..MESSAGES {
            receive(sub, &mut msg).map_err(|e| format!("subscriber {s}, message {i}: {e}"))?;
            ensure_eq!(
                msg.payload_str(),
                Some(format!("m{i}").as_str()),
                "subscriber {s} message {i}"
            );
            ensure_eq!(msg.missed(), 0, "subscriber {s} missed");
        }
        expect_silence(sub, "after all messages")?;
    }
    let dir = Directory::open().ctx("directory")?;
    let info = dir
        .group("e2e_g_fanout", "wide")
        .ctx("group")?
        .ctx("group")?;
    ensure_eq!(info.subscribers, SUBSCRIBERS as u32, "subscribers");
    ensure_eq!(info.tx_msgs, u64::from(MESSAGES), "group tx");
    Ok(())
}

fn unregister_tells_subscribers() -> TestResult {
    let owner = Handler::new("e2e_g_unreg").ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    let sub = PeerOptions::anonymous()
        .kevents(true)
        .open()
        .ctx("register subscriber with kernel events")?;
    sub.join_group("e2e_g_unreg", "g", Replay::Skip)
        .ctx("join")?;
    owner.unregister_group("g").ctx("unregister")?;
    let mut msg = Message::new();
    // The subscriber's own peer-add came before it joined; skip to the removal.
    let event = loop {
        receive(&sub, &mut msg)?;
        ensure_eq!(
            msg.kind(),
            MessageKind::Kevent,
            "only kernel events are expected"
        );
        let event = *msg.kevent().ctx("kevent")?;
        if !matches!(event.kind, KeventKind::PeerAdd(..)) {
            break event;
        }
    };
    match event.kind {
        KeventKind::GroupRemove {
            owner: o,
            group,
            reason,
            ..
        } => {
            ensure_eq!(group.to_string(), "g", "removed group");
            ensure_eq!(o.port, owner.port(), "removed group's owner");
            ensure_eq!(reason, RemoveReason::Unregistered, "reason");
        }
        other => return Err(format!("expected group-remove, got {other:?}")),
    }
    expect_error(
        owner.send_multicast("g", b"x"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "publish after unregister",
    )?;
    // Re-registering gives a fresh group: the old membership is gone.
    owner.register_group("g").ctx("register again")?;
    let dir = Directory::open().ctx("directory")?;
    let info = dir.group("e2e_g_unreg", "g").ctx("group")?.ctx("group")?;
    ensure_eq!(info.subscribers, 0, "subscribers of the new group");
    ensure_eq!(info.last_msg_len, None, "last message of the new group");
    sub.unsubscribe_kevents().ctx("unsubscribe kernel events")?;
    while sub.receive(&mut msg, Wait::Never).is_ok() {}
    owner
        .send_multicast("g", b"fresh")
        .ctx("publish to the new group")?;
    expect_silence(&sub, "old subscriber of a re-registered group")
}

fn replay_races_publisher() -> TestResult {
    // Subscribers join with replay while the owner publishes 0, 1, 2, ...
    // from another thread: each must see the replay of some k, then exactly
    // k+1, k+2, ... to the end: no gap, no duplicate, replay first.
    //
    // The two threads are gated on each other, not paced by sleeps alone (a
    // stalled vCPU would let one side run far ahead of the other and every
    // join replay the same message): joiner j joins once the first
    // `opens(j)` messages are published, and the publisher, having
    // published `opens(j) + LEAD`, waits until join j has returned. Join j
    // thus races the publishing of up to LEAD messages, and its replay must
    // be one of `opens(j) - 1 .. opens(j) + LEAD`: a window of its own.
    const PUBLISHED: u32 = 300;
    const JOINERS: u32 = 12;
    const SPACING: u32 = 20;
    const LEAD: u32 = 10;
    // The windows are disjoint and all end before the last message.
    const _: () = assert!(LEAD < SPACING && SPACING * JOINERS + LEAD < PUBLISHED);
    /// How long one side waits for the other before the test fails.
    const GATE: Duration = Duration::from_secs(15);
    /// Messages published before joiner `j` joins.
    const fn opens(j: u32) -> u32 {
        SPACING * (j + 1)
    }
    let owner = Arc::new(Handler::new("e2e_g_race").ctx("register owner")?);
    owner.register_group("counter").ctx("register group")?;
    owner.send_multicast("counter", b"0").ctx("first message")?;
    // Messages published so far, and joins returned so far.
    let published = Arc::new(AtomicU32::new(1));
    let joined = Arc::new(AtomicU32::new(0));
    let joiners: Vec<Handler> = (0..JOINERS)
        .map(|_| PeerOptions::anonymous().recv_buffer(4 << 20).open())
        .collect::<Result<_, _>>()
        .ctx("register subscribers")?;
    let publisher = {
        let owner = Arc::clone(&owner);
        let published = Arc::clone(&published);
        let joined = Arc::clone(&joined);
        std::thread::spawn(move || -> TestResult {
            for i in 1..PUBLISHED {
                owner
                    .send_multicast("counter", i.to_string().as_bytes())
                    .ctx(&format!("publish {i}"))?;
                published.store(i + 1, Ordering::Release);
                if let Some(j) = (0..JOINERS).find(|&j| opens(j) + LEAD == i + 1) {
                    let started = Instant::now();
                    while joined.load(Ordering::Acquire) <= j {
                        ensure!(
                            started.elapsed() < GATE,
                            "publisher: join {j} did not return within {GATE:?}"
                        );
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                // Paced so a join lands while messages are being published.
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        })
    };
    for (j, sub) in (0..JOINERS).zip(&joiners) {
        let started = Instant::now();
        while published.load(Ordering::Acquire) < opens(j) {
            if publisher.is_finished() {
                publisher
                    .join()
                    .map_err(|_| "publisher panicked".to_owned())??;
                return Err(format!("the publisher stopped before join {j}"));
            }
            ensure!(
                started.elapsed() < GATE,
                "join {j}: message {} was not published within {GATE:?}",
                opens(j) - 1
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        sub.join_group("e2e_g_race", "counter", Replay::LastMessage)
            .ctx(&format!("join {j}"))?;
        joined.store(j + 1, Ordering::Release);
    }
    publisher
        .join()
        .map_err(|_| "publisher panicked".to_owned())??;
    let mut msg = Message::new();
    let mut replayed_at = Vec::new();
    for (j, sub) in (0..JOINERS).zip(&joiners) {
        receive(sub, &mut msg)?;
        ensure!(
            msg.replayed(),
            "subscriber {j}: first message is not the replay: {msg:?}"
        );
        let first: u32 = msg
            .payload_str()
            .and_then(|s| s.parse().ok())
            .ctx("index")?;
        // The group's last message while join j ran was one of these.
        ensure!(
            (opens(j) - 1..opens(j) + LEAD).contains(&first),
            "subscriber {j}: replayed {first}, but the last message during its join was one \
             of {}..={}",
            opens(j) - 1,
            opens(j) + LEAD - 1
        );
        replayed_at.push(first);
        for expected in first + 1..PUBLISHED {
            receive(sub, &mut msg)
                .map_err(|e| format!("subscriber {j} waiting for {expected}: {e}"))?;
            ensure!(!msg.replayed(), "subscriber {j}: a second replay");
            ensure_eq!(
                msg.payload_str(),
                Some(expected.to_string().as_str()),
                "subscriber {j} (replayed {first}) next message"
            );
            ensure_eq!(msg.missed(), 0, "subscriber {j} missed");
        }
        expect_silence(sub, "after the last message")?;
    }
    crate::harness::note(&format!("replays started at {replayed_at:?}"));
    // Holds by the gating above; kept as the check that it did gate.
    ensure!(
        replayed_at.iter().any(|&k| k + 1 < PUBLISHED)
            && replayed_at.windows(2).any(|w| w[0] != w[1]),
        "the joins did not overlap the publishing (replays at {replayed_at:?})"
    );
    Ok(())
}
