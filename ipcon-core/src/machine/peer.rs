//! The life cycle of a peer session: unregistered → registered (port, cookie) → attached
//! (control socket attached with the cookie) → closed. Illegal transitions are rejected,
//! so the library cannot, say, attach twice or send after close.
use core::fmt;

use crate::name::Name;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// No peer registered yet.
    Unregistered,
    /// `peer-register` succeeded on the data socket.
    Registered {
        /// The registered name (`None`: anonymous).
        name: Option<Name>,
        /// The peer's port.
        port: u32,
        /// The attach cookie.
        cookie: u64,
    },
    /// `peer-attach` succeeded: requests go through the control socket.
    Attached {
        /// The registered name (`None`: anonymous).
        name: Option<Name>,
        /// The peer's port.
        port: u32,
        /// The control socket's port.
        control_port: u32,
    },
    /// The session ended (unregistered, closed, or the register failed for good).
    Closed,
}

/// An event that moves a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerEvent {
    /// The register reply arrived.
    Registered {
        /// The registered name.
        name: Option<Name>,
        /// The peer's port.
        port: u32,
        /// The attach cookie.
        cookie: u64,
    },
    /// The attach was acknowledged for the control socket at `control_port`.
    Attached {
        /// The control socket's port.
        control_port: u32,
    },
    /// The peer was unregistered or its sockets closed.
    Closed,
}

/// A transition that is not allowed from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransitionError {
    /// The state the session was in (unchanged).
    pub from: PeerState,
    /// The rejected event.
    pub event: PeerEvent,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.from {
            PeerState::Unregistered => "unregistered",
            PeerState::Registered { .. } => "registered",
            PeerState::Attached { .. } => "attached",
            PeerState::Closed => "closed",
        };
        let event = match self.event {
            PeerEvent::Registered { .. } => "register",
            PeerEvent::Attached { .. } => "attach",
            PeerEvent::Closed => "close",
        };
        write!(f, "peer session cannot {event} while {state}")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TransitionError {}

/// A peer session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerSession {
    state: PeerState,
}

impl Default for PeerSession {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerSession {
    /// A session that has not registered.
    pub const fn new() -> Self {
        Self {
            state: PeerState::Unregistered,
        }
    }

    /// The current state.
    pub fn state(&self) -> PeerState {
        self.state
    }

    /// Applies an event: register only from unregistered, attach only from registered,
    /// close from anywhere but closed.
    pub fn apply(&mut self, event: PeerEvent) -> Result<(), TransitionError> {
        let next = match (self.state, event) {
            (PeerState::Unregistered, PeerEvent::Registered { name, port, cookie }) => {
                PeerState::Registered { name, port, cookie }
            }
            (PeerState::Registered { name, port, .. }, PeerEvent::Attached { control_port }) => {
                PeerState::Attached {
                    name,
                    port,
                    control_port,
                }
            }
            (PeerState::Closed, PeerEvent::Closed) => {
                return Err(TransitionError {
                    from: self.state,
                    event,
                })
            }
            (_, PeerEvent::Closed) => PeerState::Closed,
            (from, event) => return Err(TransitionError { from, event }),
        };
        self.state = next;
        Ok(())
    }

    /// The peer's port once registered.
    pub fn port(&self) -> Option<u32> {
        match self.state {
            PeerState::Registered { port, .. } | PeerState::Attached { port, .. } => Some(port),
            _ => None,
        }
    }

    /// The peer's name once registered (`None` also for an anonymous peer).
    pub fn name(&self) -> Option<Name> {
        match self.state {
            PeerState::Registered { name, .. } | PeerState::Attached { name, .. } => name,
            _ => None,
        }
    }

    /// The cookie while registered and not yet attached.
    pub fn cookie(&self) -> Option<u64> {
        match self.state {
            PeerState::Registered { cookie, .. } => Some(cookie),
            _ => None,
        }
    }

    /// Whether peer requests (send, groups) may be made: registered (single socket) or
    /// attached.
    pub fn is_active(&self) -> bool {
        matches!(
            self.state,
            PeerState::Registered { .. } | PeerState::Attached { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_life_cycle() {
        let mut s = PeerSession::new();
        assert!(!s.is_active());
        let name = Name::new("me").ok();
        s.apply(PeerEvent::Registered {
            name,
            port: 5,
            cookie: 99,
        })
        .unwrap();
        assert_eq!((s.port(), s.cookie(), s.name()), (Some(5), Some(99), name));
        s.apply(PeerEvent::Attached { control_port: 6 }).unwrap();
        assert_eq!(s.cookie(), None);
        assert!(s.is_active());
        s.apply(PeerEvent::Closed).unwrap();
        assert_eq!(s.state(), PeerState::Closed);
        assert_eq!(s.port(), None);
    }

    #[test]
    fn illegal_transitions_are_rejected() {
        let mut s = PeerSession::new();
        let e = s
            .apply(PeerEvent::Attached { control_port: 1 })
            .unwrap_err();
        assert_eq!(e.from, PeerState::Unregistered);
        s.apply(PeerEvent::Registered {
            name: None,
            port: 1,
            cookie: 2,
        })
        .unwrap();
        assert!(s
            .apply(PeerEvent::Registered {
                name: None,
                port: 1,
                cookie: 2
            })
            .is_err());
        s.apply(PeerEvent::Attached { control_port: 3 }).unwrap();
        assert!(s.apply(PeerEvent::Attached { control_port: 3 }).is_err());
        s.apply(PeerEvent::Closed).unwrap();
        assert!(s.apply(PeerEvent::Closed).is_err());
        assert!(s
            .apply(PeerEvent::Registered {
                name: None,
                port: 1,
                cookie: 2
            })
            .is_err());
        assert_eq!(s.state(), PeerState::Closed);
        let mut s = PeerSession::new();
        s.apply(PeerEvent::Closed).unwrap();
    }
}
