//! The kernel keeps nothing of a peer that is gone: thousands of peers, each
//! with a control socket, a group holding a cached message, a membership and
//! a delivery, come and go, and the kmalloc caches do not grow with them (a
//! leak of any object kind would show as thousands of objects).

use std::time::{Duration, Instant};

use ipcon_linux::{Handler, Message, Replay, Wait};

use crate::common::SOON;
use crate::ensure;
use crate::harness::{note, Context, Test, TestResult};

pub const TESTS: &[Test] =
    &[Test::new("leak_probe_peers_come_and_go", peers_come_and_go).timeout(240)];

/// Rounds measured; a leak of one object per round would exceed the margin.
const ROUNDS: usize = 1500;
/// Growth tolerated: slab caches keep some free objects per CPU and node.
const MARGIN: i64 = 1000;

/// Objects in use in every kmalloc cache (`/proc/slabinfo`).
fn kmalloc_objects() -> Result<i64, String> {
    let text = std::fs::read_to_string("/proc/slabinfo").ctx("read /proc/slabinfo")?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("kmalloc-"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
        .sum())
}

/// Readings taken this far apart must agree for the count to be settled.
const SETTLE_POLL: Duration = Duration::from_millis(200);
/// How far apart two readings may be and still agree (per-CPU slab churn).
const SETTLE_AGREE: i64 = 50;
/// Waited at least: two early readings, taken before the grace periods
/// below ended, could otherwise agree.
const SETTLE_MIN: Duration = Duration::from_secs(1);
/// Waited at most: after this the last reading is taken as it is.
const SETTLE_MAX: Duration = Duration::from_secs(10);

/// [`kmalloc_objects`] once the count has settled: a gone peer's objects
/// are freed one or two RCU grace periods later (kfree_rcu, queue_rcu_work),
/// which a stalled vCPU delays by seconds, so no fixed wait fits. Re-read
/// every [`SETTLE_POLL`] until two readings in a row agree (after at least
/// [`SETTLE_MIN`]) or [`SETTLE_MAX`] has passed (the note shows which);
/// leaked objects stay counted however long it waits, so a leak still shows.
fn settled_kmalloc_objects() -> Result<(i64, Duration), String> {
    let started = Instant::now();
    let mut last = kmalloc_objects()?;
    loop {
        std::thread::sleep(SETTLE_POLL);
        let now = kmalloc_objects()?;
        let waited = started.elapsed();
        if ((now - last).abs() <= SETTLE_AGREE && waited >= SETTLE_MIN) || waited >= SETTLE_MAX {
            return Ok((now, waited));
        }
        last = now;
    }
}

/// One peer with everything it can own, and a subscriber, gone again.
fn round(i: usize, msg: &mut Message) -> TestResult {
    let owner = Handler::new(&format!("e2e_leak{}", i % 4)).ctx("register owner")?;
    owner.register_group("g").ctx("group")?;
    owner.send_multicast("g", b"cached").ctx("publish")?;
    let member = Handler::anonymous().ctx("register member")?;
    member
        .join_group(
            owner.name().map_or("", |n| n.as_str()),
            "g",
            Replay::LastMessage,
        )
        .ctx("join")?;
    member.receive(msg, Wait::Timeout(SOON)).ctx("replay")?;
    owner
        .send_unicast_to_port(member.port(), b"hello")
        .ctx("unicast")?;
    member.receive(msg, Wait::Timeout(SOON)).ctx("delivery")?;
    Ok(())
}

fn peers_come_and_go() -> TestResult {
    let mut msg = Message::new();
    for i in 0..200 {
        round(i, &mut msg)?;
    }
    let (before, settled_before) = settled_kmalloc_objects()?;
    let rounds = crate::harness::stress_count(ROUNDS as u32) as usize;
    for i in 0..rounds {
        round(i, &mut msg).map_err(|e| format!("round {i}: {e}"))?;
    }
    let (after, settled_after) = settled_kmalloc_objects()?;
    note(&format!(
        "kmalloc objects before {rounds} rounds {before}, after {after} (settled after \
         {:.1}s and {:.1}s)",
        settled_before.as_secs_f64(),
        settled_after.as_secs_f64()
    ));
    ensure!(
        after - before < MARGIN,
        "kmalloc objects grew by {} over {rounds} rounds of peers",
        after - before
    );
    Ok(())
}
