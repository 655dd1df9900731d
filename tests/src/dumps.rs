//! Dumps: peer and group listings with counters matching what was sent, and
//! their filters (`peer-name`/`port`, `peer-name`/`group-name`) honoured, or
//! refused with an extended ACK, never ignored.

use ipcon_linux::Replay;
use ipcon_linux::{Directory, GroupAccess, Handler, Message, PeerFlags};

use crate::common::{euid, receive, SOON};
use crate::harness::{Context, Test, TestResult};
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{
    attr, cmd, packets, Ack, MsgBuilder, RawSocket, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP,
    NLM_F_REQUEST,
};

pub const TESTS: &[Test] = &[
    Test::new("dump_peers_and_groups_counters", counters),
    Test::new("dump_filters_honoured_or_refused", filters),
];

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

/// What a dump request got: the attributes of each reply, or the error ACK.
type DumpResult = Result<Vec<Vec<(u16, Vec<u8>)>>, Ack>;

/// Sends a dump request (without `NLM_F_ACK`) and collects its replies until
/// `NLMSG_DONE`, or the error that refused it.
fn raw_dump(
    socket: &RawSocket,
    family: u16,
    seq: u32,
    command: u8,
    filters: &[(u16, Vec<u8>)],
) -> Result<DumpResult, String> {
    let mut b = MsgBuilder::new();
    b.begin(family, NLM_F_REQUEST | NLM_F_DUMP, seq, command, 1);
    for (ty, value) in filters {
        b.attr(*ty, value);
    }
    socket.send(b.finish()).ctx("send dump")?;
    let mut replies = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let len = socket
            .recv(&mut buf, Some(SOON))
            .ctx("receive dump")?
            .ctx("dump answer within 5 s")?;
        for packet in packets(&buf[..len]) {
            if packet.seq != seq {
                continue;
            }
            match packet.kind {
                NLMSG_DONE => return Ok(Ok(replies)),
                NLMSG_ERROR => return Ok(Err(packet.ack().ctx("error message")?)),
                kind if kind == family => {
                    let (_, attrs) = packet.genl().ctx("generic netlink header")?;
                    replies.push(attrs.iter().map(|(ty, v)| (ty, v.to_vec())).collect());
                }
                _ => {}
            }
        }
    }
}

fn text(value: &str) -> Vec<u8> {
    let mut bytes = value.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

/// The value of attribute `ty` of each reply, as text (names) or a number (u32).
fn column(replies: &[Vec<(u16, Vec<u8>)>], ty: u16) -> Vec<String> {
    let mut values: Vec<String> = replies
        .iter()
        .filter_map(|attrs| attrs.iter().find(|(t, _)| *t == ty))
        .map(|(_, v)| match <[u8; 4]>::try_from(&v[..]) {
            Ok(raw) if ty == attr::PORT => u32::from_ne_bytes(raw).to_string(),
            _ => String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or(&[])).into_owned(),
        })
        .collect();
    values.sort();
    values
}

fn filters() -> TestResult {
    let a = Handler::new("e2e_df_a").ctx("register a")?;
    let b = Handler::new("e2e_df_b").ctx("register b")?;
    let c = Handler::anonymous().ctx("register c")?;
    for g in ["df_g1", "df_g2"] {
        a.register_group(g).ctx("a's group")?;
    }
    b.register_group("df_g1").ctx("b's group")?;
    c.register_group("df_g1").ctx("c's group")?;
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let port = |h: &Handler| (attr::PORT, h.port().to_ne_bytes().to_vec());
    let mut seq = 0;
    let mut dump = |command: u8, filters: &[(u16, Vec<u8>)]| {
        seq += 1;
        raw_dump(&raw, family, seq, command, filters)
    };

    // peer-get: peer-name and port filter, alone and together.
    let peers = dump(cmd::PEER_GET, &[(attr::PEER_NAME, text("e2e_df_a"))])?
        .map_err(|e| format!("peer dump by name refused: {e:?}"))?;
    ensure_eq!(
        column(&peers, attr::PEER_NAME),
        ["e2e_df_a"],
        "peers named e2e_df_a"
    );
    let peers =
        dump(cmd::PEER_GET, &[port(&c)])?.map_err(|e| format!("peer dump by port: {e:?}"))?;
    ensure_eq!(
        column(&peers, attr::PORT),
        [c.port().to_string()],
        "the peer at c's port"
    );
    ensure_eq!(
        column(&peers, attr::PEER_NAME),
        Vec::<String>::new(),
        "c is anonymous"
    );
    let peers = dump(
        cmd::PEER_GET,
        &[(attr::PEER_NAME, text("e2e_df_a")), port(&b)],
    )?
    .map_err(|e| format!("peer dump by name and port: {e:?}"))?;
    ensure!(peers.is_empty(), "a's name at b's port: {peers:?}");
    let peers = dump(cmd::PEER_GET, &[(attr::PEER_NAME, text("e2e_df_nobody"))])?
        .map_err(|e| format!("peer dump of nobody: {e:?}"))?;
    ensure!(peers.is_empty(), "nobody listed: {peers:?}");
    let all = dump(cmd::PEER_GET, &[])?.map_err(|e| format!("full peer dump: {e:?}"))?;
    ensure!(
        all.len() >= 3,
        "the unfiltered dump lists every peer: {}",
        all.len()
    );

    // group-get: owner and group-name filters.
    let groups = dump(cmd::GROUP_GET, &[(attr::PEER_NAME, text("e2e_df_a"))])?
        .map_err(|e| format!("group dump by owner: {e:?}"))?;
    ensure_eq!(
        column(&groups, attr::GROUP_NAME),
        ["df_g1", "df_g2"],
        "a's groups"
    );
    let groups = dump(cmd::GROUP_GET, &[(attr::GROUP_NAME, text("df_g1"))])?
        .map_err(|e| format!("group dump by name: {e:?}"))?;
    ensure_eq!(
        column(&groups, attr::PORT),
        {
            let mut ports = vec![
                a.port().to_string(),
                b.port().to_string(),
                c.port().to_string(),
            ];
            ports.sort();
            ports
        },
        "owners of the groups named df_g1 (an anonymous owner too)"
    );
    let groups = dump(
        cmd::GROUP_GET,
        &[
            (attr::PEER_NAME, text("e2e_df_b")),
            (attr::GROUP_NAME, text("df_g1")),
        ],
    )?
    .map_err(|e| format!("group dump by owner and name: {e:?}"))?;
    ensure_eq!(groups.len(), 1, "b's df_g1");
    ensure_eq!(column(&groups, attr::PEER_NAME), ["e2e_df_b"], "its owner");

    // A filter the dump does not take is refused, never ignored.
    for (command, what) in [(cmd::PEER_GET, "peer"), (cmd::GROUP_GET, "group")] {
        let payload = (attr::PAYLOAD, b"x".to_vec());
        let ack = match dump(command, &[payload])? {
            Ok(replies) => {
                return Err(format!(
                    "{what} dump took a payload filter: {} replies",
                    replies.len()
                ))
            }
            Err(ack) => ack,
        };
        ensure_eq!(
            ack.errno,
            libc::EINVAL,
            "{what} dump with a payload ({:?})",
            ack.message
        );
        ensure_eq!(
            ack.message.as_deref(),
            Some("Unsupported attribute"),
            "{what} dump's extended ACK"
        );
        ensure_eq!(ack.offset, Some(20), "{what} dump: the payload's offset");
        let ack = match dump(command, &[(attr::PEER_NAME, vec![0])])? {
            Ok(_) => return Err(format!("{what} dump took an empty name")),
            Err(ack) => ack,
        };
        ensure_eq!(ack.errno, libc::EINVAL, "{what} dump with an empty name");
        ensure!(
            ack.message
                .as_deref()
                .is_some_and(|m| m.contains("minimum length")),
            "{what} dump, empty name: {:?}",
            ack.message
        );
    }
    let ack = match dump(cmd::PEER_GET, &[(attr::GROUP_NAME, text("df_g1"))])? {
        Ok(_) => return Err("the peer dump took a group-name filter".into()),
        Err(ack) => ack,
    };
    ensure_eq!(
        ack.errno,
        libc::EINVAL,
        "peer dump by group-name ({:?})",
        ack.message
    );
    Ok(())
}
