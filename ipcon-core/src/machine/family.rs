//! Resolving the ipcon family: ask `nlctrl` for "ipcon", learn its id and the id of the
//! `kevent` multicast group, or learn that the module is not loaded or speaks another
//! protocol version ([`check_family`], which every lookup of the family goes through).
use core::fmt;

use crate::error::WireError;
use crate::spec::{FAMILY_NAME, MCGRP_KEVENT, VERSION};
use crate::wire::ctrl::{FamilyRepr, GetFamilyRequest, GENL_ID_CTRL};
use crate::wire::ipcon::{parse_incoming, Incoming};
use crate::wire::netlink::NetlinkPacket;

/// ENOENT: the controller's answer for an unknown family.
const ENOENT: i32 = 2;

/// The resolved family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Family {
    /// Family id: the netlink message type of ipcon messages.
    pub id: u16,
    /// The family's version (equal to [`crate::spec::VERSION`]).
    pub version: u32,
    /// Id of the `kevent` multicast group.
    pub kevent_group: u32,
}

/// How a resolution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FamilyOutcome {
    /// Found.
    Resolved(Family),
    /// No family "ipcon": the kernel module is not loaded.
    NotLoaded,
    /// The module speaks another protocol version (the family's version, which
    /// [`VERSION`] of this library must equal): nothing else is tried.
    VersionMismatch {
        /// The kernel's version.
        kernel: u32,
    },
    /// The family does not announce the `kevent` group.
    NoKeventGroup,
    /// The controller answered with another error (positive errno).
    Failed(i32),
    /// The reply was not understood.
    Malformed(WireError),
    /// No answer before the deadline.
    TimedOut,
}

impl fmt::Display for FamilyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolved(fam) => write!(f, "family {FAMILY_NAME} has id {}", fam.id),
            Self::NotLoaded => write!(
                f,
                "generic netlink family {FAMILY_NAME} not found: is the ipcon module loaded?"
            ),
            Self::VersionMismatch { kernel } => write!(
                f,
                "the ipcon kernel module speaks protocol version {kernel}, this library \
                 version {VERSION}: install a module and a library of the same version"
            ),
            Self::NoKeventGroup => {
                write!(f, "ipcon family lacks the {MCGRP_KEVENT} multicast group")
            }
            Self::Failed(errno) => write!(f, "family lookup failed with errno {errno}"),
            Self::Malformed(e) => write!(f, "family lookup reply malformed: {e}"),
            Self::TimedOut => f.write_str("family lookup timed out"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Waiting {
        seq: u32,
        deadline: u64,
    },
    /// The reply arrived; the ACK (requested with NLM_F_ACK) is still to come but the
    /// outcome is known, so the resolver is done.
    Done(FamilyOutcome),
}

/// The family resolution state machine.
///
/// `start` emits the `CTRL_CMD_GETFAMILY` request; feed every received message to
/// `handle` until it returns an outcome; call `poll` with the time to detect a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyResolver {
    state: State,
}

impl Default for FamilyResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl FamilyResolver {
    /// A resolver that has not started.
    pub const fn new() -> Self {
        Self { state: State::Idle }
    }

    /// Writes the request into `buf` (returns its length) and starts waiting until
    /// `now_ms + timeout_ms`.
    pub fn start(
        &mut self,
        seq: u32,
        port_id: u32,
        now_ms: u64,
        timeout_ms: u64,
        buf: &mut [u8],
    ) -> Result<usize, WireError> {
        let n = GetFamilyRequest::IPCON.emit(&GetFamilyRequest::header(seq, port_id), buf)?;
        self.state = State::Waiting {
            seq,
            deadline: now_ms.saturating_add(timeout_ms),
        };
        Ok(n)
    }

    /// The outcome, once known.
    pub fn outcome(&self) -> Option<FamilyOutcome> {
        match self.state {
            State::Done(o) => Some(o),
            _ => None,
        }
    }

    /// The deadline while waiting.
    pub fn deadline(&self) -> Option<u64> {
        match self.state {
            State::Waiting { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// Consumes one received message; returns the outcome when this message decided it.
    /// Messages of other sequence numbers or types are ignored.
    pub fn handle(&mut self, packet: &NetlinkPacket<&[u8]>) -> Option<FamilyOutcome> {
        let State::Waiting { seq, .. } = self.state else {
            return None;
        };
        let outcome = if packet.message_type() == GENL_ID_CTRL {
            if packet.seq() != seq {
                return None;
            }
            match FamilyRepr::parse(packet) {
                Ok(f) => check_family(&f),
                Err(e) => FamilyOutcome::Malformed(e),
            }
        } else {
            // An error for our request (errors come as NLMSG_ERROR).
            match parse_incoming(packet, GENL_ID_CTRL) {
                Ok(Incoming::Error { seq: s, errno, .. }) if s == seq => {
                    if errno == ENOENT {
                        FamilyOutcome::NotLoaded
                    } else {
                        FamilyOutcome::Failed(errno)
                    }
                }
                _ => return None,
            }
        };
        log_debug!("ipcon family lookup: {:?}", outcome);
        self.state = State::Done(outcome);
        Some(outcome)
    }

    /// Checks the deadline; returns [`FamilyOutcome::TimedOut`] once it passed.
    pub fn poll(&mut self, now_ms: u64) -> Option<FamilyOutcome> {
        match self.state {
            State::Waiting { deadline, .. } if now_ms >= deadline => {
                log_warn!("ipcon family lookup timed out");
                self.state = State::Done(FamilyOutcome::TimedOut);
                Some(FamilyOutcome::TimedOut)
            }
            _ => None,
        }
    }
}

/// Judges the controller's description of the ipcon family: usable
/// ([`FamilyOutcome::Resolved`]), of another protocol version (checked first: a module of
/// another version has other groups too), or without its `kevent` group.
pub fn check_family(f: &FamilyRepr) -> FamilyOutcome {
    if f.version != u32::from(VERSION) {
        return FamilyOutcome::VersionMismatch { kernel: f.version };
    }
    match f.mcast_group_id(MCGRP_KEVENT) {
        Some(kevent_group) => FamilyOutcome::Resolved(Family {
            id: f.id,
            version: f.version,
            kevent_group,
        }),
        None => FamilyOutcome::NoKeventGroup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ack::{ErrorRepr, ExtAck};
    use crate::wire::ctrl::McastGroup;
    use crate::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};

    fn reply(seq: u32, version: u32, with_group: bool) -> ([u8; 256], usize) {
        let mut f = FamilyRepr {
            id: 30,
            name: heapless::String::try_from("ipcon").unwrap(),
            version,
            max_attr: 26,
            mcast_groups: heapless::Vec::new(),
        };
        if with_group {
            f.mcast_groups
                .push(McastGroup {
                    name: heapless::String::try_from(MCGRP_KEVENT).unwrap(),
                    id: 4,
                })
                .unwrap();
        }
        let mut buf = [0u8; 256];
        let hdr = NetlinkHeaderRepr {
            message_type: GENL_ID_CTRL,
            flags: NetlinkFlags::empty(),
            seq,
            port_id: 9,
        };
        let n = f.emit(&hdr, &mut buf).unwrap();
        (buf, n)
    }

    #[test]
    fn resolves() {
        let mut r = FamilyResolver::new();
        let mut buf = [0u8; 64];
        r.start(5, 9, 100, 1000, &mut buf).unwrap();
        assert_eq!(r.deadline(), Some(1100));
        let (other, n) = reply(4, u32::from(VERSION), true);
        assert_eq!(
            r.handle(&NetlinkPacket::new_checked(&other[..n]).unwrap()),
            None
        );
        let (b, n) = reply(5, u32::from(VERSION), true);
        let want = FamilyOutcome::Resolved(Family {
            id: 30,
            version: u32::from(VERSION),
            kevent_group: 4,
        });
        assert_eq!(
            r.handle(&NetlinkPacket::new_checked(&b[..n]).unwrap()),
            Some(want)
        );
        assert_eq!(r.outcome(), Some(want));
        assert_eq!(r.poll(10_000), None);
    }

    #[test]
    fn version_and_group_are_checked() {
        // A module of the next version, and one of version 1 (before notifications
        // were ops of their own): refused, whatever groups they have.
        for (kernel, with_group) in [(u32::from(VERSION) + 1, true), (1, false)] {
            let mut r = FamilyResolver::new();
            r.start(1, 9, 0, 10, &mut [0u8; 64]).unwrap();
            let (b, n) = reply(1, kernel, with_group);
            let outcome = r.handle(&NetlinkPacket::new_checked(&b[..n]).unwrap());
            assert_eq!(outcome, Some(FamilyOutcome::VersionMismatch { kernel }));
            let text = std::format!("{}", outcome.unwrap());
            assert!(
                text.contains(&std::format!(
                    "version {kernel}, this library version {VERSION}"
                )),
                "{text}"
            );
        }
        let mut r = FamilyResolver::new();
        r.start(1, 9, 0, 10, &mut [0u8; 64]).unwrap();
        let (b, n) = reply(1, u32::from(VERSION), false);
        assert_eq!(
            r.handle(&NetlinkPacket::new_checked(&b[..n]).unwrap()),
            Some(FamilyOutcome::NoKeventGroup)
        );
    }

    #[test]
    fn enoent_means_not_loaded_and_timeouts_fire() {
        let mut r = FamilyResolver::new();
        let mut req = [0u8; 64];
        r.start(7, 9, 0, 10, &mut req).unwrap();
        let hdr = NetlinkHeaderRepr {
            message_type: GENL_ID_CTRL,
            flags: NetlinkFlags::REQUEST,
            seq: 7,
            port_id: 9,
        };
        let err = ErrorRepr {
            error: -2,
            request: hdr,
            ext: ExtAck::default(),
        };
        let mut buf = [0u8; 64];
        let n = err.emit(&mut buf).unwrap();
        assert_eq!(
            r.handle(&NetlinkPacket::new_checked(&buf[..n]).unwrap()),
            Some(FamilyOutcome::NotLoaded)
        );

        let mut r = FamilyResolver::new();
        r.start(8, 9, 0, 10, &mut req).unwrap();
        assert_eq!(r.poll(9), None);
        assert_eq!(r.poll(10), Some(FamilyOutcome::TimedOut));
        assert_eq!(r.outcome(), Some(FamilyOutcome::TimedOut));
    }
}
