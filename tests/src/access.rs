//! Permissions: group access control (same uid, gid), the kernel-only
//! delivery path (no raw datagrams to another socket's port), publishing
//! only to one's own groups, and kernel stamps of an unprivileged sender.

use std::time::Duration;

use ipcon_linux::{ErrorKind, GroupAccess, Handler, Message, MessageKind};
use ipcon_linux::{Replay, Wait};

use crate::common::{expect_error, expect_silence, helper_outcome, receive_kind};
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::RawSocket;

pub const TESTS: &[Test] = &[
    Test::new("access_unprivileged_user", unprivileged_user),
    Test::new("access_same_uid_between_users", same_uid_between_users),
    Test::new(
        "access_root_datagram_to_port_is_dropped",
        root_datagram_dropped,
    ),
];

const USER: u32 = 1000;
const OTHER_USER: u32 = 1001;

fn unprivileged_user() -> TestResult {
    let owner = Handler::new("e2e_a_owner").ctx("register owner")?;
    owner.register_group("open").ctx("open group")?;
    owner
        .register_group_with("same", GroupAccess::SameUid, None)
        .ctx("same-uid group")?;
    owner
        .register_group_with("gid0", GroupAccess::Gid, Some(0))
        .ctx("gid 0 group")?;
    owner
        .register_group_with("gid_user", GroupAccess::Gid, Some(USER))
        .ctx("gid 1000 group")?;
    let target = Handler::new("e2e_a_target").ctx("register target")?;
    let port = target.port().to_string();
    let user = USER.to_string();
    let helper = Helper::start("unpriv", &[&user, "checks", &port])?;
    helper_outcome(&helper, Duration::from_secs(15))?;
    // What the unprivileged peer sent arrived, stamped with its uid and pid.
    let mut msg = Message::new();
    let text = receive_kind(&target, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "from user", "payload");
    ensure_eq!(msg.sender().uid, USER, "stamped uid");
    ensure_eq!(msg.sender().pid, helper.pid(), "stamped pid");
    ensure_eq!(
        msg.sender().name.map(|n| n.to_string()),
        Some("e2e_a_user".to_owned()),
        "stamped name"
    );
    // Its raw datagram never reached the target.
    expect_silence(&target, "after the user's messages")?;
    ensure_eq!(
        target.stats().foreign_dropped,
        0,
        "nothing foreign even reached the socket"
    );
    Ok(())
}

/// The unprivileged side (`__child unpriv UID CASE ...`).
pub fn unprivileged_case(args: &[&str]) -> TestResult {
    match args {
        ["checks", target_port] => checks(target_port.parse().ctx("port")?),
        ["join", owner, group, expect] => {
            let me = Handler::anonymous().ctx("register")?;
            let result = me.join_group(owner, group, Replay::Skip);
            match *expect {
                "ok" => result.ctx("join"),
                _ => expect_error(
                    result,
                    ErrorKind::PermissionDenied,
                    Some(libc::EACCES),
                    "join",
                )
                .map(drop),
            }
        }
        ["own-same-uid", name] => {
            // Registers a same-uid group, says so, then serves until killed.
            let me = Handler::new(name).ctx("register")?;
            me.register_group_with("mine", GroupAccess::SameUid, None)
                .ctx("register same-uid group")?;
            println!("result ok");
            let mut msg = Message::new();
            loop {
                me.receive(&mut msg, Wait::Forever).ctx("receive")?;
            }
        }
        ["fuzz", count, target_port] => {
            let count = count.parse().ctx("count")?;
            let port = target_port.parse().ctx("port")?;
            crate::fuzz::fuzz_run(crate::fuzz::USER_SEED, count, port, "e2e_f_user", || {})
                .map(drop)
        }
        _ => Err(format!("unknown unprivileged case {args:?}")),
    }
}

fn checks(target_port: u32) -> TestResult {
    ensure_eq!(crate::common::euid(), USER, "euid after dropping root");
    let me = Handler::new("e2e_a_user").ctx("an unprivileged user registers")?;
    me.join_group("e2e_a_owner", "open", Replay::LastMessage)
        .ctx("join open group")?;
    expect_error(
        me.join_group("e2e_a_owner", "same", Replay::Skip),
        ErrorKind::PermissionDenied,
        Some(libc::EACCES),
        "join root's same-uid group",
    )?;
    expect_error(
        me.join_group("e2e_a_owner", "gid0", Replay::Skip),
        ErrorKind::PermissionDenied,
        Some(libc::EACCES),
        "join a gid-0 group",
    )?;
    me.join_group("e2e_a_owner", "gid_user", Replay::Skip)
        .ctx("join the gid-1000 group")?;
    expect_error(
        me.send_multicast("open", b"hijack"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "publish to root's group",
    )?;
    expect_error(
        me.unregister_group("open"),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
        "unregister root's group",
    )?;
    // A raw datagram straight to another socket's port: generic netlink
    // does not let unprivileged senders address anyone but the kernel.
    let raw = RawSocket::open().ctx("raw socket")?;
    match raw.send_to(target_port, b"forged delivery bytes, not from the kernel") {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
        Err(e) => return Err(format!("sendto another port: expected EPERM, got {e}")),
        Ok(()) => return Err("sendto another port succeeded for an unprivileged user".into()),
    }
    me.send_unicast("e2e_a_target", b"from user")
        .ctx("unicast to root's peer")?;
    // Its own groups work as for anyone.
    me.register_group("user_group").ctx("register own group")?;
    me.send_multicast("user_group", b"x")
        .ctx("publish to own group")?;
    Ok(())
}

fn same_uid_between_users() -> TestResult {
    let user = USER.to_string();
    let other = OTHER_USER.to_string();
    let owner = Helper::start("unpriv", &[&user, "own-same-uid", "e2e_a_uowner"])?;
    helper_outcome(&owner, Duration::from_secs(10))?;
    // Same uid, another process: admitted.
    let same = Helper::start("unpriv", &[&user, "join", "e2e_a_uowner", "mine", "ok"])?;
    helper_outcome(&same, Duration::from_secs(10)).map_err(|e| format!("uid {USER}: {e}"))?;
    // Another uid: refused.
    let stranger = Helper::start(
        "unpriv",
        &[&other, "join", "e2e_a_uowner", "mine", "denied"],
    )?;
    helper_outcome(&stranger, Duration::from_secs(10))
        .map_err(|e| format!("uid {OTHER_USER}: {e}"))?;
    // Root has CAP_NET_ADMIN: always admitted.
    let root = Handler::anonymous().ctx("root peer")?;
    root.join_group("e2e_a_uowner", "mine", Replay::Skip)
        .ctx("root joins a user's same-uid group")?;
    Ok(())
}

fn root_datagram_dropped() -> TestResult {
    // Root may address another socket directly; the library must not take
    // such a datagram for a delivery (only port 0, the kernel, delivers).
    let target = Handler::new("e2e_a_rawtarget").ctx("register target")?;
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    // A perfectly formed unicast delivery, forged.
    let forged = ipcon_test_support::rawnl::MsgBuilder::new()
        .begin(family, 0, 0, ipcon_test_support::rawnl::cmd::UNICAST_MSG, 1)
        .attr_str(ipcon_test_support::rawnl::attr::PEER_NAME, "forger")
        .attr(ipcon_test_support::rawnl::attr::PORT, &1u32.to_ne_bytes())
        .attr(ipcon_test_support::rawnl::attr::PAYLOAD, b"forged")
        .finish()
        .to_vec();
    raw.send_to(target.port(), &forged)
        .ctx("root sendto the target's port")?;
    let sender = Handler::anonymous().ctx("sender")?;
    sender
        .send_unicast("e2e_a_rawtarget", b"genuine")
        .ctx("genuine unicast")?;
    let mut msg = Message::new();
    let text = receive_kind(&target, &mut msg, MessageKind::Unicast)?;
    ensure_eq!(text, "genuine", "the first message taken is the kernel's");
    ensure_eq!(
        target.stats().foreign_dropped,
        1,
        "forged datagrams dropped"
    );
    ensure!(msg.sender().port == sender.port(), "genuine sender port");
    expect_silence(&target, "nothing else")
}
