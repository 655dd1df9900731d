//! What a receive fills in: a peer's unicast, a group message or a kernel
//! event, in a fixed-size buffer the caller owns and reuses.

use std::fmt;

pub use crate::proto::{PeerFlags, RemoveReason};

use crate::name::Name;
use crate::proto::attr;
use crate::wire::{get_str, get_u32, get_u64, Attrs};

/// Largest payload the protocol carries (the module may be loaded with a
/// lower limit).
pub const MAX_PAYLOAD_LEN: usize = crate::proto::spec::MAX_PAYLOAD_LEN;

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

    /// Parses a kevent's attributes; `None` when a required one is missing.
    pub(crate) fn parse(attrs: Attrs<'_>) -> Option<Self> {
        let mut kind = None;
        let mut seq = None;
        let mut peer = PeerRef::default();
        let mut group = None;
        let mut reason = None;
        for (ty, v) in attrs.iter() {
            match ty {
                attr::KEVENT_TYPE => kind = get_u32(v),
                attr::KEVENT_SEQ => seq = get_u64(v),
                attr::PEER_NAME => peer.name = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::PORT => peer.port = get_u32(v)?,
                attr::PID => peer.pid = get_u32(v)?,
                attr::UID => peer.uid = get_u32(v)?,
                attr::PEER_FLAGS => peer.flags = PeerFlags::from_bits_retain(get_u32(v)?),
                attr::GROUP_NAME => group = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::REASON => reason = get_u32(v).map(RemoveReason::from_raw),
                _ => {}
            }
        }
        let seq = seq?;
        let removed = || reason.unwrap_or(RemoveReason::Unknown(0));
        Some(match kind? {
            1 => Self::PeerAdd { seq, peer },
            2 => Self::PeerRemove {
                seq,
                peer,
                reason: removed(),
            },
            3 => Self::GroupAdd {
                seq,
                owner: peer,
                group: group?,
            },
            4 => Self::GroupRemove {
                seq,
                owner: peer,
                group: group?,
                reason: removed(),
            },
            _ => return None,
        })
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
#[derive(Clone)]
pub struct Message {
    kind: MessageKind,
    sender: Sender,
    group: Option<Name>,
    missed: u32,
    replayed: bool,
    kevent: Option<Kevent>,
    kevents_missed: u64,
    len: usize,
    payload: [u8; MAX_PAYLOAD_LEN],
}

impl Default for Message {
    fn default() -> Self {
        Self::new()
    }
}

impl Message {
    /// An empty message to receive into.
    pub const fn new() -> Self {
        Self {
            kind: MessageKind::Empty,
            sender: Sender {
                port: 0,
                pid: 0,
                uid: 0,
                name: None,
            },
            group: None,
            missed: 0,
            replayed: false,
            kevent: None,
            kevents_missed: 0,
            len: 0,
            payload: [0; MAX_PAYLOAD_LEN],
        }
    }

    /// What was received.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload (empty for a kernel event).
    pub fn payload(&self) -> &[u8] {
        &self.payload[..self.len]
    }

    /// The payload as text, if it is UTF-8 (a trailing NUL, as C senders
    /// add, is left out).
    pub fn payload_str(&self) -> Option<&str> {
        let p = self.payload();
        let p = p.strip_suffix(&[0]).unwrap_or(p);
        std::str::from_utf8(p).ok()
    }

    /// Who sent it (for unicast and group messages).
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The group of a group message.
    pub fn group(&self) -> Option<&Name> {
        self.group.as_ref()
    }

    /// Messages for this peer the kernel dropped (queue full) since its
    /// previous delivery.
    pub fn missed(&self) -> u32 {
        self.missed
    }

    /// This group message is the replay of the group's last message, sent
    /// on joining.
    pub fn is_replay(&self) -> bool {
        self.replayed
    }

    /// The kernel event, for [`MessageKind::Kevent`].
    pub fn kevent(&self) -> Option<&Kevent> {
        self.kevent.as_ref()
    }

    /// Kernel events lost just before this one (a gap in the sequence).
    pub fn kevents_missed(&self) -> u64 {
        self.kevents_missed
    }

    fn clear(&mut self, kind: MessageKind) {
        self.kind = kind;
        self.sender = Sender::default();
        self.group = None;
        self.missed = 0;
        self.replayed = false;
        self.kevent = None;
        self.kevents_missed = 0;
        self.len = 0;
    }

    /// Fills in a unicast or group delivery; `false` if malformed (the
    /// message is then left `Empty`).
    pub(crate) fn fill_delivery(&mut self, kind: MessageKind, attrs: Attrs<'_>) -> bool {
        self.clear(kind);
        let mut ok = true;
        let mut has_payload = false;
        for (ty, v) in attrs.iter() {
            match ty {
                attr::PEER_NAME => self.sender.name = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::PORT => ok &= get_u32(v).map(|x| self.sender.port = x).is_some(),
                attr::PID => ok &= get_u32(v).map(|x| self.sender.pid = x).is_some(),
                attr::UID => ok &= get_u32(v).map(|x| self.sender.uid = x).is_some(),
                attr::GROUP_NAME => self.group = get_str(v).and_then(|s| Name::new(s).ok()),
                attr::MISSED => ok &= get_u32(v).map(|x| self.missed = x).is_some(),
                attr::REPLAYED => self.replayed = true,
                attr::PAYLOAD => {
                    if v.len() > MAX_PAYLOAD_LEN {
                        ok = false;
                    } else {
                        self.payload[..v.len()].copy_from_slice(v);
                        self.len = v.len();
                        has_payload = true;
                    }
                }
                _ => {}
            }
        }
        ok &= has_payload && (kind != MessageKind::Group || self.group.is_some());
        if !ok {
            self.clear(MessageKind::Empty);
        }
        ok
    }

    /// Fills in a kernel event.
    pub(crate) fn fill_kevent(&mut self, kevent: Kevent, missed_before: u64) {
        self.clear(MessageKind::Kevent);
        self.sender.port = kevent.peer().port;
        self.sender.pid = kevent.peer().pid;
        self.sender.uid = kevent.peer().uid;
        self.sender.name = kevent.peer().name;
        self.kevent = Some(kevent);
        self.kevents_missed = missed_before;
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .field("sender", &self.sender)
            .field("group", &self.group)
            .field("missed", &self.missed)
            .field("replayed", &self.replayed)
            .field("kevent", &self.kevent)
            .field("kevents_missed", &self.kevents_missed)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::RequestBuilder;

    fn attrs_of(build: impl FnOnce(&mut RequestBuilder<'_>), buf: &mut [u8]) -> Vec<u8> {
        let mut b = RequestBuilder::new(buf, 0x20, 0, 0, 0, 1);
        build(&mut b);
        b.finish().unwrap()[20..].to_vec()
    }

    #[test]
    fn group_delivery_fills_every_field() {
        let mut buf = [0u8; 256];
        let a = attrs_of(
            |b| {
                b.attr_str(attr::PEER_NAME, "srv")
                    .attr_u32(attr::PORT, 77)
                    .attr_u32(attr::PID, 42)
                    .attr_u32(attr::UID, 1000)
                    .attr_str(attr::GROUP_NAME, "str_msg")
                    .attr_u32(attr::MISSED, 3)
                    .attr_flag(attr::REPLAYED)
                    .attr(attr::PAYLOAD, b"hello\0");
            },
            &mut buf,
        );
        let mut m = Message::new();
        assert!(m.fill_delivery(MessageKind::Group, Attrs::new(&a)));
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
    fn delivery_without_payload_is_rejected_and_state_cleared() {
        let mut buf = [0u8; 256];
        let good = attrs_of(
            |b| {
                b.attr(attr::PAYLOAD, b"x").attr_u32(attr::MISSED, 9);
            },
            &mut buf,
        );
        let mut m = Message::new();
        assert!(m.fill_delivery(MessageKind::Unicast, Attrs::new(&good)));
        let mut buf = [0u8; 256];
        let bad = attrs_of(
            |b| {
                b.attr_u32(attr::PORT, 1);
            },
            &mut buf,
        );
        assert!(!m.fill_delivery(MessageKind::Unicast, Attrs::new(&bad)));
        assert_eq!(m.kind(), MessageKind::Empty);
        assert_eq!(m.missed(), 0);
        assert!(m.payload().is_empty());
    }

    #[test]
    fn kevent_parses_and_prints_one_line() {
        let mut buf = [0u8; 256];
        let a = attrs_of(
            |b| {
                b.attr_u32(attr::KEVENT_TYPE, 2)
                    .attr_u64(attr::KEVENT_SEQ, 3)
                    .attr_str(attr::PEER_NAME, "ipcon_server")
                    .attr_u32(attr::PORT, 1234)
                    .attr_u32(attr::PID, 42)
                    .attr_u32(attr::UID, 0)
                    .attr_u32(attr::REASON, 2);
            },
            &mut buf,
        );
        let k = Kevent::parse(Attrs::new(&a)).unwrap();
        assert_eq!(k.seq(), 3);
        assert_eq!(
            k.to_string(),
            "kevent #3 peer-remove name=ipcon_server port=1234 pid=42 uid=0 reason=closed"
        );
        let mut buf = [0u8; 256];
        let no_group = attrs_of(
            |b| {
                b.attr_u32(attr::KEVENT_TYPE, 3)
                    .attr_u64(attr::KEVENT_SEQ, 1);
            },
            &mut buf,
        );
        assert!(Kevent::parse(Attrs::new(&no_group)).is_none());
    }
}
