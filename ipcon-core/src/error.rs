//! Error types: small `Copy` enums with `Display`.
//!
//! `core::error::Error` is stable only since Rust 1.81 and the MSRV is 1.75, so
//! `std::error::Error` is implemented behind the optional `std` feature (ipcon-linux enables it).
use core::fmt;

/// Why a name was rejected (see [`crate::Name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than 31 bytes.
    TooLong,
    /// The name contains `/` or a byte that is not printable ASCII (0x20..=0x7e).
    ForbiddenChar,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "name is empty",
            Self::TooLong => "name is longer than 31 bytes",
            Self::ForbiddenChar => "name may hold only printable ASCII other than '/'",
        })
    }
}

/// Why bytes could not be parsed as, or emitted into, a netlink message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// The input ends before a header or a length field says it should.
    Truncated,
    /// A length field is impossible (shorter than its own header).
    Malformed,
    /// The output buffer is too small for the message; see `buffer_len()`.
    BufferTooSmall,
    /// A required attribute (by number) is absent.
    MissingAttribute(u16),
    /// An attribute (by number) has a value of the wrong size or content.
    BadAttribute(u16),
    /// A name attribute breaks the name rules.
    BadName(NameError),
    /// A payload is larger than the protocol maximum or the receiving buffer.
    PayloadTooLarge,
    /// The generic netlink command is not one this message type carries.
    UnexpectedCommand(u8),
    /// The netlink message type is neither the family's nor a control message.
    UnexpectedType(u16),
}

impl From<NameError> for WireError {
    fn from(e: NameError) -> Self {
        Self::BadName(e)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated netlink message"),
            Self::Malformed => f.write_str("malformed netlink length field"),
            Self::BufferTooSmall => f.write_str("buffer too small for the message"),
            Self::MissingAttribute(a) => write!(f, "required attribute {a} missing"),
            Self::BadAttribute(a) => write!(f, "attribute {a} has a bad value"),
            Self::BadName(e) => write!(f, "bad name: {e}"),
            Self::PayloadTooLarge => f.write_str("payload too large"),
            Self::UnexpectedCommand(c) => write!(f, "unexpected generic netlink command {c}"),
            Self::UnexpectedType(t) => write!(f, "unexpected netlink message type {t}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NameError {}

#[cfg(feature = "std")]
impl std::error::Error for WireError {}
