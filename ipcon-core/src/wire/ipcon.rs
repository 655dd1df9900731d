//! Every message of the ipcon family (`kmod/ipcon.yaml`): requests (user → kernel),
//! replies, and deliveries and kernel events (kernel → user).
//!
//! Emission: each type has `buffer_len()` and `emit(&hdr, buf)`; requests also build their
//! netlink header with [`Request::header`]. Reception: [`parse_incoming`] classifies one
//! netlink message of a datagram into an ACK, an error, the end of a dump, a reply or a
//! delivery, borrowing payloads from the buffer.
//!
//! Framing rules the kernel and this crate share (see `docs/protocol.md`): a reply carries
//! the command of its request; deliveries are sent with the commands `unicast`, `multicast`
//! (always with a `payload` attribute, possibly empty), `kevent` and `send-failed` (the
//! failure of a posted request: one with a `ticket`, sent without `NLM_F_ACK`); a sync
//! multicast reply is a `multicast` message without `payload`. Unknown attributes and `pad`
//! are skipped.
use crate::error::WireError;
use crate::kevent::{Kevent, KeventKind, PeerIdentity};
use crate::name::Name;
use crate::spec::{
    Attr, Command, GroupAccess, KeventType, PeerFlags, RemoveReason, MAX_PAYLOAD_LEN, VERSION,
};
use crate::wire::ack::{DoneRepr, ErrorRepr, ExtAck};
use crate::wire::attr::{attr_size, AttrWriter, Attribute, Attributes};
use crate::wire::genl::{self, GenlHeaderRepr, GenlPacket};
use crate::wire::netlink::{self, message_type, NetlinkFlags, NetlinkHeaderRepr, NetlinkPacket};

/// The attributes of one message, indexed by number (the last occurrence wins, as in the
/// kernel's `nla_parse`).
///
/// The index keeps where each attribute starts rather than the attribute itself: a
/// quarter of the size, which every received message fills and moves around (it counts on
/// the per-message path under emulation).
#[derive(Debug, Clone)]
pub struct AttrTable<'a> {
    stream: &'a [u8],
    /// Per attribute number: 1 + the offset of its header in `stream`, 0 when absent.
    starts: [u32; Attr::MAX as usize + 1],
}

impl<'a> AttrTable<'a> {
    /// Reads an attribute stream; unknown attribute numbers are skipped.
    pub fn parse(stream: &'a [u8]) -> Result<Self, WireError> {
        let mut starts = [0u32; Attr::MAX as usize + 1];
        let mut attrs = Attributes::new(stream);
        loop {
            let offset = stream.len() - attrs.remaining().len();
            let Some(attr) = attrs.next() else { break };
            let attr = attr?;
            if let Some(start) = starts.get_mut(usize::from(attr.kind())) {
                *start = u32::try_from(offset + 1).map_err(|_| WireError::Malformed)?;
            }
        }
        Ok(Self { stream, starts })
    }

    /// The attribute, if present.
    pub fn get(&self, attr: Attr) -> Option<Attribute<'a>> {
        let start = *self.starts.get(usize::from(attr.to_raw()))?;
        let offset = usize::try_from(start.checked_sub(1)?).ok()?;
        // Checked by `parse`: the attribute at `offset` is well formed.
        Attributes::new(self.stream.get(offset..)?).next()?.ok()
    }

    /// Whether a flag attribute is present.
    pub fn flag(&self, attr: Attr) -> bool {
        self.get(attr).is_some()
    }

    /// An optional `u32`.
    pub fn u32(&self, attr: Attr) -> Result<Option<u32>, WireError> {
        self.get(attr).map(|a| a.as_u32()).transpose()
    }

    /// An optional `u64`.
    pub fn u64(&self, attr: Attr) -> Result<Option<u64>, WireError> {
        self.get(attr).map(|a| a.as_u64()).transpose()
    }

    /// A required `u32`.
    pub fn req_u32(&self, attr: Attr) -> Result<u32, WireError> {
        self.u32(attr)?
            .ok_or(WireError::MissingAttribute(attr.to_raw()))
    }

    /// A required `u64`.
    pub fn req_u64(&self, attr: Attr) -> Result<u64, WireError> {
        self.u64(attr)?
            .ok_or(WireError::MissingAttribute(attr.to_raw()))
    }

    /// An optional name.
    pub fn name(&self, attr: Attr) -> Result<Option<Name>, WireError> {
        match self.get(attr) {
            None => Ok(None),
            Some(a) => Name::from_bytes(a.as_cstr_bytes())
                .map(Some)
                .map_err(WireError::BadName),
        }
    }

    /// A required name.
    pub fn req_name(&self, attr: Attr) -> Result<Name, WireError> {
        self.name(attr)?
            .ok_or(WireError::MissingAttribute(attr.to_raw()))
    }

    /// A required payload of at most [`MAX_PAYLOAD_LEN`] bytes.
    pub fn payload(&self) -> Result<&'a [u8], WireError> {
        let p = self
            .get(Attr::Payload)
            .ok_or(WireError::MissingAttribute(Attr::Payload.to_raw()))?
            .value();
        if p.len() > MAX_PAYLOAD_LEN {
            return Err(WireError::PayloadTooLarge);
        }
        Ok(p)
    }
}

/// One attribute value to emit.
#[derive(Debug, Clone, Copy)]
enum Value<'v> {
    Name(&'v Name),
    Str(&'v str),
    Bytes(&'v [u8]),
    U32(u32),
    U64(u64),
    Flag,
}

impl Value<'_> {
    fn size(&self) -> usize {
        attr_size(match self {
            Value::Name(n) => n.len() + 1,
            Value::Str(s) => s.len() + 1,
            Value::Bytes(b) => b.len(),
            Value::U32(_) => 4,
            Value::U64(_) => 8,
            Value::Flag => 0,
        })
    }

    fn write(&self, attr: Attr, w: &mut AttrWriter<'_>) -> Result<(), WireError> {
        let kind = attr.to_raw();
        match *self {
            Value::Name(n) => w.put_cstr(kind, n.as_bytes()),
            Value::Str(s) => w.put_cstr(kind, s.as_bytes()),
            Value::Bytes(b) => w.put_bytes(kind, b),
            Value::U32(v) => w.put_u32(kind, v),
            Value::U64(v) => w.put_u64(kind, v),
            Value::Flag => w.put_flag(kind),
        }
    }
}

/// A message body: its command and its attributes, in emission order.
trait Body {
    fn command(&self) -> Command;
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError>;

    fn body_len(&self) -> usize {
        let mut len = netlink::HEADER_LEN + genl::HEADER_LEN;
        let _ = self.visit(&mut |_, v| {
            len += v.size();
            Ok(())
        });
        len
    }

    fn body_emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        let total = self.body_len();
        let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
        hdr.emit(total - netlink::HEADER_LEN, buf)?;
        GenlHeaderRepr {
            command: self.command().to_raw(),
            version: VERSION,
        }
        .emit(&mut buf[netlink::HEADER_LEN..])?;
        let mut w = AttrWriter::new(&mut buf[netlink::HEADER_LEN + genl::HEADER_LEN..]);
        self.visit(&mut |a, v| v.write(a, &mut w))?;
        Ok(total)
    }
}

macro_rules! emit_methods {
    ($($ty:ident),*) => {$(
        impl $ty<'_> {
            /// Length of the emitted message.
            pub fn buffer_len(&self) -> usize {
                Body::body_len(self)
            }

            /// Writes the message with header `hdr` (its length is computed) into `buf`,
            /// returning the number of bytes written.
            pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
                Body::body_emit(self, hdr, buf)
            }
        }
    )*};
}

/// Splits a checked packet of the family into its command and attribute table.
fn split<'a>(packet: &NetlinkPacket<&'a [u8]>) -> Result<(u8, AttrTable<'a>), WireError> {
    let msg: &'a [u8] = packet.into_inner();
    let end = (packet.length() as usize).min(msg.len());
    let payload: &'a [u8] = msg.get(netlink::HEADER_LEN..end).unwrap_or(&[]);
    let genl = GenlPacket::new_checked(payload)?;
    let attrs: &'a [u8] = payload.get(genl::HEADER_LEN..).unwrap_or(&[]);
    Ok((genl.command(), AttrTable::parse(attrs)?))
}

// ---------------------------------------------------------------------------------------
// Requests.

/// How a request names a peer: by name or by port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRef {
    /// By name.
    Name(Name),
    /// By port (works for anonymous peers too).
    Port(u32),
}

impl PeerRef {
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        match self {
            PeerRef::Name(n) => f(Attr::PeerName, Value::Name(n)),
            PeerRef::Port(p) => f(Attr::Port, Value::U32(*p)),
        }
    }

    fn parse(t: &AttrTable<'_>) -> Result<Self, WireError> {
        if let Some(n) = t.name(Attr::PeerName)? {
            return Ok(PeerRef::Name(n));
        }
        t.u32(Attr::Port)?
            .map(PeerRef::Port)
            .ok_or(WireError::MissingAttribute(Attr::PeerName.to_raw()))
    }
}

/// A request from user space to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// Register the sending socket as a peer's data socket; `None` registers anonymously.
    PeerRegister {
        /// The peer's name.
        name: Option<Name>,
    },
    /// Attach the sending socket as the control socket of the peer owning `cookie`.
    PeerAttach {
        /// The cookie from the register reply.
        cookie: u64,
    },
    /// Remove the sender's peer.
    PeerUnregister,
    /// Look one peer up.
    PeerGet {
        /// The peer.
        peer: PeerRef,
    },
    /// List every peer (a dump).
    PeerDump,
    /// Send a payload to one peer.
    Unicast {
        /// Destination.
        to: PeerRef,
        /// Payload, at most [`MAX_PAYLOAD_LEN`] bytes.
        payload: &'a [u8],
    },
    /// Register a group owned by the sender.
    GroupRegister {
        /// The group's name.
        group: Name,
        /// Who may join (`None`: the kernel's default, open).
        access: Option<GroupAccess>,
        /// The gid that [`GroupAccess::Gid`] admits.
        gid: Option<u32>,
    },
    /// Unregister one of the sender's groups.
    GroupUnregister {
        /// The group's name.
        group: Name,
    },
    /// Subscribe to a group.
    GroupJoin {
        /// The group's owner.
        owner: Name,
        /// The group's name.
        group: Name,
        /// Replay the group's last message first.
        replay_last: bool,
    },
    /// Unsubscribe from a group.
    GroupLeave {
        /// The group's owner.
        owner: Name,
        /// The group's name.
        group: Name,
    },
    /// Look one group up.
    GroupGet {
        /// The group's owner.
        owner: Name,
        /// The group's name.
        group: Name,
    },
    /// List groups (a dump), optionally of one owner.
    GroupDump {
        /// Only this owner's groups.
        owner: Option<Name>,
    },
    /// Publish a payload to one of the sender's groups.
    Multicast {
        /// The group's name.
        group: Name,
        /// Payload, at most [`MAX_PAYLOAD_LEN`] bytes.
        payload: &'a [u8],
        /// Ask for a [`MulticastOutcome`] reply.
        sync: bool,
    },
    /// [`Request::Unicast`], posted: sent without `NLM_F_ACK`; success produces nothing,
    /// a failure comes back to the sender's data socket as a [`SendFailure`] carrying
    /// `ticket` (see `docs/protocol.md`, "Posted sends").
    PostUnicast {
        /// Destination.
        to: PeerRef,
        /// Payload, at most [`MAX_PAYLOAD_LEN`] bytes.
        payload: &'a [u8],
        /// Chosen by the sender, echoed in the failure notice.
        ticket: u32,
    },
    /// [`Request::Multicast`] without `sync`, posted (see [`Request::PostUnicast`]).
    PostMulticast {
        /// The group's name.
        group: Name,
        /// Payload, at most [`MAX_PAYLOAD_LEN`] bytes.
        payload: &'a [u8],
        /// Chosen by the sender, echoed in the failure notice.
        ticket: u32,
    },
}

impl Request<'_> {
    /// Whether this is a dump request.
    pub fn is_dump(&self) -> bool {
        matches!(self, Request::PeerDump | Request::GroupDump { .. })
    }

    /// The ticket of a posted request (one the kernel answers only if it fails).
    pub fn ticket(&self) -> Option<u32> {
        match *self {
            Request::PostUnicast { ticket, .. } | Request::PostMulticast { ticket, .. } => {
                Some(ticket)
            }
            _ => None,
        }
    }

    /// Whether the kernel answers with a reply message before its ACK (or, for a dump, with
    /// replies until `NLMSG_DONE`).
    pub fn expects_reply(&self) -> bool {
        matches!(
            self,
            Request::PeerRegister { .. }
                | Request::PeerGet { .. }
                | Request::PeerDump
                | Request::GroupGet { .. }
                | Request::GroupDump { .. }
                | Request::Multicast { sync: true, .. }
        )
    }

    /// The netlink header for this request: type `family_id`, `REQUEST | ACK` (`| DUMP`);
    /// a posted request asks for no ACK (`REQUEST` only).
    pub fn header(&self, family_id: u16, seq: u32, port_id: u32) -> NetlinkHeaderRepr {
        let mut flags = NetlinkFlags::REQUEST;
        if self.ticket().is_none() {
            flags |= NetlinkFlags::ACK;
        }
        if self.is_dump() {
            flags |= NetlinkFlags::DUMP;
        }
        NetlinkHeaderRepr {
            message_type: family_id,
            flags,
            seq,
            port_id,
        }
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        Body::body_len(self)
    }

    /// Writes the request with header `hdr` (usually from [`Request::header`]) into `buf`,
    /// returning the number of bytes written. A payload over [`MAX_PAYLOAD_LEN`] is
    /// [`WireError::PayloadTooLarge`].
    pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        if let Request::Unicast { payload, .. }
        | Request::Multicast { payload, .. }
        | Request::PostUnicast { payload, .. }
        | Request::PostMulticast { payload, .. } = self
        {
            if payload.len() > MAX_PAYLOAD_LEN {
                return Err(WireError::PayloadTooLarge);
            }
        }
        Body::body_emit(self, hdr, buf)
    }
}

impl<'a> Request<'a> {
    /// Parses a request (the kernel's side; used by tests and fuzzing). The dump flag of the
    /// header tells a dump from a lookup.
    pub fn parse(packet: &NetlinkPacket<&'a [u8]>) -> Result<Self, WireError> {
        let (cmd, t) = split(packet)?;
        let dump = packet.flags().contains(NetlinkFlags::DUMP);
        Ok(match Command::from_raw(cmd) {
            Command::PeerRegister => Request::PeerRegister {
                name: t.name(Attr::PeerName)?,
            },
            Command::PeerAttach => Request::PeerAttach {
                cookie: t.req_u64(Attr::Cookie)?,
            },
            Command::PeerUnregister => Request::PeerUnregister,
            Command::PeerGet if dump => Request::PeerDump,
            Command::PeerGet => Request::PeerGet {
                peer: PeerRef::parse(&t)?,
            },
            Command::Unicast => match t.u32(Attr::Ticket)? {
                Some(ticket) => Request::PostUnicast {
                    to: PeerRef::parse(&t)?,
                    payload: t.payload()?,
                    ticket,
                },
                None => Request::Unicast {
                    to: PeerRef::parse(&t)?,
                    payload: t.payload()?,
                },
            },
            Command::GroupRegister => Request::GroupRegister {
                group: t.req_name(Attr::GroupName)?,
                access: t.u32(Attr::Access)?.map(GroupAccess::from_raw),
                gid: t.u32(Attr::Gid)?,
            },
            Command::GroupUnregister => Request::GroupUnregister {
                group: t.req_name(Attr::GroupName)?,
            },
            Command::GroupJoin => Request::GroupJoin {
                owner: t.req_name(Attr::PeerName)?,
                group: t.req_name(Attr::GroupName)?,
                replay_last: t.flag(Attr::RcvLastMsg),
            },
            Command::GroupLeave => Request::GroupLeave {
                owner: t.req_name(Attr::PeerName)?,
                group: t.req_name(Attr::GroupName)?,
            },
            Command::GroupGet if dump => Request::GroupDump {
                owner: t.name(Attr::PeerName)?,
            },
            Command::GroupGet => Request::GroupGet {
                owner: t.req_name(Attr::PeerName)?,
                group: t.req_name(Attr::GroupName)?,
            },
            Command::Multicast => match t.u32(Attr::Ticket)? {
                // The kernel refuses the combination (no reply to report in).
                Some(_) if t.flag(Attr::Sync) => {
                    return Err(WireError::BadAttribute(Attr::Sync.to_raw()))
                }
                Some(ticket) => Request::PostMulticast {
                    group: t.req_name(Attr::GroupName)?,
                    payload: t.payload()?,
                    ticket,
                },
                None => Request::Multicast {
                    group: t.req_name(Attr::GroupName)?,
                    payload: t.payload()?,
                    sync: t.flag(Attr::Sync),
                },
            },
            Command::Kevent | Command::SendFailed | Command::Unknown(_) => {
                return Err(WireError::UnexpectedCommand(cmd))
            }
        })
    }
}

impl Body for Request<'_> {
    fn command(&self) -> Command {
        match self {
            Request::PeerRegister { .. } => Command::PeerRegister,
            Request::PeerAttach { .. } => Command::PeerAttach,
            Request::PeerUnregister => Command::PeerUnregister,
            Request::PeerGet { .. } | Request::PeerDump => Command::PeerGet,
            Request::Unicast { .. } | Request::PostUnicast { .. } => Command::Unicast,
            Request::GroupRegister { .. } => Command::GroupRegister,
            Request::GroupUnregister { .. } => Command::GroupUnregister,
            Request::GroupJoin { .. } => Command::GroupJoin,
            Request::GroupLeave { .. } => Command::GroupLeave,
            Request::GroupGet { .. } | Request::GroupDump { .. } => Command::GroupGet,
            Request::Multicast { .. } | Request::PostMulticast { .. } => Command::Multicast,
        }
    }

    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        match self {
            Request::PeerRegister { name } => {
                if let Some(n) = name {
                    f(Attr::PeerName, Value::Name(n))?;
                }
            }
            Request::PeerAttach { cookie } => f(Attr::Cookie, Value::U64(*cookie))?,
            Request::PeerUnregister | Request::PeerDump => {}
            Request::PeerGet { peer } => peer.visit(f)?,
            Request::Unicast { to, payload } => {
                to.visit(f)?;
                f(Attr::Payload, Value::Bytes(payload))?;
            }
            Request::GroupRegister { group, access, gid } => {
                f(Attr::GroupName, Value::Name(group))?;
                if let Some(a) = access {
                    f(Attr::Access, Value::U32(a.to_raw()))?;
                }
                if let Some(g) = gid {
                    f(Attr::Gid, Value::U32(*g))?;
                }
            }
            Request::GroupUnregister { group } => f(Attr::GroupName, Value::Name(group))?,
            Request::GroupJoin {
                owner,
                group,
                replay_last,
            } => {
                f(Attr::PeerName, Value::Name(owner))?;
                f(Attr::GroupName, Value::Name(group))?;
                if *replay_last {
                    f(Attr::RcvLastMsg, Value::Flag)?;
                }
            }
            Request::GroupLeave { owner, group } | Request::GroupGet { owner, group } => {
                f(Attr::PeerName, Value::Name(owner))?;
                f(Attr::GroupName, Value::Name(group))?;
            }
            Request::GroupDump { owner } => {
                if let Some(o) = owner {
                    f(Attr::PeerName, Value::Name(o))?;
                }
            }
            Request::Multicast {
                group,
                payload,
                sync,
            } => {
                f(Attr::GroupName, Value::Name(group))?;
                f(Attr::Payload, Value::Bytes(payload))?;
                if *sync {
                    f(Attr::Sync, Value::Flag)?;
                }
            }
            Request::PostUnicast {
                to,
                payload,
                ticket,
            } => {
                to.visit(f)?;
                f(Attr::Payload, Value::Bytes(payload))?;
                f(Attr::Ticket, Value::U32(*ticket))?;
            }
            Request::PostMulticast {
                group,
                payload,
                ticket,
            } => {
                f(Attr::GroupName, Value::Name(group))?;
                f(Attr::Payload, Value::Bytes(payload))?;
                f(Attr::Ticket, Value::U32(*ticket))?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Replies.

/// Reply to `peer-register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerRegistered<'a> {
    /// The registered name (`None`: anonymous).
    pub name: Option<Name>,
    /// The peer's port (the data socket's port id).
    pub port: u32,
    /// Secret for `peer-attach`.
    pub cookie: u64,
    #[doc(hidden)]
    pub _borrow: core::marker::PhantomData<&'a ()>,
}

impl PeerRegistered<'_> {
    /// Builds the reply.
    pub const fn new(name: Option<Name>, port: u32, cookie: u64) -> Self {
        Self {
            name,
            port,
            cookie,
            _borrow: core::marker::PhantomData,
        }
    }

    fn parse(t: &AttrTable<'_>) -> Result<Self, WireError> {
        Ok(Self::new(
            t.name(Attr::PeerName)?,
            t.req_u32(Attr::Port)?,
            t.req_u64(Attr::Cookie)?,
        ))
    }
}

impl Body for PeerRegistered<'_> {
    fn command(&self) -> Command {
        Command::PeerRegister
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        if let Some(n) = &self.name {
            f(Attr::PeerName, Value::Name(n))?;
        }
        f(Attr::Port, Value::U32(self.port))?;
        f(Attr::Cookie, Value::U64(self.cookie))
    }
}

/// Reply to `peer-get` (and each message of its dump).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerInfo<'a> {
    /// The peer (name, port, pid, uid, flags).
    pub peer: PeerIdentity,
    /// Messages it sent.
    pub tx_msgs: u64,
    /// Messages queued to it.
    pub rx_msgs: u64,
    /// Messages for it dropped because its queue was full.
    pub rx_dropped: u64,
    /// Groups it owns.
    pub groups: u32,
    #[doc(hidden)]
    pub _borrow: core::marker::PhantomData<&'a ()>,
}

impl PeerInfo<'_> {
    fn parse(t: &AttrTable<'_>) -> Result<Self, WireError> {
        Ok(Self {
            peer: identity(t)?,
            tx_msgs: t.u64(Attr::TxMsgs)?.unwrap_or(0),
            rx_msgs: t.u64(Attr::RxMsgs)?.unwrap_or(0),
            rx_dropped: t.u64(Attr::RxDropped)?.unwrap_or(0),
            groups: t.u32(Attr::Groups)?.unwrap_or(0),
            _borrow: core::marker::PhantomData,
        })
    }
}

impl Body for PeerInfo<'_> {
    fn command(&self) -> Command {
        Command::PeerGet
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        visit_identity(&self.peer, f)?;
        f(Attr::TxMsgs, Value::U64(self.tx_msgs))?;
        f(Attr::RxMsgs, Value::U64(self.rx_msgs))?;
        f(Attr::RxDropped, Value::U64(self.rx_dropped))?;
        f(Attr::Groups, Value::U32(self.groups))
    }
}

/// Reply to `group-get` (and each message of its dump).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupInfo<'a> {
    /// Owner's name (`None`: anonymous owner).
    pub owner: Option<Name>,
    /// Owner's port.
    pub owner_port: u32,
    /// The group's name.
    pub group: Name,
    /// Who may join.
    pub access: GroupAccess,
    /// The gid that [`GroupAccess::Gid`] admits.
    pub gid: Option<u32>,
    /// Number of subscribers.
    pub subscribers: u32,
    /// Messages published.
    pub tx_msgs: u64,
    /// Payload length of the cached last message, if there is one.
    pub last_msg_len: Option<u32>,
    #[doc(hidden)]
    pub _borrow: core::marker::PhantomData<&'a ()>,
}

impl GroupInfo<'_> {
    fn parse(t: &AttrTable<'_>) -> Result<Self, WireError> {
        Ok(Self {
            owner: t.name(Attr::PeerName)?,
            owner_port: t.req_u32(Attr::Port)?,
            group: t.req_name(Attr::GroupName)?,
            access: t
                .u32(Attr::Access)?
                .map_or(GroupAccess::Open, GroupAccess::from_raw),
            gid: t.u32(Attr::Gid)?,
            subscribers: t.u32(Attr::Subscribers)?.unwrap_or(0),
            tx_msgs: t.u64(Attr::TxMsgs)?.unwrap_or(0),
            last_msg_len: t.u32(Attr::LastMsgLen)?,
            _borrow: core::marker::PhantomData,
        })
    }
}

impl Body for GroupInfo<'_> {
    fn command(&self) -> Command {
        Command::GroupGet
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        if let Some(n) = &self.owner {
            f(Attr::PeerName, Value::Name(n))?;
        }
        f(Attr::Port, Value::U32(self.owner_port))?;
        f(Attr::GroupName, Value::Name(&self.group))?;
        f(Attr::Access, Value::U32(self.access.to_raw()))?;
        if let Some(g) = self.gid {
            f(Attr::Gid, Value::U32(g))?;
        }
        f(Attr::Subscribers, Value::U32(self.subscribers))?;
        f(Attr::TxMsgs, Value::U64(self.tx_msgs))?;
        if let Some(l) = self.last_msg_len {
            f(Attr::LastMsgLen, Value::U32(l))?;
        }
        Ok(())
    }
}

/// Reply to a sync `multicast`: how the fan-out went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MulticastOutcome<'a> {
    /// Subscribers the message was queued to.
    pub delivered: u32,
    /// Subscribers whose queue was full.
    pub dropped: u32,
    #[doc(hidden)]
    pub _borrow: core::marker::PhantomData<&'a ()>,
}

impl MulticastOutcome<'_> {
    /// Builds the reply.
    pub const fn new(delivered: u32, dropped: u32) -> Self {
        Self {
            delivered,
            dropped,
            _borrow: core::marker::PhantomData,
        }
    }
}

impl Body for MulticastOutcome<'_> {
    fn command(&self) -> Command {
        Command::Multicast
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        f(Attr::Delivered, Value::U32(self.delivered))?;
        f(Attr::Dropped, Value::U32(self.dropped))
    }
}

/// A reply to a request (matched to it by sequence number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// Reply to `peer-register`.
    PeerRegistered(PeerRegistered<'a>),
    /// Reply to `peer-get` or one message of its dump.
    Peer(PeerInfo<'a>),
    /// Reply to `group-get` or one message of its dump.
    Group(GroupInfo<'a>),
    /// Reply to a sync `multicast`.
    Multicast(MulticastOutcome<'a>),
}

impl Reply<'_> {
    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        match self {
            Reply::PeerRegistered(r) => r.buffer_len(),
            Reply::Peer(r) => r.buffer_len(),
            Reply::Group(r) => r.buffer_len(),
            Reply::Multicast(r) => r.buffer_len(),
        }
    }

    /// Writes the reply (the kernel's side; used by tests and fuzzing).
    pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        match self {
            Reply::PeerRegistered(r) => r.emit(hdr, buf),
            Reply::Peer(r) => r.emit(hdr, buf),
            Reply::Group(r) => r.emit(hdr, buf),
            Reply::Multicast(r) => r.emit(hdr, buf),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Deliveries and kernel events.

/// The kernel's stamp on a delivered message: who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sender {
    /// Sender's name (`None`: anonymous).
    pub name: Option<Name>,
    /// Sender's port.
    pub port: u32,
    /// Sender's thread-group id.
    pub pid: u32,
    /// Sender's uid.
    pub uid: u32,
}

impl Sender {
    fn parse(t: &AttrTable<'_>) -> Result<Self, WireError> {
        Ok(Self {
            name: t.name(Attr::PeerName)?,
            port: t.req_u32(Attr::Port)?,
            pid: t.u32(Attr::Pid)?.unwrap_or(0),
            uid: t.u32(Attr::Uid)?.unwrap_or(0),
        })
    }

    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        if let Some(n) = &self.name {
            f(Attr::PeerName, Value::Name(n))?;
        }
        f(Attr::Port, Value::U32(self.port))?;
        f(Attr::Pid, Value::U32(self.pid))?;
        f(Attr::Uid, Value::U32(self.uid))
    }
}

/// A unicast message delivered to this peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnicastDelivery<'a> {
    /// Who sent it.
    pub sender: Sender,
    /// The payload, borrowed from the receive buffer.
    pub payload: &'a [u8],
    /// Messages for this peer dropped since its previous delivery.
    pub missed: u32,
}

impl<'a> UnicastDelivery<'a> {
    fn parse(t: &AttrTable<'a>) -> Result<Self, WireError> {
        Ok(Self {
            sender: Sender::parse(t)?,
            payload: t.payload()?,
            missed: t.u32(Attr::Missed)?.unwrap_or(0),
        })
    }
}

impl Body for UnicastDelivery<'_> {
    fn command(&self) -> Command {
        Command::Unicast
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        self.sender.visit(f)?;
        f(Attr::Payload, Value::Bytes(self.payload))?;
        if self.missed != 0 {
            f(Attr::Missed, Value::U32(self.missed))?;
        }
        Ok(())
    }
}

/// A group message delivered to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupDelivery<'a> {
    /// Who published it (the group's owner).
    pub sender: Sender,
    /// The group's name.
    pub group: Name,
    /// The payload, borrowed from the receive buffer.
    pub payload: &'a [u8],
    /// Messages for this peer dropped since its previous delivery.
    pub missed: u32,
    /// A replay of the group's last message on join.
    pub replayed: bool,
}

impl<'a> GroupDelivery<'a> {
    fn parse(t: &AttrTable<'a>) -> Result<Self, WireError> {
        Ok(Self {
            sender: Sender::parse(t)?,
            group: t.req_name(Attr::GroupName)?,
            payload: t.payload()?,
            missed: t.u32(Attr::Missed)?.unwrap_or(0),
            replayed: t.flag(Attr::Replayed),
        })
    }
}

impl Body for GroupDelivery<'_> {
    fn command(&self) -> Command {
        Command::Multicast
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        self.sender.visit(f)?;
        f(Attr::GroupName, Value::Name(&self.group))?;
        f(Attr::Payload, Value::Bytes(self.payload))?;
        if self.missed != 0 {
            f(Attr::Missed, Value::U32(self.missed))?;
        }
        if self.replayed {
            f(Attr::Replayed, Value::Flag)?;
        }
        Ok(())
    }
}

fn identity(t: &AttrTable<'_>) -> Result<PeerIdentity, WireError> {
    Ok(PeerIdentity {
        name: t.name(Attr::PeerName)?,
        port: t.req_u32(Attr::Port)?,
        pid: t.u32(Attr::Pid)?.unwrap_or(0),
        uid: t.u32(Attr::Uid)?.unwrap_or(0),
        flags: PeerFlags::from_bits_retain(t.u32(Attr::PeerFlags)?.unwrap_or(0)),
    })
}

fn visit_identity(
    p: &PeerIdentity,
    f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    if let Some(n) = &p.name {
        f(Attr::PeerName, Value::Name(n))?;
    }
    f(Attr::Port, Value::U32(p.port))?;
    f(Attr::Pid, Value::U32(p.pid))?;
    f(Attr::Uid, Value::U32(p.uid))?;
    f(Attr::PeerFlags, Value::U32(p.flags.bits()))
}

/// The reason of a remove event; an absent one reads as `Unknown(0)` so that the removal
/// itself is never lost.
fn reason(t: &AttrTable<'_>) -> Result<RemoveReason, WireError> {
    Ok(RemoveReason::from_raw(t.u32(Attr::Reason)?.unwrap_or(0)))
}

/// A kernel event as a message body (the kernel's side; used by tests and fuzzing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeventMessage<'a> {
    /// The event.
    pub event: Kevent,
    #[doc(hidden)]
    pub _borrow: core::marker::PhantomData<&'a ()>,
}

impl KeventMessage<'_> {
    /// Wraps an event.
    pub const fn new(event: Kevent) -> Self {
        Self {
            event,
            _borrow: core::marker::PhantomData,
        }
    }

    fn parse(t: &AttrTable<'_>) -> Result<Kevent, WireError> {
        let seq = t.req_u64(Attr::KeventSeq)?;
        let kind = match KeventType::from_raw(t.req_u32(Attr::KeventType)?) {
            KeventType::PeerAdd => KeventKind::PeerAdd(identity(t)?),
            KeventType::PeerRemove => KeventKind::PeerRemove {
                peer: identity(t)?,
                reason: reason(t)?,
            },
            KeventType::GroupAdd => KeventKind::GroupAdd {
                owner: identity(t)?,
                group: t.req_name(Attr::GroupName)?,
            },
            KeventType::GroupRemove => KeventKind::GroupRemove {
                owner: identity(t)?,
                group: t.req_name(Attr::GroupName)?,
                reason: reason(t)?,
            },
            KeventType::Unknown(other) => KeventKind::Unknown(other),
        };
        Ok(Kevent { seq, kind })
    }
}

impl Body for KeventMessage<'_> {
    fn command(&self) -> Command {
        Command::Kevent
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let ty = match self.event.kind {
            KeventKind::PeerAdd(_) => KeventType::PeerAdd,
            KeventKind::PeerRemove { .. } => KeventType::PeerRemove,
            KeventKind::GroupAdd { .. } => KeventType::GroupAdd,
            KeventKind::GroupRemove { .. } => KeventType::GroupRemove,
            KeventKind::Unknown(t) => KeventType::Unknown(t),
        };
        f(Attr::KeventType, Value::U32(ty.to_raw()))?;
        f(Attr::KeventSeq, Value::U64(self.event.seq))?;
        match &self.event.kind {
            KeventKind::PeerAdd(p) => visit_identity(p, f),
            KeventKind::PeerRemove { peer, reason } => {
                visit_identity(peer, f)?;
                f(Attr::Reason, Value::U32(reason.to_raw()))
            }
            KeventKind::GroupAdd { owner, group } => {
                visit_identity(owner, f)?;
                f(Attr::GroupName, Value::Name(group))
            }
            KeventKind::GroupRemove {
                owner,
                group,
                reason,
            } => {
                visit_identity(owner, f)?;
                f(Attr::GroupName, Value::Name(group))?;
                f(Attr::Reason, Value::U32(reason.to_raw()))
            }
            KeventKind::Unknown(_) => Ok(()),
        }
    }
}

/// The kernel's notice that a posted request of this peer failed (`send-failed`), queued
/// to its data socket instead of an error ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendFailure<'a> {
    /// The ticket of the failed request.
    pub ticket: u32,
    /// The positive errno it failed with.
    pub errno: u32,
    /// The module's explanation (the extended-ACK text), if any: the valid UTF-8 prefix.
    pub message: Option<&'a str>,
    /// The destination peer as the request gave it (unicast).
    pub peer: Option<PeerRef>,
    /// The group as the request gave it (multicast).
    pub group: Option<Name>,
    /// Messages for this peer dropped since its previous delivery.
    pub missed: u32,
}

impl<'a> SendFailure<'a> {
    fn parse(t: &AttrTable<'a>) -> Result<Self, WireError> {
        let peer = match (t.name(Attr::PeerName)?, t.u32(Attr::Port)?) {
            (Some(name), _) => Some(PeerRef::Name(name)),
            (None, Some(port)) => Some(PeerRef::Port(port)),
            (None, None) => None,
        };
        Ok(Self {
            ticket: t.req_u32(Attr::Ticket)?,
            errno: t.req_u32(Attr::Errno)?,
            message: t
                .get(Attr::ErrorMsg)
                .map(|a| utf8_prefix(a.as_cstr_bytes())),
            peer,
            group: t.name(Attr::GroupName)?,
            missed: t.u32(Attr::Missed)?.unwrap_or(0),
        })
    }
}

/// The longest valid UTF-8 prefix of `bytes` (a damaged text is cut, not refused).
fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

impl Body for SendFailure<'_> {
    fn command(&self) -> Command {
        Command::SendFailed
    }
    fn visit(
        &self,
        f: &mut dyn FnMut(Attr, Value<'_>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        f(Attr::Ticket, Value::U32(self.ticket))?;
        f(Attr::Errno, Value::U32(self.errno))?;
        if let Some(m) = self.message {
            f(Attr::ErrorMsg, Value::Str(m))?;
        }
        if let Some(p) = &self.peer {
            p.visit(f)?;
        }
        if let Some(g) = &self.group {
            f(Attr::GroupName, Value::Name(g))?;
        }
        if self.missed != 0 {
            f(Attr::Missed, Value::U32(self.missed))?;
        }
        Ok(())
    }
}

emit_methods!(
    SendFailure,
    PeerRegistered,
    PeerInfo,
    GroupInfo,
    MulticastOutcome,
    UnicastDelivery,
    GroupDelivery,
    KeventMessage
);

/// A message the kernel sends unsolicited to a peer's data socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// A unicast message.
    Unicast(UnicastDelivery<'a>),
    /// A group message.
    Group(GroupDelivery<'a>),
    /// A kernel event.
    Kevent(Kevent),
    /// A posted request of this peer failed.
    SendFailed(SendFailure<'a>),
}

impl Delivery<'_> {
    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        match self {
            Delivery::Unicast(d) => d.buffer_len(),
            Delivery::Group(d) => d.buffer_len(),
            Delivery::Kevent(e) => KeventMessage::new(*e).buffer_len(),
            Delivery::SendFailed(f) => f.buffer_len(),
        }
    }

    /// Writes the delivery (the kernel's side; used by tests and fuzzing).
    pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        match self {
            Delivery::Unicast(d) => d.emit(hdr, buf),
            Delivery::Group(d) => d.emit(hdr, buf),
            Delivery::Kevent(e) => KeventMessage::new(*e).emit(hdr, buf),
            Delivery::SendFailed(f) => f.emit(hdr, buf),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Classification of received messages.

/// One received netlink message, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The request with this sequence number succeeded (`NLMSG_ERROR` with error 0).
    Ack {
        /// Sequence number of the request.
        seq: u32,
    },
    /// The request with this sequence number failed.
    Error {
        /// Sequence number of the request.
        seq: u32,
        /// Positive errno.
        errno: i32,
        /// Extended-ACK details (message, offending attribute offset).
        ext: ExtAck<'a>,
    },
    /// The dump with this sequence number ended (`NLMSG_DONE`).
    Done {
        /// Sequence number of the dump request.
        seq: u32,
        /// 0, or the positive errno that ended the dump.
        errno: i32,
    },
    /// A reply to the request with this sequence number.
    Reply {
        /// Sequence number of the request.
        seq: u32,
        /// Part of a dump (more follow until [`Incoming::Done`]).
        multi: bool,
        /// The reply.
        reply: Reply<'a>,
    },
    /// A delivery or kernel event.
    Delivery(Delivery<'a>),
    /// A message to skip: `NLMSG_NOOP`, `NLMSG_OVERRUN` or another family's type.
    Ignored {
        /// Its netlink message type.
        message_type: u16,
    },
}

/// Classifies one checked netlink message received from the kernel; `family_id` is the
/// resolved id of the ipcon family. Never panics, whatever the bytes.
pub fn parse_incoming<'a>(
    packet: &NetlinkPacket<&'a [u8]>,
    family_id: u16,
) -> Result<Incoming<'a>, WireError> {
    let ty = packet.message_type();
    match ty {
        message_type::ERROR => {
            let e = ErrorRepr::parse(packet)?;
            return Ok(if e.is_ack() {
                Incoming::Ack { seq: e.request.seq }
            } else {
                Incoming::Error {
                    seq: e.request.seq,
                    errno: e.errno(),
                    ext: e.ext,
                }
            });
        }
        message_type::DONE => {
            let d = DoneRepr::parse(packet)?;
            return Ok(Incoming::Done {
                seq: packet.seq(),
                errno: d.error.checked_neg().unwrap_or(i32::MAX),
            });
        }
        _ if ty != family_id || ty < message_type::MIN_RESERVED => {
            return Ok(Incoming::Ignored { message_type: ty })
        }
        _ => {}
    }
    let (cmd, t) = split(packet)?;
    let seq = packet.seq();
    let multi = packet.flags().contains(NetlinkFlags::MULTI);
    let reply = |reply| Ok(Incoming::Reply { seq, multi, reply });
    match Command::from_raw(cmd) {
        Command::PeerRegister => reply(Reply::PeerRegistered(PeerRegistered::parse(&t)?)),
        Command::PeerGet => reply(Reply::Peer(PeerInfo::parse(&t)?)),
        Command::GroupGet => reply(Reply::Group(GroupInfo::parse(&t)?)),
        Command::Multicast if t.get(Attr::Payload).is_none() => {
            reply(Reply::Multicast(MulticastOutcome::new(
                t.u32(Attr::Delivered)?.unwrap_or(0),
                t.u32(Attr::Dropped)?.unwrap_or(0),
            )))
        }
        Command::Multicast => Ok(Incoming::Delivery(Delivery::Group(GroupDelivery::parse(
            &t,
        )?))),
        Command::Unicast => Ok(Incoming::Delivery(Delivery::Unicast(
            UnicastDelivery::parse(&t)?,
        ))),
        Command::Kevent => Ok(Incoming::Delivery(Delivery::Kevent(KeventMessage::parse(
            &t,
        )?))),
        Command::SendFailed => Ok(Incoming::Delivery(Delivery::SendFailed(
            SendFailure::parse(&t)?,
        ))),
        _ => Err(WireError::UnexpectedCommand(cmd)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_table_keeps_the_last_occurrence_and_skips_unknown_numbers() {
        let mut buf = [0u8; 64];
        let mut w = AttrWriter::new(&mut buf);
        w.put_u32(Attr::Port.to_raw(), 1).unwrap();
        w.put_bytes(Attr::Payload.to_raw(), b"abc").unwrap();
        w.put_u32(Attr::MAX + 1, 7).unwrap();
        w.put_u32(Attr::Port.to_raw(), 2).unwrap();
        let len = w.len();
        let t = AttrTable::parse(&buf[..len]).unwrap();
        assert_eq!(t.u32(Attr::Port).unwrap(), Some(2));
        assert_eq!(t.get(Attr::Payload).map(|a| a.value()), Some(&b"abc"[..]));
        assert_eq!(t.get(Attr::Missed), None);
        assert!(!t.flag(Attr::Replayed));
        // A truncated stream fails as a whole.
        assert!(AttrTable::parse(&buf[..len - 2]).is_err());
    }

    const FAMILY: u16 = 0x1a;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    /// A unicast request to "server" with payload "hi", seq 2, port 100: derived by hand
    /// from nlmsghdr + genlmsghdr + PEER_NAME + PAYLOAD (little-endian host).
    #[cfg(target_endian = "little")]
    const GOLDEN_UNICAST: [u8; 40] = [
        40, 0, 0, 0, // nlmsg_len
        0x1a, 0, // family id
        0x05, 0, // REQUEST | ACK
        2, 0, 0, 0, // seq
        100, 0, 0, 0, // port
        5, 1, 0, 0, // IPCON_CMD_UNICAST, version 1
        11, 0, 1, 0, b's', b'e', b'r', b'v', b'e', b'r', 0, 0, // PEER_NAME "server\0" + pad
        6, 0, 3, 0, b'h', b'i', 0, 0, // PAYLOAD "hi" + pad
    ];

    #[cfg(target_endian = "little")]
    #[test]
    fn golden_unicast_request() {
        let req = Request::Unicast {
            to: PeerRef::Name(name("server")),
            payload: b"hi",
        };
        let mut buf = [0u8; 64];
        let n = req.emit(&req.header(FAMILY, 2, 100), &mut buf).unwrap();
        assert_eq!(n, req.buffer_len());
        assert_eq!(buf[..n], GOLDEN_UNICAST);
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(Request::parse(&p), Ok(req));
    }

    #[test]
    fn rejects_oversized_payload() {
        let big = [0u8; MAX_PAYLOAD_LEN + 1];
        let req = Request::Unicast {
            to: PeerRef::Port(5),
            payload: &big,
        };
        let mut buf = [0u8; 4096];
        assert_eq!(
            req.emit(&req.header(FAMILY, 1, 1), &mut buf),
            Err(WireError::PayloadTooLarge)
        );
        let req = Request::Unicast {
            to: PeerRef::Port(5),
            payload: &big[..MAX_PAYLOAD_LEN],
        };
        assert!(req.emit(&req.header(FAMILY, 1, 1), &mut buf).is_ok());
        assert_eq!(
            req.emit(&req.header(FAMILY, 1, 1), &mut buf[..100]),
            Err(WireError::BufferTooSmall)
        );
    }

    #[test]
    fn dump_requests_carry_the_dump_flag() {
        let req = Request::GroupDump {
            owner: Some(name("owner")),
        };
        let hdr = req.header(FAMILY, 3, 0);
        assert!(hdr
            .flags
            .contains(NetlinkFlags::DUMP | NetlinkFlags::REQUEST));
        let mut buf = [0u8; 64];
        let n = req.emit(&hdr, &mut buf).unwrap();
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(Request::parse(&p), Ok(req));
        assert!(Request::PeerDump.expects_reply());
        assert!(!Request::PeerUnregister.expects_reply());
    }

    fn round_trip_incoming(
        hdr: NetlinkHeaderRepr,
        emit: impl Fn(&mut [u8]) -> usize,
        want: Incoming<'_>,
    ) {
        let mut buf = [0u8; 512];
        let n = emit(&mut buf);
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(p.seq(), hdr.seq);
        assert_eq!(parse_incoming(&p, FAMILY).unwrap(), want);
    }

    #[test]
    fn classifies_replies_and_deliveries() {
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 9,
            port_id: 0,
        };
        let reg = PeerRegistered::new(Some(name("me")), 77, 0xdead_beef_cafe);
        round_trip_incoming(
            hdr,
            |b| reg.emit(&hdr, b).unwrap(),
            Incoming::Reply {
                seq: 9,
                multi: false,
                reply: Reply::PeerRegistered(reg),
            },
        );
        let outcome = MulticastOutcome::new(3, 1);
        round_trip_incoming(
            hdr,
            |b| outcome.emit(&hdr, b).unwrap(),
            Incoming::Reply {
                seq: 9,
                multi: false,
                reply: Reply::Multicast(outcome),
            },
        );
        let sender = Sender {
            name: None,
            port: 5,
            pid: 6,
            uid: 7,
        };
        let payload = [1u8, 2, 3];
        let g = GroupDelivery {
            sender,
            group: name("g"),
            payload: &payload,
            missed: 4,
            replayed: true,
        };
        round_trip_incoming(
            hdr,
            |b| g.emit(&hdr, b).unwrap(),
            Incoming::Delivery(Delivery::Group(g)),
        );
        // An empty group payload is still a delivery, not a sync reply.
        let g = GroupDelivery {
            payload: &[],
            missed: 0,
            replayed: false,
            ..g
        };
        round_trip_incoming(
            hdr,
            |b| g.emit(&hdr, b).unwrap(),
            Incoming::Delivery(Delivery::Group(g)),
        );
        let multi = NetlinkHeaderRepr {
            flags: NetlinkFlags::MULTI,
            ..hdr
        };
        let info = GroupInfo {
            owner: Some(name("o")),
            owner_port: 1,
            group: name("g"),
            access: GroupAccess::Gid,
            gid: Some(100),
            subscribers: 2,
            tx_msgs: 3,
            last_msg_len: None,
            _borrow: core::marker::PhantomData,
        };
        round_trip_incoming(
            multi,
            |b| info.emit(&multi, b).unwrap(),
            Incoming::Reply {
                seq: 9,
                multi: true,
                reply: Reply::Group(info),
            },
        );
    }

    #[test]
    fn other_families_and_noop_are_ignored() {
        let mut buf = [0u8; 20];
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY + 1,
            flags: NetlinkFlags::empty(),
            seq: 1,
            port_id: 0,
        };
        hdr.emit(4, &mut buf).unwrap();
        let p = NetlinkPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Ok(Incoming::Ignored {
                message_type: FAMILY + 1
            })
        );
        let hdr = NetlinkHeaderRepr {
            message_type: message_type::NOOP,
            ..hdr
        };
        hdr.emit(4, &mut buf).unwrap();
        let p = NetlinkPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Ok(Incoming::Ignored { message_type: 1 })
        );
    }

    #[test]
    fn missing_required_attributes_are_errors() {
        // A unicast delivery without port.
        let mut buf = [0u8; 64];
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        hdr.emit(4 + 8, &mut buf).unwrap();
        GenlHeaderRepr {
            command: Command::Unicast.to_raw(),
            version: 1,
        }
        .emit(&mut buf[16..])
        .unwrap();
        AttrWriter::new(&mut buf[20..])
            .put_bytes(Attr::Payload.to_raw(), b"abcd")
            .unwrap();
        let p = NetlinkPacket::new_checked(&buf[..28]).unwrap();
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Err(WireError::MissingAttribute(Attr::Port.to_raw()))
        );
    }

    #[test]
    fn kevents_round_trip() {
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        let peer = PeerIdentity {
            name: None,
            port: 3,
            pid: 4,
            uid: 5,
            flags: PeerFlags::ANONYMOUS,
        };
        for kind in [
            KeventKind::PeerAdd(peer),
            KeventKind::PeerRemove {
                peer,
                reason: RemoveReason::Closed,
            },
            KeventKind::GroupAdd {
                owner: peer,
                group: name("grp"),
            },
            KeventKind::GroupRemove {
                owner: peer,
                group: name("grp"),
                reason: RemoveReason::Unknown(9),
            },
            KeventKind::Unknown(77),
        ] {
            let ev = Kevent { seq: 1 << 40, kind };
            round_trip_incoming(
                hdr,
                |b| KeventMessage::new(ev).emit(&hdr, b).unwrap(),
                Incoming::Delivery(Delivery::Kevent(ev)),
            );
        }
    }

    /// The attributes a body emits.
    fn emitted(body: &dyn Body) -> heapless::Vec<Attr, 32> {
        let mut out = heapless::Vec::new();
        body.visit(&mut |a, _| {
            if !out.contains(&a) {
                out.push(a).unwrap();
            }
            Ok(())
        })
        .unwrap();
        out
    }

    fn same_set(got: &[Attr], want: &[Attr]) -> bool {
        got.len() == want.len() && got.iter().all(|a| want.contains(a))
    }

    /// The hand-written messages use exactly the attributes `kmod/ipcon.yaml` lists for
    /// each operation (through the generated spec): a YAML change that the wire code does
    /// not follow fails here.
    #[test]
    fn messages_use_exactly_the_yaml_attributes() {
        let n = name("n");
        let payload = b"p";
        // Requests: the union over variants of one command (PeerRef by name or port).
        let requests: [&[Request<'_>]; 13] = [
            &[Request::PeerRegister { name: Some(n) }],
            &[Request::PeerAttach { cookie: 1 }],
            &[Request::PeerUnregister],
            &[
                Request::PeerGet {
                    peer: PeerRef::Name(n),
                },
                Request::PeerGet {
                    peer: PeerRef::Port(1),
                },
            ],
            &[Request::PeerDump],
            &[
                Request::Unicast {
                    to: PeerRef::Name(n),
                    payload,
                },
                Request::Unicast {
                    to: PeerRef::Port(1),
                    payload,
                },
                Request::PostUnicast {
                    to: PeerRef::Port(1),
                    payload,
                    ticket: 1,
                },
            ],
            &[Request::GroupRegister {
                group: n,
                access: Some(GroupAccess::Gid),
                gid: Some(1),
            }],
            &[Request::GroupUnregister { group: n }],
            &[Request::GroupJoin {
                owner: n,
                group: n,
                replay_last: true,
            }],
            &[Request::GroupLeave { owner: n, group: n }],
            &[Request::GroupGet { owner: n, group: n }],
            &[Request::GroupDump { owner: Some(n) }],
            &[
                Request::Multicast {
                    group: n,
                    payload,
                    sync: true,
                },
                Request::PostMulticast {
                    group: n,
                    payload,
                    ticket: 1,
                },
            ],
        ];
        for variants in requests {
            let mut union: heapless::Vec<Attr, 32> = heapless::Vec::new();
            for r in variants {
                for a in emitted(r) {
                    if !union.contains(&a) {
                        union.push(a).unwrap();
                    }
                }
            }
            let r = &variants[0];
            let want = if r.is_dump() {
                r.command().dump_request_attrs()
            } else {
                r.command().request_attrs()
            };
            assert!(
                same_set(&union, want),
                "{r:?}: emits {union:?}, YAML lists {want:?}"
            );
        }

        let peer = PeerIdentity {
            name: Some(n),
            port: 1,
            pid: 2,
            uid: 3,
            flags: PeerFlags::empty(),
        };
        let sender = Sender {
            name: Some(n),
            port: 1,
            pid: 2,
            uid: 3,
        };
        let reg = PeerRegistered::new(Some(n), 1, 2);
        assert!(same_set(
            &emitted(&reg),
            Command::PeerRegister.reply_attrs()
        ));
        let info = PeerInfo {
            peer,
            tx_msgs: 1,
            rx_msgs: 2,
            rx_dropped: 3,
            groups: 4,
            _borrow: core::marker::PhantomData,
        };
        assert!(same_set(&emitted(&info), Command::PeerGet.reply_attrs()));
        assert!(same_set(
            &emitted(&info),
            Command::PeerGet.dump_reply_attrs()
        ));
        let group = GroupInfo {
            owner: Some(n),
            owner_port: 1,
            group: n,
            access: GroupAccess::Open,
            gid: Some(1),
            subscribers: 1,
            tx_msgs: 1,
            last_msg_len: Some(1),
            _borrow: core::marker::PhantomData,
        };
        assert!(same_set(&emitted(&group), Command::GroupGet.reply_attrs()));
        assert!(same_set(
            &emitted(&group),
            Command::GroupGet.dump_reply_attrs()
        ));
        assert!(same_set(
            &emitted(&MulticastOutcome::new(1, 2)),
            Command::Multicast.reply_attrs()
        ));
        let unicast = UnicastDelivery {
            sender,
            payload,
            missed: 1,
        };
        assert!(same_set(&emitted(&unicast), Command::Unicast.event_attrs()));
        let grp = GroupDelivery {
            sender,
            group: n,
            payload,
            missed: 1,
            replayed: true,
        };
        assert!(same_set(&emitted(&grp), Command::Multicast.event_attrs()));
        // Kernel events: the union over kinds.
        let mut union: heapless::Vec<Attr, 32> = heapless::Vec::new();
        for kind in [
            KeventKind::PeerAdd(peer),
            KeventKind::GroupRemove {
                owner: peer,
                group: n,
                reason: RemoveReason::Closed,
            },
        ] {
            for a in emitted(&KeventMessage::new(Kevent { seq: 1, kind })) {
                if !union.contains(&a) {
                    union.push(a).unwrap();
                }
            }
        }
        assert!(same_set(&union, Command::Kevent.event_attrs()), "{union:?}");
        // Failure notices: the union over a unicast's and a multicast's.
        let mut union: heapless::Vec<Attr, 32> = heapless::Vec::new();
        for failure in [
            failure(Some(PeerRef::Name(n)), None),
            failure(Some(PeerRef::Port(1)), Some(n)),
        ] {
            for a in emitted(&failure) {
                if !union.contains(&a) {
                    union.push(a).unwrap();
                }
            }
        }
        assert!(
            same_set(&union, Command::SendFailed.event_attrs()),
            "{union:?}"
        );
    }

    fn failure(peer: Option<PeerRef>, group: Option<Name>) -> SendFailure<'static> {
        SendFailure {
            ticket: 0xfeed_0001,
            errno: 11,
            message: Some("receiver queue is full"),
            peer,
            group,
            missed: 2,
        }
    }

    #[test]
    fn posted_requests_ask_for_no_ack_and_round_trip() {
        let n = name("srv");
        for req in [
            Request::PostUnicast {
                to: PeerRef::Name(n),
                payload: b"abc",
                ticket: 42,
            },
            Request::PostUnicast {
                to: PeerRef::Port(9),
                payload: b"",
                ticket: u32::MAX,
            },
            Request::PostMulticast {
                group: n,
                payload: b"xyz",
                ticket: 1,
            },
        ] {
            let hdr = req.header(FAMILY, req.ticket().unwrap(), 0);
            assert_eq!(hdr.flags, NetlinkFlags::REQUEST, "{req:?}");
            assert!(!req.expects_reply());
            let mut buf = [0u8; 128];
            let len = req.emit(&hdr, &mut buf).unwrap();
            assert_eq!(len, req.buffer_len());
            let p = NetlinkPacket::new_checked(&buf[..len]).unwrap();
            assert_eq!(Request::parse(&p), Ok(req));
        }
        // Waiting requests keep their ACK and have no ticket.
        let req = Request::Unicast {
            to: PeerRef::Port(9),
            payload: b"",
        };
        assert_eq!(req.ticket(), None);
        assert!(req.header(FAMILY, 1, 0).flags.contains(NetlinkFlags::ACK));
        let big = [0u8; MAX_PAYLOAD_LEN + 1];
        let req = Request::PostMulticast {
            group: n,
            payload: &big,
            ticket: 3,
        };
        let mut buf = [0u8; 4096];
        assert_eq!(
            req.emit(&req.header(FAMILY, 3, 0), &mut buf),
            Err(WireError::PayloadTooLarge)
        );
    }

    #[test]
    fn ticket_with_sync_does_not_parse() {
        let req = Request::Multicast {
            group: name("g"),
            payload: b"p",
            sync: true,
        };
        let mut buf = [0u8; 128];
        let len = req.emit(&req.header(FAMILY, 1, 0), &mut buf).unwrap();
        let extra = attr_size(4);
        AttrWriter::new(&mut buf[len..len + extra])
            .put_u32(Attr::Ticket.to_raw(), 5)
            .unwrap();
        let total = len + extra;
        buf[..4].copy_from_slice(&(total as u32).to_ne_bytes());
        let p = NetlinkPacket::new_checked(&buf[..total]).unwrap();
        assert_eq!(
            Request::parse(&p),
            Err(WireError::BadAttribute(Attr::Sync.to_raw()))
        );
    }

    #[test]
    fn send_failures_round_trip() {
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0xfeed_0001,
            port_id: 0,
        };
        for f in [
            failure(Some(PeerRef::Name(name("nobody"))), None),
            failure(Some(PeerRef::Port(77)), None),
            SendFailure {
                message: None,
                missed: 0,
                ..failure(None, Some(name("grp")))
            },
        ] {
            round_trip_incoming(
                hdr,
                |b| Delivery::SendFailed(f).emit(&hdr, b).unwrap(),
                Incoming::Delivery(Delivery::SendFailed(f)),
            );
            assert_eq!(Delivery::SendFailed(f).buffer_len(), f.buffer_len());
        }
    }

    /// A notice written attribute by attribute, as the kernel could send it.
    fn notice(attrs: impl FnOnce(&mut AttrWriter<'_>), buf: &mut [u8]) -> usize {
        let mut w = AttrWriter::new(&mut buf[20..]);
        attrs(&mut w);
        let total = 20 + w.len();
        NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        }
        .emit(total - 16, buf)
        .unwrap();
        GenlHeaderRepr {
            command: Command::SendFailed.to_raw(),
            version: 1,
        }
        .emit(&mut buf[16..])
        .unwrap();
        total
    }

    #[test]
    fn send_failures_skip_unknown_attributes_and_refuse_missing_ones() {
        let mut buf = [0u8; 128];
        let len = notice(
            |w| {
                w.put_u32(Attr::Ticket.to_raw(), 7).unwrap();
                w.put_bytes(200, b"from a newer module").unwrap();
                w.put_u32(Attr::Errno.to_raw(), 2).unwrap();
                // A damaged text keeps its valid UTF-8 prefix.
                w.put_cstr(Attr::ErrorMsg.to_raw(), b"no such\xff peer")
                    .unwrap();
            },
            &mut buf,
        );
        let p = NetlinkPacket::new_checked(&buf[..len]).unwrap();
        let want = SendFailure {
            ticket: 7,
            errno: 2,
            message: Some("no such"),
            peer: None,
            group: None,
            missed: 0,
        };
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Ok(Incoming::Delivery(Delivery::SendFailed(want)))
        );

        let len = notice(|w| w.put_u32(Attr::Ticket.to_raw(), 7).unwrap(), &mut buf);
        let p = NetlinkPacket::new_checked(&buf[..len]).unwrap();
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Err(WireError::MissingAttribute(Attr::Errno.to_raw()))
        );
        let len = notice(
            |w| {
                w.put_u32(Attr::Ticket.to_raw(), 7).unwrap();
                w.put_u16(Attr::Errno.to_raw(), 2).unwrap();
            },
            &mut buf,
        );
        let p = NetlinkPacket::new_checked(&buf[..len]).unwrap();
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Err(WireError::BadAttribute(Attr::Errno.to_raw()))
        );
    }

    #[test]
    fn truncated_send_failures_never_parse() {
        let f = failure(Some(PeerRef::Name(name("nobody"))), Some(name("g")));
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        let mut buf = [0u8; 256];
        let len = f.emit(&hdr, &mut buf).unwrap();
        // Cut anywhere inside the attributes, with the length fixed up to match: the
        // parse fails or yields a notice, never panics, never reads past the cut.
        for cut in 20..len {
            let mut short = [0u8; 256];
            short[..cut].copy_from_slice(&buf[..cut]);
            short[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            let Ok(p) = NetlinkPacket::new_checked(&short[..cut]) else {
                continue;
            };
            match parse_incoming(&p, FAMILY) {
                Ok(Incoming::Delivery(Delivery::SendFailed(got))) => {
                    assert_eq!((got.ticket, got.errno), (f.ticket, f.errno));
                }
                Ok(other) => panic!("cut at {cut}: {other:?}"),
                Err(_) => {}
            }
        }
    }
}
