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
        if raw
            .iter()
            .any(|&b| b == b'/' || !(0x20..=0x7e).contains(&b))
        {
            return Err(NameError::ForbiddenChar);
        }
        let mut bytes = [0u8; NAME_CAPACITY];
        bytes[..raw.len()].copy_from_slice(raw);
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
