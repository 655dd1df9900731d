//! Command and attribute numbers of the ipcon family (`kmod/ipcon.yaml`) and
//! of the kernel's `nlctrl` family.
//!
//! Kept here until `ipcon-core::spec` generates the command and attribute
//! numbers too; the values mirror `kmod/uapi/ipcon.h`.

/// ipcon commands.
pub(crate) mod cmd {
    pub const PEER_REGISTER: u8 = 1;
    pub const PEER_ATTACH: u8 = 2;
    pub const PEER_UNREGISTER: u8 = 3;
    pub const PEER_GET: u8 = 4;
    pub const UNICAST: u8 = 5;
    pub const GROUP_REGISTER: u8 = 6;
    pub const GROUP_UNREGISTER: u8 = 7;
    pub const GROUP_JOIN: u8 = 8;
    pub const GROUP_LEAVE: u8 = 9;
    pub const GROUP_GET: u8 = 10;
    pub const MULTICAST: u8 = 11;
    pub const KEVENT: u8 = 12;
}

/// ipcon attributes.
pub(crate) mod attr {
    pub const PEER_NAME: u16 = 1;
    pub const GROUP_NAME: u16 = 2;
    pub const PAYLOAD: u16 = 3;
    pub const PORT: u16 = 4;
    pub const PID: u16 = 5;
    pub const UID: u16 = 6;
    pub const GID: u16 = 7;
    pub const PEER_FLAGS: u16 = 8;
    pub const COOKIE: u16 = 9;
    pub const SYNC: u16 = 10;
    pub const RCV_LAST_MSG: u16 = 11;
    pub const REPLAYED: u16 = 12;
    pub const MISSED: u16 = 13;
    pub const DELIVERED: u16 = 14;
    pub const DROPPED: u16 = 15;
    pub const ACCESS: u16 = 16;
    pub const KEVENT_TYPE: u16 = 17;
    pub const KEVENT_SEQ: u16 = 18;
    pub const REASON: u16 = 19;
    pub const SUBSCRIBERS: u16 = 20;
    pub const TX_MSGS: u16 = 21;
    pub const RX_MSGS: u16 = 22;
    pub const RX_DROPPED: u16 = 23;
    pub const GROUPS: u16 = 24;
    pub const LAST_MSG_LEN: u16 = 25;
}

/// The kernel's generic netlink controller, `nlctrl`.
pub(crate) mod ctrl {
    /// `GENL_ID_CTRL`: nlctrl's fixed family id.
    pub const FAMILY_ID: u16 = 0x10;
    pub const VERSION: u8 = 2;
    pub const CMD_GETFAMILY: u8 = 3;
    pub const ATTR_FAMILY_ID: u16 = 1;
    pub const ATTR_FAMILY_NAME: u16 = 2;
    pub const ATTR_VERSION: u16 = 3;
    pub const ATTR_MCAST_GROUPS: u16 = 7;
    pub const ATTR_MCAST_GRP_NAME: u16 = 1;
    pub const ATTR_MCAST_GRP_ID: u16 = 2;
}

/// Protocol constants of `kmod/ipcon.yaml` (`definitions`).
pub(crate) mod spec {
    pub const FAMILY_NAME: &str = "ipcon";
    pub const VERSION: u8 = 1;
    pub const MAX_NAME_LEN: usize = 32;
    pub const MAX_PAYLOAD_LEN: usize = 2048;
    pub const KEVENT_GROUP_NAME: &str = "ipcon_kevent";
}

bitflags::bitflags! {
    /// Properties of a peer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct PeerFlags: u32 {
        /// The peer registered without a name; it is reachable by port only.
        const ANONYMOUS = 1;
    }
}

/// Who may join a group, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupAccess {
    /// Any peer in the network namespace.
    Open,
    /// Only peers with the owner's uid.
    SameUid,
    /// Only peers in the group's gid.
    Gid,
    /// A value this version does not know.
    Unknown(u32),
}

impl GroupAccess {
    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Open,
            2 => Self::SameUid,
            3 => Self::Gid,
            other => Self::Unknown(other),
        }
    }
}

/// Why a peer or group was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemoveReason {
    /// Explicitly unregistered by its owner.
    Unregistered,
    /// The owner's socket was closed without unregistering (exit or crash).
    Closed,
    /// A value this version does not know.
    Unknown(u32),
}

impl RemoveReason {
    /// The value of a wire number.
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Unregistered,
            2 => Self::Closed,
            other => Self::Unknown(other),
        }
    }
}
