//! The kernel keeps nothing of a peer that is gone: thousands of peers, each
//! with a control socket, a group holding a cached message, a membership and
//! a delivery, come and go, and the kmalloc caches do not grow with them (a
//! leak of any object kind would show as thousands of objects).

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
    std::thread::sleep(std::time::Duration::from_secs(1));
    let before = kmalloc_objects()?;
    let rounds = crate::harness::stress_count(ROUNDS as u32) as usize;
    for i in 0..rounds {
        round(i, &mut msg).map_err(|e| format!("round {i}: {e}"))?;
    }
    std::thread::sleep(std::time::Duration::from_secs(1));
    let after = kmalloc_objects()?;
    note(&format!(
        "kmalloc objects before {rounds} rounds {before}, after {after}"
    ));
    ensure!(
        after - before < MARGIN,
        "kmalloc objects grew by {} over {rounds} rounds of peers",
        after - before
    );
    Ok(())
}
