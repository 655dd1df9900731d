//! Steady-state sending and receiving does no heap allocation (counted by
//! the suite's global allocator).

use ipcon_linux::{Handler, Message, MessageKind};
use ipcon_linux::{Replay, Wait};

use crate::ensure_eq;
use crate::harness::{Context, Test, TestResult};
use ipcon_test_support::alloc_count::allocations;

pub const TESTS: &[Test] = &[Test::new("no_heap_allocation_steady_state", steady_state)];

const ROUNDS: usize = 1000;

/// One round: a unicast to itself, an async and a sync multicast, a
/// receive of each, a would-block receive.
fn round(
    peer: &Handler,
    sub: &Handler,
    msg: &mut Message,
    payload: &[u8],
) -> Result<(), &'static str> {
    peer.send_unicast("e2e_alloc", payload)
        .map_err(|_| "unicast")?;
    peer.receive(msg, Wait::Forever)
        .map_err(|_| "receive unicast")?;
    if msg.kind() != MessageKind::Unicast || msg.payload() != payload {
        return Err("wrong unicast");
    }
    peer.send_multicast("g", payload).map_err(|_| "multicast")?;
    let report = peer
        .send_multicast_sync("g", payload)
        .map_err(|_| "sync multicast")?;
    if report.delivered != 1 {
        return Err("sync report");
    }
    for _ in 0..2 {
        sub.receive(msg, Wait::Forever)
            .map_err(|_| "receive group")?;
        if msg.kind() != MessageKind::Group {
            return Err("wrong group message");
        }
    }
    if sub.receive(msg, Wait::Never).is_ok() {
        return Err("extra message");
    }
    peer.send_unicast_to_port(sub.port(), payload)
        .map_err(|_| "unicast by port")?;
    sub.receive(msg, Wait::Forever)
        .map_err(|_| "receive by port")?;
    Ok(())
}

fn steady_state() -> TestResult {
    let peer = Handler::new("e2e_alloc").ctx("register")?;
    peer.register_group("g").ctx("group")?;
    let sub = Handler::anonymous().ctx("subscriber")?;
    sub.join_group("e2e_alloc", "g", Replay::Skip).ctx("join")?;
    let mut msg = Message::new();
    let payload = [0x42u8; 512];
    for _ in 0..50 {
        round(&peer, &sub, &mut msg, &payload)?;
    }
    // The counter must see an allocation, or a 0 below would prove nothing.
    let probe_before = allocations();
    let probe = std::hint::black_box(Box::new([0u8; 64]));
    drop(probe);
    ensure_eq!(
        allocations() - probe_before,
        1,
        "allocations counted for one Box"
    );

    let before = allocations();
    let mut failure = None;
    for _ in 0..ROUNDS {
        if let Err(e) = round(&peer, &sub, &mut msg, &payload) {
            failure = Some(e);
            break;
        }
    }
    let allocated = allocations() - before;
    if let Some(e) = failure {
        return Err(format!("steady-state round failed: {e}"));
    }
    ensure_eq!(
        allocated,
        0,
        "heap allocations in {ROUNDS} steady-state rounds"
    );
    Ok(())
}
