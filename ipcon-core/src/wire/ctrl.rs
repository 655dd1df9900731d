//! The generic netlink controller (`nlctrl`): looking a family up by name.
//!
//! Request: `CTRL_CMD_GETFAMILY` to family id `GENL_ID_CTRL` with `CTRL_ATTR_FAMILY_NAME`.
//! Reply: `CTRL_CMD_NEWFAMILY` with the family id, version, header size, max attribute and a
//! nested list of multicast groups (each a nest of name + id). An unknown family is
//! answered with `NLMSG_ERROR` `-ENOENT`.
use heapless::{String, Vec};

use crate::error::WireError;
use crate::wire::attr::{attr_size, AttrWriter, Attributes};
use crate::wire::genl::{self, GenlHeaderRepr, GenlPacket};
use crate::wire::netlink::{self, NetlinkFlags, NetlinkHeaderRepr, NetlinkPacket};

/// Family id of the controller.
pub const GENL_ID_CTRL: u16 = 0x10;
/// Controller command: a family's description (reply).
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// Controller command: look a family up.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// Version of the controller protocol used in requests.
pub const CTRL_VERSION: u8 = 1;
/// Size of a generic netlink family or group name buffer, NUL included.
pub const GENL_NAMSIZ: usize = 16;
/// Multicast groups kept by [`FamilyRepr`] (ipcon has one; extra ones are skipped).
pub const MAX_MCAST_GROUPS: usize = 8;

/// Controller attribute numbers (`CTRL_ATTR_*`).
pub mod ctrl_attr {
    /// Family id (`u16`).
    pub const FAMILY_ID: u16 = 1;
    /// Family name (string).
    pub const FAMILY_NAME: u16 = 2;
    /// Family version (`u32`).
    pub const VERSION: u16 = 3;
    /// User header size (`u32`).
    pub const HDRSIZE: u16 = 4;
    /// Highest attribute number (`u32`).
    pub const MAXATTR: u16 = 5;
    /// Operations (nested).
    pub const OPS: u16 = 6;
    /// Multicast groups (nested list of nests).
    pub const MCAST_GROUPS: u16 = 7;
    /// In a group nest: name (string).
    pub const MCAST_GRP_NAME: u16 = 1;
    /// In a group nest: id (`u32`).
    pub const MCAST_GRP_ID: u16 = 2;
}

/// A `CTRL_CMD_GETFAMILY` request for one family name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetFamilyRequest<'a> {
    /// Family name to look up (at most 15 bytes).
    pub name: &'a str,
}

impl<'a> GetFamilyRequest<'a> {
    /// The ipcon family.
    pub const IPCON: GetFamilyRequest<'static> = GetFamilyRequest {
        name: crate::spec::FAMILY_NAME,
    };

    /// Netlink header for this request: `REQUEST | ACK` to the controller.
    pub fn header(seq: u32, port_id: u32) -> NetlinkHeaderRepr {
        NetlinkHeaderRepr {
            message_type: GENL_ID_CTRL,
            flags: NetlinkFlags::REQUEST | NetlinkFlags::ACK,
            seq,
            port_id,
        }
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        netlink::HEADER_LEN + genl::HEADER_LEN + attr_size(self.name.len() + 1)
    }

    /// Writes the request; `hdr` is usually [`GetFamilyRequest::header`].
    pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        if self.name.is_empty()
            || self.name.len() >= GENL_NAMSIZ
            || self.name.as_bytes().contains(&0)
        {
            return Err(WireError::BadAttribute(ctrl_attr::FAMILY_NAME));
        }
        let total = self.buffer_len();
        let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
        hdr.emit(total - netlink::HEADER_LEN, buf)?;
        GenlHeaderRepr {
            command: CTRL_CMD_GETFAMILY,
            version: CTRL_VERSION,
        }
        .emit(&mut buf[16..])?;
        AttrWriter::new(&mut buf[20..]).put_cstr(ctrl_attr::FAMILY_NAME, self.name.as_bytes())?;
        Ok(total)
    }

    /// Parses a request (the controller's side; used by tests and fuzzing).
    pub fn parse(packet: &NetlinkPacket<&'a [u8]>) -> Result<Self, WireError> {
        let msg: &'a [u8] = packet.into_inner();
        let end = (packet.length() as usize).min(msg.len());
        let genl = GenlPacket::new_checked(msg.get(netlink::HEADER_LEN..end).unwrap_or(&[]))?;
        if genl.command() != CTRL_CMD_GETFAMILY {
            return Err(WireError::UnexpectedCommand(genl.command()));
        }
        let attrs: &'a [u8] = msg
            .get(netlink::HEADER_LEN + genl::HEADER_LEN..end)
            .unwrap_or(&[]);
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            if attr.kind() == ctrl_attr::FAMILY_NAME {
                let name = core::str::from_utf8(attr.as_cstr_bytes())
                    .map_err(|_| WireError::BadAttribute(ctrl_attr::FAMILY_NAME))?;
                return Ok(Self { name });
            }
        }
        Err(WireError::MissingAttribute(ctrl_attr::FAMILY_NAME))
    }
}

/// A multicast group of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McastGroup {
    /// Group name.
    pub name: String<GENL_NAMSIZ>,
    /// Group id, to join with `NETLINK_ADD_MEMBERSHIP`.
    pub id: u32,
}

/// A family's description from a `CTRL_CMD_NEWFAMILY` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRepr {
    /// Family id: the netlink message type of the family's messages.
    pub id: u16,
    /// Family name.
    pub name: String<GENL_NAMSIZ>,
    /// Family version.
    pub version: u32,
    /// Highest attribute number.
    pub max_attr: u32,
    /// Multicast groups (the first [`MAX_MCAST_GROUPS`]).
    pub mcast_groups: Vec<McastGroup, MAX_MCAST_GROUPS>,
}

fn genl_name(raw: &[u8], attr: u16) -> Result<String<GENL_NAMSIZ>, WireError> {
    let s = core::str::from_utf8(raw).map_err(|_| WireError::BadAttribute(attr))?;
    let mut out = String::new();
    out.push_str(s).map_err(|_| WireError::BadAttribute(attr))?;
    Ok(out)
}

impl FamilyRepr {
    /// Parses a controller reply (a checked netlink packet of type [`GENL_ID_CTRL`]).
    pub fn parse(packet: &NetlinkPacket<&[u8]>) -> Result<Self, WireError> {
        if packet.message_type() != GENL_ID_CTRL {
            return Err(WireError::UnexpectedType(packet.message_type()));
        }
        let genl = GenlPacket::new_checked(packet.payload())?;
        if genl.command() != CTRL_CMD_NEWFAMILY {
            return Err(WireError::UnexpectedCommand(genl.command()));
        }
        let mut id = None;
        let mut name = String::new();
        let mut version = 0;
        let mut max_attr = 0;
        let mut mcast_groups = Vec::new();
        for attr in Attributes::new(genl.attributes()) {
            let attr = attr?;
            match attr.kind() {
                ctrl_attr::FAMILY_ID => id = Some(attr.as_u16()?),
                ctrl_attr::FAMILY_NAME => {
                    name = genl_name(attr.as_cstr_bytes(), ctrl_attr::FAMILY_NAME)?
                }
                ctrl_attr::VERSION => version = attr.as_u32()?,
                ctrl_attr::MAXATTR => max_attr = attr.as_u32()?,
                ctrl_attr::MCAST_GROUPS => {
                    for group in attr.nested() {
                        let mut gname = None;
                        let mut gid = None;
                        for field in group?.nested() {
                            let field = field?;
                            match field.kind() {
                                ctrl_attr::MCAST_GRP_NAME => {
                                    gname = Some(genl_name(
                                        field.as_cstr_bytes(),
                                        ctrl_attr::MCAST_GRP_NAME,
                                    )?)
                                }
                                ctrl_attr::MCAST_GRP_ID => gid = Some(field.as_u32()?),
                                _ => {}
                            }
                        }
                        if let (Some(name), Some(id)) = (gname, gid) {
                            // Beyond the capacity groups are dropped: ipcon needs only its own.
                            let _ = mcast_groups.push(McastGroup { name, id });
                        } else {
                            return Err(WireError::BadAttribute(ctrl_attr::MCAST_GROUPS));
                        }
                    }
                }
                _ => {}
            }
        }
        let id = id.ok_or(WireError::MissingAttribute(ctrl_attr::FAMILY_ID))?;
        Ok(Self {
            id,
            name,
            version,
            max_attr,
            mcast_groups,
        })
    }

    /// The id of the multicast group called `name`.
    pub fn mcast_group_id(&self, name: &str) -> Option<u32> {
        self.mcast_groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.id)
    }

    /// Length of the emitted reply.
    pub fn buffer_len(&self) -> usize {
        let groups: usize = self
            .mcast_groups
            .iter()
            .map(|g| attr_size(0) + attr_size(g.name.len() + 1) + attr_size(4))
            .sum();
        netlink::HEADER_LEN
            + genl::HEADER_LEN
            + attr_size(2)
            + attr_size(self.name.len() + 1)
            + 2 * attr_size(4)
            + if self.mcast_groups.is_empty() {
                0
            } else {
                attr_size(0) + groups
            }
    }

    /// Writes the reply (the controller's side; used by tests and fuzzing).
    pub fn emit(&self, hdr: &NetlinkHeaderRepr, buf: &mut [u8]) -> Result<usize, WireError> {
        let total = self.buffer_len();
        let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
        hdr.emit(total - netlink::HEADER_LEN, buf)?;
        GenlHeaderRepr {
            command: CTRL_CMD_NEWFAMILY,
            version: 2,
        }
        .emit(&mut buf[16..])?;
        let mut w = AttrWriter::new(&mut buf[20..]);
        w.put_u16(ctrl_attr::FAMILY_ID, self.id)?;
        w.put_cstr(ctrl_attr::FAMILY_NAME, self.name.as_bytes())?;
        w.put_u32(ctrl_attr::VERSION, self.version)?;
        w.put_u32(ctrl_attr::MAXATTR, self.max_attr)?;
        if !self.mcast_groups.is_empty() {
            let list = w.begin_nested(ctrl_attr::MCAST_GROUPS)?;
            for (i, g) in self.mcast_groups.iter().enumerate() {
                // The list's entries are numbered from 1, as the kernel does.
                let entry = w.begin_nested(u16::try_from(i + 1).unwrap_or(u16::MAX))?;
                w.put_cstr(ctrl_attr::MCAST_GRP_NAME, g.name.as_bytes())?;
                w.put_u32(ctrl_attr::MCAST_GRP_ID, g.id)?;
                w.end_nested(entry)?;
            }
            w.end_nested(list)?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GETFAMILY for "ipcon", seq 1, port 0: derived by hand from nlmsghdr + genlmsghdr +
    /// one CTRL_ATTR_FAMILY_NAME attribute (little-endian host).
    #[cfg(target_endian = "little")]
    const GOLDEN_GETFAMILY: [u8; 32] = [
        32, 0, 0, 0, // nlmsg_len
        0x10, 0, // GENL_ID_CTRL
        0x05, 0, // NLM_F_REQUEST | NLM_F_ACK
        1, 0, 0, 0, // seq
        0, 0, 0, 0, // port
        3, 1, 0, 0, // CTRL_CMD_GETFAMILY, version 1
        10, 0, 2, 0, b'i', b'p', b'c', b'o', b'n', 0, 0, 0, // FAMILY_NAME "ipcon\0" + pad
    ];

    #[cfg(target_endian = "little")]
    #[test]
    fn golden_getfamily_ipcon() {
        let mut buf = [0u8; 64];
        let n = GetFamilyRequest::IPCON
            .emit(&GetFamilyRequest::header(1, 0), &mut buf)
            .unwrap();
        assert_eq!(n, 32);
        assert_eq!(buf[..n], GOLDEN_GETFAMILY);
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(GetFamilyRequest::parse(&p), Ok(GetFamilyRequest::IPCON));
    }

    #[test]
    fn rejects_bad_names() {
        let mut buf = [0u8; 64];
        let hdr = GetFamilyRequest::header(1, 0);
        assert!(GetFamilyRequest { name: "" }.emit(&hdr, &mut buf).is_err());
        assert!(GetFamilyRequest {
            name: "0123456789abcdef"
        }
        .emit(&hdr, &mut buf)
        .is_err());
        assert_eq!(
            GetFamilyRequest::IPCON.emit(&hdr, &mut buf[..31]),
            Err(WireError::BufferTooSmall)
        );
    }

    #[test]
    fn family_reply_round_trip() {
        let mut f = FamilyRepr {
            id: 0x1b,
            name: String::try_from("ipcon").unwrap(),
            version: 1,
            max_attr: 26,
            mcast_groups: Vec::new(),
        };
        f.mcast_groups
            .push(McastGroup {
                name: String::try_from("ipcon_kevent").unwrap(),
                id: 9,
            })
            .unwrap();
        f.mcast_groups
            .push(McastGroup {
                name: String::try_from("other").unwrap(),
                id: 10,
            })
            .unwrap();
        let mut buf = [0u8; 256];
        let hdr = NetlinkHeaderRepr {
            message_type: GENL_ID_CTRL,
            flags: NetlinkFlags::empty(),
            seq: 1,
            port_id: 5,
        };
        let n = f.emit(&hdr, &mut buf).unwrap();
        assert_eq!(n, f.buffer_len());
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        let parsed = FamilyRepr::parse(&p).unwrap();
        assert_eq!(parsed, f);
        assert_eq!(parsed.mcast_group_id("ipcon_kevent"), Some(9));
        assert_eq!(parsed.mcast_group_id("nope"), None);
    }
}
