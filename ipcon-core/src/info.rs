//! One-line descriptions of what look-ups return ([`PeerInfo`], [`GroupInfo`]): the lines
//! the `ipcon` CLI prints and scripts grep. (The types themselves are the wire replies.)
use core::fmt;

use crate::spec::GroupAccess;
use crate::wire::ipcon::{GroupInfo, PeerInfo};

/// `peer name=srv port=12 pid=42 uid=0 groups=1 tx=3 rx=4 dropped=0`.
impl fmt::Display for PeerInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.peer;
        match &p.name {
            Some(n) => write!(f, "peer name={n}")?,
            None => f.write_str("peer anonymous")?,
        }
        write!(
            f,
            " port={} pid={} uid={} groups={} tx={} rx={} dropped={}",
            p.port, p.pid, p.uid, self.groups, self.tx_msgs, self.rx_msgs, self.rx_dropped
        )
    }
}

/// The word for an access rule in one-line descriptions.
fn access_word(access: GroupAccess) -> &'static str {
    match access {
        GroupAccess::Open => "open",
        GroupAccess::SameUid => "same-uid",
        GroupAccess::Gid => "gid",
        GroupAccess::Unknown(_) => "unknown",
    }
}

/// `group srv/str_msg port=12 access=open subscribers=2 tx=5 last=6` (`port:12/g` for an
/// anonymous owner, `last=none` without a cached message).
impl fmt::Display for GroupInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Some(o) => write!(f, "group {o}/{}", self.group)?,
            None => write!(f, "group port:{}/{}", self.owner_port, self.group)?,
        }
        write!(
            f,
            " port={} access={}",
            self.owner_port,
            access_word(self.access)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::PeerIdentity;
    use crate::name::Name;
    use crate::spec::PeerFlags;
    use std::string::ToString;

    #[test]
    fn lines_are_greppable() {
        let peer = PeerInfo {
            peer: PeerIdentity {
                name: Name::new("srv").ok(),
                port: 12,
                pid: 42,
                uid: 0,
                flags: PeerFlags::empty(),
            },
            tx_msgs: 3,
            rx_msgs: 4,
            rx_dropped: 0,
            groups: 1,
            _borrow: core::marker::PhantomData,
        };
        assert_eq!(
            peer.to_string(),
            "peer name=srv port=12 pid=42 uid=0 groups=1 tx=3 rx=4 dropped=0"
        );
        let group = GroupInfo {
            owner: None,
            owner_port: 7,
            group: Name::new("g").unwrap(),
            access: GroupAccess::Gid,
            gid: Some(100),
            subscribers: 2,
            tx_msgs: 5,
            last_msg_len: None,
            _borrow: core::marker::PhantomData,
        };
        assert_eq!(
            group.to_string(),
            "group port:7/g port=7 access=gid gid=100 subscribers=2 tx=5 last=none"
        );
        let owned = GroupInfo {
            owner: Name::new("srv").ok(),
            last_msg_len: Some(6),
            gid: None,
            access: GroupAccess::Open,
            ..group
        };
        assert_eq!(
            owned.to_string(),
            "group srv/g port=7 access=open subscribers=2 tx=5 last=6"
        );
    }
}
