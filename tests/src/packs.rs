//! Packed deliveries: a pack (several messages to one destination in one
//! request) reaches a receiver registered `packed` as one datagram, all or
//! none, in order; a full queue refuses a unicast pack as a whole; a receiver
//! that did not register packed refuses a unicast pack and gets a group's
//! pack one message per datagram; replay keeps the pack's last message; bad
//! packs get a clear errno and text and deliver nothing.
//!
//! Raw sockets stand in for receivers where the datagram boundaries are the
//! point: the library's receiver hides them.

use std::time::Duration;

use ipcon_linux::{
    Batch, ErrorKind, Handler, Message, MessageKind, PeerOptions, Replay, Wait, MAX_PAYLOAD_LEN,
};

use crate::common::{expect_silence, receive, SOON};
use crate::harness::{Context, Test, TestResult};
use crate::limits::{raw_request, raw_request_answered};
use crate::{ensure, ensure_eq};
use ipcon_core::wire::pack;
use ipcon_test_support::rawnl::{align, attr, cmd, packets, Ack, RawSocket, GENL_HDRLEN};

pub const TESTS: &[Test] = &[
    Test::new("pack_unicast_one_datagram_in_order", unicast_one_datagram),
    Test::new(
        "pack_library_receiver_takes_every_message",
        library_receiver,
    ),
    Test::new("pack_unicast_all_or_none_on_full_queue", all_or_none),
    Test::new(
        "pack_unicast_to_unpacked_receiver_refused",
        unpacked_unicast,
    ),
    Test::new(
        "pack_multicast_mixed_subscribers_and_replay",
        multicast_mixed,
    ),
    Test::new("pack_bad_requests_are_refused", bad_requests),
];

/// A payload that names its message.
fn payload(index: usize, len: usize) -> Vec<u8> {
    let mut p = format!("{index}:").into_bytes();
    p.extend((p.len()..len).map(|i| (i * 7 + index) as u8));
    p
}

/// A raw socket registered as peer `name` (data and control in one),
/// `packed` or not; returns it with the family id.
fn raw_peer(name: &str, packed: bool) -> Result<(RawSocket, u16), String> {
    let raw = RawSocket::open().map_err(|e| format!("raw socket: {e}"))?;
    let family = raw.ipcon_family()?;
    let ack = raw_request(&raw, family, 1, cmd::PEER_REGISTER, |b| {
        b.attr_str(attr::PEER_NAME, name);
        if packed {
            b.attr(attr::PACKED, &[]);
        }
        b
    })?;
    ensure_eq!(ack.errno, 0, "register {name} ({:?})", ack.message);
    Ok((raw, family))
}

/// The value of a `pack` attribute holding `payloads`.
fn pack_of(payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let inner_len = 4 + p.len();
        let entry_len = 4 + align(inner_len);
        out.extend_from_slice(&(entry_len as u16).to_ne_bytes());
        out.extend_from_slice(&(i as u16 | attr::F_NESTED).to_ne_bytes());
        out.extend_from_slice(&(inner_len as u16).to_ne_bytes());
        out.extend_from_slice(&attr::pack_entry::PAYLOAD.to_ne_bytes());
        out.extend_from_slice(p);
        out.resize(align(out.len()), 0);
    }
    out
}

/// One delivered message as a raw receiver sees it: command, payload, sender
/// port.
type RawMessage = (u8, Vec<u8>, u32);

/// The deliveries of every datagram queued on `raw` within `limit` of the
/// first, per datagram.
fn raw_datagrams(
    raw: &RawSocket,
    family: u16,
    limit: Duration,
) -> Result<Vec<Vec<RawMessage>>, String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    let mut wait = Some(limit);
    while let Some(len) = raw.recv(&mut buf, wait).map_err(|e| format!("recv: {e}"))? {
        // After the first, take only what is queued already (with a short grace).
        wait = Some(Duration::from_millis(200));
        let mut messages = Vec::new();
        for packet in packets(&buf[..len]) {
            ensure_eq!(packet.kind, family, "message type");
            let (command, attrs) = packet.genl().ctx("generic netlink header")?;
            let body = attrs.get(attr::PAYLOAD).ctx("payload")?.to_vec();
            let port = attrs.u32(attr::PORT).ctx("sender port")?;
            messages.push((command, body, port));
        }
        out.push(messages);
    }
    Ok(out)
}

fn unicast_one_datagram() -> TestResult {
    let (raw, family) = raw_peer("e2e_pk_raw", true)?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new().packed();
    let expected: Vec<Vec<u8>> = (0..30).map(|i| payload(i, i * 3)).collect();
    for p in &expected {
        batch.unicast("e2e_pk_raw", p).ctx("add")?;
    }
    let requests = batch.requests();
    ensure!(requests < 30, "30 small messages took {requests} requests");
    let report = sender.send_batch(&mut batch).ctx("send packed batch")?;
    ensure_eq!(
        (report.sent, report.failures.len()),
        (30, 0),
        "sent, failures"
    );
    let datagrams = raw_datagrams(&raw, family, SOON)?;
    ensure_eq!(
        datagrams.len(),
        requests,
        "one datagram per pack (messages per datagram: {:?})",
        datagrams.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let got: Vec<Vec<u8>> = datagrams.iter().flatten().map(|m| m.1.clone()).collect();
    ensure!(got == expected, "payloads out of order or changed");
    for (command, _, port) in datagrams.iter().flatten() {
        ensure_eq!(*command, cmd::UNICAST_MSG, "command");
        ensure_eq!(*port, sender.port(), "every message is stamped");
    }
    // Whatever the receiver's name, the datagram stays within max-delivery-len.
    ensure!(datagrams.iter().all(|d| !d.is_empty()), "an empty datagram");
    Ok(())
}

fn library_receiver() -> TestResult {
    let receiver = Handler::new("e2e_pk_lib").ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new().packed();
    let expected: Vec<Vec<u8>> = (0..60).map(|i| payload(i, 24)).collect();
    for p in &expected {
        batch.unicast_to_port(receiver.port(), p).ctx("add")?;
    }
    let report = sender.send_batch(&mut batch).ctx("send")?;
    ensure_eq!(report.failures.len(), 0, "failures");
    // One at a time for the first 7 (inside the first pack), then by fives:
    // every message comes, in order, whatever the receive.
    let mut got = Vec::new();
    let mut msg = Message::new();
    for _ in 0..7 {
        receive(&receiver, &mut msg)?;
        ensure_eq!(msg.kind(), MessageKind::Unicast, "kind");
        got.push(msg.payload().to_vec());
    }
    let mut msgs: Vec<Message> = (0..5).map(|_| Message::new()).collect();
    while got.len() < expected.len() {
        let n = receiver
            .receive_many(&mut msgs, Wait::Timeout(SOON))
            .ctx("receive_many")?;
        got.extend(msgs[..n].iter().map(|m| m.payload().to_vec()));
    }
    ensure!(got == expected, "payloads out of order or changed");
    expect_silence(&receiver, "after the batch")?;
    ensure_eq!(
        receiver.stats().malformed_dropped,
        0,
        "nothing dropped by the receiver"
    );
    let info = receiver
        .directory()
        .peer("e2e_pk_lib")
        .ctx("look up receiver")?;
    ensure_eq!(
        info.rx_msgs,
        60,
        "the kernel counts messages, not datagrams"
    );
    ensure!(
        info.peer.flags.contains(ipcon_linux::PeerFlags::PACKED),
        "a library peer registers packed: {:?}",
        info.peer.flags
    );
    Ok(())
}

fn all_or_none() -> TestResult {
    let receiver = PeerOptions::named("e2e_pk_tiny")
        .ctx("options")?
        .recv_buffer(4096)
        .open()
        .ctx("register receiver with a tiny queue")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new().packed();
    let expected: Vec<Vec<u8>> = (0..48).map(|i| payload(i, 200)).collect();
    for p in &expected {
        batch.unicast("e2e_pk_tiny", p).ctx("add")?;
    }
    // The batch's packs: as many 200-byte unicasts as one datagram holds.
    let per_pack = (ipcon_linux::MAX_DELIVERY_LEN - pack::REPORT_RESERVE)
        / pack::delivered_len_max(false, 200);
    ensure_eq!(batch.requests(), 48usize.div_ceil(per_pack), "packs");
    let report = sender.send_batch(&mut batch).ctx("send")?;
    let failed: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    ensure!(
        !failed.is_empty(),
        "a 4 KiB queue took 48 messages of 200 B"
    );
    ensure!(
        report
            .failures
            .iter()
            .all(|f| f.error.kind() == ErrorKind::QueueFull),
        "kinds: {:?}",
        report.failures
    );
    // Whole packs failed: the failed indexes are runs of pack size, the last
    // one perhaps shorter.
    ensure!(
        failed.iter().all(|&i| {
            let start = i - i % per_pack;
            (start..(start + per_pack).min(48)).all(|j| failed.contains(&j))
        }),
        "failures are not whole packs of {per_pack}: {failed:?}"
    );
    let mut msg = Message::new();
    let mut got = Vec::new();
    let mut refused = 0;
    while receiver.receive(&mut msg, Wait::Timeout(SOON)).is_ok() {
        if let Some(overrun) = msg.overrun() {
            refused += overrun.refused;
        }
        got.push(msg.payload().to_vec());
    }
    let delivered: Vec<Vec<u8>> = (0..48)
        .filter(|i| !failed.contains(i))
        .map(|i| expected[i].clone())
        .collect();
    ensure!(
        got == delivered,
        "the receiver got other messages than were not refused"
    );
    // The receiver is told of the refused messages with its next delivery.
    sender
        .send_unicast("e2e_pk_tiny", b"after")
        .ctx("one more")?;
    receive(&receiver, &mut msg)?;
    if let Some(overrun) = msg.overrun() {
        refused += overrun.refused;
    }
    ensure_eq!(
        refused as usize,
        failed.len(),
        "refused messages reported to the receiver"
    );
    Ok(())
}

fn unpacked_unicast() -> TestResult {
    let (raw, family) = raw_peer("e2e_pk_old", false)?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new().packed();
    for i in 0..3 {
        batch.unicast("e2e_pk_old", &payload(i, 8)).ctx("add")?;
    }
    let report = sender.send_batch(&mut batch).ctx("send")?;
    let failed: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    ensure_eq!(failed, vec![0, 1, 2], "every message of the pack failed");
    let error = &report.failures[0].error;
    ensure_eq!(error.kind(), ErrorKind::NotPacked, "kind");
    ensure_eq!(error.errno(), Some(libc::EOPNOTSUPP), "errno");
    ensure_eq!(
        error.kernel_message(),
        Some("receiver did not register packed"),
        "kernel text"
    );
    let datagrams = raw_datagrams(&raw, family, Duration::from_millis(300))?;
    ensure!(datagrams.is_empty(), "refused pack delivered {datagrams:?}");
    // The same messages unpacked go through, one per datagram.
    let mut batch = Batch::new();
    for i in 0..3 {
        batch.unicast("e2e_pk_old", &payload(i, 8)).ctx("add")?;
    }
    let report = sender.send_batch(&mut batch).ctx("send unpacked")?;
    ensure_eq!(report.failures.len(), 0, "failures unpacked");
    let datagrams = raw_datagrams(&raw, family, SOON)?;
    ensure_eq!(
        datagrams.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![1, 1, 1],
        "unpacked: one message per datagram"
    );
    Ok(())
}

fn join_raw(raw: &RawSocket, family: u16, owner: &str, group: &str) -> TestResult {
    let ack = raw_request(raw, family, 2, cmd::GROUP_JOIN, |b| {
        b.attr_str(attr::PEER_NAME, owner)
            .attr_str(attr::GROUP_NAME, group)
    })?;
    ensure_eq!(ack.errno, 0, "raw join ({:?})", ack.message);
    Ok(())
}

fn multicast_mixed() -> TestResult {
    let owner = Handler::new("e2e_pk_pub").ctx("register owner")?;
    owner.register_group("e2e_pk_g").ctx("register group")?;
    let library = Handler::anonymous().ctx("register library subscriber")?;
    library
        .join_group("e2e_pk_pub", "e2e_pk_g", Replay::Skip)
        .ctx("library join")?;
    let (old, family) = raw_peer("e2e_pk_sub_old", false)?;
    join_raw(&old, family, "e2e_pk_pub", "e2e_pk_g")?;
    let (new, _) = raw_peer("e2e_pk_sub_new", true)?;
    join_raw(&new, family, "e2e_pk_pub", "e2e_pk_g")?;

    let expected: Vec<Vec<u8>> = (0..20).map(|i| payload(i, 40)).collect();
    let mut batch = Batch::new().packed();
    for p in &expected {
        batch.multicast("e2e_pk_g", p).ctx("add")?;
    }
    let requests = batch.requests();
    let report = sender_report(&owner, &mut batch)?;
    ensure_eq!(report, (20, 0), "sent, failures");

    let mut msg = Message::new();
    for (i, want) in expected.iter().enumerate() {
        receive(&library, &mut msg).map_err(|e| format!("library message {i}: {e}"))?;
        ensure_eq!(msg.kind(), MessageKind::Group, "kind");
        ensure!(msg.payload() == want.as_slice(), "library message {i}");
    }
    expect_silence(&library, "library subscriber")?;
    let old_datagrams = raw_datagrams(&old, family, SOON)?;
    ensure_eq!(
        old_datagrams.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![1; 20],
        "a subscriber not registered packed gets one message per datagram"
    );
    let new_datagrams = raw_datagrams(&new, family, SOON)?;
    ensure_eq!(
        new_datagrams.len(),
        requests,
        "a packed subscriber gets one datagram per pack"
    );
    for datagrams in [&old_datagrams, &new_datagrams] {
        let got: Vec<Vec<u8>> = datagrams.iter().flatten().map(|m| m.1.clone()).collect();
        ensure!(got == expected, "raw subscriber: payloads out of order");
        ensure!(
            datagrams
                .iter()
                .flatten()
                .all(|m| m.0 == cmd::GROUP_MSG && m.2 == owner.port()),
            "raw subscriber: commands or stamps"
        );
    }
    // The group keeps the pack's last message for replay.
    let late = Handler::anonymous().ctx("register late joiner")?;
    late.join_group("e2e_pk_pub", "e2e_pk_g", Replay::LastMessage)
        .ctx("join with replay")?;
    receive(&late, &mut msg)?;
    ensure!(msg.replayed(), "the replay is marked");
    ensure!(
        msg.payload() == expected[19].as_slice(),
        "the replay is the pack's last message"
    );
    expect_silence(&late, "late joiner")?;
    let group = owner
        .directory()
        .group("e2e_pk_pub", "e2e_pk_g")
        .ctx("look up group")?
        .ctx("group present")?;
    ensure_eq!(group.tx_msgs, 20, "the group counts messages");
    Ok(())
}

fn sender_report(sender: &Handler, batch: &mut Batch) -> Result<(usize, usize), String> {
    let report = sender.send_batch(batch).ctx("send batch")?;
    Ok((report.sent, report.failures.len()))
}

/// A unicast request from `raw` to `to` with the attributes `build` adds.
fn raw_unicast(
    raw: &RawSocket,
    family: u16,
    seq: u32,
    to: &str,
    build: impl FnOnce(&mut ipcon_test_support::rawnl::MsgBuilder),
) -> Result<Ack, String> {
    raw_request(raw, family, seq, cmd::UNICAST, |b| {
        b.attr_str(attr::PEER_NAME, to);
        build(b);
        b
    })
}

fn expect_refused(ack: Ack, errno: i32, text: &str, what: &str) -> TestResult {
    ensure_eq!(ack.errno, errno, "{what}: errno ({:?})", ack.message);
    ensure_eq!(ack.message.as_deref(), Some(text), "{what}: kernel text");
    Ok(())
}

fn bad_requests() -> TestResult {
    let receiver = Handler::new("e2e_pk_target").ctx("register receiver")?;
    let (raw, family) = raw_peer("e2e_pk_bad", true)?;
    let nested = attr::PACK | attr::F_NESTED;
    let small: &[u8] = b"x";

    let ack = raw_unicast(&raw, family, 10, "e2e_pk_target", |b| {
        b.attr(attr::PAYLOAD, small)
            .attr(nested, &pack_of(&[small]));
    })?;
    expect_refused(
        ack,
        libc::EINVAL,
        "give exactly one of payload or pack",
        "payload and pack",
    )?;
    let ack = raw_unicast(&raw, family, 11, "e2e_pk_target", |_| {})?;
    expect_refused(
        ack,
        libc::EINVAL,
        "missing attribute payload or pack",
        "neither",
    )?;
    // An empty pack counts as none (YNL's user code always puts one).
    let ack = raw_unicast(&raw, family, 12, "e2e_pk_target", |b| {
        b.attr(nested, &[]);
    })?;
    expect_refused(
        ack,
        libc::EINVAL,
        "missing attribute payload or pack",
        "empty pack alone",
    )?;
    let ack = raw_unicast(&raw, family, 22, "e2e_pk_target", |b| {
        b.attr(attr::PAYLOAD, b"plain").attr(nested, &[]);
    })?;
    ensure_eq!(
        ack.errno,
        0,
        "payload and an empty pack ({:?})",
        ack.message
    );
    let mut msg = Message::new();
    receive(&receiver, &mut msg)?;
    ensure!(msg.payload() == b"plain", "payload beside an empty pack");
    // A pack whose only bytes are too few for an entry.
    let ack = raw_unicast(&raw, family, 23, "e2e_pk_target", |b| {
        b.attr(nested, &[0, 0]);
    })?;
    // (The policy refuses it: ERANGE, as for any nest shorter than a header.)
    ensure!(ack.errno != 0, "a pack of two stray bytes was accepted");
    // An entry that is an empty nest.
    let ack = raw_unicast(&raw, family, 13, "e2e_pk_target", |b| {
        b.attr(nested, &[4, 0, 0, 0x80]);
    })?;
    expect_refused(
        ack,
        libc::EINVAL,
        "pack entry without payload",
        "entry without payload",
    )?;
    // An entry with two payloads.
    let mut two = pack_of(&[small]);
    let mut inner = two[4..].to_vec();
    inner.extend_from_slice(&two[4..]);
    two.truncate(0);
    two.extend_from_slice(&((4 + inner.len()) as u16).to_ne_bytes());
    two.extend_from_slice(&attr::F_NESTED.to_ne_bytes());
    two.extend_from_slice(&inner);
    let ack = raw_unicast(&raw, family, 14, "e2e_pk_target", |b| {
        b.attr(nested, &two);
    })?;
    expect_refused(
        ack,
        libc::EINVAL,
        "pack entry holds more than one payload",
        "two payloads in one entry",
    )?;
    // The pack attribute without NLA_F_NESTED: the policy's strict check.
    let ack = raw_unicast(&raw, family, 15, "e2e_pk_target", |b| {
        b.attr(attr::PACK, &pack_of(&[small]));
    })?;
    ensure_eq!(ack.errno, libc::EINVAL, "pack without NLA_F_NESTED");
    // More than max-pack entries.
    let many: Vec<&[u8]> = vec![&[]; ipcon_linux::MAX_PACK + 1];
    let ack = raw_unicast(&raw, family, 16, "e2e_pk_target", |b| {
        b.attr(nested, &pack_of(&many));
    })?;
    expect_refused(
        ack,
        libc::EMSGSIZE,
        "pack holds more than max-pack messages",
        "max-pack + 1 entries",
    )?;
    // Two messages that cannot share one delivered datagram.
    let big = vec![7u8; ipcon_linux::MAX_DELIVERY_LEN / 2];
    let ack = raw_unicast(&raw, family, 17, "e2e_pk_target", |b| {
        b.attr(nested, &pack_of(&[&big, &big]));
    })?;
    expect_refused(
        ack,
        libc::EMSGSIZE,
        "pack does not fit one datagram of max-delivery-len",
        "a pack over max-delivery-len",
    )?;
    // A payload over max_payload inside a pack.
    let huge = vec![7u8; MAX_PAYLOAD_LEN + 1];
    let ack = raw_unicast(&raw, family, 18, "e2e_pk_target", |b| {
        b.attr(nested, &pack_of(&[small, &huge]));
    })?;
    expect_refused(
        ack,
        libc::EMSGSIZE,
        "payload exceeds module parameter max_payload",
        "an oversized payload in a pack",
    )?;
    // Nothing of it was delivered; a good pack still is.
    expect_silence(&receiver, "after the refused packs")?;
    let ack = raw_unicast(&raw, family, 19, "e2e_pk_target", |b| {
        b.attr(nested, &pack_of(&[b"one", b"two"]));
    })?;
    ensure_eq!(ack.errno, 0, "a good pack ({:?})", ack.message);
    for want in [&b"one"[..], b"two"] {
        receive(&receiver, &mut msg)?;
        ensure!(msg.payload() == want, "good pack payload");
    }
    // A posted pack that fails is one send-failed notice with its ticket.
    let send_failed = ipcon_core::spec::Command::SendFailed.to_raw();
    let mut notices = Vec::new();
    let ack = raw_request_answered(
        &raw,
        family,
        24,
        cmd::UNICAST,
        |m| {
            m.attr_str(attr::PEER_NAME, "e2e_pk_nobody")
                .attr(nested, &pack_of(&[b"p1", b"p2"]))
                .attr(attr::TICKET, &77u32.to_ne_bytes())
        },
        |kind, body| {
            if kind == family && body.len() >= GENL_HDRLEN && body[0] == send_failed {
                let attrs = ipcon_test_support::rawnl::Attrs(&body[GENL_HDRLEN..]);
                notices.push((attrs.u32(attr::TICKET), attrs.u32(attr::ERROR)));
            }
        },
    )?;
    ensure_eq!(
        ack.errno,
        0,
        "a posted pack is answered by a notice, not an error"
    );
    ensure_eq!(
        notices,
        vec![(Some(77), Some(libc::ENOENT as u32))],
        "one send-failed notice for the posted pack"
    );
    // A sync multicast reply counts messages.
    let ack = raw_request(&raw, family, 20, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, "e2e_pk_rg")
    })?;
    ensure_eq!(ack.errno, 0, "raw group ({:?})", ack.message);
    receiver
        .join_group("e2e_pk_bad", "e2e_pk_rg", Replay::Skip)
        .ctx("join raw group")?;
    let mut counts = None;
    let ack = raw_request_answered(
        &raw,
        family,
        21,
        cmd::MULTICAST,
        |m| {
            m.attr_str(attr::GROUP_NAME, "e2e_pk_rg")
                .attr(nested, &pack_of(&[b"a", b"b", b"c"]))
                .attr(attr::SYNC, &[])
        },
        |kind, body| {
            if kind != family || body.len() < GENL_HDRLEN {
                return;
            }
            let attrs = ipcon_test_support::rawnl::Attrs(&body[GENL_HDRLEN..]);
            counts = Some((attrs.u32(attr::DELIVERED), attrs.u32(attr::DROPPED)));
        },
    )?;
    ensure_eq!(ack.errno, 0, "sync multicast pack ({:?})", ack.message);
    ensure_eq!(
        counts,
        Some((Some(3), Some(0))),
        "delivered and dropped count messages"
    );
    for want in [&b"a"[..], b"b", b"c"] {
        receive(&receiver, &mut msg)?;
        ensure!(msg.payload() == want, "group pack payload");
    }
    expect_silence(&receiver, "at the end")?;
    Ok(())
}
