//! Batches (several messages per system call): order, per-message failures
//! by index with the per-message call's error, full queues, multicast,
//! `receive_many`, concurrent requests on the same handler, no allocation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_linux::Replay;
use ipcon_linux::{
    Batch, ErrorKind, Handler, Message, MessageKind, PeerOptions, Wait, MAX_BATCH_MESSAGES,
    MAX_PAYLOAD_LEN,
};

use crate::common::{expect_error, expect_silence, receive, SOON};
use crate::harness::{note, Context, Test, TestResult};
use crate::{ensure, ensure_eq};
use ipcon_test_support::alloc_count::allocations;

pub const TESTS: &[Test] = &[
    Test::new("batch_unicast_in_order", unicast_in_order),
    Test::new("batch_failure_in_the_middle", failure_in_the_middle),
    Test::new("batch_queue_full_exact", queue_full_exact),
    Test::new("batch_limits_hold", limits_hold),
    Test::new("batch_multicast", multicast),
    Test::new("batch_receive_many", receive_many),
    Test::new("batch_interleaved_with_requests", interleaved_with_requests).timeout(60),
    Test::new("batch_no_heap_allocation", no_heap_allocation),
];

/// A payload that names its message: `index` as text, padded with a byte
/// pattern to `len` (so sizes vary and contents differ).
fn payload(index: usize, len: usize) -> Vec<u8> {
    let mut p = format!("{index}:").into_bytes();
    p.extend((p.len()..len).map(|i| (i * 31 + index) as u8));
    p.truncate(len.max(format!("{index}:").len()));
    p
}

/// Receives `count` messages on `handler` and checks they are `expected`,
/// in order, of `kind`.
fn expect_messages(
    handler: &Handler,
    kind: MessageKind,
    expected: &[Vec<u8>],
    what: &str,
) -> TestResult {
    let mut msg = Message::new();
    for (i, want) in expected.iter().enumerate() {
        receive(handler, &mut msg).map_err(|e| format!("{what}: message {i}: {e}"))?;
        ensure_eq!(msg.kind(), kind, "{what}: kind of message {i}");
        ensure!(
            msg.payload() == want.as_slice(),
            "{what}: message {i} is {:?}, expected {:?}",
            String::from_utf8_lossy(&msg.payload()[..msg.payload().len().min(12)]),
            String::from_utf8_lossy(&want[..want.len().min(12)])
        );
    }
    expect_silence(handler, what)
}

fn unicast_in_order() -> TestResult {
    let receiver = Handler::new("e2e_b_recv").ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let sizes = [0usize, 1, 3, 64, 2047, MAX_PAYLOAD_LEN];
    let mut batch = Batch::new();
    let mut expected = Vec::new();
    for i in 0..40 {
        let p = payload(i, sizes[i % sizes.len()]);
        if i % 3 == 0 {
            batch
                .unicast_to_port(receiver.port(), &p)
                .ctx("add by port")?;
        } else {
            batch.unicast("e2e_b_recv", &p).ctx("add by name")?;
        }
        expected.push(p);
    }
    ensure_eq!(batch.len(), 40, "batch length");
    let report = sender.send_batch(&mut batch).ctx("send batch")?;
    ensure_eq!(report.sent, 40, "sent");
    ensure!(
        report.failures.is_empty(),
        "failures: {:?}",
        report.failures
    );
    ensure_eq!(report.queued(), 40, "queued");
    ensure!(batch.is_empty(), "the batch is emptied by sending");
    expect_messages(&receiver, MessageKind::Unicast, &expected, "first batch")?;
    let mut msg = Message::new();
    // The stamp is the sender's, as for a single unicast.
    sender
        .send_unicast_to_port(receiver.port(), b"single")
        .ctx("single unicast")?;
    receive(&receiver, &mut msg)?;
    ensure_eq!(msg.sender().port, sender.port(), "stamp");

    // A reused batch, and an empty one.
    for i in 0..MAX_BATCH_MESSAGES {
        batch.unicast("e2e_b_recv", &payload(i, 8)).ctx("refill")?;
    }
    let err = batch.unicast("e2e_b_recv", b"one too many").unwrap_err();
    ensure_eq!(err.kind(), ErrorKind::BatchFull, "past MAX_BATCH_MESSAGES");
    let report = sender.send_batch(&mut batch).ctx("send full batch")?;
    ensure_eq!(
        (report.sent, report.failures.len()),
        (MAX_BATCH_MESSAGES, 0),
        "full batch"
    );
    let expected: Vec<Vec<u8>> = (0..MAX_BATCH_MESSAGES).map(|i| payload(i, 8)).collect();
    expect_messages(&receiver, MessageKind::Unicast, &expected, "full batch")?;
    let report = sender.send_batch(&mut batch).ctx("send empty batch")?;
    ensure_eq!(report.sent, 0, "empty batch");
    Ok(())
}

fn failure_in_the_middle() -> TestResult {
    let receiver = Handler::new("e2e_b_mid").ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new();
    let mut expected = Vec::new();
    for i in 0..7 {
        let p = payload(i, 16);
        if i == 3 {
            batch
                .unicast("e2e_b_nobody", &p)
                .ctx("add to missing peer")?;
        } else {
            batch.unicast("e2e_b_mid", &p).ctx("add")?;
            expected.push(p);
        }
    }
    let report = sender.send_batch(&mut batch).ctx("send batch")?;
    ensure_eq!(report.sent, 7, "sent");
    let indexes: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    ensure_eq!(indexes, vec![3], "failed indexes");
    let error = &report.failures[0].error;
    // The same error `send_unicast` gives.
    let single = expect_error(
        sender.send_unicast("e2e_b_nobody", b"x"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "single unicast to a missing peer",
    )?;
    ensure_eq!(error.kind(), single.kind(), "kind");
    ensure_eq!(error.errno(), single.errno(), "errno");
    ensure_eq!(error.operation(), single.operation(), "operation");
    ensure_eq!(
        error.kernel_message(),
        single.kernel_message(),
        "kernel text"
    );
    expect_messages(&receiver, MessageKind::Unicast, &expected, "the others")?;

    // The LAST message failing ends the batch too; and several failures.
    for i in 0..5 {
        let to = if i % 2 == 0 {
            "e2e_b_nobody"
        } else {
            "e2e_b_mid"
        };
        batch.unicast(to, &payload(i, 4)).ctx("add")?;
    }
    let report = sender.send_batch(&mut batch).ctx("send batch 2")?;
    let indexes: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    ensure_eq!(indexes, vec![0, 2, 4], "failed indexes, batch 2");
    ensure!(
        report
            .failures
            .iter()
            .all(|f| f.error.kind() == ErrorKind::NotFound),
        "kinds: {:?}",
        report.failures
    );
    let expected = vec![payload(1, 4), payload(3, 4)];
    expect_messages(&receiver, MessageKind::Unicast, &expected, "batch 2")?;
    // The control socket is clean: a plain request right after works.
    ensure!(
        sender
            .directory()
            .is_peer_present("e2e_b_mid")
            .ctx("look-up")?,
        "look-up after a failed batch"
    );
    Ok(())
}

fn queue_full_exact() -> TestResult {
    let receiver = PeerOptions::named("e2e_b_tiny")
        .ctx("options")?
        .recv_buffer(4096)
        .open()
        .ctx("register receiver with a tiny queue")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new();
    let count = 40;
    for i in 0..count {
        batch.unicast("e2e_b_tiny", &payload(i, 1024)).ctx("add")?;
    }
    let report = sender.send_batch(&mut batch).ctx("send batch")?;
    ensure_eq!(report.sent, count, "sent");
    ensure!(!report.failures.is_empty(), "the tiny queue never filled");
    for f in &report.failures {
        ensure_eq!(
            f.error.kind(),
            ErrorKind::QueueFull,
            "kind of failure {}",
            f.index
        );
        ensure_eq!(
            f.error.errno(),
            Some(libc::EAGAIN),
            "errno of failure {}",
            f.index
        );
    }
    let failed: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    let expected: Vec<Vec<u8>> = (0..count)
        .filter(|i| !failed.contains(i))
        .map(|i| payload(i, 1024))
        .collect();
    ensure_eq!(
        expected.len() + failed.len(),
        count,
        "received + failures = batch length"
    );
    note(&format!(
        "{} of {count} queued, failed: {failed:?}",
        expected.len()
    ));
    // Exactly the messages not reported failed arrive, in order, nothing else.
    expect_messages(&receiver, MessageKind::Unicast, &expected, "queued ones")
}

/// The largest batches go through: every message failing (64 error
/// answers queued before the sender reads one), and the byte limit filled
/// with full-size payloads (one datagram of ~96 KiB).
fn limits_hold() -> TestResult {
    let receiver = PeerOptions::named("e2e_b_limits")
        .ctx("options")?
        .recv_buffer(4 << 20)
        .open()
        .ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new();
    for i in 0..MAX_BATCH_MESSAGES {
        batch
            .unicast("e2e_b_nobody_at_all_here", &payload(i, 64))
            .ctx("add")?;
    }
    let report = sender
        .send_batch(&mut batch)
        .ctx("send all-failing batch")?;
    let indexes: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    ensure_eq!(
        indexes,
        (0..MAX_BATCH_MESSAGES).collect::<Vec<_>>(),
        "every message failed"
    );
    ensure!(
        report
            .failures
            .iter()
            .all(|f| f.error.kind() == ErrorKind::NotFound
                && f.error.kernel_message() == Some("no such peer")),
        "failures: {:?}",
        report.failures.first()
    );

    let mut expected = Vec::new();
    loop {
        let p = payload(expected.len(), MAX_PAYLOAD_LEN);
        match batch.unicast_to_port(receiver.port(), &p) {
            Ok(()) => expected.push(p),
            Err(e) if e.kind() == ErrorKind::BatchFull => break,
            Err(e) => return Err(format!("add: {e}")),
        }
    }
    note(&format!(
        "{} full-size messages in one batch",
        expected.len()
    ));
    let report = sender
        .send_batch(&mut batch)
        .ctx("send a byte-full batch")?;
    ensure!(
        report.failures.is_empty(),
        "failures: {:?}",
        report.failures
    );
    expect_messages(
        &receiver,
        MessageKind::Unicast,
        &expected,
        "byte-full batch",
    )
}

fn multicast() -> TestResult {
    let owner = Handler::new("e2e_b_owner").ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    let subscribers: Vec<Handler> = (0..3)
        .map(|_| Handler::anonymous())
        .collect::<Result<_, _>>()
        .ctx("register subscribers")?;
    for s in &subscribers {
        s.join_group("e2e_b_owner", "g", Replay::Skip).ctx("join")?;
    }
    let mut batch = Batch::new();
    let mut expected = Vec::new();
    for i in 0..12 {
        if i == 5 {
            // Not a group of the owner: fails alone, as send_multicast does.
            batch
                .multicast("nogroup", b"lost")
                .ctx("add to missing group")?;
            continue;
        }
        let p = payload(i, 100 + i);
        batch.multicast("g", &p).ctx("add")?;
        expected.push(p);
    }
    // Unicasts and multicasts mix in one batch.
    batch
        .unicast_to_port(subscribers[0].port(), b"direct")
        .ctx("add unicast")?;
    let report = owner.send_batch(&mut batch).ctx("send batch")?;
    ensure_eq!(report.sent, 13, "sent");
    let indexes: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    ensure_eq!(indexes, vec![5], "failed indexes");
    let single = owner.send_multicast("nogroup", b"x").unwrap_err();
    let error = &report.failures[0].error;
    ensure_eq!(
        (error.kind(), error.errno(), error.operation()),
        (single.kind(), single.errno(), single.operation()),
        "the per-message call's error"
    );
    for (n, s) in subscribers.iter().enumerate() {
        let mut msg = Message::new();
        for (i, want) in expected.iter().enumerate() {
            receive(s, &mut msg).map_err(|e| format!("subscriber {n}, message {i}: {e}"))?;
            ensure_eq!(msg.kind(), MessageKind::Group, "subscriber {n}, kind {i}");
            ensure!(
                msg.payload() == want.as_slice(),
                "subscriber {n}: message {i} differs"
            );
            ensure_eq!(msg.missed(), 0, "missed");
            ensure_eq!(
                msg.group().map(|g| g.to_string()),
                Some("g".into()),
                "group"
            );
        }
        if n == 0 {
            receive(s, &mut msg)?;
            ensure_eq!(
                msg.payload(),
                b"direct",
                "the unicast after the group messages"
            );
        }
        expect_silence(s, &format!("subscriber {n}"))?;
    }
    Ok(())
}

fn receive_many() -> TestResult {
    let receiver = Handler::new("e2e_b_many").ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut msgs: Vec<Message> = (0..48).map(|_| Message::new()).collect();

    // Nothing queued: WouldBlock at once, Timeout after waiting.
    let err = receiver.receive_many(&mut msgs, Wait::Never).unwrap_err();
    ensure_eq!(
        err.kind(),
        ErrorKind::WouldBlock,
        "empty queue, Wait::Never"
    );
    let err = receiver
        .receive_many(&mut msgs, Wait::Timeout(Duration::from_millis(100)))
        .unwrap_err();
    ensure_eq!(err.kind(), ErrorKind::Timeout, "empty queue, Wait::Timeout");

    let count = 40;
    let sent: Vec<Vec<u8>> = (0..count).map(|i| payload(i, 10 + i * 50)).collect();
    let mut batch = Batch::new();
    for p in &sent {
        batch.unicast("e2e_b_many", p).ctx("add")?;
    }
    let report = sender.send_batch(&mut batch).ctx("send batch")?;
    ensure!(
        report.failures.is_empty(),
        "failures: {:?}",
        report.failures
    );

    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut calls = 0;
    let mut largest = 0;
    while got.len() < count && calls < count {
        let n = receiver
            .receive_many(&mut msgs, Wait::Timeout(SOON))
            .ctx("receive_many")?;
        ensure!(n >= 1 && n <= msgs.len(), "receive_many returned {n}");
        calls += 1;
        largest = largest.max(n);
        for m in &msgs[..n] {
            ensure_eq!(m.kind(), MessageKind::Unicast, "kind");
            ensure_eq!(m.sender().port, sender.port(), "stamp");
            got.push(m.payload().to_vec());
        }
    }
    ensure!(got == sent, "received messages differ from the sent ones");
    ensure!(largest > 1, "never more than one message per call");
    note(&format!("{count} messages in {calls} receive_many calls"));

    // A slice shorter than the queue takes exactly its length; the rest
    // stays queued for the next call.
    for i in 0..5 {
        batch.unicast("e2e_b_many", &payload(i, 3)).ctx("add")?;
    }
    sender.send_batch(&mut batch).ctx("send 5")?;
    let n = receiver
        .receive_many(&mut msgs[..2], Wait::Timeout(SOON))
        .ctx("receive 2")?;
    ensure_eq!(n, 2, "filled of 2");
    ensure_eq!(msgs[1].payload(), payload(1, 3).as_slice(), "second");
    let n = receiver
        .receive_many(&mut msgs, Wait::Forever)
        .ctx("receive the rest")?;
    ensure_eq!(n, 3, "the rest");
    ensure_eq!(msgs[2].payload(), payload(4, 3).as_slice(), "last");
    ensure_eq!(
        receiver
            .receive_many(&mut [], Wait::Never)
            .ctx("empty slice")?,
        0,
        "an empty slice"
    );
    expect_silence(&receiver, "after receive_many")
}

/// Batches from one thread while another sends single requests on the same
/// handler: every answer reaches its own request.
fn interleaved_with_requests() -> TestResult {
    const ROUNDS: usize = 200;
    let receiver = PeerOptions::named("e2e_b_inter")
        .ctx("options")?
        .recv_buffer(8 << 20)
        .open()
        .ctx("register receiver")?;
    let sender = Arc::new(Handler::new("e2e_b_isend").ctx("register sender")?);
    let other = Arc::clone(&sender);
    let singles = std::thread::spawn(move || -> Result<(), String> {
        for i in 0..ROUNDS {
            other
                .send_unicast("e2e_b_inter", b"single")
                .ctx(&format!("single {i}"))?;
            if !other
                .directory()
                .is_peer_present("e2e_b_inter")
                .ctx("look-up")?
            {
                return Err("look-up lost its answer".into());
            }
            let err = other.send_unicast("e2e_b_gone", b"x").unwrap_err();
            if err.kind() != ErrorKind::NotFound {
                return Err(format!("single to a missing peer: {err}"));
            }
        }
        Ok(())
    });
    let mut batch = Batch::new();
    let mut batched = 0;
    for round in 0..ROUNDS {
        for i in 0..4 {
            batch.unicast("e2e_b_inter", &payload(i, 8)).ctx("add")?;
        }
        batch.unicast("e2e_b_gone", b"x").ctx("add missing")?;
        let report = sender.send_batch(&mut batch).ctx("send batch")?;
        let indexes: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
        ensure_eq!(indexes, vec![4], "round {round}: failed indexes");
        batched += 4;
    }
    singles
        .join()
        .map_err(|_| "the single-request thread panicked".to_string())??;
    let mut msg = Message::new();
    let mut received = 0;
    while receiver.receive(&mut msg, Wait::Never).is_ok() {
        received += 1;
    }
    ensure_eq!(received, batched + ROUNDS, "messages received");
    Ok(())
}

fn no_heap_allocation() -> TestResult {
    const ROUNDS: usize = 200;
    let receiver = Handler::new("e2e_b_alloc").ctx("register receiver")?;
    let sender = Handler::anonymous().ctx("register sender")?;
    let mut batch = Batch::new();
    let mut msgs: Vec<Message> = (0..16).map(|_| Message::new()).collect();
    let data = [0x5au8; 256];
    let mut round = |batch: &mut Batch| -> Result<(), &'static str> {
        for _ in 0..16 {
            batch.unicast("e2e_b_alloc", &data).map_err(|_| "add")?;
        }
        let report = sender.send_batch(batch).map_err(|_| "send")?;
        if !report.failures.is_empty() {
            return Err("a message failed");
        }
        let mut left = 16;
        while left > 0 {
            let n = receiver
                .receive_many(&mut msgs, Wait::Forever)
                .map_err(|_| "receive_many")?;
            left -= n.min(left);
        }
        Ok(())
    };
    for _ in 0..10 {
        round(&mut batch).map_err(|e| format!("warm-up: {e}"))?;
    }
    let before = allocations();
    let started = Instant::now();
    let mut failure = None;
    for _ in 0..ROUNDS {
        if let Err(e) = round(&mut batch) {
            failure = Some(e);
            break;
        }
    }
    let batched = started.elapsed();
    let allocated = allocations() - before;
    if let Some(e) = failure {
        return Err(format!("steady-state round failed: {e}"));
    }
    ensure_eq!(allocated, 0, "heap allocations in {ROUNDS} batch rounds");

    // The same messages one system call each, for the note's comparison
    // (a rough figure: the VM is emulated and shared).
    let mut msg = Message::new();
    let started = Instant::now();
    for _ in 0..ROUNDS * 16 {
        sender
            .send_unicast("e2e_b_alloc", &data)
            .ctx("single send")?;
        receiver
            .receive(&mut msg, Wait::Forever)
            .ctx("single receive")?;
    }
    let single = started.elapsed();
    let rate = |d: Duration| (ROUNDS * 16) as f64 / d.as_secs_f64();
    note(&format!(
        "256-byte unicast send+receive: {:.0} msg/s in batches of 16 with receive_many, \
         {:.0} msg/s one call each",
        rate(batched),
        rate(single)
    ));
    Ok(())
}
