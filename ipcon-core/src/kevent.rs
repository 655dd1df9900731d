//! Kernel events: what the kernel reports on the `ipcon_kevent` multicast group.
use core::fmt;

use crate::name::Name;
use crate::spec::{PeerFlags, RemoveReason};

/// A peer as kernel events and lookups describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    /// Name; `None` for an anonymous peer.
    pub name: Option<Name>,
    /// Port of the peer's data socket: its identity.
    pub port: u32,
    /// Thread-group id of the peer's process (0 when the event does not say).
    pub pid: u32,
    /// Uid of the peer's process (0 when the event does not say).
    pub uid: u32,
    /// Properties of the peer.
    pub flags: PeerFlags,
}

/// What a kernel event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeventKind {
    /// A peer registered.
    PeerAdd(PeerIdentity),
    /// A peer is gone (after the group-remove events of its groups).
    PeerRemove {
        /// The peer.
        peer: PeerIdentity,
        /// Why.
        reason: RemoveReason,
    },
    /// A peer registered a group.
    GroupAdd {
        /// The owner.
        owner: PeerIdentity,
        /// The group's name.
        group: Name,
    },
    /// A group is gone.
    GroupRemove {
        /// The owner.
        owner: PeerIdentity,
        /// The group's name.
        group: Name,
        /// Why.
        reason: RemoveReason,
    },
    /// An event type this version does not know; its sequence number still counts.
    Unknown(u32),
}

/// A kernel event: a sequence number (per network namespace, +1 per event) and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kevent {
    /// Sequence number; a gap means events were missed.
    pub seq: u64,
    /// What happened.
    pub kind: KeventKind,
}

impl Kevent {
    /// The peer the event is about (the owner, for a group event); `None` for an unknown
    /// event type.
    pub fn peer(&self) -> Option<&PeerIdentity> {
        match &self.kind {
            KeventKind::PeerAdd(peer) | KeventKind::PeerRemove { peer, .. } => Some(peer),
            KeventKind::GroupAdd { owner, .. } | KeventKind::GroupRemove { owner, .. } => {
                Some(owner)
            }
            KeventKind::Unknown(_) => None,
        }
    }
}

/// `name=srv port=12 pid=42 uid=0` (`anonymous port=...` without a name).
impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "name={name}")?,
            None => f.write_str("anonymous")?,
        }
        write!(f, " port={} pid={} uid={}", self.port, self.pid, self.uid)
    }
}

/// The word for a remove reason in one-line descriptions.
pub(crate) fn reason_word(reason: RemoveReason) -> &'static str {
    match reason {
        RemoveReason::Unregistered => "unregistered",
        RemoveReason::Closed => "closed",
        RemoveReason::Unknown(_) => "unknown",
    }
}

/// One greppable line: `kevent #3 peer-add name=ipcon_server port=1234 pid=42 uid=0`.
impl fmt::Display for Kevent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.kind {
            KeventKind::PeerAdd(peer) => write!(f, "kevent #{seq} peer-add {peer}"),
            KeventKind::PeerRemove { peer, reason } => write!(
                f,
                "kevent #{seq} peer-remove {peer} reason={}",
                reason_word(*reason)
            ),
            KeventKind::GroupAdd { owner, group } => {
                write!(f, "kevent #{seq} group-add group={group} owner {owner}")
            }
            KeventKind::GroupRemove {
                owner,
                group,
                reason,
            } => write!(
                f,
                "kevent #{seq} group-remove group={group} owner {owner} reason={}",
                reason_word(*reason)
            ),
            KeventKind::Unknown(kind) => write!(f, "kevent #{seq} unknown type={kind}"),
        }
    }
}

/// Counts kernel events missed from gaps in their sequence numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeventSeq {
    last: Option<u64>,
}

impl KeventSeq {
    /// Starts with no event seen.
    pub const fn new() -> Self {
        Self { last: None }
    }

    /// Records `seq` and returns how many events were missed before it (0 for the first
    /// event seen, and for a duplicate or older one, which is not counted twice).
    pub fn observe(&mut self, seq: u64) -> u64 {
        match self.last {
            Some(last) if seq <= last => 0,
            Some(last) => {
                self.last = Some(seq);
                seq - last - 1
            }
            None => {
                self.last = Some(seq);
                0
            }
        }
    }

    /// The last sequence number seen.
    pub fn last(&self) -> Option<u64> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps() {
        let mut s = KeventSeq::new();
        assert_eq!(s.observe(5), 0);
        assert_eq!(s.observe(6), 0);
        assert_eq!(s.observe(9), 2);
        assert_eq!(s.observe(9), 0);
        assert_eq!(s.observe(3), 0);
        assert_eq!(s.last(), Some(9));
    }

    #[test]
    fn events_print_one_greppable_line() {
        use std::string::ToString;
        let peer = PeerIdentity {
            name: Name::new("ipcon_server").ok(),
            port: 1234,
            pid: 42,
            uid: 0,
            flags: PeerFlags::empty(),
        };
        let removed = Kevent {
            seq: 3,
            kind: KeventKind::PeerRemove {
                peer,
                reason: RemoveReason::Closed,
            },
        };
        assert_eq!(
            removed.to_string(),
            "kevent #3 peer-remove name=ipcon_server port=1234 pid=42 uid=0 reason=closed"
        );
        assert_eq!(removed.peer(), Some(&peer));
        let group = Kevent {
            seq: 4,
            kind: KeventKind::GroupAdd {
                owner: PeerIdentity { name: None, ..peer },
                group: Name::new("news").unwrap(),
            },
        };
        assert_eq!(
            group.to_string(),
            "kevent #4 group-add group=news owner anonymous port=1234 pid=42 uid=0"
        );
        let unknown = Kevent {
            seq: 5,
            kind: KeventKind::Unknown(9),
        };
        assert_eq!(unknown.to_string(), "kevent #5 unknown type=9");
        assert_eq!(unknown.peer(), None);
    }
}
