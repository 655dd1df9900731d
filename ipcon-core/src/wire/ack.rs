//! `NLMSG_ERROR` (errors and acknowledgements, with extended ACK) and `NLMSG_DONE`.
//!
//! An `NLMSG_ERROR` payload is `error: i32` (0 = ACK, else a negative errno), then the
//! header of the request it answers (plus the request's payload unless
//! [`NetlinkFlags::CAPPED`]), then, with [`NetlinkFlags::ACK_TLVS`], extended-ACK attributes.
use crate::error::WireError;
use crate::wire::attr::{AttrWriter, Attributes};
use crate::wire::netlink::{self, align, NetlinkFlags, NetlinkHeaderRepr, NetlinkPacket};

/// Extended-ACK attribute numbers (`NLMSGERR_ATTR_*`).
pub mod ext_attr {
    /// Error message text.
    pub const MSG: u16 = 1;
    /// Offset of the offending attribute from the start of the request's header.
    pub const OFFS: u16 = 2;
    /// Cookie.
    pub const COOKIE: u16 = 3;
    /// Policy of the offending attribute.
    pub const POLICY: u16 = 4;
    /// Type of a missing required attribute.
    pub const MISS_TYPE: u16 = 5;
    /// Offset of the nest where an attribute is missing.
    pub const MISS_NEST: u16 = 6;
}

/// Extended-ACK details, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtAck<'a> {
    /// Human-readable reason given by the kernel (valid UTF-8 prefix of the text).
    pub message: Option<&'a str>,
    /// Offset of the offending attribute from the start of the request's netlink header.
    pub offset: Option<u32>,
    /// Type of a required attribute that was missing.
    pub missing_type: Option<u32>,
}

impl<'a> ExtAck<'a> {
    fn parse(stream: &'a [u8]) -> Self {
        let mut ext = ExtAck::default();
        // Extended ACK is advisory: a malformed TLV ends the parse without failing the ACK.
        for attr in Attributes::new(stream).flatten() {
            match attr.kind() {
                ext_attr::MSG => {
                    let raw = attr.as_cstr_bytes();
                    ext.message = Some(match core::str::from_utf8(raw) {
                        Ok(s) => s,
                        Err(e) => core::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or(""),
                    });
                }
                ext_attr::OFFS => ext.offset = attr.as_u32().ok(),
                ext_attr::MISS_TYPE => ext.missing_type = attr.as_u32().ok(),
                _ => {}
            }
        }
        ext
    }

    /// Whether no detail is present.
    pub fn is_empty(&self) -> bool {
        self.message.is_none() && self.offset.is_none() && self.missing_type.is_none()
    }

    fn buffer_len(&self) -> usize {
        use crate::wire::attr::attr_size;
        self.message.map_or(0, |m| attr_size(m.len() + 1))
            + self.offset.map_or(0, |_| attr_size(4))
            + self.missing_type.map_or(0, |_| attr_size(4))
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut w = AttrWriter::new(buf);
        if let Some(m) = self.message {
            w.put_cstr(ext_attr::MSG, m.as_bytes())?;
        }
        if let Some(o) = self.offset {
            w.put_u32(ext_attr::OFFS, o)?;
        }
        if let Some(t) = self.missing_type {
            w.put_u32(ext_attr::MISS_TYPE, t)?;
        }
        Ok(w.len())
    }
}

/// A parsed `NLMSG_ERROR`: an acknowledgement (`error == 0`) or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRepr<'a> {
    /// 0 for an ACK, else a negative errno.
    pub error: i32,
    /// Header of the request this answers (its seq and port identify it).
    pub request: NetlinkHeaderRepr,
    /// Extended-ACK details.
    pub ext: ExtAck<'a>,
}

impl<'a> ErrorRepr<'a> {
    /// Parses the message behind a checked `NLMSG_ERROR` packet.
    pub fn parse(packet: &NetlinkPacket<&'a [u8]>) -> Result<Self, WireError> {
        if packet.message_type() != netlink::message_type::ERROR {
            return Err(WireError::UnexpectedType(packet.message_type()));
        }
        let msg: &'a [u8] = packet.into_inner();
        let end = (packet.length() as usize).min(msg.len());
        let payload: &'a [u8] = msg.get(netlink::HEADER_LEN..end).unwrap_or(&[]);
        let raw: [u8; 4] = payload
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or(WireError::Truncated)?;
        let error = i32::from_ne_bytes(raw);
        let inner_bytes = payload.get(4..).unwrap_or(&[]);
        if inner_bytes.len() < netlink::HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let inner = NetlinkPacket::new_unchecked(inner_bytes);
        let request = NetlinkHeaderRepr::parse(&inner);
        let flags = packet.flags();
        let tlvs_at = if flags.contains(NetlinkFlags::CAPPED) {
            netlink::HEADER_LEN
        } else {
            // The request is echoed whole; its own length says where the TLVs begin.
            align(inner.length() as usize)
        };
        let ext = if flags.contains(NetlinkFlags::ACK_TLVS) {
            ExtAck::parse(inner_bytes.get(tlvs_at..).unwrap_or(&[]))
        } else {
            ExtAck::default()
        };
        Ok(Self {
            error,
            request,
            ext,
        })
    }

    /// Whether this is an acknowledgement (no error).
    pub fn is_ack(&self) -> bool {
        self.error == 0
    }

    /// The positive errno of an error (0 for an ACK).
    pub fn errno(&self) -> i32 {
        self.error.checked_neg().unwrap_or(i32::MAX)
    }

    /// Length of the emitted message (capped form: request header only).
    pub fn buffer_len(&self) -> usize {
        netlink::HEADER_LEN + 4 + netlink::HEADER_LEN + self.ext.buffer_len()
    }

    /// Writes the message in the capped form the kernel uses for extended ACKs (the request
    /// header without its payload); `port_id` and `seq` come from `self.request`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let total = self.buffer_len();
        let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
        let mut flags = NetlinkFlags::CAPPED;
        if !self.ext.is_empty() {
            flags |= NetlinkFlags::ACK_TLVS;
        }
        let hdr = NetlinkHeaderRepr {
            message_type: netlink::message_type::ERROR,
            flags,
            seq: self.request.seq,
            port_id: self.request.port_id,
        };
        hdr.emit(total - netlink::HEADER_LEN, buf)?;
        buf[16..20].copy_from_slice(&self.error.to_ne_bytes());
        // The echoed header keeps the request's length field, as the kernel does.
        self.request.emit(0, &mut buf[20..36])?;
        self.ext.emit(&mut buf[36..])?;
        Ok(total)
    }
}

/// A parsed `NLMSG_DONE`: the end of a dump, with the dump's final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoneRepr<'a> {
    /// 0 when the dump completed, else a negative errno.
    pub error: i32,
    /// Extended-ACK details, if any.
    pub ext: ExtAck<'a>,
}

impl<'a> DoneRepr<'a> {
    /// Parses a checked `NLMSG_DONE` packet (a missing status reads as 0).
    pub fn parse(packet: &NetlinkPacket<&'a [u8]>) -> Result<Self, WireError> {
        if packet.message_type() != netlink::message_type::DONE {
            return Err(WireError::UnexpectedType(packet.message_type()));
        }
        let msg: &'a [u8] = packet.into_inner();
        let end = (packet.length() as usize).min(msg.len());
        let payload: &'a [u8] = msg.get(netlink::HEADER_LEN..end).unwrap_or(&[]);
        let error = payload
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .map_or(0, i32::from_ne_bytes);
        let ext = if packet.flags().contains(NetlinkFlags::ACK_TLVS) {
            ExtAck::parse(payload.get(4..).unwrap_or(&[]))
        } else {
            ExtAck::default()
        };
        Ok(Self { error, ext })
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        netlink::HEADER_LEN + 4 + self.ext.buffer_len()
    }

    /// Writes the message with `seq`/`port_id`.
    pub fn emit(&self, seq: u32, port_id: u32, buf: &mut [u8]) -> Result<usize, WireError> {
        let total = self.buffer_len();
        let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
        let mut flags = NetlinkFlags::MULTI;
        if !self.ext.is_empty() {
            flags |= NetlinkFlags::ACK_TLVS;
        }
        let hdr = NetlinkHeaderRepr {
            message_type: netlink::message_type::DONE,
            flags,
            seq,
            port_id,
        };
        hdr.emit(total - netlink::HEADER_LEN, buf)?;
        buf[16..20].copy_from_slice(&self.error.to_ne_bytes());
        self.ext.emit(&mut buf[20..])?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NLMSG_ERROR with extended ACK as the kernel builds it, derived by hand from
    /// `struct nlmsgerr` + NLMSGERR_ATTR_MSG + NLMSGERR_ATTR_OFFS (little-endian host).
    #[cfg(target_endian = "little")]
    const GOLDEN_EXTACK: [u8; 60] = [
        60, 0, 0, 0, // nlmsg_len = 60
        2, 0, // NLMSG_ERROR
        0x00, 0x03, // NLM_F_CAPPED | NLM_F_ACK_TLVS
        5, 0, 0, 0, // seq 5
        0x39, 0x30, 0, 0, // port 12345
        0xef, 0xff, 0xff, 0xff, // error = -17 (EEXIST)
        40, 0, 0, 0, // echoed request: nlmsg_len 40
        0x1a, 0, // family id 26
        0x05, 0, // REQUEST | ACK
        5, 0, 0, 0, // seq 5
        0x39, 0x30, 0, 0, // port 12345
        15, 0, 1, 0, b'n', b'a', b'm', b'e', b' ', b't', b'a', b'k', b'e', b'n', 0,
        0, // MSG "name taken" + NUL + pad
        8, 0, 2, 0, 20, 0, 0, 0, // OFFS = 20
    ];

    #[cfg(target_endian = "little")]
    #[test]
    fn golden_error_with_extack() {
        let p = NetlinkPacket::new_checked(&GOLDEN_EXTACK[..]).unwrap();
        let e = ErrorRepr::parse(&p).unwrap();
        assert_eq!(e.error, -17);
        assert_eq!(e.errno(), 17);
        assert!(!e.is_ack());
        assert_eq!(e.request.seq, 5);
        assert_eq!(e.request.port_id, 12345);
        assert_eq!(e.request.message_type, 0x1a);
        assert_eq!(e.ext.message, Some("name taken"));
        assert_eq!(e.ext.offset, Some(20));
        let mut buf = [0u8; 60];
        let mut repr = e;
        // The emitter writes a zero-length echoed header; patch the golden's to compare.
        assert_eq!(repr.emit(&mut buf), Ok(60));
        let mut golden = GOLDEN_EXTACK;
        golden[20] = 16;
        assert_eq!(buf, golden);
        repr.ext = ExtAck::default();
        assert_eq!(repr.buffer_len(), 36);
    }

    #[test]
    fn uncapped_ack_skips_the_echoed_request() {
        // ACK of a 24-byte request echoed whole, with a MSG TLV after it.
        let mut buf = [0u8; 16 + 4 + 24 + 8];
        let hdr = NetlinkHeaderRepr {
            message_type: netlink::message_type::ERROR,
            flags: NetlinkFlags::ACK_TLVS,
            seq: 9,
            port_id: 1,
        };
        hdr.emit(buf.len() - 16, &mut buf).unwrap();
        let req = NetlinkHeaderRepr {
            message_type: 30,
            flags: NetlinkFlags::REQUEST,
            seq: 9,
            port_id: 1,
        };
        req.emit(8, &mut buf[20..]).unwrap();
        AttrWriter::new(&mut buf[44..])
            .put_cstr(ext_attr::MSG, b"ok!")
            .unwrap();
        let e = ErrorRepr::parse(&NetlinkPacket::new_checked(&buf[..]).unwrap()).unwrap();
        assert!(e.is_ack());
        assert_eq!(e.ext.message, Some("ok!"));
        assert_eq!(e.request, req);
    }

    #[test]
    fn short_error_is_truncated() {
        let mut buf = [0u8; 24];
        let hdr = NetlinkHeaderRepr {
            message_type: netlink::message_type::ERROR,
            flags: NetlinkFlags::empty(),
            seq: 1,
            port_id: 1,
        };
        hdr.emit(8, &mut buf).unwrap();
        let p = NetlinkPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(ErrorRepr::parse(&p), Err(WireError::Truncated));
    }

    #[test]
    fn done_round_trip() {
        let d = DoneRepr {
            error: -4,
            ext: ExtAck {
                message: Some("dump interrupted"),
                offset: None,
                missing_type: None,
            },
        };
        let mut buf = [0u8; 64];
        let n = d.emit(3, 7, &mut buf).unwrap();
        assert_eq!(n, d.buffer_len());
        let p = NetlinkPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(p.seq(), 3);
        assert_eq!(DoneRepr::parse(&p), Ok(d));
    }
}
