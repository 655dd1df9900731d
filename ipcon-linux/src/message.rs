//! What a receive fills in: a peer's unicast, a group message, a kernel
//! event or the failure of a posted send, in a fixed-size buffer the caller
//! owns and reuses.
//!
//! The storage and the parsing are `ipcon-core`'s ([`ipcon_core::Message`]);
//! this layer adds what a receiver on Linux learns besides (lost kernel
//! events) and an event type whose variants carry their fields.

use std::fmt;

use ipcon_core::wire::ipcon::Delivery;
use ipcon_core::{KeventKind, Name, PeerFlags, PeerIdentity, RemoveReason, WireError};

use crate::error::{Error, ErrorKind};

/// What a received [`Message`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageKind {
    /// Nothing was received into the message yet.
    #[default]
    Empty,
    /// A message a peer sent to this peer.
    Unicast,
    /// A message of a group this peer joined.
    Group,
    /// A kernel event; see [`Message::kevent`].
    Kevent,
    /// A posted send of this peer failed: see [`Message::ticket`] and
    /// [`Message::send_error`].
    SendFailed,
}

/// Names one posted send ([`Handler::post_unicast`](crate::Handler::post_unicast)
/// and friends); a [`MessageKind::SendFailed`] message carries the ticket of
/// the send that failed. Tickets of one handler count up from 1 and wrap,
/// skipping 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(u32);

impl Ticket {
    pub(crate) fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The ticket's number, as carried on the wire.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Who sent a message, as stamped by the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sender {
    /// The sender's port (reply to it with
    /// [`Handler::send_unicast_to_port`](crate::Handler::send_unicast_to_port)).
    pub port: u32,
    /// The sender's process id.
    pub pid: u32,
    /// The sender's user id.
    pub uid: u32,
    /// The sender's name; `None` for an anonymous peer.
    pub name: Option<Name>,
}

/// A peer as a kernel event describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerRef {
    /// The peer's name; `None` when anonymous.
    pub name: Option<Name>,
    /// The peer's port.
    pub port: u32,
    /// The peer's process id.
    pub pid: u32,
    /// The peer's user id.
    pub uid: u32,
    /// The peer's flags.
    pub flags: PeerFlags,
}

/// A kernel event from the `ipcon_kevent` group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kevent {
    /// A peer registered.
    PeerAdd {
        /// Event sequence number.
        seq: u64,
        /// The new peer.
        peer: PeerRef,
    },
    /// A peer is gone (after the group-remove events of its groups).
    PeerRemove {
        /// Event sequence number.
        seq: u64,
        /// The peer that left.
        peer: PeerRef,
        /// Unregistered, or closed (the process exited or died).
        reason: RemoveReason,
    },
    /// A peer registered a group.
    GroupAdd {
        /// Event sequence number.
        seq: u64,
        /// The group's owner.
        owner: PeerRef,
        /// The group.
        group: Name,
    },
    /// A group is gone.
    GroupRemove {
        /// Event sequence number.
        seq: u64,
        /// The group's owner.
        owner: PeerRef,
        /// The group.
        group: Name,
        /// Unregistered, or its owner closed.
        reason: RemoveReason,
    },
}

impl Kevent {
    /// The event's sequence number (per network namespace, +1 per event).
    pub fn seq(&self) -> u64 {
        match *self {
            Self::PeerAdd { seq, .. }
            | Self::PeerRemove { seq, .. }
            | Self::GroupAdd { seq, .. }
            | Self::GroupRemove { seq, .. } => seq,
        }
    }

    /// The peer the event is about (the owner for group events).
    pub fn peer(&self) -> &PeerRef {
        match self {
            Self::PeerAdd { peer, .. } | Self::PeerRemove { peer, .. } => peer,
            Self::GroupAdd { owner, .. } | Self::GroupRemove { owner, .. } => owner,
        }
    }

    /// Converts `ipcon-core`'s event; `None` for an event type this
    /// version does not know.
    pub(crate) fn from_core(event: &ipcon_core::Kevent) -> Option<Self> {
        let seq = event.seq;
        Some(match event.kind {
            KeventKind::PeerAdd(peer) => Self::PeerAdd {
                seq,
                peer: peer.into(),
            },
            KeventKind::PeerRemove { peer, reason } => Self::PeerRemove {
                seq,
                peer: peer.into(),
                reason,
            },
            KeventKind::GroupAdd { owner, group } => Self::GroupAdd {
                seq,
                owner: owner.into(),
                group,
            },
            KeventKind::GroupRemove {
                owner,
                group,
                reason,
            } => Self::GroupRemove {
                seq,
                owner: owner.into(),
                group,
                reason,
            },
            KeventKind::Unknown(_) => return None,
        })
    }
}

impl From<PeerIdentity> for PeerRef {
    fn from(p: PeerIdentity) -> Self {
        Self {
            name: p.name,
            port: p.port,
            pid: p.pid,
            uid: p.uid,
            flags: p.flags,
        }
    }
}

fn reason_str(reason: RemoveReason) -> &'static str {
    match reason {
        RemoveReason::Unregistered => "unregistered",
        RemoveReason::Closed => "closed",
        RemoveReason::Unknown(_) => "unknown",
    }
}

impl fmt::Display for PeerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "name={name}")?,
            None => f.write_str("anonymous")?,
        }
        write!(f, " port={} pid={} uid={}", self.port, self.pid, self.uid)
    }
}

/// One greppable line: `kevent #3 peer-add name=ipcon_server port=1234 pid=42 uid=0`.
impl fmt::Display for Kevent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PeerAdd { seq, peer } => write!(f, "kevent #{seq} peer-add {peer}"),
            Self::PeerRemove { seq, peer, reason } => write!(
                f,
                "kevent #{seq} peer-remove {peer} reason={}",
                reason_str(*reason)
            ),
            Self::GroupAdd { seq, owner, group } => {
                write!(f, "kevent #{seq} group-add group={group} owner {owner}")
            }
            Self::GroupRemove {
                seq,
                owner,
                group,
                reason,
            } => write!(
                f,
                "kevent #{seq} group-remove group={group} owner {owner} reason={}",
                reason_str(*reason)
            ),
        }
    }
}

/// A received message, reused from one receive to the next: the payload
/// lives inline (no allocation per message).
///
/// ```
/// use ipcon_linux::{Message, MessageKind};
/// let msg = Message::new();
/// assert_eq!(msg.kind(), MessageKind::Empty);
/// assert!(msg.payload().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Message {
    kind: MessageKind,
    inner: ipcon_core::Message,
    kevent: Option<Kevent>,
    kevents_missed: u64,
}

impl Message {
    /// An empty message to receive into.
    pub const fn new() -> Self {
        Self {
            kind: MessageKind::Empty,
            inner: ipcon_core::Message::new(),
            kevent: None,
            kevents_missed: 0,
        }
    }

    /// What was received.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload (empty for a kernel event).
    pub fn payload(&self) -> &[u8] {
        self.inner.payload()
    }

    /// The payload as text, if it is UTF-8 (a trailing NUL, as C senders
    /// add, is left out).
    pub fn payload_str(&self) -> Option<&str> {
        let p = self.payload();
        let p = p.strip_suffix(&[0]).unwrap_or(p);
        std::str::from_utf8(p).ok()
    }

    /// Who sent it (for unicast and group messages; for a kernel event,
    /// the peer it is about).
    pub fn sender(&self) -> Sender {
        match &self.kevent {
            Some(event) => Sender {
                port: event.peer().port,
                pid: event.peer().pid,
                uid: event.peer().uid,
                name: event.peer().name,
            },
            None => Sender {
                port: self.inner.port(),
                pid: self.inner.pid(),
                uid: self.inner.uid(),
                name: self.inner.sender().copied(),
            },
        }
    }

    /// The group of a group message.
    pub fn group(&self) -> Option<&Name> {
        self.inner.group()
    }

    /// Messages for this peer the kernel dropped (queue full) since its
    /// previous delivery.
    pub fn missed(&self) -> u32 {
        self.inner.missed()
    }

    /// This group message is the replay of the group's last message, sent
    /// on joining.
    pub fn is_replay(&self) -> bool {
        self.inner.replayed()
    }

    /// The kernel event, for [`MessageKind::Kevent`].
    pub fn kevent(&self) -> Option<&Kevent> {
        self.kevent.as_ref()
    }

    /// Kernel events lost just before this one (a gap in the sequence).
    pub fn kevents_missed(&self) -> u64 {
        self.kevents_missed
    }

    /// The ticket of the posted send that failed, for
    /// [`MessageKind::SendFailed`].
    pub fn ticket(&self) -> Option<Ticket> {
        (self.kind == MessageKind::SendFailed).then(|| Ticket(self.inner.ticket()))
    }

    /// Why the posted send failed, for [`MessageKind::SendFailed`]: the
    /// error its waiting counterpart ([`send_unicast`](crate::Handler::send_unicast),
    /// [`send_multicast`](crate::Handler::send_multicast)) would have
    /// returned, e.g. [`ErrorKind::QueueFull`], [`ErrorKind::NotFound`] or
    /// [`ErrorKind::TooBig`], with the kernel's text. The failed destination
    /// is [`group`](Self::group) for a multicast, and
    /// `as_core().target()` for a unicast.
    pub fn send_error(&self) -> Option<Error> {
        if self.kind != MessageKind::SendFailed {
            return None;
        }
        let operation = if self.inner.group().is_some() {
            "post multicast"
        } else if self.inner.target().is_some() {
            "post unicast"
        } else {
            // An error ACK: refused before the module saw its destination.
            "post"
        };
        let errno = i32::try_from(self.inner.errno()).unwrap_or(i32::MAX);
        let mut error = Error::from_errno(operation, errno);
        // A posted send never waits, so EAGAIN can only mean a full
        // receiver queue.
        if errno == libc::EAGAIN {
            error = error.with_kind(ErrorKind::QueueFull);
        }
        let text = self.inner.error_message();
        if !text.is_empty() {
            error = error.with_kernel_message(text);
        }
        Some(error)
    }

    /// The message as `ipcon-core` holds it.
    pub fn as_core(&self) -> &ipcon_core::Message {
        &self.inner
    }

    /// Fills in a delivery parsed by `ipcon-core`; on error (a payload too
    /// large, an unknown event type) the message is left `Empty`.
    pub(crate) fn fill(
        &mut self,
        delivery: &Delivery<'_>,
        kevents_missed: u64,
    ) -> Result<(), WireError> {
        self.kind = MessageKind::Empty;
        self.kevent = None;
        self.kevents_missed = 0;
        self.inner.fill(delivery)?;
        self.kind = match self.inner.kind() {
            ipcon_core::MessageKind::Unicast => MessageKind::Unicast,
            ipcon_core::MessageKind::Group => MessageKind::Group,
            ipcon_core::MessageKind::SendFailed => MessageKind::SendFailed,
            ipcon_core::MessageKind::Kevent => {
                let event = self.inner.kevent().and_then(Kevent::from_core);
                let Some(event) = event else {
                    self.inner.clear();
                    return Err(WireError::UnexpectedCommand(
                        ipcon_core::spec::Command::Kevent.to_raw(),
                    ));
                };
                self.kevent = Some(event);
                self.kevents_missed = kevents_missed;
                MessageKind::Kevent
            }
        };
        Ok(())
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .field("sender", &self.sender())
            .field("group", &self.group())
            .field("missed", &self.missed())
            .field("replayed", &self.is_replay())
            .field("kevent", &self.kevent)
            .field("kevents_missed", &self.kevents_missed)
            .field("ticket", &self.ticket())
            .field("send_error", &self.send_error())
            .field("len", &self.payload().len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcon_core::wire::ipcon::{GroupDelivery, Sender as WireSender};

    fn sender() -> WireSender {
        WireSender {
            name: Some(Name::new("srv").unwrap()),
            port: 77,
            pid: 42,
            uid: 1000,
        }
    }

    #[test]
    fn group_delivery_fills_every_field() {
        let delivery = Delivery::Group(GroupDelivery {
            sender: sender(),
            group: Name::new("str_msg").unwrap(),
            payload: b"hello\0",
            missed: 3,
            replayed: true,
        });
        let mut m = Message::new();
        m.fill(&delivery, 0).unwrap();
        assert_eq!(m.kind(), MessageKind::Group);
        assert_eq!(m.sender().name.unwrap(), "srv");
        assert_eq!(
            (m.sender().port, m.sender().pid, m.sender().uid),
            (77, 42, 1000)
        );
        assert_eq!(m.group().unwrap(), "str_msg");
        assert_eq!(m.missed(), 3);
        assert!(m.is_replay());
        assert_eq!(m.payload(), b"hello\0");
        assert_eq!(m.payload_str(), Some("hello"));
    }

    #[test]
    fn kevents_convert_and_print_one_line() {
        let peer = PeerIdentity {
            name: Some(Name::new("ipcon_server").unwrap()),
            port: 1234,
            pid: 42,
            uid: 0,
            flags: PeerFlags::empty(),
        };
        let event = ipcon_core::Kevent {
            seq: 3,
            kind: KeventKind::PeerRemove {
                peer,
                reason: RemoveReason::Closed,
            },
        };
        let mut m = Message::new();
        m.fill(&Delivery::Kevent(event), 2).unwrap();
        assert_eq!(m.kind(), MessageKind::Kevent);
        assert_eq!(m.kevents_missed(), 2);
        let k = m.kevent().unwrap();
        assert_eq!(k.seq(), 3);
        assert_eq!(
            k.to_string(),
            "kevent #3 peer-remove name=ipcon_server port=1234 pid=42 uid=0 reason=closed"
        );
        assert_eq!(m.sender().port, 1234);
        let unknown = ipcon_core::Kevent {
            seq: 4,
            kind: KeventKind::Unknown(99),
        };
        assert!(m.fill(&Delivery::Kevent(unknown), 0).is_err());
        assert_eq!(m.kind(), MessageKind::Empty);
    }
}
