//! [`Name`]: a validated peer or group name stored inline (no allocation).
use core::fmt;

use crate::error::NameError;
use crate::spec::MAX_NAME_LEN;

/// Longest name in bytes (the wire buffer holds one more byte for the NUL).
pub const NAME_CAPACITY: usize = MAX_NAME_LEN - 1;

/// A peer or group name: 1..=31 bytes of printable ASCII (0x20..=0x7e) other than `/`.
/// Stored inline, `Copy`, comparable and hashable.
///
/// The kernel enforces exactly the same rule, so every name it reports parses here.
/// ASCII keeps names unambiguous on a console and in logs (no look-alike characters,
/// no encoding questions between C and Rust clients).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    len: u8,
    bytes: [u8; NAME_CAPACITY],
}

/// Each byte of a word, repeated.
const fn bytes_of(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// Whether a byte of `word` is zero (exact).
const fn has_zero_byte(word: u64) -> bool {
    word.wrapping_sub(bytes_of(0x01)) & !word & bytes_of(0x80) != 0
}

/// Whether a byte of `word` is outside 0x20..=0x7e or is `/` (the bytes a
/// name may not hold). Per byte, with `c` its low seven bits: the high bit
/// catches 0x80.., `c + 0x60` stays below 0x80 exactly for `c` < 0x20, and
/// `c + 1` reaches 0x80 exactly for 0x7f; no sum carries into the next
/// byte.
const fn has_forbidden_byte(word: u64) -> bool {
    let high = bytes_of(0x80);
    let low = word & bytes_of(0x7f);
    let non_ascii = word & high;
    let control = !(low + bytes_of(0x60)) & high;
    let delete = (low + bytes_of(0x01)) & high;
    non_ascii | control | delete != 0 || has_zero_byte(word ^ bytes_of(b'/'))
}

impl Name {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, NameError> {
        Self::from_bytes(name.as_bytes())
    }

    /// Validates raw bytes (as found on the wire, without the NUL).
    pub fn from_bytes(raw: &[u8]) -> Result<Self, NameError> {
        if raw.is_empty() {
            return Err(NameError::Empty);
        }
        if raw.len() > NAME_CAPACITY {
            return Err(NameError::TooLong);
        }
        // Every delivery received carries one or two names: they are read
        // into words, eight bytes at a time and the rest byte by byte, and
        // each word is checked at once.
        let mut words = [0u64; 4];
        let mut chunks = raw.chunks_exact(8);
        let mut forbidden = false;
        for (word, chunk) in words.iter_mut().zip(chunks.by_ref()) {
            *word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            forbidden |= has_forbidden_byte(*word);
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut last = 0u64;
            for (i, &b) in tail.iter().enumerate() {
                last |= u64::from(b) << (8 * i);
            }
            // Past the name the word holds zeros; the check sees spaces there.
            forbidden |= has_forbidden_byte(last | bytes_of(b' ') << (8 * tail.len()));
            words[raw.len() / 8] = last;
        }
        if forbidden {
            return Err(NameError::ForbiddenChar);
        }
        // The fourth word only ever holds a tail (31 bytes at most): its last
        // byte is zero.
        let mut bytes = [0u8; NAME_CAPACITY];
        bytes[..8].copy_from_slice(&words[0].to_le_bytes());
        bytes[8..16].copy_from_slice(&words[1].to_le_bytes());
        bytes[16..24].copy_from_slice(&words[2].to_le_bytes());
        bytes[24..].copy_from_slice(&words[3].to_le_bytes()[..NAME_CAPACITY - 24]);
        // The length fits: checked against NAME_CAPACITY (31) above.
        Ok(Self {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        // Validated as ASCII on construction; the fallback is unreachable.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The name's bytes (without a NUL).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Length in bytes (1..=31).
    #[allow(clippy::len_without_is_empty)] // a Name is never empty
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Name {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

impl TryFrom<&str> for Name {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl core::str::FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule, byte by byte, as the word-wise check must apply it.
    fn allowed(b: u8) -> bool {
        b != b'/' && (0x20..=0x7e).contains(&b)
    }

    #[test]
    fn every_byte_value_at_every_position_is_judged_by_the_rule() {
        for len in 1..=NAME_CAPACITY {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut raw = [b'x'; NAME_CAPACITY];
                    raw[at] = b;
                    let got = Name::from_bytes(&raw[..len]);
                    assert_eq!(
                        got.is_ok(),
                        allowed(b),
                        "byte {b:#04x} at {at} of {len}: {got:?}"
                    );
                    if let Ok(name) = got {
                        assert_eq!(name.as_bytes(), &raw[..len]);
                        // Equality and hashing see the whole array.
                        assert!(name.bytes[len..].iter().all(|&b| b == 0));
                    }
                }
            }
        }
    }

    #[test]
    fn accepts_valid_names() {
        for ok in [
            "a",
            "server",
            "ipcon_kevent",
            "with space",
            "a".repeat(31).as_str(),
        ] {
            let n = Name::new(ok).unwrap();
            assert_eq!(n.as_str(), ok);
            assert_eq!(n.len(), ok.len());
        }
    }

    #[test]
    fn rejects_invalid_names() {
        assert_eq!(Name::new(""), Err(NameError::Empty));
        assert_eq!(Name::new(&"a".repeat(32)), Err(NameError::TooLong));
        assert_eq!(Name::new("a/b"), Err(NameError::ForbiddenChar));
        assert_eq!(Name::new("a\0b"), Err(NameError::ForbiddenChar));
        assert_eq!(Name::new("a\nb"), Err(NameError::ForbiddenChar));
        assert_eq!(Name::new("a\x7fb"), Err(NameError::ForbiddenChar));
        assert_eq!(Name::new("a\u{85}b"), Err(NameError::ForbiddenChar));
        assert_eq!(
            Name::from_bytes(&[0xff, 0x41]),
            Err(NameError::ForbiddenChar)
        );
        assert_eq!(Name::new("ünïcode"), Err(NameError::ForbiddenChar));
        assert_eq!(Name::new("a\u{85}b"), Err(NameError::ForbiddenChar));
        assert_eq!(Name::new("a\x7fb"), Err(NameError::ForbiddenChar));
    }

    #[test]
    fn compares_by_content() {
        let a = Name::new("abc").unwrap();
        assert_eq!(a, "abc");
        assert_ne!(a, Name::new("abd").unwrap());
        assert!(a < Name::new("abd").unwrap());
    }
}
