//! Dumps: peer and group listings with counters matching what was sent.

use ipcon_linux::Replay;
use ipcon_linux::{Directory, GroupAccess, Handler, Message, PeerFlags};

use crate::common::{euid, receive};
use crate::harness::{Context, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[Test::new("dump_peers_and_groups_counters", counters)];

fn counters() -> TestResult {
    let a = Handler::new("e2e_d_a").ctx("register a")?;
    let b = Handler::new("e2e_d_b").ctx("register b")?;
    let c = Handler::anonymous().ctx("register c")?;
    b.register_group("g").ctx("group g")?;
    b.register_group_with("restricted", GroupAccess::Gid, Some(1000))
        .ctx("group restricted")?;
    a.join_group("e2e_d_b", "g", Replay::Skip).ctx("a joins")?;
    c.join_group("e2e_d_b", "g", Replay::Skip).ctx("c joins")?;
    let mut msg = Message::new();
    for i in 0..5 {
        a.send_unicast("e2e_d_b", format!("u{i}").as_bytes())
            .ctx("unicast")?;
        receive(&b, &mut msg)?;
    }
    for i in 0..3 {
        b.send_multicast("g", format!("m{i}").as_bytes())
            .ctx("multicast")?;
        receive(&a, &mut msg)?;
        receive(&c, &mut msg)?;
    }
    b.send_multicast("restricted", b"12345678")
        .ctx("multicast restricted")?;

    let dir = Directory::open().ctx("directory")?;
    let peers = dir.peers().ctx("peer dump")?;
    let find = |port: u32| peers.iter().find(|p| p.peer.port == port).copied();
    let pa = find(a.port()).ctx("a in the dump")?;
    let pb = find(b.port()).ctx("b in the dump")?;
    let pc = find(c.port()).ctx("c in the dump")?;
    ensure_eq!(
        pa.peer.name.map(|n| n.to_string()),
        Some("e2e_d_a".into()),
        "a's name"
    );
    ensure_eq!(
        (pa.tx_msgs, pa.rx_msgs, pa.rx_dropped, pa.groups),
        (5, 3, 0, 0),
        "a's counters (tx, rx, dropped, groups)"
    );
    ensure_eq!(
        (pb.tx_msgs, pb.rx_msgs, pb.rx_dropped, pb.groups),
        (4, 5, 0, 2),
        "b's counters"
    );
    ensure_eq!(
        (pc.tx_msgs, pc.rx_msgs, pc.rx_dropped, pc.groups),
        (0, 3, 0, 0),
        "c's counters"
    );
    ensure!(
        pc.peer.flags.contains(PeerFlags::ANONYMOUS) && pc.peer.name.is_none(),
        "c is anonymous: {pc:?}"
    );
    ensure!(
        !pa.peer.flags.contains(PeerFlags::ANONYMOUS),
        "a is named: {pa:?}"
    );
    for p in [&pa, &pb, &pc] {
        ensure_eq!(p.peer.pid, std::process::id(), "pid of {p}");
        ensure_eq!(p.peer.uid, euid(), "uid of {p}");
    }
    // The single look-up agrees with the dump.
    ensure_eq!(dir.peer("e2e_d_b").ctx("peer-get")?, pb, "peer-get vs dump");
    ensure_eq!(
        dir.peer_by_port(c.port()).ctx("peer-get by port")?,
        pc,
        "peer-get by port vs dump"
    );

    let groups = dir.groups(Some("e2e_d_b")).ctx("group dump of b")?;
    ensure_eq!(groups.len(), 2, "b's groups");
    let g = groups.iter().find(|g| g.group == "g").ctx("g listed")?;
    ensure_eq!(
        g.owner.map(|n| n.to_string()),
        Some("e2e_d_b".into()),
        "owner"
    );
    ensure_eq!(g.owner_port, b.port(), "owner port");
    ensure_eq!(
        (g.subscribers, g.tx_msgs, g.last_msg_len),
        (2, 3, Some(2)),
        "g (subscribers, tx, last)"
    );
    ensure_eq!(g.access, GroupAccess::Open, "g access");
    ensure_eq!(g.gid, None, "g gid");
    let r = groups
        .iter()
        .find(|g| g.group == "restricted")
        .ctx("restricted listed")?;
    ensure_eq!(
        (r.access, r.gid),
        (GroupAccess::Gid, Some(1000)),
        "restricted access"
    );
    ensure_eq!(
        (r.subscribers, r.tx_msgs, r.last_msg_len),
        (0, 1, Some(8)),
        "restricted counters"
    );
    ensure_eq!(
        dir.group("e2e_d_b", "g").ctx("group-get")?.as_ref(),
        Some(g),
        "group-get vs dump"
    );
    let all = dir.groups(None).ctx("full group dump")?;
    ensure!(all.iter().any(|x| x == g), "g missing from the full dump");
    ensure!(
        dir.groups(Some("e2e_d_a")).ctx("dump of a")?.is_empty(),
        "a owns no groups"
    );
    // Leaving and dropping show in the next dump.
    c.leave_group("e2e_d_b", "g").ctx("c leaves")?;
    drop(a);
    let g = dir.group("e2e_d_b", "g").ctx("group-get")?.ctx("g")?;
    ensure_eq!(g.subscribers, 0, "subscribers after leave and drop");
    ensure!(
        !dir.peers()
            .ctx("dump")?
            .iter()
            .any(|p| p.peer.name.is_some_and(|n| n == "e2e_d_a")),
        "a still listed"
    );
    Ok(())
}
