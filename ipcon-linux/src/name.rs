//! Validated peer and group names.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// Longest name in bytes (the wire buffer holds one more for the NUL).
pub const MAX_NAME_BYTES: usize = crate::proto::spec::MAX_NAME_LEN - 1;

/// A peer or group name: 1..=31 bytes of UTF-8, no '/', no control
/// characters. Stored inline; copying it never allocates.
///
/// ```
/// use ipcon_linux::Name;
/// let name = Name::new("ipcon_server").unwrap();
/// assert_eq!(name.as_str(), "ipcon_server");
/// assert!(Name::new("a/b").is_err());
/// assert!(Name::new("").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    len: u8,
    bytes: [u8; MAX_NAME_BYTES],
}

impl Name {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, Error> {
        let raw = name.as_bytes();
        let valid = !raw.is_empty()
            && raw.len() <= MAX_NAME_BYTES
            && !name.chars().any(|c| c == '/' || c.is_control());
        if !valid {
            return Err(Error::new("check name", ErrorKind::InvalidName));
        }
        let mut bytes = [0u8; MAX_NAME_BYTES];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(Self {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        // Only ever built from a validated &str.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
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

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::str::FromStr for Name {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Name {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Self::new(s)
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
    fn accepts_up_to_31_bytes() {
        let long = "a".repeat(31);
        assert_eq!(Name::new(&long).unwrap().as_str(), long);
        assert_eq!(
            Name::new(&"a".repeat(32)).unwrap_err().kind(),
            ErrorKind::InvalidName
        );
    }

    #[test]
    fn rejects_slash_and_control_characters() {
        for bad in ["", "a/b", "tab\there", "nul\0", "bell\x07"] {
            assert!(Name::new(bad).is_err(), "{bad:?}");
        }
        assert!(Name::new("ünïcode-ok_1.2").is_ok());
    }

    #[test]
    fn compares_with_str() {
        let n = Name::new("str_msg").unwrap();
        assert_eq!(n, "str_msg");
        assert_eq!(format!("{n} {n:?}"), "str_msg \"str_msg\"");
    }
}
