//! Netlink attributes (`struct nlattr`): 4-byte aligned type-length-value records, possibly
//! nested. Reading is zero-copy ([`Attribute`], [`Attributes`]); writing goes through
//! [`AttrWriter`], which checks the buffer on every step.
use crate::error::WireError;
use crate::wire::netlink::align;

/// Size of an attribute header.
pub const HEADER_LEN: usize = 4;
/// Type bit: the value is a nested attribute stream.
pub const F_NESTED: u16 = 0x8000;
/// Type bit: the value is in network byte order.
pub const F_NET_BYTEORDER: u16 = 0x4000;
/// Mask of the type number.
pub const TYPE_MASK: u16 = 0x3fff;

/// Bytes an attribute with a value of `value_len` bytes occupies, padding included.
pub const fn attr_size(value_len: usize) -> usize {
    align(HEADER_LEN + value_len)
}

/// One attribute, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    kind: u16,
    flags: u16,
    value: &'a [u8],
}

impl<'a> Attribute<'a> {
    /// The attribute number (flag bits removed).
    pub fn kind(&self) -> u16 {
        self.kind
    }

    /// Whether the nested flag is set.
    pub fn is_nested(&self) -> bool {
        self.flags & F_NESTED != 0
    }

    /// The raw value.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The value as a `u8`.
    pub fn as_u8(&self) -> Result<u8, WireError> {
        match self.value {
            [v] => Ok(*v),
            _ => Err(WireError::BadAttribute(self.kind)),
        }
    }

    /// The value as a host-order `u16`.
    pub fn as_u16(&self) -> Result<u16, WireError> {
        let raw: [u8; 2] = self
            .value
            .try_into()
            .map_err(|_| WireError::BadAttribute(self.kind))?;
        Ok(u16::from_ne_bytes(raw))
    }

    /// The value as a host-order `u32`.
    pub fn as_u32(&self) -> Result<u32, WireError> {
        let raw: [u8; 4] = self
            .value
            .try_into()
            .map_err(|_| WireError::BadAttribute(self.kind))?;
        Ok(u32::from_ne_bytes(raw))
    }

    /// The value as a host-order `u64`.
    pub fn as_u64(&self) -> Result<u64, WireError> {
        let raw: [u8; 8] = self
            .value
            .try_into()
            .map_err(|_| WireError::BadAttribute(self.kind))?;
        Ok(u64::from_ne_bytes(raw))
    }

    /// The value as a NUL-terminated string: the bytes before the first NUL (all bytes when
    /// there is none).
    pub fn as_cstr_bytes(&self) -> &'a [u8] {
        // Names on every delivery go through here: looked for eight bytes
        // at a time, the rest byte by byte. The lowest byte the zero-byte
        // test flags is exact.
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
        let words = self.value.chunks_exact(8);
        let tail = words.remainder();
        let mut start = 0;
        for word in words {
            let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            let zeros = word.wrapping_sub(ONES) & !word & HIGHS;
            if zeros != 0 {
                let first = (zeros.trailing_zeros() / 8) as usize;
                return self.value.get(..start + first).unwrap_or(&[]);
            }
            start += 8;
        }
        if let Some(first) = tail.iter().position(|&b| b == 0) {
            return self.value.get(..start + first).unwrap_or(&[]);
        }
        self.value
    }

    /// The nested attributes of the value.
    pub fn nested(&self) -> Attributes<'a> {
        Attributes::new(self.value)
    }
}

/// Iterator over an attribute stream. A malformed attribute yields one error and ends the
/// iteration.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Attributes<'a> {
    /// Iterates over `stream`.
    pub fn new(stream: &'a [u8]) -> Self {
        Self { rest: stream }
    }

    /// The part of the stream not iterated over yet (from the next attribute's header).
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attribute<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Trailing bytes shorter than a header are padding, as in the kernel's nla_ok().
        if self.rest.len() < HEADER_LEN {
            self.rest = &[];
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([self.rest[0], self.rest[1]]));
        let raw_type = u16::from_ne_bytes([self.rest[2], self.rest[3]]);
        if len < HEADER_LEN || len > self.rest.len() {
            self.rest = &[];
            return Some(Err(if len < HEADER_LEN {
                WireError::Malformed
            } else {
                WireError::Truncated
            }));
        }
        let value = self.rest.get(HEADER_LEN..len).unwrap_or(&[]);
        self.rest = self.rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok(Attribute {
            kind: raw_type & TYPE_MASK,
            flags: raw_type & !TYPE_MASK,
            value,
        }))
    }
}

/// Writes attributes into a buffer, tracking the position; every write checks space.
#[derive(Debug)]
pub struct AttrWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

/// A nested attribute being written; close it with [`AttrWriter::end_nested`].
#[derive(Debug)]
#[must_use = "a nested attribute must be closed with end_nested"]
pub struct Nest {
    start: usize,
}

impl<'b> AttrWriter<'b> {
    /// Writes from the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written so far (always aligned).
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    fn header(&mut self, kind: u16, value_len: usize) -> Result<usize, WireError> {
        let size = attr_size(value_len);
        let len = u16::try_from(HEADER_LEN + value_len).map_err(|_| WireError::PayloadTooLarge)?;
        let end = self
            .pos
            .checked_add(size)
            .ok_or(WireError::BufferTooSmall)?;
        let slot = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(WireError::BufferTooSmall)?;
        slot[..2].copy_from_slice(&len.to_ne_bytes());
        slot[2..4].copy_from_slice(&kind.to_ne_bytes());
        // Zero the padding so no stale bytes leak into the message.
        for b in &mut slot[HEADER_LEN + value_len..] {
            *b = 0;
        }
        let value_at = self.pos + HEADER_LEN;
        self.pos = end;
        Ok(value_at)
    }

    /// Writes an attribute with raw bytes.
    pub fn put_bytes(&mut self, kind: u16, value: &[u8]) -> Result<(), WireError> {
        let at = self.header(kind, value.len())?;
        self.buf[at..at + value.len()].copy_from_slice(value);
        Ok(())
    }

    /// Writes a NUL-terminated string attribute.
    pub fn put_cstr(&mut self, kind: u16, value: &[u8]) -> Result<(), WireError> {
        let at = self.header(kind, value.len() + 1)?;
        self.buf[at..at + value.len()].copy_from_slice(value);
        self.buf[at + value.len()] = 0;
        Ok(())
    }

    /// Writes a `u16`.
    pub fn put_u16(&mut self, kind: u16, value: u16) -> Result<(), WireError> {
        self.put_bytes(kind, &value.to_ne_bytes())
    }

    /// Writes a `u32`.
    pub fn put_u32(&mut self, kind: u16, value: u32) -> Result<(), WireError> {
        self.put_bytes(kind, &value.to_ne_bytes())
    }

    /// Writes a `u64`.
    pub fn put_u64(&mut self, kind: u16, value: u64) -> Result<(), WireError> {
        self.put_bytes(kind, &value.to_ne_bytes())
    }

    /// Writes a flag (an attribute without value).
    pub fn put_flag(&mut self, kind: u16) -> Result<(), WireError> {
        self.put_bytes(kind, &[])
    }

    /// Writes a nested attribute (`NLA_F_NESTED` set) whose value is `stream`, an
    /// attribute stream written before.
    pub fn put_nested(&mut self, kind: u16, stream: &[u8]) -> Result<(), WireError> {
        self.put_bytes(kind | F_NESTED, stream)
    }

    /// Opens a nested attribute.
    pub fn begin_nested(&mut self, kind: u16) -> Result<Nest, WireError> {
        let start = self.pos;
        self.header(kind | F_NESTED, 0)?;
        Ok(Nest { start })
    }

    /// Closes a nested attribute, fixing its length.
    pub fn end_nested(&mut self, nest: Nest) -> Result<(), WireError> {
        let len = u16::try_from(self.pos - nest.start).map_err(|_| WireError::PayloadTooLarge)?;
        let slot = self
            .buf
            .get_mut(nest.start..nest.start + 2)
            .ok_or(WireError::BufferTooSmall)?;
        slot.copy_from_slice(&len.to_ne_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_ends_at_its_first_nul_wherever_that_is() {
        for len in 0..=40usize {
            for nul in (0..len).map(Some).chain([None]) {
                for second in [None, Some(len.saturating_sub(1))] {
                    let mut value: std::vec::Vec<u8> =
                        (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    if let Some(at) = second {
                        if at < len {
                            value[at] = 0;
                        }
                    }
                    if let Some(at) = nul {
                        value[at] = 0;
                    }
                    let expected = value.iter().position(|&b| b == 0).unwrap_or(len);
                    let attr = Attribute {
                        kind: 1,
                        flags: 0,
                        value: &value,
                    };
                    assert_eq!(attr.as_cstr_bytes(), &value[..expected], "{value:?}");
                }
            }
        }
        // High bytes next to a NUL (the zero-byte test's borrow cases).
        let value = [0xff, 0x80, 0x01, 0x00, 0x81, 0x00, 0xff, 0xff, 0x01];
        let attr = Attribute {
            kind: 1,
            flags: 0,
            value: &value,
        };
        assert_eq!(attr.as_cstr_bytes(), &value[..3]);
    }

    #[test]
    fn write_then_read() {
        let mut buf = [0xaau8; 64];
        let mut w = AttrWriter::new(&mut buf);
        w.put_u32(1, 7).unwrap();
        w.put_cstr(2, b"abc").unwrap();
        w.put_flag(3).unwrap();
        let nest = w.begin_nested(4).unwrap();
        w.put_u64(1, u64::MAX - 1).unwrap();
        w.end_nested(nest).unwrap();
        let len = w.len();
        assert_eq!(len, 8 + 8 + 4 + (4 + 12));
        let attrs: heapless::Vec<Attribute, 8> =
            Attributes::new(&buf[..len]).map(Result::unwrap).collect();
        assert_eq!(attrs[0].as_u32(), Ok(7));
        assert_eq!(attrs[1].as_cstr_bytes(), b"abc");
        assert_eq!(attrs[1].value(), b"abc\0");
        assert_eq!(attrs[2].value(), b"");
        assert!(attrs[3].is_nested());
        assert_eq!(attrs[3].kind(), 4);
        let inner = attrs[3].nested().next().unwrap().unwrap();
        assert_eq!(inner.as_u64(), Ok(u64::MAX - 1));
        assert_eq!(attrs[0].as_u64(), Err(WireError::BadAttribute(1)));
    }

    #[test]
    fn a_nest_from_its_contents_equals_a_nest_built_in_place() {
        let mut inner = [0u8; 16];
        let mut w = AttrWriter::new(&mut inner);
        w.put_u32(1, 7).unwrap();
        w.put_bytes(2, b"xyz").unwrap();
        let inner_len = w.len();
        let mut built = [0xaau8; 32];
        let mut w = AttrWriter::new(&mut built);
        let nest = w.begin_nested(5).unwrap();
        w.put_u32(1, 7).unwrap();
        w.put_bytes(2, b"xyz").unwrap();
        w.end_nested(nest).unwrap();
        let built_len = w.len();
        let mut put = [0x55u8; 32];
        let mut w = AttrWriter::new(&mut put);
        w.put_nested(5, &inner[..inner_len]).unwrap();
        assert_eq!(w.len(), built_len);
        assert_eq!(put[..built_len], built[..built_len]);
        let nest = Attributes::new(&put[..built_len]).next().unwrap().unwrap();
        assert!(nest.is_nested());
        assert_eq!(nest.kind(), 5);
        assert_eq!(nest.value(), &inner[..inner_len]);
    }

    #[test]
    fn golden_u32_attribute() {
        let mut buf = [0u8; 8];
        AttrWriter::new(&mut buf).put_u32(4, 0x0102_0304).unwrap();
        let mut want = [0u8; 8];
        want[..2].copy_from_slice(&8u16.to_ne_bytes());
        want[2..4].copy_from_slice(&4u16.to_ne_bytes());
        want[4..].copy_from_slice(&0x0102_0304u32.to_ne_bytes());
        assert_eq!(buf, want);
    }

    #[test]
    fn out_of_space_is_an_error() {
        let mut buf = [0u8; 7];
        assert_eq!(
            AttrWriter::new(&mut buf).put_u32(1, 1),
            Err(WireError::BufferTooSmall)
        );
        let mut w = AttrWriter::new(&mut buf);
        assert_eq!(w.put_bytes(1, &[0; 70000]), Err(WireError::PayloadTooLarge));
    }

    #[test]
    fn malformed_streams_end_iteration() {
        let bad_len = [2u8, 0, 1, 0, 0, 0, 0, 0];
        let mut it = Attributes::new(&bad_len);
        assert_eq!(it.next(), Some(Err(WireError::Malformed)));
        assert_eq!(it.next(), None);
        let long = [12u8, 0, 1, 0, 0, 0, 0, 0];
        assert_eq!(
            Attributes::new(&long).next(),
            Some(Err(WireError::Truncated))
        );
        assert_eq!(Attributes::new(&[1, 2, 3]).next(), None);
    }
}
