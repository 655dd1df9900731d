//! Concurrency: many threads and processes at once, requests that must not
//! wait behind a blocked receive, parallel registration churn.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_linux::KeventKind;
use ipcon_linux::{ErrorKind, Handler, KeventMonitor, Message, MessageKind, PeerOptions};
use ipcon_linux::{Replay, Wait};

use crate::common::{receive, receive_kind, SOON};
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("concurrency_threads_unicast_8x200", threads_unicast).timeout(90),
    Test::new("concurrency_processes_unicast_4x200", processes_unicast).timeout(90),
    Test::new("concurrency_join_while_receiving", join_while_receiving).timeout(30),
    Test::new("concurrency_registration_churn", registration_churn).timeout(90),
];

/// Sends with a retry when the receiver's queue is momentarily full; the
/// number of retries.
fn send_retrying(sender: &Handler, to: &str, payload: &[u8]) -> Result<u32, String> {
    let mut retries = 0;
    loop {
        match sender.send_unicast(to, payload) {
            Ok(()) => return Ok(retries),
            Err(e) if e.kind() == ErrorKind::QueueFull => {
                retries += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Receives `total` messages `SENDER:INDEX` and checks each sender's indices
/// arrive complete and in order.
fn count_in_order(receiver: &Handler, total: usize, senders: usize) -> Result<(), String> {
    let mut next: HashMap<String, u32> = HashMap::new();
    let mut msg = Message::new();
    for n in 0..total {
        receive(receiver, &mut msg).map_err(|e| format!("message {n} of {total}: {e}"))?;
        ensure_eq!(msg.kind(), MessageKind::Unicast, "kind");
        let text = msg.payload_str().ctx("text payload")?;
        let (who, index) = text.rsplit_once(':').ctx("SENDER:INDEX")?;
        let index: u32 = index.parse().ctx("index")?;
        let expected = next.entry(who.to_owned()).or_insert(0);
        ensure_eq!(index, *expected, "next index from {who}");
        *expected += 1;
    }
    ensure_eq!(next.len(), senders, "distinct senders");
    crate::common::expect_silence(receiver, "after all messages")
}

fn threads_unicast() -> TestResult {
    const THREADS: usize = 8;
    const EACH: u32 = 200;
    let receiver = Arc::new(
        PeerOptions::named("e2e_c_sink")
            .and_then(|o| o.recv_buffer(8 << 20).open())
            .ctx("register receiver")?,
    );
    // Half the threads share one handler (it is Sync), half have their own.
    let shared = Arc::new(Handler::anonymous().ctx("shared sender")?);
    let counter = {
        let receiver = Arc::clone(&receiver);
        std::thread::spawn(move || count_in_order(&receiver, THREADS * EACH as usize, THREADS))
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || -> Result<u32, String> {
                let own;
                let sender: &Handler = if t % 2 == 0 {
                    &shared
                } else {
                    own = Handler::anonymous().ctx("own sender")?;
                    &own
                };
                let mut retries = 0;
                for i in 0..EACH {
                    retries += send_retrying(sender, "e2e_c_sink", format!("t{t}:{i}").as_bytes())
                        .map_err(|e| format!("thread {t} message {i}: {e}"))?;
                }
                Ok(retries)
            })
        })
        .collect();
    let mut retries = 0;
    for (t, worker) in workers.into_iter().enumerate() {
        retries += worker
            .join()
            .map_err(|_| format!("thread {t} panicked"))??;
    }
    counter
        .join()
        .map_err(|_| "receiver thread panicked".to_owned())??;
    crate::harness::note(&format!("{retries} sends retried on a full queue"));
    let info = receiver.directory().peer("e2e_c_sink").ctx("info")?;
    ensure_eq!(
        info.rx_msgs,
        (THREADS as u64) * u64::from(EACH),
        "receiver rx"
    );
    ensure_eq!(
        info.rx_dropped,
        u64::from(retries),
        "refusals counted as rx_dropped"
    );
    Ok(())
}

fn processes_unicast() -> TestResult {
    const PROCESSES: usize = 4;
    const EACH: &str = "200";
    let receiver = PeerOptions::named("e2e_c_psink")
        .and_then(|o| o.recv_buffer(8 << 20).open())
        .ctx("register receiver")?;
    let mut helpers = Vec::new();
    for _ in 0..PROCESSES {
        helpers.push(Helper::start("send", &["e2e_c_psink", EACH])?);
    }
    count_in_order(&receiver, PROCESSES * 200, PROCESSES)?;
    for helper in &mut helpers {
        helper.expect("done", SOON)?;
        let status = helper.wait(SOON)?;
        ensure!(status.success(), "sender process {status}");
    }
    Ok(())
}

fn join_while_receiving() -> TestResult {
    let owner = Handler::new("e2e_c_owner").ctx("register owner")?;
    owner.register_group("a").ctx("group a")?;
    owner.register_group("b").ctx("group b")?;
    let sub = Arc::new(Handler::anonymous().ctx("register subscriber")?);
    let (tx, rx) = mpsc::channel();
    let blocked = {
        let sub = Arc::clone(&sub);
        std::thread::spawn(move || {
            let mut msg = Message::new();
            // Blocks with no deadline: nothing is queued yet.
            for _ in 0..2 {
                let result = sub
                    .receive(&mut msg, Wait::Forever)
                    .map(|()| String::from_utf8_lossy(msg.payload()).into_owned());
                if tx.send(result).is_err() {
                    break;
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // Requests from this thread must not wait behind the blocked receive.
    let started = Instant::now();
    sub.join_group("e2e_c_owner", "a", Replay::Skip)
        .ctx("join a")?;
    sub.join_group("e2e_c_owner", "b", Replay::Skip)
        .ctx("join b")?;
    sub.leave_group("e2e_c_owner", "a").ctx("leave a")?;
    let info = sub
        .directory()
        .group("e2e_c_owner", "b")
        .ctx("look up")?
        .ctx("group b")?;
    ensure_eq!(info.subscribers, 1, "subscribers of b");
    let took = started.elapsed();
    // Requests stuck behind the receive would never return: the bound only
    // tells that from done (loose, as the guest's vCPU can stall for seconds).
    ensure!(
        took < Duration::from_secs(10),
        "join/leave took {took:?} while another thread was receiving"
    );
    ensure!(
        rx.try_recv().is_err(),
        "the receiving thread returned before anything was sent"
    );
    owner.send_multicast("a", b"left").ctx("publish to a")?;
    owner.send_multicast("b", b"joined").ctx("publish to b")?;
    let got = rx
        .recv_timeout(SOON)
        .ctx("the blocked receiver's message")?;
    ensure_eq!(
        got.ctx("receive")?,
        "joined",
        "what the blocked receiver got"
    );
    // The receiver is blocked again; a unicast wakes it too.
    owner
        .send_unicast_to_port(sub.port(), b"direct")
        .ctx("unicast")?;
    let got = rx.recv_timeout(SOON).ctx("second message")?;
    ensure_eq!(got.ctx("receive")?, "direct", "second message");
    blocked
        .join()
        .map_err(|_| "receiver thread panicked".to_owned())?;
    Ok(())
}

fn registration_churn() -> TestResult {
    const THREADS: usize = 4;
    const ROUNDS: usize = 40;
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || -> TestResult {
                for r in 0..ROUNDS {
                    let name = format!("e2e_c_churn{t}_{r}");
                    let handler = Handler::new(&name).ctx("register")?;
                    handler.register_group("g").ctx("group")?;
                    handler
                        .send_unicast(&name, b"self")
                        .ctx("unicast to self")?;
                    let mut msg = Message::new();
                    receive_kind(&handler, &mut msg, MessageKind::Unicast)?;
                }
                Ok(())
            })
        })
        .collect();
    for (t, worker) in workers.into_iter().enumerate() {
        worker
            .join()
            .map_err(|_| format!("thread {t} panicked"))??;
    }
    // 4 events per round: peer-add, group-add, group-remove, peer-remove,
    // in one strictly +1 sequence, each peer's in the documented order.
    let total = THREADS * ROUNDS * 4;
    let events = crate::common::kevents(&monitor, total)?;
    // Keyed by name: a port may be reused once its socket is gone.
    let mut stage: HashMap<String, u8> = HashMap::new();
    for event in &events {
        let name = event
            .peer()
            .and_then(|p| p.name)
            .map(|n| n.to_string())
            .ctx("churn peers are named")?;
        let at = stage.entry(name.clone()).or_insert(0);
        let expected = match event.kind {
            KeventKind::PeerAdd(..) => 0,
            KeventKind::GroupAdd { .. } => 1,
            KeventKind::GroupRemove { .. } => 2,
            KeventKind::PeerRemove { .. } => 3,
            KeventKind::Unknown(_) => return Err(format!("unknown event {event}")),
        };
        ensure_eq!(*at, expected, "stage of {name} at {event}");
        *at += 1;
    }
    ensure_eq!(stage.len(), THREADS * ROUNDS, "peers seen");
    ensure!(
        stage.values().all(|&s| s == 4),
        "a peer's events are incomplete"
    );
    let mut msg = Message::new();
    match monitor.receive(&mut msg, Wait::Timeout(Duration::from_millis(200))) {
        Err(e) if e.kind() == ErrorKind::Timeout => Ok(()),
        other => Err(format!("unexpected extra event: {other:?} {msg:?}")),
    }
}
