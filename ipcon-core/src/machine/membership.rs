//! Group membership bookkeeping: a fixed-capacity set of (owner, group) this peer joined,
//! kept in step with kernel events (a removed group or owner ends its memberships).
use core::fmt;

use heapless::Vec;

use crate::kevent::{Kevent, KeventKind};
use crate::name::Name;

/// A group this peer joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Membership {
    /// The group's owner.
    pub owner: Name,
    /// The group's name.
    pub group: Name,
}

/// Why a membership change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MembershipError {
    /// Already a member.
    AlreadyMember,
    /// Not a member.
    NotMember,
    /// The set is full.
    Full,
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyMember => "already a member of the group",
            Self::NotMember => "not a member of the group",
            Self::Full => "too many group memberships",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MembershipError {}

/// Up to `N` memberships.
#[derive(Debug, Clone, Default)]
pub struct Memberships<const N: usize> {
    joined: Vec<Membership, N>,
}

impl<const N: usize> Memberships<N> {
    /// An empty set.
    pub const fn new() -> Self {
        Self { joined: Vec::new() }
    }

    /// Whether a join can be recorded (check before sending `group-join`).
    pub fn can_join(&self, m: &Membership) -> Result<(), MembershipError> {
        if self.contains(m) {
            Err(MembershipError::AlreadyMember)
        } else if self.joined.is_full() {
            Err(MembershipError::Full)
        } else {
            Ok(())
        }
    }

    /// Records a join acknowledged by the kernel.
    pub fn join(&mut self, m: Membership) -> Result<(), MembershipError> {
        self.can_join(&m)?;
        self.joined.push(m).map_err(|_| MembershipError::Full)
    }

    /// Records a leave.
    pub fn leave(&mut self, m: &Membership) -> Result<(), MembershipError> {
        let i = self
            .joined
            .iter()
            .position(|j| j == m)
            .ok_or(MembershipError::NotMember)?;
        self.joined.swap_remove(i);
        Ok(())
    }

    /// Whether this peer is a member.
    pub fn contains(&self, m: &Membership) -> bool {
        self.joined.iter().any(|j| j == m)
    }

    /// The memberships.
    pub fn iter(&self) -> impl Iterator<Item = &Membership> {
        self.joined.iter()
    }

    /// Number of memberships.
    pub fn len(&self) -> usize {
        self.joined.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.joined.is_empty()
    }

    /// Forgets everything (the peer is gone).
    pub fn clear(&mut self) {
        self.joined.clear();
    }

    /// Applies a kernel event: a removed group, or a removed owner, ends the memberships
    /// concerned. Returns how many were dropped.
    pub fn apply_kevent(&mut self, event: &Kevent) -> usize {
        let before = self.joined.len();
        match &event.kind {
            KeventKind::GroupRemove {
                owner: o, group, ..
            } => {
                if let Some(owner) = o.name {
                    self.joined
                        .retain(|j| !(j.owner == owner && j.group == *group));
                }
            }
            KeventKind::PeerRemove { peer, .. } => {
                if let Some(owner) = peer.name {
                    self.joined.retain(|j| j.owner != owner);
                }
            }
            _ => {}
        }
        before - self.joined.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::PeerIdentity;
    use crate::spec::{PeerFlags, RemoveReason};

    fn m(owner: &str, group: &str) -> Membership {
        Membership {
            owner: Name::new(owner).unwrap(),
            group: Name::new(group).unwrap(),
        }
    }

    #[test]
    fn join_leave_capacity() {
        let mut s: Memberships<2> = Memberships::new();
        s.join(m("a", "g")).unwrap();
        assert_eq!(s.join(m("a", "g")), Err(MembershipError::AlreadyMember));
        s.join(m("b", "g")).unwrap();
        assert_eq!(s.join(m("c", "g")), Err(MembershipError::Full));
        s.leave(&m("a", "g")).unwrap();
        assert_eq!(s.leave(&m("a", "g")), Err(MembershipError::NotMember));
        assert!(s.contains(&m("b", "g")));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn kernel_events_end_memberships() {
        let mut s: Memberships<4> = Memberships::new();
        s.join(m("a", "g1")).unwrap();
        s.join(m("a", "g2")).unwrap();
        s.join(m("b", "g1")).unwrap();
        let owner = |n: &str| PeerIdentity {
            name: Name::new(n).ok(),
            port: 1,
            pid: 0,
            uid: 0,
            flags: PeerFlags::empty(),
        };
        let ev = Kevent {
            seq: 1,
            kind: KeventKind::GroupRemove {
                owner: owner("a"),
                group: Name::new("g1").unwrap(),
                reason: RemoveReason::Unregistered,
            },
        };
        assert_eq!(s.apply_kevent(&ev), 1);
        assert!(!s.contains(&m("a", "g1")) && s.contains(&m("b", "g1")));
        let ev = Kevent {
            seq: 2,
            kind: KeventKind::PeerRemove {
                peer: owner("a"),
                reason: RemoveReason::Closed,
            },
        };
        assert_eq!(s.apply_kevent(&ev), 1);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s.apply_kevent(&Kevent {
                seq: 3,
                kind: KeventKind::PeerAdd(owner("z"))
            }),
            0
        );
    }
}
