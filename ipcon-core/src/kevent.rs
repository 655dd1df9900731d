//! Kernel events: what the kernel reports on the `ipcon_kevent` multicast group.
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
}
