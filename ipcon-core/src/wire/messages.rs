//! The messages of every operation of `kmod/ipcon.yaml`: one struct per request,
//! reply and notification with a field per attribute it may carry. Strings and
//! binaries borrow from the received buffer (strings without their NUL); enums and
//! flags are typed. Parsing ignores attributes a message does not carry; emission
//! writes the present ones in the spec's order. See [`MessageAttrs`].
//!
//! Generated from `kmod/ipcon.yaml` by `cargo xtask codegen` — do not edit.

use crate::error::WireError;
use crate::spec::{Attr, Command, GroupAccess, KeventType, PeerFlags, RemoveReason};
use crate::wire::attr::{attr_size, AttrWriter, Attributes};

/// The attributes of one message, generated from the spec for every request, reply and
/// notification; each also has an associated `COMMAND` and a `parse(attrs)` over its
/// attribute stream.
pub trait MessageAttrs {
    /// The command the message is sent with.
    fn command(&self) -> Command;
    /// Bytes the present attributes take, padding included.
    fn attrs_len(&self) -> usize;
    /// Writes the present attributes in the spec's order.
    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError>;
}

/// The `peer-register` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerRegisterRequest<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `access`: Who may join a group (one of group-access).
    pub access: Option<GroupAccess>,
    /// `gid`: The group id that group-access gid admits.
    pub gid: Option<u32>,
    /// `packed`: In peer-register: the data socket takes packed deliveries, several
    /// messages in one datagram, each a complete unicast-msg or group-msg
    /// netlink message, no datagram longer than max-delivery-len.
    pub packed: bool,
}

impl<'a> PeerRegisterRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PeerRegister;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Access => m.access = Some(GroupAccess::from_raw(attr.as_u32()?)),
                Attr::Gid => m.gid = Some(attr.as_u32()?),
                Attr::Packed => m.packed = true,
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for PeerRegisterRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.access.is_some() {
            len += attr_size(4);
        }
        if self.gid.is_some() {
            len += attr_size(4);
        }
        if self.packed {
            len += attr_size(0);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.access {
            w.put_u32(Attr::Access.to_raw(), v.to_raw())?;
        }
        if let Some(v) = self.gid {
            w.put_u32(Attr::Gid.to_raw(), v)?;
        }
        if self.packed {
            w.put_flag(Attr::Packed.to_raw())?;
        }
        Ok(())
    }
}

/// The `peer-register` reply (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerRegisterReply<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `cookie`: Secret returned by peer-register; peer-attach presents it to attach a
    /// control socket to the peer.
    pub cookie: Option<u64>,
}

impl<'a> PeerRegisterReply<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PeerRegister;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::Cookie => m.cookie = Some(attr.as_u64()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for PeerRegisterReply<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if self.cookie.is_some() {
            len += attr_size(8);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.cookie {
            w.put_u64(Attr::Cookie.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `peer-attach` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerAttachRequest {
    /// `cookie`: Secret returned by peer-register; peer-attach presents it to attach a
    /// control socket to the peer.
    pub cookie: Option<u64>,
}

impl PeerAttachRequest {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PeerAttach;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    #[allow(clippy::single_match)]
    pub fn parse(attrs: &[u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::Cookie => m.cookie = Some(attr.as_u64()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for PeerAttachRequest {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if self.cookie.is_some() {
            len += attr_size(8);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.cookie {
            w.put_u64(Attr::Cookie.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `peer-unregister` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerUnregisterRequest;

impl PeerUnregisterRequest {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PeerUnregister;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &[u8]) -> Result<Self, WireError> {
        for attr in Attributes::new(attrs) {
            attr?;
        }
        Ok(Self)
    }
}

impl MessageAttrs for PeerUnregisterRequest {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        0
    }

    fn emit_attrs(&self, _w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        Ok(())
    }
}

/// The `peer-get` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerGetRequest<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
}

impl<'a> PeerGetRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PeerGet;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for PeerGetRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `peer-get` reply (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerGetReply<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `pid`: Kernel-stamped thread-group id of the sender (or of the peer).
    pub pid: Option<u32>,
    /// `uid`: Kernel-stamped uid of the sender (or of the peer).
    pub uid: Option<u32>,
    /// `peer-flags`: Properties of a peer.
    pub peer_flags: Option<PeerFlags>,
    /// `tx-msgs`: Messages a peer (or group) sent.
    pub tx_msgs: Option<u64>,
    /// `rx-msgs`: Messages queued to a peer.
    pub rx_msgs: Option<u64>,
    /// `rx-dropped`: Messages for a peer dropped because its queue was full.
    pub rx_dropped: Option<u64>,
    /// `groups`: Number of groups a peer owns.
    pub groups: Option<u32>,
    /// `access`: Who may join a group (one of group-access).
    pub access: Option<GroupAccess>,
    /// `gid`: The group id that group-access gid admits.
    pub gid: Option<u32>,
}

impl<'a> PeerGetReply<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PeerGet;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::Pid => m.pid = Some(attr.as_u32()?),
                Attr::Uid => m.uid = Some(attr.as_u32()?),
                Attr::PeerFlags => m.peer_flags = Some(PeerFlags::from_bits_retain(attr.as_u32()?)),
                Attr::TxMsgs => m.tx_msgs = Some(attr.as_u64()?),
                Attr::RxMsgs => m.rx_msgs = Some(attr.as_u64()?),
                Attr::RxDropped => m.rx_dropped = Some(attr.as_u64()?),
                Attr::Groups => m.groups = Some(attr.as_u32()?),
                Attr::Access => m.access = Some(GroupAccess::from_raw(attr.as_u32()?)),
                Attr::Gid => m.gid = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for PeerGetReply<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if self.pid.is_some() {
            len += attr_size(4);
        }
        if self.uid.is_some() {
            len += attr_size(4);
        }
        if self.peer_flags.is_some() {
            len += attr_size(4);
        }
        if self.tx_msgs.is_some() {
            len += attr_size(8);
        }
        if self.rx_msgs.is_some() {
            len += attr_size(8);
        }
        if self.rx_dropped.is_some() {
            len += attr_size(8);
        }
        if self.groups.is_some() {
            len += attr_size(4);
        }
        if self.access.is_some() {
            len += attr_size(4);
        }
        if self.gid.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.pid {
            w.put_u32(Attr::Pid.to_raw(), v)?;
        }
        if let Some(v) = self.uid {
            w.put_u32(Attr::Uid.to_raw(), v)?;
        }
        if let Some(v) = self.peer_flags {
            w.put_u32(Attr::PeerFlags.to_raw(), v.bits())?;
        }
        if let Some(v) = self.tx_msgs {
            w.put_u64(Attr::TxMsgs.to_raw(), v)?;
        }
        if let Some(v) = self.rx_msgs {
            w.put_u64(Attr::RxMsgs.to_raw(), v)?;
        }
        if let Some(v) = self.rx_dropped {
            w.put_u64(Attr::RxDropped.to_raw(), v)?;
        }
        if let Some(v) = self.groups {
            w.put_u32(Attr::Groups.to_raw(), v)?;
        }
        if let Some(v) = self.access {
            w.put_u32(Attr::Access.to_raw(), v.to_raw())?;
        }
        if let Some(v) = self.gid {
            w.put_u32(Attr::Gid.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `peer-get` dump request. Same attributes as [`PeerGetRequest`].
pub type PeerGetDumpRequest<'a> = PeerGetRequest<'a>;

/// The `peer-get` reply (each message of a dump). Same attributes as [`PeerGetReply`].
pub type PeerGetDumpReply<'a> = PeerGetReply<'a>;

/// The `unicast` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UnicastRequest<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `payload`: Message payload, 0..max-payload-len bytes. The module checks the length
    /// against its max_payload parameter itself (not in the attribute policy),
    /// so every oversized payload gets EMSGSIZE with an extended-ACK message.
    pub payload: Option<&'a [u8]>,
    /// `pack`: In unicast and multicast, instead of payload: 1..max-pack messages to
    /// the same destination, in order, each entry with its payload. A
    /// receiver that registered packed gets them in one datagram (at most
    /// max-delivery-len bytes, else EMSGSIZE), all or none; a subscriber
    /// that did not gets them one per datagram; a unicast to a receiver that
    /// did not is EOPNOTSUPP. An empty pack counts as absent (YNL's generated
    /// user code always puts the attribute).
    ///
    /// The value: the nest's contents, its entries (each a nest numbered by its
    /// index, holding [`crate::spec::PackEntryAttr`] attributes); emitted
    /// with `NLA_F_NESTED`.
    pub pack: Option<&'a [u8]>,
    /// `ticket`: Chosen by the sender of a unicast or multicast request to post it:
    /// the request wants no ACK, and a failure comes back as a send-failed
    /// notification carrying the same ticket. Not allowed together with sync.
    pub ticket: Option<u32>,
    /// `expect-uid`: In unicast and group-join: the uid the receiving peer (the group's
    /// owner) must have, as stamps give uids; another owner's peer gets
    /// EPERM and nothing is delivered or joined.
    pub expect_uid: Option<u32>,
    /// `stamp-room`: In a posted unicast (one with ticket, without NLM_F_ACK) with payload:
    /// exactly stamp-room-len bytes (any content) that the module may
    /// overwrite with the sender's stamp, so that it queues the request's
    /// own buffer to the receiver as the unicast-msg instead of a copy. The
    /// receiver then also sees the request's other attributes, turned into
    /// pad. Optional: without it (or when the request cannot be forwarded)
    /// the module builds the delivery.
    pub stamp_room: Option<&'a [u8]>,
}

impl<'a> UnicastRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::Unicast;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::Payload => m.payload = Some(attr.value()),
                Attr::Pack => m.pack = Some(attr.value()),
                Attr::Ticket => m.ticket = Some(attr.as_u32()?),
                Attr::ExpectUid => m.expect_uid = Some(attr.as_u32()?),
                Attr::StampRoom => m.stamp_room = Some(attr.value()),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for UnicastRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.payload {
            len += attr_size(v.len());
        }
        if let Some(v) = self.pack {
            len += attr_size(v.len());
        }
        if self.ticket.is_some() {
            len += attr_size(4);
        }
        if self.expect_uid.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.stamp_room {
            len += attr_size(v.len());
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.payload {
            w.put_bytes(Attr::Payload.to_raw(), v)?;
        }
        if let Some(v) = self.pack {
            w.put_nested(Attr::Pack.to_raw(), v)?;
        }
        if let Some(v) = self.ticket {
            w.put_u32(Attr::Ticket.to_raw(), v)?;
        }
        if let Some(v) = self.expect_uid {
            w.put_u32(Attr::ExpectUid.to_raw(), v)?;
        }
        if let Some(v) = self.stamp_room {
            w.put_bytes(Attr::StampRoom.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-register` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupRegisterRequest<'a> {
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `access`: Who may join a group (one of group-access).
    pub access: Option<GroupAccess>,
    /// `gid`: The group id that group-access gid admits.
    pub gid: Option<u32>,
}

impl<'a> GroupRegisterRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupRegister;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::Access => m.access = Some(GroupAccess::from_raw(attr.as_u32()?)),
                Attr::Gid => m.gid = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupRegisterRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if self.access.is_some() {
            len += attr_size(4);
        }
        if self.gid.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if let Some(v) = self.access {
            w.put_u32(Attr::Access.to_raw(), v.to_raw())?;
        }
        if let Some(v) = self.gid {
            w.put_u32(Attr::Gid.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-unregister` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupUnregisterRequest<'a> {
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
}

impl<'a> GroupUnregisterRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupUnregister;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    #[allow(clippy::single_match)]
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupUnregisterRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-join` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupJoinRequest<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `rcv-last-msg`: In group-join, replay the group's last message to the new subscriber.
    pub rcv_last_msg: bool,
    /// `expect-uid`: In unicast and group-join: the uid the receiving peer (the group's
    /// owner) must have, as stamps give uids; another owner's peer gets
    /// EPERM and nothing is delivered or joined.
    pub expect_uid: Option<u32>,
}

impl<'a> GroupJoinRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupJoin;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::RcvLastMsg => m.rcv_last_msg = true,
                Attr::ExpectUid => m.expect_uid = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupJoinRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if self.rcv_last_msg {
            len += attr_size(0);
        }
        if self.expect_uid.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if self.rcv_last_msg {
            w.put_flag(Attr::RcvLastMsg.to_raw())?;
        }
        if let Some(v) = self.expect_uid {
            w.put_u32(Attr::ExpectUid.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-leave` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupLeaveRequest<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
}

impl<'a> GroupLeaveRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupLeave;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupLeaveRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-get` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupGetRequest<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
}

impl<'a> GroupGetRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupGet;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupGetRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-get` reply (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupGetReply<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `access`: Who may join a group (one of group-access).
    pub access: Option<GroupAccess>,
    /// `gid`: The group id that group-access gid admits.
    pub gid: Option<u32>,
    /// `subscribers`: Number of subscribers of a group.
    pub subscribers: Option<u32>,
    /// `tx-msgs`: Messages a peer (or group) sent.
    pub tx_msgs: Option<u64>,
    /// `last-msg-len`: Payload length of a group's cached last message; absent if none.
    pub last_msg_len: Option<u32>,
}

impl<'a> GroupGetReply<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupGet;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::Access => m.access = Some(GroupAccess::from_raw(attr.as_u32()?)),
                Attr::Gid => m.gid = Some(attr.as_u32()?),
                Attr::Subscribers => m.subscribers = Some(attr.as_u32()?),
                Attr::TxMsgs => m.tx_msgs = Some(attr.as_u64()?),
                Attr::LastMsgLen => m.last_msg_len = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupGetReply<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if self.access.is_some() {
            len += attr_size(4);
        }
        if self.gid.is_some() {
            len += attr_size(4);
        }
        if self.subscribers.is_some() {
            len += attr_size(4);
        }
        if self.tx_msgs.is_some() {
            len += attr_size(8);
        }
        if self.last_msg_len.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if let Some(v) = self.access {
            w.put_u32(Attr::Access.to_raw(), v.to_raw())?;
        }
        if let Some(v) = self.gid {
            w.put_u32(Attr::Gid.to_raw(), v)?;
        }
        if let Some(v) = self.subscribers {
            w.put_u32(Attr::Subscribers.to_raw(), v)?;
        }
        if let Some(v) = self.tx_msgs {
            w.put_u64(Attr::TxMsgs.to_raw(), v)?;
        }
        if let Some(v) = self.last_msg_len {
            w.put_u32(Attr::LastMsgLen.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-get` dump request. Same attributes as [`GroupGetRequest`].
pub type GroupGetDumpRequest<'a> = GroupGetRequest<'a>;

/// The `group-get` reply (each message of a dump). Same attributes as [`GroupGetReply`].
pub type GroupGetDumpReply<'a> = GroupGetReply<'a>;

/// The `multicast` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MulticastRequest<'a> {
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `payload`: Message payload, 0..max-payload-len bytes. The module checks the length
    /// against its max_payload parameter itself (not in the attribute policy),
    /// so every oversized payload gets EMSGSIZE with an extended-ACK message.
    pub payload: Option<&'a [u8]>,
    /// `pack`: In unicast and multicast, instead of payload: 1..max-pack messages to
    /// the same destination, in order, each entry with its payload. A
    /// receiver that registered packed gets them in one datagram (at most
    /// max-delivery-len bytes, else EMSGSIZE), all or none; a subscriber
    /// that did not gets them one per datagram; a unicast to a receiver that
    /// did not is EOPNOTSUPP. An empty pack counts as absent (YNL's generated
    /// user code always puts the attribute).
    ///
    /// The value: the nest's contents, its entries (each a nest numbered by its
    /// index, holding [`crate::spec::PackEntryAttr`] attributes); emitted
    /// with `NLA_F_NESTED`.
    pub pack: Option<&'a [u8]>,
    /// `sync`: In multicast: reply with delivered and dropped once the fan-out is
    /// done.
    pub sync: bool,
    /// `ticket`: Chosen by the sender of a unicast or multicast request to post it:
    /// the request wants no ACK, and a failure comes back as a send-failed
    /// notification carrying the same ticket. Not allowed together with sync.
    pub ticket: Option<u32>,
}

impl<'a> MulticastRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::Multicast;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::Payload => m.payload = Some(attr.value()),
                Attr::Pack => m.pack = Some(attr.value()),
                Attr::Sync => m.sync = true,
                Attr::Ticket => m.ticket = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for MulticastRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if let Some(v) = self.payload {
            len += attr_size(v.len());
        }
        if let Some(v) = self.pack {
            len += attr_size(v.len());
        }
        if self.sync {
            len += attr_size(0);
        }
        if self.ticket.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if let Some(v) = self.payload {
            w.put_bytes(Attr::Payload.to_raw(), v)?;
        }
        if let Some(v) = self.pack {
            w.put_nested(Attr::Pack.to_raw(), v)?;
        }
        if self.sync {
            w.put_flag(Attr::Sync.to_raw())?;
        }
        if let Some(v) = self.ticket {
            w.put_u32(Attr::Ticket.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `multicast` reply (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MulticastReply {
    /// `delivered`: In a sync multicast reply, messages queued to subscribers (with one
    /// payload: the subscribers that got it).
    pub delivered: Option<u32>,
    /// `dropped`: In a sync multicast reply, messages dropped because a subscriber's
    /// queue was full (with one payload: those subscribers).
    pub dropped: Option<u32>,
}

impl MulticastReply {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::Multicast;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &[u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::Delivered => m.delivered = Some(attr.as_u32()?),
                Attr::Dropped => m.dropped = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for MulticastReply {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if self.delivered.is_some() {
            len += attr_size(4);
        }
        if self.dropped.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.delivered {
            w.put_u32(Attr::Delivered.to_raw(), v)?;
        }
        if let Some(v) = self.dropped {
            w.put_u32(Attr::Dropped.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `kevent` notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeventNtf<'a> {
    /// `kevent-type`: What a kernel event reports.
    pub kevent_type: Option<KeventType>,
    /// `kevent-seq`: Kernel event sequence number, per network namespace, starting at 1
    /// and incremented by one for every event sent.
    pub kevent_seq: Option<u64>,
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `pid`: Kernel-stamped thread-group id of the sender (or of the peer).
    pub pid: Option<u32>,
    /// `uid`: Kernel-stamped uid of the sender (or of the peer).
    pub uid: Option<u32>,
    /// `peer-flags`: Properties of a peer.
    pub peer_flags: Option<PeerFlags>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `reason`: Why a peer or group was removed.
    pub reason: Option<RemoveReason>,
}

impl<'a> KeventNtf<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::Kevent;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::KeventType => m.kevent_type = Some(KeventType::from_raw(attr.as_u32()?)),
                Attr::KeventSeq => m.kevent_seq = Some(attr.as_u64()?),
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::Pid => m.pid = Some(attr.as_u32()?),
                Attr::Uid => m.uid = Some(attr.as_u32()?),
                Attr::PeerFlags => m.peer_flags = Some(PeerFlags::from_bits_retain(attr.as_u32()?)),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::Reason => m.reason = Some(RemoveReason::from_raw(attr.as_u32()?)),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for KeventNtf<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if self.kevent_type.is_some() {
            len += attr_size(4);
        }
        if self.kevent_seq.is_some() {
            len += attr_size(8);
        }
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if self.pid.is_some() {
            len += attr_size(4);
        }
        if self.uid.is_some() {
            len += attr_size(4);
        }
        if self.peer_flags.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if self.reason.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.kevent_type {
            w.put_u32(Attr::KeventType.to_raw(), v.to_raw())?;
        }
        if let Some(v) = self.kevent_seq {
            w.put_u64(Attr::KeventSeq.to_raw(), v)?;
        }
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.pid {
            w.put_u32(Attr::Pid.to_raw(), v)?;
        }
        if let Some(v) = self.uid {
            w.put_u32(Attr::Uid.to_raw(), v)?;
        }
        if let Some(v) = self.peer_flags {
            w.put_u32(Attr::PeerFlags.to_raw(), v.bits())?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if let Some(v) = self.reason {
            w.put_u32(Attr::Reason.to_raw(), v.to_raw())?;
        }
        Ok(())
    }
}

/// The `send-failed` notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SendFailedNtf<'a> {
    /// `ticket`: Chosen by the sender of a unicast or multicast request to post it:
    /// the request wants no ACK, and a failure comes back as a send-failed
    /// notification carrying the same ticket. Not allowed together with sync.
    pub ticket: Option<u32>,
    /// `error`: In send-failed, the positive errno the request failed with. (Not
    /// named errno: C code generated from this spec would clash with the
    /// errno macro.)
    pub error: Option<u32>,
    /// `error-msg`: In send-failed, the module's explanation of the failure (the text an
    /// extended ACK would have carried), when it has one.
    pub error_msg: Option<&'a [u8]>,
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `missed`: In a delivery: how many messages for this peer were dropped because
    /// its receive queue was full since its previous delivery, failure
    /// notifications (send-failed) that could not be queued included.
    pub missed: Option<u32>,
}

impl<'a> SendFailedNtf<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::SendFailed;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::Ticket => m.ticket = Some(attr.as_u32()?),
                Attr::Error => m.error = Some(attr.as_u32()?),
                Attr::ErrorMsg => m.error_msg = Some(attr.as_cstr_bytes()),
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::Missed => m.missed = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for SendFailedNtf<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if self.ticket.is_some() {
            len += attr_size(4);
        }
        if self.error.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.error_msg {
            len += attr_size(v.len() + 1);
        }
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if self.missed.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.ticket {
            w.put_u32(Attr::Ticket.to_raw(), v)?;
        }
        if let Some(v) = self.error {
            w.put_u32(Attr::Error.to_raw(), v)?;
        }
        if let Some(v) = self.error_msg {
            w.put_cstr(Attr::ErrorMsg.to_raw(), v)?;
        }
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if let Some(v) = self.missed {
            w.put_u32(Attr::Missed.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `unicast-msg` notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UnicastMsgNtf<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `pid`: Kernel-stamped thread-group id of the sender (or of the peer).
    pub pid: Option<u32>,
    /// `uid`: Kernel-stamped uid of the sender (or of the peer).
    pub uid: Option<u32>,
    /// `payload`: Message payload, 0..max-payload-len bytes. The module checks the length
    /// against its max_payload parameter itself (not in the attribute policy),
    /// so every oversized payload gets EMSGSIZE with an extended-ACK message.
    pub payload: Option<&'a [u8]>,
    /// `missed`: In a delivery: how many messages for this peer were dropped because
    /// its receive queue was full since its previous delivery, failure
    /// notifications (send-failed) that could not be queued included.
    pub missed: Option<u32>,
    /// `overrun`: In a delivery: how many unicast messages to this peer were refused
    /// (their senders got EAGAIN) because its receive queue was full since
    /// its previous delivery.
    pub overrun: Option<u32>,
    /// `overrun-port`: In a delivery after an overflow of the receiver's queue (overrun or
    /// missed): the port of the sender most of the queued messages came
    /// from when the queue overflowed.
    pub overrun_port: Option<u32>,
    /// `overrun-uid`: The uid of that sender, as stamps give uids.
    pub overrun_uid: Option<u32>,
}

impl<'a> UnicastMsgNtf<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::UnicastMsg;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::Pid => m.pid = Some(attr.as_u32()?),
                Attr::Uid => m.uid = Some(attr.as_u32()?),
                Attr::Payload => m.payload = Some(attr.value()),
                Attr::Missed => m.missed = Some(attr.as_u32()?),
                Attr::Overrun => m.overrun = Some(attr.as_u32()?),
                Attr::OverrunPort => m.overrun_port = Some(attr.as_u32()?),
                Attr::OverrunUid => m.overrun_uid = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for UnicastMsgNtf<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if self.pid.is_some() {
            len += attr_size(4);
        }
        if self.uid.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.payload {
            len += attr_size(v.len());
        }
        if self.missed.is_some() {
            len += attr_size(4);
        }
        if self.overrun.is_some() {
            len += attr_size(4);
        }
        if self.overrun_port.is_some() {
            len += attr_size(4);
        }
        if self.overrun_uid.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.pid {
            w.put_u32(Attr::Pid.to_raw(), v)?;
        }
        if let Some(v) = self.uid {
            w.put_u32(Attr::Uid.to_raw(), v)?;
        }
        if let Some(v) = self.payload {
            w.put_bytes(Attr::Payload.to_raw(), v)?;
        }
        if let Some(v) = self.missed {
            w.put_u32(Attr::Missed.to_raw(), v)?;
        }
        if let Some(v) = self.overrun {
            w.put_u32(Attr::Overrun.to_raw(), v)?;
        }
        if let Some(v) = self.overrun_port {
            w.put_u32(Attr::OverrunPort.to_raw(), v)?;
        }
        if let Some(v) = self.overrun_uid {
            w.put_u32(Attr::OverrunUid.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `group-msg` notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupMsgNtf<'a> {
    /// `peer-name`: A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    pub peer_name: Option<&'a [u8]>,
    /// `port`: Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    pub port: Option<u32>,
    /// `pid`: Kernel-stamped thread-group id of the sender (or of the peer).
    pub pid: Option<u32>,
    /// `uid`: Kernel-stamped uid of the sender (or of the peer).
    pub uid: Option<u32>,
    /// `group-name`: A group name, same rules as peer-name.
    pub group_name: Option<&'a [u8]>,
    /// `payload`: Message payload, 0..max-payload-len bytes. The module checks the length
    /// against its max_payload parameter itself (not in the attribute policy),
    /// so every oversized payload gets EMSGSIZE with an extended-ACK message.
    pub payload: Option<&'a [u8]>,
    /// `missed`: In a delivery: how many messages for this peer were dropped because
    /// its receive queue was full since its previous delivery, failure
    /// notifications (send-failed) that could not be queued included.
    pub missed: Option<u32>,
    /// `replayed`: Marks a group message delivered as a replay of the last message.
    pub replayed: bool,
    /// `overrun`: In a delivery: how many unicast messages to this peer were refused
    /// (their senders got EAGAIN) because its receive queue was full since
    /// its previous delivery.
    pub overrun: Option<u32>,
    /// `overrun-port`: In a delivery after an overflow of the receiver's queue (overrun or
    /// missed): the port of the sender most of the queued messages came
    /// from when the queue overflowed.
    pub overrun_port: Option<u32>,
    /// `overrun-uid`: The uid of that sender, as stamps give uids.
    pub overrun_uid: Option<u32>,
}

impl<'a> GroupMsgNtf<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::GroupMsg;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::PeerName => m.peer_name = Some(attr.as_cstr_bytes()),
                Attr::Port => m.port = Some(attr.as_u32()?),
                Attr::Pid => m.pid = Some(attr.as_u32()?),
                Attr::Uid => m.uid = Some(attr.as_u32()?),
                Attr::GroupName => m.group_name = Some(attr.as_cstr_bytes()),
                Attr::Payload => m.payload = Some(attr.value()),
                Attr::Missed => m.missed = Some(attr.as_u32()?),
                Attr::Replayed => m.replayed = true,
                Attr::Overrun => m.overrun = Some(attr.as_u32()?),
                Attr::OverrunPort => m.overrun_port = Some(attr.as_u32()?),
                Attr::OverrunUid => m.overrun_uid = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for GroupMsgNtf<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if let Some(v) = self.peer_name {
            len += attr_size(v.len() + 1);
        }
        if self.port.is_some() {
            len += attr_size(4);
        }
        if self.pid.is_some() {
            len += attr_size(4);
        }
        if self.uid.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.group_name {
            len += attr_size(v.len() + 1);
        }
        if let Some(v) = self.payload {
            len += attr_size(v.len());
        }
        if self.missed.is_some() {
            len += attr_size(4);
        }
        if self.replayed {
            len += attr_size(0);
        }
        if self.overrun.is_some() {
            len += attr_size(4);
        }
        if self.overrun_port.is_some() {
            len += attr_size(4);
        }
        if self.overrun_uid.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.peer_name {
            w.put_cstr(Attr::PeerName.to_raw(), v)?;
        }
        if let Some(v) = self.port {
            w.put_u32(Attr::Port.to_raw(), v)?;
        }
        if let Some(v) = self.pid {
            w.put_u32(Attr::Pid.to_raw(), v)?;
        }
        if let Some(v) = self.uid {
            w.put_u32(Attr::Uid.to_raw(), v)?;
        }
        if let Some(v) = self.group_name {
            w.put_cstr(Attr::GroupName.to_raw(), v)?;
        }
        if let Some(v) = self.payload {
            w.put_bytes(Attr::Payload.to_raw(), v)?;
        }
        if let Some(v) = self.missed {
            w.put_u32(Attr::Missed.to_raw(), v)?;
        }
        if self.replayed {
            w.put_flag(Attr::Replayed.to_raw())?;
        }
        if let Some(v) = self.overrun {
            w.put_u32(Attr::Overrun.to_raw(), v)?;
        }
        if let Some(v) = self.overrun_port {
            w.put_u32(Attr::OverrunPort.to_raw(), v)?;
        }
        if let Some(v) = self.overrun_uid {
            w.put_u32(Attr::OverrunUid.to_raw(), v)?;
        }
        Ok(())
    }
}

/// The `policy-load` request (do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PolicyLoadRequest<'a> {
    /// `rule-count`: In policy-load: how many rules the policy has (0: no policy).
    pub rule_count: Option<u32>,
    /// `rule-index`: In policy-load, which rule of the policy this request carries, from 0.
    pub rule_index: Option<u32>,
    /// `name-pattern`: In policy-load, the peer names a rule applies to: a name in which '*'
    /// matches any run of characters (also none) and '?' any one character.
    pub name_pattern: Option<&'a [u8]>,
    /// `uid`: Kernel-stamped uid of the sender (or of the peer).
    pub uid: Option<u32>,
    /// `gid`: The group id that group-access gid admits.
    pub gid: Option<u32>,
}

impl<'a> PolicyLoadRequest<'a> {
    /// The command the message is sent with.
    pub const COMMAND: Command = Command::PolicyLoad;

    /// Reads the message's attributes from `attrs`, its attribute stream, in one
    /// pass: the last occurrence of an attribute wins, others are ignored. A broken
    /// stream, or an occurrence of a carried attribute whose value does not fit its
    /// type, is an error.
    pub fn parse(attrs: &'a [u8]) -> Result<Self, WireError> {
        let mut m = Self::default();
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match Attr::from_raw(attr.kind()) {
                Attr::RuleCount => m.rule_count = Some(attr.as_u32()?),
                Attr::RuleIndex => m.rule_index = Some(attr.as_u32()?),
                Attr::NamePattern => m.name_pattern = Some(attr.as_cstr_bytes()),
                Attr::Uid => m.uid = Some(attr.as_u32()?),
                Attr::Gid => m.gid = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl MessageAttrs for PolicyLoadRequest<'_> {
    fn command(&self) -> Command {
        Self::COMMAND
    }

    fn attrs_len(&self) -> usize {
        let mut len = 0;
        if self.rule_count.is_some() {
            len += attr_size(4);
        }
        if self.rule_index.is_some() {
            len += attr_size(4);
        }
        if let Some(v) = self.name_pattern {
            len += attr_size(v.len() + 1);
        }
        if self.uid.is_some() {
            len += attr_size(4);
        }
        if self.gid.is_some() {
            len += attr_size(4);
        }
        len
    }

    fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        if let Some(v) = self.rule_count {
            w.put_u32(Attr::RuleCount.to_raw(), v)?;
        }
        if let Some(v) = self.rule_index {
            w.put_u32(Attr::RuleIndex.to_raw(), v)?;
        }
        if let Some(v) = self.name_pattern {
            w.put_cstr(Attr::NamePattern.to_raw(), v)?;
        }
        if let Some(v) = self.uid {
            w.put_u32(Attr::Uid.to_raw(), v)?;
        }
        if let Some(v) = self.gid {
            w.put_u32(Attr::Gid.to_raw(), v)?;
        }
        Ok(())
    }
}
