//! The call header: how a request/response call rides in a unicast payload.
//!
//! The kernel does not look inside payloads; a call is a unicast whose payload starts
//! with this header (docs/protocol.md, "Calls"). Numbers in host byte order, like the
//! rest of the protocol (ipcon is local):
//!
//! ```text
//! offset size field
//!  0     1    magic       CALL_MAGIC (0xca): tells calls from plain unicasts
//!  1     1    kind        CallKind: 1 request, 2 reply
//!  2     1    status      CallStatus of a reply (0 ok); 0 in a request
//!  3     1    method-len  request: 1..=31, the method name's length; reply: 0
//!  4     4    call-id     chosen by the caller, nonzero; a reply carries it back
//!  8     4    timeout-ms  request: how long the caller waits (0: no limit); reply: 0
//! 12     m    method      request: the method name (the rules of a peer name)
//! 12+m   ..   payload     the arguments, the result, or an error text
//! ```
use core::fmt;

use crate::error::WireError;
use crate::name::Name;
pub use crate::spec::{CallKind, CallStatus, CALL_HEADER_LEN};
use crate::spec::{MAX_NAME_LEN, MAX_PAYLOAD_LEN};

/// The first byte of every call ([`crate::spec::CALL_MAGIC`] as the byte it is).
pub const CALL_MAGIC: u8 = {
    assert!(crate::spec::CALL_MAGIC <= 0xff && CALL_HEADER_LEN == 12);
    crate::spec::CALL_MAGIC as u8
};

mod field {
    use core::ops::Range;
    pub const MAGIC: usize = 0;
    pub const KIND: usize = 1;
    pub const STATUS: usize = 2;
    pub const METHOD_LEN: usize = 3;
    pub const CALL_ID: Range<usize> = 4..8;
    pub const TIMEOUT_MS: Range<usize> = 8..12;
}

/// The largest payload a call carries: the protocol's maximum less the header and the
/// longest method name.
pub const MAX_CALL_PAYLOAD_LEN: usize = MAX_PAYLOAD_LEN - CALL_HEADER_LEN - (MAX_NAME_LEN - 1);

/// A zero-copy view of a call header and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> CallPacket<T> {
    /// Wraps `buffer` without checks; accessors may then panic on short input.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps `buffer` after [`CallPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Whether the buffer holds the fixed header and the method name it announces.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < CALL_HEADER_LEN || len < CALL_HEADER_LEN + usize::from(self.method_len()) {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Whether the payload starts like a call (its first byte is [`CALL_MAGIC`]).
    pub fn is_call(buffer: &[u8]) -> bool {
        buffer.first() == Some(&CALL_MAGIC)
    }

    /// The magic byte.
    pub fn magic(&self) -> u8 {
        self.buffer.as_ref()[field::MAGIC]
    }

    /// Request or reply.
    pub fn kind(&self) -> CallKind {
        CallKind::from_raw(u32::from(self.buffer.as_ref()[field::KIND]))
    }

    /// The status of a reply.
    pub fn status(&self) -> CallStatus {
        CallStatus::from_raw(u32::from(self.buffer.as_ref()[field::STATUS]))
    }

    /// The length of the method name.
    pub fn method_len(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::METHOD_LEN)
            .copied()
            .unwrap_or(0)
    }

    /// The call id.
    pub fn call_id(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[field::CALL_ID])
    }

    /// How long the caller waits, in milliseconds (0: no limit).
    pub fn timeout_ms(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[field::TIMEOUT_MS])
    }

    /// The method name's bytes (empty in a reply).
    pub fn method(&self) -> &[u8] {
        let end = CALL_HEADER_LEN + usize::from(self.method_len());
        &self.buffer.as_ref()[CALL_HEADER_LEN..end]
    }

    /// What follows the header and the method name.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[CALL_HEADER_LEN + usize::from(self.method_len())..]
    }
}

fn read_u32(bytes: &[u8]) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(bytes);
    u32::from_ne_bytes(raw)
}

/// A validated call header with its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallRepr<'a> {
    /// A request: call `method` with `payload`; the caller waits `timeout_ms` (0: no
    /// limit) for the reply carrying `id`.
    Request {
        /// The call id (nonzero).
        id: u32,
        /// The method.
        method: Name,
        /// How long the caller waits, in milliseconds; 0 for no limit.
        timeout_ms: u32,
        /// The arguments.
        payload: &'a [u8],
    },
    /// The reply to call `id`: its status and the result (or an error text).
    Reply {
        /// The call id of the request.
        id: u32,
        /// How the call went.
        status: CallStatus,
        /// The result for [`CallStatus::Ok`], else a UTF-8 text saying why.
        payload: &'a [u8],
    },
}

impl<'a> CallRepr<'a> {
    /// Parses a unicast payload that carries a call. Refuses a wrong magic, an unknown
    /// kind, a zero call id, a request without a valid method name and a reply with one.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let packet = CallPacket::new_checked(bytes)?;
        if packet.magic() != CALL_MAGIC || packet.call_id() == 0 {
            return Err(WireError::Malformed);
        }
        let id = packet.call_id();
        let payload = &bytes[CALL_HEADER_LEN + usize::from(packet.method_len())..];
        match packet.kind() {
            CallKind::Request => Ok(Self::Request {
                id,
                method: Name::from_bytes(packet.method())?,
                timeout_ms: packet.timeout_ms(),
                payload,
            }),
            CallKind::Reply if packet.method_len() == 0 => Ok(Self::Reply {
                id,
                status: packet.status(),
                payload,
            }),
            _ => Err(WireError::Malformed),
        }
    }

    /// The call id.
    pub fn id(&self) -> u32 {
        match *self {
            Self::Request { id, .. } | Self::Reply { id, .. } => id,
        }
    }

    /// The payload.
    pub fn payload(&self) -> &'a [u8] {
        match *self {
            Self::Request { payload, .. } | Self::Reply { payload, .. } => payload,
        }
    }

    /// Bytes [`CallRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let method = match self {
            Self::Request { method, .. } => method.len(),
            Self::Reply { .. } => 0,
        };
        CALL_HEADER_LEN + method + self.payload().len()
    }

    /// Writes the header and the payload into `buf`; returns the length written.
    /// Refuses a zero call id and a result longer than the protocol's payload maximum.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.emit_header(buf, self.payload().len())?;
        buf[len - self.payload().len()..len].copy_from_slice(self.payload());
        Ok(len)
    }

    /// Writes only the header (and method name) for a payload of `payload_len` bytes
    /// that the caller places right after it (e.g. a second `iovec`); returns the
    /// length of the whole call, header and payload.
    pub fn emit_header(&self, buf: &mut [u8], payload_len: usize) -> Result<usize, WireError> {
        let (kind, status, method, timeout_ms) = match self {
            Self::Request {
                method, timeout_ms, ..
            } => (CallKind::Request, 0, method.as_bytes(), *timeout_ms),
            Self::Reply { status, .. } => (CallKind::Reply, status.to_raw(), &[][..], 0),
        };
        if self.id() == 0 {
            return Err(WireError::Malformed);
        }
        let header = CALL_HEADER_LEN + method.len();
        let len = header + payload_len;
        if len > MAX_PAYLOAD_LEN {
            return Err(WireError::PayloadTooLarge);
        }
        if buf.len() < len {
            return Err(WireError::BufferTooSmall);
        }
        buf[field::MAGIC] = CALL_MAGIC;
        buf[field::KIND] = kind.to_raw() as u8;
        buf[field::STATUS] = u8::try_from(status).map_err(|_| WireError::Malformed)?;
        // A name is at most 31 bytes.
        buf[field::METHOD_LEN] = method.len() as u8;
        buf[field::CALL_ID].copy_from_slice(&self.id().to_ne_bytes());
        buf[field::TIMEOUT_MS].copy_from_slice(&timeout_ms.to_ne_bytes());
        buf[CALL_HEADER_LEN..header].copy_from_slice(method);
        Ok(len)
    }
}

/// `ok`, `unknown-method`, ... (the spec's names); `status-N` for one this version does
/// not know.
impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "status-{}", self.to_raw()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn method(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn request_round_trip_and_layout() {
        let req = CallRepr::Request {
            id: 0x0102_0304,
            method: method("echo"),
            timeout_ms: 250,
            payload: b"hi",
        };
        let mut buf = [0u8; 64];
        let n = req.emit(&mut buf).unwrap();
        assert_eq!(n, req.buffer_len());
        assert_eq!(n, 12 + 4 + 2);
        assert_eq!(&buf[..4], &[0xca, 1, 0, 4]);
        assert_eq!(&buf[4..8], &0x0102_0304u32.to_ne_bytes());
        assert_eq!(&buf[8..12], &250u32.to_ne_bytes());
        assert_eq!(&buf[12..18], b"echohi");
        assert_eq!(CallRepr::parse(&buf[..n]).unwrap(), req);
        assert!(CallPacket::<&[u8]>::is_call(&buf[..n]));
        assert!(!CallPacket::<&[u8]>::is_call(b"plain"));
    }

    #[test]
    fn reply_round_trip() {
        let reply = CallRepr::Reply {
            id: 7,
            status: CallStatus::UnknownMethod,
            payload: b"no such method",
        };
        let mut buf = [0u8; 64];
        let n = reply.emit(&mut buf).unwrap();
        assert_eq!(&buf[..4], &[0xca, 2, 1, 0]);
        assert_eq!(CallRepr::parse(&buf[..n]).unwrap(), reply);
        let packet = CallPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(packet.status(), CallStatus::UnknownMethod);
        assert_eq!(packet.payload(), b"no such method");
    }

    #[test]
    fn bad_headers_are_refused_never_panic() {
        let good = {
            let mut buf = [0u8; 32];
            let n = CallRepr::Request {
                id: 1,
                method: method("m"),
                timeout_ms: 0,
                payload: b"",
            }
            .emit(&mut buf)
            .unwrap();
            (buf, n)
        };
        let (buf, n) = good;
        for cut in 0..n {
            assert_eq!(CallRepr::parse(&buf[..cut]), Err(WireError::Truncated));
        }
        let mut bad = buf;
        bad[0] = 0xcb;
        assert_eq!(CallRepr::parse(&bad[..n]), Err(WireError::Malformed));
        let mut bad = buf;
        bad[4..8].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(CallRepr::parse(&bad[..n]), Err(WireError::Malformed));
        let mut bad = buf;
        bad[1] = 9;
        assert_eq!(CallRepr::parse(&bad[..n]), Err(WireError::Malformed));
        let mut bad = buf;
        bad[12] = b'/';
        assert!(matches!(
            CallRepr::parse(&bad[..n]),
            Err(WireError::BadName(_))
        ));
        // A reply naming a method.
        let mut bad = buf;
        bad[1] = 2;
        assert_eq!(CallRepr::parse(&bad[..n]), Err(WireError::Malformed));
        // Every byte string: parse returns, never panics.
        for len in 0..20 {
            for fill in [0u8, 0xca, 0xff, 1, 2] {
                let bytes = [fill; 20];
                let _ = CallRepr::parse(&bytes[..len]);
            }
        }
    }

    #[test]
    fn emit_checks_sizes_and_ids() {
        let big = [0u8; MAX_CALL_PAYLOAD_LEN + 32];
        let mut buf = [0u8; MAX_PAYLOAD_LEN + 64];
        let req = |payload| CallRepr::Request {
            id: 1,
            method: method("0123456789012345678901234567890"),
            timeout_ms: 0,
            payload,
        };
        assert!(req(&big[..MAX_CALL_PAYLOAD_LEN]).emit(&mut buf).is_ok());
        assert_eq!(
            req(&big[..MAX_CALL_PAYLOAD_LEN + 1]).emit(&mut buf),
            Err(WireError::PayloadTooLarge)
        );
        assert_eq!(
            req(b"x").emit(&mut buf[..20]),
            Err(WireError::BufferTooSmall)
        );
        let zero = CallRepr::Reply {
            id: 0,
            status: CallStatus::Ok,
            payload: b"",
        };
        assert_eq!(zero.emit(&mut buf), Err(WireError::Malformed));
        assert_eq!(CallStatus::Busy.to_string(), "busy");
        assert_eq!(CallStatus::from_raw(200).to_string(), "status-200");
    }
}
