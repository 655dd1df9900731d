//! Peer and group descriptions returned by look-ups and listings.

use std::fmt;

use ipcon_core::wire::ipcon as wire;
use ipcon_core::{GroupAccess, Name, PeerFlags};

/// A registered peer (from `peer-get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerInfo {
    /// Its name; `None` for an anonymous peer.
    pub name: Option<Name>,
    /// Its port (its identity).
    pub port: u32,
    /// Its process id.
    pub pid: u32,
    /// Its user id.
    pub uid: u32,
    /// Its flags.
    pub flags: PeerFlags,
    /// Messages it sent.
    pub tx_msgs: u64,
    /// Messages queued to it.
    pub rx_msgs: u64,
    /// Messages for it dropped because its queue was full.
    pub rx_dropped: u64,
    /// Groups it owns.
    pub groups: u32,
}

impl PeerInfo {
    pub(crate) fn from_wire(p: &wire::PeerInfo<'_>) -> Self {
        Self {
            name: p.peer.name,
            port: p.peer.port,
            pid: p.peer.pid,
            uid: p.peer.uid,
            flags: p.peer.flags,
            tx_msgs: p.tx_msgs,
            rx_msgs: p.rx_msgs,
            rx_dropped: p.rx_dropped,
            groups: p.groups,
        }
    }
}

/// `peer name=srv port=12 pid=42 uid=0 groups=1 tx=3 rx=4 dropped=0`.
impl fmt::Display for PeerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "peer name={n}")?,
            None => f.write_str("peer anonymous")?,
        }
        write!(
            f,
            " port={} pid={} uid={} groups={} tx={} rx={} dropped={}",
            self.port, self.pid, self.uid, self.groups, self.tx_msgs, self.rx_msgs, self.rx_dropped
        )
    }
}

/// A registered group (from `group-get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupInfo {
    /// The owner's name; `None` if the owner is anonymous.
    pub owner: Option<Name>,
    /// The owner's port.
    pub owner_port: u32,
    /// The group's name.
    pub name: Name,
    /// Who may join.
    pub access: GroupAccess,
    /// The admitted group id, for [`GroupAccess::Gid`].
    pub gid: Option<u32>,
    /// Current subscribers.
    pub subscribers: u32,
    /// Messages published.
    pub tx_msgs: u64,
    /// Payload length of the cached last message, if there is one.
    pub last_msg_len: Option<u32>,
}

impl GroupInfo {
    pub(crate) fn from_wire(g: &wire::GroupInfo<'_>) -> Self {
        Self {
            owner: g.owner,
            owner_port: g.owner_port,
            name: g.group,
            access: g.access,
            gid: g.gid,
            subscribers: g.subscribers,
            tx_msgs: g.tx_msgs,
            last_msg_len: g.last_msg_len,
        }
    }
}

fn access_str(access: GroupAccess) -> &'static str {
    match access {
        GroupAccess::Open => "open",
        GroupAccess::SameUid => "same-uid",
        GroupAccess::Gid => "gid",
        GroupAccess::Unknown(_) => "unknown",
    }
}

/// `group owner=srv/str_msg port=12 access=open subscribers=2 tx=5 last=6`.
impl fmt::Display for GroupInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Some(o) => write!(f, "group {o}/{}", self.name)?,
            None => write!(f, "group port:{}/{}", self.owner_port, self.name)?,
        }
        write!(
            f,
            " port={} access={}",
            self.owner_port,
            access_str(self.access)
        )?;
        if let Some(gid) = self.gid {
            write!(f, " gid={gid}")?;
        }
        write!(f, " subscribers={} tx={}", self.subscribers, self.tx_msgs)?;
        match self.last_msg_len {
            Some(len) => write!(f, " last={len}"),
            None => f.write_str(" last=none"),
        }
    }
}

/// Who may join a group being registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JoinAccess {
    /// Anyone in the network namespace.
    #[default]
    Open,
    /// Only processes with the owner's uid.
    SameUid,
    /// Only processes in this group id.
    Gid(u32),
}

impl JoinAccess {
    /// The `access` and `gid` attributes of a group-register request.
    pub(crate) fn to_wire(self) -> (Option<GroupAccess>, Option<u32>) {
        match self {
            Self::Open => (Some(GroupAccess::Open), None),
            Self::SameUid => (Some(GroupAccess::SameUid), None),
            Self::Gid(gid) => (Some(GroupAccess::Gid), Some(gid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_greppable() {
        let peer = PeerInfo {
            name: Some(Name::new("srv").unwrap()),
            port: 12,
            pid: 42,
            uid: 0,
            groups: 1,
            tx_msgs: 3,
            rx_msgs: 4,
            ..PeerInfo::default()
        };
        assert_eq!(
            peer.to_string(),
            "peer name=srv port=12 pid=42 uid=0 groups=1 tx=3 rx=4 dropped=0"
        );
        let group = GroupInfo {
            owner: None,
            owner_port: 7,
            name: Name::new("g").unwrap(),
            access: GroupAccess::Gid,
            gid: Some(100),
            subscribers: 2,
            tx_msgs: 5,
            last_msg_len: None,
        };
        assert_eq!(
            group.to_string(),
            "group port:7/g port=7 access=gid gid=100 subscribers=2 tx=5 last=none"
        );
    }
}
