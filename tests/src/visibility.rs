//! What introspection shows a user: a group whose access rule does not
//! admit it keeps its subscriber count, message count and last message
//! length to itself, and other users' peers keep their message counters to
//! themselves; the same user, a group member, and root see everything.

use std::time::Duration;

use ipcon_linux::{Directory, GroupAccess, GroupInfo, Handler, Replay};

use crate::common::helper_outcome;
use crate::harness::{Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[Test::new(
    "security_restricted_details_hidden",
    restricted_details_hidden,
)];

const USER: u32 = 1000;
const OWNER: &str = "e2e_s_vis_owner";

fn group(dir: &Directory, name: &str) -> Result<GroupInfo, String> {
    dir.group(OWNER, name)
        .ctx(&format!("group-get {name}"))?
        .ctx(&format!("group {name}"))
}

/// Whether `info` shows the details of a group with one subscriber and one
/// 1-byte message.
fn shows_details(info: &GroupInfo) -> bool {
    info.subscribers == 1 && info.tx_msgs == 1 && info.last_msg_len == Some(1)
}

/// `__child security viewer UID`: what user UID is shown.
pub fn viewer(uid: u32) -> TestResult {
    crate::roles::drop_privileges(uid, uid)?;
    let dir = Directory::open().ctx("directory")?;
    ensure!(
        shows_details(&group(&dir, "open")?),
        "an open group's details are hidden: {:?}",
        group(&dir, "open")?
    );
    for name in ["same", "staff"] {
        let info = group(&dir, name)?;
        ensure!(
            info.subscribers == 0 && info.tx_msgs == 0 && info.last_msg_len.is_none(),
            "group {name}, which does not admit uid {USER}, shows {info:?}"
        );
    }
    let dumped = dir.groups(Some(OWNER)).ctx("group dump")?;
    ensure_eq!(dumped.len(), 3, "groups dumped");
    for info in &dumped {
        ensure_eq!(
            shows_details(info),
            info.group == "open",
            "details of {} in the dump ({info:?})",
            info.group
        );
    }
    let owner = dir.peer(OWNER).ctx("peer-get owner")?;
    ensure!(
        owner.tx_msgs == 0 && owner.rx_msgs == 0 && owner.rx_dropped == 0,
        "another user's peer shows its counters: {owner:?}"
    );
    // Its own peer's counters it sees.
    let me = Handler::anonymous().ctx("register")?;
    me.send_unicast(OWNER, b"hello").ctx("unicast")?;
    ensure_eq!(
        dir.peer_by_port(me.port()).ctx("peer-get self")?.tx_msgs,
        1,
        "its own peer's tx"
    );
    Ok(())
}

fn restricted_details_hidden() -> TestResult {
    let owner = Handler::new(OWNER).ctx("register owner")?;
    owner.register_group("open").ctx("open group")?;
    owner
        .register_group_with("same", GroupAccess::SameUid, None)
        .ctx("same-uid group")?;
    owner
        .register_group_with("staff", GroupAccess::Gid, Some(0))
        .ctx("gid 0 group")?;
    let member = Handler::anonymous().ctx("member")?;
    for name in ["open", "same", "staff"] {
        member.join_group(OWNER, name, Replay::Skip).ctx("join")?;
        owner.send_multicast(name, b"x").ctx("publish")?;
    }
    let helper = Helper::start("security", &["viewer", &USER.to_string()])?;
    helper_outcome(&helper, Duration::from_secs(20)).map_err(|e| format!("uid {USER}: {e}"))?;
    // Root sees everything.
    let dir = Directory::open().ctx("directory")?;
    for name in ["open", "same", "staff"] {
        ensure!(
            shows_details(&group(&dir, name)?),
            "root is not shown group {name}: {:?}",
            group(&dir, name)?
        );
    }
    ensure!(
        dir.peer(OWNER).ctx("peer-get")?.tx_msgs >= 3,
        "root is not shown the owner's counters"
    );
    Ok(())
}
