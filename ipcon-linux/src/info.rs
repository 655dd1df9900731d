//! Peer and group descriptions returned by look-ups and listings.

use std::fmt;

pub use crate::proto::GroupAccess;

use crate::message::PeerFlags;
use crate::name::Name;
use crate::proto::attr;
use crate::wire::{get_str, get_u32, get_u64, Attrs};

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
    pub(crate) fn parse(attrs: Attrs<'_>) -> Option<Self> {
        let mut p = Self::default();
        let mut has_port = false;
        for (ty, v) in attrs.iter() {
            match ty {
                attr::PEER_NAME => p.name = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::PORT => {
                    p.port = get_u32(v)?;
                    has_port = true;
                }
                attr::PID => p.pid = get_u32(v)?,
                attr::UID => p.uid = get_u32(v)?,
                attr::PEER_FLAGS => p.flags = PeerFlags::from_bits_retain(get_u32(v)?),
                attr::TX_MSGS => p.tx_msgs = get_u64(v)?,
                attr::RX_MSGS => p.rx_msgs = get_u64(v)?,
                attr::RX_DROPPED => p.rx_dropped = get_u64(v)?,
                attr::GROUPS => p.groups = get_u32(v)?,
                _ => {}
            }
        }
        has_port.then_some(p)
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
    pub(crate) fn parse(attrs: Attrs<'_>) -> Option<Self> {
        let mut owner = None;
        let mut owner_port = 0;
        let mut name = None;
        let mut access = GroupAccess::Open;
        let mut gid = None;
        let mut subscribers = 0;
        let mut tx_msgs = 0;
        let mut last_msg_len = None;
        for (ty, v) in attrs.iter() {
            match ty {
                attr::PEER_NAME => owner = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::PORT => owner_port = get_u32(v)?,
                attr::GROUP_NAME => name = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::ACCESS => access = GroupAccess::from_raw(get_u32(v)?),
                attr::GID => gid = Some(get_u32(v)?),
                attr::SUBSCRIBERS => subscribers = get_u32(v)?,
                attr::TX_MSGS => tx_msgs = get_u64(v)?,
                attr::LAST_MSG_LEN => last_msg_len = Some(get_u32(v)?),
                _ => {}
            }
        }
        Some(Self {
            owner,
            owner_port,
            name: name?,
            access,
            gid,
            subscribers,
            tx_msgs,
            last_msg_len,
        })
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
