//! Netlink and generic netlink framing: building requests into a caller's
//! buffer and walking received datagrams without copying.
//!
//! Written here because `ipcon-core`'s wire module had not landed when this
//! crate needed it; it is deliberately small and private so it can be
//! swapped for the core's.

/// `struct nlmsghdr` size.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `struct genlmsghdr` size.
pub(crate) const GENL_HDRLEN: usize = 4;
/// `struct nlattr` header size.
pub(crate) const NLA_HDRLEN: usize = 4;

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
/// Message types below this are netlink control messages.
pub(crate) const NLMSG_MIN_TYPE: u16 = 0x10;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
/// On an error message: the request was not echoed back (only its header).
pub(crate) const NLM_F_CAPPED: u16 = 0x100;
/// On an error message: extended-ACK attributes follow.
pub(crate) const NLM_F_ACK_TLVS: u16 = 0x200;
/// Extended-ACK attribute carrying the error text.
const NLMSGERR_ATTR_MSG: u16 = 1;

const NLA_TYPE_MASK: u16 = 0x3fff;

/// Rounds up to netlink's 4-byte alignment.
pub(crate) const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// The buffer was too small for the message being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BufferTooSmall;

/// Builds one generic netlink request in place.
#[derive(Debug)]
pub(crate) struct RequestBuilder<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> RequestBuilder<'a> {
    /// Starts a message: netlink header (length filled by `finish`) and the
    /// generic netlink header.
    pub fn new(buf: &'a mut [u8], family: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut b = Self {
            buf,
            len: 0,
            overflow: false,
        };
        let mut header = [0u8; NLMSG_HDRLEN + GENL_HDRLEN];
        header[4..6].copy_from_slice(&family.to_ne_bytes());
        header[6..8].copy_from_slice(&flags.to_ne_bytes());
        header[8..12].copy_from_slice(&seq.to_ne_bytes());
        // nlmsg_pid 0: the kernel fills in the sender.
        header[16] = cmd;
        header[17] = version;
        b.append(&header);
        b
    }

    fn append(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        let padded = align(end);
        if padded > self.buf.len() {
            self.overflow = true;
            return;
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.buf[end..padded].fill(0);
        self.len = padded;
    }

    /// Appends one attribute with `value` as its payload.
    pub fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let total = NLA_HDRLEN + value.len();
        let Ok(total16) = u16::try_from(total) else {
            self.overflow = true;
            return self;
        };
        let mut header = [0u8; NLA_HDRLEN];
        header[0..2].copy_from_slice(&total16.to_ne_bytes());
        header[2..4].copy_from_slice(&kind.to_ne_bytes());
        let start = self.len;
        if align(start + total) > self.buf.len() {
            self.overflow = true;
            return self;
        }
        self.buf[start..start + NLA_HDRLEN].copy_from_slice(&header);
        self.buf[start + NLA_HDRLEN..start + total].copy_from_slice(value);
        self.buf[start + total..align(start + total)].fill(0);
        self.len = align(start + total);
        self
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, value: &str) -> &mut Self {
        let total = NLA_HDRLEN + value.len() + 1;
        let start = self.len;
        let Ok(total16) = u16::try_from(total) else {
            self.overflow = true;
            return self;
        };
        if align(start + total) > self.buf.len() {
            self.overflow = true;
            return self;
        }
        self.buf[start..start + 2].copy_from_slice(&total16.to_ne_bytes());
        self.buf[start + 2..start + 4].copy_from_slice(&kind.to_ne_bytes());
        self.buf[start + NLA_HDRLEN..start + total - 1].copy_from_slice(value.as_bytes());
        self.buf[start + total - 1..align(start + total)].fill(0);
        self.len = align(start + total);
        self
    }

    pub fn attr_u32(&mut self, kind: u16, value: u32) -> &mut Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    pub fn attr_u64(&mut self, kind: u16, value: u64) -> &mut Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// A flag attribute (no payload).
    pub fn attr_flag(&mut self, kind: u16) -> &mut Self {
        self.attr(kind, &[])
    }

    /// Fills in the total length; the finished message.
    pub fn finish(self) -> Result<&'a [u8], BufferTooSmall> {
        if self.overflow {
            return Err(BufferTooSmall);
        }
        let len = u32::try_from(self.len).map_err(|_| BufferTooSmall)?;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        Ok(&self.buf[..self.len])
    }
}

/// A received netlink message (header fields + payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NetlinkMessage<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
    pub payload: &'a [u8],
}

/// A malformed netlink message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks the netlink messages of one datagram.
#[derive(Debug, Clone)]
pub(crate) struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn new(datagram: &'a [u8]) -> Self {
        Self { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NetlinkMessage<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if b.len() < NLMSG_HDRLEN {
            self.rest = &[];
            return Some(Err(Malformed));
        }
        let len = u32_at(b, 0) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            self.rest = &[];
            return Some(Err(Malformed));
        }
        let msg = NetlinkMessage {
            kind: u16_at(b, 4),
            flags: u16_at(b, 6),
            seq: u32_at(b, 8),
            port: u32_at(b, 12),
            payload: &b[NLMSG_HDRLEN..len],
        };
        self.rest = &b[align(len).min(b.len())..];
        Some(Ok(msg))
    }
}

/// A generic netlink message body: command, version and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GenlMessage<'a> {
    pub cmd: u8,
    pub version: u8,
    pub attrs: Attrs<'a>,
}

impl<'a> GenlMessage<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, Malformed> {
        if payload.len() < GENL_HDRLEN {
            return Err(Malformed);
        }
        Ok(Self {
            cmd: payload[0],
            version: payload[1],
            attrs: Attrs::new(&payload[GENL_HDRLEN..]),
        })
    }
}

/// A run of netlink attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attrs<'a> {
    bytes: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Iterates `(type, value)`; the type is stripped of the nested and
    /// byte-order flags. Stops at the first malformed attribute.
    pub fn iter(&self) -> AttrIter<'a> {
        AttrIter { rest: self.bytes }
    }

    /// Checks that every attribute is well formed.
    pub fn validate(&self) -> Result<(), Malformed> {
        let mut rest = self.bytes;
        while rest.len() >= NLA_HDRLEN {
            let len = u16_at(rest, 0) as usize;
            if len < NLA_HDRLEN || len > rest.len() {
                return Err(Malformed);
            }
            rest = &rest[align(len).min(rest.len())..];
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

/// Iterator over [`Attrs`].
#[derive(Debug, Clone)]
pub(crate) struct AttrIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rest;
        if b.len() < NLA_HDRLEN {
            return None;
        }
        let len = u16_at(b, 0) as usize;
        if len < NLA_HDRLEN || len > b.len() {
            self.rest = &[];
            return None;
        }
        let kind = u16_at(b, 2) & NLA_TYPE_MASK;
        let value = &b[NLA_HDRLEN..len];
        self.rest = &b[align(len).min(b.len())..];
        Some((kind, value))
    }
}

/// Attribute value decoders; `None` when the size is wrong.
pub(crate) fn get_u16(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.try_into().ok()?))
}
pub(crate) fn get_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.try_into().ok()?))
}
pub(crate) fn get_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(v.try_into().ok()?))
}
/// A string attribute: up to the first NUL, which must be there.
pub(crate) fn get_str(v: &[u8]) -> Option<&str> {
    let nul = v.iter().position(|&c| c == 0)?;
    core::str::from_utf8(&v[..nul]).ok()
}

/// The content of an `NLMSG_ERROR` (or a dump's `NLMSG_DONE`) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack<'a> {
    /// 0 for an ACK, else the positive errno.
    pub errno: i32,
    /// The kernel's extended-ACK text.
    pub message: Option<&'a str>,
}

/// Parses the payload of an `NLMSG_ERROR` message (`flags` from its header).
pub(crate) fn parse_error(payload: &[u8], flags: u16) -> Result<Ack<'_>, Malformed> {
    if payload.len() < 4 {
        return Err(Malformed);
    }
    let error = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let mut message = None;
    if flags & NLM_F_ACK_TLVS != 0 && payload.len() >= 4 + NLMSG_HDRLEN {
        // The echoed request: only its header when capped, else all of it.
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            align(u32_at(payload, 4) as usize)
        };
        if let Some(tlvs) = payload.get(4 + echoed..) {
            message = Attrs::new(tlvs)
                .iter()
                .find(|&(kind, _)| kind == NLMSGERR_ATTR_MSG)
                .and_then(|(_, v)| get_str(v));
        }
    }
    Ok(Ack {
        errno: error.checked_neg().unwrap_or(i32::MAX),
        message,
    })
}

/// Parses the payload of a dump's `NLMSG_DONE`: an `int` status (0 or a
/// negative errno), possibly followed by extended-ACK attributes.
pub(crate) fn parse_done(payload: &[u8], flags: u16) -> Ack<'_> {
    let status = payload
        .get(..4)
        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let message = if flags & NLM_F_ACK_TLVS != 0 {
        payload.get(4..).and_then(|tlvs| {
            Attrs::new(tlvs)
                .iter()
                .find(|&(kind, _)| kind == NLMSGERR_ATTR_MSG)
                .and_then(|(_, v)| get_str(v))
        })
    } else {
        None
    };
    Ack {
        errno: status.checked_neg().unwrap_or(i32::MAX),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_parse_round_trip() {
        let mut buf = [0u8; 128];
        let mut b = RequestBuilder::new(&mut buf, 0x20, NLM_F_REQUEST | NLM_F_ACK, 7, 5, 1);
        b.attr_str(1, "server")
            .attr_u32(4, 1234)
            .attr_u64(9, u64::MAX - 1)
            .attr_flag(10)
            .attr(3, b"abcde");
        let msg = b.finish().unwrap();
        assert_eq!(msg.len() % 4, 0);
        let mut it = Messages::new(msg);
        let m = it.next().unwrap().unwrap();
        assert!(it.next().is_none());
        assert_eq!(
            (m.kind, m.flags, m.seq, m.port),
            (0x20, NLM_F_REQUEST | NLM_F_ACK, 7, 0)
        );
        let g = GenlMessage::parse(m.payload).unwrap();
        assert_eq!((g.cmd, g.version), (5, 1));
        g.attrs.validate().unwrap();
        let attrs: Vec<_> = g.attrs.iter().collect();
        assert_eq!(attrs.len(), 5);
        assert_eq!(attrs[0], (1, &b"server\0"[..]));
        assert_eq!(get_str(attrs[0].1), Some("server"));
        assert_eq!(get_u32(attrs[1].1), Some(1234));
        assert_eq!(get_u64(attrs[2].1), Some(u64::MAX - 1));
        assert_eq!(attrs[3], (10, &[][..]));
        assert_eq!(attrs[4], (3, &b"abcde"[..]));
    }

    #[test]
    fn overflow_is_reported_not_truncated() {
        let mut buf = [0u8; 32];
        let mut b = RequestBuilder::new(&mut buf, 0x20, NLM_F_REQUEST, 1, 1, 1);
        b.attr(3, &[0u8; 64]);
        assert_eq!(b.finish(), Err(BufferTooSmall));
    }

    #[test]
    fn truncated_datagrams_are_malformed() {
        let mut buf = [0u8; 64];
        let msg = RequestBuilder::new(&mut buf, 0x20, 0, 1, 1, 1)
            .finish()
            .unwrap()
            .to_vec();
        assert!(Messages::new(&msg[..10]).next().unwrap().is_err());
        let mut bad = msg.clone();
        bad[0] = 200; // claims more than there is
        assert!(Messages::new(&bad).next().unwrap().is_err());
        let mut attrs = vec![8u8, 0, 1, 0, 0, 0, 0, 0, 0xff, 0, 1, 0];
        assert!(Attrs::new(&attrs).validate().is_err());
        attrs.truncate(8);
        assert!(Attrs::new(&attrs).validate().is_ok());
    }

    #[test]
    fn error_with_extended_ack_text() {
        // nlmsgerr { error = -ENOSPC, capped header } + NLMSGERR_ATTR_MSG.
        let mut p = Vec::new();
        p.extend_from_slice(&(-28i32).to_ne_bytes());
        p.extend_from_slice(&[0u8; NLMSG_HDRLEN]);
        let text = b"max_peers reached\0";
        p.extend_from_slice(&((NLA_HDRLEN + text.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(text);
        let ack = parse_error(&p, NLM_F_CAPPED | NLM_F_ACK_TLVS).unwrap();
        assert_eq!(ack.errno, 28);
        assert_eq!(ack.message, Some("max_peers reached"));
        let zero = 0i32.to_ne_bytes();
        let plain = parse_error(&zero, 0).unwrap();
        assert_eq!(
            plain,
            Ack {
                errno: 0,
                message: None
            }
        );
        assert_eq!(parse_done(&(-2i32).to_ne_bytes(), 0).errno, 2);
    }

    #[test]
    fn nested_and_byte_order_flags_are_masked() {
        let attrs = [8u8, 0, 0x07, 0x80, 1, 2, 3, 4];
        let (kind, value) = Attrs::new(&attrs).iter().next().unwrap();
        assert_eq!(kind, 7);
        assert_eq!(value, &[1, 2, 3, 4]);
    }
}
