//! The pid stamp is the sender's pid as the receiver's pid namespace sees it
//! (0 when the sender is not visible there), never the number the sender's
//! own pid namespace gave it: a process in its own pid namespace is pid 1
//! there, and must not be able to pass for pid 1 (or any chosen pid) of the
//! receiver's namespace. Checked for unicast (built and, posted, forwarded),
//! multicast (one publish, two namespaces), replay, peer-get and kernel
//! events.

use std::process::Command;
use std::time::Duration;

use ipcon_linux::{Directory, Handler, KeventMonitor, Message, MessageKind, Replay};

use crate::common::{helper_outcome, next_kevent, receive_kind};
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] =
    &[Test::new("security_pid_stamp_as_receiver_sees_it", pid_stamps).timeout(60)];

const RECEIVER: &str = "e2e_s_pid_rx";
const OWNER: &str = "e2e_s_pid_owner";
const INSIDE: &str = "e2e_s_pid_in";

/// `__child security pidns`: starts `pidns-peer` as pid 1 of a new pid
/// namespace, prints `hostpid N` (its pid here) and waits for it.
pub fn start_in_new_pid_namespace() -> TestResult {
    // SAFETY: unshare(2) takes a flag word and touches no memory.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(format!(
            "unshare(CLONE_NEWPID): {}",
            std::io::Error::last_os_error()
        ));
    }
    // The first child is the new namespace's pid 1.
    let mut child = Command::new("/proc/self/exe")
        .args(["__child", "security", "pidns-peer"])
        .spawn()
        .ctx("start the peer in the new pid namespace")?;
    println!("hostpid {}", child.id());
    let status = child.wait().ctx("wait for it")?;
    ensure!(
        status.success(),
        "the peer in the new pid namespace: {status}"
    );
    Ok(())
}

/// `__child security pidns-peer`: the peer inside the new pid namespace.
pub fn peer_in_new_pid_namespace() -> TestResult {
    let me = std::process::id();
    ensure_eq!(me, 1, "own pid in the new pid namespace");
    let peer = Handler::new(INSIDE).ctx("register inside")?;
    let mut msg = Message::new();
    peer.join_group(OWNER, "g", Replay::LastMessage)
        .ctx("join with replay")?;
    let text = receive_kind(&peer, &mut msg, MessageKind::Group)?;
    ensure_eq!(text, "before", "replayed message");
    ensure_eq!(msg.sender().pid, 0, "replayed stamp: the owner is outside");
    println!("ready");
    peer.send_unicast(RECEIVER, b"hello").ctx("unicast out")?;
    // Posted, the module stamps the request itself (forwarding): the same pid.
    peer.post_unicast(RECEIVER, b"posted hello")
        .ctx("posted unicast out")?;
    let text = receive_kind(&peer, &mut msg, MessageKind::Group)?;
    ensure_eq!(text, "after", "published message");
    ensure_eq!(msg.sender().pid, 0, "multicast stamp: the owner is outside");
    let text = receive_kind(&peer, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "direct", "unicast in");
    ensure_eq!(msg.sender().pid, 0, "unicast stamp: the sender is outside");
    let text = receive_kind(&peer, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "posted direct", "posted unicast in");
    ensure_eq!(
        msg.sender().pid,
        0,
        "posted unicast stamp: the sender is outside"
    );
    peer.send_unicast(INSIDE, b"self")
        .ctx("unicast to itself")?;
    receive_kind(&peer, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(msg.sender().pid, me, "its own stamp, as it sees itself");
    let dir = Directory::open().ctx("directory")?;
    ensure_eq!(
        dir.peer(RECEIVER).ctx("peer-get outside")?.peer.pid,
        0,
        "peer-get of a peer outside"
    );
    ensure_eq!(
        dir.peer(INSIDE).ctx("peer-get itself")?.peer.pid,
        me,
        "peer-get of itself"
    );
    Ok(())
}

fn pid_stamps() -> TestResult {
    let test_pid = std::process::id();
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let receiver = Handler::new(RECEIVER).ctx("register receiver")?;
    let owner = Handler::new(OWNER).ctx("register owner")?;
    owner.register_group("g").ctx("register group")?;
    receiver.join_group(OWNER, "g", Replay::Skip).ctx("join")?;
    owner.send_multicast("g", b"before").ctx("publish before")?;
    let mut msg = Message::new();
    receive_kind(&receiver, &mut msg, MessageKind::Group)?;
    ensure_eq!(
        msg.sender().pid,
        test_pid,
        "multicast stamp in this namespace"
    );

    let helper = Helper::start("security", &["pidns"])?;
    // `hostpid` (from the starter) and `ready` (from the peer) in any order.
    let (mut host_pid, mut ready) = (None, false);
    while host_pid.is_none() || !ready {
        let line = helper.next_line(Duration::from_secs(15))?;
        if let Some(pid) = line.strip_prefix("hostpid ") {
            host_pid = Some(pid.parse::<u32>().ctx("host pid")?);
        } else if line == "ready" {
            ready = true;
        } else if let Some(why) = line.strip_prefix("result fail: ") {
            return Err(format!("inside: {why}"));
        }
    }
    let host_pid = host_pid.ctx("host pid")?;
    ensure!(host_pid != 1, "the peer's pid here is its own, not 1");

    let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "hello", "unicast from inside");
    ensure_eq!(
        msg.sender().pid,
        host_pid,
        "stamp of a sender in its own pid namespace, as this namespace sees it"
    );
    let text = receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "posted hello", "posted unicast from inside");
    ensure_eq!(msg.sender().pid, host_pid, "stamp of its posted unicast");
    // The peer inside waits for "after" now: it is still registered.
    let dir = Directory::open().ctx("directory")?;
    ensure_eq!(
        dir.peer(INSIDE).ctx("peer-get")?.peer.pid,
        host_pid,
        "peer-get here"
    );
    owner.send_multicast("g", b"after").ctx("publish after")?;
    receive_kind(&receiver, &mut msg, MessageKind::Group)?;
    ensure_eq!(
        msg.sender().pid,
        test_pid,
        "the same publish, to a subscriber in this namespace"
    );
    owner.send_unicast(INSIDE, b"direct").ctx("unicast in")?;
    owner
        .post_unicast(INSIDE, b"posted direct")
        .ctx("posted unicast in")?;
    helper_outcome(&helper, Duration::from_secs(15))?;
    for _ in 0..8 {
        let event = next_kevent(&monitor)?;
        let Some(peer) = event.peer() else { continue };
        if peer.name.is_some_and(|n| n == INSIDE) {
            ensure_eq!(peer.pid, host_pid, "kernel event's pid ({event})");
            return Ok(());
        }
    }
    Err("no peer-add event for the peer inside".into())
}
