//! Limits: payload size (with the kernel's extended-ACK text), name rules,
//! groups per peer, subscriptions per peer, peers per namespace.

use ipcon_linux::Replay;
use ipcon_linux::{Directory, ErrorKind, Handler, Message, MessageKind, PeerOptions};

use crate::common::{expect_error, module_param, receive_kind};
use crate::harness::{Context, Test, TestResult};
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{attr, cmd, Ack, MsgBuilder, RawSocket, NLM_F_ACK, NLM_F_REQUEST};

pub const TESTS: &[Test] = &[
    Test::new("limit_payload_too_big_kernel_text", payload_too_big),
    Test::new("limit_invalid_names", invalid_names),
    Test::new("limit_groups_per_peer", groups_per_peer),
    Test::new("limit_subscriptions_per_peer", subscriptions_per_peer).timeout(60),
    Test::new("limit_peers_per_namespace", peers_per_namespace).timeout(90),
];

/// Sends one ipcon request on a raw socket and returns the kernel's ACK.
pub fn raw_request(
    socket: &RawSocket,
    family: u16,
    seq: u32,
    command: u8,
    build: impl FnOnce(&mut MsgBuilder) -> &mut MsgBuilder,
) -> Result<Ack, String> {
    raw_request_answered(socket, family, seq, command, build, |_, _| {})
}

/// [`raw_request`], handing every other message of the request's sequence
/// number (a reply, a notice) to `on_reply` as its type and body.
pub fn raw_request_answered(
    socket: &RawSocket,
    family: u16,
    seq: u32,
    command: u8,
    build: impl FnOnce(&mut MsgBuilder) -> &mut MsgBuilder,
    on_reply: impl FnMut(u16, &[u8]),
) -> Result<Ack, String> {
    let mut msg = MsgBuilder::new();
    msg.begin(family, NLM_F_REQUEST | NLM_F_ACK, seq, command, 1);
    build(&mut msg);
    socket.request(msg.finish(), seq, on_reply)
}

fn expect_ack(ack: Ack, errno: i32, what: &str) -> Result<Ack, String> {
    ensure!(
        ack.errno == errno,
        "{what}: expected {}, got {} (kernel text {:?})",
        errno_name(errno),
        errno_name(ack.errno),
        ack.message
    );
    Ok(ack)
}

/// `EMSGSIZE (90)`: errno values as the protocol documents them.
fn errno_name(errno: i32) -> String {
    let name = match errno {
        0 => "success",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ERANGE => "ERANGE",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOENT => "ENOENT",
        libc::EEXIST => "EEXIST",
        libc::EALREADY => "EALREADY",
        libc::ENOTCONN => "ENOTCONN",
        libc::EPROTO => "EPROTO",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        _ => "errno",
    };
    format!("{name} ({errno})")
}

fn payload_too_big() -> TestResult {
    let limit = module_param("max_payload")? as usize;
    let receiver = Handler::new("e2e_l_big").ctx("register receiver")?;
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let ack = raw_request(&raw, family, 1, cmd::PEER_REGISTER, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_l_raw")
    })?;
    expect_ack(ack, 0, "raw register")?;
    let fits = vec![0x5a; limit];
    let ack = raw_request(&raw, family, 2, cmd::UNICAST, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_l_big")
            .attr(attr::PAYLOAD, &fits)
    })?;
    expect_ack(ack, 0, "largest payload")?;
    let mut msg = Message::new();
    receive_kind(&receiver, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(msg.payload().len(), limit, "largest payload's length");
    for (seq, len) in [(3, limit + 1), (4, 2049), (5, 4000)] {
        let big = vec![0xa5; len];
        let ack = raw_request(&raw, family, seq, cmd::UNICAST, |b| {
            b.attr_str(attr::PEER_NAME, "e2e_l_big")
                .attr(attr::PAYLOAD, &big)
        })?;
        let ack = expect_ack(ack, libc::EMSGSIZE, &format!("{len}-byte unicast"))?;
        ensure!(
            ack.message.as_deref().is_some_and(|m| !m.is_empty()),
            "no extended-ACK text for a {len}-byte payload"
        );
    }
    let ack = raw_request(&raw, family, 6, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, "g")
    })?;
    expect_ack(ack, 0, "raw group register")?;
    let big = vec![1u8; limit + 1];
    let ack = raw_request(&raw, family, 7, cmd::MULTICAST, |b| {
        b.attr_str(attr::GROUP_NAME, "g").attr(attr::PAYLOAD, &big)
    })?;
    let ack = expect_ack(ack, libc::EMSGSIZE, "oversized multicast")?;
    ensure!(
        ack.message.is_some(),
        "no extended-ACK text for an oversized multicast"
    );
    // The library refuses before sending.
    let sender = Handler::anonymous().ctx("library sender")?;
    expect_error(
        sender.send_unicast("e2e_l_big", &[0; 2049]),
        ErrorKind::TooBig,
        None,
        "library unicast",
    )?;
    sender.register_group("g").ctx("library group")?;
    expect_error(
        sender.send_multicast("g", &[0; 2049]),
        ErrorKind::TooBig,
        None,
        "library multicast",
    )?;
    crate::common::expect_silence(&receiver, "nothing oversized was delivered")
}

fn invalid_names() -> TestResult {
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let long = "a".repeat(32);
    let cases: [(&str, &[u8]); 6] = [
        ("32 bytes", long.as_bytes()),
        ("slash", b"a/b"),
        ("control character", b"a\x01b"),
        ("DEL", b"a\x7fb"),
        ("empty", b""),
        ("newline", b"name\n"),
    ];
    for (seq, (what, name)) in cases.iter().enumerate() {
        let mut bytes = name.to_vec();
        bytes.push(0);
        let ack = raw_request(&raw, family, seq as u32 + 1, cmd::PEER_REGISTER, |b| {
            b.attr(attr::PEER_NAME, &bytes)
        })?;
        let ack = expect_ack(ack, libc::EINVAL, &format!("register a name with {what}"))?;
        ensure!(
            ack.message.is_some(),
            "no extended-ACK text for a name with {what}"
        );
    }
    // Without the NUL terminator.
    let ack = raw_request(&raw, family, 20, cmd::PEER_REGISTER, |b| {
        b.attr(attr::PEER_NAME, b"abcd")
    })?;
    expect_ack(ack, libc::EINVAL, "name without NUL")?;
    // The library checks names before sending; 31 bytes is the longest.
    expect_error(
        Handler::new(&long),
        ErrorKind::InvalidName,
        None,
        "library, 32 bytes",
    )?;
    expect_error(
        Handler::new("a/b"),
        ErrorKind::InvalidName,
        None,
        "library, slash",
    )?;
    let longest = "b".repeat(31);
    let peer = Handler::new(&longest).ctx("31-byte name")?;
    peer.register_group(&"c".repeat(31))
        .ctx("31-byte group name")?;
    expect_error(
        peer.register_group(&long),
        ErrorKind::InvalidName,
        None,
        "library, 32-byte group",
    )?;
    let dir = Directory::open().ctx("directory")?;
    ensure!(
        dir.is_peer_present(&longest).ctx("look up")?,
        "31-byte name not found"
    );
    // Invalid group names through the raw socket, as a registered peer.
    let ack = raw_request(&raw, family, 21, cmd::PEER_REGISTER, |b| b)?;
    expect_ack(ack, 0, "raw anonymous register")?;
    let ack = raw_request(&raw, family, 22, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, "x/y")
    })?;
    let ack = expect_ack(ack, libc::EINVAL, "group name with slash")?;
    ensure!(
        ack.message.is_some(),
        "no extended-ACK text for a group name with a slash"
    );
    let ack = raw_request(&raw, family, 23, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, &long)
    })?;
    expect_ack(ack, libc::EINVAL, "32-byte group name")?;
    Ok(())
}

fn groups_per_peer() -> TestResult {
    let limit = module_param("max_groups_per_peer")?;
    let owner = Handler::new("e2e_l_groups").ctx("register")?;
    for i in 0..limit {
        owner
            .register_group(&format!("g{i}"))
            .ctx(&format!("group {i} of {limit}"))?;
    }
    let err = expect_error(
        owner.register_group("one_too_many"),
        ErrorKind::LimitReached,
        Some(libc::ENOSPC),
        "group over the limit",
    )?;
    ensure!(
        err.kernel_message()
            .is_some_and(|m| m.contains("max_groups_per_peer")),
        "kernel text should name the limit: {err}"
    );
    let dir = Directory::open().ctx("directory")?;
    ensure_eq!(
        dir.peer("e2e_l_groups").ctx("info")?.groups,
        limit,
        "groups owned"
    );
    ensure_eq!(
        dir.groups(Some("e2e_l_groups")).ctx("list")?.len(),
        limit as usize,
        "groups listed"
    );
    // Freeing one makes room for one.
    owner.unregister_group("g0").ctx("unregister one")?;
    owner
        .register_group("one_more")
        .ctx("register after freeing one")?;
    // The limit is per peer: another peer still may register.
    let other = Handler::anonymous().ctx("other peer")?;
    other.register_group("g0").ctx("other peer's group")?;
    Ok(())
}

fn subscriptions_per_peer() -> TestResult {
    let limit = module_param("max_subscriptions_per_peer")? as usize;
    let per_owner = (module_param("max_groups_per_peer")? as usize).max(1);
    let owners_needed = (limit + 1).div_ceil(per_owner);
    let mut owners = Vec::new();
    let mut groups = Vec::new();
    for o in 0..owners_needed {
        let name = format!("e2e_l_subs{o}");
        let owner = Handler::new(&name).ctx("register owner")?;
        for g in 0..per_owner.min(limit + 1 - groups.len()) {
            owner
                .register_group(&format!("g{g}"))
                .ctx("register group")?;
            groups.push((name.clone(), format!("g{g}")));
        }
        owners.push(owner);
    }
    let joiner = Handler::anonymous().ctx("register joiner")?;
    for (owner, group) in &groups[..limit] {
        joiner
            .join_group(owner, group, Replay::Skip)
            .ctx(&format!("join {owner}/{group}"))?;
    }
    let (owner, group) = &groups[limit];
    let err = expect_error(
        joiner.join_group(owner, group, Replay::Skip),
        ErrorKind::LimitReached,
        Some(libc::ENOSPC),
        "join over the limit",
    )?;
    ensure!(
        err.kernel_message()
            .is_some_and(|m| m.contains("max_subscriptions_per_peer")),
        "kernel text should name the limit: {err}"
    );
    let (first_owner, first_group) = &groups[0];
    joiner
        .leave_group(first_owner, first_group)
        .ctx("leave one")?;
    joiner
        .join_group(owner, group, Replay::Skip)
        .ctx("join after leaving one")?;
    Ok(())
}

fn peers_per_namespace() -> TestResult {
    let limit = module_param("max_peers")? as usize;
    ensure!(
        limit <= 4096,
        "max_peers={limit} is too many to reach in a test"
    );
    let rlimit = libc::rlimit {
        rlim_cur: 8192,
        rlim_max: 8192,
    };
    // SAFETY: setrlimit reads one valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    let dir = Directory::open().ctx("directory")?;
    let existing = dir.peers().ctx("list")?.len();
    ensure!(existing < limit, "already {existing} peers");
    let probe = RawSocket::open().ctx("raw socket")?;
    let family = probe.ipcon_family()?;
    let mut peers = Vec::new();
    for i in existing..limit {
        let raw = RawSocket::open().ctx(&format!("raw socket {i}"))?;
        let ack = raw_request(&raw, family, 1, cmd::PEER_REGISTER, |b| b)?;
        expect_ack(ack, 0, &format!("peer {} of {limit}", i + 1))?;
        peers.push(raw);
    }
    ensure_eq!(
        dir.peers().ctx("list")?.len(),
        limit,
        "peers listed at the limit"
    );
    let ack = raw_request(&probe, family, 1, cmd::PEER_REGISTER, |b| b)?;
    let ack = expect_ack(ack, libc::ENOSPC, "peer over the limit")?;
    ensure!(
        ack.message
            .as_deref()
            .is_some_and(|m| m.contains("max_peers")),
        "kernel text should name the limit: {:?}",
        ack.message
    );
    let err = expect_error(
        PeerOptions::anonymous().open(),
        ErrorKind::LimitReached,
        Some(libc::ENOSPC),
        "library handler over the limit",
    )?;
    ensure!(err.kernel_message().is_some(), "no kernel text: {err}");
    // Closing one frees a slot.
    peers.pop();
    let ack = raw_request(&probe, family, 2, cmd::PEER_REGISTER, |b| b)?;
    expect_ack(ack, 0, "register after one closed")?;
    drop(peers);
    drop(probe);
    Handler::new("e2e_l_after").ctx("register after the limit test")?;
    Ok(())
}
