//! Every message of the ipcon family (`kmod/ipcon.yaml`) as the library speaks it:
//! requests (user → kernel), replies, and deliveries and kernel events (kernel → user).
//!
//! The attributes of each message are the generated structs of [`super::messages`]; this
//! module maps them to and from the library's types (validated [`Name`]s, [`PeerRef`],
//! [`Kevent`], required attributes), builds whole messages and classifies what arrives.
//!
//! Emission: each type has `buffer_len()` and `emit(&hdr, buf)`; requests also build their
//! netlink header with [`Request::header`]. Reception: [`parse_incoming`] classifies one
//! netlink message of a datagram into an ACK, an error, the end of a dump, a reply or a
//! delivery, borrowing payloads from the buffer.
//!
//! Framing rules the kernel and this crate share (see `docs/protocol.md`): a reply carries
//! the command of its request (a sync `multicast` reply too); deliveries are the
//! notifications `unicast-msg`, `group-msg`, `kevent` and `send-failed` (the failure of a
//! posted request: one with a `ticket`, sent without `NLM_F_ACK`). Unknown attributes and
//! `pad` are skipped.
use crate::error::WireError;
use crate::kevent::{Kevent, KeventKind, PeerIdentity};
use crate::name::Name;
use crate::spec::{
    Attr, Command, GroupAccess, KeventType, RemoveReason, MAX_PAYLOAD_LEN, STAMP_ROOM_LEN, VERSION,
};
use crate::wire::ack::{DoneRepr, ErrorRepr, ExtAck};
use crate::wire::attr::AttrWriter;
use crate::wire::genl::{self, GenlHeaderRepr, GenlPacket};
use crate::wire::messages::{self as m, MessageAttrs};
use crate::wire::netlink::{self, message_type, NetlinkFlags, NetlinkHeaderRepr, NetlinkPacket};

/// Length of the whole message: netlink and generic netlink headers and attributes.
pub fn message_len(body: &dyn MessageAttrs) -> usize {
    netlink::HEADER_LEN + genl::HEADER_LEN + body.attrs_len()
}

/// Writes a whole message with header `hdr` (its length is computed) and generic netlink
/// version [`VERSION`] into `buf`, returning the number of bytes written.
pub fn emit_message(
    body: &dyn MessageAttrs,
    hdr: &NetlinkHeaderRepr,
    buf: &mut [u8],
) -> Result<usize, WireError> {
    let total = message_len(body);
    let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
    hdr.emit(total - netlink::HEADER_LEN, buf)?;
    GenlHeaderRepr {
        command: body.command().to_raw(),
        version: VERSION,
    }
    .emit(&mut buf[netlink::HEADER_LEN..])?;
    body.emit_attrs(&mut AttrWriter::new(
        &mut buf[netlink::HEADER_LEN + genl::HEADER_LEN..],
    ))?;
    Ok(total)
}

/// The `stamp-room` of a posted unicast: its content does not matter (the module writes
/// the sender's stamp over it), zeros are what a reader of the request expects.
const STAMP_ROOM: [u8; STAMP_ROOM_LEN] = [0; STAMP_ROOM_LEN];

/// Splits a checked packet of the family into its command and attribute stream.
pub(crate) fn split<'a>(packet: &NetlinkPacket<&'a [u8]>) -> Result<(u8, &'a [u8]), WireError> {
    let msg: &'a [u8] = packet.into_inner();
    let end = (packet.length() as usize).min(msg.len());
    let payload: &'a [u8] = msg.get(netlink::HEADER_LEN..end).unwrap_or(&[]);
    let genl = GenlPacket::new_checked(payload)?;
    let attrs: &'a [u8] = payload.get(genl::HEADER_LEN..).unwrap_or(&[]);
    Ok((genl.command(), attrs))
}

/// A required attribute's value.
fn required<T>(value: Option<T>, attr: Attr) -> Result<T, WireError> {
    value.ok_or(WireError::MissingAttribute(attr.to_raw()))
}

/// An optional name.
fn name(bytes: Option<&[u8]>) -> Result<Option<Name>, WireError> {
    bytes
        .map(|b| Name::from_bytes(b).map_err(WireError::BadName))
        .transpose()
}

/// A required name.
fn required_name(bytes: Option<&[u8]>, attr: Attr) -> Result<Name, WireError> {
    required(name(bytes)?, attr)
}

/// A required payload of at most [`MAX_PAYLOAD_LEN`] bytes.
pub(crate) fn payload(bytes: Option<&[u8]>) -> Result<&[u8], WireError> {
    let p = required(bytes, Attr::Payload)?;
    if p.len() > MAX_PAYLOAD_LEN {
        return Err(WireError::PayloadTooLarge);
    }
    Ok(p)
}

/// A `pack` attribute's value whose entries each hold one payload of at most
/// [`MAX_PAYLOAD_LEN`] bytes (what [`Request::emit`] accepts).
fn pack(bytes: &[u8]) -> Result<&[u8], WireError> {
    for payload in crate::wire::pack::PackPayloads::new(bytes) {
        if payload?.len() > MAX_PAYLOAD_LEN {
            return Err(WireError::PayloadTooLarge);
        }
    }
    Ok(bytes)
}

fn name_bytes(name: &Option<Name>) -> Option<&[u8]> {
    name.as_ref().map(Name::as_bytes)
}

/// A dump filter [`Request`] cannot express is refused rather than dropped.
fn no_filter<T>(value: Option<T>, attr: Attr) -> Result<(), WireError> {
    match value {
        Some(_) => Err(WireError::BadAttribute(attr.to_raw())),
        None => Ok(()),
    }
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
    /// The `peer-name` and `port` attributes naming this peer.
    fn attrs(&self) -> (Option<&[u8]>, Option<u32>) {
        match self {
            PeerRef::Name(n) => (Some(n.as_bytes()), None),
            PeerRef::Port(p) => (None, Some(*p)),
        }
    }

    /// The peer a message names, by name if it has one.
    fn from_attrs(name_attr: Option<&[u8]>, port: Option<u32>) -> Result<Option<Self>, WireError> {
        Ok(match (name(name_attr)?, port) {
            (Some(n), _) => Some(PeerRef::Name(n)),
            (None, Some(p)) => Some(PeerRef::Port(p)),
            (None, None) => None,
        })
    }

    fn required(name_attr: Option<&[u8]>, port: Option<u32>) -> Result<Self, WireError> {
        required(Self::from_attrs(name_attr, port)?, Attr::PeerName)
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
    /// `ticket` (see `docs/protocol.md`, "Posted sends"). It carries a `stamp-room`, so
    /// the module may queue the request itself to the receiver (see
    /// `docs/protocol.md`, "Forwarded unicasts").
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
    /// [`Request::PeerRegister`] with a rule for who may send to the peer.
    PeerRegisterRestricted {
        /// The peer's name; `None` registers anonymously.
        name: Option<Name>,
        /// Who may send to the peer.
        access: GroupAccess,
        /// The gid that [`GroupAccess::Gid`] admits.
        gid: Option<u32>,
    },
    /// [`Request::Unicast`] delivered only if the receiver's uid is `uid` (else `EPERM`).
    UnicastExpecting {
        /// Destination.
        to: PeerRef,
        /// Payload, at most [`MAX_PAYLOAD_LEN`] bytes.
        payload: &'a [u8],
        /// The uid the receiver must have, as stamps give uids.
        uid: u32,
    },
    /// [`Request::GroupJoin`] only if the group's owner has uid `uid` (else `EPERM`, and
    /// no replay).
    GroupJoinExpecting {
        /// The group's owner.
        owner: Name,
        /// The group's name.
        group: Name,
        /// Replay the group's last message first.
        replay_last: bool,
        /// The uid the owner must have.
        uid: u32,
    },
    /// Rule `index` of a namespace ownership policy of `count` rules (`policy-load`;
    /// needs `CAP_NET_ADMIN`): the peer names matching `pattern` (`*`: any run of
    /// characters, `?`: one) are reserved for `uid`, the members of `gid`, either, or
    /// (neither given) nobody in particular. Rules go in order from one socket; the last
    /// one replaces the policy.
    PolicyRule {
        /// How many rules the policy has (1..=[`crate::spec::MAX_POLICY_RULES`]).
        count: u32,
        /// This rule's place, from 0.
        index: u32,
        /// The names the rule applies to.
        pattern: Name,
        /// The user the names are reserved for.
        uid: Option<u32>,
        /// The group whose members the names are reserved for.
        gid: Option<u32>,
    },
    /// Remove the namespace's ownership policy (`policy-load` of no rules).
    PolicyClear,
    /// Several messages to one peer in one request, a pack: `pack` is the value of the
    /// `pack` attribute, the messages' entries ([`crate::wire::pack`]), 1 to
    /// [`crate::spec::MAX_PACK`] of them. A receiver that registered packed gets them in
    /// one datagram, all or none.
    UnicastPack {
        /// Destination.
        to: PeerRef,
        /// The entries, each holding one payload.
        pack: &'a [u8],
    },
    /// Several messages to one of the sender's groups in one request (see
    /// [`Request::UnicastPack`]).
    MulticastPack {
        /// The group's name.
        group: Name,
        /// The entries, each holding one payload.
        pack: &'a [u8],
        /// Ask for a [`MulticastOutcome`] reply (it counts messages).
        sync: bool,
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
                | Request::PeerRegisterRestricted { .. }
                | Request::PeerGet { .. }
                | Request::PeerDump
                | Request::GroupGet { .. }
                | Request::GroupDump { .. }
                | Request::Multicast { sync: true, .. }
                | Request::MulticastPack { sync: true, .. }
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

    /// The command the request is sent with.
    pub fn command(&self) -> Command {
        self.with_attrs(|body| body.command())
    }

    /// Hands the request's generated message to `f`.
    fn with_attrs<R>(&self, f: impl FnOnce(&dyn MessageAttrs) -> R) -> R {
        match *self {
            Request::PeerRegister { ref name } => f(&m::PeerRegisterRequest {
                peer_name: name_bytes(name),
                access: None,
                gid: None,
                packed: true,
            }),
            Request::PeerAttach { cookie } => f(&m::PeerAttachRequest {
                cookie: Some(cookie),
            }),
            Request::PeerUnregister => f(&m::PeerUnregisterRequest),
            Request::PeerGet { ref peer } => {
                let (peer_name, port) = peer.attrs();
                f(&m::PeerGetRequest { peer_name, port })
            }
            Request::PeerDump => f(&m::PeerGetDumpRequest::default()),
            Request::Unicast { ref to, payload } => {
                let (peer_name, port) = to.attrs();
                f(&m::UnicastRequest {
                    peer_name,
                    port,
                    payload: Some(payload),
                    pack: None,
                    ticket: None,
                    expect_uid: None,
                    stamp_room: None,
                })
            }
            Request::PostUnicast {
                ref to,
                payload,
                ticket,
            } => {
                let (peer_name, port) = to.attrs();
                f(&m::UnicastRequest {
                    peer_name,
                    port,
                    payload: Some(payload),
                    pack: None,
                    ticket: Some(ticket),
                    expect_uid: None,
                    stamp_room: Some(&STAMP_ROOM),
                })
            }
            Request::GroupRegister {
                ref group,
                access,
                gid,
            } => f(&m::GroupRegisterRequest {
                group_name: Some(group.as_bytes()),
                access,
                gid,
            }),
            Request::GroupUnregister { ref group } => f(&m::GroupUnregisterRequest {
                group_name: Some(group.as_bytes()),
            }),
            Request::GroupJoin {
                ref owner,
                ref group,
                replay_last,
            } => f(&m::GroupJoinRequest {
                peer_name: Some(owner.as_bytes()),
                group_name: Some(group.as_bytes()),
                rcv_last_msg: replay_last,
                expect_uid: None,
            }),
            Request::GroupLeave {
                ref owner,
                ref group,
            } => f(&m::GroupLeaveRequest {
                peer_name: Some(owner.as_bytes()),
                group_name: Some(group.as_bytes()),
            }),
            Request::GroupGet {
                ref owner,
                ref group,
            } => f(&m::GroupGetRequest {
                peer_name: Some(owner.as_bytes()),
                group_name: Some(group.as_bytes()),
            }),
            Request::GroupDump { ref owner } => f(&m::GroupGetDumpRequest {
                peer_name: name_bytes(owner),
                group_name: None,
            }),
            Request::Multicast {
                ref group,
                payload,
                sync,
            } => f(&m::MulticastRequest {
                group_name: Some(group.as_bytes()),
                payload: Some(payload),
                pack: None,
                sync,
                ticket: None,
            }),
            Request::PostMulticast {
                ref group,
                payload,
                ticket,
            } => f(&m::MulticastRequest {
                group_name: Some(group.as_bytes()),
                payload: Some(payload),
                pack: None,
                sync: false,
                ticket: Some(ticket),
            }),
            Request::PeerRegisterRestricted {
                ref name,
                access,
                gid,
            } => f(&m::PeerRegisterRequest {
                peer_name: name_bytes(name),
                access: Some(access),
                gid,
                packed: true,
            }),
            Request::UnicastExpecting {
                ref to,
                payload,
                uid,
            } => {
                let (peer_name, port) = to.attrs();
                f(&m::UnicastRequest {
                    peer_name,
                    port,
                    payload: Some(payload),
                    pack: None,
                    ticket: None,
                    expect_uid: Some(uid),
                    stamp_room: None,
                })
            }
            Request::GroupJoinExpecting {
                ref owner,
                ref group,
                replay_last,
                uid,
            } => f(&m::GroupJoinRequest {
                peer_name: Some(owner.as_bytes()),
                group_name: Some(group.as_bytes()),
                rcv_last_msg: replay_last,
                expect_uid: Some(uid),
            }),
            Request::PolicyRule {
                count,
                index,
                ref pattern,
                uid,
                gid,
            } => f(&m::PolicyLoadRequest {
                rule_count: Some(count),
                rule_index: Some(index),
                name_pattern: Some(pattern.as_bytes()),
                uid,
                gid,
            }),
            Request::PolicyClear => f(&m::PolicyLoadRequest {
                rule_count: Some(0),
                ..Default::default()
            }),
            Request::UnicastPack { ref to, pack } => {
                let (peer_name, port) = to.attrs();
                f(&m::UnicastRequest {
                    peer_name,
                    port,
                    payload: None,
                    pack: Some(pack),
                    ticket: None,
                    expect_uid: None,
                    stamp_room: None,
                })
            }
            Request::MulticastPack {
                ref group,
                pack,
                sync,
            } => f(&m::MulticastRequest {
                group_name: Some(group.as_bytes()),
                payload: None,
                pack: Some(pack),
                sync,
                ticket: None,
            }),
        }
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        self.with_attrs(message_len)
    }

    /// Writes the request with header `hdr` (usually from [`Request::header`]) into `buf`,
    /// returning the number of bytes written. A payload over [`MAX_PAYLOAD_LEN`] is
    /// [`WireError::PayloadTooLarge`].
    pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        if let Request::Unicast { payload, .. }
        | Request::UnicastExpecting { payload, .. }
        | Request::Multicast { payload, .. }
        | Request::PostUnicast { payload, .. }
        | Request::PostMulticast { payload, .. } = self
        {
            if payload.len() > MAX_PAYLOAD_LEN {
                return Err(WireError::PayloadTooLarge);
            }
        }
        if let Request::UnicastPack { pack, .. } | Request::MulticastPack { pack, .. } = self {
            for payload in crate::wire::pack::PackPayloads::new(pack) {
                if payload?.len() > MAX_PAYLOAD_LEN {
                    return Err(WireError::PayloadTooLarge);
                }
            }
        }
        self.with_attrs(|body| emit_message(body, hdr, buf))
    }
}

impl<'a> Request<'a> {
    /// Parses a request (the kernel's side; used by tests and fuzzing). The dump flag of the
    /// header tells a dump from a lookup. A dump filter this type cannot express is
    /// [`WireError::BadAttribute`].
    pub fn parse(packet: &NetlinkPacket<&'a [u8]>) -> Result<Self, WireError> {
        let (cmd, t) = split(packet)?;
        let dump = packet.flags().contains(NetlinkFlags::DUMP);
        Ok(match Command::from_raw(cmd) {
            Command::PeerRegister => {
                let r = m::PeerRegisterRequest::parse(t)?;
                let name = name(r.peer_name)?;
                match r.access {
                    Some(access) => Request::PeerRegisterRestricted {
                        name,
                        access,
                        gid: r.gid,
                    },
                    None => {
                        no_filter(r.gid, Attr::Gid)?;
                        Request::PeerRegister { name }
                    }
                }
            }
            Command::PeerAttach => Request::PeerAttach {
                cookie: required(m::PeerAttachRequest::parse(t)?.cookie, Attr::Cookie)?,
            },
            Command::PeerUnregister => Request::PeerUnregister,
            Command::PeerGet if dump => {
                let r = m::PeerGetDumpRequest::parse(t)?;
                no_filter(r.peer_name, Attr::PeerName)?;
                no_filter(r.port, Attr::Port)?;
                Request::PeerDump
            }
            Command::PeerGet => {
                let r = m::PeerGetRequest::parse(t)?;
                Request::PeerGet {
                    peer: PeerRef::required(r.peer_name, r.port)?,
                }
            }
            Command::Unicast => {
                let r = m::UnicastRequest::parse(t)?;
                let to = PeerRef::required(r.peer_name, r.port)?;
                if let Some(entries) = r.pack {
                    no_filter(r.payload, Attr::Payload)?;
                    no_filter(r.ticket, Attr::Ticket)?;
                    no_filter(r.expect_uid, Attr::ExpectUid)?;
                    return Ok(Request::UnicastPack {
                        to,
                        pack: pack(entries)?,
                    });
                }
                let payload = payload(r.payload)?;
                match (r.ticket, r.expect_uid) {
                    (Some(_), Some(_)) => {
                        return Err(WireError::BadAttribute(Attr::ExpectUid.to_raw()))
                    }
                    (Some(ticket), None) => Request::PostUnicast {
                        to,
                        payload,
                        ticket,
                    },
                    (None, Some(uid)) => Request::UnicastExpecting { to, payload, uid },
                    (None, None) => Request::Unicast { to, payload },
                }
            }
            Command::GroupRegister => {
                let r = m::GroupRegisterRequest::parse(t)?;
                Request::GroupRegister {
                    group: required_name(r.group_name, Attr::GroupName)?,
                    access: r.access,
                    gid: r.gid,
                }
            }
            Command::GroupUnregister => Request::GroupUnregister {
                group: required_name(
                    m::GroupUnregisterRequest::parse(t)?.group_name,
                    Attr::GroupName,
                )?,
            },
            Command::GroupJoin => {
                let r = m::GroupJoinRequest::parse(t)?;
                let owner = required_name(r.peer_name, Attr::PeerName)?;
                let group = required_name(r.group_name, Attr::GroupName)?;
                match r.expect_uid {
                    Some(uid) => Request::GroupJoinExpecting {
                        owner,
                        group,
                        replay_last: r.rcv_last_msg,
                        uid,
                    },
                    None => Request::GroupJoin {
                        owner,
                        group,
                        replay_last: r.rcv_last_msg,
                    },
                }
            }
            Command::GroupLeave => {
                let r = m::GroupLeaveRequest::parse(t)?;
                Request::GroupLeave {
                    owner: required_name(r.peer_name, Attr::PeerName)?,
                    group: required_name(r.group_name, Attr::GroupName)?,
                }
            }
            Command::GroupGet if dump => {
                let r = m::GroupGetDumpRequest::parse(t)?;
                no_filter(r.group_name, Attr::GroupName)?;
                Request::GroupDump {
                    owner: name(r.peer_name)?,
                }
            }
            Command::GroupGet => {
                let r = m::GroupGetRequest::parse(t)?;
                Request::GroupGet {
                    owner: required_name(r.peer_name, Attr::PeerName)?,
                    group: required_name(r.group_name, Attr::GroupName)?,
                }
            }
            Command::Multicast => {
                let r = m::MulticastRequest::parse(t)?;
                let group = required_name(r.group_name, Attr::GroupName)?;
                if let Some(entries) = r.pack {
                    no_filter(r.payload, Attr::Payload)?;
                    no_filter(r.ticket, Attr::Ticket)?;
                    return Ok(Request::MulticastPack {
                        group,
                        pack: pack(entries)?,
                        sync: r.sync,
                    });
                }
                let payload = payload(r.payload)?;
                match r.ticket {
                    // The kernel refuses the combination (no reply to report in).
                    Some(_) if r.sync => return Err(WireError::BadAttribute(Attr::Sync.to_raw())),
                    Some(ticket) => Request::PostMulticast {
                        group,
                        payload,
                        ticket,
                    },
                    None => Request::Multicast {
                        group,
                        payload,
                        sync: r.sync,
                    },
                }
            }
            Command::PolicyLoad => {
                let r = m::PolicyLoadRequest::parse(t)?;
                match required(r.rule_count, Attr::RuleCount)? {
                    0 => {
                        no_filter(r.rule_index, Attr::RuleIndex)?;
                        no_filter(r.name_pattern, Attr::NamePattern)?;
                        no_filter(r.uid, Attr::Uid)?;
                        no_filter(r.gid, Attr::Gid)?;
                        Request::PolicyClear
                    }
                    count => Request::PolicyRule {
                        count,
                        index: required(r.rule_index, Attr::RuleIndex)?,
                        pattern: required_name(r.name_pattern, Attr::NamePattern)?,
                        uid: r.uid,
                        gid: r.gid,
                    },
                }
            }
            _ => return Err(WireError::UnexpectedCommand(cmd)),
        })
    }
}

/// `buffer_len` and `emit` of a type that borrows as its generated message (`as_wire`).
macro_rules! emit_methods {
    ($($ty:ident),*) => {$(
        impl $ty<'_> {
            /// Length of the emitted message.
            pub fn buffer_len(&self) -> usize {
                message_len(&self.as_wire())
            }

            /// Writes the message with header `hdr` (its length is computed) into `buf`,
            /// returning the number of bytes written.
            pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
                emit_message(&self.as_wire(), hdr, buf)
            }
        }
    )*};
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

    fn from_wire(r: &m::PeerRegisterReply<'_>) -> Result<Self, WireError> {
        Ok(Self::new(
            name(r.peer_name)?,
            required(r.port, Attr::Port)?,
            required(r.cookie, Attr::Cookie)?,
        ))
    }

    fn as_wire(&self) -> m::PeerRegisterReply<'_> {
        m::PeerRegisterReply {
            peer_name: name_bytes(&self.name),
            port: Some(self.port),
            cookie: Some(self.cookie),
        }
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
    fn from_wire(r: &m::PeerGetReply<'_>) -> Result<Self, WireError> {
        Ok(Self {
            peer: PeerIdentity {
                name: name(r.peer_name)?,
                port: required(r.port, Attr::Port)?,
                pid: r.pid.unwrap_or(0),
                uid: r.uid.unwrap_or(0),
                flags: r.peer_flags.unwrap_or_default(),
            },
            tx_msgs: r.tx_msgs.unwrap_or(0),
            rx_msgs: r.rx_msgs.unwrap_or(0),
            rx_dropped: r.rx_dropped.unwrap_or(0),
            groups: r.groups.unwrap_or(0),
            _borrow: core::marker::PhantomData,
        })
    }

    fn as_wire(&self) -> m::PeerGetReply<'_> {
        let p = &self.peer;
        m::PeerGetReply {
            peer_name: name_bytes(&p.name),
            port: Some(p.port),
            pid: Some(p.pid),
            uid: Some(p.uid),
            peer_flags: Some(p.flags),
            tx_msgs: Some(self.tx_msgs),
            rx_msgs: Some(self.rx_msgs),
            rx_dropped: Some(self.rx_dropped),
            groups: Some(self.groups),
            access: None,
            gid: None,
        }
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
    fn from_wire(r: &m::GroupGetReply<'_>) -> Result<Self, WireError> {
        Ok(Self {
            owner: name(r.peer_name)?,
            owner_port: required(r.port, Attr::Port)?,
            group: required_name(r.group_name, Attr::GroupName)?,
            access: r.access.unwrap_or(GroupAccess::Open),
            gid: r.gid,
            subscribers: r.subscribers.unwrap_or(0),
            tx_msgs: r.tx_msgs.unwrap_or(0),
            last_msg_len: r.last_msg_len,
            _borrow: core::marker::PhantomData,
        })
    }

    fn as_wire(&self) -> m::GroupGetReply<'_> {
        m::GroupGetReply {
            peer_name: name_bytes(&self.owner),
            port: Some(self.owner_port),
            group_name: Some(self.group.as_bytes()),
            access: Some(self.access),
            gid: self.gid,
            subscribers: Some(self.subscribers),
            tx_msgs: Some(self.tx_msgs),
            last_msg_len: self.last_msg_len,
        }
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

    fn as_wire(&self) -> m::MulticastReply {
        m::MulticastReply {
            delivered: Some(self.delivered),
            dropped: Some(self.dropped),
        }
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
    fn from_attrs(
        name_attr: Option<&[u8]>,
        port: Option<u32>,
        pid: Option<u32>,
        uid: Option<u32>,
    ) -> Result<Self, WireError> {
        Ok(Self {
            name: name(name_attr)?,
            port: required(port, Attr::Port)?,
            pid: pid.unwrap_or(0),
            uid: uid.unwrap_or(0),
        })
    }
}

/// What a delivery reports about an overflow of the receiving peer's queue
/// since its previous delivery: unicasts the kernel refused for lack of room
/// (their senders got `EAGAIN`), and who filled the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Overrun {
    /// Unicast messages to this peer refused because its queue was full.
    pub refused: u32,
    /// The sender of more than half of the messages queued when the queue
    /// was found full, when one sender was.
    pub filled_by: Option<OverrunSender>,
}

/// Who filled a peer's queue ([`Overrun::filled_by`]), as the kernel stamped
/// the messages: port and uid (the port is the sender's at the time; a
/// name may have gone with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OverrunSender {
    /// The sending peer's port.
    pub port: u32,
    /// The sender's uid.
    pub uid: u32,
}

impl Overrun {
    /// `None` when the delivery reports nothing; a port without a uid (or
    /// the reverse) is no sender.
    pub(crate) fn from_attrs(
        refused: Option<u32>,
        port: Option<u32>,
        uid: Option<u32>,
    ) -> Option<Self> {
        let filled_by = match (port, uid) {
            (Some(port), Some(uid)) => Some(OverrunSender { port, uid }),
            _ => None,
        };
        let refused = refused.unwrap_or(0);
        (refused != 0 || filled_by.is_some()).then_some(Self { refused, filled_by })
    }

    fn refused_attr(self) -> Option<u32> {
        (self.refused != 0).then_some(self.refused)
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
    /// An overflow of this peer's queue since its previous delivery.
    pub overrun: Option<Overrun>,
}

impl<'a> UnicastDelivery<'a> {
    fn from_wire(n: &m::UnicastMsgNtf<'a>) -> Result<Self, WireError> {
        Ok(Self {
            sender: Sender::from_attrs(n.peer_name, n.port, n.pid, n.uid)?,
            payload: payload(n.payload)?,
            missed: n.missed.unwrap_or(0),
            overrun: Overrun::from_attrs(n.overrun, n.overrun_port, n.overrun_uid),
        })
    }

    fn as_wire(&self) -> m::UnicastMsgNtf<'_> {
        let s = &self.sender;
        m::UnicastMsgNtf {
            peer_name: name_bytes(&s.name),
            port: Some(s.port),
            pid: Some(s.pid),
            uid: Some(s.uid),
            payload: Some(self.payload),
            missed: (self.missed != 0).then_some(self.missed),
            overrun: self.overrun.and_then(Overrun::refused_attr),
            overrun_port: self.overrun.and_then(|o| o.filled_by).map(|f| f.port),
            overrun_uid: self.overrun.and_then(|o| o.filled_by).map(|f| f.uid),
        }
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
    /// An overflow of this peer's queue since its previous delivery.
    pub overrun: Option<Overrun>,
}

impl<'a> GroupDelivery<'a> {
    fn from_wire(n: &m::GroupMsgNtf<'a>) -> Result<Self, WireError> {
        Ok(Self {
            sender: Sender::from_attrs(n.peer_name, n.port, n.pid, n.uid)?,
            group: required_name(n.group_name, Attr::GroupName)?,
            payload: payload(n.payload)?,
            missed: n.missed.unwrap_or(0),
            replayed: n.replayed,
            overrun: Overrun::from_attrs(n.overrun, n.overrun_port, n.overrun_uid),
        })
    }

    fn as_wire(&self) -> m::GroupMsgNtf<'_> {
        let s = &self.sender;
        m::GroupMsgNtf {
            peer_name: name_bytes(&s.name),
            port: Some(s.port),
            pid: Some(s.pid),
            uid: Some(s.uid),
            group_name: Some(self.group.as_bytes()),
            payload: Some(self.payload),
            missed: (self.missed != 0).then_some(self.missed),
            replayed: self.replayed,
            overrun: self.overrun.and_then(Overrun::refused_attr),
            overrun_port: self.overrun.and_then(|o| o.filled_by).map(|f| f.port),
            overrun_uid: self.overrun.and_then(|o| o.filled_by).map(|f| f.uid),
        }
    }
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

    fn from_wire(n: &m::KeventNtf<'_>) -> Result<Kevent, WireError> {
        let seq = required(n.kevent_seq, Attr::KeventSeq)?;
        let identity = || -> Result<PeerIdentity, WireError> {
            Ok(PeerIdentity {
                name: name(n.peer_name)?,
                port: required(n.port, Attr::Port)?,
                pid: n.pid.unwrap_or(0),
                uid: n.uid.unwrap_or(0),
                flags: n.peer_flags.unwrap_or_default(),
            })
        };
        // An absent reason reads as `Unknown(0)`, so that the removal itself is never lost.
        let reason = n.reason.unwrap_or(RemoveReason::Unknown(0));
        let kind = match required(n.kevent_type, Attr::KeventType)? {
            KeventType::PeerAdd => KeventKind::PeerAdd(identity()?),
            KeventType::PeerRemove => KeventKind::PeerRemove {
                peer: identity()?,
                reason,
            },
            KeventType::GroupAdd => KeventKind::GroupAdd {
                owner: identity()?,
                group: required_name(n.group_name, Attr::GroupName)?,
            },
            KeventType::GroupRemove => KeventKind::GroupRemove {
                owner: identity()?,
                group: required_name(n.group_name, Attr::GroupName)?,
                reason,
            },
            KeventType::Unknown(other) => KeventKind::Unknown(other),
        };
        Ok(Kevent { seq, kind })
    }

    fn as_wire(&self) -> m::KeventNtf<'_> {
        let mut n = m::KeventNtf {
            kevent_seq: Some(self.event.seq),
            ..m::KeventNtf::default()
        };
        let (kevent_type, peer, group, reason) = match &self.event.kind {
            KeventKind::PeerAdd(p) => (KeventType::PeerAdd, Some(p), None, None),
            KeventKind::PeerRemove { peer, reason } => {
                (KeventType::PeerRemove, Some(peer), None, Some(*reason))
            }
            KeventKind::GroupAdd { owner, group } => {
                (KeventType::GroupAdd, Some(owner), Some(group), None)
            }
            KeventKind::GroupRemove {
                owner,
                group,
                reason,
            } => (
                KeventType::GroupRemove,
                Some(owner),
                Some(group),
                Some(*reason),
            ),
            KeventKind::Unknown(t) => (KeventType::Unknown(*t), None, None, None),
        };
        n.kevent_type = Some(kevent_type);
        if let Some(p) = peer {
            n.peer_name = name_bytes(&p.name);
            n.port = Some(p.port);
            n.pid = Some(p.pid);
            n.uid = Some(p.uid);
            n.peer_flags = Some(p.flags);
        }
        n.group_name = group.map(Name::as_bytes);
        n.reason = reason;
        n
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
    fn from_wire(n: &m::SendFailedNtf<'a>) -> Result<Self, WireError> {
        Ok(Self {
            ticket: required(n.ticket, Attr::Ticket)?,
            errno: required(n.error, Attr::Error)?,
            message: n.error_msg.map(utf8_prefix),
            peer: PeerRef::from_attrs(n.peer_name, n.port)?,
            group: name(n.group_name)?,
            missed: n.missed.unwrap_or(0),
        })
    }

    fn as_wire(&self) -> m::SendFailedNtf<'_> {
        let (peer_name, port) = self.peer.as_ref().map_or((None, None), PeerRef::attrs);
        m::SendFailedNtf {
            ticket: Some(self.ticket),
            error: Some(self.errno),
            error_msg: self.message.map(str::as_bytes),
            peer_name,
            port,
            group_name: self.group.as_ref().map(Name::as_bytes),
            missed: (self.missed != 0).then_some(self.missed),
        }
    }
}

/// The longest valid UTF-8 prefix of `bytes` (a damaged text is cut, not refused).
fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
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
        /// Extended-ACK details (message, offending attribute offset, missing attribute).
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
    let delivery = |d| Ok(Incoming::Delivery(d));
    match Command::from_raw(cmd) {
        Command::PeerRegister => reply(Reply::PeerRegistered(PeerRegistered::from_wire(
            &m::PeerRegisterReply::parse(t)?,
        )?)),
        Command::PeerGet => reply(Reply::Peer(PeerInfo::from_wire(&m::PeerGetReply::parse(
            t,
        )?)?)),
        Command::GroupGet => reply(Reply::Group(GroupInfo::from_wire(
            &m::GroupGetReply::parse(t)?,
        )?)),
        Command::Multicast => {
            let r = m::MulticastReply::parse(t)?;
            reply(Reply::Multicast(MulticastOutcome::new(
                r.delivered.unwrap_or(0),
                r.dropped.unwrap_or(0),
            )))
        }
        Command::UnicastMsg => delivery(Delivery::Unicast(UnicastDelivery::from_wire(
            &m::UnicastMsgNtf::parse(t)?,
        )?)),
        Command::GroupMsg => delivery(Delivery::Group(GroupDelivery::from_wire(
            &m::GroupMsgNtf::parse(t)?,
        )?)),
        Command::Kevent => delivery(Delivery::Kevent(KeventMessage::from_wire(
            &m::KeventNtf::parse(t)?,
        )?)),
        Command::SendFailed => delivery(Delivery::SendFailed(SendFailure::from_wire(
            &m::SendFailedNtf::parse(t)?,
        )?)),
        _ => Err(WireError::UnexpectedCommand(cmd)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::PeerFlags;
    use crate::wire::attr::{attr_size, Attributes};

    #[test]
    fn a_message_keeps_the_last_occurrence_and_skips_unknown_numbers() {
        let mut buf = [0u8; 64];
        let mut w = AttrWriter::new(&mut buf);
        w.put_u32(Attr::Port.to_raw(), 1).unwrap();
        w.put_bytes(Attr::Payload.to_raw(), b"abc").unwrap();
        w.put_u32(Attr::MAX + 1, 7).unwrap();
        // Carried by other messages, not this one: ignored, whatever its value.
        w.put_bytes(Attr::Cookie.to_raw(), b"x").unwrap();
        w.put_u32(Attr::Port.to_raw(), 2).unwrap();
        let len = w.len();
        let n = m::UnicastMsgNtf::parse(&buf[..len]).unwrap();
        assert_eq!(n.port, Some(2));
        assert_eq!(n.payload, Some(&b"abc"[..]));
        assert_eq!(n.missed, None);
        // A truncated stream fails as a whole.
        assert!(m::UnicastMsgNtf::parse(&buf[..len - 2]).is_err());
        // So does a stream broken after everything the message carries.
        assert!(m::SendFailedNtf::parse(&buf[..len - 2]).is_err());
    }

    #[test]
    fn any_occurrence_of_a_carried_attribute_must_fit_its_type() {
        let mut buf = [0u8; 64];
        let mut w = AttrWriter::new(&mut buf);
        w.put_bytes(Attr::Port.to_raw(), b"abc").unwrap();
        w.put_u32(Attr::Port.to_raw(), 2).unwrap();
        let len = w.len();
        assert_eq!(
            m::UnicastMsgNtf::parse(&buf[..len]),
            Err(WireError::BadAttribute(Attr::Port.to_raw()))
        );
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
        5, 3, 0, 0, // IPCON_CMD_UNICAST, version 3
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

    /// A post reserves the stamp-room the module may forward it with; the other requests
    /// of the unicast command do not (the module builds their deliveries).
    #[test]
    fn a_post_carries_a_stamp_room() {
        let post = Request::PostUnicast {
            to: PeerRef::Port(9),
            payload: b"hi",
            ticket: 4,
        };
        let plain = Request::Unicast {
            to: PeerRef::Port(9),
            payload: b"hi",
        };
        let mut buf = [0u8; 256];
        let n = post.emit(&post.header(FAMILY, 4, 0), &mut buf).unwrap();
        assert_eq!(
            n,
            plain.buffer_len() + attr_size(4) + attr_size(STAMP_ROOM_LEN)
        );
        let attrs = &buf[netlink::HEADER_LEN + genl::HEADER_LEN..n];
        let rooms: std::vec::Vec<_> = Attributes::new(attrs)
            .map(|a| a.unwrap())
            .filter(|a| a.kind() == Attr::StampRoom.to_raw())
            .collect();
        assert_eq!(rooms.len(), 1);
        assert_eq!(rooms[0].value(), &[0u8; STAMP_ROOM_LEN][..]);
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(Request::parse(&p), Ok(post));
        let n = plain.emit(&plain.header(FAMILY, 4, 0), &mut buf).unwrap();
        let attrs = &buf[netlink::HEADER_LEN + genl::HEADER_LEN..n];
        assert!(Attributes::new(attrs).all(|a| a.unwrap().kind() != Attr::StampRoom.to_raw()));
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
            overrun: None,
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
        // A unicast-msg delivery without port.
        let mut buf = [0u8; 64];
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        hdr.emit(4 + 8, &mut buf).unwrap();
        GenlHeaderRepr {
            command: Command::UnicastMsg.to_raw(),
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

    /// The attributes a message emits.
    fn emitted(body: &dyn MessageAttrs) -> heapless::Vec<Attr, 32> {
        let mut buf = [0u8; 256];
        let mut w = AttrWriter::new(&mut buf);
        body.emit_attrs(&mut w).unwrap();
        let len = w.len();
        assert_eq!(len, body.attrs_len());
        let mut out = heapless::Vec::new();
        for attr in Attributes::new(&buf[..len]) {
            let a = Attr::from_raw(attr.unwrap().kind());
            if !out.contains(&a) {
                out.push(a).unwrap();
            }
        }
        out
    }

    fn same_set(got: &[Attr], want: &[Attr]) -> bool {
        got.len() == want.len() && got.iter().all(|a| want.contains(a))
    }

    /// Attributes the kernel sends that these types do not carry yet: the peer's
    /// access rule in peer-get (issue 17; the e2e tests read them raw). And request
    /// attributes no [`Request`] sends yet: packed deliveries and packs (the generated
    /// structs have them; the requests that use them come next). Each is listed by the
    /// YAML for its message.
    const NOT_CARRIED_YET: [(Command, Attr); 2] = [
        (Command::PeerGet, Attr::Access),
        (Command::PeerGet, Attr::Gid),
    ];

    /// `want` without what [`NOT_CARRIED_YET`] lists for `command`.
    fn carried(command: Command, want: &[Attr]) -> heapless::Vec<Attr, 32> {
        want.iter()
            .copied()
            .filter(|a| !NOT_CARRIED_YET.contains(&(command, *a)))
            .collect()
    }

    /// What `Request::parse` accepts, `Request::emit` writes again (the fuzz target
    /// `request` found a pack whose entries parse refused only at emit).
    #[test]
    fn a_pack_with_a_malformed_entry_does_not_parse() {
        let mut buf = [0u8; 128];
        let hdr = NetlinkHeaderRepr {
            message_type: 0x1a,
            flags: NetlinkFlags::REQUEST,
            seq: 1,
            port_id: 0,
        };
        // An entry whose payload attribute claims more bytes than it has.
        let bad: &[u8] = &[12, 0, 0, 0x80, 12, 0, 1, 0, b'x', 0, 0, 0];
        let request = Request::UnicastPack {
            to: PeerRef::Port(5),
            pack: bad,
        };
        assert!(request.emit(&hdr, &mut buf).is_err());
        // The same bytes as the kernel side would receive them.
        let written = emit_message(
            &m::UnicastRequest {
                port: Some(5),
                pack: Some(bad),
                ..Default::default()
            },
            &hdr,
            &mut buf,
        )
        .unwrap();
        let packet = NetlinkPacket::new_checked(&buf[..written]).unwrap();
        assert!(Request::parse(&packet).is_err());
        // A good pack round-trips.
        let mut entry = [0u8; 16];
        let n = crate::wire::pack::emit_entry(0, b"ok", &mut entry).unwrap();
        let good = Request::UnicastPack {
            to: PeerRef::Port(5),
            pack: &entry[..n],
        };
        let written = good.emit(&hdr, &mut buf).unwrap();
        let packet = NetlinkPacket::new_checked(&buf[..written]).unwrap();
        assert_eq!(Request::parse(&packet).unwrap(), good);
    }

    /// The library's messages use every attribute `kmod/ipcon.yaml` lists for each
    /// operation (the generated structs make more impossible), dumps a subset (their
    /// filters are optional): an attribute the mapping forgets fails here.
    #[test]
    fn messages_use_exactly_the_yaml_attributes() {
        let n = name("n");
        let payload = b"p";
        let mut entry = [0u8; 16];
        let entry_len = crate::wire::pack::emit_entry(0, payload, &mut entry).unwrap();
        let pack = &entry[..entry_len];
        // Requests: the union over variants of one command (PeerRef by name or port).
        let requests: [&[Request<'_>]; 14] = [
            &[
                Request::PeerRegister { name: Some(n) },
                Request::PeerRegisterRestricted {
                    name: None,
                    access: GroupAccess::Gid,
                    gid: Some(1),
                },
            ],
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
                Request::UnicastExpecting {
                    to: PeerRef::Name(n),
                    payload,
                    uid: 0,
                },
                Request::UnicastPack {
                    to: PeerRef::Name(n),
                    pack,
                },
            ],
            &[Request::GroupRegister {
                group: n,
                access: Some(GroupAccess::Gid),
                gid: Some(1),
            }],
            &[Request::GroupUnregister { group: n }],
            &[
                Request::GroupJoin {
                    owner: n,
                    group: n,
                    replay_last: true,
                },
                Request::GroupJoinExpecting {
                    owner: n,
                    group: n,
                    replay_last: false,
                    uid: 0,
                },
            ],
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
                Request::MulticastPack {
                    group: n,
                    pack,
                    sync: true,
                },
            ],
            &[
                Request::PolicyRule {
                    count: 1,
                    index: 0,
                    pattern: name("svc*"),
                    uid: Some(0),
                    gid: Some(0),
                },
                Request::PolicyClear,
            ],
        ];
        for variants in requests {
            let mut union: heapless::Vec<Attr, 32> = heapless::Vec::new();
            for r in variants {
                for a in r.with_attrs(emitted) {
                    if !union.contains(&a) {
                        union.push(a).unwrap();
                    }
                }
            }
            let r = &variants[0];
            if r.is_dump() {
                let want = r.command().dump_request_attrs();
                assert!(union.iter().all(|a| want.contains(a)), "{r:?}: {union:?}");
            } else {
                let want = carried(r.command(), r.command().request_attrs());
                assert!(
                    same_set(&union, &want),
                    "{r:?}: emits {union:?}, YAML lists {want:?}"
                );
            }
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
            &emitted(&reg.as_wire()),
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
        assert!(same_set(
            &emitted(&info.as_wire()),
            &carried(Command::PeerGet, Command::PeerGet.reply_attrs())
        ));
        assert!(same_set(
            &emitted(&info.as_wire()),
            &carried(Command::PeerGet, Command::PeerGet.dump_reply_attrs())
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
        assert!(same_set(
            &emitted(&group.as_wire()),
            Command::GroupGet.reply_attrs()
        ));
        assert!(same_set(
            &emitted(&group.as_wire()),
            Command::GroupGet.dump_reply_attrs()
        ));
        assert!(same_set(
            &emitted(&MulticastOutcome::new(1, 2).as_wire()),
            Command::Multicast.reply_attrs()
        ));
        let unicast = UnicastDelivery {
            sender,
            payload,
            missed: 1,
            overrun: Some(Overrun {
                refused: 1,
                filled_by: Some(OverrunSender { port: 2, uid: 3 }),
            }),
        };
        assert!(same_set(
            &emitted(&unicast.as_wire()),
            &carried(Command::UnicastMsg, Command::UnicastMsg.event_attrs())
        ));
        let grp = GroupDelivery {
            sender,
            group: n,
            payload,
            missed: 1,
            replayed: true,
            overrun: Some(Overrun {
                refused: 1,
                filled_by: Some(OverrunSender { port: 2, uid: 3 }),
            }),
        };
        assert!(same_set(
            &emitted(&grp.as_wire()),
            &carried(Command::GroupMsg, Command::GroupMsg.event_attrs())
        ));
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
            for a in emitted(&KeventMessage::new(Kevent { seq: 1, kind }).as_wire()) {
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
            for a in emitted(&failure.as_wire()) {
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
    fn ownership_requests_round_trip() {
        let n = name("svc");
        for req in [
            Request::PeerRegisterRestricted {
                name: Some(n),
                access: GroupAccess::SameUid,
                gid: None,
            },
            Request::PeerRegisterRestricted {
                name: None,
                access: GroupAccess::Gid,
                gid: Some(7),
            },
            Request::UnicastExpecting {
                to: PeerRef::Name(n),
                payload: b"x",
                uid: 0,
            },
            Request::GroupJoinExpecting {
                owner: n,
                group: name("g"),
                replay_last: true,
                uid: 1000,
            },
            Request::PolicyRule {
                count: 2,
                index: 1,
                pattern: name("net.*"),
                uid: None,
                gid: Some(100),
            },
            Request::PolicyClear,
        ] {
            let hdr = req.header(FAMILY, 1, 0);
            assert!(hdr.flags.contains(NetlinkFlags::ACK), "{req:?}");
            let mut buf = [0u8; 128];
            let len = req.emit(&hdr, &mut buf).unwrap();
            assert_eq!(len, req.buffer_len());
            let p = NetlinkPacket::new_checked(&buf[..len]).unwrap();
            assert_eq!(Request::parse(&p), Ok(req));
        }
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
                w.put_u32(Attr::Error.to_raw(), 2).unwrap();
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
            Err(WireError::MissingAttribute(Attr::Error.to_raw()))
        );
        let len = notice(
            |w| {
                w.put_u32(Attr::Ticket.to_raw(), 7).unwrap();
                w.put_u16(Attr::Error.to_raw(), 2).unwrap();
            },
            &mut buf,
        );
        let p = NetlinkPacket::new_checked(&buf[..len]).unwrap();
        assert_eq!(
            parse_incoming(&p, FAMILY),
            Err(WireError::BadAttribute(Attr::Error.to_raw()))
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
