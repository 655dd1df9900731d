//! [`Message`]: a received message in a fixed-capacity buffer that a receive fills in place,
//! and [`Ticket`], the name of a posted send.
use core::fmt;

use heapless::String;

use crate::error::WireError;
use crate::kevent::Kevent;
use crate::name::Name;
use crate::spec::MAX_PAYLOAD_LEN;
use crate::wire::ipcon::{Delivery, Overrun, PeerRef, Sender};

mod data_fill;

/// Room for the module's explanation of a failed posted send; its texts are shorter, a
/// longer one is cut at a character boundary.
pub const MAX_ERROR_MSG_LEN: usize = 128;

/// What a received message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageKind {
    /// Nothing was received into the message yet (or a fill failed).
    #[default]
    Empty,
    /// A unicast message from a peer.
    Unicast,
    /// A message published to a group this peer joined.
    Group,
    /// A kernel event.
    Kevent,
    /// A posted send of this peer failed; see [`Message::ticket`] and [`Message::errno`].
    SendFailed,
}

/// Names one posted send: a failure notice ([`MessageKind::SendFailed`]) carries the
/// ticket of the send that failed. A sender counts its tickets up from 1, wrapping and
/// skipping 0 ([`Ticket::after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ticket(u32);

impl Ticket {
    /// The ticket numbered `raw`; `None` for 0, which names no send.
    pub const fn new(raw: u32) -> Option<Self> {
        if raw == 0 {
            None
        } else {
            Some(Self(raw))
        }
    }

    /// The ticket after `last` (the first one after `None`): counts up, wraps, skips 0.
    pub const fn after(last: Option<Ticket>) -> Self {
        match last {
            Some(Ticket(u32::MAX)) | None => Self(1),
            Some(Ticket(n)) => Self(n + 1),
        }
    }

    /// The number carried on the wire (`ticket` attribute, or the `nlmsg_seq` of a
    /// posted request).
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// `#7`.
impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A received message with room for `N` payload bytes (default: the protocol maximum).
///
/// Reused across receives without allocation: [`Message::fill`] overwrites every field.
///
/// ```
/// use ipcon_core::{Message, MessageKind};
/// let msg: Message = Message::new();
/// assert_eq!(msg.kind(), MessageKind::Empty);
/// assert!(msg.payload().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<const N: usize = MAX_PAYLOAD_LEN> {
    kind: MessageKind,
    sender: Sender,
    group: Option<Name>,
    payload: PayloadBuf<N>,
    missed: u32,
    overrun: Option<Overrun>,
    replayed: bool,
    kevent: Option<Kevent>,
    kevents_missed: u64,
    ticket: Option<Ticket>,
    errno: u32,
    target: Option<PeerRef>,
    error_msg: String<MAX_ERROR_MSG_LEN>,
}

/// The sender of nothing: an empty message's.
const NO_SENDER: Sender = Sender {
    name: None,
    port: 0,
    pid: 0,
    uid: 0,
};

impl<const N: usize> Default for Message<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Room for a payload: the first `len` bytes of `bytes` are it.
///
/// Not a `heapless::Vec`: its `extend_from_slice` pushes byte by byte (a
/// 2 KiB delivery took about 1.2 µs to copy in on the host), where
/// `copy_from_slice` is one `memcpy`.
#[derive(Clone)]
struct PayloadBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> PayloadBuf<N> {
    const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    /// Replaces the contents; too long leaves them empty.
    fn set(&mut self, data: &[u8]) -> Result<(), ()> {
        self.len = 0;
        let room = self.bytes.get_mut(..data.len()).ok_or(())?;
        room.copy_from_slice(data);
        self.len = data.len();
        Ok(())
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Only the payload counts, not what earlier messages left behind it.
impl<const N: usize> PartialEq for PayloadBuf<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for PayloadBuf<N> {}

impl<const N: usize> core::fmt::Debug for PayloadBuf<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl<const N: usize> Message<N> {
    /// An empty message ([`MessageKind::Empty`]).
    pub const fn new() -> Self {
        Self {
            kind: MessageKind::Empty,
            sender: NO_SENDER,
            group: None,
            payload: PayloadBuf::new(),
            missed: 0,
            overrun: None,
            replayed: false,
            kevent: None,
            kevents_missed: 0,
            ticket: None,
            errno: 0,
            target: None,
            error_msg: String::new(),
        }
    }

    /// Resets every field (the message is [`MessageKind::Empty`] again).
    pub fn clear(&mut self) {
        self.kind = MessageKind::Empty;
        self.sender = NO_SENDER;
        self.group = None;
        self.payload.clear();
        self.missed = 0;
        self.overrun = None;
        self.replayed = false;
        self.kevent = None;
        self.kevents_missed = 0;
        self.ticket = None;
        self.errno = 0;
        self.target = None;
        self.error_msg.clear();
    }

    /// Sets how many kernel events were missed just before this one (a kernel event
    /// only; see [`crate::machine::Inbox`]).
    pub(crate) fn set_kevents_missed(&mut self, missed: u64) {
        if self.kind == MessageKind::Kevent {
            self.kevents_missed = missed;
        }
    }

    /// Copies a parsed delivery in. A payload larger than `N` is
    /// [`WireError::PayloadTooLarge`] and leaves the message cleared
    /// ([`MessageKind::Empty`]).
    pub fn fill(&mut self, delivery: &Delivery<'_>) -> Result<(), WireError> {
        self.clear();
        let (sender, payload) = match delivery {
            Delivery::Unicast(u) => {
                self.kind = MessageKind::Unicast;
                self.missed = u.missed;
                self.overrun = u.overrun;
                (u.sender, u.payload)
            }
            Delivery::Group(g) => {
                self.kind = MessageKind::Group;
                self.group = Some(g.group);
                self.missed = g.missed;
                self.overrun = g.overrun;
                self.replayed = g.replayed;
                (g.sender, g.payload)
            }
            Delivery::Kevent(e) => {
                self.kind = MessageKind::Kevent;
                self.kevent = Some(*e);
                if let Some(peer) = e.peer() {
                    self.sender = Sender {
                        name: peer.name,
                        port: peer.port,
                        pid: peer.pid,
                        uid: peer.uid,
                    };
                }
                return Ok(());
            }
            Delivery::SendFailed(f) => {
                self.kind = MessageKind::SendFailed;
                self.ticket = Ticket::new(f.ticket);
                self.errno = f.errno;
                self.target = f.peer;
                self.group = f.group;
                self.missed = f.missed;
                for c in f.message.unwrap_or_default().chars() {
                    if self.error_msg.push(c).is_err() {
                        break;
                    }
                }
                return Ok(());
            }
        };
        if self.payload.set(payload).is_err() {
            self.clear();
            return Err(WireError::PayloadTooLarge);
        }
        self.sender = sender;
        Ok(())
    }

    /// What the message is.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Who sent it, as stamped by the kernel: name (`None` when anonymous), port (reply to
    /// it by port), pid and uid. For a kernel event, the peer the event is about (the
    /// owner, for a group event); all zero for other messages.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// Group name of a group message.
    pub fn group(&self) -> Option<&Name> {
        self.group.as_ref()
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        self.payload.as_slice()
    }

    /// The payload as text, if it is UTF-8 (a trailing NUL, as C senders add, is left
    /// out).
    pub fn payload_str(&self) -> Option<&str> {
        let p = self.payload();
        let p = p.strip_suffix(&[0]).unwrap_or(p);
        core::str::from_utf8(p).ok()
    }

    /// Messages for this peer dropped (queue full) since its previous delivery.
    pub fn missed(&self) -> u32 {
        self.missed
    }

    /// An overflow of this peer's queue since its previous delivery: how
    /// many unicasts to it the kernel refused, and who filled the queue
    /// (its port and uid), as the kernel reports with the next delivery.
    pub fn overrun(&self) -> Option<Overrun> {
        self.overrun
    }

    /// Whether this group message is the replay of the group's last message on join.
    pub fn replayed(&self) -> bool {
        self.replayed
    }

    /// The kernel event, for [`MessageKind::Kevent`].
    pub fn kevent(&self) -> Option<&Kevent> {
        self.kevent.as_ref()
    }

    /// Kernel events lost just before this one (a gap in their sequence numbers), for
    /// [`MessageKind::Kevent`].
    pub fn kevents_missed(&self) -> u64 {
        self.kevents_missed
    }

    /// The ticket of the failed posted send, for [`MessageKind::SendFailed`].
    pub fn ticket(&self) -> Option<Ticket> {
        self.ticket
    }

    /// The positive errno of the failed posted send, for [`MessageKind::SendFailed`] (0
    /// otherwise).
    pub fn errno(&self) -> u32 {
        self.errno
    }

    /// The module's explanation of the failure (empty if it gave none).
    pub fn error_message(&self) -> &str {
        &self.error_msg
    }

    /// The destination peer of the failed posted unicast, as the request gave it (its
    /// group is [`Message::group`]).
    pub fn target(&self) -> Option<&PeerRef> {
        self.target.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::KeventKind;
    use crate::wire::ipcon::{GroupDelivery, OverrunSender, UnicastDelivery};

    #[test]
    fn fill_overwrites_everything() {
        let mut m: Message<4> = Message::new();
        let sender = Sender {
            name: Some(Name::new("a").unwrap()),
            port: 1,
            pid: 2,
            uid: 3,
        };
        let g = GroupDelivery {
            sender,
            group: Name::new("g").unwrap(),
            payload: b"abc",
            missed: 2,
            replayed: true,
            overrun: None,
        };
        m.fill(&Delivery::Group(g)).unwrap();
        assert_eq!(m.kind(), MessageKind::Group);
        assert_eq!(m.payload(), b"abc");
        assert_eq!(m.group().unwrap(), "g");
        assert!(m.replayed());
        assert_eq!(m.sender(), &sender);
        assert_eq!(m.missed(), 2);
        let u = UnicastDelivery {
            sender: Sender {
                name: None,
                ..sender
            },
            payload: b"x",
            missed: 0,
            overrun: Some(Overrun {
                refused: 4,
                filled_by: Some(OverrunSender { port: 9, uid: 1000 }),
            }),
        };
        m.fill(&Delivery::Unicast(u)).unwrap();
        assert_eq!(m.kind(), MessageKind::Unicast);
        assert_eq!(
            m.overrun(),
            Some(Overrun {
                refused: 4,
                filled_by: Some(OverrunSender { port: 9, uid: 1000 })
            })
        );
        assert!(m.group().is_none() && m.sender().name.is_none() && !m.replayed());
        assert_eq!(m.payload(), b"x");
        let e = Kevent {
            seq: 4,
            kind: KeventKind::Unknown(9),
        };
        m.fill(&Delivery::Kevent(e)).unwrap();
        assert_eq!(m.kevent(), Some(&e));
        assert!(m.payload().is_empty());
        assert_eq!(m.sender(), &NO_SENDER);
    }

    #[test]
    fn tickets_count_up_and_skip_zero_when_wrapping() {
        assert_eq!(Ticket::new(0), None);
        assert_eq!(Ticket::after(None).get(), 1);
        assert_eq!(Ticket::after(Ticket::new(1)).get(), 2);
        assert_eq!(Ticket::after(Ticket::new(u32::MAX)).get(), 1);
        assert_eq!(std::format!("{}", Ticket::after(None)), "#1");
    }

    #[test]
    fn text_payloads_lose_a_trailing_nul() {
        let mut m: Message<8> = Message::new();
        let u = |payload| {
            Delivery::Unicast(UnicastDelivery {
                sender: NO_SENDER,
                payload,
                missed: 0,
                overrun: None,
            })
        };
        m.fill(&u(b"hello\0")).unwrap();
        assert_eq!(m.payload_str(), Some("hello"));
        m.fill(&u(b"\xff")).unwrap();
        assert_eq!(m.payload_str(), None);
    }

    #[test]
    fn send_failures_fill_and_clear() {
        use crate::wire::ipcon::SendFailure;
        let mut m: Message<4> = Message::new();
        let long = "x".repeat(MAX_ERROR_MSG_LEN + 10);
        let f = SendFailure {
            ticket: 9,
            errno: 11,
            message: Some(&long),
            peer: Some(PeerRef::Name(Name::new("nobody").unwrap())),
            group: None,
            missed: 3,
        };
        m.fill(&Delivery::SendFailed(f)).unwrap();
        assert_eq!(m.kind(), MessageKind::SendFailed);
        assert_eq!((m.ticket(), m.errno(), m.missed()), (Ticket::new(9), 11, 3));
        assert_eq!(m.error_message(), &long[..MAX_ERROR_MSG_LEN]);
        assert_eq!(m.target(), f.peer.as_ref());
        assert!(m.payload().is_empty() && m.sender().name.is_none() && m.group().is_none());
        let g = SendFailure {
            message: None,
            peer: None,
            group: Some(Name::new("grp").unwrap()),
            ..f
        };
        m.fill(&Delivery::SendFailed(g)).unwrap();
        assert_eq!(m.error_message(), "");
        assert_eq!(m.group().unwrap(), "grp");
        assert!(m.target().is_none());
        let u = UnicastDelivery {
            sender: Sender {
                name: None,
                port: 1,
                pid: 0,
                uid: 0,
            },
            payload: b"ok",
            missed: 0,
            overrun: None,
        };
        m.fill(&Delivery::Unicast(u)).unwrap();
        assert_eq!((m.ticket(), m.errno(), m.error_message()), (None, 0, ""));
        assert!(m.group().is_none());
    }

    #[test]
    fn too_large_payload_is_an_error() {
        let mut m: Message<2> = Message::new();
        let u = UnicastDelivery {
            sender: Sender {
                name: None,
                port: 1,
                pid: 0,
                uid: 0,
            },
            payload: b"abc",
            missed: 0,
            overrun: None,
        };
        assert_eq!(
            m.fill(&Delivery::Unicast(u)),
            Err(WireError::PayloadTooLarge)
        );
        assert!(m.payload().is_empty());
        assert_eq!((m.kind(), m.sender().port), (MessageKind::Empty, 0));
    }

    #[test]
    fn a_shorter_payload_replaces_a_longer_one_and_compares_alone() {
        let unicast = |payload: &'static [u8]| {
            Delivery::Unicast(UnicastDelivery {
                sender: Sender {
                    name: None,
                    port: 1,
                    pid: 2,
                    uid: 3,
                },
                payload,
                missed: 0,
                overrun: None,
            })
        };
        let mut reused: Message<8> = Message::new();
        reused.fill(&unicast(b"abcdefgh")).unwrap();
        reused.fill(&unicast(b"xy")).unwrap();
        assert_eq!(reused.payload(), b"xy");
        let mut fresh: Message<8> = Message::new();
        fresh.fill(&unicast(b"xy")).unwrap();
        // The bytes "cdefgh" still behind the payload of `reused` do not count.
        assert_eq!(reused, fresh);
        assert!(debug_shows_only_the_payload(&reused));
    }

    /// The payload part of `Debug` (what a log line shows).
    fn debug_shows_only_the_payload<const N: usize>(m: &Message<N>) -> bool {
        use core::fmt::Write;
        struct Has(bool, usize);
        impl Write for Has {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                self.1 += s.len();
                self.0 |= s.contains("99, 100");
                Ok(())
            }
        }
        let mut has = Has(false, 0);
        write!(has, "{m:?}").unwrap();
        // "99, 100" would be the stale bytes b'c', b'd'.
        !has.0 && has.1 > 0
    }
}
