//! Queue overrun is never silent: a unicast sender gets would-block, a slow
//! subscriber learns the exact number it missed, sync multicast reports drops.

use ipcon_linux::{Directory, ErrorKind, Handler, Message, MessageKind, PeerOptions};
use ipcon_linux::{Replay, Wait};

use crate::common::{expect_error, expect_silence, receive, receive_kind};
use crate::harness::{Context, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("overrun_unicast_queue_full", unicast_queue_full).timeout(40),
    Test::new(
        "overrun_slow_subscriber_missed_exact",
        slow_subscriber_missed_exact,
    )
    .timeout(40),
];

/// A receive queue this small fills after a handful of messages.
const SMALL_QUEUE: usize = 4096;

fn unicast_queue_full() -> TestResult {
    let receiver = PeerOptions::named("e2e_o_recv")
        .and_then(|o| o.recv_buffer(SMALL_QUEUE).open())
        .ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut sent = 0u32;
    let err = loop {
        ensure!(sent < 20_000, "the receiver's queue never filled");
        match sender.send_unicast("e2e_o_recv", format!("u{sent}").as_bytes()) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
    };
    ensure!(sent > 0, "not even one message fitted");
    ensure_eq!(err.kind(), ErrorKind::QueueFull, "kind when full ({err})");
    ensure_eq!(err.errno(), Some(libc::EAGAIN), "errno when full");
    ensure!(err.is_transient(), "a full queue is transient");
    ensure!(
        err.kernel_message().is_some_and(|m| m.contains("full")),
        "kernel text: {err}"
    );
    expect_error(
        sender.send_unicast("e2e_o_recv", b"again"),
        ErrorKind::QueueFull,
        Some(libc::EAGAIN),
        "still full",
    )?;
    // Everything accepted arrives, in order; nothing refused does.
    let mut msg = Message::new();
    for i in 0..sent {
        let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
        ensure_eq!(text, format!("u{i}"), "message {i} of {sent}");
        ensure_eq!(
            msg.missed(),
            0,
            "unicast loss is reported to the sender, not as missed"
        );
    }
    expect_silence(&receiver, "refused messages were not queued")?;
    let dir = Directory::open().ctx("directory")?;
    let info = dir.peer("e2e_o_recv").ctx("receiver info")?;
    ensure_eq!(info.rx_msgs, u64::from(sent), "receiver rx");
    ensure_eq!(info.rx_dropped, 2, "receiver rx_dropped");
    let info = dir.peer_by_port(sender.port()).ctx("sender info")?;
    ensure_eq!(
        info.tx_msgs,
        u64::from(sent),
        "sender tx (refused ones not counted)"
    );
    // Drained: sending works again.
    sender
        .send_unicast("e2e_o_recv", b"after")
        .ctx("send after draining")?;
    ensure_eq!(
        receive_kind(&receiver, &mut msg, MessageKind::Unicast)?,
        "after",
        "after draining"
    );
    Ok(())
}

fn slow_subscriber_missed_exact() -> TestResult {
    const SYNC: u32 = 200;
    const ASYNC: u32 = 50;
    let owner = Handler::new("e2e_o_owner").ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    let slow = PeerOptions::anonymous()
        .recv_buffer(SMALL_QUEUE)
        .open()
        .ctx("register slow subscriber")?;
    let fast = Handler::anonymous().ctx("register fast subscriber")?;
    slow.join_group("e2e_o_owner", "g", Replay::Skip)
        .ctx("slow join")?;
    fast.join_group("e2e_o_owner", "g", Replay::Skip)
        .ctx("fast join")?;

    let mut sync_dropped = 0u32;
    let mut last_dropped = 0;
    for i in 0..SYNC {
        let report = owner
            .send_multicast_sync("g", format!("{i}").as_bytes())
            .ctx(&format!("sync multicast {i}"))?;
        ensure_eq!(
            report.delivered + report.dropped,
            2,
            "report {i} covers both subscribers"
        );
        sync_dropped += report.dropped;
        last_dropped = report.dropped;
    }
    ensure!(sync_dropped > 0, "the slow subscriber's queue never filled");
    ensure_eq!(last_dropped, 1, "the queue is still full at the end");
    // Async multicasts to a full queue are dropped too, silently for the
    // publisher but counted for the subscriber.
    for i in SYNC..SYNC + ASYNC {
        owner
            .send_multicast("g", format!("{i}").as_bytes())
            .ctx(&format!("async multicast {i}"))?;
    }
    let mut msg = Message::new();
    // The slow subscriber: each delivery's `missed` is exactly the number of
    // messages skipped since its previous one.
    let mut expected_next = 0u32;
    let mut total_missed = 0u32;
    let mut delivered = 0u32;
    loop {
        match slow.receive(&mut msg, Wait::Never) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(format!("slow receive: {e}")),
        }
        let index: u32 = msg
            .payload_str()
            .and_then(|s| s.parse().ok())
            .ctx("index")?;
        ensure!(
            index >= expected_next,
            "out of order: {index} after {expected_next}"
        );
        ensure_eq!(
            msg.missed(),
            index - expected_next,
            "missed reported with message {index}"
        );
        total_missed += msg.missed();
        expected_next = index + 1;
        delivered += 1;
    }
    ensure!(
        delivered > 0,
        "nothing was delivered to the slow subscriber"
    );
    let report = owner
        .send_multicast_sync("g", b"final")
        .ctx("final multicast")?;
    ensure_eq!((report.delivered, report.dropped), (2, 0), "final report");
    receive(&slow, &mut msg)?;
    ensure_eq!(msg.payload(), b"final", "slow's last message");
    ensure_eq!(
        msg.missed(),
        SYNC + ASYNC - expected_next,
        "missed with the message after the overrun"
    );
    total_missed += msg.missed();
    ensure_eq!(
        total_missed,
        sync_dropped + ASYNC,
        "all drops are accounted as missed"
    );
    ensure_eq!(
        delivered + total_missed,
        SYNC + ASYNC,
        "delivered + missed = published"
    );
    // The fast subscriber got everything.
    for i in 0..SYNC + ASYNC {
        receive(&fast, &mut msg)?;
        ensure_eq!(
            msg.payload_str(),
            Some(format!("{i}").as_str()),
            "fast message {i}"
        );
        ensure_eq!(msg.missed(), 0, "fast missed");
    }
    ensure_eq!(
        receive_kind(&fast, &mut msg, MessageKind::Group)?,
        "final",
        "fast final"
    );
    let info = Directory::open()
        .ctx("directory")?
        .peer_by_port(slow.port())
        .ctx("slow info")?;
    ensure_eq!(
        info.rx_dropped,
        u64::from(sync_dropped + ASYNC),
        "slow rx_dropped"
    );
    ensure_eq!(info.rx_msgs, u64::from(delivered + 1), "slow rx_msgs");
    Ok(())
}
