//! The ipcon protocol of `kmod/ipcon.yaml`, in Rust: constants, enums, attributes,
//! commands, the attribute lists of every operation and the multicast groups.
//!
//! Generated from `kmod/ipcon.yaml` by `cargo xtask codegen` — do not edit.

/// Name of the generic netlink family.
///
/// ipcon: packet-based IPC between local processes over generic netlink.
/// A process opens two generic netlink sockets: a data socket, on which the kernel
/// delivers messages and which is the peer's identity (its port), and a control
/// socket for requests and their acknowledgements, attached to the peer with the
/// cookie that peer-register returned. A single socket may serve as both.
/// Peers have unique names per network namespace (or are anonymous), send unicast
/// messages to each other by name or port, own named groups whose messages the
/// kernel fans out to subscribers, and learn of peers and groups coming and going
/// from kernel events on the multicast group "kevent".
/// Every delivered message is stamped by the kernel with the sender's port, name,
/// pid and uid. Nothing is lost silently: a unicast sender gets an errno when the
/// receiver's queue is full (a posted request, one with a ticket, gets a
/// send-failed notification instead); a subscriber whose queue overflowed is told
/// how many messages it missed with its next delivery; kernel events carry a
/// sequence number, so a gap shows how many were missed.
pub const FAMILY_NAME: &str = "ipcon";

/// Protocol version, also the family's generic netlink version. User space
/// refuses a module that reports another one.
pub const VERSION: u8 = 3;

/// Size of a name buffer including its NUL; names are 1..31 bytes.
pub const MAX_NAME_LEN: usize = 32;

/// Largest payload; the module parameter max_payload may lower it at load time.
pub const MAX_PAYLOAD_LEN: usize = 2048;

/// Largest datagram the module queues to a data socket: a receive buffer of
/// this size holds any delivery, a pack of deliveries included.
pub const MAX_DELIVERY_LEN: usize = 2560;

/// Bytes of a unicast's stamp-room: room for the attributes the module
/// stamps a delivery with (a name of max-name-len bytes, port, pid, uid).
pub const STAMP_ROOM_LEN: usize = 60;

/// Most messages one pack carries.
pub const MAX_PACK: usize = 64;

/// Most rules a network namespace's ownership policy holds.
pub const MAX_POLICY_RULES: usize = 256;

bitflags::bitflags! {
    /// Properties of a peer, reported by peer-get and kernel events.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct PeerFlags: u32 {
        /// The peer registered without a name; it is reachable by port only.
        const ANONYMOUS = 1;
        /// The peer's data socket takes packed deliveries: several messages in one
        /// datagram (peer-register with packed).
        const PACKED = 2;
    }
}

/// Who may join a group (group-register) or send to a peer (peer-register).
/// The default is open. CAP_NET_ADMIN over the network namespace passes
/// every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GroupAccess {
    /// Any peer in the network namespace may.
    Open,
    /// Only a process with the owner's effective uid may.
    SameUid,
    /// Only a process in group gid (effective or supplementary) may.
    Gid,
    /// A value this version of the protocol does not know.
    Unknown(u32),
}

impl GroupAccess {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [GroupAccess; 3] = [Self::Open, Self::SameUid, Self::Gid];

    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Open,
            2 => Self::SameUid,
            3 => Self::Gid,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::Open => 1,
            Self::SameUid => 2,
            Self::Gid => 3,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Open => Some("open"),
            Self::SameUid => Some("same-uid"),
            Self::Gid => Some("gid"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u32> for GroupAccess {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl From<GroupAccess> for u32 {
    fn from(value: GroupAccess) -> Self {
        value.to_raw()
    }
}

/// What a kernel event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeventType {
    /// A peer registered (named or anonymous).
    PeerAdd,
    /// A peer is gone; its name is free again. Sent after the group-remove
    /// events of all the groups it owned.
    PeerRemove,
    /// A peer registered a group.
    GroupAdd,
    /// A group is gone (unregistered, or its owner is gone).
    GroupRemove,
    /// A value this version of the protocol does not know.
    Unknown(u32),
}

impl KeventType {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [KeventType; 4] = [
        Self::PeerAdd,
        Self::PeerRemove,
        Self::GroupAdd,
        Self::GroupRemove,
    ];

    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::PeerAdd,
            2 => Self::PeerRemove,
            3 => Self::GroupAdd,
            4 => Self::GroupRemove,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::PeerAdd => 1,
            Self::PeerRemove => 2,
            Self::GroupAdd => 3,
            Self::GroupRemove => 4,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::PeerAdd => Some("peer-add"),
            Self::PeerRemove => Some("peer-remove"),
            Self::GroupAdd => Some("group-add"),
            Self::GroupRemove => Some("group-remove"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u32> for KeventType {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl From<KeventType> for u32 {
    fn from(value: KeventType) -> Self {
        value.to_raw()
    }
}

/// Why a peer or group was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RemoveReason {
    /// Explicitly unregistered by its owner (peer-unregister, group-unregister).
    Unregistered,
    /// The owner's socket was released without unregistering: the process
    /// exited or was killed.
    Closed,
    /// A value this version of the protocol does not know.
    Unknown(u32),
}

impl RemoveReason {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [RemoveReason; 2] = [Self::Unregistered, Self::Closed];

    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Unregistered,
            2 => Self::Closed,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::Unregistered => 1,
            Self::Closed => 2,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Unregistered => Some("unregistered"),
            Self::Closed => Some("closed"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u32> for RemoveReason {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl From<RemoveReason> for u32 {
    fn from(value: RemoveReason) -> Self {
        value.to_raw()
    }
}

/// First byte (0xca) of a call header. A call (request/response, see
/// docs/protocol.md "Calls") is a unicast whose payload starts with the call
/// header; the kernel does not look inside payloads. The header, 12 bytes in
/// host byte order: magic u8, kind u8 (call-kind), status u8 (call-status, 0 in
/// a request), method-len u8 (1..31 in a request, 0 in a reply), call-id u32
/// (nonzero, chosen by the caller, carried back by the reply), timeout-ms u32
/// (how long the caller waits, 0 for no limit; 0 in a reply); then the method
/// name (method-len bytes, the rules of a peer name) and the payload.
pub const CALL_MAGIC: usize = 202;

/// Size of the fixed part of a call header, before the method name.
pub const CALL_HEADER_LEN: usize = 12;

/// What a call message is (second byte of the call header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallKind {
    /// Call a method; the callee answers with exactly one reply.
    Request,
    /// The answer to the request with the same call id.
    Reply,
    /// A value this version of the protocol does not know.
    Unknown(u32),
}

impl CallKind {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [CallKind; 2] = [Self::Request, Self::Reply];

    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Request,
            2 => Self::Reply,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::Request => 1,
            Self::Reply => 2,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Request => Some("request"),
            Self::Reply => Some("reply"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u32> for CallKind {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl From<CallKind> for u32 {
    fn from(value: CallKind) -> Self {
        value.to_raw()
    }
}

/// How a call went (third byte of a reply's call header). Any status but ok
/// carries a UTF-8 text saying why as its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallStatus {
    /// The method ran; the payload is its result.
    Ok,
    /// The callee has no method of that name.
    UnknownMethod,
    /// The request's call header did not parse.
    BadRequest,
    /// The callee's queue of requests is full; try again later.
    Busy,
    /// The method failed (or ended without answering).
    Failed,
    /// A value this version of the protocol does not know.
    Unknown(u32),
}

impl CallStatus {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [CallStatus; 5] = [
        Self::Ok,
        Self::UnknownMethod,
        Self::BadRequest,
        Self::Busy,
        Self::Failed,
    ];

    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            0 => Self::Ok,
            1 => Self::UnknownMethod,
            2 => Self::BadRequest,
            3 => Self::Busy,
            4 => Self::Failed,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::Ok => 0,
            Self::UnknownMethod => 1,
            Self::BadRequest => 2,
            Self::Busy => 3,
            Self::Failed => 4,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Ok => Some("ok"),
            Self::UnknownMethod => Some("unknown-method"),
            Self::BadRequest => Some("bad-request"),
            Self::Busy => Some("busy"),
            Self::Failed => Some("failed"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u32> for CallStatus {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl From<CallStatus> for u32 {
    fn from(value: CallStatus) -> Self {
        value.to_raw()
    }
}

/// The generic netlink multicast group `kevent`.
pub const MCGRP_KEVENT: &str = "kevent";

/// The generic netlink multicast groups of the family.
pub const MCAST_GROUPS: [&str; 1] = ["kevent"];

/// How an attribute's value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AttrType {
    /// A NUL-terminated string.
    String,
    /// Raw bytes.
    Binary,
    /// A native-endian `u32`.
    U32,
    /// A native-endian `u64`.
    U64,
    /// Present or absent; no value.
    Flag,
    /// Alignment padding; carries nothing.
    Pad,
    /// A nest (`NLA_F_NESTED`) of entries numbered by their index, each a nest of
    /// the attributes of a nested set.
    IndexedArray,
}

/// The attribute space of the family's messages (pack-entry nests in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Attr {
    /// A peer name: 1..31 bytes of printable ASCII (0x20..0x7e) other than
    /// '/', NUL-terminated. The destination in unicast; the sender in deliveries; the
    /// group owner in group commands; a filter in dumps.
    PeerName,
    /// A group name, same rules as peer-name.
    GroupName,
    /// Message payload, 0..max-payload-len bytes. The module checks the length
    /// against its max_payload parameter itself (not in the attribute policy),
    /// so every oversized payload gets EMSGSIZE with an extended-ACK message.
    Payload,
    /// Netlink port id of a peer's data socket, the peer's identity. A
    /// destination in unicast (instead of peer-name), the sender in
    /// deliveries, a filter in the peer-get dump.
    Port,
    /// Kernel-stamped thread-group id of the sender (or of the peer).
    Pid,
    /// Kernel-stamped uid of the sender (or of the peer).
    Uid,
    /// The group id that group-access gid admits.
    Gid,
    /// Properties of a peer.
    PeerFlags,
    /// Secret returned by peer-register; peer-attach presents it to attach a
    /// control socket to the peer.
    Cookie,
    /// In multicast: reply with delivered and dropped once the fan-out is
    /// done.
    Sync,
    /// In group-join, replay the group's last message to the new subscriber.
    RcvLastMsg,
    /// Marks a group message delivered as a replay of the last message.
    Replayed,
    /// In a delivery: how many messages for this peer were dropped because
    /// its receive queue was full since its previous delivery, failure
    /// notifications (send-failed) that could not be queued included.
    Missed,
    /// In a sync multicast reply, messages queued to subscribers (with one
    /// payload: the subscribers that got it).
    Delivered,
    /// In a sync multicast reply, messages dropped because a subscriber's
    /// queue was full (with one payload: those subscribers).
    Dropped,
    /// Who may join a group (one of group-access).
    Access,
    /// What a kernel event reports.
    KeventType,
    /// Kernel event sequence number, per network namespace, starting at 1
    /// and incremented by one for every event sent.
    KeventSeq,
    /// Why a peer or group was removed.
    Reason,
    /// Number of subscribers of a group.
    Subscribers,
    /// Messages a peer (or group) sent.
    TxMsgs,
    /// Messages queued to a peer.
    RxMsgs,
    /// Messages for a peer dropped because its queue was full.
    RxDropped,
    /// Number of groups a peer owns.
    Groups,
    /// Payload length of a group's cached last message; absent if none.
    LastMsgLen,
    /// Alignment padding for 64-bit attributes.
    Pad,
    /// Chosen by the sender of a unicast or multicast request to post it:
    /// the request wants no ACK, and a failure comes back as a send-failed
    /// notification carrying the same ticket. Not allowed together with sync.
    Ticket,
    /// In send-failed, the positive errno the request failed with. (Not
    /// named errno: C code generated from this spec would clash with the
    /// errno macro.)
    Error,
    /// In send-failed, the module's explanation of the failure (the text an
    /// extended ACK would have carried), when it has one.
    ErrorMsg,
    /// In unicast and group-join: the uid the receiving peer (the group's
    /// owner) must have, as stamps give uids; another owner's peer gets
    /// EPERM and nothing is delivered or joined.
    ExpectUid,
    /// In a delivery: how many unicast messages to this peer were refused
    /// (their senders got EAGAIN) because its receive queue was full since
    /// its previous delivery.
    Overrun,
    /// In a delivery after an overflow of the receiver's queue (overrun or
    /// missed): the port of the sender most of the queued messages came
    /// from when the queue overflowed.
    OverrunPort,
    /// The uid of that sender, as stamps give uids.
    OverrunUid,
    /// In policy-load: how many rules the policy has (0: no policy).
    RuleCount,
    /// In policy-load, which rule of the policy this request carries, from 0.
    RuleIndex,
    /// In policy-load, the peer names a rule applies to: a name in which '*'
    /// matches any run of characters (also none) and '?' any one character.
    NamePattern,
    /// In peer-register: the data socket takes packed deliveries, several
    /// messages in one datagram, each a complete unicast-msg or group-msg
    /// netlink message, no datagram longer than max-delivery-len.
    Packed,
    /// In unicast and multicast, instead of payload: 1..max-pack messages to
    /// the same destination, in order, each entry with its payload. A
    /// receiver that registered packed gets them in one datagram (at most
    /// max-delivery-len bytes, else EMSGSIZE), all or none; a subscriber
    /// that did not gets them one per datagram; a unicast to a receiver that
    /// did not is EOPNOTSUPP. An empty pack counts as absent (YNL's generated
    /// user code always puts the attribute).
    Pack,
    /// In a posted unicast (one with ticket, without NLM_F_ACK) with payload:
    /// exactly stamp-room-len bytes (any content) that the module may
    /// overwrite with the sender's stamp, so that it queues the request's
    /// own buffer to the receiver as the unicast-msg instead of a copy. The
    /// receiver then also sees the request's other attributes, turned into
    /// pad. Optional: without it (or when the request cannot be forwarded)
    /// the module builds the delivery.
    StampRoom,
    /// An attribute number this version of the protocol does not know.
    Unknown(u16),
}

impl Attr {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [Attr; 39] = [
        Self::PeerName,
        Self::GroupName,
        Self::Payload,
        Self::Port,
        Self::Pid,
        Self::Uid,
        Self::Gid,
        Self::PeerFlags,
        Self::Cookie,
        Self::Sync,
        Self::RcvLastMsg,
        Self::Replayed,
        Self::Missed,
        Self::Delivered,
        Self::Dropped,
        Self::Access,
        Self::KeventType,
        Self::KeventSeq,
        Self::Reason,
        Self::Subscribers,
        Self::TxMsgs,
        Self::RxMsgs,
        Self::RxDropped,
        Self::Groups,
        Self::LastMsgLen,
        Self::Pad,
        Self::Ticket,
        Self::Error,
        Self::ErrorMsg,
        Self::ExpectUid,
        Self::Overrun,
        Self::OverrunPort,
        Self::OverrunUid,
        Self::RuleCount,
        Self::RuleIndex,
        Self::NamePattern,
        Self::Packed,
        Self::Pack,
        Self::StampRoom,
    ];

    /// The value of a wire number.
    pub const fn from_raw(raw: u16) -> Self {
        match raw {
            1 => Self::PeerName,
            2 => Self::GroupName,
            3 => Self::Payload,
            4 => Self::Port,
            5 => Self::Pid,
            6 => Self::Uid,
            7 => Self::Gid,
            8 => Self::PeerFlags,
            9 => Self::Cookie,
            10 => Self::Sync,
            11 => Self::RcvLastMsg,
            12 => Self::Replayed,
            13 => Self::Missed,
            14 => Self::Delivered,
            15 => Self::Dropped,
            16 => Self::Access,
            17 => Self::KeventType,
            18 => Self::KeventSeq,
            19 => Self::Reason,
            20 => Self::Subscribers,
            21 => Self::TxMsgs,
            22 => Self::RxMsgs,
            23 => Self::RxDropped,
            24 => Self::Groups,
            25 => Self::LastMsgLen,
            26 => Self::Pad,
            27 => Self::Ticket,
            28 => Self::Error,
            29 => Self::ErrorMsg,
            30 => Self::ExpectUid,
            31 => Self::Overrun,
            32 => Self::OverrunPort,
            33 => Self::OverrunUid,
            34 => Self::RuleCount,
            35 => Self::RuleIndex,
            36 => Self::NamePattern,
            37 => Self::Packed,
            38 => Self::Pack,
            39 => Self::StampRoom,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u16 {
        match self {
            Self::PeerName => 1,
            Self::GroupName => 2,
            Self::Payload => 3,
            Self::Port => 4,
            Self::Pid => 5,
            Self::Uid => 6,
            Self::Gid => 7,
            Self::PeerFlags => 8,
            Self::Cookie => 9,
            Self::Sync => 10,
            Self::RcvLastMsg => 11,
            Self::Replayed => 12,
            Self::Missed => 13,
            Self::Delivered => 14,
            Self::Dropped => 15,
            Self::Access => 16,
            Self::KeventType => 17,
            Self::KeventSeq => 18,
            Self::Reason => 19,
            Self::Subscribers => 20,
            Self::TxMsgs => 21,
            Self::RxMsgs => 22,
            Self::RxDropped => 23,
            Self::Groups => 24,
            Self::LastMsgLen => 25,
            Self::Pad => 26,
            Self::Ticket => 27,
            Self::Error => 28,
            Self::ErrorMsg => 29,
            Self::ExpectUid => 30,
            Self::Overrun => 31,
            Self::OverrunPort => 32,
            Self::OverrunUid => 33,
            Self::RuleCount => 34,
            Self::RuleIndex => 35,
            Self::NamePattern => 36,
            Self::Packed => 37,
            Self::Pack => 38,
            Self::StampRoom => 39,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::PeerName => Some("peer-name"),
            Self::GroupName => Some("group-name"),
            Self::Payload => Some("payload"),
            Self::Port => Some("port"),
            Self::Pid => Some("pid"),
            Self::Uid => Some("uid"),
            Self::Gid => Some("gid"),
            Self::PeerFlags => Some("peer-flags"),
            Self::Cookie => Some("cookie"),
            Self::Sync => Some("sync"),
            Self::RcvLastMsg => Some("rcv-last-msg"),
            Self::Replayed => Some("replayed"),
            Self::Missed => Some("missed"),
            Self::Delivered => Some("delivered"),
            Self::Dropped => Some("dropped"),
            Self::Access => Some("access"),
            Self::KeventType => Some("kevent-type"),
            Self::KeventSeq => Some("kevent-seq"),
            Self::Reason => Some("reason"),
            Self::Subscribers => Some("subscribers"),
            Self::TxMsgs => Some("tx-msgs"),
            Self::RxMsgs => Some("rx-msgs"),
            Self::RxDropped => Some("rx-dropped"),
            Self::Groups => Some("groups"),
            Self::LastMsgLen => Some("last-msg-len"),
            Self::Pad => Some("pad"),
            Self::Ticket => Some("ticket"),
            Self::Error => Some("error"),
            Self::ErrorMsg => Some("error-msg"),
            Self::ExpectUid => Some("expect-uid"),
            Self::Overrun => Some("overrun"),
            Self::OverrunPort => Some("overrun-port"),
            Self::OverrunUid => Some("overrun-uid"),
            Self::RuleCount => Some("rule-count"),
            Self::RuleIndex => Some("rule-index"),
            Self::NamePattern => Some("name-pattern"),
            Self::Packed => Some("packed"),
            Self::Pack => Some("pack"),
            Self::StampRoom => Some("stamp-room"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u16> for Attr {
    fn from(raw: u16) -> Self {
        Self::from_raw(raw)
    }
}

impl From<Attr> for u16 {
    fn from(value: Attr) -> Self {
        value.to_raw()
    }
}

impl Attr {
    /// The highest attribute number.
    pub const MAX: u16 = 39;

    /// How the value is encoded (`None` for an unknown attribute).
    pub const fn value_type(self) -> Option<AttrType> {
        match self {
            Self::PeerName => Some(AttrType::String),
            Self::GroupName => Some(AttrType::String),
            Self::Payload => Some(AttrType::Binary),
            Self::Port => Some(AttrType::U32),
            Self::Pid => Some(AttrType::U32),
            Self::Uid => Some(AttrType::U32),
            Self::Gid => Some(AttrType::U32),
            Self::PeerFlags => Some(AttrType::U32),
            Self::Cookie => Some(AttrType::U64),
            Self::Sync => Some(AttrType::Flag),
            Self::RcvLastMsg => Some(AttrType::Flag),
            Self::Replayed => Some(AttrType::Flag),
            Self::Missed => Some(AttrType::U32),
            Self::Delivered => Some(AttrType::U32),
            Self::Dropped => Some(AttrType::U32),
            Self::Access => Some(AttrType::U32),
            Self::KeventType => Some(AttrType::U32),
            Self::KeventSeq => Some(AttrType::U64),
            Self::Reason => Some(AttrType::U32),
            Self::Subscribers => Some(AttrType::U32),
            Self::TxMsgs => Some(AttrType::U64),
            Self::RxMsgs => Some(AttrType::U64),
            Self::RxDropped => Some(AttrType::U64),
            Self::Groups => Some(AttrType::U32),
            Self::LastMsgLen => Some(AttrType::U32),
            Self::Pad => Some(AttrType::Pad),
            Self::Ticket => Some(AttrType::U32),
            Self::Error => Some(AttrType::U32),
            Self::ErrorMsg => Some(AttrType::String),
            Self::ExpectUid => Some(AttrType::U32),
            Self::Overrun => Some(AttrType::U32),
            Self::OverrunPort => Some(AttrType::U32),
            Self::OverrunUid => Some(AttrType::U32),
            Self::RuleCount => Some(AttrType::U32),
            Self::RuleIndex => Some(AttrType::U32),
            Self::NamePattern => Some(AttrType::String),
            Self::Packed => Some(AttrType::Flag),
            Self::Pack => Some(AttrType::IndexedArray),
            Self::StampRoom => Some(AttrType::Binary),
            Self::Unknown(_) => None,
        }
    }

    /// Smallest value length the kernel accepts (strings: without the NUL).
    pub const fn min_len(self) -> Option<usize> {
        match self {
            Self::PeerName => Some(1),
            Self::GroupName => Some(1),
            Self::NamePattern => Some(1),
            _ => None,
        }
    }

    /// Largest value length the kernel accepts (strings: without the NUL).
    pub const fn max_len(self) -> Option<usize> {
        match self {
            Self::PeerName => Some(31),
            Self::GroupName => Some(31),
            Self::NamePattern => Some(31),
            Self::StampRoom => Some(60),
            _ => None,
        }
    }

    /// Inclusive range of values the kernel accepts, where it checks one (an enum attribute admits its values).
    pub const fn range(self) -> Option<(u64, u64)> {
        match self {
            Self::Access => Some((1, 3)),
            Self::KeventType => Some((1, 4)),
            Self::Reason => Some((1, 2)),
            Self::RuleCount => Some((0, 256)),
            Self::RuleIndex => Some((0, 255)),
            _ => None,
        }
    }

    /// The flags the kernel accepts, for an attribute holding a flags mask.
    pub const fn mask(self) -> Option<u32> {
        match self {
            Self::PeerFlags => Some(0x3),
            _ => None,
        }
    }
}

/// One message of a pack.
///
/// The attribute set `pack-entry`, nested in [`Attr::Pack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PackEntryAttr {
    /// The message's payload, 0..max-payload-len bytes, as payload.
    Payload,
    /// An attribute number this version of the protocol does not know.
    Unknown(u16),
}

impl PackEntryAttr {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [PackEntryAttr; 1] = [Self::Payload];

    /// The value of a wire number.
    pub const fn from_raw(raw: u16) -> Self {
        match raw {
            1 => Self::Payload,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u16 {
        match self {
            Self::Payload => 1,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Payload => Some("payload"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u16> for PackEntryAttr {
    fn from(raw: u16) -> Self {
        Self::from_raw(raw)
    }
}

impl From<PackEntryAttr> for u16 {
    fn from(value: PackEntryAttr) -> Self {
        value.to_raw()
    }
}

impl PackEntryAttr {
    /// The highest attribute number.
    pub const MAX: u16 = 1;

    /// How the value is encoded (`None` for an unknown attribute).
    pub const fn value_type(self) -> Option<AttrType> {
        match self {
            Self::Payload => Some(AttrType::Binary),
            Self::Unknown(_) => None,
        }
    }

    /// Smallest value length the kernel accepts (strings: without the NUL).
    pub const fn min_len(self) -> Option<usize> {
        let _ = self;
        None
    }

    /// Largest value length the kernel accepts (strings: without the NUL).
    pub const fn max_len(self) -> Option<usize> {
        let _ = self;
        None
    }

    /// Inclusive range of values the kernel accepts, where it checks one (an enum attribute admits its values).
    pub const fn range(self) -> Option<(u64, u64)> {
        let _ = self;
        None
    }

    /// The flags the kernel accepts, for an attribute holding a flags mask.
    pub const fn mask(self) -> Option<u32> {
        let _ = self;
        None
    }
}

/// A generic netlink command of the family (the `cmd` of the generic netlink header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// Register the sending socket as a peer's data socket, named (peer-name)
    /// or anonymous (no peer-name); access (and gid) say who may send to it
    /// (default open); packed says its data socket takes packed deliveries. Errors: EEXIST name taken, EACCES name reserved for
    /// other users by the namespace's policy, EALREADY socket already
    /// registered, EINVAL bad name, ENOSPC peer limit reached.
    PeerRegister,
    /// Attach the sending socket as the control socket of the peer whose
    /// cookie it presents (cookie is required). Errors: ENOENT no such cookie,
    /// EALREADY socket already in use.
    PeerAttach,
    /// Remove the sending socket's peer (and its groups and memberships); the
    /// kernel events say reason unregistered. Takes no attributes.
    PeerUnregister,
    /// Look a peer up by exactly one of peer-name or port (do: ENOENT when
    /// absent), or list the peers of the network namespace (dump), only those
    /// matching peer-name and port where given. Needs no registration.
    PeerGet,
    /// Send payload, or a pack of messages, (exactly one) to the peer named
    /// peer-name or at port (exactly one). The receiver gets a unicast-msg
    /// per message. Errors: ENOENT no such peer,
    /// EACCES the receiver's access rule refuses the sender, EPERM the
    /// receiver's uid is not expect-uid, EAGAIN receiver queue full, EMSGSIZE
    /// payload (or pack) too big, EOPNOTSUPP a pack to a receiver that did not
    /// register packed, ENOTCONN sender not registered. With ticket the
    /// request is posted: errors other than ENOTCONN, missing attributes and
    /// policy errors come back as send-failed.
    Unicast,
    /// Register a group (group-name required) owned by the sender, with
    /// optional access control. Errors: EEXIST, EINVAL, ENOSPC groups-per-peer
    /// limit.
    GroupRegister,
    /// Unregister one of the sender's groups (group-name required);
    /// subscribers are dropped.
    GroupUnregister,
    /// Subscribe the sender to group-name owned by peer-name (both required),
    /// optionally with a replay of the last message. Errors: ENOENT, EACCES
    /// access denied, EPERM the owner's uid is not expect-uid, EALREADY
    /// already a member, ENOSPC subscription limit.
    GroupJoin,
    /// Unsubscribe the sender from group-name owned by peer-name (both
    /// required).
    GroupLeave,
    /// Look a group up by owner (peer-name) and group-name, both required (do:
    /// ENOENT when absent), or list groups (dump), only those matching
    /// peer-name and group-name where given.
    GroupGet,
    /// Publish payload, or a pack of messages, (exactly one) to the sender's
    /// group group-name (required): the last message is stored as the group's
    /// last message, and every subscriber is queued a group-msg per message.
    /// With sync the reply says how many messages were queued to subscribers
    /// and how many were dropped because a queue was full. With ticket the request is posted (see unicast); ticket
    /// with sync is EINVAL.
    Multicast,
    /// A kernel event, sent on the multicast group kevent.
    Kevent,
    /// A posted request (one with ticket) of this peer failed inside the
    /// module: queued to the sender's data socket before its sendmsg returns,
    /// instead of an error ACK. Carries the request's ticket, the errno (error), the
    /// module's text when there is one, the target as the request gave it
    /// (peer-name or port, group-name) and, like every delivery, missed.
    SendFailed,
    /// A unicast message, queued to the receiver's data socket and stamped
    /// with the sender.
    UnicastMsg,
    /// A group message, queued to each subscriber's data socket and stamped
    /// with the publisher (the owner); replayed marks the replay on join.
    GroupMsg,
    /// Load the network namespace's ownership policy: which peer names only
    /// some users may register. Needs CAP_NET_ADMIN in the namespace's user
    /// namespace. A policy of rule-count rules comes as rule-count requests
    /// from one socket, rule-index 0, 1, ... in order; the last one replaces
    /// the namespace's policy at once (rule-index 0 starts over). A rule
    /// reserves the names matching name-pattern for uid, for the members of
    /// gid, or for either when both are given; with neither it leaves them
    /// free. A name is judged by the first rule it matches; names no rule
    /// matches are free. rule-count 0 alone removes the policy. Registered
    /// peers keep their names. Errors: EPERM not an administrator, EINVAL
    /// a bad pattern, an unmapped uid or gid, a rule out of order.
    PolicyLoad,
    /// A command number this version of the protocol does not know.
    Unknown(u8),
}

impl Command {
    /// Every value this version of the protocol knows, in wire order.
    pub const ALL: [Command; 16] = [
        Self::PeerRegister,
        Self::PeerAttach,
        Self::PeerUnregister,
        Self::PeerGet,
        Self::Unicast,
        Self::GroupRegister,
        Self::GroupUnregister,
        Self::GroupJoin,
        Self::GroupLeave,
        Self::GroupGet,
        Self::Multicast,
        Self::Kevent,
        Self::SendFailed,
        Self::UnicastMsg,
        Self::GroupMsg,
        Self::PolicyLoad,
    ];

    /// The value of a wire number.
    pub const fn from_raw(raw: u8) -> Self {
        match raw {
            1 => Self::PeerRegister,
            2 => Self::PeerAttach,
            3 => Self::PeerUnregister,
            4 => Self::PeerGet,
            5 => Self::Unicast,
            6 => Self::GroupRegister,
            7 => Self::GroupUnregister,
            8 => Self::GroupJoin,
            9 => Self::GroupLeave,
            10 => Self::GroupGet,
            11 => Self::Multicast,
            12 => Self::Kevent,
            13 => Self::SendFailed,
            14 => Self::UnicastMsg,
            15 => Self::GroupMsg,
            16 => Self::PolicyLoad,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this value.
    pub const fn to_raw(self) -> u8 {
        match self {
            Self::PeerRegister => 1,
            Self::PeerAttach => 2,
            Self::PeerUnregister => 3,
            Self::PeerGet => 4,
            Self::Unicast => 5,
            Self::GroupRegister => 6,
            Self::GroupUnregister => 7,
            Self::GroupJoin => 8,
            Self::GroupLeave => 9,
            Self::GroupGet => 10,
            Self::Multicast => 11,
            Self::Kevent => 12,
            Self::SendFailed => 13,
            Self::UnicastMsg => 14,
            Self::GroupMsg => 15,
            Self::PolicyLoad => 16,
            Self::Unknown(other) => other,
        }
    }

    /// The name the spec gives this value (`None` if unknown).
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::PeerRegister => Some("peer-register"),
            Self::PeerAttach => Some("peer-attach"),
            Self::PeerUnregister => Some("peer-unregister"),
            Self::PeerGet => Some("peer-get"),
            Self::Unicast => Some("unicast"),
            Self::GroupRegister => Some("group-register"),
            Self::GroupUnregister => Some("group-unregister"),
            Self::GroupJoin => Some("group-join"),
            Self::GroupLeave => Some("group-leave"),
            Self::GroupGet => Some("group-get"),
            Self::Multicast => Some("multicast"),
            Self::Kevent => Some("kevent"),
            Self::SendFailed => Some("send-failed"),
            Self::UnicastMsg => Some("unicast-msg"),
            Self::GroupMsg => Some("group-msg"),
            Self::PolicyLoad => Some("policy-load"),
            Self::Unknown(_) => None,
        }
    }
}

impl From<u8> for Command {
    fn from(raw: u8) -> Self {
        Self::from_raw(raw)
    }
}

impl From<Command> for u8 {
    fn from(value: Command) -> Self {
        value.to_raw()
    }
}

impl Command {
    /// The highest command number.
    pub const MAX: u8 = 16;

    /// Attributes of the request (do).
    pub const fn request_attrs(self) -> &'static [Attr] {
        match self {
            Self::PeerRegister => &[Attr::PeerName, Attr::Access, Attr::Gid, Attr::Packed],
            Self::PeerAttach => &[Attr::Cookie],
            Self::PeerGet => &[Attr::PeerName, Attr::Port],
            Self::Unicast => &[
                Attr::PeerName,
                Attr::Port,
                Attr::Payload,
                Attr::Pack,
                Attr::Ticket,
                Attr::ExpectUid,
                Attr::StampRoom,
            ],
            Self::GroupRegister => &[Attr::GroupName, Attr::Access, Attr::Gid],
            Self::GroupUnregister => &[Attr::GroupName],
            Self::GroupJoin => &[
                Attr::PeerName,
                Attr::GroupName,
                Attr::RcvLastMsg,
                Attr::ExpectUid,
            ],
            Self::GroupLeave => &[Attr::PeerName, Attr::GroupName],
            Self::GroupGet => &[Attr::PeerName, Attr::GroupName],
            Self::Multicast => &[
                Attr::GroupName,
                Attr::Payload,
                Attr::Pack,
                Attr::Sync,
                Attr::Ticket,
            ],
            Self::PolicyLoad => &[
                Attr::RuleCount,
                Attr::RuleIndex,
                Attr::NamePattern,
                Attr::Uid,
                Attr::Gid,
            ],
            _ => &[],
        }
    }

    /// Attributes of the reply (do).
    pub const fn reply_attrs(self) -> &'static [Attr] {
        match self {
            Self::PeerRegister => &[Attr::PeerName, Attr::Port, Attr::Cookie],
            Self::PeerGet => &[
                Attr::PeerName,
                Attr::Port,
                Attr::Pid,
                Attr::Uid,
                Attr::PeerFlags,
                Attr::TxMsgs,
                Attr::RxMsgs,
                Attr::RxDropped,
                Attr::Groups,
                Attr::Access,
                Attr::Gid,
            ],
            Self::GroupGet => &[
                Attr::PeerName,
                Attr::Port,
                Attr::GroupName,
                Attr::Access,
                Attr::Gid,
                Attr::Subscribers,
                Attr::TxMsgs,
                Attr::LastMsgLen,
            ],
            Self::Multicast => &[Attr::Delivered, Attr::Dropped],
            _ => &[],
        }
    }

    /// Attributes of the dump request.
    pub const fn dump_request_attrs(self) -> &'static [Attr] {
        match self {
            Self::PeerGet => &[Attr::PeerName, Attr::Port],
            Self::GroupGet => &[Attr::PeerName, Attr::GroupName],
            _ => &[],
        }
    }

    /// Attributes of each dump reply.
    pub const fn dump_reply_attrs(self) -> &'static [Attr] {
        match self {
            Self::PeerGet => &[
                Attr::PeerName,
                Attr::Port,
                Attr::Pid,
                Attr::Uid,
                Attr::PeerFlags,
                Attr::TxMsgs,
                Attr::RxMsgs,
                Attr::RxDropped,
                Attr::Groups,
                Attr::Access,
                Attr::Gid,
            ],
            Self::GroupGet => &[
                Attr::PeerName,
                Attr::Port,
                Attr::GroupName,
                Attr::Access,
                Attr::Gid,
                Attr::Subscribers,
                Attr::TxMsgs,
                Attr::LastMsgLen,
            ],
            _ => &[],
        }
    }

    /// Attributes of the notification the kernel sends with this command.
    pub const fn event_attrs(self) -> &'static [Attr] {
        match self {
            Self::Kevent => &[
                Attr::KeventType,
                Attr::KeventSeq,
                Attr::PeerName,
                Attr::Port,
                Attr::Pid,
                Attr::Uid,
                Attr::PeerFlags,
                Attr::GroupName,
                Attr::Reason,
            ],
            Self::SendFailed => &[
                Attr::Ticket,
                Attr::Error,
                Attr::ErrorMsg,
                Attr::PeerName,
                Attr::Port,
                Attr::GroupName,
                Attr::Missed,
            ],
            Self::UnicastMsg => &[
                Attr::PeerName,
                Attr::Port,
                Attr::Pid,
                Attr::Uid,
                Attr::Payload,
                Attr::Missed,
                Attr::Overrun,
                Attr::OverrunPort,
                Attr::OverrunUid,
            ],
            Self::GroupMsg => &[
                Attr::PeerName,
                Attr::Port,
                Attr::Pid,
                Attr::Uid,
                Attr::GroupName,
                Attr::Payload,
                Attr::Missed,
                Attr::Replayed,
                Attr::Overrun,
                Attr::OverrunPort,
                Attr::OverrunUid,
            ],
            _ => &[],
        }
    }

    /// Whether the command has a do operation (a request user space may send).
    pub const fn has_do(self) -> bool {
        matches!(
            self,
            Self::PeerRegister
                | Self::PeerAttach
                | Self::PeerUnregister
                | Self::PeerGet
                | Self::Unicast
                | Self::GroupRegister
                | Self::GroupUnregister
                | Self::GroupJoin
                | Self::GroupLeave
                | Self::GroupGet
                | Self::Multicast
                | Self::PolicyLoad
        )
    }

    /// Whether the command has a dump operation.
    pub const fn has_dump(self) -> bool {
        matches!(self, Self::PeerGet | Self::GroupGet)
    }

    /// Whether the command is a notification (sent by the kernel only).
    pub const fn is_notification(self) -> bool {
        matches!(
            self,
            Self::Kevent | Self::SendFailed | Self::UnicastMsg | Self::GroupMsg
        )
    }

    /// The multicast group a notification is sent to (`None`: sent to one socket).
    pub const fn mcast_group(self) -> Option<&'static str> {
        match self {
            Self::Kevent => Some(MCGRP_KEVENT),
            _ => None,
        }
    }
}
