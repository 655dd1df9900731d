//! The netlink message header (`struct nlmsghdr`), its flags, and iteration over the
//! messages of one datagram.
//!
//! Layout (host byte order): `len: u32, type: u16, flags: u16, seq: u32, pid: u32`, then the
//! payload; messages in a datagram start at 4-byte aligned offsets.
use bitflags::bitflags;

use crate::error::WireError;

/// Size of the netlink message header.
pub const HEADER_LEN: usize = 16;
/// Alignment of netlink messages and attributes.
pub const ALIGNTO: usize = 4;

/// Rounds `len` up to the netlink alignment (saturating at the largest aligned value).
pub const fn align(len: usize) -> usize {
    match len.checked_add(ALIGNTO - 1) {
        Some(l) => l & !(ALIGNTO - 1),
        None => usize::MAX & !(ALIGNTO - 1),
    }
}

/// Netlink control message types (`NLMSG_*`).
pub mod message_type {
    /// Nothing; to be ignored.
    pub const NOOP: u16 = 1;
    /// An error or acknowledgement (`struct nlmsgerr`).
    pub const ERROR: u16 = 2;
    /// End of a multi-part dump.
    pub const DONE: u16 = 3;
    /// Data lost.
    pub const OVERRUN: u16 = 4;
    /// Types below this are reserved for control messages.
    pub const MIN_RESERVED: u16 = 0x10;
}

bitflags! {
    /// Netlink message flags (`NLM_F_*`). Some bits mean different things in requests of
    /// different kinds and in acknowledgements, hence the aliases.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct NetlinkFlags: u16 {
        /// A request.
        const REQUEST = 0x01;
        /// Part of a multi-part message (dump); the last is followed by `NLMSG_DONE`.
        const MULTI = 0x02;
        /// Asks for an acknowledgement.
        const ACK = 0x04;
        /// Echo this request.
        const ECHO = 0x08;
        /// The dump was inconsistent because the data changed while dumping.
        const DUMP_INTR = 0x10;
        /// The dump was filtered as requested.
        const DUMP_FILTERED = 0x20;
        /// GET request: return the complete table.
        const ROOT = 0x100;
        /// GET request: return all matching entries.
        const MATCH = 0x200;
        /// GET request: atomic snapshot.
        const ATOMIC = 0x400;
        /// GET request: a dump (`ROOT | MATCH`).
        const DUMP = 0x300;
        /// Acknowledgement: the original request's payload was left out.
        const CAPPED = 0x100;
        /// Acknowledgement: extended-ACK attributes follow.
        const ACK_TLVS = 0x200;
    }
}

/// A read/write view of a netlink message in a buffer. Accessors never panic once
/// [`NetlinkPacket::new_checked`] succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetlinkPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn get_u16(b: &[u8], at: usize) -> u16 {
    let mut raw = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        raw.copy_from_slice(s);
    }
    u16::from_ne_bytes(raw)
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        raw.copy_from_slice(s);
    }
    u32::from_ne_bytes(raw)
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(s) = b.get_mut(at..at + v.len()) {
        s.copy_from_slice(v);
    }
}

impl<T: AsRef<[u8]>> NetlinkPacket<T> {
    /// Wraps a buffer without checking it; accessors of an unchecked short buffer return
    /// zeros instead of panicking.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer holding one netlink message (possibly followed by more bytes) and
    /// checks its length field against the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header fits and that the length field is at least the header and at
    /// most the buffer.
    pub fn check_len(&self) -> Result<(), WireError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let len = self.length() as usize;
        if len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if len > b.len() {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length field: header plus payload.
    pub fn length(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 0)
    }

    /// Message type: a control type or a generic netlink family id.
    pub fn message_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    /// Flags.
    pub fn flags(&self) -> NetlinkFlags {
        NetlinkFlags::from_bits_retain(get_u16(self.buffer.as_ref(), 6))
    }

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 8)
    }

    /// Port id of the sender (0 for the kernel) or, in requests, of the requester.
    pub fn port_id(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 12)
    }

    /// The message bytes, `length()` long (clamped to the buffer).
    pub fn message(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = (self.length() as usize).min(b.len());
        b.get(..end).unwrap_or(&[])
    }

    /// The payload after the header.
    pub fn payload(&self) -> &[u8] {
        self.message().get(HEADER_LEN..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NetlinkPacket<T> {
    /// Sets the length field.
    pub fn set_length(&mut self, v: u32) {
        put(self.buffer.as_mut(), 0, &v.to_ne_bytes());
    }
    /// Sets the message type.
    pub fn set_message_type(&mut self, v: u16) {
        put(self.buffer.as_mut(), 4, &v.to_ne_bytes());
    }
    /// Sets the flags.
    pub fn set_flags(&mut self, v: NetlinkFlags) {
        put(self.buffer.as_mut(), 6, &v.bits().to_ne_bytes());
    }
    /// Sets the sequence number.
    pub fn set_seq(&mut self, v: u32) {
        put(self.buffer.as_mut(), 8, &v.to_ne_bytes());
    }
    /// Sets the port id.
    pub fn set_port_id(&mut self, v: u32) {
        put(self.buffer.as_mut(), 12, &v.to_ne_bytes());
    }
}

/// The validated fields of a netlink header; the length is computed on emission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetlinkHeaderRepr {
    /// Control message type or family id.
    pub message_type: u16,
    /// Flags.
    pub flags: NetlinkFlags,
    /// Sequence number.
    pub seq: u32,
    /// Port id.
    pub port_id: u32,
}

impl NetlinkHeaderRepr {
    /// Reads the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &NetlinkPacket<T>) -> Self {
        Self {
            message_type: packet.message_type(),
            flags: packet.flags(),
            seq: packet.seq(),
            port_id: packet.port_id(),
        }
    }

    /// Writes the header for a message of `HEADER_LEN + payload_len` bytes into `buf`.
    pub fn emit(&self, payload_len: usize, buf: &mut [u8]) -> Result<usize, WireError> {
        let total = HEADER_LEN
            .checked_add(payload_len)
            .ok_or(WireError::BufferTooSmall)?;
        let len = u32::try_from(total).map_err(|_| WireError::BufferTooSmall)?;
        if buf.len() < HEADER_LEN {
            return Err(WireError::BufferTooSmall);
        }
        let mut p = NetlinkPacket::new_unchecked(buf);
        p.set_length(len);
        p.set_message_type(self.message_type);
        p.set_flags(self.flags);
        p.set_seq(self.seq);
        p.set_port_id(self.port_id);
        Ok(HEADER_LEN)
    }
}

/// Iterator over the netlink messages of one received datagram.
///
/// Yields each message as a checked view; a malformed message ends the iteration after
/// yielding its error (the rest of the datagram cannot be framed).
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// Iterates over `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Self { rest: datagram }
    }

    /// The bytes not iterated over yet (empty once the framing broke).
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NetlinkPacket<&'a [u8]>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match NetlinkPacket::new_checked(self.rest) {
            Ok(p) => {
                let len = p.length() as usize;
                let msg = self.rest.get(..len).unwrap_or(self.rest);
                self.rest = self.rest.get(align(len)..).unwrap_or(&[]);
                Some(Ok(NetlinkPacket::new_unchecked(msg)))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let repr = NetlinkHeaderRepr {
            message_type: 0x10,
            flags: NetlinkFlags::REQUEST | NetlinkFlags::ACK,
            seq: 7,
            port_id: 42,
        };
        let mut buf = [0u8; 20];
        assert_eq!(repr.emit(4, &mut buf), Ok(HEADER_LEN));
        let p = NetlinkPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.length(), 20);
        assert_eq!(NetlinkHeaderRepr::parse(&p), repr);
        assert_eq!(p.payload().len(), 4);
    }

    #[test]
    fn rejects_bad_lengths() {
        assert_eq!(
            NetlinkPacket::new_checked(&[0u8; 15][..]).err(),
            Some(WireError::Truncated)
        );
        let mut b = [0u8; 16];
        b[0] = 8;
        assert_eq!(
            NetlinkPacket::new_checked(&b[..]).err(),
            Some(WireError::Malformed)
        );
        b[0] = 17;
        assert_eq!(
            NetlinkPacket::new_checked(&b[..]).err(),
            Some(WireError::Truncated)
        );
    }

    #[test]
    fn iterates_aligned_messages() {
        let mut buf = [0u8; 16 + 1 + 3 + 16];
        let h = NetlinkHeaderRepr {
            message_type: 3,
            flags: NetlinkFlags::MULTI,
            seq: 1,
            port_id: 0,
        };
        h.emit(1, &mut buf).unwrap();
        h.emit(0, &mut buf[20..]).unwrap();
        let lens: heapless::Vec<u32, 4> =
            Messages::new(&buf).map(|m| m.unwrap().length()).collect();
        assert_eq!(&lens[..], &[17, 16]);
        // The last message may lack its trailing padding.
        let lens = Messages::new(&buf[..17]).count();
        assert_eq!(lens, 1);
        let mut it = Messages::new(&buf[..30]);
        assert!(it.next().unwrap().is_ok());
        assert_eq!(it.next().unwrap().err(), Some(WireError::Truncated));
        assert!(it.next().is_none());
    }

    #[test]
    fn align_saturates() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 4);
        assert_eq!(align(4), 4);
        assert_eq!(align(usize::MAX) % 4, 0);
    }
}
